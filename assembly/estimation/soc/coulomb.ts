// Baseline SOC strategy: coulomb counting, re-anchored to the OCV curve after a rest. This is
// what most open-source BMSs do (foxBMS 2 `soc/counting`, diyBMS), and it is here so a benchmark
// can run it beside the EKF on the same data (same SocEstimator interface).
//
//   z+ = z - eta dt / Q i                  eta = coulombic efficiency on charge, 1 on discharge
//   after |i| < restCRate * Q for restDuration_s:  z = OCV^-1(v, T)
//
// It has no model of the sensor offset: an offset b moves the SOC by b t / Q, which is why the
// reported uncertainty grows linearly with the time since the last OCV correction.
import { CellModel, EscParameters } from "../../cell/model";
import {
  SocEstimator, SocInputLimits, checkSocInputs, powerOffSocLoss, powerOffSocVariance, SOC_VARIANCE_UNKNOWN,
} from "./estimator";

export class CoulombTuning {
  /** White noise of one current sample, A (1 sigma). */
  currentNoise_A: f32 = 0.05;
  /** Relative gain error of the current sensor (1 sigma); 0.5 % shunt + amplifier tolerance. */
  currentGainError: f32 = 0.005;
  /** Uncompensated offset of the current sensor assumed for the error bound, A (1 sigma). */
  offsetSigma_A: f32 = 0.1;
  /** Voltage noise plus model error, V (1 sigma), for the uncertainty of an OCV correction. */
  voltageNoise_V: f32 = 0.005;
  /** |current| below this C-rate (A per Ah of module capacity) counts as rest; C/50. */
  restCRate: f32 = 0.02;
  /** Rest needed before the OCV is trusted, s. 30 min: the slow diffusion branch of NMC and LFP cells (tau 1-10 min) has mostly relaxed. */
  restDuration_s: f32 = 1800;
}

export class CoulombCounter extends SocEstimator {
  readonly model: CellModel;
  readonly tuning: CoulombTuning;
  readonly limits: SocInputLimits;
  private socValue: f32 = 0.5;
  /** Variance at the last anchor (OCV correction, reset or restore). */
  private anchorVariance: f32 = SOC_VARIANCE_UNKNOWN;
  /** Variance accumulated from white current noise and gain error since the anchor. */
  private countedVariance: f32 = 0;
  /** Seconds of counting since the anchor (the offset error grows with it). */
  private countedTime_s: f32 = 0;
  private restTime_s: f32 = 0;
  /** OCV corrections applied since construction. */
  corrections: i32 = 0;
  private readonly parameters: EscParameters = new EscParameters();

  constructor(model: CellModel, tuning: CoulombTuning = new CoulombTuning(), limits: SocInputLimits = new SocInputLimits()) {
    super();
    this.model = model;
    this.tuning = tuning;
    this.limits = limits;
  }

  get soc(): f32 {
    return this.socValue;
  }

  get socVariance(): f32 {
    const capacity_As = this.model.moduleCapacity_Ah() * <f32>3600;
    const offset = this.tuning.offsetSigma_A * this.countedTime_s / capacity_As;
    const variance = this.anchorVariance + this.countedVariance + offset * offset;
    return variance < SOC_VARIANCE_UNKNOWN ? variance : SOC_VARIANCE_UNKNOWN;
  }

  get socSigma(): f32 {
    return Mathf.sqrt(this.socVariance);
  }

  step(current_A: f32, voltage_V: f32, temperature_C: f32, dt_s: f32, openStringShunt_A: f32 = NaN, ownCurrent_A: f32 = 0): i32 {
    const flags = checkSocInputs(this.limits, this.model, current_A, voltage_V, temperature_C, dt_s);
    this.lastInputFlags = flags;
    if (flags != 0) {
      this.rejectedSteps++;
      return flags;
    }
    const t = this.tuning;
    const capacity_Ah = this.model.moduleCapacity_Ah();
    const eta: f32 = current_A < 0 ? this.model.coulombicEfficiency : <f32>1.0;
    const socPerAmp = eta * dt_s / (capacity_Ah * <f32>3600);
    const z = this.socValue - socPerAmp * current_A;
    this.socValue = z < 0 ? 0 : z > 1 ? 1 : z;
    const gainNoise = t.currentGainError * current_A;
    this.countedVariance += socPerAmp * socPerAmp * (t.currentNoise_A * t.currentNoise_A + gainNoise * gainNoise);
    this.countedTime_s += dt_s;

    if (Mathf.abs(current_A) < t.restCRate * capacity_Ah) {
      const before = this.restTime_s;
      this.restTime_s += dt_s;
      // Correct once per rest, when it has lasted long enough.
      if (before < t.restDuration_s && this.restTime_s >= t.restDuration_s) {
        this.anchorToOcv(voltage_V, temperature_C);
        this.corrections++;
      }
    } else {
      this.restTime_s = 0;
    }
    return 0;
  }

  /** SOC from the rest voltage; the hysteresis is not modelled, so +-M is part of the uncertainty. */
  resetFromOcv(voltage_V: f32, temperature_C: f32): bool {
    if (!this.model.loaded || !(temperature_C >= this.limits.minTemperature_C && temperature_C <= this.limits.maxTemperature_C)) return false;
    const margin = this.limits.voltageMargin_V;
    if (!(voltage_V >= this.model.minVoltage_V - margin && voltage_V <= this.model.maxVoltage_V + margin)) return false;
    this.anchorToOcv(voltage_V, temperature_C);
    this.restTime_s = 0;
    return true;
  }

  restore(soc: f32, socVariance: f32, hysteresis: f32, bias_A: f32, biasVariance_A2: f32, offTime_s: f32, voltageError_V: f32 = 0, voltageErrorVariance_V2: f32 = NaN): void {
    const validSoc: f32 = soc >= 0 && soc <= 1 ? soc : <f32>0.5;
    const z = validSoc - powerOffSocLoss(this.model, offTime_s);
    this.socValue = z < 0 ? 0 : z;
    const variance: f32 = socVariance >= 0 && socVariance < Infinity ? socVariance : SOC_VARIANCE_UNKNOWN;
    this.setAnchor(variance + powerOffSocVariance(this.model, offTime_s));
    this.restTime_s = 0;
  }

  private anchorToOcv(voltage_V: f32, temperature_C: f32): void {
    const soc = this.model.socFromOcv(voltage_V, temperature_C);
    this.model.evaluate(soc, temperature_C, this.parameters);
    const p = this.parameters;
    const slope = Mathf.max(Mathf.abs(p.dOcvdSoc_V), <f32>1.0e-3);
    // Uniform hysteresis on [-M, M] (variance M^2/3) plus voltage noise, through the slope.
    const voltageVariance = p.hysteresis_V * p.hysteresis_V / <f32>3.0 + this.tuning.voltageNoise_V * this.tuning.voltageNoise_V;
    this.socValue = soc;
    this.setAnchor(voltageVariance / (slope * slope));
  }

  private setAnchor(variance: f32): void {
    this.anchorVariance = variance < SOC_VARIANCE_UNKNOWN ? variance : SOC_VARIANCE_UNKNOWN;
    this.countedVariance = 0;
    this.countedTime_s = 0;
  }
}
