import { test } from "node:test";
import assert from "node:assert/strict";
import { loadCell } from "../../../host/plant/chemistry.ts";
import { createPack } from "../../../host/plant/pack.ts";
import type { Pack, PackConfig } from "../../../host/plant/pack.ts";

const nmc = loadCell("lg-inr21700-m50");
const spread = { capacity_rel: 0.02, resistance_rel: 0.08, soc_abs: 0.02, selfDischarge_rel: 0.3 };
const config = (seed: number): PackConfig => ({ cell: nmc, modules: 12, parallel: 3, spread, seed, initialSoc: 0.7, temperature_C: 25 });

const snapshot = (pack: Pack): number[] => pack.modules.flatMap((m) => m.cells.flatMap((c) => {
  const s = c.getState();
  return [s.soc, s.temperature_C, s.hysteresis, s.rc1_V, s.rc2_V, c.terminalVoltage_V, c.capacity_Ah, c.resistance0_Ohm];
}));

const drive = (pack: Pack): void => {
  for (let k = 0; k < 400; k++) {
    if (k % 3 === 0) pack.stepPower(k % 2 ? 800 : -300, 0.5, 25);
    else pack.step(k % 2 ? 20 : -8, 0.5, 25);
  }
};

test("determinism: the same seed gives a bit-identical pack, another seed does not", () => {
  const a = createPack(config(1234));
  const b = createPack(config(1234));
  const c = createPack(config(1235));
  assert.deepEqual(snapshot(a), snapshot(b));
  assert.notDeepEqual(snapshot(a), snapshot(c));
  drive(a);
  drive(b);
  assert.deepEqual(snapshot(a), snapshot(b));
  assert.equal(a.voltage_V, b.voltage_V);
});

test("cell-to-cell spread has the configured standard deviation", () => {
  const pack = createPack({ ...config(99), modules: 96, parallel: 4 });
  const cells = pack.modules.flatMap((m) => m.cells);
  const std = (xs: number[]): number => {
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
  };
  const capacity = cells.map((c) => c.capacity_Ah / nmc.electrical.nominalCapacity_Ah);
  const soc = cells.map((c) => c.soc);
  assert.ok(Math.abs(std(capacity) / spread.capacity_rel - 1) < 0.15, `capacity spread ${std(capacity)}`);
  assert.ok(Math.abs(std(soc) / spread.soc_abs - 1) < 0.15, `SOC spread ${std(soc)}`);
});

test("series string: pack voltage is the sum of module voltages and every module carries the current", () => {
  const pack = createPack(config(5));
  pack.step(15, 1, 25);
  const sum = pack.modules.reduce((s, m) => s + m.voltage_V, 0);
  assert.ok(Math.abs(pack.voltage_V - sum) < 1e-9);
  for (const module of pack.modules) assert.equal(module.current_A, 15);
  assert.ok(Math.abs(pack.power_W - 15 * sum) < 1e-9);
  assert.equal(pack.cellCount, 36);
});

test("stepPower delivers the requested power, and caps it when infeasible", () => {
  const pack = createPack(config(8));
  for (const power of [1500, 200, -900, 0]) {
    pack.stepPower(power, 1, 25);
    assert.ok(!pack.powerLimited);
    assert.ok(Math.abs(pack.power_W - power) < 1e-6 * Math.max(1, Math.abs(power)), `${power}: delivered ${pack.power_W}`);
  }
  // E^2 / 4R for this 12s3p pack is about 4 kW over a 1 s step; ask for far more. The pack then runs
  // at its maximum-power point, where the terminal voltage is half the Thevenin voltage E.
  let e = 0;
  for (const module of pack.modules) {
    module.prepare(1);
    e += module.theveninVoltage_V;
  }
  pack.stepPower(1e7, 1, 25);
  assert.ok(pack.powerLimited);
  assert.equal(pack.requestedPower_W, 1e7);
  assert.ok(pack.power_W > 1e3 && pack.power_W < 1e7);
  assert.ok(Math.abs(pack.voltage_V - e / 2) < 1e-9 * e);
});
