// Estimation cost benchmark: time per EKF step (and the coulomb-counting baseline, the SOH
// estimators and the blob check) in V8, WebAssembly instructions executed per step (wabt's
// interpreter with --trace), and the code size each module adds at the node's optimisation
// settings. Compiles small AssemblyScript entries in memory; nothing is written to the tree.
// Usage: tsx bench/estimation-cost.ts
import asc from "assemblyscript/asc";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { repoRoot } from "../host/abi.ts";
import { loadCell } from "../host/plant/chemistry.ts";
import { encodeCellBlob } from "../host/provisioning/cell-blob.ts";

const ENTRY = "bench/__estimation_entry.ts";

/** Node release settings (asconfig.json target "node"), with aborts as traps instead of the HAL route. */
const RELEASE_FLAGS = ["--runtime", "stub", "-O3", "--shrinkLevel", "0", "--converge", "--use", "abort="];

async function compile(source: string): Promise<Uint8Array<ArrayBuffer>> {
  let binary: Uint8Array<ArrayBuffer> | undefined;
  let errors = "";
  const { error } = await asc.main([ENTRY, ...RELEASE_FLAGS, "--outFile", "entry.wasm"], {
    readFile: (name: string, baseDir: string) => {
      if (name === ENTRY) return source;
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
  if (error || binary === undefined) throw new Error(`compiling the benchmark entry failed:\n${errors || error?.message}`);
  return binary;
}

/** An entry with the blob as static data, every estimator, and loops over their step methods. */
function entrySource(blob: Uint8Array, parts: { ekf: boolean; coulomb: boolean; soh: boolean }): string {
  const lines = [
    'import { CellModel } from "../assembly/cell/model";',
    'import { parseCellBlob } from "../assembly/cell/blob";',
    'import { crc32 } from "../assembly/storage/crc32";',
    parts.ekf ? 'import { EkfSocEstimator } from "../assembly/estimation/soc/ekf";' : "",
    parts.coulomb ? 'import { CoulombCounter } from "../assembly/estimation/soc/coulomb";' : "",
    parts.soh ? 'import { ResistanceEstimator } from "../assembly/estimation/soh/resistance";' : "",
    parts.soh ? 'import { Throughput } from "../assembly/estimation/soh/throughput";' : "",
    `const blob = memory.data<u8>([${Array.from(blob).join(",")}]);`,
    `const BLOB_LENGTH: i32 = ${blob.length};`,
    "const model = new CellModel();",
    "export function setup(): i32 { return parseCellBlob(blob, BLOB_LENGTH, model); }",
    "export function checkBlob(times: i32): u32 { let c: u32 = 0; for (let k = 0; k < times; k++) c ^= crc32(blob, BLOB_LENGTH - 4); return c; }",
    "export function parseBlob(times: i32): i32 { let r = 0; for (let k = 0; k < times; k++) r |= parseCellBlob(blob, BLOB_LENGTH, model); return r; }",
    "export function checkBlobOnce(): u32 { return crc32(blob, BLOB_LENGTH - 4); }",
    // A current that changes every step (pulses and regeneration) and a consistent voltage.
    "function current(k: i32): f32 { const p = k % 1200; return p < 500 ? <f32>5.0 : p < 700 ? <f32>0.0 : p < 900 ? <f32>-3.0 : <f32>1.5; }",
    "function voltage(k: i32, i: f32): f32 { return <f32>3.7 - <f32>0.00001 * <f32>(k % 100000) - <f32>0.02 * i; }",
  ];
  if (parts.ekf) {
    lines.push(
      "let ekf: EkfSocEstimator | null = null;",
      "export function makeEkf(): void { const e = new EkfSocEstimator(model); e.resetFromOcv(3.7, 25); ekf = e; }",
      "export function runEkf(steps: i32): f32 { const e = ekf!; for (let k = 0; k < steps; k++) { const i = current(k); e.step(i, voltage(k, i), 25, 0.1); } return e.soc; }",
      "export function stepEkfOnce(): f32 { const e = ekf!; e.step(5.0, 3.65, 25, 0.1); return e.soc; }",
    );
  }
  if (parts.coulomb) {
    lines.push(
      "let counter: CoulombCounter | null = null;",
      "export function makeCoulomb(): void { const c = new CoulombCounter(model); c.resetFromOcv(3.7, 25); counter = c; }",
      "export function runCoulomb(steps: i32): f32 { const c = counter!; for (let k = 0; k < steps; k++) { const i = current(k); c.step(i, voltage(k, i), 25, 0.1); } return c.soc; }",
    );
  }
  if (parts.soh) {
    lines.push(
      "let resistance: ResistanceEstimator | null = null;",
      "let throughput: Throughput | null = null;",
      "export function makeSoh(): void { resistance = new ResistanceEstimator(model); throughput = new Throughput(model.moduleCapacity_Ah()); }",
      "export function runSoh(steps: i32): f32 { const r = resistance!; const t = throughput!; let soc: f32 = 0.9;",
      "  for (let k = 0; k < steps; k++) { const i = current(k); const v = voltage(k, i); soc -= i * <f32>0.1 / <f32>18000; r.step(i, v, soc, 25, 0.1); t.step(i, v, 0.1); }",
      "  return r.ratio + t.equivalentFullCycles; }",
    );
  }
  return lines.filter((l) => l !== "").join("\n");
}

type Exports = Record<string, (...args: number[]) => number>;

function instantiate(binary: Uint8Array<ArrayBuffer>): Exports {
  return new WebAssembly.Instance(new WebAssembly.Module(binary), {}).exports as unknown as Exports;
}

/** Best of 5 runs of fn(n), in ns per unit, after a warm-up long enough for V8 to tier the code up. */
function time(fn: (n: number) => number, n: number): number {
  for (let w = 0; w < 5; w++) fn(n);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    fn(n);
    best = Math.min(best, ((performance.now() - start) * 1e6) / n);
  }
  return best;
}

/**
 * WebAssembly instructions executed by the last of a sequence of exports, counted in the trace of
 * wabt's reference interpreter (one line per executed instruction, sections per export).
 */
function instructionsOfLastCall(binary: Uint8Array, exportNames: string[]): number | undefined {
  const interp = join(repoRoot, "node_modules", ".bin", "wasm-interp");
  if (!existsSync(interp)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "strata-bench-"));
  try {
    const path = join(dir, "entry.wasm");
    writeFileSync(path, binary);
    const args = [path, "--trace", ...exportNames.flatMap((e) => ["--run-export", e])];
    const out = execFileSync(interp, args, { maxBuffer: 1 << 30, encoding: "utf8" });
    const last = out.lastIndexOf(">>> running export");
    return out.slice(last).split("\n").filter((line) => /^#\d+\.\s+\d+:/.test(line)).length;
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runEstimationCostBench(): Promise<{ rows: string[] }> {
  const rows: string[] = [];
  for (const id of ["lg-inr21700-m50", "sony-us26650ftc1"]) {
    const blob = encodeCellBlob(loadCell(id), { parallelCells: 1 });
    const binary = await compile(entrySource(blob, { ekf: true, coulomb: true, soh: true }));
    const e = instantiate(binary);
    if (e.setup!() !== 0) throw new Error(`the blob of ${id} did not parse`);
    e.makeEkf!();
    e.makeCoulomb!();
    e.makeSoh!();
    const ekf_ns = time((n) => e.runEkf!(n), 200000);
    const coulomb_ns = time((n) => e.runCoulomb!(n), 200000);
    const soh_ns = time((n) => e.runSoh!(n), 200000);
    const crc_ns = time((n) => e.checkBlob!(n), 200);
    const parse_ns = time((n) => e.parseBlob!(n), 200);
    const instructions = instructionsOfLastCall(binary, ["setup", "makeEkf", "stepEkfOnce", "stepEkfOnce"]);
    rows.push(`| EKF step (7 states with the capacity, ${id}), V8 | ${ekf_ns.toFixed(0)} ns | best of 5 x 200,000 steps; ${instructions === undefined ? "instruction count unavailable" : `${instructions} wasm instructions per step (wabt interpreter trace)`} |`);
    rows.push(`| coulomb-counting step (${id}), V8 | ${coulomb_ns.toFixed(0)} ns | same inputs |`);
    rows.push(`| SOH step: RLS + throughput (${id}), V8 | ${soh_ns.toFixed(0)} ns | the capacity is the EKF's state |`);
    const crcInstructions = instructionsOfLastCall(binary, ["checkBlobOnce"]);
    rows.push(`| blob CRC-32, ${blob.length} B (nibble table), V8 | ${(crc_ns / 1000).toFixed(1)} us | ${(crc_ns / blob.length).toFixed(1)} ns/byte; ${crcInstructions === undefined ? "" : `${(crcInstructions / blob.length).toFixed(1)} wasm instructions per byte`} |`);
    rows.push(`| blob parse (CRC + checks + copy), V8 | ${(parse_ns / 1000).toFixed(1)} us | once at init |`);
  }
  // Code size each part adds at the node's release settings.
  const blob = encodeCellBlob(loadCell("lg-inr21700-m50"));
  const blobBytes = blob.length;
  const size = async (parts: { ekf: boolean; coulomb: boolean; soh: boolean }): Promise<number> => (await compile(entrySource(blob, parts))).length - blobBytes;
  const base = await size({ ekf: false, coulomb: false, soh: false });
  const withEkf = await size({ ekf: true, coulomb: false, soh: false });
  const withCoulomb = await size({ ekf: false, coulomb: true, soh: false });
  const withSoh = await size({ ekf: true, coulomb: false, soh: true });
  const all = await size({ ekf: true, coulomb: true, soh: true });
  rows.push(`| code: cell model + blob parser + CRC (with the benchmark glue) | ${base} B | -O3, stub runtime, aborts as traps; blob data excluded |`);
  rows.push(`| code: + EKF | +${withEkf - base} B | |`);
  rows.push(`| code: + coulomb counting (without EKF) | +${withCoulomb - base} B | |`);
  rows.push(`| code: + SOH (RLS, throughput) on top of the EKF | +${withSoh - withEkf} B | |`);
  rows.push(`| code: everything | ${all} B | |`);
  return { rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runEstimationCostBench().then(({ rows }) => {
    console.log("| measurement | figure | notes |\n|---|---|---|");
    for (const row of rows) console.log(row);
  }).catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
