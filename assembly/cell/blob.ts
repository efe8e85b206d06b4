// Cell parameter blob, format version 1: how a node learns its cell type from data in flash
// instead of code. docs/cell-blob.md is the byte-layout twin of this file; the host encoder is
// host/provisioning/cell-blob.ts, and tests/host/provisioning/cell-blob.test.ts parses its output
// with this parser. Little-endian, f32 values, CRC-32 (IEEE 802.3) over everything before it.
//
// parseCellBlob validates the whole blob first and copies it into the model only when every check
// has passed, so a bad blob leaves the model exactly as it was (empty or the previous cell type).
import { crc32 } from "../storage/crc32";
import { CellModel, CellTable, CELL_TABLE_COUNT, CELL_ID_BYTES, MAX_SOC_POINTS, MAX_TEMPERATURE_POINTS } from "./model";

/** "SCEL" (Strata CELl) in the first four bytes. */
export const CELL_BLOB_MAGIC: u32 = 0x4c454353;
export const CELL_BLOB_VERSION: i32 = 1;

export namespace CellBlobOffset {
  export const MAGIC: i32 = 0;
  export const VERSION: i32 = 4;
  export const FLAGS: i32 = 6;
  export const TOTAL_LENGTH: i32 = 8;
  export const CELL_ID: i32 = 12;
  export const SOC_POINTS: i32 = 36;
  export const TEMPERATURE_POINTS: i32 = 37;
  export const TABLE_COUNT: i32 = 38;
  export const PARALLEL_CELLS: i32 = 39;
  export const CAPACITY_Ah: i32 = 40;
  export const COULOMBIC_EFFICIENCY: i32 = 44;
  export const HYSTERESIS_GAMMA: i32 = 48;
  export const MIN_VOLTAGE_V: i32 = 52;
  export const NOMINAL_VOLTAGE_V: i32 = 56;
  export const MAX_VOLTAGE_V: i32 = 60;
  export const SELF_DISCHARGE_per_day: i32 = 64;
  /** SOC axis, then temperature axis, then the tables, then the CRC. */
  export const AXES: i32 = 68;
}

export namespace CellBlobError {
  export const OK: i32 = 0;
  /** Fewer bytes than the fixed header, or than the blob's own total length. */
  export const TOO_SHORT: i32 = -1;
  export const BAD_MAGIC: i32 = -2;
  /** A format version (or a reserved flag) this firmware does not know. */
  export const UNSUPPORTED_VERSION: i32 = -3;
  /** Grid sizes outside 2..32 x 1..6, a table count other than 7, or a total length that disagrees with them. */
  export const BAD_SIZES: i32 = -4;
  /** The grid is larger than the CellModel was built to hold. */
  export const MODEL_TOO_SMALL: i32 = -5;
  export const CRC_MISMATCH: i32 = -6;
  /** Cell id empty, not [a-z0-9-], or not NUL padded. */
  export const BAD_ID: i32 = -7;
  /** An axis not strictly increasing or outside its range (SOC 0..1, temperature -60..100 degC). */
  export const BAD_AXIS: i32 = -8;
  /** OCV not strictly increasing with SOC in some temperature column. */
  export const OCV_NOT_MONOTONIC: i32 = -9;
  /** A scalar or table value outside its plausible range, or not finite. */
  export const OUT_OF_RANGE: i32 = -10;
}

/** Total blob length in bytes for a grid of socPoints x temperaturePoints. */
export function cellBlobLength(socPoints: i32, temperaturePoints: i32): i32 {
  return CellBlobOffset.AXES + 4 * (socPoints + temperaturePoints) + 4 * CELL_TABLE_COUNT * socPoints * temperaturePoints + 4;
}

// Plausibility limits. They reject corrupt or mis-scaled data (a value in mOhm where Ohm is due),
// not unusual cells, so each is wide; docs/cell-blob.md lists them.
/** Largest cell capacity accepted, Ah: the biggest commercial prismatic cells are a few hundred Ah. */
const CAPACITY_MAX_Ah: f32 = 2000;
/** Highest voltage accepted anywhere, V: above every Li-ion and Na-ion charge limit (<= 4.5 V). */
const VOLTAGE_MAX_V: f32 = 6;
/** Largest cell resistance accepted, Ohm (small cells are tens of mOhm, cold ones a few hundred). */
const RESISTANCE_MAX_Ohm: f32 = 10;
/** Longest RC time constant accepted, s (diffusion branches are minutes to an hour). */
const TIME_CONSTANT_MAX_s: f32 = 100000;
/** Largest hysteresis magnitude accepted, V (LFP, the worst common case, is tens of mV). */
const HYSTERESIS_MAX_V: f32 = 1;
/** Largest hysteresis rate constant accepted (published ESC fits are 1..1000). */
const GAMMA_MAX: f32 = 100000;
/** Largest self-discharge accepted, SOC per day (10 %/day is a defective cell). */
const SELF_DISCHARGE_MAX_per_day: f32 = 0.1;
/** Temperature axis range, degC: beyond any cell's storage limits. */
const TEMPERATURE_AXIS_MIN_C: f32 = -60;
const TEMPERATURE_AXIS_MAX_C: f32 = 100;

