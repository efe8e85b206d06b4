// Total capacity by approximate weighted total least squares (AWTLS), a library: the node learns
// its capacity as a state of its SOC filter instead (docs/estimation.md, "Capacity"). G. L. Plett, "Recursive
// approximate weighted total least squares estimation of battery cell total capacity",
// J. Power Sources 196 (2011) 2319-2331.
//
// Data pairs: x = z2 - z1, the SOC change between two instants according to the SOC estimator
// (variance sx2), and y = -sum(eta i dt) / 3600, the charge that went in over the same interval
// in Ah (variance sy2). Then y = Q x, with noise on BOTH sides, where ordinary least squares is
// biased (Plett 2011). With y pre-scaled by k = sqrt(sx2 / sy2) of the first pair, so both
// variances are comparable, the AWTLS cost over the pairs is
//   J(Q) = (C4 Q^4 - 2 C5 Q^3 + (C1 + C6) Q^2 - 2 C2 Q + C3) / (Q^2 + 1)^2
//   C1 = sum x^2/sy2, C2 = sum x y/sy2, C3 = sum y^2/sy2, C4 = sum x^2/sx2, C5 = sum x y/sx2, C6 = sum y^2/sx2
// (each sum with a fading memory gamma), whose stationary points are the roots of
//   C5 Q^4 + (2 C4 - C1 - C6) Q^3 + 3 (C2 - C5) Q^2 + (C1 + C6 - 2 C3) Q - C2 = 0,
// and whose variance is 2 / J''(Q). On exact data (y = Q x for every pair) the cost is 0 at the
// true Q, so the estimate is exact.
//
// Numerics for f32: Q is carried relative to the nominal capacity (q = Q / Q_nom ~ 1), and the
// minimum is found by scanning q over [0.2, 2] for a sign change of the quartic from - to + (a
// minimum of J) and bisecting, instead of a general quartic solver: no complex arithmetic, no
// allocation, and only minima inside a physical range are candidates.
import { CellModel } from "../../cell/model";

/** Capacity range searched, relative to nominal: 20 % (end of any useful life) to 200 % (a wrong nominal). */
const RATIO_MIN: f32 = 0.2;
const RATIO_MAX: f32 = 2.0;
/** Scan intervals over the range; the quartic has at most 4 roots, so 64 separates them at any realistic spread. */
const SCAN_INTERVALS: i32 = 64;
/** Averaging time of the current for the rest decision of the pair builder, s. */
const REST_AVERAGING_s: f32 = 10;
/**
 * Largest 1-sigma of a pair's SOC change, relative to the change, that is still used: 20 %, a
 * capacity known to no better than that from one pair (the prior alone is at 5 %).
 */
const PAIR_MAX_RELATIVE_SIGMA: f32 = 0.2;
/** Bisection steps: 2^-30 of one scan interval is below f32 resolution. */
const BISECTION_STEPS: i32 = 30;

export class CapacityEstimator {
  /** Module capacity the SOH ratio is taken against (the nominal, beginning-of-life value), Ah. */
  readonly nominalCapacity_Ah: f32;
  /** Fading memory per update (1 = none; Plett 2011 uses 0.98..1). */
  readonly forgetting: f32;
  capacity_Ah: f32;
  capacityVariance_Ah2: f32;
  /** Accepted pairs since construction or restore. */
  updates: i32 = 0;
  private priorRatio: f32 = 1;
  private priorRatioVariance: f32;
  /** Pre-scaling k of y, fixed by the first pair (0 until then). */
  private k: f32 = 0;
  private c1: f32 = 0;
  private c2: f32 = 0;
  private c3: f32 = 0;
  private c4: f32 = 0;
  private c5: f32 = 0;
  private c6: f32 = 0;

  constructor(nominalCapacity_Ah: f32, priorSigma_Ah: f32, forgetting: f32 = 1) {
    this.nominalCapacity_Ah = nominalCapacity_Ah;
    this.forgetting = forgetting;
    this.capacity_Ah = nominalCapacity_Ah;
    this.capacityVariance_Ah2 = priorSigma_Ah * priorSigma_Ah;
    const relative = priorSigma_Ah / nominalCapacity_Ah;
    this.priorRatioVariance = relative * relative;
  }

