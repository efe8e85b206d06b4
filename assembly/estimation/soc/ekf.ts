// State-of-charge by an extended Kalman filter on the ESC cell model, after G. L. Plett,
// "Extended Kalman filtering for battery management systems of LiPB-based HEV battery packs,
// part 3: state and parameter estimation", J. Power Sources 134 (2004) 277-292, with a fifth
// state for the current-sensor offset. docs/estimation.md gives the equations and the tuning.
//
//   x = [z, iR1, iR2, h, b]   SOC, RC branch currents (A), hysteresis (-1..1), sensor offset (A)
//   i = i_measured - b        the true module current, positive = discharge
//   z+   = z - eta dt / Q i                 eta = coulombic efficiency on charge, 1 on discharge
//   iRj+ = aj iRj + (1 - aj) i              aj = exp(-dt / tau_j)
//   h+   = aH h - (1 - aH) sgn(i)           aH = exp(-|eta i gamma dt / Q|)
//   b+   = b + w_b                          random walk
//   v    = OCV(z, T) + M h - R1 iR1 - R2 iR2 - R0 i
//
// f32 throughout, fixed 5x5 covariance in a StaticArray, Joseph-form update expanded for a scalar
// measurement (O(n^2)), covariance floors, ceilings and a correlation clip after every step.
// Nothing allocates after the constructor.
import { CellModel, EscParameters } from "../../cell/model";
import { expNonPositive } from "../exp";
import {
  SocEstimator, SocInputLimits, checkSocInputs, powerOffSocLoss, powerOffSocVariance, SOC_VARIANCE_UNKNOWN,
} from "./estimator";

export namespace EkfState {
  export const SOC: i32 = 0;
  export const RC1_CURRENT_A: i32 = 1;
  export const RC2_CURRENT_A: i32 = 2;
  export const HYSTERESIS: i32 = 3;
  export const CURRENT_BIAS_A: i32 = 4;
}
export const EKF_STATES: i32 = 5;
const N: i32 = 5;

/** Noise and guard parameters. Defaults suit the reference node (14-bit ADC, 100 uOhm shunt); docs/estimation.md explains each. */
export class EkfTuning {
  /** White noise of one current sample, A (1 sigma); enters as process noise through the input. */
  currentNoise_A: f32 = 0.05;
  /** Relative gain error of the current sensor (1 sigma); process noise proportional to |i|. Typical shunt + amplifier tolerance 0.5 %. */
  currentGainError: f32 = 0.005;
  /** Voltage measurement noise plus ESC model error, V (1 sigma) at a steep OCV. */
  voltageNoise_V: f32 = 0.005;
  /** SOC random walk for unmodelled effects (self-discharge, capacity error), per sqrt(s). */
  socRandomWalk_per_sqrt_s: f32 = 1.0e-5;
  /** Hysteresis-state random walk, per sqrt(s): lets the filter absorb a wrong gamma. */
  hysteresisRandomWalk_per_sqrt_s: f32 = 1.0e-4;
  /** Current-offset drift, A per sqrt(s) (temperature drift of the shunt amplifier's offset). */
  biasRandomWalk_A_per_sqrt_s: f32 = 1.0e-4;
  /** Prior 1-sigma of the current offset, A; also the ceiling of its uncertainty. */
  initialBiasSigma_A: f32 = 1.0;
  /** Prior 1-sigma of the RC branch currents after a reset, A. */
  initialRcCurrentSigma_A: f32 = 1.0;
  /**
   * OCV slope below which the voltage is trusted less (the LFP plateau), V per unit SOC. 0.3 V is
   * below the flattest mid-range segment of NMC/NCA curves (0.3-0.4 V in the LG M50 set near 85 %
   * SOC) and above most of the LFP plateau (0.04-0.3 V in the Sony US26650FTC1 set).
   */
  flatSlope_V: f32 = 0.3;
  /**
   * How long an OCV model error on the plateau persists, s (hysteresis, temperature and ageing
   * drift are slow). Voltage there is worth about one independent look per this time, whatever
   * the tick rate; see measurementVariance.
   */
  flatCorrelationTime_s: f32 = 60;
  /** Largest factor on the measurement variance. */
  maxNoiseInflation: f32 = 1.0e6;
}

