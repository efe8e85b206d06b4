// Pack protection, evaluated once per controller tick: every fault type of FaultType watched by a
// LevelMonitor against the limits of SafetyLimits, the plausibility checks between the module and
// pack measurements, and the contactor faults the sequencer confirms. A fault reaching a higher
// level leaves a freeze frame in the ring buffer. docs/protection.md describes the whole.
import { FaultLevel, FaultType, FAULT_TYPE_COUNT } from "./faults";
import { LevelThresholds, SafetyLimits, defaultSetTime_ms, defaultClearTime_ms } from "./limits";
import { LevelMonitor } from "./monitor";
import { FreezeFrameLog } from "./freeze-frame";

/** Milliseconds per hour, for integrating amperes over milliseconds into ampere-hours. */
const ms_PER_h: f32 = 3600000.0;

/** This tick's measurements, written by the controller before evaluate(). */
export class ProtectionInputs {
  maxModuleVoltage_mV: f32 = NaN;
  maxVoltageModule: i32 = -1;
  minModuleVoltage_mV: f32 = NaN;
  minVoltageModule: i32 = -1;
  maxTemperature_C: f32 = NaN;
  minTemperature_C: f32 = NaN;
  /** Positive = discharge. */
  packCurrent_A: f32 = NaN;
  /** Battery side of the contactors. */
  packVoltage_mV: f32 = NaN;
  /** Sum over the modules reporting this tick. */
  sumModuleVoltage_mV: f32 = NaN;
  modulesReporting: i32 = 0;
  /** Modules timed out (docs/protocol.md, 500 ms without an accepted measurement). */
  modulesLost: i32 = 0;
  /** Mean module SOC (0..1), NaN while unknown: the current plausibility check then waits. */
  meanSoc: f32 = NaN;
  /** From the contactor sequencer. */
  contactorWelded: bool = false;
  prechargeFailed: bool = false;
}

export class ProtectionConfig {
  /** Worst-case error of one module voltage (node ADC, divider, reference), mV. */
  moduleVoltageAccuracy_mV: f32 = NaN;
  /** Worst-case error of the pack voltage measurement, mV. */
  packVoltageAccuracy_mV: f32 = NaN;
  /** Series resistance between module sense points and the pack voltage tap (busbars, connectors). */
  interconnectResistance_mOhm: f32 = 0.0;
  /** Module capacity, for turning a mean SOC change into ampere-hours. */
  moduleCapacity_Ah: f32 = NaN;
  /** Largest plausible difference between counted charge and SOC change over one window. */
  chargeTolerance_Ah: f32 = NaN;
  /** Length of the charge-comparison window. */
  chargeWindow_ms: i64 = 60000;
  /** Below this magnitude the pack is at rest and the (wider) discharge temperature limits apply. */
  restCurrent_A: f32 = 1.0;
}

function flagLevels(): LevelThresholds {
  // A 0/1 input: only OPEN, at 1.
  return new LevelThresholds(NaN, NaN, 0.5, 0.0, true);
}

function countLevels(): LevelThresholds {
  // Modules lost: one is enough for every level; the set times tell the levels apart.
  return new LevelThresholds(0.5, 0.5, 0.5, 0.0, true);
}

function deviationLevels(): LevelThresholds {
  // Thresholds follow the tolerance each tick (setDeviationTolerance).
  return new LevelThresholds(NaN, NaN, NaN, 0.0, true);
}

export class Protection {
  readonly inputs: ProtectionInputs = new ProtectionInputs();
  readonly limits: SafetyLimits;
  readonly config: ProtectionConfig;
  readonly log: FreezeFrameLog;
  private readonly monitors: StaticArray<LevelMonitor>;
  private readonly previousLevels: StaticArray<i32> = new StaticArray<i32>(FAULT_TYPE_COUNT);
  /** Highest level over all faults after the last evaluate(). */
  highestLevel: i32 = FaultLevel.NONE;
  /** The operating point the temperature limits were chosen for at the last evaluate(). */
  charging: bool = false;
  private lastEvaluation_ms: i64 = -1;
  private windowStart_ms: i64 = -1;
  private windowSoc: f32 = NaN;
  private windowCharge_Ah: f32 = 0.0;
  /** |counted charge - SOC change x capacity| of the last completed window, Ah; NaN before the first. */
  chargeDeviation_Ah: f32 = NaN;

