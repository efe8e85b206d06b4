// Module passport, format version 1: what one module knows about itself, as JSON. The schema
// (passport.schema.json) is the source of truth for the fields; this file carries the same shape as
// TypeScript types, the checks a schema cannot express, reading passports from files, and the
// access split of Regulation (EU) 2023/1542 Art. 14 (a read-only state-of-health view for whoever
// legally purchased the module; pack-private data a repurposing reset clears). docs/passport.md
// describes every field, its unit and the regulation item it serves.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { listCells } from "../plant/chemistry.ts";
import { readJsonFile, schemaValidator } from "../validation.ts";

export const PASSPORT_FORMAT_VERSION = 1;

export const passportSchemaPath = fileURLToPath(new URL("./passport.schema.json", import.meta.url));

/** An estimate with its 1-sigma uncertainty, in the unit of the field's name. */
export interface Estimate {
  value: number;
  sigma: number;
}

/**
 * Time spent per bin. `edges` has one more entry than `seconds`; the first and last bins are open
 * (a sample below edges[0] counts in bin 0, one at or above the last edge in the last bin).
 */
export interface Histogram {
  edges: number[];
  seconds: number[];
}

export interface ExtremeEvent {
  count: number;
  /** ISO 8601 date-time of the last occurrence; null exactly when count is 0. */
  lastAt: string | null;
}

export const EXTREME_EVENT_KINDS = ["overVoltage", "underVoltage", "overTemperature", "underTemperature", "deepDischarge"] as const;
export type ExtremeEventKind = (typeof EXTREME_EVENT_KINDS)[number];

/** Annex XIII point 4(c) of the Regulation. */
export type ModuleStatus = "original" | "re-used" | "repurposed" | "remanufactured" | "waste";

export interface FaultEntry {
  /** Diagnostic code 0x1FL (assembly/protection/faults.ts diagnosticCode: fault type F, level L). */
  code: number;
  at: string;
}

export interface PackMembership {
  packId: string;
  /** Series position in the pack, 1 = next to the controller. */
  position: number;
  from: string;
  /** null while the module is still in that pack. */
  to: string | null;
}

export interface PassportIdentity {
  /** 48-bit serial as 12 lower-case hex digits (host/devices.ts Device.serial()). */
  serial: string;
  manufacturer: string;
  chemistry: string;
  /** A data/cells/<id>.json parameter set. */
  cellId: string;
  cellModel: string;
  cellsInParallel: number;
  nominalCapacity_Ah: number;
  nominalVoltage_V: number;
  minVoltage_V: number;
  maxVoltage_V: number;
  /** YYYY-MM-DD. */
  manufacturedOn: string;
  /** YYYY-MM-DD of first service, null if never in service. */
  putIntoServiceOn: string | null;
}

export interface StateOfHealth {
  /** Measured total capacity; null until the estimator has an estimate. */
  capacity_Ah: Estimate | null;
  /** capacity_Ah.value / identity.nominalCapacity_Ah; null with capacity_Ah. */
  capacitySoh: number | null;
  /** Ohmic (series) resistance R0 at 25 degC and 50 % SOC; null until estimated. */
  resistance_mOhm: Estimate | null;
  /** resistance_mOhm.value / initialResistance_mOhm; null with resistance_mOhm. */
  resistanceSoh: number | null;
  /** R0 at 25 degC and 50 % SOC at the beginning of life. */
  initialResistance_mOhm: number;
}

export interface PassportUsage {
  /** Discharged charge divided by the nominal capacity. */
  equivalentFullCycles: number;
  throughput: { charge_Ah: number; discharge_Ah: number; charge_Wh: number; discharge_Wh: number };
  charging_s: number;
  /** Edges in degC. */
  temperatureResidency: Histogram;
  /** Edges as SOC fractions in [0, 1]. */
  socResidency: Histogram;
}

/** The state-of-health view: readable by whoever legally purchased the module (Art. 14(2)). */
export interface PassportPublic {
  identity: PassportIdentity;
  status: ModuleStatus;
  /** SOC as a fraction (0..1) with its 1-sigma; null when the estimator has no valid state. */
  stateOfCharge: Estimate | null;
  stateOfHealth: StateOfHealth;
  usage: PassportUsage;
  extremeEvents: Record<ExtremeEventKind, ExtremeEvent>;
  faults: FaultEntry[];
}

