// The controller's side of balancing (docs/balancing.md, "Controller"): the planners' module table
// filled from the module bus every tick, the planner the pack configuration selects, whether the
// nodes may balance now (CONTROLLER_STATUS flag), and the BALANCE_COMMAND schedule.
//
// Uncertainty handed to the planners. Their deadbands come from each module's SOC and capacity
// 1-sigma taken as independent (assembly/balancing/passive.ts). The nodes run one estimator with
// one cell model: the part of the uncertainty every module shares (the OCV table's error, which
// dominates the EKF's voltage noise, docs/estimation.md; the capacity prior of a module not yet
// cycled) shifts every estimate alike and cancels in the differences a plan is made of
// (docs/balancing.md, "Uncertainty and deadbands"). So each module's sigma is passed less the
// largest part all modules can share: sigma_i' = sqrt(sigma_i^2 - min_j sigma_j^2) (capacity:
// relative to the module's capacity). A module less certain than the others (a cold start, a
// model missing) keeps its excess; the planners' floor (0.05 % of capacity) and their 5 s start
// confirmation still stop quantisation and white noise from starting a bleed.
import { ModuleStates } from "../pack/modules";
import { BalancingStrategy } from "../pack/config";
import { SafetyLimits } from "../protection/limits";
import { BalanceModules, BalanceGuards } from "../balancing/modules";
import { usableCapacity_Ah } from "../balancing/capacity";
import { PassivePlanner, PassivePlannerConfig } from "../balancing/passive";
import { VoltagePlanner, VoltagePlannerConfig } from "../balancing/voltage";
import { ActivePlanner, ActivePlannerConfig } from "../balancing/active";
import { e2eNextCounter } from "../protocol/e2e";
import { makeId, MessageType, Priority, MeasurementFlag, ADDRESS_CONTROLLER, ADDRESS_FIRST_NODE, encodeBalanceCommand } from "../protocol/messages";
import { ModuleBus, MAX_MODULES } from "./modules";

/**
 * Commands are refreshed once a second (the node's executor stops a command not refreshed for 3 s,
 * tolerating two lost refreshes: assembly/balancing/bleed.ts), a module in the tick where
 * (tick + address) mod 10 = 0, so the bus sees a tenth of the pack's commands per tick. The
 * active plan is made once a second and its commands go out back to back.
 */
const COMMAND_PERIOD_TICKS: i32 = 10;
/**
 * At most this many BALANCE_COMMAND frames per tick: half the controller's transmit queue (64
 * frames, boards/strata-controller-v1.json), so CONTROLLER_STATUS and the other frames always fit;
 * the rest of an active plan follows in the next tick.
 */
const COMMANDS_PER_TICK_MAX: i32 = 32;
const mAh_PER_Ah: f32 = 1000.0;
const mV_PER_V: f32 = 1000.0;

/** What the pack is doing, for where a strategy may run. */
export namespace OperatingState {
  export const REST: i32 = 0;
  export const CHARGING: i32 = 1;
  export const DRIVING: i32 = 2;
}

/**
 * Where a strategy may balance (docs/balancing.md, "Controller"): the voltage baseline only at
 * rest (voltages show SOC only there); the SOC-based and the active plans at rest, while charging
 * and while driving (the charge differences they act on do not depend on the string current).
 */
export function strategyAllows(strategy: i32, operatingState: i32): bool {
  if (strategy == BalancingStrategy.VOLTAGE) return operatingState == OperatingState.REST;
  return strategy == BalancingStrategy.SOC || strategy == BalancingStrategy.ACTIVE;
}