  constructor(limits: SafetyLimits, config: ProtectionConfig, freezeFrameCapacity: i32 = 16) {
    this.limits = limits;
    this.config = config;
    this.log = new FreezeFrameLog(freezeFrameCapacity);
    // Indexed by FaultType: keep this list in that order.
    this.monitors = [
      new LevelMonitor(limits.moduleVoltageMax_mV),
      new LevelMonitor(limits.moduleVoltageMin_mV),
      new LevelMonitor(limits.temperatureMaxDischarge_C),
      new LevelMonitor(limits.temperatureMinDischarge_C),
      new LevelMonitor(limits.currentMaxCharge_A),
      new LevelMonitor(limits.currentMaxDischarge_A),
      new LevelMonitor(countLevels()),
      new LevelMonitor(deviationLevels()),
      new LevelMonitor(deviationLevels()),
      new LevelMonitor(flagLevels()),
      new LevelMonitor(flagLevels()),
    ];
    for (let fault = 0; fault < FAULT_TYPE_COUNT; fault++) {
      for (let level = FaultLevel.WARNING; level <= FaultLevel.OPEN; level++) {
        this.setDebounce(fault, level, defaultSetTime_ms(fault, level), defaultClearTime_ms(fault, level));
      }
    }
    const chargeCheck = unchecked(this.monitors[FaultType.CURRENT_PLAUSIBILITY]);
    // A second failing window confirms OPEN (the deviation is held between windows).
    unchecked(chargeCheck.setTime_ms[FaultLevel.OPEN] = config.chargeWindow_ms);
  }

  /** Overrides the debounce of one level (clear time is ignored for OPEN, which latches). */
  setDebounce(fault: i32, level: i32, set_ms: i64, clear_ms: i64): void {
    if (fault < 0 || fault >= FAULT_TYPE_COUNT || level < FaultLevel.WARNING || level > FaultLevel.OPEN) return;
    const monitor = unchecked(this.monitors[fault]);
    unchecked(monitor.setTime_ms[level] = set_ms);
    unchecked(monitor.clearTime_ms[level] = clear_ms < 0 ? 0 : clear_ms);
  }

  /** Evaluates every fault with `inputs` at now_ms; returns the highest level. No allocation. */
  evaluate(now_ms: i64): i32 {
    const input = this.inputs;
    const limits = this.limits;
    const m = this.monitors;
    const current = input.packCurrent_A;
    // Charge limits apply while charging; at rest and on discharge the (wider) discharge limits.
    this.charging = current < -this.config.restCurrent_A;
    unchecked(m[FaultType.OVER_TEMPERATURE]).thresholds.copyFrom(this.charging ? limits.temperatureMaxCharge_C : limits.temperatureMaxDischarge_C);
    unchecked(m[FaultType.UNDER_TEMPERATURE]).thresholds.copyFrom(this.charging ? limits.temperatureMinCharge_C : limits.temperatureMinDischarge_C);

    unchecked(m[FaultType.OVER_VOLTAGE]).update(input.maxModuleVoltage_mV, now_ms);
    unchecked(m[FaultType.UNDER_VOLTAGE]).update(input.minModuleVoltage_mV, now_ms);
    unchecked(m[FaultType.OVER_TEMPERATURE]).update(input.maxTemperature_C, now_ms);
    unchecked(m[FaultType.UNDER_TEMPERATURE]).update(input.minTemperature_C, now_ms);
    unchecked(m[FaultType.OVER_CURRENT_CHARGE]).update(-current, now_ms);
    unchecked(m[FaultType.OVER_CURRENT_DISCHARGE]).update(current, now_ms);
    unchecked(m[FaultType.MODULE_COMMUNICATION_LOST]).update(<f32>input.modulesLost, now_ms);
    this.checkVoltagePlausibility(now_ms);
    this.checkCurrentPlausibility(now_ms);
    unchecked(m[FaultType.CONTACTOR_WELDED]).update(input.contactorWelded ? <f32>1.0 : <f32>0.0, now_ms);
    unchecked(m[FaultType.PRECHARGE_FAILED]).update(input.prechargeFailed ? <f32>1.0 : <f32>0.0, now_ms);

    let highest = FaultLevel.NONE;
    for (let fault = 0; fault < FAULT_TYPE_COUNT; fault++) {
      const level = unchecked(m[fault]).level;
      if (level > unchecked(this.previousLevels[fault])) this.record(fault, level, now_ms);
      unchecked(this.previousLevels[fault] = level);
      if (level > highest) highest = level;
    }
    this.highestLevel = highest;
    this.lastEvaluation_ms = now_ms;
    return highest;
  }

