// Active balancing over the shared energy bus (host/peripherals/energy-bus.ts), optionally
// together with the bleed resistors: a time-optimal plan to the same target as the passive
// planner (maximum usable capacity, docs/balancing.md), re-planned every period.
//
// Model (the energy bus's): converter i moves c_i joules at the module terminals over the plan
// (positive: the module delivers), |c_i| <= P_i T; a delivering module puts eta c_i on the bus, an
// absorbing one takes |c_i| / eta off it, and the bus stores nothing:
//   F(c) = eta sum_i max(c_i, 0) - sum_i max(-c_i, 0) / eta = 0
// (a round trip delivers eta^2 of what left the donor). A bleed takes b_i <= T V_i^2 / R joules out
// of module i and puts nothing on the bus. Module charges are q_i = SOC_i Q_i; energy and charge
// convert at the module voltage, k_i = 3600 V_i J/Ah (held over the plan; re-planning each period
// follows it as it changes).
//
// Target. The usable capacity is Q_min = min Q exactly when every final charge lies in
// [d, d + w_i] for one level d in [0, Q_min], with w_i = Q_i - Q_min (docs/balancing.md): the
// smallest module ends at d, a larger one anywhere up to its extra capacity above it. Deadbands
// widen each interval by tol_i on both sides (below).
//
// Minimum time. For a plan length T and level d, module i must shed between
//   sLo_i = (q_i - d - w_i - tol_i) k_i   and   sHi_i = (q_i - d + tol_i) k_i   joules,
// of which the bleed takes up to T V_i^2 / R, so its converter energy lies in
//   cLo_i = max(sLo_i - T V_i^2 / R, -T P_i),   cHi_i = min(sHi_i, T P_i).
// F is increasing in every c_i, so some c in the box balances the bus iff F(cLo) <= 0 <= F(cHi).
// Both box ends fall as d rises, so over d the plan is feasible iff the per-module boxes are not
// empty on [dL, dU] (a max/min of linear bounds) and F(cHi(dL)) >= 0 and F(cLo(dU)) <= 0: one
// O(n) test. Feasibility only grows with T, so bisection on T finds the least T* to within 1e-4.
// Then d is chosen inside the feasible interval, and the converter energies by water-filling:
// one level t, c_i = clamp(t, cLo_i, cHi_i), with t solving F(c) = 0 (F is monotone in t).
// Every converter runs at the constant power c_i / T* over the plan, so the binding one runs at
// its limit and all finish together.
//
// Why this is the physical minimum. In any schedule of length T, converter i moves at most P_i T
// in total and the bleed at most T V_i^2 / R; integrating the bus balance over time gives
// eta sum D_i = sum A_i / eta (D_i, A_i: energy delivered and absorbed by i), and for the net
// c_i = D_i - A_i this implies F(c) >= 0 (each module's netting only removes loss). The endpoint
// must meet the target. So every schedule's (T, c) lies in the relaxed set where F(cHi) >= 0,
// and T* of that set (bench/balancing-limits.ts, activeMinimumTime_s) bounds every schedule from
// below. The planner's set adds F(cLo) <= 0, which binds only when the donors must shed more than
// the others can take even with every bleed on; then no schedule without circulation does
// better. Re-planning keeps the plan consistent (after a period of the proportional schedule the
// remaining problem has the same level and the remaining T* - period), so the closed loop ends
// within one period of T* apart from voltage drift: within 1.25 x as long as T* >= 4 periods.
//
// Combined with passive: the bleeds enter only through the donors' lower bound (they let a donor
// shed faster and absorb what the bus cannot), the converters do the rest. The bleed share is
// b_i = max(0, sLo_i - c_i) (only what the converter leaves of the donor's minimum) and is sent
// as the BALANCE_COMMAND charge; the node bleeds it at full duty. Run this planner instead of
// PassivePlanner when converters exist (bleedResistance_Ohm finite: combined; NaN: converters only).
import { MAX_PACK_MODULES } from "../pack/modules";
import { BleedCommands } from "./commands";
import { BalanceGuards, BalanceModules, BalanceStatus, s_PER_h } from "./modules";
import { usableCapacity_Ah } from "./capacity";