  /** Capacity / nominal: the capacity state of health. */
  get capacityRatio(): f32 {
    return this.capacity_Ah / this.nominalCapacity_Ah;
  }

  get capacitySigma_Ah(): f32 {
    return Mathf.sqrt(this.capacityVariance_Ah2);
  }

  /**
   * Adds one pair: deltaSoc = z2 - z1 (variance deltaSocVariance, typically the sum of the two SOC
   * variances) and charge_Ah that went into the module over the interval (negative on discharge;
   * variance chargeVariance_Ah2). Returns true when the estimate was updated.
   */
  update(deltaSoc: f32, deltaSocVariance: f32, charge_Ah: f32, chargeVariance_Ah2: f32): bool {
    if (!(Mathf.abs(deltaSoc) <= 1 && deltaSocVariance > 0 && deltaSocVariance < Infinity
      && Mathf.abs(charge_Ah) < Infinity && chargeVariance_Ah2 > 0 && chargeVariance_Ah2 < Infinity)) return false;
    // A pair whose SOC change is uncertain by more than PAIR_MAX_RELATIVE_SIGMA of itself says
    // next to nothing about Q, and AWTLS weighs pairs only approximately when their variance
    // ratios differ by orders of magnitude (Plett 2011): such a pair, typically one that starts
    // before the SOC filter has converged, is left out.
    if (deltaSocVariance > PAIR_MAX_RELATIVE_SIGMA * PAIR_MAX_RELATIVE_SIGMA * deltaSoc * deltaSoc) return false;
    const nominal = this.nominalCapacity_Ah;
    // y relative to nominal capacity, then pre-scaled by k.
    const yRelative = charge_Ah / nominal;
    const yRelativeVariance = chargeVariance_Ah2 / (nominal * nominal);
    if (this.k == 0) {
      this.k = Mathf.sqrt(deltaSocVariance / yRelativeVariance);
      this.addPrior();
    }
    const k = this.k;
    const x = deltaSoc;
    const y = k * yRelative;
    const sy2 = k * k * yRelativeVariance;
    const sx2 = deltaSocVariance;
    const gamma = this.forgetting;
    this.c1 = gamma * this.c1 + x * x / sy2;
    this.c2 = gamma * this.c2 + x * y / sy2;
    this.c3 = gamma * this.c3 + y * y / sy2;
    this.c4 = gamma * this.c4 + x * x / sx2;
    this.c5 = gamma * this.c5 + x * y / sx2;
    this.c6 = gamma * this.c6 + y * y / sx2;
    return this.solve();
  }

  /** Warm start: the persisted estimate becomes the prior; the sums restart. */
  restore(capacity_Ah: f32, capacityVariance_Ah2: f32): void {
    const nominal = this.nominalCapacity_Ah;
    if (capacity_Ah > RATIO_MIN * nominal && capacity_Ah < RATIO_MAX * nominal && capacityVariance_Ah2 > 0 && capacityVariance_Ah2 < Infinity) {
      this.priorRatio = capacity_Ah / nominal;
      this.priorRatioVariance = capacityVariance_Ah2 / (nominal * nominal);
      this.capacity_Ah = capacity_Ah;
      this.capacityVariance_Ah2 = capacityVariance_Ah2;
    }
    this.k = 0;
    this.c1 = 0;
    this.c2 = 0;
    this.c3 = 0;
    this.c4 = 0;
    this.c5 = 0;
    this.c6 = 0;
    this.updates = 0;
  }

  // -------------------------------------------------------------------------------------------

  /**
   * The prior as one pair (x = 1, y = k q0), as Plett initialises the recursion from a nominal
   * capacity (Plett 2011), with the same variance v on both sides. Such a pair's residual y - Q x
   * has variance v (1 + Q^2) in the scaled units; for the prior to weigh as a capacity known to
   * sigma_q0 (a residual variance k^2 sigma_q0^2 at Q = k q0), v = k^2 sigma_q0^2 / (1 + k^2 q0^2).
   * (v = k^2 sigma_q0^2 itself would make the prior sqrt(1 + k^2 q0^2) times weaker than meant.)
   */
  private addPrior(): void {
    const k = this.k;
    const y = k * this.priorRatio;
    const variance = k * k * this.priorRatioVariance / (<f32>1.0 + y * y);
    this.c1 = <f32>1.0 / variance;
    this.c2 = y / variance;
    this.c3 = y * y / variance;
    this.c4 = this.c1;
    this.c5 = this.c2;
    this.c6 = this.c3;
  }