  /**
   * Sum of module voltages against the pack voltage. The tolerance adds the worst-case errors of
   * every term (n module channels and the pack channel): the errors of identical front ends share
   * a design and may correlate, so they are not combined as independent (root-sum-square).
   * The interconnect drop I x R between the module taps and the pack tap is expected, not an error.
   * Not evaluated while a module is lost (the sum is incomplete; MODULE_COMMUNICATION_LOST covers it).
   */
  private checkVoltagePlausibility(now_ms: i64): void {
    const input = this.inputs;
    const config = this.config;
    const monitor = unchecked(this.monitors[FaultType.VOLTAGE_PLAUSIBILITY]);
    const tolerance_mV = <f32>input.modulesReporting * config.moduleVoltageAccuracy_mV + config.packVoltageAccuracy_mV;
    setDeviationTolerance(monitor.thresholds, tolerance_mV);
    let deviation_mV: f32 = NaN;
    if (input.modulesLost == 0 && input.modulesReporting > 0) {
      const current = isFinite(input.packCurrent_A) ? input.packCurrent_A : <f32>0.0;
      // A x mOhm = mV.
      const drop_mV = current * config.interconnectResistance_mOhm;
      deviation_mV = Mathf.abs(input.sumModuleVoltage_mV - drop_mV - input.packVoltage_mV);
    }
    monitor.update(deviation_mV, now_ms);
  }

  /**
   * Pack current integrated over a window against the change of the mean module SOC times the
   * module capacity (series modules carry the pack current): two independent paths to the same
   * charge. Discharge (positive current) lowers the SOC, so counted charge = (SOC_start - SOC_end) x Q.
   * The deviation of the last completed window is held until the next one completes.
   */
  private checkCurrentPlausibility(now_ms: i64): void {
    const input = this.inputs;
    const config = this.config;
    const monitor = unchecked(this.monitors[FaultType.CURRENT_PLAUSIBILITY]);
    setDeviationTolerance(monitor.thresholds, config.chargeTolerance_Ah);
    const soc = input.meanSoc;
    if (this.windowStart_ms >= 0 && this.lastEvaluation_ms >= 0 && isFinite(input.packCurrent_A)) {
      this.windowCharge_Ah += input.packCurrent_A * <f32>(now_ms - this.lastEvaluation_ms) / ms_PER_h;
    }
    if (!isFinite(soc)) {
      // No SOC: nothing to compare; start over when it comes back.
      this.windowStart_ms = -1;
    } else if (this.windowStart_ms < 0) {
      this.startChargeWindow(now_ms, soc);
    } else if (now_ms - this.windowStart_ms >= config.chargeWindow_ms) {
      const expected_Ah = (this.windowSoc - soc) * config.moduleCapacity_Ah;
      this.chargeDeviation_Ah = Mathf.abs(this.windowCharge_Ah - expected_Ah);
      this.startChargeWindow(now_ms, soc);
    }
    monitor.update(this.chargeDeviation_Ah, now_ms);
  }