/** Data of the pack the module serves in; a repurposing reset clears it. */
export interface PassportPackPrivate {
  memberships: PackMembership[];
  settings: Record<string, number | string | boolean>;
}

export interface ModulePassport {
  $schema?: string;
  record: { formatVersion: 1; sequence: number; writtenAt: string };
  public: PassportPublic;
  /** Absent in the public view and after a repurposing reset by a tool that drops it. */
  packPrivate?: PassportPackPrivate;
}

const schemaCheck = schemaValidator<ModulePassport>(passportSchemaPath, "passport");

/** Relative tolerance of the stored SOH ratios against value / reference (rounding of exporters). */
const RATIO_TOLERANCE = 1e-3;

let knownCells: Set<string> | undefined;

/** The schema checks the shape (YYYY-MM-DD, optionally THH:MM:SS...); this checks the calendar (no 30 February). */
function dateErrors(field: string, value: string | null, errors: string[]): void {
  if (value === null) return;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}))?/.exec(value);
  if (m === null) return;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  const calendar = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  const clock = m[4] === undefined || (Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6]) < 61);
  if (!calendar || !clock) errors.push(`${field}: '${value}' is not a valid date`);
}

function histogramErrors(field: string, h: Histogram, range: [number, number] | null, errors: string[]): void {
  for (let k = 1; k < h.edges.length; k++) {
    if (!(h.edges[k]! > h.edges[k - 1]!)) {
      errors.push(`${field}.edges: must be strictly increasing (element ${k}: ${h.edges[k]} after ${h.edges[k - 1]})`);
      break;
    }
  }
  if (h.seconds.length !== h.edges.length - 1) {
    errors.push(`${field}.seconds: must have one entry per bin (edges.length - 1 = ${h.edges.length - 1}), got ${h.seconds.length}`);
  }
  if (range !== null && (h.edges[0]! < range[0] || h.edges[h.edges.length - 1]! > range[1])) {
    errors.push(`${field}.edges: must lie within [${range[0]}, ${range[1]}]`);
  }
}

function ratioErrors(field: string, ratio: number | null, estimate: Estimate | null, estimateName: string, reference: number, referenceName: string, errors: string[]): void {
  if ((ratio === null) !== (estimate === null)) {
    errors.push(`${field}: must be null exactly when ${estimateName} is null`);
    return;
  }
  if (ratio === null || estimate === null) return;
  const expected = estimate.value / reference;
  if (Math.abs(ratio - expected) > RATIO_TOLERANCE * (1 + expected)) {
    errors.push(`${field}: ${ratio} disagrees with ${estimateName}.value / ${referenceName} = ${expected.toFixed(4)}`);
  }
}

/** The checks a schema cannot express; field names as in the schema errors. */
function semanticErrors(p: ModulePassport): string[] {
  const errors: string[] = [];
  const id = p.public.identity;
  knownCells ??= new Set(listCells());
  if (!knownCells.has(id.cellId)) errors.push(`public.identity.cellId: unknown cell '${id.cellId}' (data/cells has: ${[...knownCells].join(", ")})`);
  if (!(id.minVoltage_V < id.nominalVoltage_V && id.nominalVoltage_V < id.maxVoltage_V)) {
    errors.push(`public.identity: needs minVoltage_V < nominalVoltage_V < maxVoltage_V, got ${id.minVoltage_V}, ${id.nominalVoltage_V}, ${id.maxVoltage_V}`);
  }
  dateErrors("record.writtenAt", p.record.writtenAt, errors);
  dateErrors("public.identity.manufacturedOn", id.manufacturedOn, errors);
  dateErrors("public.identity.putIntoServiceOn", id.putIntoServiceOn, errors);

  const soh = p.public.stateOfHealth;
  ratioErrors("public.stateOfHealth.capacitySoh", soh.capacitySoh, soh.capacity_Ah, "capacity_Ah", id.nominalCapacity_Ah, "identity.nominalCapacity_Ah", errors);
  ratioErrors("public.stateOfHealth.resistanceSoh", soh.resistanceSoh, soh.resistance_mOhm, "resistance_mOhm", soh.initialResistance_mOhm, "initialResistance_mOhm", errors);

  histogramErrors("public.usage.temperatureResidency", p.public.usage.temperatureResidency, null, errors);
  histogramErrors("public.usage.socResidency", p.public.usage.socResidency, [0, 1], errors);

  for (const kind of EXTREME_EVENT_KINDS) {
    const event = p.public.extremeEvents[kind];
    const field = `public.extremeEvents.${kind}`;
    if ((event.count === 0) !== (event.lastAt === null)) errors.push(`${field}.lastAt: must be null exactly when count is 0`);
    dateErrors(`${field}.lastAt`, event.lastAt, errors);
  }
  p.public.faults.forEach((f, k) => dateErrors(`public.faults[${k}].at`, f.at, errors));

  const memberships = p.packPrivate?.memberships ?? [];
  memberships.forEach((m, k) => {
    const field = `packPrivate.memberships[${k}]`;
    dateErrors(`${field}.from`, m.from, errors);
    dateErrors(`${field}.to`, m.to, errors);
    if (m.to === null && k !== memberships.length - 1) errors.push(`${field}.to: only the last membership may be open (null)`);
    if (m.to !== null && !(Date.parse(m.to) > Date.parse(m.from))) errors.push(`${field}.to: must be after from`);
    const previous = memberships[k - 1];
    if (previous?.to != null && Date.parse(m.from) < Date.parse(previous.to)) errors.push(`${field}.from: must not be before the previous membership's end`);
  });
  return errors;
}