  /** The quartic whose roots are the stationary points of J (J' = 2 quartic / (Q^2 + 1)^3). */
  private quartic(q: f32): f32 {
    return (((this.c5 * q + (<f32>2.0 * this.c4 - this.c1 - this.c6)) * q + <f32>3.0 * (this.c2 - this.c5)) * q
      + (this.c1 + this.c6 - <f32>2.0 * this.c3)) * q - this.c2;
  }

  private cost(q: f32): f32 {
    const q2 = q * q;
    const numerator = (((this.c4 * q - <f32>2.0 * this.c5) * q + (this.c1 + this.c6)) * q - <f32>2.0 * this.c2) * q + this.c3;
    const denominator = (q2 + <f32>1.0) * (q2 + <f32>1.0);
    return numerator / denominator;
  }

  /** J''(Q) (Plett 2011, the AWTLS Hessian). */
  private hessian(q: f32): f32 {
    const c1 = this.c1;
    const c2 = this.c2;
    const c3 = this.c3;
    const c4 = this.c4;
    const c5 = this.c5;
    const c6 = this.c6;
    const polynomial = ((((<f32>-2.0 * c5 * q + (<f32>3.0 * c1 - <f32>6.0 * c4 + <f32>3.0 * c6)) * q
      + (<f32>-12.0 * c2 + <f32>16.0 * c5)) * q + (<f32>-8.0 * c1 + <f32>10.0 * c3 + <f32>6.0 * c4 - <f32>8.0 * c6)) * q
      + (<f32>12.0 * c2 - <f32>6.0 * c5)) * q + (c1 - <f32>2.0 * c3 + c6);
    const q2p1 = q * q + <f32>1.0;
    return <f32>2.0 * polynomial / (q2p1 * q2p1 * q2p1 * q2p1);
  }

  private solve(): bool {
    const k = this.k;
    const lo = RATIO_MIN * k;
    const step = (RATIO_MAX - RATIO_MIN) * k / <f32>SCAN_INTERVALS;
    let best: f32 = NaN;
    let bestCost: f32 = Infinity;
    let a = lo;
    let pa = this.quartic(a);
    for (let n = 1; n <= SCAN_INTERVALS; n++) {
      const b = lo + step * <f32>n;
      const pb = this.quartic(b);
      if (pa <= 0 && pb > 0) {
        // J' goes from - to +: a minimum inside [a, b].
        let left = a;
        let right = b;
        for (let s = 0; s < BISECTION_STEPS; s++) {
          const middle = <f32>0.5 * (left + right);
          if (this.quartic(middle) <= 0) left = middle;
          else right = middle;
        }
        const root = <f32>0.5 * (left + right);
        const c = this.cost(root);
        if (c < bestCost) {
          bestCost = c;
          best = root;
        }
      }
      a = b;
      pa = pb;
    }
    if (isNaN(best)) return false;
    const h = this.hessian(best);
    if (!(h > 0)) return false;
    const nominal = this.nominalCapacity_Ah;
    this.capacity_Ah = best / k * nominal;
    this.capacityVariance_Ah2 = <f32>2.0 / h / (k * k) * nominal * nominal;
    this.updates++;
    return true;
  }
}

/**
 * Builds AWTLS pairs from a running module: remembers the SOC at the start of an interval,
 * accumulates the charge that went in (with the coulombic efficiency on charge, and the current
 * noise as its variance) and hands the pair to a CapacityEstimator once the SOC has moved by at
 * least minDeltaSoc (small moves carry little information about Q, Plett 2011), or by at least
 * half that when the module has rested for restDuration_s: at rest the overpotential has relaxed
 * and the SOC filter reads the OCV with the least uncertainty it will get, so a pair ends there
 * (a module that cycles between two SOCs, parked at each end, gives one pair per half cycle).
 */
