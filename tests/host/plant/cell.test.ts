import { test } from "node:test";
import assert from "node:assert/strict";
import { loadCell, lookupTable, resistanceLike } from "../../../host/plant/chemistry.ts";
import type { CellTable } from "../../../host/plant/chemistry.ts";
import { Cell } from "../../../host/plant/cell.ts";

const nmc = loadCell("lg-inr21700-m50");
const lfp = loadCell("sony-us26650ftc1");

/** Relative difference, for assertions that read as "within x %". */
const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

test("charge conservation: integral of I dt equals dSOC x capacity, with eta on charge", () => {
  for (const params of [nmc, lfp]) {
    const cell = new Cell(params, { soc: 0.9, ageing: false, selfDischargeScale: 0, capacityScale: 0.97 });
    const capacity_As = cell.capacity_Ah * 3600;
    let discharged_As = 0;
    for (let k = 0; k < 1500; k++) {
      const i = 1.2 + 0.8 * Math.sin(k / 40);
      cell.step(i, 1.5, 25);
      discharged_As += i * 1.5;
    }
    const afterDischarge = cell.soc;
    assert.ok(rel((0.9 - afterDischarge) * capacity_As, discharged_As) < 1e-9, params.id);
    let charged_As = 0;
    for (let k = 0; k < 800; k++) {
      cell.step(-2, 1, 25);
      charged_As += 2;
    }
    const eta = params.electrical.coulombicEfficiency;
    assert.ok(rel((cell.soc - afterDischarge) * capacity_As, eta * charged_As) < 1e-9, params.id);
  }
});

test("rest after a pulse relaxes as the analytical sum of the two RC exponentials", () => {
  for (const [params, dt, pulse_s] of [[lfp, 1, 40], [nmc, 0.05, 20]] as const) {
    // A huge h pins the temperature, so R and tau stay at their 25 °C values.
    const cell = new Cell(params, { soc: 0.5, ageing: false, selfDischargeScale: 0, convectiveCoefficient_W_per_m2K: 1e7 });
    const current = params.electrical.nominalCapacity_Ah;
    for (let t = 0; t < pulse_s; t += dt) cell.step(current, dt, 25);
    const soc = cell.soc;
    const r = params.resistance;
    const branch = (resistanceTable: CellTable, tauTable: CellTable): { amplitude: number; tau: number } => {
      const tau = resistanceLike(tauTable, soc, 25);
      return { amplitude: resistanceLike(resistanceTable, soc, 25) * current * (1 - Math.exp(-pulse_s / tau)), tau };
    };
    const branches = [branch(r.r1_Ohm, r.tau1_s), branch(r.r2_Ohm, r.tau2_s)];
    const settled = cell.ocv_V + cell.hysteresis_V;
    const scale = branches[0]!.amplitude + branches[1]!.amplitude;
    let worst = 0;
    for (let t = dt; t <= 5 * branches[1]!.tau; t += dt) {
      cell.step(0, dt, 25);
      const expected = settled - branches.reduce((sum, b) => sum + b.amplitude * Math.exp(-t / b.tau), 0);
      worst = Math.max(worst, Math.abs(cell.terminalVoltage_V - expected));
    }
    assert.ok(scale > 0.01, `${params.id}: relaxation of ${scale} V is too small to test`);
    assert.ok(worst < 0.01 * scale, `${params.id}: worst deviation ${worst} V of ${scale} V relaxation`);
  }
});

test("hysteresis: rest voltages after charge and after discharge to the same SOC differ by 2M", () => {
  for (const params of [lfp, nmc]) {
    const cell = new Cell(params, { soc: 0.3, ageing: false, selfDischargeScale: 0, convectiveCoefficient_W_per_m2K: 1e7 });
    const current = params.electrical.nominalCapacity_Ah / 2;
    const target = 0.6;
    const moveTo = (soc: number): void => {
      const sign = soc > cell.soc ? -1 : 1;
      while (sign * (cell.soc - soc) > 1e-4) cell.step(sign * current, 1, 25);
      // Land exactly: the last partial step covers the remaining charge.
      const eta = sign < 0 ? params.electrical.coulombicEfficiency : 1;
      const remaining_As = Math.abs(cell.soc - soc) * cell.capacity_Ah * 3600 / eta;
      cell.step(sign * current, remaining_As / current, 25);
    };
    const restVoltage = (): number => {
      for (let k = 0; k < 1200; k++) cell.step(0, 1, 25);
      return cell.terminalVoltage_V;
    };
    moveTo(target);
    const afterCharge = restVoltage();
    moveTo(0.9);
    moveTo(target);
    const afterDischarge = restVoltage();
    assert.ok(Math.abs(cell.soc - target) < 1e-9);
    const m = lookupTable(params.hysteresis.magnitude_V, target, 25);
    assert.ok(rel(afterCharge - afterDischarge, 2 * m) < 0.02, `${params.id}: gap ${afterCharge - afterDischarge} V, 2M = ${2 * m} V`);
  }
});

test("thermal steady state: constant current gives T = Ta + P / (hA)", () => {
  for (const params of [nmc, lfp]) {
    const ambient = 20;
    const cell = new Cell(params, { soc: 0.5, temperature_C: ambient, ageing: false, selfDischargeScale: 0 });
    const current = params.electrical.nominalCapacity_Ah;
    const tau_s = cell.heatCapacity / cell.thermalConductance_W_per_K;
    // Hold SOC at 0.5 so the dissipation is steady; only the thermal state evolves freely.
    for (let t = 0; t < 12 * tau_s; t += 2) {
      cell.step(current, 2, ambient);
      cell.setState({ soc: 0.5 });
    }
    const rise = cell.temperature_C - ambient;
    assert.ok(rise > 1, `${params.id}: rise ${rise} K`);
    assert.ok(rel(rise, cell.heat_W / cell.thermalConductance_W_per_K) < 0.005, `${params.id}: rise ${rise} K, P/hA ${cell.heat_W / cell.thermalConductance_W_per_K} K`);
  }
});