// Covariance guards. Floors keep the filter from becoming so sure of itself that it stops
// listening; ceilings stop an unobservable state from growing without bound.
/**
 * SOC variance floor: sigma 0.2 % SOC. A 24-point OCV table reproduces the parameter set's curve
 * to a few tenths of a percent of SOC (docs/cell-blob.md), so a tighter bound would be false
 * confidence and would let the gain collapse.
 */
const SOC_VARIANCE_FLOOR: f32 = 4.0e-6;
/** RC current floor, A^2 (sigma 10 uA). */
const RC_VARIANCE_FLOOR_A2: f32 = 1.0e-10;
/** Hysteresis floor (sigma 1e-4) and ceiling (the state is confined to [-1, 1]). */
const HYSTERESIS_VARIANCE_FLOOR: f32 = 1.0e-8;
const HYSTERESIS_VARIANCE_CEILING: f32 = 1;
/** Current-offset floor, A^2 (sigma 100 uA, below one ADC code of the reference shunt channel). */
const BIAS_VARIANCE_FLOOR_A2: f32 = 1.0e-8;
/** Largest correlation coefficient kept between two states. */
const CORRELATION_MAX: f32 = 0.9999;
/** Hysteresis prior after a reset: uniform on [-1, 1]. */
const HYSTERESIS_VARIANCE_UNKNOWN: f32 = <f32>1.0 / <f32>3.0;
/** Hysteresis variance after restore(): its variance is not persisted; sigma 0.1 (h does not move at rest). */
const HYSTERESIS_VARIANCE_RESTORED: f32 = 0.01;

export class EkfSocEstimator extends SocEstimator {
  readonly model: CellModel;
  readonly tuning: EkfTuning;
  readonly limits: SocInputLimits;
  /** State vector x (EkfState indices). */
  readonly x: StaticArray<f32> = new StaticArray<f32>(N);
  /** Covariance P, row-major 5x5, kept symmetric. */
  readonly P: StaticArray<f32> = new StaticArray<f32>(N * N);
  /** Module capacity used by the filter, A s; setCapacity_Ah feeds a capacity estimate back. */
  private capacity_As: f32 = 0;
  /** Last innovation (measured - predicted voltage), V, and its predicted variance, V^2. */
  innovation_V: f32 = 0;
  innovationVariance_V2: f32 = 0;

  // Scratch, allocated once.
  private readonly parameters: EscParameters = new EscParameters();
  private readonly d: StaticArray<f32> = new StaticArray<f32>(N);
  private readonly u: StaticArray<f32> = new StaticArray<f32>(N);
  private readonly c: StaticArray<f32> = new StaticArray<f32>(N);
  private readonly pc: StaticArray<f32> = new StaticArray<f32>(N);
  private readonly k: StaticArray<f32> = new StaticArray<f32>(N);
  /** Scratch vector: d .* P(:, b) in predict, PC - K (C P C^T) in update. */
  private readonly g: StaticArray<f32> = new StaticArray<f32>(N);
  // Quantities of the last predict, used by update: SOC before the step and the step length.
  private socBefore: f32 = 0;
  private stepLength_s: f32 = 1;

  constructor(model: CellModel, tuning: EkfTuning = new EkfTuning(), limits: SocInputLimits = new SocInputLimits()) {
    super();
    this.model = model;
    this.tuning = tuning;
    this.limits = limits;
    this.capacity_As = model.moduleCapacity_Ah() * <f32>3600;
    this.initialise(<f32>0.5, SOC_VARIANCE_UNKNOWN, 0, HYSTERESIS_VARIANCE_UNKNOWN, 0, tuning.initialBiasSigma_A * tuning.initialBiasSigma_A);
  }