export class CapacityPairBuilder {
  readonly model: CellModel;
  readonly minDeltaSoc: f32;
  readonly currentNoise_A: f32;
  private startSoc: f32 = NaN;
  private startSocVariance: f32 = 0;
  private charge_Ah: f32 = 0;
  private chargeVariance_Ah2: f32 = 0;
  /** Duration of the interval so far, s (the offset's uncertainty integrates over it). */
  private elapsed_s: f32 = 0;
  /** Time since |current| last exceeded restCRate of the module capacity, s. */
  private rest_s: f32 = 0;
  private averageCurrent_A: f32 = 0;
  /** |current| below this C-rate counts as rest: C/50, as the coulomb-counting baseline. */
  readonly restCRate: f32 = 0.02;
  /** Rest that ends a pair, s: 5 min is several of the slow RC time constant (tau2 of 40-60 s in the shipped sets). */
  readonly restDuration_s: f32;

  constructor(model: CellModel, minDeltaSoc: f32 = 0.4, currentNoise_A: f32 = 0.05, restDuration_s: f32 = 300) {
    this.model = model;
    this.minDeltaSoc = minDeltaSoc;
    this.currentNoise_A = currentNoise_A;
    this.restDuration_s = restDuration_s;
  }

  get started(): bool {
    return !isNaN(this.startSoc);
  }

  /** Starts an interval at the given SOC estimate. */
  start(soc: f32, socVariance: f32): void {
    this.startSoc = soc;
    this.startSocVariance = socVariance;
    this.charge_Ah = 0;
    this.chargeVariance_Ah2 = 0;
    this.elapsed_s = 0;
  }

  /** Adds one step of (offset-corrected) current, positive = discharge. Invalid values abandon the interval. */
  accumulate(current_A: f32, dt_s: f32): void {
    if (!(Mathf.abs(current_A) < Infinity && dt_s > 0 && dt_s < Infinity)) {
      this.startSoc = NaN;
      return;
    }
    const eta: f32 = current_A < 0 ? this.model.coulombicEfficiency : <f32>1.0;
    const hours = dt_s / <f32>3600;
    this.charge_Ah -= eta * current_A * hours;
    const noise = this.currentNoise_A * hours;
    this.chargeVariance_Ah2 += noise * noise;
    this.elapsed_s += dt_s;
    // Rest is judged on the current averaged over about 10 s: one sample of the reference node's
    // current channel has a noise of 0.27 A, more than C/50 of a small module.
    const weight = dt_s < REST_AVERAGING_s ? dt_s / REST_AVERAGING_s : <f32>1.0;
    this.averageCurrent_A += weight * (current_A - this.averageCurrent_A);
    this.rest_s = Mathf.abs(this.averageCurrent_A) <= this.restCRate * this.model.moduleCapacity_Ah() ? this.rest_s + dt_s : <f32>0.0;
  }

  /**
   * When the SOC has moved far enough from the start, gives the pair to estimator, starts the next
   * interval here and returns true.
   */
  offer(soc: f32, socVariance: f32, estimator: CapacityEstimator, offsetVariance_A2: f32 = 0): bool {
    if (!this.started) {
      this.start(soc, socVariance);
      return false;
    }
    const deltaSoc = soc - this.startSoc;
    const resting = this.rest_s >= this.restDuration_s;
    const needed: f32 = resting ? <f32>0.25 * this.minDeltaSoc : this.minDeltaSoc;
    if (!(Mathf.abs(deltaSoc) >= needed)) return false;
    // A floor on the charge variance keeps the pre-scaling finite with a noiseless sensor model (1 mAs).
    const floor: f32 = <f32>(0.001 / 3600.0) * <f32>(0.001 / 3600.0);
    // The current offset's remaining uncertainty acts on the whole interval at once.
    const hours = this.elapsed_s / <f32>3600;
    const offsetCharge = offsetVariance_A2 >= 0 ? offsetVariance_A2 * hours * hours : <f32>0.0;
    const counted = this.chargeVariance_Ah2 + offsetCharge;
    const chargeVariance = counted > floor ? counted : floor;
    const accepted = estimator.update(deltaSoc, this.startSocVariance + socVariance, this.charge_Ah, chargeVariance);
    this.start(soc, socVariance);
    return accepted;
  }
}