test("reversible heat is -i T dOCV/dT on top of the ohmic and polarisation losses", () => {
  for (const params of [nmc, lfp]) {
    const soc = 0.6;
    const withEntropy = new Cell(params, { soc, ageing: false });
    const without = new Cell(params, { soc, ageing: false, reversibleHeat: false });
    const current = params.electrical.nominalCapacity_Ah;
    withEntropy.step(current, 1, 25);
    without.step(current, 1, 25);
    const dOcvdT = lookupTable(params.ocv.entropicCoefficient_V_per_K, soc, 25);
    const expected = -current * (25 + 273.15) * dOcvdT;
    assert.ok(Math.abs(withEntropy.heat_W - without.heat_W - expected) < 0.02 * Math.abs(expected) + 1e-6, params.id);
  }
});

test("ageing: capacity falls and resistance rises with cycling, faster when hot", () => {
  for (const params of [lfp, nmc]) {
    const run = (ambient: number): { capacity: number[]; growth: number[] } => {
      const cell = new Cell(params, { soc: 0.9, temperature_C: ambient, selfDischargeScale: 0, convectiveCoefficient_W_per_m2K: 1e5 });
      const current = params.electrical.nominalCapacity_Ah;
      const capacity: number[] = [cell.capacity_Ah];
      const growth: number[] = [cell.resistanceGrowth];
      for (let cycle = 0; cycle < 150; cycle++) {
        while (cell.soc > 0.1) cell.step(current, 10, ambient);
        while (cell.soc < 0.9) cell.step(-current, 10, ambient);
        if (cycle % 30 === 29) {
          capacity.push(cell.capacity_Ah);
          growth.push(cell.resistanceGrowth);
        }
      }
      assert.ok(cell.fullEquivalentCycles > 0.8 * 150 * 0.8, `${params.id}: ${cell.fullEquivalentCycles} FEC`);
      return { capacity, growth };
    };
    const mild = run(25);
    const hot = run(45);
    for (const r of [mild, hot]) {
      for (let k = 1; k < r.capacity.length; k++) {
        assert.ok(r.capacity[k]! < r.capacity[k - 1]!, `${params.id}: capacity must fall`);
        assert.ok(r.growth[k]! > r.growth[k - 1]!, `${params.id}: resistance must grow`);
      }
    }
    const last = mild.capacity.length - 1;
    const initial = mild.capacity[0]!;
    assert.ok(initial - hot.capacity[last]! > initial - mild.capacity[last]!, `${params.id}: hot cycling must fade faster`);
    assert.ok(hot.growth[last]! > mild.growth[last]!, `${params.id}: hot cycling must grow resistance faster`);
  }
});

test("calendar ageing follows the published time law and Arrhenius temperature dependence", () => {
  const store = (params: typeof lfp, ambient: number, days: number): number => {
    const cell = new Cell(params, { soc: 0.5, temperature_C: ambient, selfDischargeScale: 0, ageingInterval_s: 3600 });
    for (let t = 0; t < days * 86400; t += 3600) cell.step(0, 3600, ambient);
    return cell.capacityFade;
  };
  // LFP (Naumann 2018): loss ~ sqrt(t), so four times the storage time doubles the loss.
  const q100 = store(lfp, 25, 100);
  const q400 = store(lfp, 25, 400);
  assert.ok(rel(q400 / q100, 2) < 0.01, `ratio ${q400 / q100}`);
  // NMC (Schmalstieg 2014): loss ~ t^0.75.
  assert.ok(rel(store(nmc, 25, 400) / store(nmc, 25, 100), 4 ** 0.75) < 0.01);
  for (const params of [lfp, nmc]) assert.ok(store(params, 45, 100) > 1.5 * store(params, 25, 100), params.id);
});

test("self-discharge lowers SOC at the stated rate, scaled per cell", () => {
  const days = 30;
  const socAfter = (scale: number): number => {
    const cell = new Cell(lfp, { soc: 0.8, ageing: false, selfDischargeScale: scale });
    for (let t = 0; t < days * 86400; t += 600) cell.step(0, 600, 25);
    return cell.soc;
  };
  const expected = lfp.selfDischarge.rate_per_day * days;
  assert.ok(rel(0.8 - socAfter(1), expected) < 1e-3);
  assert.ok(rel(0.8 - socAfter(2.5), 2.5 * expected) < 1e-3);
  assert.equal(socAfter(0), 0.8);
});

test("spread scales act on capacity and resistance; setState round-trips", () => {
  const base = new Cell(nmc, { soc: 0.5, ageing: false });
  const scaled = new Cell(nmc, { soc: 0.5, ageing: false, capacityScale: 0.9, resistanceScale: 1.3 });
  assert.ok(rel(scaled.capacity_Ah, 0.9 * base.capacity_Ah) < 1e-12);
  assert.ok(rel(scaled.resistance0_Ohm, 1.3 * base.resistance0_Ohm) < 1e-12);
  base.step(5, 1, 25);
  const copy = new Cell(nmc, { ageing: false });
  copy.setState(base.getState());
  assert.deepEqual(copy.getState(), base.getState());
  base.step(-3, 1, 25);
  copy.step(-3, 1, 25);
  assert.equal(copy.terminalVoltage_V, base.terminalVoltage_V);
  assert.throws(() => new Cell(nmc, { capacityScale: 0 }), /capacityScale must be a positive number/);
  assert.throws(() => base.setState({ hysteresis: 2 }), /hysteresis state must be in \[-1, 1\]/);
});