  get soc(): f32 {
    return unchecked(this.x[EkfState.SOC]);
  }
  get socSigma(): f32 {
    return Mathf.sqrt(unchecked(this.P[0]));
  }
  get socVariance(): f32 {
    return unchecked(this.P[0]);
  }
  get hysteresis(): f32 {
    return unchecked(this.x[EkfState.HYSTERESIS]);
  }
  get bias_A(): f32 {
    return unchecked(this.x[EkfState.CURRENT_BIAS_A]);
  }
  get biasVariance_A2(): f32 {
    return unchecked(this.P[EkfState.CURRENT_BIAS_A * N + EkfState.CURRENT_BIAS_A]);
  }
  /** Module capacity the filter integrates against, Ah. */
  get capacity_Ah(): f32 {
    return this.capacity_As / <f32>3600;
  }
  /** Replaces the module capacity (e.g. by the SOH estimate); ignored unless positive and finite. */
  setCapacity_Ah(capacity_Ah: f32): void {
    if (capacity_Ah > 0 && capacity_Ah < Infinity) this.capacity_As = capacity_Ah * <f32>3600;
  }

  step(current_A: f32, voltage_V: f32, temperature_C: f32, dt_s: f32): i32 {
    const flags = checkSocInputs(this.limits, this.model, current_A, voltage_V, temperature_C, dt_s);
    this.lastInputFlags = flags;
    if (flags != 0) {
      this.rejectedSteps++;
      return flags;
    }
    if (this.capacity_As <= 0) this.capacity_As = this.model.moduleCapacity_Ah() * <f32>3600;
    this.predict(current_A, temperature_C, dt_s);
    this.update(current_A, voltage_V, temperature_C);
    return 0;
  }

  /**
   * Time update over dt_s with the measured current held over the interval (the sample at the end
   * of an interval is its zero-order-hold value). Part of step(); public for tests.
   */
  predict(current_A: f32, temperature_C: f32, dt_s: f32): void {
    const x = this.x;
    const t = this.tuning;
    const z = unchecked(x[EkfState.SOC]);
    this.model.evaluate(z, temperature_C, this.parameters);
    const p = this.parameters;
    const current = current_A - unchecked(x[EkfState.CURRENT_BIAS_A]);
    const eta: f32 = current < 0 ? this.model.coulombicEfficiency : <f32>1.0;
    const socPerAmp = eta * dt_s / this.capacity_As;
    const a1 = expNonPositive(-dt_s / p.tau1_s);
    const a2 = expNonPositive(-dt_s / p.tau2_s);
    const aH = expNonPositive(-Mathf.abs(current * this.model.hysteresisGamma * socPerAmp));
    const sign: f32 = current > 0 ? <f32>1.0 : current < 0 ? <f32>-1.0 : <f32>0.0;

    this.socBefore = z;
    this.stepLength_s = dt_s;
    unchecked(x[EkfState.SOC] = z - socPerAmp * current);
    unchecked(x[EkfState.RC1_CURRENT_A] = a1 * x[EkfState.RC1_CURRENT_A] + (<f32>1.0 - a1) * current);
    unchecked(x[EkfState.RC2_CURRENT_A] = a2 * x[EkfState.RC2_CURRENT_A] + (<f32>1.0 - a2) * current);
    unchecked(x[EkfState.HYSTERESIS] = aH * x[EkfState.HYSTERESIS] - (<f32>1.0 - aH) * sign);

    // Jacobian A = diag(d) + u e_b^T: the offset b enters every state through i = i_m - b, so
    // u = df/db = -df/di. The dependence of aH on i is not differentiated (|i| and sgn(i) have no
    // useful derivative), as in Plett 2004 part 3.
    const d = this.d;
    const u = this.u;
    unchecked(d[0] = 1);
    unchecked(d[1] = a1);
    unchecked(d[2] = a2);
    unchecked(d[3] = aH);
    unchecked(d[4] = 1);
    unchecked(u[0] = socPerAmp);
    unchecked(u[1] = a1 - <f32>1.0);
    unchecked(u[2] = a2 - <f32>1.0);
    unchecked(u[3] = 0);
    unchecked(u[4] = 0);

    // P = A P A^T + Q, entry by entry: (A P A^T)ij = di dj Pij + di uj Pib + ui dj Pbj + ui uj Pbb.
    // Current noise (white plus gain error) enters through the input gradient -u, adding
    // ui uj sigma_i^2. With w = d .* P(:, b) taken first, each entry reads only its own old value,
    // so P is updated in place.
    const P = this.P;
    const b = EkfState.CURRENT_BIAS_A;
    const gainNoise = t.currentGainError * current_A;
    const inputVariance = t.currentNoise_A * t.currentNoise_A + gainNoise * gainNoise;
    const w = this.g;
    for (let i = 0; i < N; i++) unchecked(w[i] = d[i] * P[i * N + b]);
    const common = unchecked(P[b * N + b]) + inputVariance;
    for (let i = 0; i < N; i++) {
      const di = unchecked(d[i]);
      const ui = unchecked(u[i]);
      const wi = unchecked(w[i]);
      for (let j = i; j < N; j++) {
        const uj = unchecked(u[j]);
        const value = di * unchecked(d[j]) * unchecked(P[i * N + j]) + wi * uj + ui * unchecked(w[j]) + ui * uj * common;
        unchecked(P[i * N + j] = value);
        unchecked(P[j * N + i] = value);
      }
    }
    const socWalk = t.socRandomWalk_per_sqrt_s;
    const hysteresisWalk = t.hysteresisRandomWalk_per_sqrt_s;
    const biasWalk = t.biasRandomWalk_A_per_sqrt_s;
    unchecked(P[0] += socWalk * socWalk * dt_s);
    unchecked(P[3 * N + 3] += hysteresisWalk * hysteresisWalk * dt_s);
    unchecked(P[4 * N + 4] += biasWalk * biasWalk * dt_s);
  }