export class ActivePlannerConfig {
  /** Efficiency of one conversion: ADI LTC3300-1 datasheet, "up to 92 % charge transfer efficiency" (host/peripherals/energy-bus.ts). */
  efficiency: f32 = 0.92;
  /** Default converter limit at the module terminals, W: LTC3300-1 "up to 10 A balancing current" at 3.6 V. */
  powerLimit_W: f32 = 36.0;
  /** Bleed resistor, ohm, for the combined plan (board BALANCE_RESISTANCE_Ohm); NaN: converters only. */
  bleedResistance_Ohm: f32 = NaN;
  /** How long a command is held before the next plan, s (the re-plan period). */
  planPeriod_s: f32 = 1.0;
  /** Start and stop deadbands in 1-sigma of a module's charge, as PassivePlannerConfig. */
  startSigmas: f32 = 2.0;
  stopSigmas: f32 = 0.5;
  /** Difference that never starts a transfer, fraction of capacity (as PassivePlannerConfig.deadbandFloorSoc). */
  deadbandFloorSoc: f32 = 0.0005;
  startConfirm_ms: i64 = 5000;
}

/** Bisection steps: 2^-30 of the bracket is below f32 resolution; the T search stops at 1e-4 relative. */
const SEARCH_STEPS: i32 = 30;
const TIME_TOLERANCE: f32 = 1.0e-4;
/** No plan longer than this, s (about four months): beyond it the target counts as unreachable. */
const MAX_PLAN_TIME_s: f32 = 1.0e7;
/** 1/sqrt(2): a per-module tolerance of k sigma / sqrt(2) gives a pair k sqrt(sigma_i^2 + sigma_j^2) at equal sigma. */
const SQRT_HALF: f32 = 0.70710678;
/**
 * A plan shorter than this fraction of a period ends the transfer: at most 1 % of one period at
 * full power is left (0.36 J, 0.03 mAh at 36 W and 3.7 V), below the SOC resolution on the bus.
 */
const FINISH_FRACTION: f32 = 0.01;
/** The stop tolerance keeps this fraction of the floor (hysteresis below the start). */
const STOP_FLOOR_FRACTION: f32 = 0.25;
/** f32 slack on bus balances, relative to the largest module energy (a few ulp per module). */
const BALANCE_SLACK: f32 = 4.0e-7;

export class ActivePlanner {
  readonly config: ActivePlannerConfig;
  readonly guards: BalanceGuards;
  /** Converter limit per module, W (config.powerLimit_W; set 0 for a failed converter). */
  readonly converterLimit_W: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** Converter power command, W, positive = module delivers to the bus; balances the bus. */
  readonly power_W: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** The bleeds of the combined plan (BALANCE_COMMAND charge and duty). */
  readonly bleedShare: BleedCommands = new BleedCommands();
  /** Charge each module ends the plan with, Ah. */
  readonly finalCharge_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** BalanceStatus bits of the last update. */
  status: i32 = 0;
  /** Plan length T*, s (0 when balanced, NaN when infeasible or without data). */
  time_s: f32 = NaN;
  /** Level d: the smallest module's final charge, Ah. */
  level_Ah: f32 = NaN;
  /** eta sum(delivered) - sum(absorbed) / eta of the commands, W (0 up to rounding). */
  busResidual_W: f32 = 0.0;
  /** Conversion losses of the commands, W (the sum of the module-terminal powers). */
  converterLoss_W: f32 = 0.0;
  /** U before the plan and at its end, Ah. */
  usableBefore_Ah: f32 = NaN;
  usableAfter_Ah: f32 = NaN;
  /** Converters are commanded (past the start confirmation, until inside the stop deadband). */
  transferring: bool = false;

