// State of power: the largest constant charge and discharge current the pack can carry for the
// next 2, 10 and 30 s without any module leaving its voltage window, with the SOC, temperature and
// current ratings as further caps. Model-based in the manner of the HPPC and dynamic-model methods
// of G. L. Plett, "High-performance battery-pack power estimation using a dynamic cell model",
// IEEE Trans. Veh. Technol. 53(5) 2004, and Battery Management Systems vol. 2 (power-limit
// estimation chapter). For module i with the R0 + two-RC model, a constant discharge current I
// held for t seconds from rest gives
//   v(t) = OCV(z(t)) - I * (R0 + R1 (1 - e^(-t/tau1)) + R2 (1 - e^(-t/tau2)))
// with z(t) = z - I t / (3600 Q). Linearising OCV over the horizon, OCV(z(t)) = OCV(z) - I * R_z(t)
// with R_z(t) = dOCV/dz * t / (3600 Q), so v(t) >= V_min holds for
//   I <= (OCV(z) - V_min) / R(t),   R(t) = s_i k(T_i) (R0 + R1 a1(t) + R2 a2(t)) + R_z(t),
// and charge symmetrically with (V_max - OCV(z)). Plett's SOC limits cap both: the module may not
// pass SOC 0 or 1 within t (I <= z Q 3600 / t, I <= (1 - z) Q 3600 / t). s_i is the module's
// resistance growth, k(T) an Arrhenius factor. The pack limit is the worst module's, then capped
// by the temperature derating of the current rating (SafetyLimits).
// Assumes the RC branches start relaxed; after a long pulse the true limit is lower, which the
// protection's WARNING and DERATE levels on voltage catch.
import { ModuleStates, clampSoc } from "./modules";
import { OcvCurve } from "./ocv";
import { LevelThresholds, SafetyLimits } from "../protection/limits";

/** The three horizons of the vehicle interface (BMS_DischargeLimits/BMS_ChargeLimits in the DBC). */
export const SOP_HORIZON_COUNT: i32 = 3;
export const SOP_HORIZON_2S: i32 = 0;
export const SOP_HORIZON_10S: i32 = 1;
export const SOP_HORIZON_30S: i32 = 2;
const HORIZON_s: StaticArray<f32> = [2.0, 10.0, 30.0];

/** Seconds per hour. */
const s_PER_h: f32 = 3600.0;
/** Molar gas constant, J/(mol K) (CODATA 2018, exact). */
const GAS_CONSTANT_J_per_molK: f32 = 8.314462618;
/** 0 degC in K (ISO 80000-5). */
const ZERO_CELSIUS_K: f32 = 273.15;

/** Equivalent-circuit parameters of one module (parallel cells: cell resistances / parallel count). */
export class ModuleModel {
  r0_Ohm: f32 = NaN;
  r1_Ohm: f32 = 0.0;
  tau1_s: f32 = 1.0;
  r2_Ohm: f32 = 0.0;
  tau2_s: f32 = 1.0;
  /** Temperature at which the resistances hold. */
  referenceTemperature_C: f32 = 25.0;
  /** Arrhenius activation energy of the resistances, 0 = independent of temperature. */
  activationEnergy_J_per_mol: f32 = 0.0;
}

/**
 * Current derating with temperature, foxBMS SOX style (a "cutoff" temperature where derating
 * starts and a "limit" where the current reaches zero, linear in between): full current inside the
 * WARNING level (maximum operating limit), zero one clear hysteresis inside the OPEN level (maximum
 * safety limit), linear between, on both the hot and the cold side. NaN (no temperature) gives 0.
 * The margin keeps a reading that flickers by a step of the bus encoding (0.5 degC) at the limit
 * from granting a current at one sample that the protection finds beyond OPEN at the next (an LFP
 * pack at 0 degC, its charge limit, would otherwise open on a regenerative brake).
 */
