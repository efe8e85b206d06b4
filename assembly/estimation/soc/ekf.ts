// State-of-charge by an extended Kalman filter on the ESC cell model, after G. L. Plett,
// "Extended Kalman filtering for battery management systems of LiPB-based HEV battery packs,
// part 3: state and parameter estimation", J. Power Sources 134 (2004) 277-292, with two sensor
// states: the current-sensor offset and the voltage error that does not average out.
// docs/estimation.md gives the equations and the tuning.
//
//   x = [z, iR1, iR2, h, b, d, q]  SOC, RC branch currents (A), hysteresis (-1..1), current-sensor
//                               offset (A), slow voltage error (V), capacity error (Q / Qtrue - 1)
//   i = i_measured - b          the true module current, positive = discharge
//   z+   = z - eta dt / Q (1 + q) i         eta = coulombic efficiency on charge, 1 on discharge
//   iRj+ = aj iRj + (1 - aj) i              aj = exp(-dt / tau_j)
//   h+   = aH h - (1 - aH) sgn(i)           aH = exp(-|eta i gamma dt / Q|)
//   b+   = b + w_b,  d+ = d + w_d,  q+ = q + w_q     random walks
//   v    = OCV(z, T) + M h - k (R1 iR1 + R2 iR2 + R0 i) + d      k = resistance scale (SOH)
//
// d is the part of the voltage error that persists for hours: the voltage channel's offset, gain
// and INL error at the module's voltage, and the OCV table's error. Left in the measurement noise
// it would be counted again at every 100 ms sample, and the filter would end up sure of a SOC
// that is off by d / slope; as a state (colored measurement noise by state augmentation, A. Gelb,
// "Applied Optimal Estimation", MIT Press 1974, ch. 4) it caps the information the voltage gives
// about SOC at an honest level, and the changing OCV slope over a discharge makes it observable.
//
// q is the capacity as a state of the SOC filter (joint estimation, Plett 2004 part 3): Q is the
// capacity the node was given (nominal, or its persisted estimate; setCapacity_Ah), q how far the
// module's true capacity is from it. A capacity error is one error for every step, not noise: as a state its
// effect on the counted SOC grows with the charge counted, exactly, and where the voltage corrects
// the SOC (an OCV step, a knee, the top of charge) the correlation built up while counting moves q.
// On an LFP plateau this is the only way a node new to an aged module can learn what it holds.
//
// f32 throughout, fixed 6x6 covariance in a StaticArray, Joseph-form update expanded for a scalar
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
  export const VOLTAGE_ERROR_V: i32 = 5;
  export const CAPACITY_ERROR: i32 = 6;
}
export const EKF_STATES: i32 = 7;
/** Which states a scalar update may move (applyScalarUpdate). */
namespace Gain {
  export const ALL: i32 = 0;
  export const SOC_ONLY: i32 = 1;
  export const ALL_BUT_CAPACITY: i32 = 2;
}
const N: i32 = 7;

/**
 * Noise and guard parameters. Defaults suit the reference node board (boards/strata-node-v1.json:
 * 14-bit ADC at 2.5 V, 100 uOhm shunt x 20, divider 2; one current code is 76.3 mA, one voltage
 * code 0.305 mV); docs/estimation.md derives each from the parts' datasheets.
 */
export class EkfTuning {
  /** White noise of one current sample, A (1 sigma): 3.5 codes of ADC noise (STM32F4, 0.87 LSB at 12 bits). */
  currentNoise_A: f32 = 0.27;
  /** Relative gain error of the current sensor (1 sigma); process noise proportional to |i|. Typical shunt + amplifier tolerance 0.5 %. */
  currentGainError: f32 = 0.005;
  /** White noise of one voltage sample, V (1 sigma): 3.5 codes of ADC noise through the divider (1.1 mV), rounded up. */
  voltageNoise_V: f32 = 0.0015;
  /**
   * Prior 1-sigma and ceiling of the slow voltage error d, V: the root sum of squares of the
   * voltage channel's typical static errors at a module's voltage (ADC offset, gain and INL,
   * reference accuracy: 11 codes, 3.3 mV), plus the OCV table error (docs/cell-blob.md).
   */
  voltageErrorSigma_V: f32 = 0.004;
  /** Random walk of d, V per sqrt(s): how fast the OCV table error changes along the curve and the channel drifts with temperature (about 1 mV per hour). */
  voltageErrorRandomWalk_V_per_sqrt_s: f32 = 2.0e-5;
  /**
   * Model error that comes and goes within seconds, V (1 sigma): RC relaxation shapes, hysteresis
   * and OCV interpolation between table points; fed with the true state, the LG M50 tables show
   * 1-3 mV with a correlation time of a few seconds against the harness plant (docs/estimation.md).
   */
  modelError_V: f32 = 0.001;
  /**
   * Relative error of the model's overpotential R0 i + R1 iR1 + R2 iR2 (1 sigma) on top of the
   * resistance scale's own uncertainty: cell-to-cell spread, temperature reading, table resampling.
   */
  resistanceError: f32 = 0.1;
  /** How long a model error (and an overpotential error) persists, s: it follows the load, which changes every few seconds in a drive cycle. */
  modelCorrelationTime_s: f32 = 30;
  /**
   * OCV slope below which the voltage is discounted (the LFP plateau), V per unit SOC: below the
   * flattest stretches of NMC curves apart from NMC811's 85-90 % (0.22-0.4 V in the LG M50 set)
   * and above most of the LFP plateau (0.04-0.3 V in the Sony US26650FTC1 set).
   */
  flatSlope_V: f32 = 0.3;
  /** SOC random walk for unmodelled effects (self-discharge, leakage), per sqrt(s). */
  socRandomWalk_per_sqrt_s: f32 = 1.0e-5;
  /**
   * Random walk of the capacity error q, per sqrt(s): 1e-6 is 0.03 % a day, 0.6 % a year, the
   * order of the fade of a cell in use (20 % over 8-10 years, Naumann 2018 for the Sony LFP cell).
   */
  capacityRandomWalk_per_sqrt_s: f32 = 1.0e-6;
  /** Whether voltage corrections move q (joint estimation); false keeps q as a considered parameter (Schmidt-Kalman). */
  learnCapacity: bool = true;
  /**
   * How well the SOC must be known, q aside, for q to learn (1 sigma of SOC): see learnsCapacity.
   * A percent: the capacity target is 2 %, and a count from a SOC known to a percent over the 40-70
   * points of a drive holds a 2 % capacity error at 1-1.5 points of SOC.
   */
  capacityAnchor_soc: f32 = 0.01;
  /**
   * OCV slope, V per unit SOC, at and above which q does not learn: see learnsCapacity. 1 V is
   * where the Sony LFP set rises into its top of charge (above about 97 %).
   */
  capacitySteepSlope_V: f32 = 1.0;
  /** Averaging time of the current that drives the hysteresis state, s (see predict). */
  hysteresisAveraging_s: f32 = 1;
  /** Hysteresis-state random walk, per sqrt(s): lets the filter absorb a wrong gamma. */
  hysteresisRandomWalk_per_sqrt_s: f32 = 1.0e-4;
  /** Current-offset drift, A per sqrt(s) (temperature drift of the reference and amplifier offset). */
  biasRandomWalk_A_per_sqrt_s: f32 = 1.0e-4;
  /**
   * Prior 1-sigma of the current offset, A; also the ceiling of its variance. 13 codes: the root
   * sum of squares of the typical ADC offset, gain at mid-scale, INL and reference errors and the
   * INA240's offset is 10 codes (0.76 A).
   */
  initialBiasSigma_A: f32 = 1.0;
  /**
   * Largest offset the state may take, A: 39 codes, above the sum of the datasheet maxima of the
   * same terms (35 codes, 2.7 A). An offset beyond it is a sensor fault, not something to track.
   */
  biasLimit_A: f32 = 3.0;
  /** Prior 1-sigma of the RC branch currents after a reset, A. */
  initialRcCurrentSigma_A: f32 = 0.1;
  /**
   * Innovation monitor (see monitorInnovation): gates on the innovation averaged over the model
   * correlation time and on one sample, in sigmas of each.
   */
  innovationGate: f32 = 4;
  innovationJumpGate: f32 = 8;
}