  private startSince_ms: i64 = -1;
  private n: i32 = 0;
  private minCapacity_Ah: f32 = 0.0;
  private slack_J: f32 = 0.0;
  private dLow: f32 = 0.0;
  private dHigh: f32 = 0.0;
  private readonly charge_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly width_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly sigma_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly tolerance_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly energyPerAh: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** Converter limit after the guards, W, for the delivering and the absorbing direction. */
  private readonly deliverLimit_W: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly absorbLimit_W: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly bleedPower_W: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly excluded: StaticArray<bool> = new StaticArray<bool>(MAX_PACK_MODULES);
  private readonly convLow_J: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly convHigh_J: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly shedLow_J: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly energy_J: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly removed_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);

  constructor(config: ActivePlannerConfig, guards: BalanceGuards) {
    this.config = config;
    this.guards = guards;
    for (let i = 0; i < MAX_PACK_MODULES; i++) unchecked(this.converterLimit_W[i] = config.powerLimit_W);
  }

  update(modules: BalanceModules, packCurrent_A: f32, now_ms: i64): i32 {
    const n = modules.count;
    this.n = n;
    if (n <= 0) return this.halt(BalanceStatus.NO_MODULES, modules);
    for (let i = 0; i < n; i++) {
      if (!modules.fresh(i, now_ms, this.guards.maxAge_ms)) return this.halt(BalanceStatus.DATA_INCOMPLETE, modules);
    }
    let status = this.prepare(modules);
    const c = this.config;

    // Hysteresis: start outside the start deadband (confirmed), stop inside the stop deadband.
    this.setTolerances(c.startSigmas, c.deadbandFloorSoc * <f32>0.5);
    const settledAtStart = this.feasible(0.0);
    this.setTolerances(c.stopSigmas, c.deadbandFloorSoc * <f32>0.5 * STOP_FLOOR_FRACTION);
    const settledAtStop = this.feasible(0.0);
    if (this.transferring) {
      if (settledAtStop) this.transferring = false;
    } else if (settledAtStart) {
      this.startSince_ms = -1;
    } else {
      if (this.startSince_ms < 0) this.startSince_ms = now_ms;
      this.transferring = now_ms - this.startSince_ms >= c.startConfirm_ms;
    }
    if (!this.transferring) {
      this.idle(modules, settledAtStart ? 0.0 : <f32>NaN);
      status |= settledAtStart ? BalanceStatus.BALANCED : 0;
      this.status = status;
      return status;
    }
    this.startSince_ms = -1;

    // Least feasible T: double from one period, then bisect.
    let high = c.planPeriod_s > 0 ? c.planPeriod_s : <f32>1.0;
    while (!this.feasible(high)) {
      high *= 2.0;
      if (high > MAX_PLAN_TIME_s) {
        this.idle(modules, NaN);
        this.transferring = false;
        this.status = status | BalanceStatus.INFEASIBLE;
        return this.status;
      }
    }
    let low: f32 = 0.0;
    for (let step = 0; step < SEARCH_STEPS && high - low > TIME_TOLERANCE * high; step++) {
      const mid = (low + high) * <f32>0.5;
      if (this.feasible(mid)) high = mid;
      else low = mid;
    }
    const time = high;
    if (time < FINISH_FRACTION * c.planPeriod_s) {
      // What is left would take under 1 % of a period at full power: done.
      this.transferring = false;
      this.idle(modules, 0.0);
      this.status = status | BalanceStatus.BALANCED;
      return this.status;
    }
    const level = this.chooseLevel(time);
    this.allocate(time, level, modules);
    this.time_s = time;
    this.level_Ah = level;
    status |= BalanceStatus.TRANSFERRING;
    if (this.bleedShare.bleedingCount > 0) status |= BalanceStatus.BLEEDING;
    this.status = status;
    return status;
  }

  /** Per-module data for this update; returns GUARDED when a guard blocks a direction. */
  private prepare(modules: BalanceModules): i32 {
    const n = this.n;
    const c = this.config;
    let smallest: f32 = Infinity;
    let largestEnergy: f32 = 0.0;
    let status = 0;
    const bleeding = isFinite(c.bleedResistance_Ohm) && c.bleedResistance_Ohm > 0;
    for (let i = 0; i < n; i++) {
      const capacity = unchecked(modules.states.capacity_Ah[i]);
      if (capacity < smallest) smallest = capacity;
    }
    this.minCapacity_Ah = smallest;
    for (let i = 0; i < n; i++) {
      const capacity = unchecked(modules.states.capacity_Ah[i]);
      const voltage = unchecked(modules.voltage_V[i]);
      const perAh = voltage * s_PER_h;
      unchecked(this.charge_Ah[i] = modules.charge_Ah(i));
      unchecked(this.width_Ah[i] = capacity - smallest);
      unchecked(this.energyPerAh[i] = perAh);
      const bySoc = capacity * unchecked(modules.socSigma[i]);
      const byCapacity = unchecked(modules.capacitySigma_Ah[i]);
      unchecked(this.sigma_Ah[i] = Mathf.sqrt(bySoc * bySoc + byCapacity * byCapacity));
      const mayDischarge = this.guards.mayDischarge(modules, i);
      const mayCharge = this.guards.mayCharge(modules, i);
      const limit = unchecked(this.converterLimit_W[i]);
      const converter = limit > 0 ? limit : <f32>0.0;
      unchecked(this.deliverLimit_W[i] = mayDischarge ? converter : <f32>0.0);
      unchecked(this.absorbLimit_W[i] = mayCharge ? converter : <f32>0.0);
      unchecked(this.bleedPower_W[i] = mayDischarge && bleeding ? voltage * voltage / c.bleedResistance_Ohm : <f32>0.0);
      // A module that may neither give nor take is left out of the target (reported as GUARDED).
      const out = !mayDischarge && !mayCharge;
      unchecked(this.excluded[i] = out);
      if (!mayDischarge || !mayCharge) status |= BalanceStatus.GUARDED;
      const energy = capacity * perAh;
      if (energy > largestEnergy) largestEnergy = energy;
    }
    this.slack_J = BALANCE_SLACK * largestEnergy * <f32>n;
    return status;
  }

  /** tol_i = sigmas sigma_i / sqrt(2) + floorSoc Q_i: two modules together get k sqrt(sigma_i^2 + sigma_j^2) at equal sigma. */
  private setTolerances(sigmas: f32, floorSoc: f32): void {
    for (let i = 0; i < this.n; i++) {
      unchecked(this.tolerance_Ah[i] = sigmas * unchecked(this.sigma_Ah[i]) * SQRT_HALF + floorSoc * (unchecked(this.width_Ah[i]) + this.minCapacity_Ah)); // Q_i = w_i + Q_min
    }
  }

  /** The d range where every module's box is non-empty for plan length T; false when empty. */
  private bounds(time: f32): bool {
    let low: f32 = 0.0;
    let high = this.minCapacity_Ah;
    for (let i = 0; i < this.n; i++) {
      if (unchecked(this.excluded[i])) continue;
      const perAh = unchecked(this.energyPerAh[i]);
      const q = unchecked(this.charge_Ah[i]);
      const tolerance = unchecked(this.tolerance_Ah[i]);
      const shed = time * (unchecked(this.deliverLimit_W[i]) + unchecked(this.bleedPower_W[i])) / perAh;
      const take = time * unchecked(this.absorbLimit_W[i]) / perAh;
      const lowest = q - unchecked(this.width_Ah[i]) - tolerance - shed;
      const highest = q + tolerance + take;
      if (lowest > low) low = lowest;
      if (highest < high) high = highest;
    }
    this.dLow = low;
    this.dHigh = high;
    return low <= high;
  }

  @inline private convHigh(i: i32, time: f32, level: f32): f32 {
    const shed = (unchecked(this.charge_Ah[i]) - level + unchecked(this.tolerance_Ah[i])) * unchecked(this.energyPerAh[i]);
    const cap = time * unchecked(this.deliverLimit_W[i]);
    return shed < cap ? shed : cap;
  }

  @inline private shedLow(i: i32, level: f32): f32 {
    return (unchecked(this.charge_Ah[i]) - level - unchecked(this.width_Ah[i]) - unchecked(this.tolerance_Ah[i])) * unchecked(this.energyPerAh[i]);
  }

  @inline private convLow(i: i32, time: f32, level: f32): f32 {
    const least = this.shedLow(i, level) - time * unchecked(this.bleedPower_W[i]);
    const cap = -time * unchecked(this.absorbLimit_W[i]);
    return least > cap ? least : cap;
  }

  /** F at the top (useHigh) or the bottom of every module's box, J. */
  private busBalance(time: f32, level: f32, useHigh: bool): f32 {
    const eta = this.config.efficiency;
    let supply: f32 = 0.0;
    let demand: f32 = 0.0;
    for (let i = 0; i < this.n; i++) {
      if (unchecked(this.excluded[i])) continue;
      const c = useHigh ? this.convHigh(i, time, level) : this.convLow(i, time, level);
      if (c > 0) supply += c;
      else demand -= c;
    }
    return eta * supply - demand / eta;
  }

  private feasible(time: f32): bool {
    if (!this.bounds(time)) return false;
    return this.busBalance(time, this.dLow, true) >= -this.slack_J && this.busBalance(time, this.dHigh, false) <= this.slack_J;
  }

  /** A level inside the feasible interval at plan length T (its middle). */
  private chooseLevel(time: f32): f32 {
    this.bounds(time);
    const low = this.dLow;
    const high = this.dHigh;
    // d1: the highest level whose box tops still balance (F(cHi) >= 0).
    let top = high;
    if (this.busBalance(time, high, true) < -this.slack_J) {
      let a = low;
      let b = high;
      for (let step = 0; step < SEARCH_STEPS; step++) {
        const mid = (a + b) * <f32>0.5;
        if (this.busBalance(time, mid, true) >= -this.slack_J) a = mid;
        else b = mid;
      }
      top = a;
    }
    // d0: the lowest level whose box bottoms still balance (F(cLo) <= 0).
    let bottom = low;
    if (this.busBalance(time, low, false) > this.slack_J) {
      let a = low;
      let b = high;
      for (let step = 0; step < SEARCH_STEPS; step++) {
        const mid = (a + b) * <f32>0.5;
        if (this.busBalance(time, mid, false) <= this.slack_J) b = mid;
        else a = mid;
      }
      bottom = b;
    }
    return (bottom + top) * <f32>0.5;
  }

  /** Water-filling at (T, d): converter energies, exact bus balance, powers, bleed share. */
  private allocate(time: f32, level: f32, modules: BalanceModules): void {
    const n = this.n;
    const eta = this.config.efficiency;
    let lowest: f32 = 0.0;
    let highest: f32 = 0.0;
    for (let i = 0; i < n; i++) {
      let lo: f32 = 0.0;
      let hi: f32 = 0.0;
      if (!unchecked(this.excluded[i])) {
        lo = this.convLow(i, time, level);
        hi = this.convHigh(i, time, level);
        if (lo > hi) lo = hi;
      }
      unchecked(this.convLow_J[i] = lo);
      unchecked(this.convHigh_J[i] = hi);
      unchecked(this.shedLow_J[i] = unchecked(this.excluded[i]) ? <f32>0.0 : this.shedLow(i, level));
      if (lo < lowest) lowest = lo;
      if (hi > highest) highest = hi;
    }
    // Water level t: F(clamp(t, lo, hi)) = 0, F increasing in t.
    let a = lowest;
    let b = highest;
    for (let step = 0; step < SEARCH_STEPS; step++) {
      const mid = (a + b) * <f32>0.5;
      if (this.filledBalance(mid) > 0) b = mid;
      else a = mid;
    }
    const water = (a + b) * <f32>0.5;
    let supply: f32 = 0.0;
    let demand: f32 = 0.0;
    for (let i = 0; i < n; i++) {
      const lo = unchecked(this.convLow_J[i]);
      const hi = unchecked(this.convHigh_J[i]);
      const energy = water < lo ? lo : water > hi ? hi : water;
      unchecked(this.energy_J[i] = energy);
      if (energy > 0) supply += energy;
      else demand -= energy;
    }
    // Exact balance: scale the side in excess, as the bus itself would (energy-bus.ts resolve()).
    let scaleDelivering: f32 = 1.0;
    let scaleAbsorbing: f32 = 1.0;
    if (eta * supply > demand / eta && supply > 0) scaleDelivering = (demand / eta) / (eta * supply);
    else if (demand / eta > eta * supply && demand > 0) scaleAbsorbing = (eta * supply) / (demand / eta);
    const span = time > this.config.planPeriod_s ? time : this.config.planPeriod_s;
    let residual: f32 = 0.0;
    let loss: f32 = 0.0;
    let bleeding = 0;
    for (let i = 0; i < n; i++) {
      let energy = unchecked(this.energy_J[i]);
      energy *= energy > 0 ? scaleDelivering : scaleAbsorbing;
      const power = energy / span;
      unchecked(this.power_W[i] = power);
      residual += power > 0 ? eta * power : power / eta;
      loss += power;
      const perAh = unchecked(this.energyPerAh[i]);
      const bled = unchecked(this.shedLow_J[i]) - energy;
      const bleed_Ah = bled > 0 && unchecked(this.bleedPower_W[i]) > 0 ? bled / perAh : <f32>0.0;
      this.bleedShare.command(i, bleed_Ah, 1.0);
      if (unchecked(this.bleedShare.bleed[i])) bleeding++;
      const removed = (energy + (bleed_Ah > 0 ? bled : <f32>0.0)) / perAh;
      unchecked(this.removed_Ah[i] = removed);
      unchecked(this.finalCharge_Ah[i] = unchecked(this.charge_Ah[i]) - removed);
    }
    for (let i = n; i < MAX_PACK_MODULES; i++) {
      unchecked(this.power_W[i] = 0.0);
      this.bleedShare.command(i, 0.0, 0.0);
    }
    this.bleedShare.bleedingCount = bleeding;
    this.bleedShare.status = bleeding > 0 ? BalanceStatus.BLEEDING : 0;
    this.busResidual_W = residual;
    this.converterLoss_W = loss;
    this.usableBefore_Ah = usableCapacity_Ah(modules.states);
    this.usableAfter_Ah = usableCapacity_Ah(modules.states, this.removed_Ah);
  }

  private filledBalance(water: f32): f32 {
    const eta = this.config.efficiency;
    let supply: f32 = 0.0;
    let demand: f32 = 0.0;
    for (let i = 0; i < this.n; i++) {
      const lo = unchecked(this.convLow_J[i]);
      const hi = unchecked(this.convHigh_J[i]);
      const energy = water < lo ? lo : water > hi ? hi : water;
      if (energy > 0) supply += energy;
      else demand -= energy;
    }
    return eta * supply - demand / eta;
  }

  /** Commands off, estimates kept: time_s is 0 when balanced, NaN otherwise. */
  private idle(modules: BalanceModules, time: f32): void {
    for (let i = 0; i < MAX_PACK_MODULES; i++) {
      unchecked(this.power_W[i] = 0.0);
      unchecked(this.removed_Ah[i] = 0.0);
      unchecked(this.finalCharge_Ah[i] = i < this.n ? unchecked(this.charge_Ah[i]) : <f32>0.0);
    }
    this.bleedShare.stopAll();
    this.bleedShare.status = 0;
    this.time_s = time;
    this.level_Ah = NaN;
    this.busResidual_W = 0.0;
    this.converterLoss_W = 0.0;
    this.usableBefore_Ah = usableCapacity_Ah(modules.states);
    this.usableAfter_Ah = this.usableBefore_Ah;
  }

  private halt(status: i32, modules: BalanceModules): i32 {
    this.n = 0;
    this.transferring = false;
    this.startSince_ms = -1;
    this.idle(modules, NaN);
    this.status = status;
    return status;
  }
}

