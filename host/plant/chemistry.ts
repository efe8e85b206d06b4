// Cell parameter sets (data/cells/<id>.json): types, validation against the JSON Schema plus the
// checks a schema cannot express, clamped table interpolation, and the compiled uniform grid that
// the cell model reads in its hot path. docs/chemistry.md describes the format and the equations.
import { readFileSync, existsSync, readdirSync } from "node:fs";
import { join, basename } from "node:path";
import { Ajv } from "ajv";
import { repoRoot } from "../abi.ts";

/** values[i][j] is the value at soc[i], temperature_C[j]; see docs/chemistry.md for the temperature rule. */
export interface CellTable {
  soc: number[];
  temperature_C: number[];
  values: number[][];
  activationEnergy_J_per_mol?: number;
}

/** values[i][j] is the value at meanSoc[i], dod[j]. */
export interface StressTable {
  meanSoc: number[];
  dod: number[];
  values: number[][];
}

export interface SourceReference {
  key: string;
  authors: string;
  title: string;
  publication: string;
  year: number;
  doi?: string;
  url?: string;
  usedFor: string;
}

export interface CalendarLaw {
  /** k(SOC, T) in (fraction lost) per day^timeExponent; rate-like in temperature. */
  rate: CellTable;
  timeExponent: number;
}

export interface CycleLaw {
  /** k(mean SOC, DOD) in (fraction) per FEC^throughputExponent at the reference temperature. */
  rate: StressTable;
  throughputExponent: number;
  cRateFactor: { intercept: number; slope: number };
  activationEnergy_J_per_mol: number;
  referenceTemperature_C: number;
}

export interface CellParameters {
  id: string;
  name: string;
  manufacturer: string;
  model: string;
  chemistry: string;
  formFactor: string;
  source: SourceReference[];
  notes: string[];
  electrical: {
    nominalCapacity_Ah: number;
    nominalVoltage_V: number;
    minVoltage_V: number;
    maxVoltage_V: number;
    coulombicEfficiency: number;
  };
  ocv: { ocv_V: CellTable; entropicCoefficient_V_per_K: CellTable };
  resistance: { r0_Ohm: CellTable; r1_Ohm: CellTable; tau1_s: CellTable; r2_Ohm: CellTable; tau2_s: CellTable };
  hysteresis: { magnitude_V: CellTable; gamma: number };
  thermal: { mass_kg: number; specificHeat_J_per_kgK: number; surfaceArea_m2: number; convectiveCoefficient_W_per_m2K: number };
  selfDischarge: { rate_per_day: number; referenceTemperature_C: number; activationEnergy_J_per_mol: number };
  ageing: {
    calendar: { capacity: CalendarLaw; resistance: CalendarLaw };
    cycle: { capacity: CycleLaw; resistance: CycleLaw };
  };
}

export const cellsDir = join(repoRoot, "data", "cells");
const schemaPath = join(cellsDir, "schema", "cell.schema.json");

export const GAS_CONSTANT_J_per_molK = 8.314462618;
export const ZERO_CELSIUS_K = 273.15;

let validator: ReturnType<Ajv["compile"]> | undefined;

function fieldName(instancePath: string): string {
  return instancePath === "" ? "(top level)" : instancePath.slice(1).replace(/\//g, ".");
}

/** Validates a parsed cell object; throws an Error naming the file, each offending field and the reason. */
export function validateCell(data: unknown, source: string): CellParameters {
  if (validator === undefined) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validator = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")) as object);
  }
  const fail = (reasons: string[]): never => {
    throw new Error(`invalid cell definition ${source}:\n${reasons.map((r) => `  ${r}`).join("\n")}`);
  };
  if (!validator(data)) {
    fail((validator.errors ?? []).map((e) => {
      if (e.keyword === "required") {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        const parent = fieldName(e.instancePath);
        return `${parent === "(top level)" ? missing : `${parent}.${missing}`}: is required`;
      }
      const extra = e.keyword === "additionalProperties"
        ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'`
        : "";
      return `${fieldName(e.instancePath)}: ${e.message ?? "invalid"}${extra}`;
    }));
  }
  const cell = data as CellParameters;
  const reasons = semanticErrors(cell);
  if (reasons.length > 0) fail(reasons);
  return cell;
}

