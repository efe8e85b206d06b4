import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import asc from "assemblyscript/asc";
import { repoRoot } from "../../../host/abi.ts";
import { listCells, loadCell, openCircuitVoltage, resistanceLike, type CellParameters } from "../../../host/plant/chemistry.ts";
import {
  BLOB_FIELDS, TABLE_NAMES, cellBlobLength, decodeCellBlob, encodeCellBlob, encodeCellBlobContents, renderLayoutTable, resampleCell,
  type CellBlobContents,
} from "../../../host/provisioning/cell-blob.ts";

const cells = listCells().map((id) => loadCell(id));

test("there are parameter sets to encode", () => {
  assert.ok(cells.length >= 1, "data/cells/*.json");
});

test("encode -> decode returns exactly the resampled tables", () => {
  for (const cell of cells) {
    const expected = resampleCell(cell);
    const blob = encodeCellBlob(cell);
    assert.equal(blob.length, cellBlobLength(expected.socAxis.length, expected.temperatureAxis_C.length));
    assert.deepEqual(decodeCellBlob(blob), expected, cell.id);
  }
});

test("the default grid is 24 SOC x 5 temperatures and fits one 4 KiB flash sector", () => {
  for (const cell of cells) {
    const c = resampleCell(cell);
    assert.equal(c.socAxis.length, 24);
    assert.equal(c.socAxis[0], 0);
    assert.equal(c.socAxis[23], 1);
    assert.ok(encodeCellBlob(cell).length <= 4096);
    // Both sets carry one or two columns of their own: the standard temperatures are added.
    assert.deepEqual(c.temperatureAxis_C, [-10, 0, 10, 25, 40], cell.id);
  }
});

test("grid values are the plant's own values (entropic and Arrhenius extensions applied)", () => {
  for (const cell of cells) {
    const c = resampleCell(cell);
    c.socAxis.forEach((soc, i) => c.temperatureAxis_C.forEach((t, j) => {
      assert.equal(c.tables.ocv_V[i]![j], Math.fround(openCircuitVoltage(cell, soc, t)));
      assert.equal(c.tables.r0_Ohm[i]![j], Math.fround(resistanceLike(cell.resistance.r0_Ohm, soc, t)));
      assert.equal(c.tables.tau2_s[i]![j], Math.fround(resistanceLike(cell.resistance.tau2_s, soc, t)));
      assert.equal(c.tables.hysteresis_V[i]![j], Math.fround(resistanceLike(cell.hysteresis.magnitude_V, soc, t)));
    }));
    // The 24 points follow the OCV closely: at every SOC either the voltage is within 10 mV or the
    // SOC read back through the inverse is within 1 % (the measure the axis rule minimises).
    const column = c.temperatureAxis_C.indexOf(25);
    const ocv = c.tables.ocv_V.map((row) => row[column]!);
    const worst = worstOcvError(cell, (soc) => interpolate(c.socAxis, ocv, soc), (v) => interpolate(ocv, c.socAxis, v));
    assert.ok(worst < 0.01, `${cell.id}: OCV off by ${worst}`);
  }
});

/** Clamped linear interpolation of ys over xs. */
function interpolate(xs: readonly number[], ys: readonly number[], x: number): number {
  let k = 0;
  while (k < xs.length - 2 && xs[k + 1]! <= x) k++;
  const w = Math.min(1, Math.max(0, (x - xs[k]!) / (xs[k + 1]! - xs[k]!)));
  return ys[k]! + w * (ys[k + 1]! - ys[k]!);
}

/** Largest over SOC of min(|voltage error| in V, |SOC error of the inverse|) against the plant at 25 degC. */
function worstOcvError(cell: CellParameters, ocvOf: (soc: number) => number, socOf: (v: number) => number): number {
  let worst = 0;
  for (let soc = 0; soc <= 1; soc += 0.001) {
    const v = openCircuitVoltage(cell, soc, 25);
    worst = Math.max(worst, Math.min(Math.abs(ocvOf(soc) - v), Math.abs(socOf(v) - soc)));
  }
  return worst;
}

test("options: explicit axes and cells in parallel", () => {
  const cell = cells[0]!;
  const c = resampleCell(cell, { socAxis: [0, 0.5, 1], temperatureAxis_C: [25], parallelCells: 4 });
  assert.deepEqual(c.socAxis, [0, 0.5, 1]);
  assert.equal(c.parallelCells, 4);
  assert.equal(decodeCellBlob(encodeCellBlob(cell, { socPoints: 32, parallelCells: 12 })).socAxis.length, 32);
  assert.throws(() => encodeCellBlob(cell, { socPoints: 40 }), /socPoints must be an integer 2..32, got 40/);
  assert.throws(() => encodeCellBlob(cell, { parallelCells: 0 }), /parallelCells must be an integer 1..255/);
  assert.throws(() => encodeCellBlob(cell, { socAxis: [0, 0.6, 0.5, 1] }), /SOC axis must be strictly increasing/);
  assert.throws(() => encodeCellBlob(cell, { temperatureAxis_C: [0, 10, 20, 30, 40, 50, 60] }), /temperature axis needs 1..6 points/);
});

