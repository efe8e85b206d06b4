// Ohmic-resistance tracking: recursive least squares with exponential forgetting on the voltage
// step across a current step (L. Ljung, T. Soderstrom, "Theory and Practice of Recursive
// Identification", MIT Press 1983; applied to R0 in G. L. Plett, Battery Management Systems
// vol. 2, Artech House 2015, the chapter on battery health estimation).
//
// One unknown, the growth ratio theta = R_actual / R_model, shared by R0, R1 and R2 (they age
// together to first order; docs/estimation.md). Across one tick, with the current held at i_k
// over the tick and steady before it, the ESC model gives
//   dV = v_k - v_{k-1} = -theta * R_inst * dI,   R_inst = R0 + R1 (1 - a1) + R2 (1 - a2),
// aj = exp(-dt / tau_j), all module values from the cell model at (SOC, T). The OCV change within
// one tick (slope * dt * i / Q) is neglected. Updates happen only when |dI| is large enough to
// excite the model (excitation gating), so the estimate does not wander during steady loads.
//
// The estimate is a ratio, so it is independent of temperature and SOC: "resistance / initial"
// in the EU Battery Regulation 2023/1542 Annex VII sense is theta itself.
import { CellModel, EscParameters } from "../../cell/model";
import { expNonPositive } from "../exp";

export class ResistanceEstimator {
  readonly model: CellModel;
  /** Forgetting factor per update: memory of about 1 / (1 - lambda) current steps. */
  readonly forgetting: f32;
  /** Smallest |dI| that triggers an update, as a C-rate of the module capacity (0.2 = C/5). */
  readonly minStepCRate: f32;
  /** 1-sigma noise of one voltage difference, V (two samples of voltage noise, plus the unmodelled OCV change). */
  readonly deltaVoltageNoise_V: f32;
  /** Resistance relative to the cell model (1 = as provisioned). */
  ratio: f32 = 1;
  /** Variance of ratio. */
  ratioVariance: f32;
  /** Accepted updates since construction or restore. */
  updates: i32 = 0;
  private readonly priorVariance: f32;
  private previousCurrent_A: f32 = NaN;
  private previousVoltage_V: f32 = NaN;
  private readonly parameters: EscParameters = new EscParameters();

  constructor(model: CellModel, forgetting: f32 = 0.995, minStepCRate: f32 = 0.2, deltaVoltageNoise_V: f32 = 0.007, priorSigma: f32 = 0.5) {
    this.model = model;
    this.forgetting = forgetting;
    this.minStepCRate = minStepCRate;
    this.deltaVoltageNoise_V = deltaVoltageNoise_V;
    this.priorVariance = priorSigma * priorSigma;
    this.ratioVariance = this.priorVariance;
  }

  get ratioSigma(): f32 {
    return Mathf.sqrt(this.ratioVariance);
  }

  /** Estimated module R0 at (soc, T), Ohm. */
  r0Module_Ohm(soc: f32, temperature_C: f32): f32 {
    return this.ratio * this.model.r0Module_Ohm(soc, temperature_C);
  }

  /**
   * One sample: current over the last dt_s and the voltage at its end, with the SOC (from the SOC
   * estimator) and temperature at which to read the model. Returns true when the estimate was
   * updated. Invalid inputs are skipped and break the sample chain (the next sample only primes it).
   */
  step(current_A: f32, voltage_V: f32, soc: f32, temperature_C: f32, dt_s: f32): bool {
    const valid = this.model.loaded && Mathf.abs(current_A) < Infinity && voltage_V > 0 && voltage_V < Infinity
      && soc >= 0 && soc <= 1 && Mathf.abs(temperature_C) < Infinity && dt_s > 0 && dt_s < Infinity;
    if (!valid) {
      this.previousCurrent_A = NaN;
      this.previousVoltage_V = NaN;
      return false;
    }
    const deltaCurrent = current_A - this.previousCurrent_A;
    const deltaVoltage = voltage_V - this.previousVoltage_V;
    this.previousCurrent_A = current_A;
    this.previousVoltage_V = voltage_V;
    // NaN on the first sample after a break: fails the comparison.
    if (!(Mathf.abs(deltaCurrent) >= this.minStepCRate * this.model.moduleCapacity_Ah())) return false;

    this.model.evaluate(soc, temperature_C, this.parameters);
    const p = this.parameters;
    const instantaneous_Ohm = p.r0_Ohm + p.r1_Ohm * (<f32>1.0 - expNonPositive(-dt_s / p.tau1_s))
      + p.r2_Ohm * (<f32>1.0 - expNonPositive(-dt_s / p.tau2_s));
    const regressor = -deltaCurrent * instantaneous_Ohm;
    // Weighted RLS, scalar: P^-1 <- lambda P^-1 + phi^2 / sigma^2, so P stays the variance of theta.
    const noiseVariance = this.deltaVoltageNoise_V * this.deltaVoltageNoise_V;
    const lambda = this.forgetting;
    const P = this.ratioVariance;
    const gain = P * regressor / (lambda * noiseVariance + regressor * regressor * P);
    this.ratio += gain * (deltaVoltage - regressor * this.ratio);
    const variance = (P - gain * regressor * P) / lambda;
    this.ratioVariance = variance < this.priorVariance ? variance : this.priorVariance;
    this.updates++;
    return true;
  }

  /** Warm start from a persisted estimate; an invalid one falls back to the prior. */
  restore(ratio: f32, ratioVariance: f32): void {
    const ok = ratio > 0 && ratio < Infinity && ratioVariance > 0 && ratioVariance < Infinity;
    this.ratio = ok ? ratio : <f32>1.0;
    this.ratioVariance = ok ? (ratioVariance < this.priorVariance ? ratioVariance : this.priorVariance) : this.priorVariance;
    this.updates = 0;
    this.previousCurrent_A = NaN;
    this.previousVoltage_V = NaN;
  }
}
