// SOC-based passive balancing: how much charge each module should bleed so that the string
// reaches its maximum usable capacity, re-planned every tick from the nodes' estimates.
//
// Objective (derivation in docs/balancing.md). With q_i = SOC_i Q_i and r_i = Q_i - q_i, the usable
// capacity is U = min_i q_i + min_i r_i <= min_i Q_i =: Q_min. Bleeding b_i >= 0 gives
// q_i - b_i and r_i + b_i. Keeping the dischargeable charge D = min_i q_i (a bleed can only lower
// it) and raising the chargeable room to C* = Q_min - D reaches U = Q_min; the smallest bleed that
// does it is
//   b_i = max(0, C* - r_i) = max(0, (q_i - D) - (Q_i - Q_min)),
// and every b_i is no larger than in any other plan reaching Q_min (any plan that lowers D to
// d < D needs b_i >= C* - r_i + (D - d)). So: each module keeps at least as much room below full
// as the smallest module would have holding only D. With equal capacities this is bottom
// balancing (bleed every module to the emptiest one's charge); with mixed capacities a larger
// module may keep more charge than the emptiest one, up to its extra capacity Q_i - Q_min, and
// equal SOC is not the target at all.
//
// Deadband. e_i = C* - r_i = Q_min - q_k - r_i (k the emptiest module, m the smallest) is a linear
// function of the SOCs and capacities of i, k and m; its variance from their 1-sigma (taken as
// independent) is
//   var e_i = sum over j in {i, k, m} of (de_i/dSOC_j sigma_SOC,j)^2 + (de_i/dQ_j sigma_Q,j)^2.
// A bleed starts when e_i > startSigmas sigma_e + floorSoc Q_i has held for startConfirm_ms (an estimate
// that wanders across the threshold for a tick or two does not start it), and stops once
// e_i <= stopSigmas sigma_e. The node is sent e_i - stopSigmas sigma_e, capped so the module
// never goes below minSoc, and stops by itself when it has removed that much.
import { BleedStrategy } from "./commands";
import { BalanceGuards, BalanceModules, BalanceStatus, clamp01, s_PER_h } from "./modules";
import { usableCapacity_Ah } from "./capacity";
import { MAX_PACK_MODULES } from "../pack/modules";

export class PassivePlannerConfig {
  /**
   * A bleed starts when the excess exceeds this many 1-sigma: 2 sigma is a 2.3 % one-sided chance
   * per independent estimate of starting on noise alone (normal distribution).
   */
  startSigmas: f32 = 2.0;
  /** A bleed stops when the excess is down to this many 1-sigma (hysteresis below the start). */
  stopSigmas: f32 = 0.5;
  /**
   * Excess that never starts a bleed, as a fraction of the module's capacity, whatever the sigma:
   * 0.05 % SOC is five LSB of MODULE_STATE's SOC (0.01 %/bit), so quantisation alone never starts
   * one; 2.5 mAh on a 5 Ah module, about 80 s of a 33 ohm bleed at 3.7 V (engineering choice).
   */
  deadbandFloorSoc: f32 = 0.0005;
  /** The start condition must hold this long: 50 ticks of 100 ms; white noise does not stay above 2 sigma that long. */
  startConfirm_ms: i64 = 5000;
  /** Duty cycle commanded to a bleeding module (1: fastest, time-optimal). */
  duty: f32 = 1.0;
  /** Board bleed resistor, ohm, only for the remaining-time estimate (NaN: no estimate). */
  bleedResistance_Ohm: f32 = NaN;
}

export class PassivePlanner extends BleedStrategy {
  readonly config: PassivePlannerConfig;
  readonly guards: BalanceGuards;
  /** Smallest bleed reaching the maximum usable capacity, from the point estimates, Ah (>= 0; 0 for stale data). */
  readonly targetBleed_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** 1-sigma of the excess e_i (targetBleed before clamping at 0), Ah. */
  readonly excessSigma_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  private readonly aboveSince_ms: StaticArray<i64> = new StaticArray<i64>(MAX_PACK_MODULES);
  /** D: charge of the emptiest module, Ah. */
  dischargeable_Ah: f32 = NaN;
  /** Q_min: the smallest module's capacity, Ah (the usable capacity the plan reaches). */
  minCapacity_Ah: f32 = NaN;
  /** C* = Q_min - D: room below full every module is to have, Ah. */
  chargeableTarget_Ah: f32 = NaN;
  emptiestModule: i32 = -1;
  smallestModule: i32 = -1;
  /** U = D + C now, and after the commanded bleeds, Ah. */
  usableBefore_Ah: f32 = NaN;
  usableAfter_Ah: f32 = NaN;
  /** Longest commanded bleed at full duty, s (NaN without a bleed resistance). */
  remainingTime_s: f32 = NaN;

  constructor(config: PassivePlannerConfig, guards: BalanceGuards) {
    super();
    this.config = config;
    this.guards = guards;
    for (let i = 0; i < MAX_PACK_MODULES; i++) unchecked(this.aboveSince_ms[i] = -1);
  }

  update(modules: BalanceModules, packCurrent_A: f32, now_ms: i64): i32 {
    const n = modules.count;
    if (n <= 0) return this.halt(BalanceStatus.NO_MODULES, modules);
    for (let i = 0; i < n; i++) {
      if (!modules.fresh(i, now_ms, this.guards.maxAge_ms)) return this.halt(BalanceStatus.DATA_INCOMPLETE, modules);
    }
    let dischargeable: f32 = Infinity;
    let smallest: f32 = Infinity;
    let k = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const q = modules.charge_Ah(i);
      const capacity = unchecked(modules.states.capacity_Ah[i]);
      if (q < dischargeable) { dischargeable = q; k = i; }
      if (capacity < smallest) { smallest = capacity; m = i; }
    }
    const chargeableTarget = smallest - dischargeable;
    this.dischargeable_Ah = dischargeable;
    this.minCapacity_Ah = smallest;
    this.chargeableTarget_Ah = chargeableTarget;
    this.emptiestModule = k;
    this.smallestModule = m;

