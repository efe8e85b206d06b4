// The interface every SOC strategy implements (foxBMS keeps counting, lookup-table and none side
// by side behind one interface; Strata does the same with the EKF and coulomb counting), and the
// input check they share. An input that fails the check is flagged and the whole step is skipped:
// the estimator's state and covariance are left exactly as they were.
import { CellModel } from "../../cell/model";

/** Bits returned by SocEstimator.step: 0 means the step was taken. */
export namespace SocInputFlag {
  export const CURRENT_INVALID: i32 = 0x01;
  export const VOLTAGE_INVALID: i32 = 0x02;
  export const TEMPERATURE_INVALID: i32 = 0x04;
  export const TIME_STEP_INVALID: i32 = 0x08;
  /** No cell parameter set is loaded. */
  export const NO_MODEL: i32 = 0x10;
}

/** Plausibility limits on the inputs; outside them a reading is a sensing fault, not a cell state. */
export class SocInputLimits {
  /** Largest module current magnitude accepted, A (set it from the shunt's full scale). */
  maxCurrent_A: f32 = 1000;
  /**
   * Accepted terminal voltage: [minVoltage_V - margin, maxVoltage_V + margin] of the cell model.
   * 0.5 V is a design margin: a cell under a working BMS stays inside its datasheet window plus
   * its IR drop; a reading further out is a broken sense line or ADC fault.
   */
  voltageMargin_V: f32 = 0.5;
  /** Accepted temperature, degC: wider than any Li-ion datasheet's operating range (typically -30..60); beyond it the reading is a sensor fault. */
  minTemperature_C: f32 = -40;
  maxTemperature_C: f32 = 85;
  /** Longest step accepted, s; a longer gap means ticks were lost and the step is not trustworthy. */
  maxStep_s: f32 = 10;
}

/** Flags for the inputs of one step (0 = all usable). NaN and infinities fail every range test. */
export function checkSocInputs(limits: SocInputLimits, model: CellModel, current_A: f32, voltage_V: f32, temperature_C: f32, dt_s: f32): i32 {
  let flags = 0;
  if (!model.loaded) flags |= SocInputFlag.NO_MODEL;
  if (!(Mathf.abs(current_A) <= limits.maxCurrent_A)) flags |= SocInputFlag.CURRENT_INVALID;
  if (!(voltage_V >= model.minVoltage_V - limits.voltageMargin_V && voltage_V <= model.maxVoltage_V + limits.voltageMargin_V)) {
    flags |= SocInputFlag.VOLTAGE_INVALID;
  }
  if (!(temperature_C >= limits.minTemperature_C && temperature_C <= limits.maxTemperature_C)) flags |= SocInputFlag.TEMPERATURE_INVALID;
  if (!(dt_s > 0 && dt_s <= limits.maxStep_s)) flags |= SocInputFlag.TIME_STEP_INVALID;
  return flags;
}

/**
 * A state-of-charge estimator for one module. Units: current in A (positive = discharge),
 * voltage in V (module terminal voltage), temperature in degC, time in s; SOC as a fraction 0..1.
 */
export abstract class SocEstimator {
  /** Flags of the last step (0 when it was taken). */
  lastInputFlags: i32 = 0;
  /** Steps skipped because of invalid inputs since construction. */
  rejectedSteps: i32 = 0;

  /**
   * Advances by dt_s with the current measured over that interval and the voltage at its end.
   * Returns SocInputFlag bits; 0 = taken. openStringShunt_A, when not NaN, says the string was open:
   * current_A is then the module's own known current and openStringShunt_A the shunt channel's
   * reading of zero (estimators without an offset state ignore it). ownCurrent_A is the part of
   * current_A the module's node draws itself and knows exactly (estimators may ignore it).
   */
  abstract step(current_A: f32, voltage_V: f32, temperature_C: f32, dt_s: f32, openStringShunt_A: f32 = NaN, ownCurrent_A: f32 = 0): i32;
  /** Estimated SOC, 0..1. */
  abstract get soc(): f32;
  /** Variance of soc (what a warm start persists). */
  abstract get socVariance(): f32;
  /** 1-sigma uncertainty of soc. */
  abstract get socSigma(): f32;
  /** Cold start after a rest: SOC from the rest voltage through the inverse OCV. Returns false (state unchanged) on invalid inputs. */
  abstract resetFromOcv(voltage_V: f32, temperature_C: f32): bool;
  /**
   * Warm start from persisted state after offTime_s without power (NaN or negative: unknown).
   * Estimators without a hysteresis or bias state ignore those arguments.
   */
  abstract restore(soc: f32, socVariance: f32, hysteresis: f32, bias_A: f32, biasVariance_A2: f32, offTime_s: f32,
    voltageError_V: f32 = 0, voltageErrorVariance_V2: f32 = NaN): void;
}

/** Seconds per day, for self-discharge rates given per day. */
export const SECONDS_PER_DAY: f32 = 86400;
/** Variance of a uniform distribution on [0, 1]: "SOC unknown". */
export const SOC_VARIANCE_UNKNOWN: f32 = <f32>1.0 / <f32>12.0;

/**
 * Power-off rule. During offTime_s without power the module self-discharges by the model's rate
 * (given at its reference temperature); the storage temperature is unknown and Arrhenius factors
 * of about 2 per 10-15 K are typical, so the loss is applied as the expected value with a 1-sigma
 * uncertainty equal to the loss itself. An unknown off time (NaN or negative) means "SOC unknown".
 */
export function powerOffSocLoss(model: CellModel, offTime_s: f32): f32 {
  if (!(offTime_s >= 0)) return 0;
  return model.selfDischarge_per_day * offTime_s / SECONDS_PER_DAY;
}

/** Variance to add to the SOC variance for a power-off of offTime_s (see powerOffSocLoss). */
export function powerOffSocVariance(model: CellModel, offTime_s: f32): f32 {
  if (!(offTime_s >= 0)) return SOC_VARIANCE_UNKNOWN;
  const loss = powerOffSocLoss(model, offTime_s);
  return loss * loss;
}