  /** Measurement update with the terminal voltage at the end of the step. Part of step(); public for tests. */
  update(current_A: f32, voltage_V: f32, temperature_C: f32): void {
    const x = this.x;
    const p = this.parameters;
    const current = current_A - unchecked(x[EkfState.CURRENT_BIAS_A]);
    const z = unchecked(x[EkfState.SOC]);
    // The OCV is piecewise linear in SOC, so extrapolating along the segment found in predict()
    // is exact unless the step crossed a grid point (then off by the slope change times the step).
    const ocv = p.ocv_V + p.dOcvdSoc_V * (z - this.socBefore);
    const h = unchecked(x[EkfState.HYSTERESIS]);
    const predicted = ocv + p.hysteresis_V * h - p.r1_Ohm * unchecked(x[EkfState.RC1_CURRENT_A])
      - p.r2_Ohm * unchecked(x[EkfState.RC2_CURRENT_A]) - p.r0_Ohm * current;

    const c = this.c;
    unchecked(c[0] = p.dOcvdSoc_V);
    unchecked(c[1] = -p.r1_Ohm);
    unchecked(c[2] = -p.r2_Ohm);
    unchecked(c[3] = p.hysteresis_V);
    unchecked(c[4] = p.r0_Ohm);

    const r = this.measurementVariance(p.dOcvdSoc_V, this.stepLength_s);
    const P = this.P;
    const pc = this.pc;
    let cpc: f32 = 0;
    for (let i = 0; i < N; i++) {
      let sum: f32 = 0;
      for (let j = 0; j < N; j++) sum += unchecked(P[i * N + j]) * unchecked(c[j]);
      unchecked(pc[i] = sum);
      cpc += unchecked(c[i]) * sum;
    }
    const s = cpc + r;
    const innovation = voltage_V - predicted;
    this.innovation_V = innovation;
    this.innovationVariance_V2 = s;
    const k = this.k;
    for (let i = 0; i < N; i++) {
      unchecked(k[i] = pc[i] / s);
      unchecked(x[i] += k[i] * innovation);
    }
    // Joseph form (I - KC) P (I - KC)^T + r K K^T, expanded for a scalar measurement:
    // Pij - Ki PCj - gi Kj + r Ki Kj with g = PC - K (C P C^T). Exact for any gain K, so rounding
    // in K adds no first-order error, as it would in P - K PC^T. The upper triangle is computed
    // and mirrored, so P stays symmetric to the last bit.
    const g = this.g;
    for (let i = 0; i < N; i++) unchecked(g[i] = pc[i] - k[i] * cpc);
    for (let i = 0; i < N; i++) {
      const ki = unchecked(k[i]);
      const gi = unchecked(g[i]);
      for (let j = i; j < N; j++) {
        const kj = unchecked(k[j]);
        const value = unchecked(P[i * N + j]) - ki * unchecked(pc[j]) - gi * kj + r * ki * kj;
        unchecked(P[i * N + j] = value);
        unchecked(P[j * N + i] = value);
      }
    }
    this.clampState();
    this.guardCovariance();
  }