    const c = this.config;
    let status = 0;
    let bleeding = 0;
    let unsettled = false;
    let longest: f32 = 0.0;
    for (let i = 0; i < n; i++) {
      // (q_i - D) - (Q_i - Q_min) = C* - r_i, written so that equal modules give exactly 0.
      const excess = (modules.charge_Ah(i) - dischargeable) - (unchecked(modules.states.capacity_Ah[i]) - smallest);
      const sigma = Mathf.sqrt(excessVariance(modules, i, k, m));
      unchecked(this.targetBleed_Ah[i] = excess > 0 ? excess : <f32>0.0);
      unchecked(this.excessSigma_Ah[i] = sigma);
      const stopLevel = c.stopSigmas * sigma;
      let on = unchecked(this.bleed[i]);
      if (on) {
        on = excess > stopLevel;
        if (!on) unchecked(this.aboveSince_ms[i] = -1);
      } else if (excess > c.startSigmas * sigma + c.deadbandFloorSoc * unchecked(modules.states.capacity_Ah[i])) {
        if (unchecked(this.aboveSince_ms[i]) < 0) unchecked(this.aboveSince_ms[i] = now_ms);
        on = now_ms - unchecked(this.aboveSince_ms[i]) >= c.startConfirm_ms;
      } else {
        unchecked(this.aboveSince_ms[i] = -1);
      }
      if (on || excess > c.startSigmas * sigma + c.deadbandFloorSoc * unchecked(modules.states.capacity_Ah[i])) unsettled = true;
      let charge: f32 = on ? excess - stopLevel : <f32>0.0;
      const reserve = (clamp01(unchecked(modules.states.soc[i])) - this.guards.minSoc) * unchecked(modules.states.capacity_Ah[i]);
      if (!this.guards.mayDischarge(modules, i) || reserve <= 0) {
        // Held back while the guard lasts; the confirmation is kept, so it resumes at once after.
        if (on || excess > c.startSigmas * sigma + c.deadbandFloorSoc * unchecked(modules.states.capacity_Ah[i])) status |= BalanceStatus.GUARDED;
        charge = 0.0;
      } else if (charge > reserve) {
        charge = reserve;
      }
      this.command(i, charge, c.duty);
      if (unchecked(this.bleed[i])) {
        bleeding++;
        const rate_A = unchecked(modules.voltage_V[i]) / c.bleedResistance_Ohm;
        const time = unchecked(this.charge_Ah[i]) * s_PER_h / (rate_A * c.duty);
        if (time > longest) longest = time;
      }
    }
    for (let i = n; i < MAX_PACK_MODULES; i++) this.command(i, 0.0, 0.0);
    this.bleedingCount = bleeding;
    this.remainingTime_s = isFinite(c.bleedResistance_Ohm) && c.bleedResistance_Ohm > 0 ? longest : <f32>NaN;
    this.usableBefore_Ah = usableCapacity_Ah(modules.states);
    this.usableAfter_Ah = usableCapacity_Ah(modules.states, this.charge_Ah);
    if (bleeding > 0) status |= BalanceStatus.BLEEDING;
    else if (!unsettled) status |= BalanceStatus.BALANCED;
    this.status = status;
    return status;
  }

  private halt(status: i32, modules: BalanceModules): i32 {
    this.stopAll();
    for (let i = 0; i < MAX_PACK_MODULES; i++) {
      unchecked(this.aboveSince_ms[i] = -1);
      unchecked(this.targetBleed_Ah[i] = 0.0);
      unchecked(this.excessSigma_Ah[i] = NaN);
    }
    this.dischargeable_Ah = NaN;
    this.minCapacity_Ah = NaN;
    this.chargeableTarget_Ah = NaN;
    this.emptiestModule = -1;
    this.smallestModule = -1;
    this.usableBefore_Ah = usableCapacity_Ah(modules.states);
    this.usableAfter_Ah = this.usableBefore_Ah;
    this.remainingTime_s = NaN;
    this.status = status;
    return status;
  }
}

/**
 * Variance of e_i = Q_m - SOC_k Q_k - (1 - SOC_i) Q_i, Ah^2, from the independent 1-sigma of each
 * SOC and capacity; i, k and m may coincide (their coefficients then add).
 */
export function excessVariance(modules: BalanceModules, i: i32, k: i32, m: i32): f32 {
  let variance = excessTerm(modules, i, i, k, m);
  if (k != i) variance += excessTerm(modules, k, i, k, m);
  if (m != i && m != k) variance += excessTerm(modules, m, i, k, m);
  return variance;
}

function excessTerm(modules: BalanceModules, j: i32, i: i32, k: i32, m: i32): f32 {
  const soc = clamp01(unchecked(modules.states.soc[j]));
  const capacity = unchecked(modules.states.capacity_Ah[j]);
  let bySoc: f32 = 0.0;
  let byCapacity: f32 = 0.0;
  if (j == i) { bySoc += capacity; byCapacity -= <f32>1.0 - soc; }
  if (j == k) { bySoc -= capacity; byCapacity -= soc; }
  if (j == m) byCapacity += 1.0;
  const a = bySoc * unchecked(modules.socSigma[j]);
  const b = byCapacity * unchecked(modules.capacitySigma_Ah[j]);
  return a * a + b * b;
}
