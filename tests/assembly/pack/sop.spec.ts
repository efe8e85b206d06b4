import { ModuleStates } from "../../../assembly/pack/modules";
import { OcvCurve } from "../../../assembly/pack/ocv";
import {
  StateOfPower, ModuleModel, temperatureDerating,
  SOP_HORIZON_2S, SOP_HORIZON_10S, SOP_HORIZON_30S,
} from "../../../assembly/pack/sop";
import { CellRatings, SafetyLimits } from "../../../assembly/protection/limits";

/** Voltage window 2.6..4.1 V at the WARNING levels (cell 2.5..4.2 V). */
function ratings(dischargeCurrent_A: f32, chargeCurrent_A: f32): CellRatings {
  const r = new CellRatings();
  r.maxVoltage_V = 4.2;
  r.minVoltage_V = 2.5;
  r.chargeTemperatureMin_C = 0.0;
  r.chargeTemperatureMax_C = 45.0;
  r.dischargeTemperatureMin_C = -20.0;
  r.dischargeTemperatureMax_C = 60.0;
  r.maxChargeCurrent_A = chargeCurrent_A;
  r.maxDischargeCurrent_A = dischargeCurrent_A;
  r.parallelCells = 1;
  return r;
}

function flatOcv(v: f32): OcvCurve {
  const ocv = new OcvCurve(2);
  ocv.set(0, v);
  ocv.set(1, v);
  ocv.prepare();
  return ocv;
}

function linearOcv(): OcvCurve {
  const ocv = new OcvCurve(11);
  for (let i = 0; i < 11; i++) ocv.set(i, <f32>3.0 + <f32>1.2 * <f32>i / <f32>10.0);
  ocv.prepare();
  return ocv;
}

function r0Model(r0: f32): ModuleModel {
  const m = new ModuleModel();
  m.r0_Ohm = r0;
  return m;
}

function modules(count: i32, soc: f32, capacity_Ah: f32, temperature_C: f32): ModuleStates {
  const m = new ModuleStates();
  m.count = count;
  for (let i = 0; i < count; i++) m.set(i, soc, capacity_Ah, temperature_C, true);
  return m;
}

describe("state of power", () => {
  it("is (OCV - Vmin) / R0 and (Vmax - OCV) / R0 with R0 only", () => {
    const sop = new StateOfPower(flatOcv(3.7), r0Model(0.01), new SafetyLimits(ratings(1000.0, 1000.0)));
    sop.update(modules(4, 0.5, 100.0, 25.0));
    // (3.7 - 2.6) / 0.01 = 110 A; (4.1 - 3.7) / 0.01 = 40 A, at every horizon
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(110.0, 2);
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_30S)).toBeCloseTo(110.0, 2);
    expect(sop.maxChargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(40.0, 2);
    expect(sop.maxChargeCurrent_A(SOP_HORIZON_10S)).toBeCloseTo(40.0, 2);
    expect(sop.maxPackVoltage_V(4)).toBeCloseTo(16.4, 4);
    expect(sop.minPackVoltage_V(4)).toBeCloseTo(10.4, 4);
  });
  it("falls with the horizon as the RC branches charge, matching the formula", () => {
    const model = r0Model(0.01);
    model.r1_Ohm = 0.005;
    model.tau1_s = 5.0;
    model.r2_Ohm = 0.01;
    model.tau2_s = 60.0;
    const sop = new StateOfPower(flatOcv(3.7), model, new SafetyLimits(ratings(1000.0, 1000.0)));
    sop.update(modules(1, 0.5, 100.0, 25.0));
    const d2 = sop.maxDischargeCurrent_A(SOP_HORIZON_2S);
    const d10 = sop.maxDischargeCurrent_A(SOP_HORIZON_10S);
    const d30 = sop.maxDischargeCurrent_A(SOP_HORIZON_30S);
    expect(d2).toBeGreaterThan(d10);
    expect(d10).toBeGreaterThan(d30);
    expect(sop.maxChargeCurrent_A(SOP_HORIZON_2S)).toBeGreaterThan(sop.maxChargeCurrent_A(SOP_HORIZON_10S));
    expect(sop.maxChargeCurrent_A(SOP_HORIZON_10S)).toBeGreaterThan(sop.maxChargeCurrent_A(SOP_HORIZON_30S));
    const r10 = 0.01 + 0.005 * (1.0 - Math.exp(-10.0 / 5.0)) + 0.01 * (1.0 - Math.exp(-10.0 / 60.0));
    expect(d10).toBeCloseTo(<f32>(1.1 / r10), 2);
    const r30 = 0.01 + 0.005 * (1.0 - Math.exp(-30.0 / 5.0)) + 0.01 * (1.0 - Math.exp(-30.0 / 60.0));
    expect(d30).toBeCloseTo(<f32>(1.1 / r30), 2);
  });
  it("adds the OCV drop over the horizon as dOCV/dz t / (3600 Q)", () => {
    const sop = new StateOfPower(linearOcv(), r0Model(0.01), new SafetyLimits(ratings(1000.0, 1000.0)));
    sop.update(modules(1, 0.5, 10.0, 25.0));
    // OCV(0.5) = 3.6 V, slope 1.2 V; at 30 s: 1.2 x 30 / 36000 = 0.001 Ohm more
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_30S)).toBeCloseTo(1.0 / 0.011, 2);
    expect(sop.maxChargeCurrent_A(SOP_HORIZON_30S)).toBeCloseTo(0.5 / 0.011, 2);
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(1.0 / (0.01 + 1.2 * 2.0 / 36000.0), 2);
  });
  it("takes the worst module: the emptiest on discharge, the fullest on charge", () => {
    const sop = new StateOfPower(linearOcv(), r0Model(0.01), new SafetyLimits(ratings(1000.0, 1000.0)));
    const m = modules(3, 0.5, 10.0, 25.0);
    m.soc[1] = 0.2;
    m.soc[2] = 0.8;
    sop.update(m);
    expect(sop.limitingDischargeModule).toBe(1);
    expect(sop.limitingChargeModule).toBe(2);
    // OCV(0.2) = 3.24: (3.24 - 2.6) / (0.01 + 1.2 x 2 / 36000)
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(0.64 / (0.01 + 2.4 / 36000.0), 2);
  });
  it("scales with each module's resistance growth and temperature", () => {
    const limits = new SafetyLimits(ratings(1000.0, 1000.0));
    const m = modules(2, 0.5, 100.0, 25.0);
    m.resistanceScale[1] = 2.0;
    const sop = new StateOfPower(flatOcv(3.7), r0Model(0.01), limits);
    sop.update(m);
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(55.0, 2);
    expect(sop.limitingDischargeModule).toBe(1);
    const model = r0Model(0.01);
    model.activationEnergy_J_per_mol = 30000.0;
    const cold = new StateOfPower(flatOcv(3.7), model, limits);
    expect(cold.resistanceFactor(25.0)).toBeCloseTo(1.0, 5);
    const factor = cold.resistanceFactor(0.0);
    expect(factor).toBeCloseTo(<f32>Math.exp(30000.0 / 8.314462618 * (1.0 / 273.15 - 1.0 / 298.15)), 2);
    cold.update(modules(1, 0.5, 100.0, 0.0));
    expect(cold.maxDischargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(110.0 / factor, 1);
  });
  it("caps by SOC so that no module passes empty or full within the horizon", () => {
    const sop = new StateOfPower(flatOcv(3.7), r0Model(0.001), new SafetyLimits(ratings(1000.0, 1000.0)));
    sop.update(modules(1, 0.001, 1.0, 25.0));
    // 0.001 x 3600 As / 30 s = 0.12 A
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_30S)).toBeCloseTo(0.12, 4);
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(1.8, 3);
  });
});

