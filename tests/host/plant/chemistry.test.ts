import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  loadCell, validateCell, listCells, cellsDir, findInterval, interpolate1, interpolate2, lookupTable,
  openCircuitVoltage, resistanceLike, rateLike, arrheniusFactor,
} from "../../../host/plant/chemistry.ts";
import type { CellParameters } from "../../../host/plant/chemistry.ts";
import { Cell } from "../../../host/plant/cell.ts";
import { derivedCellFiles } from "../../../data/cells/derivation/derive.ts";

const rawCell = (id: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(cellsDir, `${id}.json`), "utf8")) as Record<string, unknown>;

const rejects = (mutate: (cell: Record<string, any>) => void, pattern: RegExp): void => {
  const cell = rawCell("sony-us26650ftc1");
  mutate(cell);
  assert.throws(() => validateCell(cell, "mutated.json"), (err: Error) => {
    assert.match(err.message, /invalid cell definition mutated\.json/);
    assert.match(err.message, pattern);
    return true;
  });
};

test("shipped cells load, validate and cite their sources", () => {
  const ids = listCells();
  assert.ok(ids.includes("lg-inr21700-m50"));
  assert.ok(ids.includes("sony-us26650ftc1"));
  for (const id of ids) {
    const cell = loadCell(id);
    assert.equal(cell.id, id);
    assert.ok(cell.source.length > 0);
    for (const source of cell.source) assert.ok(source.doi !== undefined || source.url !== undefined, `${id}: ${source.key} has no DOI or URL`);
    assert.ok(cell.notes.some((note) => note.includes("ESTIMATE")), `${id}: estimates must be flagged in notes`);
    assert.ok(openCircuitVoltage(cell, 0, 25) < cell.electrical.nominalVoltage_V);
    assert.ok(openCircuitVoltage(cell, 1, 25) > cell.electrical.nominalVoltage_V);
  }
});

test("the shipped cell files are exactly what the derivation script produces", () => {
  for (const { file, text } of derivedCellFiles()) {
    assert.equal(readFileSync(join(cellsDir, file), "utf8"), text, `${file} is stale: run npx tsx data/cells/derivation/derive.ts`);
  }
});

test("a missing field is rejected with the field's name", () => {
  rejects((c) => { delete c.electrical.nominalCapacity_Ah; }, /electrical\.nominalCapacity_Ah: is required/);
  rejects((c) => { delete c.hysteresis; }, /^\s+hysteresis: is required$/m);
});

test("a non-monotonic OCV is rejected naming the table entry", () => {
  rejects((c) => { c.ocv.ocv_V.values[100][0] = 3.0; }, /ocv\.ocv_V\.values\.100\.0: OCV must increase strictly with SOC/);
});

test("non-increasing axes, wrong shapes, bad signs and unknown fields are rejected", () => {
  rejects((c) => { c.resistance.r0_Ohm.soc[3] = c.resistance.r0_Ohm.soc[2]; }, /resistance\.r0_Ohm\.soc: must be strictly increasing/);
  rejects((c) => { c.resistance.r1_Ohm.values.pop(); }, /resistance\.r1_Ohm\.values: has 10 rows, expected one per point of the first axis \(11\)/);
  rejects((c) => { c.resistance.tau2_s.values[0][0] = -1; }, /resistance\.tau2_s\.values\.0\.0: must be > 0/);
  rejects((c) => { c.thermal.colour = "blue"; }, /thermal: must NOT have additional properties 'colour'/);
  rejects((c) => { c.electrical.minVoltage_V = 3.5; }, /electrical: needs minVoltage_V < nominalVoltage_V < maxVoltage_V/);
  rejects((c) => { c.ocv.ocv_V.activationEnergy_J_per_mol = 1000; }, /ocv\.ocv_V\.activationEnergy_J_per_mol: not used for this table/);
  rejects((c) => { c.source[0].doi = undefined; delete c.source[0].url; delete c.source[0].doi; }, /source\.0: must match a schema in anyOf/);
});