// Covariance guards. Floors keep the filter from becoming so sure of itself that it stops
// listening; ceilings stop an unobservable state from growing without bound.
/**
 * SOC variance floor: sigma 0.05 % SOC, a numerical guard. It is reached only where the OCV is
 * steep (an LFP cell's last percent, where 0.05 % of SOC is more than 10 mV) and there a larger
 * floor acts as a random walk the voltage has to undo at every sample; elsewhere the voltage
 * error state and the correlated-noise model keep the SOC variance honest (docs/estimation.md).
 */
const SOC_VARIANCE_FLOOR: f32 = 2.5e-7;
/** RC current floor, A^2 (sigma 10 uA). */
const RC_VARIANCE_FLOOR_A2: f32 = 1.0e-10;
/** Hysteresis floor (sigma 1e-4) and ceiling (the state is confined to [-1, 1]). */
const HYSTERESIS_VARIANCE_FLOOR: f32 = 1.0e-8;
const HYSTERESIS_VARIANCE_CEILING: f32 = 1;
/** Current-offset floor, A^2 (sigma 10 mA, a seventh of one code of the reference shunt channel). */
const BIAS_VARIANCE_FLOOR_A2: f32 = 1.0e-4;
/** Capacity-error floor (sigma 0.1 %) and ceiling (sigma 50 %). */
const CAPACITY_VARIANCE_FLOOR: f32 = 1.0e-6;
const CAPACITY_VARIANCE_CEILING: f32 = 0.25;
/** Capacity error limits: the module holds between 1/2 and 2 times the capacity the node was given. */
const CAPACITY_ERROR_MIN: f32 = -0.5;
const CAPACITY_ERROR_MAX: f32 = 1.0;
/** Voltage-error floor, V^2 (sigma 0.1 mV, a third of one code of the reference voltage channel). */
const VOLTAGE_ERROR_VARIANCE_FLOOR_V2: f32 = 1.0e-8;
/** Largest factor the flat-curve rule puts on the measurement variance. */
const MAX_NOISE_INFLATION: f32 = 1.0e6;
/** Largest correlation coefficient kept between two states. */
const CORRELATION_MAX: f32 = 0.9999;
/**
 * Rest-voltage bounds (applyRestVoltageBounds) are checked only while the model's overpotential is
 * below this, V: 5 mV, a few times the voltage noise, so the RC branches have all but relaxed.
 */