export class ControllerBalancing {
  readonly strategy: i32;
  readonly bleedResistance_Ohm: f32;
  readonly guards: BalanceGuards = new BalanceGuards();
  /** The planners' table (its own ModuleStates: the pack estimators' substitutes nominal capacities). */
  readonly modules: BalanceModules = new BalanceModules(new ModuleStates());
  passive: PassivePlanner | null = null;
  voltage: VoltagePlanner | null = null;
  active: ActivePlanner | null = null;
  /** The nodes may balance now (CONTROLLER_STATUS flags bit 0). */
  allowed: bool = false;
  operatingState: i32 = OperatingState.REST;
  /** BalanceStatus of the planner's last update (0 without a planner). */
  status: i32 = 0;
  // The last command sent to each module: what its node holds.
  readonly sentCharge_mAh: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly sentDuty: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly sentPower_W: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly inForce: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  private readonly sequence: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  /** E2E alive counter per node (each node checks only the commands addressed to it). */
  private readonly counter: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  private readonly savedCounter: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  private readonly due: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  /** |pack current| at or below this is rest: the voltage baseline's (foxBMS BS_REST_CURRENT_mA, 200 mA). */
  private readonly restCurrent_A: f32;
  private ticks: i32 = 0;
  private cursor: i32 = 0;
  private sentThisTick: i32 = 0;
  commandsSent: i32 = 0;

  /** bleedResistance_Ohm: the nodes' bleed resistor (NaN unknown: no time estimate, active plan without bleeds). */
  constructor(strategy: i32, limits: SafetyLimits, bleedResistance_Ohm: f32) {
    this.strategy = strategy;
    this.bleedResistance_Ohm = bleedResistance_Ohm;
    this.restCurrent_A = new VoltagePlannerConfig().restCurrent_A;
    // The WARNING levels (foxBMS maximum operating limits): balancing never takes a module there.
    this.guards.minVoltage_V = limits.moduleVoltageMin_mV.warning / mV_PER_V;
    this.guards.maxVoltage_V = limits.moduleVoltageMax_mV.warning / mV_PER_V;
    this.guards.maxTemperature_C = limits.temperatureMaxCharge_C.warning;
    if (strategy == BalancingStrategy.SOC) {
      const config = new PassivePlannerConfig();
      config.bleedResistance_Ohm = bleedResistance_Ohm;
      this.passive = new PassivePlanner(config, this.guards);
    } else if (strategy == BalancingStrategy.VOLTAGE) {
      this.voltage = new VoltagePlanner(new VoltagePlannerConfig(), this.guards);
    } else if (strategy == BalancingStrategy.ACTIVE) {
      const config = new ActivePlannerConfig();
      config.bleedResistance_Ohm = bleedResistance_Ohm;
      config.planPeriod_s = <f32>COMMAND_PERIOD_TICKS / <f32>10.0;
      this.active = new ActivePlanner(config, this.guards);
    }
    for (let i = 0; i < MAX_MODULES; i++) {
      unchecked(this.counter[i] = 0);
      unchecked(this.sequence[i] = 0);
    }
  }

  /**
   * One controller tick. permitted: the pack configuration is valid, no protection fault is at
   * DERATE or above, and the chain is enumerated with every configured module. packCurrent_A:
   * positive = discharge; charging: the vehicle says it charges.
   */
  update(m: ModuleBus, expected: i32, packCurrent_A: f32, charging: bool, permitted: bool, now_ms: i64): void {
    this.ticks++;
    this.sentThisTick = 0;
    const restCurrent_A = this.restCurrent_A;
    if (charging || packCurrent_A < -restCurrent_A) this.operatingState = OperatingState.CHARGING;
    else if (packCurrent_A > restCurrent_A) this.operatingState = OperatingState.DRIVING;
    else this.operatingState = OperatingState.REST;
    this.allowed = permitted && strategyAllows(this.strategy, this.operatingState);
    this.fill(m, expected, now_ms);
    const current = isFinite(packCurrent_A) ? packCurrent_A : <f32>NaN;
    const planTick = this.ticks % COMMAND_PERIOD_TICKS == 0;
    if (this.passive !== null) this.status = this.passive!.update(this.modules, current, now_ms);
    else if (this.voltage !== null) this.status = this.voltage!.update(this.modules, current, now_ms);
    else if (this.active !== null && planTick) this.status = this.active!.update(this.modules, current, now_ms);
    for (let i = 0; i < m.count; i++) {
      const address = i + ADDRESS_FIRST_NODE;
      if (this.active !== null ? planTick : (this.ticks + address) % COMMAND_PERIOD_TICKS == 0) unchecked(this.due[i] = true);
    }
  }

