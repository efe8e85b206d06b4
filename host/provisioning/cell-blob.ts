// Cell parameter blob (format version 1): the bytes a node is provisioned with so it knows its
// cell type without a firmware change. The encoder resamples a data/cells/<id>.json parameter set
// onto the firmware's grid (at most 32 SOC x 6 temperature points) with the host plant's own
// interpolation and temperature rules (host/plant/chemistry.ts), so node and plant agree at the
// grid nodes. docs/cell-blob.md describes the layout; assembly/cell/blob.ts is the firmware
// parser, and tests/host/provisioning/cell-blob.test.ts runs it on this encoder's output.
//
// Usage: tsx host/provisioning/cell-blob.ts <cell-id> [--parallel N] [--soc-points N] [-o file]
import { writeFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import {
  loadCell, openCircuitVoltage, resistanceLike, type CellParameters, type CellTable,
} from "../plant/chemistry.ts";

export const CELL_BLOB_MAGIC = 0x4c454353; // "SCEL" little-endian
export const CELL_BLOB_VERSION = 1;
export const MAX_SOC_POINTS = 32;
export const MAX_TEMPERATURE_POINTS = 6;
export const CELL_ID_BYTES = 24;
/** Default SOC grid size: 24 x 5 points give a 3548-byte blob, inside one 4 KiB flash sector. */
export const DEFAULT_SOC_POINTS = 24;
/** Temperatures added to a parameter set's own columns until there are five (degC). */
export const STANDARD_TEMPERATURES_C = [-10, 0, 10, 25, 40] as const;

/** Table order in the blob (and in the firmware's CellModel). */
export const TABLE_NAMES = ["ocv_V", "r0_Ohm", "r1_Ohm", "tau1_s", "r2_Ohm", "tau2_s", "hysteresis_V"] as const;
export type TableName = (typeof TABLE_NAMES)[number];

/**
 * One field of the layout, in order. Offsets and sizes are text because the axes and tables
 * depend on the grid (S SOC points, T temperature points, total length L). The layout table of
 * docs/cell-blob.md is rendered from this list, and the host test reads every fixed-offset field
 * of an encoded blob at the offset given here.
 */
export interface BlobField {
  offset: string;
  bytes: string;
  type: string;
  name: string;
  meaning: string;
}

export const BLOB_FIELDS: readonly BlobField[] = [
  { offset: "0", bytes: "4", type: "u8[4]", name: "magic", meaning: "`SCEL` (0x53 0x43 0x45 0x4C)" },
  { offset: "4", bytes: "2", type: "u16", name: "formatVersion", meaning: "1" },
  { offset: "6", bytes: "2", type: "u16", name: "flags", meaning: "reserved, 0; anything else is refused as an unsupported version" },
  { offset: "8", bytes: "4", type: "u32", name: "totalLength", meaning: "L, bytes of the whole blob including the CRC: 72 + 4 (S + T) + 28 S T" },
  { offset: "12", bytes: "24", type: "u8[24]", name: "cellId", meaning: "ASCII `[a-z0-9-]`, at least one character, NUL padded (the parameter set's id)" },
  { offset: "36", bytes: "1", type: "u8", name: "socPoints", meaning: "S, 2..32" },
  { offset: "37", bytes: "1", type: "u8", name: "temperaturePoints", meaning: "T, 1..6" },
  { offset: "38", bytes: "1", type: "u8", name: "tableCount", meaning: "7" },
  { offset: "39", bytes: "1", type: "u8", name: "parallelCells", meaning: "Np of the module the node measures, 1..255" },
  { offset: "40", bytes: "4", type: "f32", name: "capacity_Ah", meaning: "nominal cell capacity, (0, 2000]" },
  { offset: "44", bytes: "4", type: "f32", name: "coulombicEfficiency", meaning: "fraction of the charging current stored, (0, 1]" },
  { offset: "48", bytes: "4", type: "f32", name: "hysteresisGamma", meaning: "ESC hysteresis rate constant, [0, 1e5]" },
  { offset: "52", bytes: "4", type: "f32", name: "minVoltage_V", meaning: "cell discharge limit, > 0" },
  { offset: "56", bytes: "4", type: "f32", name: "nominalVoltage_V", meaning: "strictly between the two limits" },
  { offset: "60", bytes: "4", type: "f32", name: "maxVoltage_V", meaning: "cell charge limit, <= 6" },
  { offset: "64", bytes: "4", type: "f32", name: "selfDischarge_per_day", meaning: "reversible self-discharge at the set's reference temperature, SOC per day, [0, 0.1]" },
  { offset: "68", bytes: "4 S", type: "f32[S]", name: "socAxis", meaning: "strictly increasing, within [0, 1]" },
  { offset: "68 + 4 S", bytes: "4 T", type: "f32[T]", name: "temperatureAxis_C", meaning: "strictly increasing, within [-60, 100] degC" },
  { offset: "68 + 4 (S + T)", bytes: "28 S T", type: "f32[S T] x 7", name: "tables", meaning: "ocv_V, r0_Ohm, r1_Ohm, tau1_s, r2_Ohm, tau2_s, hysteresis_V in this order; each SOC-major (SOC row i, temperature column j at index i T + j); cell values" },
  { offset: "L - 4", bytes: "4", type: "u32", name: "crc32", meaning: "CRC-32 (IEEE 802.3) of bytes 0 .. L - 5" },
];
const AXES_OFFSET = 68;

/** Everything a blob carries, in plain numbers (f32-rounded when it came from a blob). */
export interface CellBlobContents {
  formatVersion: number;
  cellId: string;
  parallelCells: number;
  capacity_Ah: number;
  coulombicEfficiency: number;
  hysteresisGamma: number;
  minVoltage_V: number;
  nominalVoltage_V: number;
  maxVoltage_V: number;
  selfDischarge_per_day: number;
  socAxis: number[];
  temperatureAxis_C: number[];
  /** tables[name][i][j]: value at socAxis[i], temperatureAxis_C[j]. Cell values (not module). */
  tables: Record<TableName, number[][]>;
}

export interface CellBlobOptions {
  /** Number of SOC points placed by the OCV-shape rule (2..32; default 24). Ignored with socAxis. */
  socPoints?: number;
  /** Explicit SOC axis: strictly increasing, within [0, 1], 2..32 points. */
  socAxis?: number[];
  /** Explicit temperature axis in degC: strictly increasing, 1..6 points. */
  temperatureAxis_C?: number[];
  /** Cells in parallel in the module (1..255; default 1). */
  parallelCells?: number;
}

/** Bytes of a blob with S SOC points and T temperature points. */
export function cellBlobLength(socPoints: number, temperaturePoints: number): number {
  return AXES_OFFSET + 4 * (socPoints + temperaturePoints) + 4 * TABLE_NAMES.length * socPoints * temperaturePoints + 4;
}

// ---------------------------------------------------------------------------------------------
// Resampling

function strictlyIncreasing(axis: readonly number[]): boolean {
  return axis.every((v, k) => Number.isFinite(v) && (k === 0 || v > axis[k - 1]!));
}

/**
 * Voltage counted like 1.0 of SOC when placing SOC points: 0.3 V, the OCV slope below which the
 * node's EKF treats the curve as flat (EkfTuning.flatSlope_V). A segment flatter than that is
 * scored by the SOC error of its inverse, a steeper one by its voltage error in these units.
 */
export const SOC_AXIS_VOLTAGE_SCALE_V = 0.3;

/**
 * SOC points for a piecewise-linear OCV with few knots: greedy insertion, each new point where the
 * true OCV curve is furthest from the current chords, the distance measured perpendicular to the
 * chord in a plane where SOC_AXIS_VOLTAGE_SCALE_V counts like 1.0 of SOC. On a plateau that
 * distance is about the SOC error of the inverse OCV (what a rest-voltage reading and the filter
 * depend on); on the steep ends it is about the voltage error scaled down; so points crowd into
 * the knees and onto the plateau's steps. Candidates lie on a 1/400 SOC lattice (0.25 %), which
 * keeps the axis readable.
 */
export function ocvShapedSocAxis(cell: CellParameters, points: number): number[] {
  const ocv = cell.ocv.ocv_V;
  const first = ocv.soc[0]!;
  const last = ocv.soc[ocv.soc.length - 1]!;
  const reference_C = ocv.temperature_C[0]!;
  const lattice = 400;
  const f = (soc: number): number => openCircuitVoltage(cell, soc, reference_C) / SOC_AXIS_VOLTAGE_SCALE_V;
  const axis = [first, last];
  while (axis.length < points) {
    let worst = -1;
    let where = Number.NaN;
    let after = 0;
    for (let k = 0; k + 1 < axis.length; k++) {
      const a = axis[k]!;
      const b = axis[k + 1]!;
      const va = f(a);
      const slope = (f(b) - va) / (b - a);
      const norm = Math.sqrt(1 + slope * slope);
      for (let n = Math.floor(a * lattice) + 1; n / lattice < b; n++) {
        const soc = n / lattice;
        if (soc <= a) continue;
        const distance = Math.abs(va + slope * (soc - a) - f(soc)) / norm;
        if (distance > worst) {
          worst = distance;
          where = soc;
          after = k;
        }
      }
    }
    if (!(worst > 0)) break; // the curve is piecewise linear on the lattice already
    axis.splice(after + 1, 0, where);
  }
  return axis;
}

/**
 * Default temperature axis: the set's own table columns (rounded to whole degC, merged), then the
 * standard temperatures (-10, 0, 10, 25, 40 degC) not within 5 degC of one of them, until there
 * are five; if the set itself has more than six, six spread evenly over them.
 */
export function defaultTemperatureAxis(cell: CellParameters): number[] {
  const tables: CellTable[] = [cell.ocv.ocv_V, cell.ocv.entropicCoefficient_V_per_K, cell.hysteresis.magnitude_V,
    cell.resistance.r0_Ohm, cell.resistance.r1_Ohm, cell.resistance.tau1_s, cell.resistance.r2_Ohm, cell.resistance.tau2_s];
  const own = [...new Set(tables.flatMap((t) => t.temperature_C.map((c) => Math.round(c))))].sort((a, b) => a - b);
  if (own.length > MAX_TEMPERATURE_POINTS) {
    return Array.from({ length: MAX_TEMPERATURE_POINTS }, (_, k) => own[Math.round((k * (own.length - 1)) / (MAX_TEMPERATURE_POINTS - 1))]!);
  }
  const axis = [...own];
  for (const t of STANDARD_TEMPERATURES_C) {
    if (axis.length >= STANDARD_TEMPERATURES_C.length) break;
    if (axis.every((c) => Math.abs(c - t) >= 5)) axis.push(t);
  }
  return axis.sort((a, b) => a - b);
}

function checkOptions(cell: CellParameters, options: CellBlobOptions): { socAxis: number[]; temperatureAxis_C: number[]; parallelCells: number } {
  const fail = (reason: string): never => {
    throw new Error(`cannot encode cell ${cell.id}: ${reason}`);
  };
  const parallelCells = options.parallelCells ?? 1;
  if (!Number.isInteger(parallelCells) || parallelCells < 1 || parallelCells > 255) fail(`parallelCells must be an integer 1..255, got ${parallelCells}`);
  let socAxis: number[];
  if (options.socAxis !== undefined) {
    socAxis = [...options.socAxis];
  } else {
    const points = options.socPoints ?? DEFAULT_SOC_POINTS;
    if (!Number.isInteger(points) || points < 2 || points > MAX_SOC_POINTS) fail(`socPoints must be an integer 2..${MAX_SOC_POINTS}, got ${points}`);
    socAxis = ocvShapedSocAxis(cell, points);
  }
  if (socAxis.length < 2 || socAxis.length > MAX_SOC_POINTS) fail(`the SOC axis needs 2..${MAX_SOC_POINTS} points, got ${socAxis.length}`);
  if (!strictlyIncreasing(socAxis) || socAxis[0]! < 0 || socAxis[socAxis.length - 1]! > 1) fail(`the SOC axis must be strictly increasing within [0, 1]: ${socAxis.join(", ")}`);
  const temperatureAxis_C = options.temperatureAxis_C !== undefined ? [...options.temperatureAxis_C] : defaultTemperatureAxis(cell);
  if (temperatureAxis_C.length < 1 || temperatureAxis_C.length > MAX_TEMPERATURE_POINTS) fail(`the temperature axis needs 1..${MAX_TEMPERATURE_POINTS} points, got ${temperatureAxis_C.length}`);
  if (!strictlyIncreasing(temperatureAxis_C) || temperatureAxis_C[0]! < -60 || temperatureAxis_C[temperatureAxis_C.length - 1]! > 100) {
    fail(`the temperature axis must be strictly increasing within [-60, 100] degC: ${temperatureAxis_C.join(", ")}`);
  }
  if (!/^[a-z0-9][a-z0-9-]*$/.test(cell.id) || cell.id.length > CELL_ID_BYTES) fail(`the id must be [a-z0-9-] and at most ${CELL_ID_BYTES} characters`);
  return { socAxis, temperatureAxis_C, parallelCells };
}

/**
 * The parameter set on the blob's grid: OCV with the entropic extension, resistances, time
 * constants and hysteresis magnitude with the Arrhenius extension, exactly as the host plant
 * evaluates them (openCircuitVoltage, resistanceLike), rounded to f32.
 */
export function resampleCell(cell: CellParameters, options: CellBlobOptions = {}): CellBlobContents {
  const checked = checkOptions(cell, options);
  // The grid is evaluated at the f32 axis values the firmware will hold.
  const socAxis = checked.socAxis.map(Math.fround);
  const temperatureAxis_C = checked.temperatureAxis_C.map(Math.fround);
  const r = cell.resistance;
  const source: Record<TableName, (soc: number, t: number) => number> = {
    ocv_V: (soc, t) => openCircuitVoltage(cell, soc, t),
    r0_Ohm: (soc, t) => resistanceLike(r.r0_Ohm, soc, t),
    r1_Ohm: (soc, t) => resistanceLike(r.r1_Ohm, soc, t),
    tau1_s: (soc, t) => resistanceLike(r.tau1_s, soc, t),
    r2_Ohm: (soc, t) => resistanceLike(r.r2_Ohm, soc, t),
    tau2_s: (soc, t) => resistanceLike(r.tau2_s, soc, t),
    hysteresis_V: (soc, t) => resistanceLike(cell.hysteresis.magnitude_V, soc, t),
  };
  const tables = {} as Record<TableName, number[][]>;
  for (const name of TABLE_NAMES) {
    tables[name] = socAxis.map((soc) => temperatureAxis_C.map((t) => Math.fround(source[name](soc, t))));
  }
  const e = cell.electrical;
  const contents: CellBlobContents = {
    formatVersion: CELL_BLOB_VERSION,
    cellId: cell.id,
    parallelCells: checked.parallelCells,
    capacity_Ah: Math.fround(e.nominalCapacity_Ah),
    coulombicEfficiency: Math.fround(e.coulombicEfficiency),
    hysteresisGamma: Math.fround(cell.hysteresis.gamma),
    minVoltage_V: Math.fround(e.minVoltage_V),
    nominalVoltage_V: Math.fround(e.nominalVoltage_V),
    maxVoltage_V: Math.fround(e.maxVoltage_V),
    selfDischarge_per_day: Math.fround(cell.selfDischarge.rate_per_day),
    socAxis,
    temperatureAxis_C,
    tables,
  };
  const problems = contentErrors(contents);
  if (problems.length > 0) throw new Error(`cannot encode cell ${cell.id}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  return contents;
}

// ---------------------------------------------------------------------------------------------
// Checks shared by encode and decode (the firmware parser applies the same limits).

interface Limit { min: number; minInclusive: boolean; max: number }
const TABLE_LIMITS: Record<TableName, Limit> = {
  ocv_V: { min: 0, minInclusive: false, max: 6 },
  r0_Ohm: { min: 0, minInclusive: false, max: 10 },
  r1_Ohm: { min: 0, minInclusive: false, max: 10 },
  tau1_s: { min: 0, minInclusive: false, max: 100000 },
  r2_Ohm: { min: 0, minInclusive: false, max: 10 },
  tau2_s: { min: 0, minInclusive: false, max: 100000 },
  hysteresis_V: { min: 0, minInclusive: true, max: 1 },
};

function inside(value: number, limit: Limit): boolean {
  return Number.isFinite(value) && (limit.minInclusive ? value >= limit.min : value > limit.min) && value <= limit.max;
}

/** Reasons a blob's contents would be refused by the firmware (empty when valid). */
export function contentErrors(c: CellBlobContents): string[] {
  const reasons: string[] = [];
  if (!/^[a-z0-9-]+$/.test(c.cellId) || c.cellId.length > CELL_ID_BYTES) reasons.push(`cellId '${c.cellId}': must be 1..${CELL_ID_BYTES} characters of [a-z0-9-]`);
  if (!strictlyIncreasing(c.socAxis) || c.socAxis[0]! < 0 || c.socAxis[c.socAxis.length - 1]! > 1) reasons.push("socAxis: must be strictly increasing within [0, 1]");
  if (!strictlyIncreasing(c.temperatureAxis_C) || c.temperatureAxis_C[0]! < -60 || c.temperatureAxis_C[c.temperatureAxis_C.length - 1]! > 100) {
    reasons.push("temperatureAxis_C: must be strictly increasing within [-60, 100] degC");
  }
  const scalar = (name: string, value: number, ok: boolean): void => {
    if (!ok) reasons.push(`${name}: ${value} is out of range`);
  };
  scalar("capacity_Ah", c.capacity_Ah, c.capacity_Ah > 0 && c.capacity_Ah <= 2000);
  scalar("coulombicEfficiency", c.coulombicEfficiency, c.coulombicEfficiency > 0 && c.coulombicEfficiency <= 1);
  scalar("hysteresisGamma", c.hysteresisGamma, c.hysteresisGamma >= 0 && c.hysteresisGamma <= 1e5);
  scalar("minVoltage_V", c.minVoltage_V, c.minVoltage_V > 0 && c.minVoltage_V < c.nominalVoltage_V);
  scalar("maxVoltage_V", c.maxVoltage_V, c.maxVoltage_V > c.nominalVoltage_V && c.maxVoltage_V <= 6);
  scalar("selfDischarge_per_day", c.selfDischarge_per_day, c.selfDischarge_per_day >= 0 && c.selfDischarge_per_day <= 0.1);
  scalar("parallelCells", c.parallelCells, Number.isInteger(c.parallelCells) && c.parallelCells >= 1 && c.parallelCells <= 255);
  for (const name of TABLE_NAMES) {
    const rows = c.tables[name];
    rows.forEach((row, i) => row.forEach((v, j) => {
      if (!inside(v, TABLE_LIMITS[name])) reasons.push(`tables.${name}[${i}][${j}]: ${v} is out of range`);
    }));
  }
  const ocv = c.tables.ocv_V;
  for (let j = 0; j < c.temperatureAxis_C.length; j++) {
    for (let i = 1; i < c.socAxis.length; i++) {
      if (!(ocv[i]![j]! > ocv[i - 1]![j]!)) {
        reasons.push(`tables.ocv_V: not strictly increasing with SOC at ${c.temperatureAxis_C[j]} degC (${ocv[i]![j]} V at SOC ${c.socAxis[i]} after ${ocv[i - 1]![j]} V)`);
        break;
      }
    }
  }
  return reasons;
}

// ---------------------------------------------------------------------------------------------
// Encoding and decoding

/** Serialises contents (already on the grid) into a blob. Throws when the firmware would refuse it. */
export function encodeCellBlobContents(c: CellBlobContents): Uint8Array {
  const problems = contentErrors(c);
  if (problems.length > 0) throw new Error(`cannot encode cell blob ${c.cellId}:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  const s = c.socAxis.length;
  const t = c.temperatureAxis_C.length;
  if (s < 2 || s > MAX_SOC_POINTS || t < 1 || t > MAX_TEMPERATURE_POINTS) throw new Error(`cannot encode cell blob ${c.cellId}: grid ${s} x ${t} outside 2..32 x 1..6`);
  for (const name of TABLE_NAMES) {
    if (c.tables[name].length !== s || c.tables[name].some((row) => row.length !== t)) throw new Error(`cannot encode cell blob ${c.cellId}: table ${name} is not ${s} x ${t}`);
  }
  const total = cellBlobLength(s, t);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, CELL_BLOB_MAGIC, true);
  view.setUint16(4, CELL_BLOB_VERSION, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, total, true);
  for (let k = 0; k < c.cellId.length; k++) bytes[12 + k] = c.cellId.charCodeAt(k);
  bytes[36] = s;
  bytes[37] = t;
  bytes[38] = TABLE_NAMES.length;
  bytes[39] = c.parallelCells;
  const scalars = [c.capacity_Ah, c.coulombicEfficiency, c.hysteresisGamma, c.minVoltage_V, c.nominalVoltage_V, c.maxVoltage_V, c.selfDischarge_per_day];
  scalars.forEach((v, k) => view.setFloat32(40 + 4 * k, v, true));
  let offset = AXES_OFFSET;
  const put = (v: number): void => {
    view.setFloat32(offset, v, true);
    offset += 4;
  };
  c.socAxis.forEach(put);
  c.temperatureAxis_C.forEach(put);
  for (const name of TABLE_NAMES) for (const row of c.tables[name]) row.forEach(put);
  view.setUint32(offset, crc32(bytes.subarray(0, offset)) >>> 0, true);
  return bytes;
}

/** Resamples a parameter set onto the firmware grid and serialises it. */
export function encodeCellBlob(cell: CellParameters, options: CellBlobOptions = {}): Uint8Array {
  return encodeCellBlobContents(resampleCell(cell, options));
}

/** Parses and checks a blob (the same checks as the firmware); throws an Error naming the first problem. */
export function decodeCellBlob(bytes: Uint8Array): CellBlobContents {
  const fail = (reason: string): never => {
    throw new Error(`invalid cell blob: ${reason}`);
  };
  if (bytes.length < AXES_OFFSET) fail(`${bytes.length} bytes is shorter than the ${AXES_OFFSET}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== CELL_BLOB_MAGIC) fail(`bad magic 0x${magic.toString(16).padStart(8, "0")} (expected 'SCEL')`);
  const version = view.getUint16(4, true);
  if (version !== CELL_BLOB_VERSION) fail(`format version ${version} is not supported (this tool reads version ${CELL_BLOB_VERSION})`);
  const flags = view.getUint16(6, true);
  if (flags !== 0) fail(`reserved flags 0x${flags.toString(16)} are set (unsupported extension)`);
  const s = bytes[36]!;
  const t = bytes[37]!;
  if (s < 2 || s > MAX_SOC_POINTS || t < 1 || t > MAX_TEMPERATURE_POINTS) fail(`grid ${s} x ${t} is outside 2..${MAX_SOC_POINTS} x 1..${MAX_TEMPERATURE_POINTS}`);
  if (bytes[38] !== TABLE_NAMES.length) fail(`table count ${bytes[38]} (expected ${TABLE_NAMES.length})`);
  const total = cellBlobLength(s, t);
  const declared = view.getUint32(8, true);
  if (declared !== total) fail(`total length field says ${declared} bytes, a ${s} x ${t} grid needs ${total}`);
  if (bytes.length < total) fail(`${bytes.length} bytes is shorter than the blob's ${total}`);
  const stored = view.getUint32(total - 4, true);
  const computed = crc32(bytes.subarray(0, total - 4)) >>> 0;
  if (stored !== computed) fail(`CRC mismatch: stored 0x${stored.toString(16).padStart(8, "0")}, computed 0x${computed.toString(16).padStart(8, "0")}`);
  const idBytes = bytes.subarray(12, 12 + CELL_ID_BYTES);
  const idLength = idBytes.indexOf(0) < 0 ? CELL_ID_BYTES : idBytes.indexOf(0);
  if (idBytes.subarray(idLength).some((b) => b !== 0)) fail("cellId is not NUL padded");
  let offset = AXES_OFFSET;
  const next = (): number => {
    const v = view.getFloat32(offset, true);
    offset += 4;
    return v;
  };
  const socAxis = Array.from({ length: s }, next);
  const temperatureAxis_C = Array.from({ length: t }, next);
  const tables = {} as Record<TableName, number[][]>;
  for (const name of TABLE_NAMES) tables[name] = Array.from({ length: s }, () => Array.from({ length: t }, next));
  const contents: CellBlobContents = {
    formatVersion: version,
    cellId: String.fromCharCode(...idBytes.subarray(0, idLength)),
    parallelCells: bytes[39]!,
    capacity_Ah: view.getFloat32(40, true),
    coulombicEfficiency: view.getFloat32(44, true),
    hysteresisGamma: view.getFloat32(48, true),
    minVoltage_V: view.getFloat32(52, true),
    nominalVoltage_V: view.getFloat32(56, true),
    maxVoltage_V: view.getFloat32(60, true),
    selfDischarge_per_day: view.getFloat32(64, true),
    socAxis,
    temperatureAxis_C,
    tables,
  };
  const problems = contentErrors(contents);
  if (problems.length > 0) fail(problems.join("; "));
  return contents;
}

/** The byte-layout table of docs/cell-blob.md, rendered from BLOB_FIELDS. */
export function renderLayoutTable(): string {
  const rows = ["| offset | bytes | type | field | meaning |", "|---|---|---|---|---|"];
  for (const f of BLOB_FIELDS) rows.push(`| ${f.offset} | ${f.bytes} | ${f.type} | \`${f.name}\` | ${f.meaning} |`);
  return rows.join("\n");
}

function main(argv: string[]): void {
  const usage = "usage: tsx host/provisioning/cell-blob.ts <cell-id | path.json> [--parallel N] [--soc-points N] [-o out.bin]";
  let id: string | undefined;
  let output: string | undefined;
  const options: CellBlobOptions = {};
  for (let k = 0; k < argv.length; k++) {
    const arg = argv[k]!;
    const value = (): string => {
      const v = argv[++k];
      if (v === undefined) throw new Error(`${arg} needs a value\n${usage}`);
      return v;
    };
    if (arg === "--parallel") options.parallelCells = Number(value());
    else if (arg === "--soc-points") options.socPoints = Number(value());
    else if (arg === "-o") output = value();
    else if (id === undefined && !arg.startsWith("-")) id = arg;
    else throw new Error(`unexpected argument '${arg}'\n${usage}`);
  }
  if (id === undefined) throw new Error(usage);
  const blob = encodeCellBlob(loadCell(id), options);
  const contents = decodeCellBlob(blob);
  const path = output ?? `${contents.cellId}.cellblob`;
  writeFileSync(path, blob);
  console.log(`${path}: ${blob.length} bytes, cell ${contents.cellId}, Np ${contents.parallelCells}, `
    + `${contents.socAxis.length} SOC x ${contents.temperatureAxis_C.length} temperature points (${contents.temperatureAxis_C.join(", ")} degC)`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