const REST_OVERPOTENTIAL_V: f32 = 0.005;
/** A bound violated by more than this many SOC sigmas resets the SOC into the interval (see applyRestVoltageBounds). */
const BOUND_RESET_SIGMAS: f32 = 3;
/** 1-sigma of the SOC measurement a violated bound becomes: 0.5 % (the bound already has 3-sigma margins). */
const SOC_BOUND_SIGMA: f32 = 0.005;
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
  /** Covariance P, row-major 6x6, kept symmetric. */
  readonly P: StaticArray<f32> = new StaticArray<f32>(N * N);
  /** Module capacity the filter was given, A s (setCapacity_Ah); the state q corrects it. */
  private capacity_As: f32 = 0;
  /** Resistance relative to the cell model (the SOH estimate) and its variance; setResistanceScale feeds it back. */
  private resistanceScale: f32 = 1;
  private resistanceScaleVariance: f32 = 0;
  /** Last innovation (measured - predicted voltage), V, and its predicted variance, V^2. */
  innovation_V: f32 = 0;
  innovationVariance_V2: f32 = 0;
  /** RC branch currents driven by the measured current only (see predict), A. */
  private loadCurrent1_A: f32 = 0;
  private loadCurrent2_A: f32 = 0;
  /** Current driving the hysteresis state: the offset-corrected current averaged over hysteresisAveraging_s, A. */
  private hysteresisCurrent_A: f32 = 0;
  /** The measured (string) current's average was outside its noise deadband in the last step. */
  private stringCurrentFlowing: bool = false;
  /** Normalised innovation averaged over the model correlation time (the monitor's statistic). */
  innovationMean: f32 = 0;
  /** Times the innovation monitor widened the SOC variance. */
  socResets: i32 = 0;
  /** Times a rest voltage moved the SOC onto the bound it implies (applyRestVoltageBounds). */
  boundCorrections: i32 = 0;
  /** Times a rest voltage showed the SOC far outside its bounds and reset it into them. */
  boundResets: i32 = 0;
  /** Voltage updates that moved the capacity error q (learnsCapacity). */
  capacityLearningUpdates: i32 = 0;
  /** Largest hysteresis magnitude of the cell model, V (NaN until first needed). */
  private maxHysteresis_V: f32 = NaN;

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
  /** Module capacity the filter integrates against, Q / (1 + q), Ah. */
  get capacity_Ah(): f32 {
    return this.capacity_As / (<f32>3600 * (<f32>1.0 + unchecked(this.x[EkfState.CAPACITY_ERROR])));
  }
  /** Variance of capacity_Ah, Ah^2 (first order in q's variance). */
  get capacityVariance_Ah2(): f32 {
    const c = this.capacity_Ah;
    const q = <f32>1.0 + unchecked(this.x[EkfState.CAPACITY_ERROR]);
    return c * c * unchecked(this.P[EkfState.CAPACITY_ERROR * N + EkfState.CAPACITY_ERROR]) / (q * q);
  }
  /**
   * Replaces the module capacity the filter counts with (the SOH estimate, a persisted value) and
   * its variance: q restarts at 0 with the relative variance, uncorrelated. Ignored unless the
   * capacity is positive and both are finite.
   */
  setCapacity_Ah(capacity_Ah: f32, variance_Ah2: f32 = 0): void {
    if (capacity_Ah > 0 && capacity_Ah < Infinity && variance_Ah2 >= 0 && variance_Ah2 < Infinity) {
      this.capacity_As = capacity_Ah * <f32>3600;
      const P = this.P;
      const q = EkfState.CAPACITY_ERROR;
      for (let j = 0; j < N; j++) {
        unchecked(P[q * N + j] = 0);
        unchecked(P[j * N + q] = 0);
      }
      unchecked(this.x[q] = 0);
      unchecked(P[q * N + q] = variance_Ah2 / (capacity_Ah * capacity_Ah));
      this.guardCovariance();
    }
  }
  /**
   * Scales R0, R1 and R2 of the model (the resistance SOH ratio) with its variance, which adds to
   * the overpotential's uncertainty; ignored unless the ratio is positive and both are finite.
   */
  setResistanceScale(ratio: f32, variance: f32): void {
    if (ratio > 0 && ratio < Infinity && variance >= 0 && variance < Infinity) {
      this.resistanceScale = ratio;
      this.resistanceScaleVariance = variance;
    }
  }

  /**
   * One step. openStringShunt_A (default NaN: not known) is for the times the string circuit is
   * known to be open (the controller's pack state): current_A is then the module's own known
   * current (bleed, converter), taken without the offset, and the shunt channel's reading of the
   * zero string current, openStringShunt_A, measures the offset directly (observeCurrentOffset).
   * A reading beyond openStringLimit_A means current is flowing after all: the step is then an
   * ordinary one with the shunt's reading added to current_A. ownCurrent_A is the part of current_A
   * the node knows exactly (its bleed and converter current) while the string is closed: it drives
   * the hysteresis without the noise deadband (see predict).
   */
  step(current_A: f32, voltage_V: f32, temperature_C: f32, dt_s: f32, openStringShunt_A: f32 = NaN, ownCurrent_A: f32 = 0): i32 {
    let open = openStringShunt_A == openStringShunt_A;
    let current = current_A;
    let own = ownCurrent_A;
    if (open && !(Mathf.abs(openStringShunt_A) <= this.openStringLimit_A())) {
      open = false;
      own = current_A;
      current = current_A + openStringShunt_A;
    }
    const flags = checkSocInputs(this.limits, this.model, current, voltage_V, temperature_C, dt_s);
    this.lastInputFlags = flags;
    if (flags != 0) {
      this.rejectedSteps++;
      return flags;
    }
    if (this.capacity_As <= 0) this.capacity_As = this.model.moduleCapacity_Ah() * <f32>3600;
    this.predict(current, temperature_C, dt_s, open, own);
    this.update(current, voltage_V, temperature_C, open);
    if (open) this.observeCurrentOffset(openStringShunt_A);
    return 0;
  }

  /**
   * Largest shunt reading taken as the channel's zero while the string is open, A: the offset
   * clamp plus four sigmas of one sample's noise, so that noise on a large offset does not turn
   * single samples into "current flowing".
   */
  openStringLimit_A(): f32 {
    return this.tuning.biasLimit_A + <f32>4.0 * this.tuning.currentNoise_A;
  }

  /**
   * Zero-current calibration: with no current through the shunt its reading is the channel's
   * offset plus white noise, a direct measurement of state b (H = e_b, R = sigma_i^2). The same
   * scalar Joseph update as the voltage's. Many automotive packs calibrate their current sensor's
   * zero this way at every key-on, before the contactors close.
   */
  observeCurrentOffset(reading_A: f32): void {
    const c = this.c;
    for (let i = 0; i < N; i++) unchecked(c[i] = 0);
    unchecked(c[EkfState.CURRENT_BIAS_A] = 1);
    const cpc = this.projectCovariance();
    const noise = this.tuning.currentNoise_A;
    this.applyScalarUpdate(reading_A - unchecked(this.x[EkfState.CURRENT_BIAS_A]), noise * noise, cpc);
  }

  /**
   * Time update over dt_s with the measured current held over the interval (the sample at the end
   * of an interval is its zero-order-hold value). Part of step(); public for tests.
   */
  predict(current_A: f32, temperature_C: f32, dt_s: f32, currentKnown: bool = false, ownCurrent_A: f32 = 0): void {
    const x = this.x;
    const t = this.tuning;
    const z = unchecked(x[EkfState.SOC]);
    this.model.evaluate(z, temperature_C, this.parameters);
    const p = this.parameters;
    // A known current (string open: only the module's own bleed and converter) carries neither
    // the offset nor the sensor's noise.
    const current = currentKnown ? current_A : current_A - unchecked(x[EkfState.CURRENT_BIAS_A]);
    const eta: f32 = current < 0 ? this.model.coulombicEfficiency : <f32>1.0;
    // SOC per ampere with the given capacity, and with the capacity the state q says.
    const socPerAmpGiven = eta * dt_s / this.capacity_As;
    const socPerAmp = socPerAmpGiven * (<f32>1.0 + unchecked(x[EkfState.CAPACITY_ERROR]));
    const a1 = expNonPositive(-dt_s / p.tau1_s);
    const a2 = expNonPositive(-dt_s / p.tau2_s);
    // The hysteresis is driven by |i| and sgn(i), which white noise on a resting current does not
    // average out: with 0.27 A of noise per sample, h would decay towards 0 at rest while the
    // cell's stays put. The measured part of the current drives it averaged over
    // hysteresisAveraging_s, with a deadband of three sigmas of that average's noise; the part the
    // node knows exactly (its own bleed and converter current, ownCurrent_A; all of it while the
    // string is open) drives it as it is. A 0.11 A bleed is inside the 0.18 A deadband: counted
    // with the noisy part, a bleeding NMC module's hysteresis went to its discharge branch while
    // the filter's stayed at 0, and the filter read the hysteresis voltage as 0.6 points of SOC.
    const averaging = t.hysteresisAveraging_s;
    const weight: f32 = dt_s < averaging ? dt_s / averaging : <f32>1.0;
    const exact: f32 = currentKnown ? current : ownCurrent_A;
    const measured: f32 = currentKnown ? <f32>0.0 : current - ownCurrent_A;
    const averaged = this.hysteresisCurrent_A + weight * (measured - this.hysteresisCurrent_A);
    this.hysteresisCurrent_A = averaged;
    const deadband = <f32>3.0 * t.currentNoise_A * Mathf.sqrt(<f32>0.5 * weight);
    const driving: f32 = exact + (averaged > deadband ? averaged - deadband : averaged < -deadband ? averaged + deadband : <f32>0.0);
    this.stringCurrentFlowing = averaged > deadband || averaged < -deadband;
    const aH = expNonPositive(-Mathf.abs(driving * this.model.hysteresisGamma * socPerAmp));
    const sign: f32 = driving > 0 ? <f32>1.0 : driving < 0 ? <f32>-1.0 : <f32>0.0;

    this.socBefore = z;
    this.stepLength_s = dt_s;
    unchecked(x[EkfState.SOC] = z - socPerAmp * current);
    unchecked(x[EkfState.RC1_CURRENT_A] = a1 * x[EkfState.RC1_CURRENT_A] + (<f32>1.0 - a1) * current);
    unchecked(x[EkfState.RC2_CURRENT_A] = a2 * x[EkfState.RC2_CURRENT_A] + (<f32>1.0 - a2) * current);
    unchecked(x[EkfState.HYSTERESIS] = aH * x[EkfState.HYSTERESIS] - (<f32>1.0 - aH) * sign);
    // The RC currents the measured current alone implies, never corrected by the voltage: the
    // overpotential whose uncertainty goes into the measurement variance. The states themselves
    // cannot be used there, because a large innovation pushed into them would make the filter
    // distrust the voltage that should correct it.
    this.loadCurrent1_A = a1 * this.loadCurrent1_A + (<f32>1.0 - a1) * current;
    this.loadCurrent2_A = a2 * this.loadCurrent2_A + (<f32>1.0 - a2) * current;

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
    unchecked(d[5] = 1);
    unchecked(d[6] = 1);
    const known: f32 = currentKnown ? <f32>0.0 : <f32>1.0;
    unchecked(u[0] = known * socPerAmp);
    unchecked(u[1] = known * (a1 - <f32>1.0));
    unchecked(u[2] = known * (a2 - <f32>1.0));
    unchecked(u[3] = 0);
    unchecked(u[4] = 0);
    unchecked(u[5] = 0);
    unchecked(u[6] = 0);

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
    // The capacity error enters the SOC alone, dz+/dq = -socPerAmpGiven i: A = E A' with
    // E = I + v e0 e_q^T, so P = E P' E^T, which changes row and column 0 only (row q of P' is q's own).
    const q = EkfState.CAPACITY_ERROR;
    const v = -socPerAmpGiven * current;
    const pqq = unchecked(P[q * N + q]);
    unchecked(P[0] += v * (<f32>2.0 * unchecked(P[q]) + v * pqq));
    for (let j = 1; j < N; j++) {
      const value = unchecked(P[j]) + v * unchecked(P[q * N + j]);
      unchecked(P[j] = value);
      unchecked(P[j * N] = value);
    }
    const socWalk = t.socRandomWalk_per_sqrt_s;
    const hysteresisWalk = t.hysteresisRandomWalk_per_sqrt_s;
    const biasWalk = t.biasRandomWalk_A_per_sqrt_s;
    const voltageWalk = t.voltageErrorRandomWalk_V_per_sqrt_s;
    const capacityWalk = t.capacityRandomWalk_per_sqrt_s;
    unchecked(P[0] += socWalk * socWalk * dt_s);
    unchecked(P[q * N + q] += capacityWalk * capacityWalk * dt_s);
    unchecked(P[3 * N + 3] += hysteresisWalk * hysteresisWalk * dt_s);
    unchecked(P[4 * N + 4] += biasWalk * biasWalk * dt_s);
    unchecked(P[5 * N + 5] += voltageWalk * voltageWalk * dt_s);
  }

  /** Measurement update with the terminal voltage at the end of the step. Part of step(); public for tests. */
  update(current_A: f32, voltage_V: f32, temperature_C: f32, currentKnown: bool = false): void {
    const x = this.x;
    const p = this.parameters;
    const current = currentKnown ? current_A : current_A - unchecked(x[EkfState.CURRENT_BIAS_A]);
    const z = unchecked(x[EkfState.SOC]);
    // The OCV is piecewise linear in SOC, so extrapolating along the segment found in predict()
    // is exact unless the step crossed a grid point (then off by the slope change times the step).
    const ocv = p.ocv_V + p.dOcvdSoc_V * (z - this.socBefore);
    const scale = this.resistanceScale;
    const r0 = p.r0_Ohm * scale;
    const r1 = p.r1_Ohm * scale;
    const r2 = p.r2_Ohm * scale;
    const overpotential = r0 * current + r1 * unchecked(x[EkfState.RC1_CURRENT_A]) + r2 * unchecked(x[EkfState.RC2_CURRENT_A]);
    const predicted = ocv + p.hysteresis_V * unchecked(x[EkfState.HYSTERESIS]) - overpotential + unchecked(x[EkfState.VOLTAGE_ERROR_V]);

    const slope = this.ocvSlope(z, temperature_C, p.dOcvdSoc_V);
    const c = this.c;
    unchecked(c[0] = slope);
    unchecked(c[1] = -r1);
    unchecked(c[2] = -r2);
    unchecked(c[3] = p.hysteresis_V);
    unchecked(c[4] = currentKnown ? <f32>0.0 : r0);
    unchecked(c[5] = 1);
    unchecked(c[6] = 0);

    const expectedOverpotential = r0 * current + r1 * this.loadCurrent1_A + r2 * this.loadCurrent2_A;
    const r = this.measurementVariance(expectedOverpotential, slope, this.stepLength_s);
    const innovation = voltage_V - predicted;
    let cpc = this.projectCovariance();
    if (this.monitorInnovation(innovation, cpc + r, slope)) cpc = this.projectCovariance();
    this.innovation_V = innovation;
    this.innovationVariance_V2 = cpc + r;
    const learns = this.learnsCapacity(slope);
    if (learns) this.capacityLearningUpdates++;
    this.applyScalarUpdate(innovation, r, cpc, learns ? Gain.ALL : Gain.ALL_BUT_CAPACITY);
    this.applyRestVoltageBounds(voltage_V, temperature_C, expectedOverpotential);
  }

  /**
   * Whether this voltage update may move the capacity error q: only while the SOC would be known to
   * capacityAnchor_soc if q were known, i.e. the SOC's variance conditioned on q,
   * P_zz - P_zq^2 / P_qq, is below capacityAnchor_soc^2. Then a SOC the voltage corrects is a
   * count that ran from a known SOC with the wrong capacity, and the correction is q's to take.
   * After a cold start on a plateau (SOC known to several percent, offset unknown) q, the SOC and
   * the offset are all but unobservable together and a linearised joint update runs off with them
   * (q reached its clamp, 48 Ah for 24, in the first half hour of a drive); q is then a considered
   * parameter (its gain zero, the Joseph form keeps P exact) until the SOC has been pinned.
   * Nor does q learn where the OCV is steeper than capacitySteepSlope_V: there the voltage pins the
   * SOC so tightly (its variance at the floor) that a few tenths of a percent of model error over
   * the CC-CV taper at the top of charge (overpotential falling from 0.5C to C/20) looks like a
   * count that ran 5-20 % off, and moved q by that much on a new LFP module in the benchmark.
   * Nor while no string current flows (its average inside the noise deadband, see predict): at rest
   * or under the node's own bleed the count grows by a percent an hour while relaxation and the
   * hysteresis move the voltage by millivolts the model does not follow exactly, which read as a
   * capacity 1-11 % off (a balancing NMC pack at rest).
   * These rules are tuned on the harness, not derived: docs/estimation.md gives the numbers.
   */
  private learnsCapacity(slope_V: f32): bool {
    const t = this.tuning;
    if (!t.learnCapacity || !(Mathf.abs(slope_V) < t.capacitySteepSlope_V)) return false;
    if (!this.stringCurrentFlowing) return false;
    const q = EkfState.CAPACITY_ERROR;
    const pzq = unchecked(this.P[q]);
    const anchor = t.capacityAnchor_soc;
    return unchecked(this.P[0]) - pzq * pzq / unchecked(this.P[q * N + q]) < anchor * anchor;
  }

  /**
   * SOC bounds from a rest voltage, applied as an inequality constraint. Near rest the terminal
   * voltage pins the OCV to within the hysteresis (at most M_max either way), the voltage error's
   * and noise's three sigmas and the remaining overpotential, so the SOC lies in
   * [OCV^-1(v + eta - margin), OCV^-1(v + eta + margin)]. Where the OCV is flat this interval spans
   * the plateau and says nothing; where it is steep (an LFP cell's last percent, the knees) it is
   * narrow. The linearised update cannot use that: on a plateau the flat-curve rule discounts
   * the voltage, so a filter that believes 92 % on an LFP plateau does not move when the cell
   * rests at 3.40 V, a voltage only the top percent can show. A SOC outside the interval is moved
   * onto its nearer end by a measurement of SOC = that end with sigma SOC_BOUND_SIGMA (the
   * active-set projection of a constrained Kalman filter, D. Simon, "Kalman filtering with state
   * constraints: a survey of linear and nonlinear algorithms", IET Control Theory Appl. 4 (2010)
   * 1303-1318, with the constraint as a measurement), with a gain on the SOC alone. Inside the
   * interval nothing happens.
   */
  private applyRestVoltageBounds(voltage_V: f32, temperature_C: f32, expectedOverpotential_V: f32): void {
    const overpotential = Mathf.abs(expectedOverpotential_V);
    if (!(overpotential <= REST_OVERPOTENTIAL_V)) return;
    const t = this.tuning;
    // The table's largest M, found once (the parameter set does not change after it is loaded).
    if (!(this.maxHysteresis_V >= 0)) this.maxHysteresis_V = this.model.maxHysteresis_V();
    const margin = this.maxHysteresis_V + <f32>3.0 * (t.voltageErrorSigma_V + t.voltageNoise_V + t.modelError_V) + overpotential;
    const ocv = voltage_V + expectedOverpotential_V;
    const low = this.model.socFromOcv(ocv - margin, temperature_C);
    const high = this.model.socFromOcv(ocv + margin, temperature_C);
    const z = unchecked(this.x[EkfState.SOC]);
    let bound: f32;
    if (z < low) bound = low;
    else if (z > high) bound = high;
    else return;
    if (Mathf.abs(bound - z) > BOUND_RESET_SIGMAS * Mathf.sqrt(unchecked(this.P[0]))) {
      // Outside by more than the filter's own uncertainty allows: its SOC and variance are not to
      // be trusted (a persisted state the module has since left, charge moved while the node was
      // off). Projecting such a prior would keep it near the wrong end; what remains known is
      // that the SOC lies in the interval: its middle, with the variance of a uniform distribution.
      this.resetSoc(<f32>0.5 * (low + high), (high - low) * (high - low) / <f32>12.0);
      this.boundResets++;
      return;
    }
    const c = this.c;
    for (let i = 0; i < N; i++) unchecked(c[i] = 0);
    unchecked(c[EkfState.SOC] = 1);
    const cpc = this.projectCovariance();
    // The SOC alone moves: a violated bound means the SOC is wrong (a cold start on a plateau, a
    // stale persisted state), and through the correlations a jump of several points would
    // otherwise be booked partly to the current offset, which the zero-current calibration and
    // the steep stretches measure far better.
    this.applyScalarUpdate(bound - z, SOC_BOUND_SIGMA * SOC_BOUND_SIGMA, cpc, Gain.SOC_ONLY);
    this.boundCorrections++;
  }

  /**
   * Scalar measurement update for the row in c, with pc = P c^T and cpc = c P c^T already in
   * place (projectCovariance): gain, state, Joseph-form covariance, state clamps and guards.
   * gain (Gain): the Kalman gain on every state, on the SOC alone, or on every state but q.
   */
  private applyScalarUpdate(innovation: f32, r: f32, cpc: f32, gain: i32 = Gain.ALL): void {
    const x = this.x;
    const P = this.P;
    const pc = this.pc;
    const s = cpc + r;
    const k = this.k;
    for (let i = 0; i < N; i++) {
      // A gain held at zero is a suboptimal gain, which the Joseph form below keeps exact: on the
      // SOC alone for corrections whose cause is known to be the SOC, without q while q is a
      // considered parameter.
      const gated = gain == Gain.SOC_ONLY ? i != EkfState.SOC : gain == Gain.ALL_BUT_CAPACITY && i == EkfState.CAPACITY_ERROR;
      unchecked(k[i] = gated ? <f32>0.0 : pc[i] / s);
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
   * dOCV/dSOC for the measurement Jacobian: the chord of the OCV curve over +-sqrt(3) SOC sigmas
   * (a central divided difference, the DD1 filter of M. Norgaard, N. K. Poulsen, O. Ravn, "New
   * developments in state estimation for nonlinear systems", Automatica 36 (2000) 1627-1638;
   * sqrt(3) is their step for a Gaussian prior and the sigma-point spread of Plett's SPKF),
   * limited to the segment holding the SOC and one segment either side. While the SOC is
   * uncertain the filter then sees the average slope of the curve around it rather than the slope
   * of the one segment its estimate sits on: an estimate that strays onto a steep segment next to
   * a plateau (NMC811 near 85 %, the steps of an LFP curve) no longer makes it sure of a SOC it
   * has not seen. Wider ranges are not used: a wide prior on an LFP plateau would reach the
   * steep ends and claim their slope. Once the SOC is known to a fraction of a segment this is
   * the segment's slope.
   */
  private ocvSlope(soc: f32, temperature_C: f32, segmentSlope: f32): f32 {
    const model = this.model;
    const axis = model.socAxis;
    const points = model.socPoints;
    let k = 0;
    while (k + 2 < points && unchecked(axis[k + 1]) <= soc) k++;
    const first = unchecked(axis[k > 0 ? k - 1 : 0]);
    const last = unchecked(axis[k + 2 < points ? k + 2 : points - 1]);
    const half = <f32>1.7320508 * Mathf.sqrt(unchecked(this.P[0]));
    let low = soc - half;
    let high = soc + half;
    if (low < first) low = first;
    if (high > last) high = last;
    if (!(high - low > <f32>1.0e-3)) return segmentSlope;
    return (model.ocv_V(high, temperature_C) - model.ocv_V(low, temperature_C)) / (high - low);
  }

  /**
   * Measurement variance. Three parts:
   *  - white sample noise, sigma_v^2;
   *  - model errors that last tau_m (RC relaxation shapes, interpolation between table points)
   *    and the uncertainty of the model's overpotential R0 i + R1 iR1 + R2 iR2 (a relative
   *    resistance error e, tuning plus the resistance scale's own variance, makes the prediction
   *    wrong by e times the overpotential for as long as the load lasts). Counted at every sample
   *    such an error would be taken tau_m / dt times, so its variance is multiplied by that number:
   *    one independent look per tau_m, whatever the tick rate. Near rest the overpotential
   *    vanishes and the voltage is trusted; under heavy load the filter relies on the charge count;
   *  - where the OCV is flatter than s_flat (an LFP plateau), the whole is multiplied by
   *    g = (s_flat / s)^4: the one-state hysteresis and a 24-point table place a plateau's few
   *    millivolts to a few percent of SOC at best, and the piecewise-linear slope there changes
   *    from segment to segment, so the linearised filter would read features into it that are not
   *    there. What the voltage tells about the SOC (s^2 / variance) then falls as s^6 below s_flat:
   *    across the plateau the filter coulomb-counts with its offset and capacity states, on the
   *    gentler slopes either side (the Sony set's 15-40 % and 72-80 %) it listens in proportion.
   *    g is 1 at s_flat (continuous). The exponent
   *    is tuned on the harness (docs/estimation.md): the earlier 1 + (60 s / dt)((s_flat / s)^2 - 1)
   *    made a 0.13 V stretch worth one look every few hours, and a count with a capacity 20 %
   *    off ran 10 points off before the filter listened.
   */
  measurementVariance(overpotential_V: f32, slope_V: f32, dt_s: f32): f32 {
    const t = this.tuning;
    const scale = this.resistanceScale;
    const relative = t.resistanceError * t.resistanceError + this.resistanceScaleVariance / (scale * scale);
    const looks: f32 = dt_s > 0 && dt_s < t.modelCorrelationTime_s ? t.modelCorrelationTime_s / dt_s : <f32>1.0;
    const variance = t.voltageNoise_V * t.voltageNoise_V + looks * (t.modelError_V * t.modelError_V + relative * overpotential_V * overpotential_V);
    const slope = Mathf.abs(slope_V);
    if (slope >= t.flatSlope_V) return variance;
    const ratio = t.flatSlope_V / slope;
    const squared = ratio * ratio;
    const inflation = squared * squared;
    // Also catches slope == 0 (ratio infinite) and NaN.
    return inflation < MAX_NOISE_INFLATION ? variance * inflation : variance * MAX_NOISE_INFLATION;
  }

  /** PC (into pc) and C P C^T for the measurement row in c. */
  private projectCovariance(): f32 {
    const P = this.P;
    const c = this.c;
    const pc = this.pc;
    let cpc: f32 = 0;
    for (let i = 0; i < N; i++) {
      let sum: f32 = 0;
      for (let j = 0; j < N; j++) sum += unchecked(P[i * N + j]) * unchecked(c[j]);
      unchecked(pc[i] = sum);
      cpc += unchecked(c[i]) * sum;
    }
    return cpc;
  }

  /**
   * Innovation monitor, before the gain is computed (a normalised-innovation consistency test,
   * Y. Bar-Shalom, X. R. Li, T. Kirubarajan, "Estimation with Applications to Tracking and
   * Navigation", Wiley 2001, 5.4): the innovation over its predicted sigma, at this sample and
   * averaged over the model correlation time. Normal model errors keep both small (the predicted
   * variance already counts correlated errors as such). A SOC that is wrong by far more than the filter
   * believes (a wrong persisted state, charge moved while the node was off) shows as one sample
   * beyond innovationJumpGate or an average beyond innovationGate. The SOC variance then grows by
   * the square of the SOC miss the innovation implies, so that this update moves the SOC, the
   * state that can be that wrong, rather than the sensor offsets, which cannot. Returns true when
   * it widened the variance.
   */
  private monitorInnovation(innovation: f32, variance: f32, slope: f32): bool {
    const t = this.tuning;
    const window = t.modelCorrelationTime_s;
    const dt = this.stepLength_s;
    const weight: f32 = dt < window ? dt / window : <f32>1.0;
    const normalised = innovation / Mathf.sqrt(variance);
    const mean = this.innovationMean + weight * (normalised - this.innovationMean);
    this.innovationMean = mean;
    // The variance counts a correlated error tau_m / dt times per sample; over tau_m it is one
    // look, so the mean over tau_m is judged against sqrt(dt / tau_m) of the sample sigma.
    const looks: f32 = dt < window ? window / dt : <f32>1.0;
    if (!(Mathf.abs(mean) * Mathf.sqrt(looks) > t.innovationGate || Mathf.abs(normalised) > t.innovationJumpGate)) return false;
    const miss = innovation / slope;
    unchecked(this.P[0] += miss * miss);
    this.innovationMean = 0;
    this.socResets++;
    return true;
  }


  /**
   * Cold start after a rest (RC currents relaxed): z = OCV^-1(v - d) with h = 0 assumed. The
   * unknown hysteresis (uniform on [-1, 1], variance 1/3) and the voltage error d move the SOC by
   * -(M h + d) / slope: the SOC variance is (M/slope)^2 / 3 + (Pdd + sigma_v^2) / slope^2,
   * correlated with h by -M/slope / 3 and with d by -Pdd / slope. The offsets keep what the filter
   * had learned.
   */
  resetFromOcv(voltage_V: f32, temperature_C: f32): bool {
    if (!this.model.loaded || !(temperature_C >= this.limits.minTemperature_C && temperature_C <= this.limits.maxTemperature_C)) return false;
    const margin = this.limits.voltageMargin_V;
    if (!(voltage_V >= this.model.minVoltage_V - margin && voltage_V <= this.model.maxVoltage_V + margin)) return false;
    const voltageError = unchecked(this.x[EkfState.VOLTAGE_ERROR_V]);
    const voltageErrorVariance = unchecked(this.P[EkfState.VOLTAGE_ERROR_V * N + EkfState.VOLTAGE_ERROR_V]);
    const soc = this.model.socFromOcv(voltage_V - voltageError, temperature_C);
    this.model.evaluate(soc, temperature_C, this.parameters);
    const p = this.parameters;
    const slope = Mathf.max(Mathf.abs(p.dOcvdSoc_V), <f32>1.0e-3);
    const socPerHysteresis = -p.hysteresis_V / slope;
    const noise = this.tuning.voltageNoise_V;
    let socVariance = socPerHysteresis * socPerHysteresis * HYSTERESIS_VARIANCE_UNKNOWN + (voltageErrorVariance + noise * noise) / (slope * slope);
    let hysteresisCorrelation = socPerHysteresis * HYSTERESIS_VARIANCE_UNKNOWN;
    let voltageCorrelation = -voltageErrorVariance / slope;
    if (socVariance > SOC_VARIANCE_UNKNOWN) {
      // Flat curve: the rest voltage says little. Scale the SOC row to "unknown", keeping the shape.
      const shrink = Mathf.sqrt(SOC_VARIANCE_UNKNOWN / socVariance);
      socVariance = SOC_VARIANCE_UNKNOWN;
      hysteresisCorrelation *= shrink;
      voltageCorrelation *= shrink;
    }
    const bias = unchecked(this.x[EkfState.CURRENT_BIAS_A]);
    const biasVariance = unchecked(this.P[EkfState.CURRENT_BIAS_A * N + EkfState.CURRENT_BIAS_A]);
    this.initialise(soc, socVariance, 0, HYSTERESIS_VARIANCE_UNKNOWN, bias, biasVariance);
    unchecked(this.x[EkfState.VOLTAGE_ERROR_V] = voltageError);
    unchecked(this.P[EkfState.VOLTAGE_ERROR_V * N + EkfState.VOLTAGE_ERROR_V] = voltageErrorVariance);
    this.setCovariance(EkfState.SOC, EkfState.HYSTERESIS, hysteresisCorrelation);
    this.setCovariance(EkfState.SOC, EkfState.VOLTAGE_ERROR_V, voltageCorrelation);
    this.guardCovariance();
    return true;
  }

  /**
   * Warm start from persisted values after offTime_s without power (NaN or negative: unknown).
   * SOC drops by the expected self-discharge and its variance grows by its square
   * (powerOffSocLoss); the offset variance grows by its random walk over the off time, up to its
   * prior; RC currents restart at zero (relaxed); the voltage error, if given (record version 2),
   * keeps its value with its variance grown by its random walk over the off time, else restarts from
   * its prior.
   */
  restore(soc: f32, socVariance: f32, hysteresis: f32, bias_A: f32, biasVariance_A2: f32, offTime_s: f32,
    voltageError_V: f32 = 0, voltageErrorVariance_V2: f32 = NaN): void {
    const loss = powerOffSocLoss(this.model, offTime_s);
    const t = this.tuning;
    const validSoc: f32 = soc >= 0 && soc <= 1 ? soc : <f32>0.5;
    let variance: f32 = socVariance >= 0 && socVariance < Infinity ? socVariance : SOC_VARIANCE_UNKNOWN;
    variance += powerOffSocVariance(this.model, offTime_s);
    const validHysteresis: f32 = hysteresis >= -1 && hysteresis <= 1 ? hysteresis : <f32>0.0;
    const biasPrior = t.initialBiasSigma_A * t.initialBiasSigma_A;
    const validBias: f32 = Mathf.abs(bias_A) <= t.biasLimit_A ? bias_A : <f32>0.0;
    let biasVariance: f32 = biasVariance_A2 >= 0 && biasVariance_A2 < Infinity ? biasVariance_A2 : biasPrior;
    biasVariance += offTime_s >= 0 ? t.biasRandomWalk_A_per_sqrt_s * t.biasRandomWalk_A_per_sqrt_s * offTime_s : biasPrior;
    this.initialise(validSoc - loss, variance, validHysteresis, HYSTERESIS_VARIANCE_RESTORED, validBias, biasVariance);
    // The slow voltage error, when persisted, with its drift over the off time.
    if (voltageErrorVariance_V2 >= 0 && voltageErrorVariance_V2 < Infinity && Mathf.abs(voltageError_V) < Infinity) {
      unchecked(this.x[EkfState.VOLTAGE_ERROR_V] = voltageError_V);
      unchecked(this.P[EkfState.VOLTAGE_ERROR_V * N + EkfState.VOLTAGE_ERROR_V] = voltageErrorVariance_V2);
      this.driftVoltageError(offTime_s);
    }
    this.clampState();
    this.guardCovariance();
  }

  /**
   * Grows the slow voltage error's variance by its random walk over offTime_s without power
   * (channel temperature, ageing), up to its prior; an unknown off time (NaN or negative) sets it
   * to the prior.
   */
  driftVoltageError(offTime_s: f32): void {
    const t = this.tuning;
    const walk = t.voltageErrorRandomWalk_V_per_sqrt_s;
    const prior = t.voltageErrorSigma_V * t.voltageErrorSigma_V;
    const index = EkfState.VOLTAGE_ERROR_V * N + EkfState.VOLTAGE_ERROR_V;
    const grown = offTime_s >= 0 ? unchecked(this.P[index]) + walk * walk * offTime_s : prior;
    unchecked(this.P[index] = grown < prior ? grown : prior);
  }

  /**
   * Replaces the SOC and its variance, dropping its correlations with the other states (which
   * described a SOC that is no longer believed).
   */
  private resetSoc(soc: f32, variance: f32): void {
    const P = this.P;
    for (let j = 1; j < N; j++) {
      unchecked(P[j] = 0);
      unchecked(P[j * N] = 0);
    }
    unchecked(this.x[EkfState.SOC] = soc);
    unchecked(P[0] = variance);
    this.innovationMean = 0;
    this.clampState();
    this.guardCovariance();
  }

  /** State element (EkfState index); NaN outside 0..6. */
  state(index: i32): f32 {
    if (index < 0 || index >= N) return NaN;
    return unchecked(this.x[index]);
  }

  /** Covariance element; NaN outside 0..6. */
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
    // The capacity error belongs to the module, not to this start: it keeps its value and variance.
    const q = EkfState.CAPACITY_ERROR;
    const capacityVariance = unchecked(P[q * N + q]);
    for (let i = 0; i < N * N; i++) unchecked(P[i] = 0);
    unchecked(P[q * N + q] = capacityVariance);
    const rc = this.tuning.initialRcCurrentSigma_A;
    const voltageError = this.tuning.voltageErrorSigma_V;
    unchecked(x[EkfState.SOC] = soc);
    unchecked(x[EkfState.RC1_CURRENT_A] = 0);
    unchecked(x[EkfState.RC2_CURRENT_A] = 0);
    unchecked(x[EkfState.HYSTERESIS] = hysteresis);
    unchecked(x[EkfState.CURRENT_BIAS_A] = bias_A);
    unchecked(x[EkfState.VOLTAGE_ERROR_V] = 0);
    unchecked(P[0] = socVariance);
    unchecked(P[1 * N + 1] = rc * rc);
    unchecked(P[2 * N + 2] = rc * rc);
    unchecked(P[3 * N + 3] = hysteresisVariance);
    unchecked(P[4 * N + 4] = biasVariance_A2);
    unchecked(P[5 * N + 5] = voltageError * voltageError);
    this.innovationMean = 0;
    this.loadCurrent1_A = 0;
    this.loadCurrent2_A = 0;
  }

  /**
   * SOC in [0, 1] and hysteresis in [-1, 1], as in Plett's implementation; the offsets within
   * what the sensors can physically have (biasLimit_A; three prior sigmas of the voltage error).
   */
  private clampState(): void {
    const x = this.x;
    const z = unchecked(x[EkfState.SOC]);
    unchecked(x[EkfState.SOC] = z < 0 ? 0 : z > 1 ? 1 : z);
    const h = unchecked(x[EkfState.HYSTERESIS]);
    unchecked(x[EkfState.HYSTERESIS] = h < -1 ? -1 : h > 1 ? 1 : h);
    const biasLimit = this.tuning.biasLimit_A;
    const bias = unchecked(x[EkfState.CURRENT_BIAS_A]);
    unchecked(x[EkfState.CURRENT_BIAS_A] = bias < -biasLimit ? -biasLimit : bias > biasLimit ? biasLimit : bias);
    const voltageLimit = <f32>3.0 * this.tuning.voltageErrorSigma_V;
    const voltageError = unchecked(x[EkfState.VOLTAGE_ERROR_V]);
    unchecked(x[EkfState.VOLTAGE_ERROR_V] = voltageError < -voltageLimit ? -voltageLimit : voltageError > voltageLimit ? voltageLimit : voltageError);
    const capacityError = unchecked(x[EkfState.CAPACITY_ERROR]);
    unchecked(x[EkfState.CAPACITY_ERROR] = capacityError < CAPACITY_ERROR_MIN ? CAPACITY_ERROR_MIN : capacityError > CAPACITY_ERROR_MAX ? CAPACITY_ERROR_MAX : capacityError);
  }

  /**
   * Floors (add to the diagonal), ceilings (scale a state's row and column: a congruence, so a
   * positive semi-definite P stays so) and a clip of every correlation to |rho| <= 0.9999.
   */
  private guardCovariance(): void {
    const P = this.P;
    const t = this.tuning;
    const maxCurrent = this.limits.maxCurrent_A;
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
        ceiling = t.initialBiasSigma_A * t.initialBiasSigma_A;
      } else if (i == EkfState.CAPACITY_ERROR) {
        floor = CAPACITY_VARIANCE_FLOOR;
        ceiling = CAPACITY_VARIANCE_CEILING;
      } else if (i == EkfState.VOLTAGE_ERROR_V) {
        floor = VOLTAGE_ERROR_VARIANCE_FLOOR_V2;
        ceiling = t.voltageErrorSigma_V * t.voltageErrorSigma_V;
      } else {
        floor = RC_VARIANCE_FLOOR_A2;
        ceiling = maxCurrent * maxCurrent;
      }
      if (ceiling < floor) ceiling = floor;
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