function increasingErrors(axis: readonly number[], field: string, reasons: string[]): void {
  for (let k = 1; k < axis.length; k++) {
    if (!(axis[k]! > axis[k - 1]!)) {
      reasons.push(`${field}: must be strictly increasing (element ${k}: ${axis[k]} after ${axis[k - 1]})`);
      return;
    }
  }
}

function shapeErrors(rows: readonly (readonly number[])[], rowCount: number, columnCount: number, field: string, reasons: string[]): boolean {
  if (rows.length !== rowCount) {
    reasons.push(`${field}.values: has ${rows.length} rows, expected one per point of the first axis (${rowCount})`);
    return false;
  }
  for (let k = 0; k < rows.length; k++) {
    if (rows[k]!.length !== columnCount) {
      reasons.push(`${field}.values.${k}: has ${rows[k]!.length} columns, expected one per point of the second axis (${columnCount})`);
      return false;
    }
  }
  return true;
}

type Sign = "any" | "positive" | "nonNegative";

/** arrhenius: whether the field's documented meaning allows a single-column activation energy. */
function tableErrors(table: CellTable, field: string, sign: Sign, reasons: string[], arrhenius = false): boolean {
  const before = reasons.length;
  if (table.activationEnergy_J_per_mol !== undefined) {
    if (!arrhenius) reasons.push(`${field}.activationEnergy_J_per_mol: not used for this table (temperature dependence goes into temperature_C columns)`);
    else if (table.temperature_C.length > 1) reasons.push(`${field}.activationEnergy_J_per_mol: only allowed with a single temperature column`);
  }
  increasingErrors(table.soc, `${field}.soc`, reasons);
  increasingErrors(table.temperature_C, `${field}.temperature_C`, reasons);
  if (shapeErrors(table.values, table.soc.length, table.temperature_C.length, field, reasons) && sign !== "any") {
    table.values.forEach((row, i) => row.forEach((v, j) => {
      if (sign === "positive" ? !(v > 0) : !(v >= 0)) {
        reasons.push(`${field}.values.${i}.${j}: must be ${sign === "positive" ? "> 0" : ">= 0"} (is ${v})`);
      }
    }));
  }
  return reasons.length === before;
}

function semanticErrors(cell: CellParameters): string[] {
  const reasons: string[] = [];
  const e = cell.electrical;
  if (!(e.minVoltage_V < e.nominalVoltage_V && e.nominalVoltage_V < e.maxVoltage_V)) {
    reasons.push(`electrical: needs minVoltage_V < nominalVoltage_V < maxVoltage_V (${e.minVoltage_V}, ${e.nominalVoltage_V}, ${e.maxVoltage_V})`);
  }
  const ocv = cell.ocv.ocv_V;
  if (tableErrors(ocv, "ocv.ocv_V", "positive", reasons)) {
    if (ocv.soc.length < 2) reasons.push("ocv.ocv_V.soc: needs at least two points");
    for (let j = 0; j < ocv.temperature_C.length; j++) {
      for (let i = 1; i < ocv.soc.length; i++) {
        if (!(ocv.values[i]![j]! > ocv.values[i - 1]![j]!)) {
          reasons.push(`ocv.ocv_V.values.${i}.${j}: OCV must increase strictly with SOC (${ocv.values[i]![j]} V at SOC ${ocv.soc[i]} after ${ocv.values[i - 1]![j]} V)`);
          break;
        }
      }
    }
  }
  tableErrors(cell.ocv.entropicCoefficient_V_per_K, "ocv.entropicCoefficient_V_per_K", "any", reasons);
  for (const name of ["r0_Ohm", "r1_Ohm", "tau1_s", "r2_Ohm", "tau2_s"] as const) {
    tableErrors(cell.resistance[name], `resistance.${name}`, "positive", reasons, true);
  }
  tableErrors(cell.hysteresis.magnitude_V, "hysteresis.magnitude_V", "nonNegative", reasons);
  for (const kind of ["capacity", "resistance"] as const) {
    tableErrors(cell.ageing.calendar[kind].rate, `ageing.calendar.${kind}.rate`, "nonNegative", reasons, true);
    const stress = cell.ageing.cycle[kind].rate;
    const field = `ageing.cycle.${kind}.rate`;
    increasingErrors(stress.meanSoc, `${field}.meanSoc`, reasons);
    increasingErrors(stress.dod, `${field}.dod`, reasons);
    shapeErrors(stress.values, stress.meanSoc.length, stress.dod.length, field, reasons);
  }
  return reasons;
}

