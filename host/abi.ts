// The HAL ABI as the host sees it: loads assembly/hal/abi.json (the single source of truth)
// and derives the generated firmware declarations from it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

export type WasmScalar = "i32" | "i64" | "f32" | "f64";

export interface AbiFunction {
  name: string;
  group: string;
  params: [string, WasmScalar][];
  result: WasmScalar | null;
  doc: string;
}

export interface AbiEnumEntry {
  name: string;
  value: number;
  doc: string;
  unit?: string;
  direction?: "in" | "out";
}

export interface HalAbi {
  abiVersion: number;
  module: string;
  functions: AbiFunction[];
  adcChannels: AbiEnumEntry[];
  gpioPins: AbiEnumEntry[];
  configKeys: AbiEnumEntry[];
  faultCodes: AbiEnumEntry[];
}

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
export const abiPath = join(repoRoot, "assembly", "hal", "abi.json");

const SCALARS: readonly string[] = ["i32", "i64", "f32", "f64"];

const abiCache = new Map<string, HalAbi>();

/** Loads and validates the ABI description (once per path); throws naming the offending entry. */
export function loadAbi(path: string = abiPath): HalAbi {
  const cached = abiCache.get(path);
  if (cached !== undefined) return cached;
  const abi = readAbi(path);
  abiCache.set(path, abi);
  return abi;
}

function readAbi(path: string): HalAbi {
  const abi = JSON.parse(readFileSync(path, "utf8")) as HalAbi;
  const names = new Set<string>();
  for (const fn of abi.functions) {
    if (!/^[a-z][a-z0-9_]*$/.test(fn.name)) throw new Error(`${path}: function name '${fn.name}' is not snake_case`);
    if (names.has(fn.name)) throw new Error(`${path}: function '${fn.name}' declared twice`);
    names.add(fn.name);
    for (const [pname, ptype] of fn.params) {
      if (!SCALARS.includes(ptype)) throw new Error(`${path}: ${fn.name}(${pname}) has non-scalar type '${ptype}'`);
    }
    if (fn.result !== null && !SCALARS.includes(fn.result)) {
      throw new Error(`${path}: ${fn.name} returns non-scalar type '${fn.result}'`);
    }
  }
  for (const table of ["adcChannels", "gpioPins", "configKeys", "faultCodes"] as const) {
    const seen = new Map<number, string>();
    for (const e of abi[table]) {
      const prior = seen.get(e.value);
      if (prior !== undefined) throw new Error(`${path}: ${table} '${e.name}' reuses value ${e.value} of '${prior}'`);
      seen.set(e.value, e.name);
    }
  }
  return abi;
}

/** wasm3 raw-function signature string, e.g. "i(iii)" (wasm3 source: m3_function.c type letters). */
export function wasm3Signature(fn: AbiFunction): string {
  const letter: Record<WasmScalar, string> = { i32: "i", i64: "I", f32: "f", f64: "F" };
  const ret = fn.result === null ? "v" : letter[fn.result];
  return `${ret}(${fn.params.map(([, t]) => letter[t]).join("")})`;
}

function enumBlock(title: string, entries: AbiEnumEntry[]): string {
  const lines = [`/** ${title} */`, `export namespace ${title} {`];
  for (const e of entries) {
    const unit = e.unit !== undefined ? ` [${e.unit}]` : "";
    lines.push(`  /** ${e.doc}${unit} */`);
    lines.push(`  export const ${e.name}: i32 = ${e.value};`);
  }
  lines.push("}");
  return lines.join("\n");
}

/** The AssemblyScript declarations of the ABI (assembly/hal/abi.ts), generated. */
export function renderAssemblyAbi(abi: HalAbi): string {
  const out: string[] = [
    "// GENERATED from assembly/hal/abi.json by `npm run gen:hal`. Do not edit by hand:",
    "// tests/host/abi.test.ts fails when this file and abi.json disagree.",
    "",
    `export const HAL_ABI_VERSION: i32 = ${abi.abiVersion};`,
    "",
  ];
  for (const fn of abi.functions) {
    const params = fn.params.map(([n, t]) => `${n}: ${t}`).join(", ");
    out.push(`/** ${fn.doc} */`);
    out.push(`@external("${abi.module}", "${fn.name}")`);
    out.push(`export declare function ${fn.name}(${params}): ${fn.result ?? "void"};`);
    out.push("");
  }
  out.push(enumBlock("AdcChannel", abi.adcChannels), "");
  out.push(enumBlock("GpioPin", abi.gpioPins), "");
  out.push(enumBlock("ConfigKey", abi.configKeys), "");
  out.push(enumBlock("FaultCode", abi.faultCodes), "");
  return out.join("\n");
}

const DOC_BEGIN = "<!-- BEGIN GENERATED FROM assembly/hal/abi.json (npm run gen:hal) -->";
const DOC_END = "<!-- END GENERATED -->";

function enumTable(entries: AbiEnumEntry[], withUnit: boolean): string {
  const head = withUnit ? "| name | value | unit | meaning |\n|---|---|---|---|" : "| name | value | meaning |\n|---|---|---|";
  const rows = entries.map((e) => withUnit
    ? `| \`${e.name}\` | ${e.value} | ${e.unit ?? ""} | ${e.doc} |`
    : `| \`${e.name}\` | ${e.value} | ${e.direction !== undefined ? `(${e.direction}) ` : ""}${e.doc} |`);
  return [head, ...rows].join("\n");
}

/** The reference tables of docs/hal-abi.md, generated so the doc cannot drift from the ABI. */
export function renderAbiDocTables(abi: HalAbi): string {
  const fns = abi.functions.map((f) => {
    const params = f.params.map(([n, t]) => `${n}: ${t}`).join(", ");
    return `| ${f.group} | \`${f.name}(${params})${f.result !== null ? `: ${f.result}` : ""}\` | \`${wasm3Signature(f)}\` | ${f.doc} |`;
  });
  return [
    DOC_BEGIN,
    `ABI version ${abi.abiVersion}, import module \`"${abi.module}"\`.`,
    "",
    "### Functions",
    "",
    "| group | import | wasm3 signature | contract |",
    "|---|---|---|---|",
    ...fns,
    "",
    "### ADC channels (`adc_read`)",
    "",
    enumTable(abi.adcChannels, false),
    "",
    "### GPIO pins (`gpio_read`, `gpio_write`)",
    "",
    enumTable(abi.gpioPins, false),
    "",
    "### Board constants (`board_config`)",
    "",
    enumTable(abi.configKeys, true),
    "",
    "### Fault codes (`fault_report`, `fault_abort`)",
    "",
    enumTable(abi.faultCodes, false),
    DOC_END,
  ].join("\n");
}

/** Replaces the generated section of a markdown text; throws when the markers are missing. */
export function replaceGeneratedSection(markdown: string, section: string): string {
  const begin = markdown.indexOf(DOC_BEGIN);
  const end = markdown.indexOf(DOC_END);
  if (begin < 0 || end < begin) throw new Error("docs/hal-abi.md lacks the generated-section markers");
  return markdown.slice(0, begin) + section + markdown.slice(end + DOC_END.length);
}
