// Standard drive cycles (vehicle speed against time) read from data/cycles/<id>.csv.
// The file format, the sources and the unit conversions are described in docs/drive-cycles.md.
import { readFileSync, readdirSync } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const driveCycleDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "data", "cycles");

/** The one header row every cycle file carries after its `#` comment lines. */
export const DRIVE_CYCLE_HEADER = "time_s,speed_mps";

/** Declared `distance_m` is written to 0.1 m, so it may differ from the recomputed one by half of that. */
const DECLARED_DISTANCE_TOLERANCE_m = 0.05 + 1e-9;

// A plain decimal number; Number() alone would also accept "", "0x10" and "Infinity".
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
// `# key: value` comment lines before the header row are the file's metadata.
const META_LINE = /^#\s*([a-z][a-z0-9_]*)\s*:\s*(.*)$/;

/** A malformed cycle file: names the file, the 1-based line (0 when the file as a whole is at fault) and why. */
export class DriveCycleFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = "DriveCycleFormatError";
  }
}

/**
 * A speed trace sampled at strictly increasing times, starting at 0 s. Between samples the speed is
 * linear in time, so the acceleration is constant on each segment [t_i, t_i+1) and the distance is
 * the trapezoidal integral of the samples. Queries neither allocate nor copy: a cursor remembers the
 * last segment (cycles are usually walked forward) and a binary search handles jumps.
 */
export class DriveCycle {
  readonly duration_s: number;
  readonly distance_m: number;
  readonly maxSpeed_mps: number;
  private readonly time_s: Float64Array;
  private readonly speed_mps: Float64Array;
  private cursor = 0;

  constructor(
    readonly id: string,
    readonly name: string,
    time_s: ArrayLike<number>,
    speed_mps: ArrayLike<number>,
    readonly meta: Readonly<Record<string, string>> = {},
  ) {
    if (time_s.length !== speed_mps.length) {
      throw new RangeError(`drive cycle ${id}: ${time_s.length} times but ${speed_mps.length} speeds`);
    }
    if (time_s.length < 2) throw new RangeError(`drive cycle ${id}: needs at least 2 samples`);
    this.time_s = Float64Array.from(time_s);
    this.speed_mps = Float64Array.from(speed_mps);
    let distance_m = 0;
    let maxSpeed_mps = 0;
    for (let i = 0; i < this.time_s.length; i++) {
      const t = this.time_s[i]!;
      const v = this.speed_mps[i]!;
      if (!Number.isFinite(t) || !Number.isFinite(v)) throw new RangeError(`drive cycle ${id}: sample ${i} is not finite`);
      if (i === 0 && t !== 0) throw new RangeError(`drive cycle ${id}: first sample must be at 0 s, not ${t} s`);
      if (v < 0) throw new RangeError(`drive cycle ${id}: negative speed ${v} m/s at ${t} s`);
      if (i > 0) {
        const dt = t - this.time_s[i - 1]!;
        if (!(dt > 0)) throw new RangeError(`drive cycle ${id}: time ${t} s does not increase`);
        distance_m += 0.5 * (v + this.speed_mps[i - 1]!) * dt;
      }
      if (v > maxSpeed_mps) maxSpeed_mps = v;
    }
    this.duration_s = this.time_s[this.time_s.length - 1]!;
    this.distance_m = distance_m;
    this.maxSpeed_mps = maxSpeed_mps;
  }

  get sampleCount(): number {
    return this.time_s.length;
  }

  sampleTime_s(index: number): number {
    return this.sample(this.time_s, index);
  }

  sampleSpeed_mps(index: number): number {
    return this.sample(this.speed_mps, index);
  }

  /** Linear interpolation between samples; held at the first/last sample outside [0, duration]. */
  speedAt_mps(t_s: number): number {
    this.checkTime(t_s);
    if (t_s <= 0) return this.speed_mps[0]!;
    if (t_s >= this.duration_s) return this.speed_mps[this.speed_mps.length - 1]!;
    const i = this.segmentAt(t_s);
    const t0 = this.time_s[i]!;
    const v0 = this.speed_mps[i]!;
    return v0 + ((this.speed_mps[i + 1]! - v0) * (t_s - t0)) / (this.time_s[i + 1]! - t0);
  }

  /**
   * The slope of the segment [t_i, t_i+1) that holds t_s (the derivative of speedAt_mps, taken from the
   * right at a sample); 0 before the start and from the end on, where the speed is held.
   */
  accelerationAt_mps2(t_s: number): number {
    this.checkTime(t_s);
    if (t_s < 0 || t_s >= this.duration_s) return 0;
    const i = this.segmentAt(t_s);
    return (this.speed_mps[i + 1]! - this.speed_mps[i]!) / (this.time_s[i + 1]! - this.time_s[i]!);
  }