// @ts-ignore: decorator
@inline
function f32At(ptr: usize, offset: i32): f32 {
  return load<f32>(ptr + <usize>offset);
}

// @ts-ignore: decorator
@inline
function within(value: f32, lo: f32, hi: f32): bool {
  // False for NaN, which compares false with everything.
  return value >= lo && value <= hi;
}

// @ts-ignore: decorator
@inline
function positiveAtMost(value: f32, hi: f32): bool {
  return value > 0 && value <= hi;
}

function idIsValid(ptr: usize): bool {
  let length = 0;
  while (length < CELL_ID_BYTES && load<u8>(ptr + <usize>(CellBlobOffset.CELL_ID + length)) != 0) length++;
  if (length == 0) return false;
  for (let k = 0; k < CELL_ID_BYTES; k++) {
    const c = <i32>load<u8>(ptr + <usize>(CellBlobOffset.CELL_ID + k));
    if (k >= length) {
      if (c != 0) return false;
    } else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d)) {
      return false;
    }
  }
  return true;
}

function axesAreValid(ptr: usize, socPoints: i32, temperaturePoints: i32): bool {
  const soc = CellBlobOffset.AXES;
  for (let i = 0; i < socPoints; i++) {
    const s = f32At(ptr, soc + 4 * i);
    if (!within(s, 0, 1)) return false;
    if (i > 0 && !(s > f32At(ptr, soc + 4 * (i - 1)))) return false;
  }
  const temperature = soc + 4 * socPoints;
  for (let j = 0; j < temperaturePoints; j++) {
    const t = f32At(ptr, temperature + 4 * j);
    if (!within(t, TEMPERATURE_AXIS_MIN_C, TEMPERATURE_AXIS_MAX_C)) return false;
    if (j > 0 && !(t > f32At(ptr, temperature + 4 * (j - 1)))) return false;
  }
  return true;
}

function scalarsAreValid(ptr: usize): bool {
  const vMin = f32At(ptr, CellBlobOffset.MIN_VOLTAGE_V);
  const vNominal = f32At(ptr, CellBlobOffset.NOMINAL_VOLTAGE_V);
  const vMax = f32At(ptr, CellBlobOffset.MAX_VOLTAGE_V);
  return positiveAtMost(f32At(ptr, CellBlobOffset.CAPACITY_Ah), CAPACITY_MAX_Ah)
    && positiveAtMost(f32At(ptr, CellBlobOffset.COULOMBIC_EFFICIENCY), 1)
    && within(f32At(ptr, CellBlobOffset.HYSTERESIS_GAMMA), 0, GAMMA_MAX)
    && positiveAtMost(vMin, VOLTAGE_MAX_V) && positiveAtMost(vMax, VOLTAGE_MAX_V)
    && vMin < vNominal && vNominal < vMax
    && within(f32At(ptr, CellBlobOffset.SELF_DISCHARGE_per_day), 0, SELF_DISCHARGE_MAX_per_day)
    && load<u8>(ptr + <usize>CellBlobOffset.PARALLEL_CELLS) >= 1;
}

/** Checks every table value; returns OK, OCV_NOT_MONOTONIC or OUT_OF_RANGE. */
function tablesError(ptr: usize, socPoints: i32, temperaturePoints: i32): i32 {
  const tables = CellBlobOffset.AXES + 4 * (socPoints + temperaturePoints);
  const stride = 4 * socPoints * temperaturePoints;
  for (let table = 0; table < CELL_TABLE_COUNT; table++) {
    const base = tables + table * stride;
    for (let i = 0; i < socPoints; i++) {
      for (let j = 0; j < temperaturePoints; j++) {
        const v = f32At(ptr, base + 4 * (i * temperaturePoints + j));
        let ok: bool;
        if (table == CellTable.OCV_V) ok = positiveAtMost(v, VOLTAGE_MAX_V);
        else if (table == CellTable.TAU1_s || table == CellTable.TAU2_s) ok = positiveAtMost(v, TIME_CONSTANT_MAX_s);
        else if (table == CellTable.HYSTERESIS_V) ok = within(v, 0, HYSTERESIS_MAX_V);
        else ok = positiveAtMost(v, RESISTANCE_MAX_Ohm);
        if (!ok) return CellBlobError.OUT_OF_RANGE;
        if (table == CellTable.OCV_V && i > 0 && !(v > f32At(ptr, base + 4 * ((i - 1) * temperaturePoints + j)))) {
          return CellBlobError.OCV_NOT_MONOTONIC;
        }
      }
    }
  }
  return CellBlobError.OK;
}

