// Voltage-based passive balancing, the common baseline (foxBMS 2 bal/voltage,
// bal_strategy_voltage.c): at rest, bleed every module whose voltage exceeds the pack's lowest by
// more than a threshold. The threshold carries a hysteresis as in foxBMS: balancing starts above
// threshold + hysteresis, and once started every module above the bare threshold bleeds until none
// is left; then the hysteresis is added again. Rest is foxBMS's BMS_AT_REST: |I| below the rest
// current for the relaxation period, so the voltages are close to OCV.
//
// What it does not know: capacities (it equalises voltage, i.e. SOC, which is not the target when
// capacities differ, docs/balancing.md), and how much to bleed (it bleeds until the voltages meet,
// and on a flat OCV such as LFP's plateau 10 mV spans several percent of SOC). It stays beside the
// SOC-based planner so a benchmark can compare the two in one run.
import { BleedStrategy, BLEED_CHARGE_MAX_Ah } from "./commands";
import { BalanceGuards, BalanceModules, BalanceStatus } from "./modules";
import { MAX_PACK_MODULES } from "../pack/modules";

export class VoltagePlannerConfig {
  /**
   * Stop threshold above the lowest module, V. foxBMS ships 200 mV (BAL_DEFAULT_THRESHOLD_mV), far
   * coarser than its measurement; 10 mV is about 33 LSB of the node's voltage channel (14 bit,
   * 2.5 V reference, 2:1 divider: 0.31 mV) and about 1-2 % SOC on an NMC mid-range OCV slope of
   * 0.5-1 V per unit SOC (engineering choice).
   */
  threshold_V: f32 = 0.01;
  /** Added to the threshold while idle (foxBMS BAL_HYSTERESIS_mV; scaled with the threshold here). */
  hysteresis_V: f32 = 0.005;
  /** |pack current| at or below this is rest: foxBMS BS_REST_CURRENT_mA = 200 mA (battery_system_cfg.h). */
  restCurrent_A: f32 = 0.2;
  /** Rest must last this long before voltages count as OCV: foxBMS BS_RELAXATION_PERIOD_10ms = 60000 (600 s). */
  restTime_ms: i64 = 600000;
  /** Duty cycle commanded to a bleeding module. */
  duty: f32 = 1.0;
}

export class VoltagePlanner extends BleedStrategy {
  readonly config: VoltagePlannerConfig;
  readonly guards: BalanceGuards;
  /** Controller time since which the pack has been at rest, ms (-1: not at rest). */
  restSince_ms: i64 = -1;
  /** Lowest module voltage of the last update, V. */
  minVoltage_V: f32 = NaN;
  /** The threshold in force (with or without the hysteresis), V. */
  activeThreshold_V: f32;
  private balancing: bool = false;

  constructor(config: VoltagePlannerConfig, guards: BalanceGuards) {
    super();
    this.config = config;
    this.guards = guards;
    this.activeThreshold_V = config.threshold_V + config.hysteresis_V;
  }

  update(modules: BalanceModules, packCurrent_A: f32, now_ms: i64): i32 {
    const c = this.config;
    const n = modules.count;
    if (n <= 0) return this.halt(BalanceStatus.NO_MODULES);
    let lowest: f32 = Infinity;
    for (let i = 0; i < n; i++) {
      // Voltage, validity and age only: this strategy needs no SOC estimate.
      const updated = unchecked(modules.updated_ms[i]);
      const voltage = unchecked(modules.voltage_V[i]);
      if (!unchecked(modules.states.valid[i]) || !isFinite(voltage) || updated < 0 || now_ms - updated > this.guards.maxAge_ms) {
        return this.halt(BalanceStatus.DATA_INCOMPLETE);
      }
      if (voltage < lowest) lowest = voltage;
    }
    this.minVoltage_V = lowest;
    if (!(Mathf.abs(packCurrent_A) <= c.restCurrent_A)) {
      this.restSince_ms = -1;
      return this.halt(BalanceStatus.NOT_AT_REST);
    }
    if (this.restSince_ms < 0) this.restSince_ms = now_ms;
    if (now_ms - this.restSince_ms < c.restTime_ms) return this.halt(BalanceStatus.NOT_AT_REST);

    const threshold = this.balancing ? c.threshold_V : c.threshold_V + c.hysteresis_V;
    let status = 0;
    let bleeding = 0;
    let unsettled = false;
    for (let i = 0; i < n; i++) {
      const voltage = unchecked(modules.voltage_V[i]);
      let on = voltage > lowest + threshold;
      if (on) unsettled = true;
      if (on && !(voltage >= this.guards.minVoltage_V && unchecked(modules.states.temperature_C[i]) < this.guards.maxTemperature_C)) {
        status |= BalanceStatus.GUARDED;
        on = false;
      }
      this.command(i, on ? BLEED_CHARGE_MAX_Ah : <f32>0.0, c.duty);
      if (unchecked(this.bleed[i])) bleeding++;
    }
    for (let i = n; i < MAX_PACK_MODULES; i++) this.command(i, 0.0, 0.0);
    this.balancing = bleeding > 0;
    this.activeThreshold_V = this.balancing ? c.threshold_V : c.threshold_V + c.hysteresis_V;
    this.bleedingCount = bleeding;
    if (bleeding > 0) status |= BalanceStatus.BLEEDING;
    else if (!unsettled) status |= BalanceStatus.BALANCED;
    this.status = status;
    return status;
  }

  private halt(status: i32): i32 {
    this.stopAll();
    this.balancing = false;
    this.activeThreshold_V = this.config.threshold_V + this.config.hysteresis_V;
    this.status = status;
    return status;
  }
}