test("the layout table in docs/cell-blob.md is the rendering of BLOB_FIELDS", () => {
  const doc = readFileSync(join(repoRoot, "docs", "cell-blob.md"), "utf8");
  const begin = "<!-- BEGIN LAYOUT (host/provisioning/cell-blob.ts BLOB_FIELDS) -->";
  const end = "<!-- END LAYOUT -->";
  assert.ok(doc.includes(begin) && doc.includes(end), "markers present");
  assert.equal(doc.slice(doc.indexOf(begin) + begin.length, doc.indexOf(end)).trim(), renderLayoutTable());
});

test("every fixed-offset field sits where BLOB_FIELDS says", () => {
  const cell = cells[0]!;
  const c = resampleCell(cell, { parallelCells: 7 });
  const blob = encodeCellBlob(cell, { parallelCells: 7 });
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const at = (name: string): number => {
    const field = BLOB_FIELDS.find((f) => f.name === name);
    assert.ok(field !== undefined && /^\d+$/.test(field.offset), name);
    return Number(field.offset);
  };
  assert.equal(String.fromCharCode(...blob.subarray(at("magic"), at("magic") + 4)), "SCEL");
  assert.equal(view.getUint16(at("formatVersion"), true), 1);
  assert.equal(view.getUint16(at("flags"), true), 0);
  assert.equal(view.getUint32(at("totalLength"), true), blob.length);
  assert.equal(String.fromCharCode(...blob.subarray(at("cellId"), at("cellId") + cell.id.length)), cell.id);
  assert.equal(blob[at("socPoints")], c.socAxis.length);
  assert.equal(blob[at("temperaturePoints")], c.temperatureAxis_C.length);
  assert.equal(blob[at("tableCount")], TABLE_NAMES.length);
  assert.equal(blob[at("parallelCells")], 7);
  for (const name of ["capacity_Ah", "coulombicEfficiency", "hysteresisGamma", "minVoltage_V", "nominalVoltage_V", "maxVoltage_V", "selfDischarge_per_day"] as const) {
    assert.equal(view.getFloat32(at(name), true), c[name], name);
  }
  assert.equal(view.getFloat32(at("socAxis"), true), c.socAxis[0]);
});

test("decode rejects malformed input with a clear error", () => {
  const good = encodeCellBlob(cells[0]!);
  const edited = (edit: (b: Uint8Array) => void): Uint8Array => {
    const b = good.slice();
    edit(b);
    return b;
  };
  assert.throws(() => decodeCellBlob(good.subarray(0, 20)), /invalid cell blob: 20 bytes is shorter than the 68-byte header/);
  assert.throws(() => decodeCellBlob(good.subarray(0, good.length - 1)), /shorter than the blob's 3548/);
  assert.throws(() => decodeCellBlob(edited((b) => { b[0] = 0x41; })), /bad magic/);
  assert.throws(() => decodeCellBlob(edited((b) => { b[4] = 2; })), /format version 2 is not supported/);
  assert.throws(() => decodeCellBlob(edited((b) => { b[36] = 40; })), /grid 40 x 5 is outside/);
  assert.throws(() => decodeCellBlob(edited((b) => { b[200] = b[200]! ^ 0x01; })), /CRC mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}/);
});

test("encode refuses contents the firmware would refuse", () => {
  const contents = resampleCell(cells[0]!);
  const broken: CellBlobContents = structuredClone(contents);
  broken.tables.ocv_V[5]![2] = broken.tables.ocv_V[4]![2]!;
  assert.throws(() => encodeCellBlobContents(broken), /tables.ocv_V: not strictly increasing with SOC at 10 degC/);
  const negative: CellBlobContents = structuredClone(contents);
  negative.tables.r1_Ohm[0]![0] = -0.001;
  assert.throws(() => encodeCellBlobContents(negative), /tables.r1_Ohm\[0\]\[0\]: -0.001 is out of range/);
});

// ---------------------------------------------------------------------------------------------
// The firmware parser on this encoder's output: compile assembly/cell/blob.ts with a small entry.