export function temperatureDerating(temperature_C: f32, hot: LevelThresholds, cold: LevelThresholds): f32 {
  if (!isFinite(temperature_C)) return 0.0;
  let factor: f32 = 1.0;
  const hotZero = hot.open - hot.hysteresis;
  if (temperature_C >= hotZero) return 0.0;
  if (temperature_C > hot.warning) factor = (hotZero - temperature_C) / (hotZero - hot.warning);
  const coldZero = cold.open + cold.hysteresis;
  if (temperature_C <= coldZero) return 0.0;
  if (temperature_C < cold.warning) {
    const coldFactor = (temperature_C - coldZero) / (cold.warning - coldZero);
    if (coldFactor < factor) factor = coldFactor;
  }
  return factor;
}

export class StateOfPower {
  readonly ocv: OcvCurve;
  readonly model: ModuleModel;
  readonly limits: SafetyLimits;
  /** Module voltage window the limits keep to: the WARNING (maximum operating) levels. */
  readonly maxVoltage_V: f32;
  readonly minVoltage_V: f32;
  /** 1 - e^(-t/tau) per horizon, computed once. */
  private readonly rise1: StaticArray<f32> = new StaticArray<f32>(SOP_HORIZON_COUNT);
  private readonly rise2: StaticArray<f32> = new StaticArray<f32>(SOP_HORIZON_COUNT);
  /** Positive magnitudes, A, per horizon. */
  readonly maxDischarge_A: StaticArray<f32> = new StaticArray<f32>(SOP_HORIZON_COUNT);
  readonly maxCharge_A: StaticArray<f32> = new StaticArray<f32>(SOP_HORIZON_COUNT);
  /** The module that set the 2 s limit (diagnostics), -1 when the rating or temperature did. */
  limitingDischargeModule: i32 = -1;
  limitingChargeModule: i32 = -1;
  /** Temperature factors applied to the current ratings at the last update. */
  dischargeDerating: f32 = 0.0;
  chargeDerating: f32 = 0.0;

  constructor(ocv: OcvCurve, model: ModuleModel, limits: SafetyLimits) {
    this.ocv = ocv;
    this.model = model;
    this.limits = limits;
    this.maxVoltage_V = limits.moduleVoltageMax_mV.warning / <f32>1000.0;
    this.minVoltage_V = limits.moduleVoltageMin_mV.warning / <f32>1000.0;
    for (let h = 0; h < SOP_HORIZON_COUNT; h++) {
      const t = unchecked(HORIZON_s[h]);
      unchecked(this.rise1[h] = <f32>1.0 - Mathf.exp(-t / model.tau1_s));
      unchecked(this.rise2[h] = <f32>1.0 - Mathf.exp(-t / model.tau2_s));
    }
  }

  /** Resistance factor at a temperature, exp(Ea/R (1/T - 1/Tref)): > 1 when colder than the reference. */
  resistanceFactor(temperature_C: f32): f32 {
    const m = this.model;
    if (m.activationEnergy_J_per_mol == 0 || !isFinite(temperature_C)) return 1.0;
    const inverse = <f32>1.0 / (temperature_C + ZERO_CELSIUS_K) - <f32>1.0 / (m.referenceTemperature_C + ZERO_CELSIUS_K);
    return Mathf.exp(m.activationEnergy_J_per_mol / GAS_CONSTANT_J_per_molK * inverse);
  }