  /**
   * The planners' table: SOC and its sigma, capacity and its sigma from MODULE_STATE (less the
   * shared part, above), voltage and temperature from MODULE_MEASUREMENT, valid while the module is
   * enumerated, compatible, reporting valid measurements and (except for the voltage baseline) a
   * fresh estimate. Sized to the configured pack, so a module missing from the chain leaves the
   * plan without its reference (DATA_INCOMPLETE).
   */
  private fill(m: ModuleBus, expected: i32, now_ms: i64): void {
    const needsEstimate = this.strategy != BalancingStrategy.VOLTAGE;
    const n = expected > 0 && expected <= MAX_MODULES ? expected : m.count;
    let socSigmaShared: f32 = Infinity;
    let capacitySigmaShared: f32 = Infinity;
    for (let i = 0; i < m.count; i++) {
      if (!this.usable(m, i, needsEstimate, now_ms)) continue;
      const socSigma = unchecked(m.socSigma[i]);
      const capacity = unchecked(m.capacity_Ah[i]);
      if (socSigma < socSigmaShared) socSigmaShared = socSigma;
      if (capacity > 0 && unchecked(m.capacitySigma_Ah[i]) / capacity < capacitySigmaShared) capacitySigmaShared = unchecked(m.capacitySigma_Ah[i]) / capacity;
    }
    if (!(socSigmaShared < Infinity)) socSigmaShared = 0.0;
    if (!(capacitySigmaShared < Infinity)) capacitySigmaShared = 0.0;
    const b = this.modules;
    b.states.count = n;
    for (let i = 0; i < n; i++) {
      if (i >= m.count) {
        b.set(i, NaN, NaN, NaN, NaN, NaN, NaN, false, -1);
        continue;
      }
      const valid = this.usable(m, i, needsEstimate, now_ms);
      const flags = unchecked(m.flags[i]);
      const capacity = unchecked(m.capacity_Ah[i]);
      const socSigma = unchecked(m.socSigma[i]);
      const capacitySigma = unchecked(m.capacitySigma_Ah[i]);
      const sharedCapacitySigma = capacitySigmaShared * capacity;
      b.set(i,
        unchecked(m.soc[i]),
        Mathf.sqrt(Mathf.max(socSigma * socSigma - socSigmaShared * socSigmaShared, 0.0)),
        capacity,
        Mathf.sqrt(Mathf.max(capacitySigma * capacitySigma - sharedCapacitySigma * sharedCapacitySigma, 0.0)),
        (flags & MeasurementFlag.VOLTAGE_INVALID) != 0 ? <f32>NaN : unchecked(m.voltage_mV[i]) / mV_PER_V,
        (flags & MeasurementFlag.TEMPERATURE_INVALID) != 0 ? <f32>NaN : unchecked(m.temperature_C[i]),
        valid,
        needsEstimate ? unchecked(m.stateSeen_ms[i]) : unchecked(m.lastSeen_ms[i]));
    }
  }

  private usable(m: ModuleBus, i: i32, needsEstimate: bool, now_ms: i64): bool {
    if (!unchecked(m.confirmed[i]) || unchecked(m.incompatible[i]) || !m.reporting(i, now_ms)) return false;
    if ((unchecked(m.flags[i]) & (MeasurementFlag.VOLTAGE_INVALID | MeasurementFlag.TEMPERATURE_INVALID)) != 0) return false;
    return !needsEstimate || m.stateValid(i, now_ms);
  }