  /**
   * Measurement variance, adapted to the OCV slope s = dOCV/dSOC (the LFP strategy,
   * docs/estimation.md): R = sigma_v^2 g with
   *   g = 1 + (tau_flat / dt) ((s_flat / s)^2 - 1)   where |s| < s_flat,   g = 1 elsewhere.
   * Where the curve is flat a few millivolts of OCV or hysteresis model error mean many percent of
   * SOC, and that error is not white: it persists for minutes. (s_flat / s)^2 discounts the
   * voltage by how much flatter than s_flat the curve is, and tau_flat / dt turns "one look per
   * tau_flat" into a per-sample variance, so the information taken per second does not grow with
   * the tick rate. g is continuous (1 at s_flat) and capped at maxNoiseInflation. On the plateau
   * the filter therefore coulomb-counts with its offset state; near the steep ends it corrects.
   */
  measurementVariance(dOcvdSoc_V: f32, dt_s: f32): f32 {
    const t = this.tuning;
    const base = t.voltageNoise_V * t.voltageNoise_V;
    const slope = Mathf.abs(dOcvdSoc_V);
    if (slope >= t.flatSlope_V) return base;
    const ratio = t.flatSlope_V / slope;
    const looks: f32 = dt_s > 0 && dt_s < t.flatCorrelationTime_s ? t.flatCorrelationTime_s / dt_s : <f32>1.0;
    const inflation = <f32>1.0 + looks * (ratio * ratio - <f32>1.0);
    // Also catches slope == 0 (ratio infinite) and NaN.
    return inflation < t.maxNoiseInflation ? base * inflation : base * t.maxNoiseInflation;
  }