test("loadCell insists that the id matches the file name", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-cell-"));
  const path = join(dir, "renamed.json");
  writeFileSync(path, JSON.stringify(rawCell("sony-us26650ftc1")));
  assert.throws(() => loadCell(path), /id: 'sony-us26650ftc1' must equal the file name 'renamed'/);
  assert.throws(() => loadCell("no-such-cell"), /cell definition not found/);
});

test("interpolation is exact at nodes, linear between them and clamped outside", () => {
  const axis = [0, 1, 3];
  const values = [10, 20, 0];
  assert.equal(findInterval(axis, -5), 0);
  assert.equal(findInterval(axis, 2), 1);
  assert.equal(findInterval(axis, 99), 1);
  assert.equal(interpolate1(axis, values, 1), 20);
  assert.equal(interpolate1(axis, values, 0.25), 12.5);
  assert.equal(interpolate1(axis, values, 2), 10);
  assert.equal(interpolate1(axis, values, -1), 10);
  assert.equal(interpolate1(axis, values, 4), 0);
  // A bilinear function is reproduced exactly.
  const a = [0, 0.5, 1];
  const b = [-10, 20, 40];
  const f = (x: number, y: number): number => 2 + 3 * x - 0.1 * y + 0.05 * x * y;
  const rows = a.map((x) => b.map((y) => f(x, y)));
  for (const [x, y] of [[0.3, 0], [0.75, 33], [1, -10], [0.1, 39.9]] as const) {
    assert.ok(Math.abs(interpolate2(a, b, rows, x, y) - f(x, y)) < 1e-12);
  }
  assert.ok(Math.abs(interpolate2(a, b, rows, 2, 100) - f(1, 40)) < 1e-12);
  assert.equal(interpolate2([0], [25], [[7]], 0.4, 80), 7);
});

test("single-temperature tables extend by Arrhenius in the documented direction", () => {
  const table = { soc: [0, 1], temperature_C: [25], values: [[0.01], [0.01]], activationEnergy_J_per_mol: 30000 };
  assert.equal(resistanceLike(table, 0.5, 25), 0.01);
  assert.ok(resistanceLike(table, 0.5, 0) > 0.01);
  assert.ok(rateLike(table, 0.5, 45) > 0.01);
  assert.ok(Math.abs(resistanceLike(table, 0.5, 0) * rateLike(table, 0.5, 0) - 1e-4) < 1e-15);
  assert.ok(Math.abs(arrheniusFactor(30000, 0, 25) - Math.exp((30000 / 8.314462618) * (1 / 273.15 - 1 / 298.15))) < 1e-12);
});

test("the compiled grid reproduces the source tables", () => {
  for (const id of listCells()) {
    const params: CellParameters = loadCell(id);
    for (const soc of [0.02, 0.13, 0.5, 0.77, 0.995]) {
      for (const t of [-5, 12.5, 25, 41]) {
        const cell = new Cell(params, { soc, temperature_C: t, ageing: false });
        const ocv = openCircuitVoltage(params, soc, t);
        assert.ok(Math.abs(cell.ocv_V - ocv) < 2e-3, `${id} OCV at ${soc}, ${t}: ${cell.ocv_V} vs ${ocv}`);
        const r0 = resistanceLike(params.resistance.r0_Ohm, soc, t);
        assert.ok(Math.abs(cell.resistance0_Ohm / r0 - 1) < 0.02, `${id} R0 at ${soc}, ${t}: ${cell.resistance0_Ohm} vs ${r0}`);
        const m = lookupTable(params.hysteresis.magnitude_V, soc, t);
        cell.setState({ hysteresis: 1 });
        assert.ok(Math.abs(cell.hysteresis_V - m) < 1e-3);
      }
    }
  }
});

test("over-discharge drives the OCV below the table instead of clamping it", () => {
  for (const id of listCells()) {
    const params = loadCell(id);
    const first = params.ocv.ocv_V.values[0]![0]!;
    assert.ok(openCircuitVoltage(params, -0.02, 25) < first - 0.05, id);
  }
});