const ENTRY = "tests/host/provisioning/__blob_entry.ts";
const ENTRY_SOURCE = `
import { CellModel } from "../../../assembly/cell/model";
import { parseCellBlob } from "../../../assembly/cell/blob";
const model = new CellModel();
const buffer = memory.data(8192, 4);
export function bufferAddress(): usize { return buffer; }
export function parse(length: i32): i32 { return parseCellBlob(buffer, length, model); }
export function loaded(): bool { return model.loaded; }
export function value(table: i32, i: i32, j: i32): f32 { return model.value(table, i, j); }
export function ocv(soc: f32, t: f32): f32 { return model.ocv_V(soc, t); }
export function socFromOcv(v: f32, t: f32): f32 { return model.socFromOcv(v, t); }
export function moduleCapacity(): f32 { return model.moduleCapacity_Ah(); }
export function parallel(): i32 { return model.parallelCells; }
`;

interface ParserExports {
  memory: WebAssembly.Memory;
  bufferAddress(): number;
  parse(length: number): number;
  loaded(): number;
  value(table: number, i: number, j: number): number;
  ocv(soc: number, t: number): number;
  socFromOcv(v: number, t: number): number;
  moduleCapacity(): number;
  parallel(): number;
}

let compiled: Promise<ParserExports> | undefined;

/** The parser module, compiled once per test run (about 2 s of compiler start-up). */
function compileParser(): Promise<ParserExports> {
  compiled ??= compileParserModule();
  return compiled;
}

async function compileParserModule(): Promise<ParserExports> {
  let binary: Uint8Array<ArrayBuffer> | undefined;
  let errors = "";
  const { error } = await asc.main([ENTRY, "--runtime", "stub", "-O3", "--use", "abort=", "--outFile", "parser.wasm"], {
    readFile: (name: string, baseDir: string) => {
      if (name === ENTRY) return ENTRY_SOURCE;
      // Not the firmware build: the repository's asconfig.json (HAL abort route) does not apply.
      if (name.endsWith("asconfig.json")) return null;
      const path = join(baseDir, name);
      return existsSync(path) ? readFileSync(path, "utf8") : null;
    },
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith(".wasm") && typeof contents !== "string") binary = new Uint8Array(contents);
    },
    listFiles: () => [],
    stderr: { write: (s: string | Uint8Array) => { errors += String(s); return true; } } as never,
  });
  if (error || binary === undefined) throw new Error(`compiling the parser failed: ${errors || error?.message}`);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), {});
  return instance.exports as unknown as ParserExports;
}

function loadInto(parser: ParserExports, blob: Uint8Array): number {
  new Uint8Array(parser.memory.buffer, parser.bufferAddress(), blob.length).set(blob);
  return parser.parse(blob.length);
}

test("the firmware parser accepts the encoder's blobs and reads the same values", async () => {
  const parser = await compileParser();
  for (const cell of cells) {
    const blob = encodeCellBlob(cell, { parallelCells: 3 });
    const c = decodeCellBlob(blob);
    assert.equal(loadInto(parser, blob), 0, cell.id);
    assert.equal(parser.parallel(), 3);
    assert.equal(parser.moduleCapacity(), Math.fround(c.capacity_Ah * 3));
    TABLE_NAMES.forEach((name, table) => c.tables[name].forEach((row, i) => row.forEach((v, j) => {
      assert.equal(parser.value(table, i, j), v, `${cell.id} ${name}[${i}][${j}]`);
    })));
    // At grid nodes the firmware's OCV is the plant's OCV in f32; between them within the
    // interpolation error.
    c.socAxis.forEach((soc, i) => assert.equal(parser.ocv(soc, 25), c.tables.ocv_V[i]![3]));
    const worst = worstOcvError(cell, (soc) => parser.ocv(soc, 25), (v) => parser.socFromOcv(v, 25));
    assert.ok(worst < 0.01, `${cell.id}: firmware OCV off by ${worst}`);
  }
});

test("the firmware parser refuses what decode refuses", async () => {
  const parser = await compileParser();
  const held = encodeCellBlob(cells[cells.length - 1]!);
  assert.equal(loadInto(parser, held), 0);
  const before = parser.value(0, 3, 2);
  const good = encodeCellBlob(cells[0]!);
  const flipped = good.slice();
  flipped[300] = flipped[300]! ^ 0x04;
  assert.equal(loadInto(parser, flipped), -6, "CRC_MISMATCH");
  const version = good.slice();
  version[4] = 2;
  assert.equal(loadInto(parser, version), -3, "UNSUPPORTED_VERSION");
  assert.equal(loadInto(parser, good.subarray(0, 100)), -1, "TOO_SHORT");
  assert.equal(parser.loaded(), 1);
  assert.equal(parser.value(0, 3, 2), before, "the model keeps the cell it had");
});