  /**
   * Cold start after a rest (RC currents relaxed): z = OCV^-1(v) with h = 0 assumed. The unknown
   * hysteresis (uniform on [-1, 1], variance 1/3) moves the rest voltage by M h, hence the SOC by
   * -M/slope h: the SOC variance is (M/slope)^2 / 3 + (sigma_v/slope)^2, correlated with h by
   * -M/slope / 3. The current offset keeps what the filter had learned.
   */
  resetFromOcv(voltage_V: f32, temperature_C: f32): bool {
    if (!this.model.loaded || !(temperature_C >= this.limits.minTemperature_C && temperature_C <= this.limits.maxTemperature_C)) return false;
    const margin = this.limits.voltageMargin_V;
    if (!(voltage_V >= this.model.minVoltage_V - margin && voltage_V <= this.model.maxVoltage_V + margin)) return false;
    const soc = this.model.socFromOcv(voltage_V, temperature_C);
    this.model.evaluate(soc, temperature_C, this.parameters);
    const p = this.parameters;
    const slope = Mathf.max(Mathf.abs(p.dOcvdSoc_V), <f32>1.0e-3);
    const socPerHysteresis = -p.hysteresis_V / slope;
    const noise = this.tuning.voltageNoise_V / slope;
    let socVariance = socPerHysteresis * socPerHysteresis * HYSTERESIS_VARIANCE_UNKNOWN + noise * noise;
    let correlation = socPerHysteresis * HYSTERESIS_VARIANCE_UNKNOWN;
    if (socVariance > SOC_VARIANCE_UNKNOWN) {
      // Flat curve: the rest voltage says little. Scale the SOC row to "unknown", keeping the shape.
      const scale = Mathf.sqrt(SOC_VARIANCE_UNKNOWN / socVariance);
      socVariance = SOC_VARIANCE_UNKNOWN;
      correlation *= scale;
    }
    const bias = unchecked(this.x[EkfState.CURRENT_BIAS_A]);
    const biasVariance = unchecked(this.P[N * N - 1]);
    this.initialise(soc, socVariance, 0, HYSTERESIS_VARIANCE_UNKNOWN, bias, biasVariance);
    unchecked(this.P[EkfState.HYSTERESIS] = correlation);
    unchecked(this.P[EkfState.HYSTERESIS * N] = correlation);
    this.guardCovariance();
    return true;
  }

  /**
   * Warm start from persisted values after offTime_s without power (NaN or negative: unknown).
   * SOC drops by the expected self-discharge and its variance grows by its square
   * (powerOffSocLoss); the offset variance grows by its random walk over the off time, up to its
   * prior; RC currents restart at zero (relaxed).
   */
  restore(soc: f32, socVariance: f32, hysteresis: f32, bias_A: f32, biasVariance_A2: f32, offTime_s: f32): void {
    const loss = powerOffSocLoss(this.model, offTime_s);
    const t = this.tuning;
    const validSoc: f32 = soc >= 0 && soc <= 1 ? soc : <f32>0.5;
    let variance: f32 = socVariance >= 0 && socVariance < Infinity ? socVariance : SOC_VARIANCE_UNKNOWN;
    variance += powerOffSocVariance(this.model, offTime_s);
    const validHysteresis: f32 = hysteresis >= -1 && hysteresis <= 1 ? hysteresis : <f32>0.0;
    const biasPrior = t.initialBiasSigma_A * t.initialBiasSigma_A;
    const validBias: f32 = Mathf.abs(bias_A) <= t.initialBiasSigma_A * <f32>3.0 ? bias_A : <f32>0.0;
    let biasVariance: f32 = biasVariance_A2 >= 0 && biasVariance_A2 < Infinity ? biasVariance_A2 : biasPrior;
    biasVariance += offTime_s >= 0 ? t.biasRandomWalk_A_per_sqrt_s * t.biasRandomWalk_A_per_sqrt_s * offTime_s : biasPrior;
    this.initialise(validSoc - loss, variance, validHysteresis, HYSTERESIS_VARIANCE_RESTORED, validBias, biasVariance);
    this.clampState();
    this.guardCovariance();
  }

  /** State element (EkfState index); NaN outside 0..4. */
  state(index: i32): f32 {
    if (index < 0 || index >= N) return NaN;
    return unchecked(this.x[index]);
  }

  /** Covariance element; NaN outside 0..4. */
  covariance(row: i32, column: i32): f32 {
    if (row < 0 || row >= N || column < 0 || column >= N) return NaN;
    return unchecked(this.P[row * N + column]);
  }

  /** Overwrites one state element (tests, and persistence beyond restore()). */
  setState(index: i32, value: f32): void {
    if (index >= 0 && index < N) unchecked(this.x[index] = value);
  }

  /** Overwrites a covariance element and its mirror (tests). */
  setCovariance(row: i32, column: i32, value: f32): void {
    if (row < 0 || row >= N || column < 0 || column >= N) return;
    unchecked(this.P[row * N + column] = value);
    unchecked(this.P[column * N + row] = value);
  }