  private startChargeWindow(now_ms: i64, soc: f32): void {
    this.windowStart_ms = now_ms;
    this.windowSoc = soc;
    this.windowCharge_Ah = 0.0;
  }

  private record(fault: i32, level: i32, now_ms: i64): void {
    const input = this.inputs;
    const frame = this.log.slot();
    frame.time_ms = now_ms;
    frame.fault = fault;
    frame.level = level;
    frame.value = unchecked(this.monitors[fault]).value;
    frame.maxModuleVoltage_mV = input.maxModuleVoltage_mV;
    frame.maxVoltageModule = input.maxVoltageModule;
    frame.minModuleVoltage_mV = input.minModuleVoltage_mV;
    frame.minVoltageModule = input.minVoltageModule;
    frame.maxTemperature_C = input.maxTemperature_C;
    frame.minTemperature_C = input.minTemperature_C;
    frame.packCurrent_A = input.packCurrent_A;
    frame.packVoltage_mV = input.packVoltage_mV;
    frame.sumModuleVoltage_mV = input.sumModuleVoltage_mV;
    frame.modulesLost = input.modulesLost;
    frame.meanSoc = input.meanSoc;
    this.log.commit();
  }

  /**
   * Releases every latched OPEN whose quantity is back inside its OPEN level (with hysteresis),
   * as of the last evaluate(). Returns true when no OPEN remains latched. The controller calls it
   * on an explicit reset request (vehicle command), never by itself.
   */
  requestReset(): bool {
    let clear = true;
    let highest = FaultLevel.NONE;
    for (let fault = 0; fault < FAULT_TYPE_COUNT; fault++) {
      const monitor = unchecked(this.monitors[fault]);
      if (!monitor.resetOpen()) clear = false;
      unchecked(this.previousLevels[fault] = monitor.level);
      if (monitor.level > highest) highest = monitor.level;
    }
    this.highestLevel = highest;
    return clear;
  }

  level(fault: i32): i32 {
    return fault >= 0 && fault < FAULT_TYPE_COUNT ? unchecked(this.monitors[fault]).level : FaultLevel.NONE;
  }

  /** The quantity the fault watched at the last evaluate(). */
  monitoredValue(fault: i32): f32 {
    return fault >= 0 && fault < FAULT_TYPE_COUNT ? unchecked(this.monitors[fault]).value : NaN;
  }

  /** Threshold of a fault's level as used at the last evaluate() (plausibility: the tolerance). */
  threshold(fault: i32, level: i32): f32 {
    return fault >= 0 && fault < FAULT_TYPE_COUNT ? unchecked(this.monitors[fault]).thresholds.at(level) : NaN;
  }

  openRequested(): bool {
    return this.highestLevel >= FaultLevel.OPEN;
  }

  derateRequested(): bool {
    return this.highestLevel >= FaultLevel.DERATE;
  }

  /** Bit k set when fault k is at minLevel or above. */
  activeFaultMask(minLevel: i32): u32 {
    let mask: u32 = 0;
    for (let fault = 0; fault < FAULT_TYPE_COUNT; fault++) {
      if (unchecked(this.monitors[fault]).level >= minLevel) mask |= <u32>1 << <u32>fault;
    }
    return mask;
  }

  /** Two bits per fault, fault k in bits 2k..2k+1: the layout of BMS_Faults bytes 2..4 (DBC). */
  packedLevels(): u32 {
    let packed: u32 = 0;
    for (let fault = 0; fault < FAULT_TYPE_COUNT; fault++) {
      packed |= <u32>(unchecked(this.monitors[fault]).level & 3) << <u32>(2 * fault);
    }
    return packed;
  }
}

/** Every level of a plausibility check trips beyond the same tolerance; persistence tells them apart. */
function setDeviationTolerance(thresholds: LevelThresholds, tolerance: f32): void {
  thresholds.warning = tolerance;
  thresholds.derate = tolerance;
  thresholds.open = tolerance;
}