const deratingLimits = new SafetyLimits(ratings(10.0, 5.0));

describe("temperature derating", () => {
  it("is 1 inside the operating limits and falls linearly to 0 one hysteresis inside the safety limits", () => {
    const hot = deratingLimits.temperatureMaxDischarge_C;
    const cold = deratingLimits.temperatureMinDischarge_C;
    // Hot: WARNING 50, OPEN 60, hysteresis 2 -> zero at 58. Cold: WARNING -10, OPEN -20 -> zero at -18.
    expect(temperatureDerating(25.0, hot, cold)).toBe(1.0);
    expect(temperatureDerating(50.0, hot, cold)).toBe(1.0);
    expect(temperatureDerating(55.0, hot, cold)).toBeCloseTo(0.375, 5);
    expect(temperatureDerating(58.0, hot, cold)).toBe(0.0);
    expect(temperatureDerating(60.0, hot, cold)).toBe(0.0);
    expect(temperatureDerating(-10.0, hot, cold)).toBe(1.0);
    expect(temperatureDerating(-15.0, hot, cold)).toBeCloseTo(0.375, 5);
    expect(temperatureDerating(-18.0, hot, cold)).toBe(0.0);
    expect(temperatureDerating(-25.0, hot, cold)).toBe(0.0);
    expect(temperatureDerating(NaN, hot, cold)).toBe(0.0);
  });
  it("caps the pack limits at the derated current rating", () => {
    const sop = new StateOfPower(flatOcv(3.7), r0Model(0.01), deratingLimits);
    const m = modules(2, 0.5, 100.0, 25.0);
    sop.update(m);
    // Ratings at the WARNING level: 0.9 x 10 A and 0.9 x 5 A
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(9.0, 4);
    expect(sop.maxChargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(4.5, 4);
    expect(sop.limitingDischargeModule).toBe(-1);
    m.temperature_C[1] = 42.5;
    sop.update(m);
    // Discharge: 42.5 degC is inside (W = 50). Charge: zero at 45 - 2 = 43, so (43 - 42.5) / (43 - 35) = 0.0625.
    expect(sop.maxDischargeCurrent_A(SOP_HORIZON_2S)).toBeCloseTo(9.0, 4);
    expect(sop.maxChargeCurrent_A(SOP_HORIZON_10S)).toBeCloseTo(4.5 * 0.0625, 4);
    m.temperature_C[0] = -1.0;
    sop.update(m);
    // Below the charge safety limit of 0 degC: no charge at all.
    expect(sop.maxChargeCurrent_A(SOP_HORIZON_30S)).toBe(0.0);
  });
});