/**
 * Validates a parsed passport; throws `invalid passport <source>:` followed by one line per
 * problem, each naming the field (`public.identity.serial: must match pattern ...`).
 */
export function validatePassport(data: unknown, source: string): ModulePassport {
  const passport = schemaCheck(data, source);
  const errors = semanticErrors(passport);
  if (errors.length > 0) throw new Error(`invalid passport ${source}:\n${errors.map((e) => `  ${e}`).join("\n")}`);
  return passport;
}

export interface LoadedPassport {
  passport: ModulePassport;
  /** File, or file[index] for an element of a JSON array. */
  source: string;
}

export interface RejectedPassport {
  source: string;
  /** The validation or parse error, naming the source and the fields. */
  message: string;
}

/** Passport files of a path: the path itself, or the *.json files directly inside a folder, sorted. */
function passportFiles(path: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new Error(`passport path not found: ${path}`);
  }
  if (!isDirectory) return [path];
  return readdirSync(path).filter((f) => f.endsWith(".json")).sort().map((f) => join(path, f));
}

/**
 * Reads passports from files and folders; a file holds one passport or a JSON array of them.
 * A malformed passport is returned in `rejected` (with the error naming file and field), or
 * thrown when `strict` is set. A path that does not exist always throws.
 */
export function readPassports(paths: readonly string[], options: { strict?: boolean } = {}): { passports: LoadedPassport[]; rejected: RejectedPassport[] } {
  const passports: LoadedPassport[] = [];
  const rejected: RejectedPassport[] = [];
  const attempt = (source: string, load: () => ModulePassport): void => {
    try {
      passports.push({ passport: load(), source });
    } catch (err) {
      if (options.strict === true) throw err;
      rejected.push({ source, message: (err as Error).message });
    }
  };
  for (const file of paths.flatMap(passportFiles)) {
    let data: unknown;
    try {
      data = readJsonFile(file, "passport file");
    } catch (err) {
      if (options.strict === true) throw err;
      rejected.push({ source: file, message: (err as Error).message });
      continue;
    }
    if (Array.isArray(data)) data.forEach((element: unknown, k) => attempt(`${file}[${k}]`, () => validatePassport(element, `${file}[${k}]`)));
    else attempt(file, () => validatePassport(data, file));
  }
  return { passports, rejected };
}

/** The read-only state-of-health view of Art. 14(2): the record metadata and the public section. */
export function publicView(passport: ModulePassport): ModulePassport {
  return { record: passport.record, public: passport.public };
}

/**
 * What a repurposing reset leaves: the public section (the Annex VII data Art. 14(1) keeps in the
 * BMS) with the new status, pack-private data cleared, and a new record.
 */
export function repurposingReset(passport: ModulePassport, status: Exclude<ModuleStatus, "original">, writtenAt: string): ModulePassport {
  return {
    record: { formatVersion: PASSPORT_FORMAT_VERSION, sequence: (passport.record.sequence + 1) >>> 0, writtenAt },
    public: { ...passport.public, status },
    packPrivate: { memberships: [], settings: {} },
  };
}
