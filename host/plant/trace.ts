// Trace replay: a recorded bench or field log stands in for the physical pack, so the real
// firmware runs on real measurements. The trace gives the pack current, every module's voltage
// and temperature over time; the emulated sensors sample it exactly as they sample the plant.
// Format: docs/scenarios.md, "Trace files". Plant truth that a log cannot know (SOC, capacity)
// reads NaN.
import { readFileSync } from "node:fs";
import type { PackPlant } from "./types.ts";

export class TraceFormatError extends Error {}

export class TracePlant implements PackPlant {
  readonly moduleCount: number;
  readonly duration_s: number;
  private readonly time_s: Float64Array;
  private readonly current: Float64Array;
  /** voltage[row * modules + module] */
  private readonly voltage: Float64Array;
  private readonly temperature: Float64Array;
  private t_s = 0;
  private row = 0;
  private frac = 0;

  constructor(text: string, readonly source: string) {
    const lines = text.split(/\r?\n/);
    let headerLine = -1;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === "" || line.startsWith("#")) continue;
      headerLine = i;
      break;
    }
    const fail = (line: number, reason: string): never => {
      throw new TraceFormatError(`trace ${source}, line ${line + 1}: ${reason}`);
    };
    if (headerLine < 0) fail(0, "no header row");
    const header = lines[headerLine]!.split(",").map((h) => h.trim());
    if (header[0] !== "time_s" || header[1] !== "current_A") fail(headerLine, "header must start with time_s,current_A");
    const voltageCols: number[] = [];
    const temperatureCols: number[] = [];
    header.forEach((name, col) => {
      let m = /^voltage_V_(\d+)$/.exec(name);
      if (m !== null) voltageCols[Number(m[1])] = col;
      m = /^temperature_C_(\d+)$/.exec(name);
      if (m !== null) temperatureCols[Number(m[1])] = col;
      if (col > 1 && !/^(voltage_V|temperature_C)_\d+$/.test(name)) fail(headerLine, `unknown column '${name}'`);
    });
    const modules = voltageCols.length;
    if (modules === 0) fail(headerLine, "no voltage_V_<i> columns");
    for (let m = 0; m < modules; m++) {
      if (voltageCols[m] === undefined) fail(headerLine, `column voltage_V_${m} is missing`);
      if (temperatureCols[m] === undefined) fail(headerLine, `column temperature_C_${m} is missing`);
    }
    if (temperatureCols.length !== modules) fail(headerLine, "temperature_C_<i> columns do not match voltage_V_<i> columns");
    const rows: number[][] = [];
    for (let i = headerLine + 1; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === "" || line.startsWith("#")) continue;
      const fields = line.split(",");
      if (fields.length !== header.length) fail(i, `${fields.length} fields, the header has ${header.length}`);
      const values = fields.map((f, col) => {
        const v = Number(f);
        if (f.trim() === "" || !Number.isFinite(v)) fail(i, `field ${header[col]} is not a number: '${f}'`);
        return v;
      });
      const prev = rows[rows.length - 1];
      if (prev !== undefined && !(values[0]! > prev[0]!)) fail(i, `time_s ${values[0]} does not increase`);
      if (prev === undefined && values[0] !== 0) fail(i, "the first row must be at time_s 0");
      rows.push(values);
    }
    if (rows.length < 2) fail(lines.length - 1, "a trace needs at least two rows");
    this.moduleCount = modules;
    this.time_s = Float64Array.from(rows, (r) => r[0]!);
    this.current = Float64Array.from(rows, (r) => r[1]!);
    this.voltage = new Float64Array(rows.length * modules);
    this.temperature = new Float64Array(rows.length * modules);
    rows.forEach((r, k) => {
      for (let m = 0; m < modules; m++) {
        this.voltage[k * modules + m] = r[voltageCols[m]!]!;
        this.temperature[k * modules + m] = r[temperatureCols[m]!]!;
      }
    });
    this.duration_s = this.time_s[this.time_s.length - 1]!;
  }

  static fromFile(path: string): TracePlant {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      throw new TraceFormatError(`trace file not found: ${path}`);
    }
    return new TracePlant(text, path);
  }

  /** Advances replay time; the current argument is ignored: the trace carries its own. */
  step(_current_A: number, dt_s: number): void {
    this.t_s = Math.min(this.duration_s, this.t_s + dt_s);
    while (this.row < this.time_s.length - 2 && this.time_s[this.row + 1]! <= this.t_s) this.row++;
    const t0 = this.time_s[this.row]!;
    const t1 = this.time_s[this.row + 1]!;
    this.frac = Math.min(1, Math.max(0, (this.t_s - t0) / (t1 - t0)));
  }

  private lerp(series: Float64Array, stride: number, offset: number): number {
    const a = series[this.row * stride + offset]!;
    const b = series[(this.row + 1) * stride + offset]!;
    return a + (b - a) * this.frac;
  }

  packCurrent_A(): number {
    return this.lerp(this.current, 1, 0);
  }
  moduleCurrent_A(): number {
    return this.packCurrent_A();
  }
  moduleVoltage_V(index: number): number {
    return this.lerp(this.voltage, this.moduleCount, index);
  }
  moduleTemperature_C(index: number): number {
    return this.lerp(this.temperature, this.moduleCount, index);
  }
  packVoltage_V(): number {
    let v = 0;
    for (let m = 0; m < this.moduleCount; m++) v += this.moduleVoltage_V(m);
    return v;
  }
  moduleSoc(): number {
    return Number.NaN;
  }
  moduleCapacity_Ah(): number {
    return Number.NaN;
  }
  moduleResistance0_Ohm(): number {
    return Number.NaN;
  }
}