/**
 * Validates the blob at ptr (length readable bytes, which may exceed the blob: a whole flash
 * sector can be passed) and, only if it is valid, installs it into model. Returns 0 or a
 * CellBlobError code. Allocates nothing.
 */
export function parseCellBlob(ptr: usize, length: i32, model: CellModel): i32 {
  if (length < CellBlobOffset.AXES) return CellBlobError.TOO_SHORT;
  if (load<u32>(ptr + <usize>CellBlobOffset.MAGIC) != CELL_BLOB_MAGIC) return CellBlobError.BAD_MAGIC;
  if (<i32>load<u16>(ptr + <usize>CellBlobOffset.VERSION) != CELL_BLOB_VERSION) return CellBlobError.UNSUPPORTED_VERSION;
  if (load<u16>(ptr + <usize>CellBlobOffset.FLAGS) != 0) return CellBlobError.UNSUPPORTED_VERSION;
  const socPoints = <i32>load<u8>(ptr + <usize>CellBlobOffset.SOC_POINTS);
  const temperaturePoints = <i32>load<u8>(ptr + <usize>CellBlobOffset.TEMPERATURE_POINTS);
  if (socPoints < 2 || socPoints > MAX_SOC_POINTS || temperaturePoints < 1 || temperaturePoints > MAX_TEMPERATURE_POINTS) return CellBlobError.BAD_SIZES;
  if (<i32>load<u8>(ptr + <usize>CellBlobOffset.TABLE_COUNT) != CELL_TABLE_COUNT) return CellBlobError.BAD_SIZES;
  const total = cellBlobLength(socPoints, temperaturePoints);
  if (load<u32>(ptr + <usize>CellBlobOffset.TOTAL_LENGTH) != <u32>total) return CellBlobError.BAD_SIZES;
  if (length < total) return CellBlobError.TOO_SHORT;
  if (crc32(ptr, total - 4) != load<u32>(ptr + <usize>(total - 4))) return CellBlobError.CRC_MISMATCH;
  if (socPoints > model.maxSocPoints || temperaturePoints > model.maxTemperaturePoints) return CellBlobError.MODEL_TOO_SMALL;
  if (!idIsValid(ptr)) return CellBlobError.BAD_ID;
  if (!axesAreValid(ptr, socPoints, temperaturePoints)) return CellBlobError.BAD_AXIS;
  if (!scalarsAreValid(ptr)) return CellBlobError.OUT_OF_RANGE;
  const tables = tablesError(ptr, socPoints, temperaturePoints);
  if (tables != CellBlobError.OK) return tables;

  // Everything checked: copy. Nothing below can fail.
  model.socPoints = socPoints;
  model.temperaturePoints = temperaturePoints;
  for (let k = 0; k < CELL_ID_BYTES; k++) model.cellId[k] = load<u8>(ptr + <usize>(CellBlobOffset.CELL_ID + k));
  for (let i = 0; i < socPoints; i++) model.socAxis[i] = f32At(ptr, CellBlobOffset.AXES + 4 * i);
  const temperatureAxis = CellBlobOffset.AXES + 4 * socPoints;
  for (let j = 0; j < temperaturePoints; j++) model.temperatureAxis_C[j] = f32At(ptr, temperatureAxis + 4 * j);
  const tableData = temperatureAxis + 4 * temperaturePoints;
  const cells = socPoints * temperaturePoints;
  for (let table = 0; table < CELL_TABLE_COUNT; table++) {
    for (let n = 0; n < cells; n++) {
      // Row-major (i * temperaturePoints + j) in both the blob and the model.
      model.tables[table * model.tableStride + n] = f32At(ptr, tableData + 4 * (table * cells + n));
    }
  }
  model.cellCapacity_Ah = f32At(ptr, CellBlobOffset.CAPACITY_Ah);
  model.coulombicEfficiency = f32At(ptr, CellBlobOffset.COULOMBIC_EFFICIENCY);
  model.hysteresisGamma = f32At(ptr, CellBlobOffset.HYSTERESIS_GAMMA);
  model.minVoltage_V = f32At(ptr, CellBlobOffset.MIN_VOLTAGE_V);
  model.nominalVoltage_V = f32At(ptr, CellBlobOffset.NOMINAL_VOLTAGE_V);
  model.maxVoltage_V = f32At(ptr, CellBlobOffset.MAX_VOLTAGE_V);
  model.selfDischarge_per_day = f32At(ptr, CellBlobOffset.SELF_DISCHARGE_per_day);
  model.parallelCells = <i32>load<u8>(ptr + <usize>CellBlobOffset.PARALLEL_CELLS);
  model.loaded = true;
  return CellBlobError.OK;
}