  /** Index i of the segment with time[i] <= t_s < time[i+1]; t_s must lie in [0, duration). */
  private segmentAt(t_s: number): number {
    const time = this.time_s;
    let i = this.cursor;
    if (time[i]! <= t_s) {
      if (t_s < time[i + 1]!) return i;
      if (i + 2 < time.length && t_s < time[i + 2]!) return (this.cursor = i + 1);
    }
    let lo = 0;
    let hi = time.length - 1; // invariant: time[lo] <= t_s < time[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (time[mid]! <= t_s) lo = mid;
      else hi = mid;
    }
    return (this.cursor = lo);
  }

  private checkTime(t_s: number): void {
    if (Number.isNaN(t_s)) throw new RangeError(`drive cycle ${this.id}: time is NaN`);
  }

  private sample(values: Float64Array, index: number): number {
    const value = values[index];
    if (value === undefined || !Number.isInteger(index)) {
      throw new RangeError(`drive cycle ${this.id}: no sample ${index} (has ${values.length})`);
    }
    return value;
  }
}

/**
 * Parses and validates the text of a cycle file; `file` only names it in errors. Metadata comments
 * that declare `duration_s` or `distance_m` are checked against the samples, so an edited row
 * cannot silently disagree with the header that documents it.
 */
export function parseDriveCycle(text: string, file: string): DriveCycle {
  const meta: Record<string, string> = {};
  const metaLine: Record<string, number> = {};
  const time_s: number[] = [];
  const speed_mps: number[] = [];
  const lines = text.split(/\r?\n/);
  let headerSeen = false;
  let previousTime_s = Number.NEGATIVE_INFINITY;

  for (let index = 0; index < lines.length; index++) {
    const lineNo = index + 1;
    const line = lines[index]!.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const entry = headerSeen ? null : META_LINE.exec(line);
      if (entry) {
        const key = entry[1]!;
        if (key in meta) throw new DriveCycleFormatError(file, lineNo, `metadata key '${key}' appears twice`);
        meta[key] = entry[2]!.trim();
        metaLine[key] = lineNo;
      }
      continue;
    }
    if (!headerSeen) {
      if (line.replace(/\s+/g, "") !== DRIVE_CYCLE_HEADER) {
        throw new DriveCycleFormatError(file, lineNo, `missing header row '${DRIVE_CYCLE_HEADER}' (found '${line}')`);
      }
      headerSeen = true;
      continue;
    }
    const fields = line.split(",");
    if (fields.length !== 2) {
      throw new DriveCycleFormatError(file, lineNo, `expected 2 fields (time_s,speed_mps), found ${fields.length}`);
    }
    const t = parseField(fields[0]!, "time_s", file, lineNo);
    const v = parseField(fields[1]!, "speed_mps", file, lineNo);
    if (time_s.length === 0 && t !== 0) {
      throw new DriveCycleFormatError(file, lineNo, `first sample must be at time_s 0, not ${t}`);
    }
    if (!(t > previousTime_s)) {
      throw new DriveCycleFormatError(file, lineNo, `time_s ${t} is not strictly increasing (previous ${previousTime_s})`);
    }
    if (v < 0) throw new DriveCycleFormatError(file, lineNo, `negative speed_mps ${v}`);
    time_s.push(t);
    speed_mps.push(v);
    previousTime_s = t;
  }

  if (!headerSeen) throw new DriveCycleFormatError(file, 0, `missing header row '${DRIVE_CYCLE_HEADER}'`);
  if (time_s.length < 2) throw new DriveCycleFormatError(file, 0, `needs at least 2 samples, found ${time_s.length}`);

  const fallbackId = basename(file, extname(file));
  const cycle = new DriveCycle(meta.id ?? fallbackId, meta.name ?? fallbackId, time_s, speed_mps, meta);
  const declared: [string, number, number][] = [
    ["duration_s", cycle.duration_s, 1e-9],
    ["distance_m", cycle.distance_m, DECLARED_DISTANCE_TOLERANCE_m],
  ];
  for (const [key, computed, tolerance] of declared) {
    const text = meta[key];
    if (text === undefined) continue;
    const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
    if (!(Math.abs(value - computed) <= tolerance)) {
      throw new DriveCycleFormatError(
        file,
        metaLine[key]!,
        `declared ${key} '${text}' disagrees with the samples (${computed.toFixed(3)})`,
      );
    }
  }
  return cycle;
}

/** Loads a shipped cycle by id (`udds`, `wltc3b`, ...) or any cycle file by path. */
export function loadDriveCycle(idOrPath: string): DriveCycle {
  const path = isPath(idOrPath) ? idOrPath : join(driveCycleDir, `${idOrPath}.csv`);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const known = isPath(idOrPath) ? "" : ` (shipped cycles: ${listDriveCycles().join(", ")})`;
    throw new Error(`cannot read drive cycle '${idOrPath}' at ${path}${known}: ${(error as Error).message}`);
  }
  return parseDriveCycle(text, path);
}

/** Ids of the cycles shipped in data/cycles, sorted. */
export function listDriveCycles(): string[] {
  return readdirSync(driveCycleDir)
    .filter((name) => name.endsWith(".csv"))
    .map((name) => name.slice(0, -".csv".length))
    .sort();
}

function isPath(idOrPath: string): boolean {
  return idOrPath.includes("/") || idOrPath.includes("\\") || idOrPath.endsWith(".csv");
}

function parseField(raw: string, column: string, file: string, lineNo: number): number {
  const text = raw.trim();
  if (!DECIMAL.test(text)) throw new DriveCycleFormatError(file, lineNo, `non-numeric ${column} '${text}'`);
  return Number(text);
}