  /** Recomputes every limit from the modules; no allocation. */
  update(modules: ModuleStates): void {
    const limits = this.limits;
    let minT: f32 = Infinity;
    let maxT: f32 = -Infinity;
    for (let h = 0; h < SOP_HORIZON_COUNT; h++) {
      unchecked(this.maxDischarge_A[h] = Infinity);
      unchecked(this.maxCharge_A[h] = Infinity);
    }
    this.limitingDischargeModule = -1;
    this.limitingChargeModule = -1;
    let used = 0;
    for (let i = 0; i < modules.count; i++) {
      if (!modules.usable(i)) continue;
      used++;
      const temperature = unchecked(modules.temperature_C[i]);
      if (temperature < minT) minT = temperature;
      if (temperature > maxT) maxT = temperature;
      this.moduleLimits(modules, i);
    }
    // Temperature derating of the current ratings, by the coldest and the hottest module.
    let dischargeFactor: f32 = 0.0;
    let chargeFactor: f32 = 0.0;
    if (used > 0 && minT <= maxT) {
      dischargeFactor = Mathf.min(
        temperatureDerating(minT, limits.temperatureMaxDischarge_C, limits.temperatureMinDischarge_C),
        temperatureDerating(maxT, limits.temperatureMaxDischarge_C, limits.temperatureMinDischarge_C));
      chargeFactor = Mathf.min(
        temperatureDerating(minT, limits.temperatureMaxCharge_C, limits.temperatureMinCharge_C),
        temperatureDerating(maxT, limits.temperatureMaxCharge_C, limits.temperatureMinCharge_C));
    }
    this.dischargeDerating = dischargeFactor;
    this.chargeDerating = chargeFactor;
    const dischargeRating = dischargeFactor * limits.currentMaxDischarge_A.warning;
    const chargeRating = chargeFactor * limits.currentMaxCharge_A.warning;
    for (let h = 0; h < SOP_HORIZON_COUNT; h++) {
      if (!(unchecked(this.maxDischarge_A[h]) < dischargeRating)) {
        unchecked(this.maxDischarge_A[h] = dischargeRating);
        if (h == SOP_HORIZON_2S) this.limitingDischargeModule = -1;
      }
      if (!(unchecked(this.maxCharge_A[h]) < chargeRating)) {
        unchecked(this.maxCharge_A[h] = chargeRating);
        if (h == SOP_HORIZON_2S) this.limitingChargeModule = -1;
      }
    }
  }

  private moduleLimits(modules: ModuleStates, i: i32): void {
    const m = this.model;
    const soc = clampSoc(unchecked(modules.soc[i]));
    const capacity_As = unchecked(modules.capacity_Ah[i]) * s_PER_h;
    const scale = unchecked(modules.resistanceScale[i]) * this.resistanceFactor(unchecked(modules.temperature_C[i]));
    const ocv = this.ocv.voltage(soc);
    const slope = this.ocv.slope(soc);
    const dischargeHeadroom_V = Mathf.max(ocv - this.minVoltage_V, <f32>0.0);
    const chargeHeadroom_V = Mathf.max(this.maxVoltage_V - ocv, <f32>0.0);
    for (let h = 0; h < SOP_HORIZON_COUNT; h++) {
      const t = unchecked(HORIZON_s[h]);
      const resistance = scale * (m.r0_Ohm + m.r1_Ohm * unchecked(this.rise1[h]) + m.r2_Ohm * unchecked(this.rise2[h]))
        + slope * t / capacity_As;
      // An unusable model (no positive resistance) allows nothing rather than everything.
      const valid = resistance > 0;
      const discharge = valid ? Mathf.min(dischargeHeadroom_V / resistance, soc * capacity_As / t) : <f32>0.0;
      const charge = valid ? Mathf.min(chargeHeadroom_V / resistance, (<f32>1.0 - soc) * capacity_As / t) : <f32>0.0;
      if (discharge < unchecked(this.maxDischarge_A[h])) {
        unchecked(this.maxDischarge_A[h] = discharge);
        if (h == SOP_HORIZON_2S) this.limitingDischargeModule = i;
      }
      if (charge < unchecked(this.maxCharge_A[h])) {
        unchecked(this.maxCharge_A[h] = charge);
        if (h == SOP_HORIZON_2S) this.limitingChargeModule = i;
      }
    }
  }

  maxDischargeCurrent_A(horizon: i32): f32 {
    return horizon >= 0 && horizon < SOP_HORIZON_COUNT ? unchecked(this.maxDischarge_A[horizon]) : NaN;
  }

  maxChargeCurrent_A(horizon: i32): f32 {
    return horizon >= 0 && horizon < SOP_HORIZON_COUNT ? unchecked(this.maxCharge_A[horizon]) : NaN;
  }

  /** Pack voltage window for the vehicle: modules x the WARNING levels, V. */
  maxPackVoltage_V(modules: i32): f32 {
    return <f32>modules * this.maxVoltage_V;
  }

  minPackVoltage_V(modules: i32): f32 {
    return <f32>modules * this.minVoltage_V;
  }
}