/** Ids of the parameter sets in data/cells/. */
export function listCells(): string[] {
  return readdirSync(cellsDir).filter((f) => f.endsWith(".json")).map((f) => basename(f, ".json")).sort();
}

/** Loads and validates data/cells/<id>.json, or a path to a cell file. */
export function loadCell(idOrPath: string): CellParameters {
  const path = idOrPath.endsWith(".json") ? idOrPath : join(cellsDir, `${idOrPath}.json`);
  if (!existsSync(path)) throw new Error(`cell definition not found: ${path}`);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new Error(`cell definition ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const cell = validateCell(data, path);
  if (cell.id !== basename(path, ".json")) {
    throw new Error(`invalid cell definition ${path}:\n  id: '${cell.id}' must equal the file name '${basename(path, ".json")}'`);
  }
  return cell;
}

// ---------------------------------------------------------------------------------------------
// Table interpolation. Linear (1-D) and bilinear (2-D), clamped at the axis ends, no allocation.

/** Index k of the interval axis[k] <= x < axis[k+1], clamped to [0, n-2] (0 for a single point). */
export function findInterval(axis: ArrayLike<number>, x: number): number {
  const n = axis.length;
  if (n < 2 || x <= axis[0]!) return 0;
  if (x >= axis[n - 1]!) return n - 2;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (axis[mid]! <= x) lo = mid; else hi = mid;
  }
  return lo;
}

/** Weight of axis[k+1] for x in interval k, clamped to [0, 1]. */
function weight(axis: ArrayLike<number>, k: number, x: number): number {
  if (axis.length < 2) return 0;
  const w = (x - axis[k]!) / (axis[k + 1]! - axis[k]!);
  return w < 0 ? 0 : w > 1 ? 1 : w;
}

/** Linear interpolation of values over axis at x, clamped at the ends. */
export function interpolate1(axis: ArrayLike<number>, values: ArrayLike<number>, x: number): number {
  const k = findInterval(axis, x);
  if (axis.length < 2) return values[0]!;
  const w = weight(axis, k, x);
  return values[k]! + w * (values[k + 1]! - values[k]!);
}

/** Bilinear interpolation of rows (values[i][j] at a[i], b[j]), clamped at the edges. */
export function interpolate2(a: ArrayLike<number>, b: ArrayLike<number>, rows: readonly (ArrayLike<number>)[], x: number, y: number): number {
  const i = findInterval(a, x);
  const j = findInterval(b, y);
  const wi = weight(a, i, x);
  const wj = weight(b, j, y);
  const i1 = a.length < 2 ? i : i + 1;
  const j1 = b.length < 2 ? j : j + 1;
  const r0 = rows[i]!;
  const r1 = rows[i1]!;
  const v0 = r0[j]! + wj * (r0[j1]! - r0[j]!);
  const v1 = r1[j]! + wj * (r1[j1]! - r1[j]!);
  return v0 + wi * (v1 - v0);
}

/** Bilinear lookup of a cell table exactly as stored (no temperature extension). */
export function lookupTable(table: CellTable, soc: number, temperature_C: number): number {
  return interpolate2(table.soc, table.temperature_C, table.values, soc, temperature_C);
}

/** Bilinear lookup of an ageing stress table. */
export function lookupStress(table: StressTable, meanSoc: number, dod: number): number {
  return interpolate2(table.meanSoc, table.dod, table.values, meanSoc, dod);
}

/** exp(Ea/R (1/T - 1/Tref)): > 1 below Tref. Resistances scale with it, rates with its inverse. */
export function arrheniusFactor(activationEnergy_J_per_mol: number, temperature_C: number, reference_C: number): number {
  return Math.exp((activationEnergy_J_per_mol / GAS_CONSTANT_J_per_molK)
    * (1 / (temperature_C + ZERO_CELSIUS_K) - 1 / (reference_C + ZERO_CELSIUS_K)));
}

/** A resistance-like table (value grows when cold) at (soc, T), applying the single-column Arrhenius rule. */
export function resistanceLike(table: CellTable, soc: number, temperature_C: number): number {
  const value = lookupTable(table, soc, temperature_C);
  if (table.temperature_C.length > 1 || table.activationEnergy_J_per_mol === undefined) return value;
  return value * arrheniusFactor(table.activationEnergy_J_per_mol, temperature_C, table.temperature_C[0]!);
}

/** A rate-like table (value grows when hot) at (soc, T), applying the single-column Arrhenius rule. */
export function rateLike(table: CellTable, soc: number, temperature_C: number): number {
  const value = lookupTable(table, soc, temperature_C);
  if (table.temperature_C.length > 1 || table.activationEnergy_J_per_mol === undefined) return value;
  return value / arrheniusFactor(table.activationEnergy_J_per_mol, temperature_C, table.temperature_C[0]!);
}

/**
 * OCV at (soc, T): the table itself when it has several temperature columns, else extended by
 * dOCV/dT. Outside the table's SOC range the end segments are extended linearly, so an over-
 * discharged or overcharged cell shows the collapsing or soaring voltage a BMS must react to
 * instead of a flat clamp.
 */
export function openCircuitVoltage(cell: CellParameters, soc: number, temperature_C: number): number {
  const ocv = cell.ocv.ocv_V;
  const axis = ocv.soc;
  const last = axis.length - 1;
  const edge = soc < axis[0]! ? 0 : soc > axis[last]! ? last - 1 : -1;
  let value: number;
  if (edge < 0) {
    value = lookupTable(ocv, soc, temperature_C);
  } else {
    const low = lookupTable(ocv, axis[edge]!, temperature_C);
    const high = lookupTable(ocv, axis[edge + 1]!, temperature_C);
    value = low + ((high - low) / (axis[edge + 1]! - axis[edge]!)) * (soc - axis[edge]!);
  }
  if (ocv.temperature_C.length > 1) return value;
  return value + (temperature_C - ocv.temperature_C[0]!) * lookupTable(cell.ocv.entropicCoefficient_V_per_K, soc, temperature_C);
}

// ---------------------------------------------------------------------------------------------
// Compiled grid: every electrical table resampled once onto one uniform (SOC, T) grid, interleaved
// per node, so a cell step locates itself with two multiplications and reads 4 adjacent records.
// The SOC axis runs 10 % beyond both ends so the extrapolated OCV is visible before clamping.

export const GRID_SOC_MIN = -0.1;
export const GRID_SOC_STEP = 0.005;
export const GRID_SOC_POINTS = 241;
export const GRID_T_MIN_C = -30;
export const GRID_T_STEP_C = 5;
export const GRID_T_POINTS = 21;

/** Quantity offsets within a grid node record (cell.ts reads the records directly). */
export const Q_OCV = 0;
export const Q_DOCV_DT = 1;
export const Q_HYSTERESIS = 2;
export const Q_R0 = 3;
export const Q_R1 = 4;
export const Q_R2 = 5;
export const Q_TAU1 = 6;
export const Q_TAU2 = 7;
export const GRID_STRIDE = 8;

/**
 * Where a (SOC, T) point falls on the grid: record index of the lower corner and bilinear weights.
 * The point is passed in the cursor rather than as arguments so that a call which V8 does not
 * inline still moves no boxed doubles (the hot path must not allocate).
 */
export class GridCursor {
  soc = 0.5;
  temperature_C = 25;
  node = 0;
  w00 = 1;
  w01 = 0;
  w10 = 0;
  w11 = 0;
  /** exp(-dt/tau1) and exp(-dt/tau2) at the cursor, written by CompiledCell.decayAt. */
  decay1 = 0;
  decay2 = 0;
}

/** A parameter set compiled for fast stepping. Shared by all cells of one parameter set. */
export class CompiledCell {
  readonly parameters: CellParameters;
  /** Interleaved node records, GRID_STRIDE values per (SOC, T) node, SOC-major. */
  readonly grid: Float64Array;
  /** exp(-dt/tau1), exp(-dt/tau2) per node, for the dt of the last prepareDecay. */
  readonly decay: Float64Array;
  private decayStep = Number.NaN;

  constructor(parameters: CellParameters) {
    this.parameters = parameters;
    const nodes = GRID_SOC_POINTS * GRID_T_POINTS;
    this.grid = new Float64Array(nodes * GRID_STRIDE);
    this.decay = new Float64Array(nodes * 2);
    const r = parameters.resistance;
    for (let i = 0; i < GRID_SOC_POINTS; i++) {
      const soc = GRID_SOC_MIN + i * GRID_SOC_STEP;
      for (let j = 0; j < GRID_T_POINTS; j++) {
        const t = GRID_T_MIN_C + j * GRID_T_STEP_C;
        const base = (i * GRID_T_POINTS + j) * GRID_STRIDE;
        this.grid[base + Q_OCV] = openCircuitVoltage(parameters, soc, t);
        this.grid[base + Q_DOCV_DT] = lookupTable(parameters.ocv.entropicCoefficient_V_per_K, soc, t);
        this.grid[base + Q_HYSTERESIS] = lookupTable(parameters.hysteresis.magnitude_V, soc, t);
        this.grid[base + Q_R0] = resistanceLike(r.r0_Ohm, soc, t);
        this.grid[base + Q_R1] = resistanceLike(r.r1_Ohm, soc, t);
        this.grid[base + Q_R2] = resistanceLike(r.r2_Ohm, soc, t);
        this.grid[base + Q_TAU1] = resistanceLike(r.tau1_s, soc, t);
        this.grid[base + Q_TAU2] = resistanceLike(r.tau2_s, soc, t);
      }
    }
  }

  /** Places the cursor at its (soc, temperature_C), clamped to the grid. */
  locate(cursor: GridCursor): void {
    let fs = (cursor.soc - GRID_SOC_MIN) * (1 / GRID_SOC_STEP);
    if (fs < 0) fs = 0; else if (fs > GRID_SOC_POINTS - 1) fs = GRID_SOC_POINTS - 1;
    let is = fs | 0;
    if (is > GRID_SOC_POINTS - 2) is = GRID_SOC_POINTS - 2;
    const ws = fs - is;
    let ft = (cursor.temperature_C - GRID_T_MIN_C) * (1 / GRID_T_STEP_C);
    if (ft < 0) ft = 0; else if (ft > GRID_T_POINTS - 1) ft = GRID_T_POINTS - 1;
    let it = ft | 0;
    if (it > GRID_T_POINTS - 2) it = GRID_T_POINTS - 2;
    const wt = ft - it;
    cursor.node = is * GRID_T_POINTS + it;
    cursor.w00 = (1 - ws) * (1 - wt);
    cursor.w01 = (1 - ws) * wt;
    cursor.w10 = ws * (1 - wt);
    cursor.w11 = ws * wt;
  }

  /** Makes decay hold exp(-dt/tau) for this step length; recomputed only when dt changes. */
  prepareDecay(dt_s: number): void {
    if (dt_s === this.decayStep) return;
    const nodes = GRID_SOC_POINTS * GRID_T_POINTS;
    for (let n = 0; n < nodes; n++) {
      this.decay[2 * n] = Math.exp(-dt_s / this.grid[n * GRID_STRIDE + Q_TAU1]!);
      this.decay[2 * n + 1] = Math.exp(-dt_s / this.grid[n * GRID_STRIDE + Q_TAU2]!);
    }
    this.decayStep = dt_s;
  }

  /**
   * Bilinear exp(-dt/tau1), exp(-dt/tau2) at the cursor for the dt of the last prepareDecay, written
   * into the cursor (returning doubles from a call V8 does not inline would allocate).
   */
  decayAt(cursor: GridCursor): void {
    const d = this.decay;
    const a = cursor.node * 2;
    const b = a + 2 * GRID_T_POINTS;
    const w00 = cursor.w00, w01 = cursor.w01, w10 = cursor.w10, w11 = cursor.w11;
    cursor.decay1 = d[a]! * w00 + d[a + 2]! * w01 + d[b]! * w10 + d[b + 2]! * w11;
    cursor.decay2 = d[a + 1]! * w00 + d[a + 3]! * w01 + d[b + 1]! * w10 + d[b + 3]! * w11;
  }
}

const compiled = new WeakMap<CellParameters, CompiledCell>();

/** The compiled grid of a parameter set, built once per parameter object. */
export function compileCell(parameters: CellParameters): CompiledCell {
  let model = compiled.get(parameters);
  if (model === undefined) {
    model = new CompiledCell(parameters);
    compiled.set(parameters, model);
  }
  return model;
}
