import { test } from "node:test";
import assert from "node:assert/strict";
import { loadCell } from "../../../host/plant/chemistry.ts";
import { Cell } from "../../../host/plant/cell.ts";
import type { CellOptions } from "../../../host/plant/cell.ts";
import { Module } from "../../../host/plant/module.ts";

const nmc = loadCell("lg-inr21700-m50");
const lfp = loadCell("sony-us26650ftc1");
const quiet: CellOptions = { ageing: false, selfDischargeScale: 0 };

const sumOfCellCurrents = (module: Module): number => {
  let sum = 0;
  for (let k = 0; k < module.cells.length; k++) sum += module.cellCurrent_A(k);
  return sum;
};

test("parallel cells share the module current; the lower-resistance cell takes more", () => {
  const low = new Cell(nmc, { ...quiet, soc: 0.6, resistanceScale: 0.8 });
  const high = new Cell(nmc, { ...quiet, soc: 0.6, resistanceScale: 1.25 });
  const module = new Module([low, high]);
  module.step(8, 1, 25);
  assert.ok(Math.abs(sumOfCellCurrents(module) - 8) < 1e-12);
  const iLow = module.cellCurrent_A(0);
  const iHigh = module.cellCurrent_A(1);
  assert.ok(iLow > iHigh);
  // From rest with equal OCV the split is inverse to the step's source resistances.
  assert.ok(Math.abs(iLow / iHigh - 1.25 / 0.8) < 1e-9);
  // Every cell sees the module voltage.
  assert.ok(Math.abs(low.terminalVoltage_V - module.voltage_V) < 1e-12);
  assert.ok(Math.abs(high.terminalVoltage_V - module.voltage_V) < 1e-12);
  for (let k = 0; k < 600; k++) {
    module.step(8, 1, 25);
    assert.ok(Math.abs(sumOfCellCurrents(module) - 8) < 1e-9);
  }
  assert.ok(low.soc < high.soc);
});

test("parallel cells at different SOC equalise through each other at zero module current", () => {
  const full = new Cell(lfp, { ...quiet, soc: 0.95 });
  const empty = new Cell(lfp, { ...quiet, soc: 0.05 });
  const module = new Module([full, empty]);
  module.step(0, 1, 25);
  assert.ok(module.cellCurrent_A(0) > 0 && module.cellCurrent_A(1) < 0);
  assert.ok(Math.abs(sumOfCellCurrents(module)) < 1e-12);
  const before = module.soc;
  for (let k = 0; k < 7200; k++) module.step(0, 1, 25);
  assert.ok(full.soc - empty.soc < 0.5);
  // Charge moves between the cells; only the coulombic efficiency of the charged cell loses some.
  assert.ok(Math.abs(module.soc - before) < 1e-3);
});

test("the bleed resistor draws V/R from the cells and heats the module", () => {
  // Without the reversible term the cells' own losses are >= 0, so the module heat bounds V^2/R.
  const options: CellOptions = { ...quiet, soc: 0.7, reversibleHeat: false };
  const module = new Module([new Cell(nmc, options), new Cell(nmc, options)]);
  const reference = new Module([new Cell(nmc, options), new Cell(nmc, options)]);
  module.bleedResistance_Ohm = 33;
  for (let k = 0; k < 600; k++) {
    module.step(0, 1, 25);
    reference.step(0, 1, 25);
  }
  assert.ok(Math.abs(module.bleedCurrent_A - module.voltage_V / 33) < 1e-12);
  assert.ok(Math.abs(sumOfCellCurrents(module) - module.bleedCurrent_A) < 1e-12);
  assert.ok(module.soc < reference.soc);
  assert.ok(module.heat_W > module.voltage_V ** 2 / 33);
  assert.ok(module.temperature_C > reference.temperature_C);
  module.bleedResistance_Ohm = Infinity;
  module.step(0, 1, 25);
  assert.equal(module.bleedCurrent_A, 0);
});

test("converter power is delivered as P/V, and capped when infeasible", () => {
  const module = new Module([new Cell(nmc, { ...quiet, soc: 0.5 }), new Cell(nmc, { ...quiet, soc: 0.5, capacityScale: 0.9 })]);
  module.converterPower_W = 20;
  module.step(0, 1, 25);
  assert.ok(!module.converterLimited);
  assert.ok(Math.abs(module.converterCurrent_A * module.voltage_V - 20) < 1e-9);
  assert.ok(Math.abs(sumOfCellCurrents(module) - module.converterCurrent_A) < 1e-12);
  // Absorbing power from the bus charges the cells.
  module.converterPower_W = -15;
  module.step(0, 1, 25);
  assert.ok(sumOfCellCurrents(module) < 0);
  assert.ok(Math.abs(module.converterCurrent_A * module.voltage_V + 15) < 1e-9);
  // Far beyond E^2/4R the module delivers its maximum power at half its source voltage.
  module.converterPower_W = 1e5;
  module.step(0, 1, 25);
  assert.ok(module.converterLimited);
  assert.ok(module.converterDelivered_W < 1e5 && module.converterDelivered_W > 0);
});

test("module aggregates: capacity sum, capacity-weighted SOC, parallel R0, weighted temperature", () => {
  const a = new Cell(lfp, { ...quiet, soc: 0.2, capacityScale: 1.1, resistanceScale: 0.9, temperature_C: 20 });
  const b = new Cell(lfp, { ...quiet, soc: 0.8, capacityScale: 0.9, resistanceScale: 1.1, temperature_C: 30 });
  const module = new Module([a, b]);
  assert.ok(Math.abs(module.capacity_Ah - (a.capacity_Ah + b.capacity_Ah)) < 1e-12);
  assert.ok(Math.abs(module.soc - (0.2 * a.capacity_Ah + 0.8 * b.capacity_Ah) / module.capacity_Ah) < 1e-12);
  const parallel = 1 / (1 / a.resistance0_Ohm + 1 / b.resistance0_Ohm);
  assert.ok(Math.abs(module.resistance0_Ohm - parallel) < 1e-15);
  assert.ok(Math.abs(module.temperature_C - 25) < 1e-12);
  assert.throws(() => module.commit(1, 1, 25), /without prepare/);
});