  // -------------------------------------------------------------------------------------------

  private initialise(soc: f32, socVariance: f32, hysteresis: f32, hysteresisVariance: f32, bias_A: f32, biasVariance_A2: f32): void {
    const x = this.x;
    const P = this.P;
    for (let i = 0; i < N * N; i++) unchecked(P[i] = 0);
    const rc = this.tuning.initialRcCurrentSigma_A;
    unchecked(x[EkfState.SOC] = soc);
    unchecked(x[EkfState.RC1_CURRENT_A] = 0);
    unchecked(x[EkfState.RC2_CURRENT_A] = 0);
    unchecked(x[EkfState.HYSTERESIS] = hysteresis);
    unchecked(x[EkfState.CURRENT_BIAS_A] = bias_A);
    unchecked(P[0] = socVariance);
    unchecked(P[1 * N + 1] = rc * rc);
    unchecked(P[2 * N + 2] = rc * rc);
    unchecked(P[3 * N + 3] = hysteresisVariance);
    unchecked(P[4 * N + 4] = biasVariance_A2);
  }

  /** SOC in [0, 1] and hysteresis in [-1, 1], as in Plett's implementation. */
  private clampState(): void {
    const x = this.x;
    const z = unchecked(x[EkfState.SOC]);
    unchecked(x[EkfState.SOC] = z < 0 ? 0 : z > 1 ? 1 : z);
    const h = unchecked(x[EkfState.HYSTERESIS]);
    unchecked(x[EkfState.HYSTERESIS] = h < -1 ? -1 : h > 1 ? 1 : h);
  }

  /**
   * Floors (add to the diagonal), ceilings (scale a state's row and column: a congruence, so a
   * positive semi-definite P stays so) and a clip of every correlation to |rho| <= 0.9999.
   */
  private guardCovariance(): void {
    const P = this.P;
    const maxCurrent = this.limits.maxCurrent_A;
    const biasCeiling = this.tuning.initialBiasSigma_A * this.tuning.initialBiasSigma_A;
    for (let i = 0; i < N; i++) {
      let floor: f32;
      let ceiling: f32;
      if (i == EkfState.SOC) {
        floor = SOC_VARIANCE_FLOOR;
        ceiling = SOC_VARIANCE_UNKNOWN;
      } else if (i == EkfState.HYSTERESIS) {
        floor = HYSTERESIS_VARIANCE_FLOOR;
        ceiling = HYSTERESIS_VARIANCE_CEILING;
      } else if (i == EkfState.CURRENT_BIAS_A) {
        floor = BIAS_VARIANCE_FLOOR_A2;
        ceiling = biasCeiling > BIAS_VARIANCE_FLOOR_A2 ? biasCeiling : BIAS_VARIANCE_FLOOR_A2;
      } else {
        floor = RC_VARIANCE_FLOOR_A2;
        ceiling = maxCurrent * maxCurrent;
      }
      const pii = unchecked(P[i * N + i]);
      if (!(pii >= floor)) {
        // Also repairs a NaN diagonal.
        unchecked(P[i * N + i] = floor);
      } else if (pii > ceiling) {
        const scale = Mathf.sqrt(ceiling / pii);
        for (let j = 0; j < N; j++) {
          unchecked(P[i * N + j] *= scale);
          unchecked(P[j * N + i] *= scale);
        }
      }
    }
    for (let i = 0; i < N; i++) {
      const pii = unchecked(P[i * N + i]);
      for (let j = i + 1; j < N; j++) {
        const pij = unchecked(P[i * N + j]);
        const limit = CORRELATION_MAX * CORRELATION_MAX * pii * unchecked(P[j * N + j]);
        if (!(pij * pij <= limit)) {
          const bound = Mathf.sqrt(limit);
          const clipped: f32 = pij < 0 ? -bound : bound;
          unchecked(P[i * N + j] = clipped);
          unchecked(P[j * N + i] = clipped);
        }
      }
    }
  }
}