  /**
   * Encodes the next due BALANCE_COMMAND into data and returns its identifier; 0 when none is due
   * this tick. A module is sent its command when it has one, and once a zero when it ends.
   */
  nextCommand(m: ModuleBus, data: usize): u32 {
    const n = m.count;
    while (this.sentThisTick < COMMANDS_PER_TICK_MAX && n > 0) {
      let index = -1;
      for (let k = 0; k < n; k++) {
        const i = (this.cursor + k) % n;
        if (unchecked(this.due[i])) { index = i; break; }
      }
      if (index < 0) return 0;
      this.cursor = (index + 1) % n;
      unchecked(this.due[index] = false);
      let charge_mAh: f32 = 0.0;
      let duty: f32 = 0.0;
      let power_W: f32 = 0.0;
      if (this.allowed && index < this.modules.count) {
        if (this.passive !== null) {
          charge_mAh = unchecked(this.passive!.charge_Ah[index]) * mAh_PER_Ah;
          duty = unchecked(this.passive!.duty[index]);
        } else if (this.voltage !== null) {
          charge_mAh = unchecked(this.voltage!.charge_Ah[index]) * mAh_PER_Ah;
          duty = unchecked(this.voltage!.duty[index]);
        } else if (this.active !== null) {
          const share = this.active!.bleedShare;
          charge_mAh = unchecked(share.charge_Ah[index]) * mAh_PER_Ah;
          duty = unchecked(share.duty[index]);
          power_W = unchecked(this.active!.power_W[index]);
        }
      }
      if (!(charge_mAh > 0 && duty > 0)) {
        charge_mAh = 0.0;
        duty = 0.0;
      }
      if (!isFinite(power_W)) power_W = 0.0;
      const active = charge_mAh > 0 || power_W != 0;
      if (!active && !unchecked(this.inForce[index])) continue;
      const address = index + ADDRESS_FIRST_NODE;
      const id = makeId(Priority.CONTROL, MessageType.BALANCE_COMMAND, address, ADDRESS_CONTROLLER);
      const sequence = (unchecked(this.sequence[index]) + 1) & 0xff;
      unchecked(this.sequence[index] = sequence);
      // Every command carries the charge still to remove, so each starts a plan of its own (a new
      // sequence): the node counts from zero and stops at that charge.
      encodeBalanceCommand(id, data, unchecked(this.counter[index]), sequence, duty, charge_mAh, power_W);
      unchecked(this.counter[index] = e2eNextCounter(unchecked(this.counter[index])));
      unchecked(this.sentCharge_mAh[index] = charge_mAh);
      unchecked(this.sentDuty[index] = duty);
      unchecked(this.sentPower_W[index] = power_W);
      unchecked(this.inForce[index] = active);
      this.sentThisTick++;
      this.commandsSent++;
      return id;
    }
    return 0;
  }

  /** The chain is enumerated again: the nodes dropped their addresses (their plans stop while balancing is not allowed). */
  onReset(): void {
    for (let i = 0; i < MAX_MODULES; i++) {
      unchecked(this.savedCounter[i] = unchecked(this.counter[i]));
      unchecked(this.inForce[i] = false);
      unchecked(this.due[i] = false);
      unchecked(this.sentCharge_mAh[i] = 0.0);
      unchecked(this.sentDuty[i] = 0.0);
      unchecked(this.sentPower_W[i] = 0.0);
    }
    this.cursor = 0;
  }

  /**
   * The new order is known: a node's alive counter for our commands follows it to its new address
   * (it kept the last one it accepted; a counter that jumped would be refused for up to 14 frames).
   */
  onEnumerated(previousIndex: StaticArray<i32>, count: i32): void {
    for (let i = 0; i < count; i++) {
      const before = unchecked(previousIndex[i]);
      if (before >= 0 && before < MAX_MODULES) unchecked(this.counter[i] = unchecked(this.savedCounter[before]));
    }
  }

  /** U before and after the plan in force, Ah (NaN without an estimate). */
  usableBefore_Ah(): f32 {
    if (this.passive !== null) return this.passive!.usableBefore_Ah;
    if (this.active !== null) return this.active!.usableBefore_Ah;
    return usableCapacity_Ah(this.modules.states);
  }

  usableAfter_Ah(): f32 {
    if (this.passive !== null) return this.passive!.usableAfter_Ah;
    if (this.active !== null) return this.active!.usableAfter_Ah;
    return NaN;
  }

  /** Time the plan in force still needs, s: the longest bleed (passive) or T* (active); NaN otherwise. */
  plannedTime_s(): f32 {
    if (this.passive !== null) return this.passive!.remainingTime_s;
    if (this.active !== null) return this.active!.time_s;
    return NaN;
  }
}
