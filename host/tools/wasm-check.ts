// The built-artifact check: decodes a firmware image and proves it stays inside what the boards
// can run — the wasm3 interpreter's feature set, the HAL ABI (assembly/hal/abi.json) and the
// flash/RAM budget of the image's MCU. It decodes the binary itself (WebAssembly Core
// Specification 2.0, chapter 5 "Binary Format", plus the encodings of the post-MVP proposals it
// has to recognise in order to reject them) so that the verdict does not depend on a toolchain
// that might accept more than wasm3 does.
//
//   npx tsx host/tools/wasm-check.ts build/node.wasm node
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadAbi, wasm3Signature } from "../abi.ts";

export type ViolationRule = "import" | "feature" | "memory" | "size" | "export" | "malformed";

export interface Violation {
  rule: ViolationRule;
  message: string;
}

export interface WasmProfile {
  /** The only module name imports may come from (the ABI's "module"). */
  importModule: string;
  /** Import name -> wasm3 signature, e.g. "i(ii)" (i=i32 I=i64 f=f32 F=f64, v=no result). */
  allowedImports: Map<string, string>;
  maxBytes: number;
  maxPages?: number;
  requiredExports?: string[];
}

/** Post-MVP features, named as in the WebAssembly proposals repository. */
export type WasmFeature =
  | "mutable-globals"
  | "sign-extension"
  | "nontrapping-f2i"
  | "bulk-memory"
  | "simd"
  | "relaxed-simd"
  | "threads"
  | "reference-types"
  | "exceptions"
  | "tail-call"
  | "multi-value"
  | "memory64"
  | "multi-memory"
  | "gc"
  | "function-references"
  | "extended-const"
  | "custom-page-sizes";

const FEATURE_LABEL: Record<WasmFeature, string> = {
  "mutable-globals": "mutable globals",
  "sign-extension": "sign extension",
  "nontrapping-f2i": "non-trapping float-to-int",
  "bulk-memory": "bulk memory",
  simd: "SIMD",
  "relaxed-simd": "relaxed SIMD",
  threads: "threads",
  "reference-types": "reference types",
  exceptions: "exceptions",
  "tail-call": "tail calls",
  "multi-value": "multi-value",
  memory64: "memory64",
  "multi-memory": "multi-memory",
  gc: "GC",
  "function-references": "typed function references",
  "extended-const": "extended constant expressions",
  "custom-page-sizes": "custom page sizes",
};

// What wasm3 runs (TOOLCHAIN.md): the MVP plus these. Of bulk memory only memory.copy and
// memory.fill, which asc emits and wasm3 v0.5.0 already implements.
const PROFILE_FEATURES: ReadonlySet<WasmFeature> = new Set<WasmFeature>(["mutable-globals", "sign-extension", "nontrapping-f2i"]);
const PROFILE_BULK_OPS: ReadonlySet<string> = new Set(["memory.copy", "memory.fill"]);

export interface ImportInfo {
  module: string;
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
  /** wasm3 signature for functions ("i(ii)"); a short description for other kinds. */
  signature: string;
}

export interface WasmInfo {
  imports: ImportInfo[];
  exports: string[];
  /** Memory 0 in pages, or null when the module has none. */
  memory: { initial: number; maximum: number | null } | null;
  /** Post-MVP features the module uses, allowed or not (MVP itself is not listed). */
  featuresUsed: WasmFeature[];
  /** Executed-instruction mnemonics over all function bodies and constant expressions. */
  opcodeCounts: Record<string, number>;
}

export interface WasmCheckResult {
  violations: Violation[];
  info: WasmInfo;
}

const PAGE_UNIT = (n: number): string => `${n} page${n === 1 ? "" : "s"}`;

/** The profile of a firmware image: the HAL ABI as allowed imports and the image's budget. */
export function profileFor(image: "node" | "controller"): WasmProfile {
  const abi = loadAbi();
  const allowedImports = new Map(abi.functions.map((fn) => [fn.name, wasm3Signature(fn)] as [string, string]));
  // Per image: bytes of the firmware's flash slot and 64 KiB pages of linear memory.
  // Node: 40 KiB. The foundation's 16 KiB held measurement and enumeration only; the estimator
  // (EKF + SOH), the cell model, the power-loss-safe record store and the lifecycle record need
  // about 34 KiB at -O3 (about 13 % less at -O3s, which runs slower: TOOLCHAIN.md). A Cortex-M4F
  // node MCU has 256 KiB or more of flash; BENCHMARKS.md tracks the size.
  const budget = image === "node" ? { maxBytes: 40960, maxPages: 1 } : { maxBytes: 65536, maxPages: 4 };
  return {
    importModule: abi.module,
    allowedImports,
    ...budget,
    requiredExports: ["init", "tick", "busRxBuffer", "busReceive", "memory"],
  };
}

// ---------------------------------------------------------------------------------------------
// Byte reader

class MalformedError extends Error {
  constructor(offset: number, detail: string) {
    super(`${detail} at offset ${offset} (0x${offset.toString(16)})`);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

class Reader {
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number, readonly context: string) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  byte(): number {
    if (this.pos >= this.end) throw new MalformedError(this.pos, `unexpected end of ${this.context}`);
    return this.bytes[this.pos++] as number;
  }

  peek(): number {
    if (this.pos >= this.end) throw new MalformedError(this.pos, `unexpected end of ${this.context}`);
    return this.bytes[this.pos] as number;
  }

  skip(n: number): void {
    if (n > this.remaining) throw new MalformedError(this.pos, `unexpected end of ${this.context} (${n} bytes needed, ${this.remaining} left)`);
    this.pos += n;
  }

  /** A reader over the next n bytes, which this reader then steps over. */
  slice(n: number, context: string): Reader {
    if (n > this.remaining) {
      throw new MalformedError(this.pos, `${context} declares ${n} bytes but ${this.context} has only ${this.remaining} left`);
    }
    const sub = new Reader(this.bytes, this.pos, this.pos + n, context);
    this.pos += n;
    return sub;
  }

  // LEB128 with the spec's limits: at most ceil(bits/7) bytes, and the unused bits of the last
  // byte must be zero (unsigned) or copies of the sign bit (signed).
  private leb(bits: number, signed: boolean): bigint {
    const start = this.pos;
    const kind = `${signed ? "s" : "u"}${bits}`;
    const maxBytes = Math.ceil(bits / 7);
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (i === maxBytes - 1) {
        if ((b & 0x80) !== 0) throw new MalformedError(start, `${this.context}: ${kind} LEB128 is longer than ${maxBytes} bytes`);
        const used = bits - 7 * i;
        if (signed) {
          const mask = ((0x7f >> (used - 1)) << (used - 1)) & 0x7f;
          const high = b & mask;
          if (high !== 0 && high !== mask) throw new MalformedError(start, `${this.context}: ${kind} LEB128 overflows ${bits} bits`);
        } else if ((b & (((0x7f >> used) << used) & 0x7f)) !== 0) {
          throw new MalformedError(start, `${this.context}: ${kind} LEB128 overflows ${bits} bits`);
        }
      }
      if ((b & 0x80) === 0) {
        if (signed && (b & 0x40) !== 0) result -= 1n << shift;
        return result;
      }
    }
    throw new MalformedError(start, `${this.context}: ${kind} LEB128 is longer than ${maxBytes} bytes`);
  }

  u32(): number {
    return Number(this.leb(32, false));
  }

  s32(): number {
    return Number(this.leb(32, true));
  }

  s33(): number {
    return Number(this.leb(33, true));
  }

  s64(): bigint {
    return this.leb(64, true);
  }

  u64(): number {
    return Number(this.leb(64, false));
  }

  /** A vector length, refused when it cannot fit in what is left (each element takes ≥ 1 byte). */
  count(what: string): number {
    const at = this.pos;
    const n = this.u32();
    if (n > this.remaining) throw new MalformedError(at, `${this.context}: ${what} count ${n} exceeds the ${this.remaining} bytes left`);
    return n;
  }

  name(): string {
    const at = this.pos;
    const n = this.u32();
    if (n > this.remaining) throw new MalformedError(at, `${this.context}: name of ${n} bytes exceeds the ${this.remaining} bytes left`);
    const raw = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return utf8.decode(raw);
    } catch {
      throw new MalformedError(at, `${this.context}: name is not valid UTF-8`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Opcode tables

/** Immediate operands, read in order after the opcode. */
type Immediate =
  | "blocktype"
  | "u32" // label, local, global, tag, data or element index, lane count…
  | "labels" // br_table: vec(label)
  | "func"
  | "type"
  | "table"
  | "mem"
  | "memarg"
  | "s32"
  | "s64"
  | "f32"
  | "f64"
  | "v128"
  | "lane"
  | "valtypes" // select t*
  | "heaptype"
  | "catches" // try_table
  | "zero" // atomic.fence's reserved byte
  | "castflags";

interface OpInfo {
  name: string;
  /** null for the MVP. */
  feature: WasmFeature | null;
  immediates: readonly Immediate[];
}

const op = (name: string, feature: WasmFeature | null, ...immediates: Immediate[]): OpInfo => ({ name, feature, immediates });

function sequence(table: Map<number, OpInfo>, first: number, names: string, feature: WasmFeature | null, ...imm: Immediate[]): void {
  names.split(/\s+/).filter((n) => n !== "").forEach((name, i) => {
    if (name !== "-") table.set(first + i, op(name, feature, ...imm));
  });
}

const SINGLE = new Map<number, OpInfo>();
sequence(SINGLE, 0x00, "unreachable nop", null);
sequence(SINGLE, 0x02, "block loop if", null, "blocktype");
SINGLE.set(0x05, op("else", null));
SINGLE.set(0x06, op("try", "exceptions", "blocktype"));
SINGLE.set(0x07, op("catch", "exceptions", "u32"));
SINGLE.set(0x08, op("throw", "exceptions", "u32"));
SINGLE.set(0x09, op("rethrow", "exceptions", "u32"));
SINGLE.set(0x0a, op("throw_ref", "exceptions"));
SINGLE.set(0x0b, op("end", null));
SINGLE.set(0x0c, op("br", null, "u32"));
SINGLE.set(0x0d, op("br_if", null, "u32"));
SINGLE.set(0x0e, op("br_table", null, "labels", "u32"));
SINGLE.set(0x0f, op("return", null));
SINGLE.set(0x10, op("call", null, "func"));
SINGLE.set(0x11, op("call_indirect", null, "type", "table"));
SINGLE.set(0x12, op("return_call", "tail-call", "func"));
SINGLE.set(0x13, op("return_call_indirect", "tail-call", "type", "table"));
SINGLE.set(0x14, op("call_ref", "function-references", "type"));
SINGLE.set(0x15, op("return_call_ref", "function-references", "type"));
SINGLE.set(0x18, op("delegate", "exceptions", "u32"));
SINGLE.set(0x19, op("catch_all", "exceptions"));
SINGLE.set(0x1a, op("drop", null));
SINGLE.set(0x1b, op("select", null));
SINGLE.set(0x1c, op("select", "reference-types", "valtypes"));
SINGLE.set(0x1f, op("try_table", "exceptions", "blocktype", "catches"));
sequence(SINGLE, 0x20, "local.get local.set local.tee global.get global.set", null, "u32");
SINGLE.set(0x25, op("table.get", "reference-types", "table"));
SINGLE.set(0x26, op("table.set", "reference-types", "table"));
sequence(
  SINGLE,
  0x28,
  `i32.load i64.load f32.load f64.load i32.load8_s i32.load8_u i32.load16_s i32.load16_u
   i64.load8_s i64.load8_u i64.load16_s i64.load16_u i64.load32_s i64.load32_u
   i32.store i64.store f32.store f64.store i32.store8 i32.store16 i64.store8 i64.store16 i64.store32`,
  null,
  "memarg",
);
sequence(SINGLE, 0x3f, "memory.size memory.grow", null, "mem");
SINGLE.set(0x41, op("i32.const", null, "s32"));
SINGLE.set(0x42, op("i64.const", null, "s64"));
SINGLE.set(0x43, op("f32.const", null, "f32"));
SINGLE.set(0x44, op("f64.const", null, "f64"));
sequence(
  SINGLE,
  0x45,
  `i32.eqz i32.eq i32.ne i32.lt_s i32.lt_u i32.gt_s i32.gt_u i32.le_s i32.le_u i32.ge_s i32.ge_u
   i64.eqz i64.eq i64.ne i64.lt_s i64.lt_u i64.gt_s i64.gt_u i64.le_s i64.le_u i64.ge_s i64.ge_u
   f32.eq f32.ne f32.lt f32.gt f32.le f32.ge f64.eq f64.ne f64.lt f64.gt f64.le f64.ge
   i32.clz i32.ctz i32.popcnt i32.add i32.sub i32.mul i32.div_s i32.div_u i32.rem_s i32.rem_u
   i32.and i32.or i32.xor i32.shl i32.shr_s i32.shr_u i32.rotl i32.rotr
   i64.clz i64.ctz i64.popcnt i64.add i64.sub i64.mul i64.div_s i64.div_u i64.rem_s i64.rem_u
   i64.and i64.or i64.xor i64.shl i64.shr_s i64.shr_u i64.rotl i64.rotr
   f32.abs f32.neg f32.ceil f32.floor f32.trunc f32.nearest f32.sqrt
   f32.add f32.sub f32.mul f32.div f32.min f32.max f32.copysign
   f64.abs f64.neg f64.ceil f64.floor f64.trunc f64.nearest f64.sqrt
   f64.add f64.sub f64.mul f64.div f64.min f64.max f64.copysign
   i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u
   i64.extend_i32_s i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u
   f32.convert_i32_s f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u f32.demote_f64
   f64.convert_i32_s f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u f64.promote_f32
   i32.reinterpret_f32 i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64`,
  null,
);
sequence(SINGLE, 0xc0, "i32.extend8_s i32.extend16_s i64.extend8_s i64.extend16_s i64.extend32_s", "sign-extension");
SINGLE.set(0xd0, op("ref.null", "reference-types", "heaptype"));
SINGLE.set(0xd1, op("ref.is_null", "reference-types"));
SINGLE.set(0xd2, op("ref.func", "reference-types", "func"));
SINGLE.set(0xd3, op("ref.eq", "gc"));
SINGLE.set(0xd4, op("ref.as_non_null", "function-references"));
SINGLE.set(0xd5, op("br_on_null", "function-references", "u32"));
SINGLE.set(0xd6, op("br_on_non_null", "function-references", "u32"));

const GC_OPS = new Map<number, OpInfo>();
sequence(GC_OPS, 0x00, "struct.new struct.new_default", "gc", "type");
sequence(GC_OPS, 0x02, "struct.get struct.get_s struct.get_u struct.set", "gc", "type", "u32");
sequence(GC_OPS, 0x06, "array.new array.new_default", "gc", "type");
sequence(GC_OPS, 0x08, "array.new_fixed array.new_data array.new_elem", "gc", "type", "u32");
sequence(GC_OPS, 0x0b, "array.get array.get_s array.get_u array.set", "gc", "type");
GC_OPS.set(0x0f, op("array.len", "gc"));
GC_OPS.set(0x10, op("array.fill", "gc", "type"));
GC_OPS.set(0x11, op("array.copy", "gc", "type", "type"));
sequence(GC_OPS, 0x12, "array.init_data array.init_elem", "gc", "type", "u32");
sequence(GC_OPS, 0x14, "ref.test ref.test_null ref.cast ref.cast_null", "gc", "heaptype");
sequence(GC_OPS, 0x18, "br_on_cast br_on_cast_fail", "gc", "castflags", "u32", "heaptype", "heaptype");
sequence(GC_OPS, 0x1a, "any.convert_extern extern.convert_any ref.i31 i31.get_s i31.get_u", "gc");

const MISC_OPS = new Map<number, OpInfo>();
sequence(
  MISC_OPS,
  0x00,
  `i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u
   i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u`,
  "nontrapping-f2i",
);
MISC_OPS.set(0x08, op("memory.init", "bulk-memory", "u32", "mem"));
MISC_OPS.set(0x09, op("data.drop", "bulk-memory", "u32"));
MISC_OPS.set(0x0a, op("memory.copy", "bulk-memory", "mem", "mem"));
MISC_OPS.set(0x0b, op("memory.fill", "bulk-memory", "mem"));
MISC_OPS.set(0x0c, op("table.init", "bulk-memory", "u32", "table"));
MISC_OPS.set(0x0d, op("elem.drop", "bulk-memory", "u32"));
MISC_OPS.set(0x0e, op("table.copy", "bulk-memory", "table", "table"));
sequence(MISC_OPS, 0x0f, "table.grow table.size table.fill", "reference-types", "table");

// SIMD (WebAssembly 2.0, section 5.4.8) and relaxed SIMD; "-" marks unassigned opcodes.
const SIMD_OPS = new Map<number, OpInfo>();
sequence(
  SIMD_OPS,
  0x00,
  `v128.load v128.load8x8_s v128.load8x8_u v128.load16x4_s v128.load16x4_u v128.load32x2_s
   v128.load32x2_u v128.load8_splat v128.load16_splat v128.load32_splat v128.load64_splat v128.store`,
  "simd",
  "memarg",
);
SIMD_OPS.set(0x0c, op("v128.const", "simd", "v128"));
SIMD_OPS.set(0x0d, op("i8x16.shuffle", "simd", "v128"));
sequence(SIMD_OPS, 0x0e, "i8x16.swizzle i8x16.splat i16x8.splat i32x4.splat i64x2.splat f32x4.splat f64x2.splat", "simd");
sequence(
  SIMD_OPS,
  0x15,
  `i8x16.extract_lane_s i8x16.extract_lane_u i8x16.replace_lane i16x8.extract_lane_s
   i16x8.extract_lane_u i16x8.replace_lane i32x4.extract_lane i32x4.replace_lane
   i64x2.extract_lane i64x2.replace_lane f32x4.extract_lane f32x4.replace_lane
   f64x2.extract_lane f64x2.replace_lane`,
  "simd",
  "lane",
);
sequence(
  SIMD_OPS,
  0x23,
  `i8x16.eq i8x16.ne i8x16.lt_s i8x16.lt_u i8x16.gt_s i8x16.gt_u i8x16.le_s i8x16.le_u i8x16.ge_s i8x16.ge_u
   i16x8.eq i16x8.ne i16x8.lt_s i16x8.lt_u i16x8.gt_s i16x8.gt_u i16x8.le_s i16x8.le_u i16x8.ge_s i16x8.ge_u
   i32x4.eq i32x4.ne i32x4.lt_s i32x4.lt_u i32x4.gt_s i32x4.gt_u i32x4.le_s i32x4.le_u i32x4.ge_s i32x4.ge_u
   f32x4.eq f32x4.ne f32x4.lt f32x4.gt f32x4.le f32x4.ge f64x2.eq f64x2.ne f64x2.lt f64x2.gt f64x2.le f64x2.ge
   v128.not v128.and v128.andnot v128.or v128.xor v128.bitselect v128.any_true`,
  "simd",
);
sequence(
  SIMD_OPS,
  0x54,
  `v128.load8_lane v128.load16_lane v128.load32_lane v128.load64_lane
   v128.store8_lane v128.store16_lane v128.store32_lane v128.store64_lane`,
  "simd",
  "memarg",
  "lane",
);
sequence(SIMD_OPS, 0x5c, "v128.load32_zero v128.load64_zero", "simd", "memarg");
sequence(
  SIMD_OPS,
  0x5e,
  `f32x4.demote_f64x2_zero f64x2.promote_low_f32x4
   i8x16.abs i8x16.neg i8x16.popcnt i8x16.all_true i8x16.bitmask i8x16.narrow_i16x8_s i8x16.narrow_i16x8_u
   f32x4.ceil f32x4.floor f32x4.trunc f32x4.nearest
   i8x16.shl i8x16.shr_s i8x16.shr_u i8x16.add i8x16.add_sat_s i8x16.add_sat_u
   i8x16.sub i8x16.sub_sat_s i8x16.sub_sat_u f64x2.ceil f64x2.floor
   i8x16.min_s i8x16.min_u i8x16.max_s i8x16.max_u f64x2.trunc i8x16.avgr_u
   i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u
   i32x4.extadd_pairwise_i16x8_s i32x4.extadd_pairwise_i16x8_u
   i16x8.abs i16x8.neg i16x8.q15mulr_sat_s i16x8.all_true i16x8.bitmask i16x8.narrow_i32x4_s i16x8.narrow_i32x4_u
   i16x8.extend_low_i8x16_s i16x8.extend_high_i8x16_s i16x8.extend_low_i8x16_u i16x8.extend_high_i8x16_u
   i16x8.shl i16x8.shr_s i16x8.shr_u i16x8.add i16x8.add_sat_s i16x8.add_sat_u
   i16x8.sub i16x8.sub_sat_s i16x8.sub_sat_u f64x2.nearest i16x8.mul
   i16x8.min_s i16x8.min_u i16x8.max_s i16x8.max_u - i16x8.avgr_u
   i16x8.extmul_low_i8x16_s i16x8.extmul_high_i8x16_s i16x8.extmul_low_i8x16_u i16x8.extmul_high_i8x16_u
   i32x4.abs i32x4.neg - i32x4.all_true i32x4.bitmask - -
   i32x4.extend_low_i16x8_s i32x4.extend_high_i16x8_s i32x4.extend_low_i16x8_u i32x4.extend_high_i16x8_u
   i32x4.shl i32x4.shr_s i32x4.shr_u i32x4.add - - i32x4.sub - - - i32x4.mul
   i32x4.min_s i32x4.min_u i32x4.max_s i32x4.max_u i32x4.dot_i16x8_s -
   i32x4.extmul_low_i16x8_s i32x4.extmul_high_i16x8_s i32x4.extmul_low_i16x8_u i32x4.extmul_high_i16x8_u
   i64x2.abs i64x2.neg - i64x2.all_true i64x2.bitmask - -
   i64x2.extend_low_i32x4_s i64x2.extend_high_i32x4_s i64x2.extend_low_i32x4_u i64x2.extend_high_i32x4_u
   i64x2.shl i64x2.shr_s i64x2.shr_u i64x2.add - - i64x2.sub - - - i64x2.mul
   i64x2.eq i64x2.ne i64x2.lt_s i64x2.gt_s i64x2.le_s i64x2.ge_s
   i64x2.extmul_low_i32x4_s i64x2.extmul_high_i32x4_s i64x2.extmul_low_i32x4_u i64x2.extmul_high_i32x4_u
   f32x4.abs f32x4.neg - f32x4.sqrt f32x4.add f32x4.sub f32x4.mul f32x4.div f32x4.min f32x4.max f32x4.pmin f32x4.pmax
   f64x2.abs f64x2.neg - f64x2.sqrt f64x2.add f64x2.sub f64x2.mul f64x2.div f64x2.min f64x2.max f64x2.pmin f64x2.pmax
   i32x4.trunc_sat_f32x4_s i32x4.trunc_sat_f32x4_u f32x4.convert_i32x4_s f32x4.convert_i32x4_u
   i32x4.trunc_sat_f64x2_s_zero i32x4.trunc_sat_f64x2_u_zero f64x2.convert_low_i32x4_s f64x2.convert_low_i32x4_u`,
  "simd",
);
sequence(
  SIMD_OPS,
  0x100,
  `i8x16.relaxed_swizzle i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u
   i32x4.relaxed_trunc_f64x2_s_zero i32x4.relaxed_trunc_f64x2_u_zero
   f32x4.relaxed_madd f32x4.relaxed_nmadd f64x2.relaxed_madd f64x2.relaxed_nmadd
   i8x16.relaxed_laneselect i16x8.relaxed_laneselect i32x4.relaxed_laneselect i64x2.relaxed_laneselect
   f32x4.relaxed_min f32x4.relaxed_max f64x2.relaxed_min f64x2.relaxed_max
   i16x8.relaxed_q15mulr_s i16x8.relaxed_dot_i8x16_i7x16_s i32x4.relaxed_dot_i8x16_i7x16_add_s`,
  "relaxed-simd",
);

// Threads proposal, "Atomic Memory Accesses" binary encoding.
const ATOMIC_OPS = new Map<number, OpInfo>();
sequence(ATOMIC_OPS, 0x00, "memory.atomic.notify memory.atomic.wait32 memory.atomic.wait64", "threads", "memarg");
ATOMIC_OPS.set(0x03, op("atomic.fence", "threads", "zero"));
sequence(
  ATOMIC_OPS,
  0x10,
  `i32.atomic.load i64.atomic.load i32.atomic.load8_u i32.atomic.load16_u i64.atomic.load8_u
   i64.atomic.load16_u i64.atomic.load32_u i32.atomic.store i64.atomic.store i32.atomic.store8
   i32.atomic.store16 i64.atomic.store8 i64.atomic.store16 i64.atomic.store32`,
  "threads",
  "memarg",
);
["add", "sub", "and", "or", "xor", "xchg", "cmpxchg"].forEach((rmw, i) => {
  const names = `i32.atomic.rmw.${rmw} i64.atomic.rmw.${rmw} i32.atomic.rmw8.${rmw}_u i32.atomic.rmw16.${rmw}_u
                 i64.atomic.rmw8.${rmw}_u i64.atomic.rmw16.${rmw}_u i64.atomic.rmw32.${rmw}_u`;
  sequence(ATOMIC_OPS, 0x1e + 7 * i, names, "threads", "memarg");
});

const PREFIXED = new Map<number, Map<number, OpInfo>>([
  [0xfb, GC_OPS],
  [0xfc, MISC_OPS],
  [0xfd, SIMD_OPS],
  [0xfe, ATOMIC_OPS],
]);

const CONSTANT_OPS: ReadonlySet<string> = new Set([
  "i32.const", "i64.const", "f32.const", "f64.const", "global.get", "end",
  "ref.null", "ref.func", "v128.const",
  "struct.new", "struct.new_default", "array.new", "array.new_default", "array.new_fixed",
  "any.convert_extern", "extern.convert_any", "ref.i31",
]);
const EXTENDED_CONSTANT_OPS: ReadonlySet<string> = new Set(["i32.add", "i32.sub", "i32.mul", "i64.add", "i64.sub", "i64.mul"]);

function inProfile(info: OpInfo): boolean {
  return info.feature === null
    || PROFILE_FEATURES.has(info.feature)
    || (info.feature === "bulk-memory" && PROFILE_BULK_OPS.has(info.name));
}

const hex = (n: number): string => `0x${n.toString(16).padStart(2, "0")}`;
const opcodeText = (prefix: number, sub: number | null): string => (sub === null ? hex(prefix) : `${hex(prefix)} ${hex(sub)}`);

// ---------------------------------------------------------------------------------------------
// Module model

interface ValType {
  name: string;
  /** The feature needed to use it as a parameter, result, local or global (null: MVP). */
  feature: WasmFeature | null;
}

type TypeEntry = { kind: "func"; params: ValType[]; results: ValType[] } | { kind: "struct" | "array" };

const SCALAR_LETTER: Record<string, string> = { i32: "i", i64: "I", f32: "f", f64: "F" };

function signatureOf(type: { params: ValType[]; results: ValType[] }): string {
  const letter = (t: ValType): string => SCALAR_LETTER[t.name] ?? `<${t.name}>`;
  const ret = type.results.length === 0 ? "v" : type.results.map(letter).join("");
  return `${ret}(${type.params.map(letter).join("")})`;
}

const showTypes = (ts: ValType[]): string => `[${ts.map((t) => t.name).join(" ")}]`;

const SECTION_NAMES = [
  "custom", "type", "import", "function", "table", "memory", "global", "export",
  "start", "element", "code", "data", "data count", "tag",
];
// Required order of the non-custom sections (the tag section sits between memory and global).
const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];

const ABSTRACT_HEAP_TYPES = new Map<number, [string, WasmFeature]>([
  [0x70, ["func", "reference-types"]],
  [0x6f, ["extern", "reference-types"]],
  [0x69, ["exn", "exceptions"]],
  [0x74, ["noexn", "exceptions"]],
  [0x73, ["nofunc", "gc"]],
  [0x72, ["noextern", "gc"]],
  [0x71, ["none", "gc"]],
  [0x6e, ["any", "gc"]],
  [0x6d, ["eq", "gc"]],
  [0x6c, ["i31", "gc"]],
  [0x6b, ["struct", "gc"]],
  [0x6a, ["array", "gc"]],
]);

interface Limits {
  initial: number;
  maximum: number | null;
  shared: boolean;
  is64: boolean;
  customPageSize: boolean;
}

interface MemoryEntry extends Limits {
  importedAs: string | null;
}

interface Recorded {
  rule: ViolationRule;
  message: string;
  count: number;
}

class Checker {
  private readonly recorded: Recorded[] = [];
  private readonly firstOf = new Map<string, Recorded>();
  private malformed = false;

  private readonly features = new Set<WasmFeature>();
  private readonly opcodeCounts: Record<string, number> = {};
  private readonly functionNames = new Map<number, string>();

  private readonly types: TypeEntry[] = [];
  private readonly funcTypes: number[] = [];
  private importedFuncs = 0;
  private tableCount = 0;
  private readonly memories: MemoryEntry[] = [];
  private readonly globals: { mutable: boolean }[] = [];
  private readonly imports: ImportInfo[] = [];
  private readonly exports: { name: string; kind: number; index: number }[] = [];
  private dataCount: number | null = null;
  private codeSeen = false;

  constructor(private readonly bytes: Uint8Array, private readonly profile: WasmProfile) {}

  run(): WasmCheckResult {
    if (this.bytes.length > this.profile.maxBytes) {
      this.report("size", `binary is ${this.bytes.length} bytes, budget ${this.profile.maxBytes}`);
    }
    try {
      this.parseModule();
    } catch (e) {
      if (!(e instanceof MalformedError)) throw e;
      this.reportMalformed(e);
    }
    this.checkStructure();
    const memory = this.memories[0];
    return {
      violations: this.recorded.map((r) => ({
        rule: r.rule,
        message: r.count > 1 ? `${r.message} (first of ${r.count})` : r.message,
      })),
      info: {
        imports: this.imports,
        exports: this.exports.map((e) => e.name),
        memory: memory === undefined ? null : { initial: memory.initial, maximum: memory.maximum },
        featuresUsed: (Object.keys(FEATURE_LABEL) as WasmFeature[]).filter((f) => this.features.has(f)),
        opcodeCounts: this.opcodeCounts,
      },
    };
  }

  // ----- reporting

  private report(rule: ViolationRule, message: string): void {
    this.recorded.push({ rule, message, count: 1 });
  }

  private reportMalformed(e: MalformedError): void {
    this.malformed = true;
    this.report("malformed", e.message);
  }

  /** A feature outside the profile; repeats of the same key are counted into the first report. */
  private forbid(feature: WasmFeature, key: string, message: string): void {
    this.features.add(feature);
    const prior = this.firstOf.get(key);
    if (prior !== undefined) {
      prior.count++;
      return;
    }
    const entry: Recorded = { rule: "feature", message, count: 1 };
    this.firstOf.set(key, entry);
    this.recorded.push(entry);
  }

  private needs(feature: WasmFeature | null, key: string, message: () => string): void {
    if (feature === null) return;
    if (PROFILE_FEATURES.has(feature)) this.features.add(feature);
    else this.forbid(feature, key, message());
  }

  private functionLabel(index: number): string {
    const name = this.functionNames.get(index);
    return name === undefined ? `function ${index}` : `function ${index} (${name})`;
  }

  // ----- module structure

  private parseModule(): void {
    const file = new Reader(this.bytes, 0, this.bytes.length, "module");
    if (this.bytes.length < 8) throw new MalformedError(0, `file is ${this.bytes.length} bytes, too short for the WebAssembly header`);
    const magic = [0x00, 0x61, 0x73, 0x6d];
    if (!magic.every((b, i) => this.bytes[i] === b)) throw new MalformedError(0, "bad magic: not a WebAssembly binary");
    const version = [4, 5, 6, 7].map((i) => this.bytes[i] as number);
    if (version.join() !== "1,0,0,0") {
      const layer = version[2] === 1 ? " (a component, not a core module)" : "";
      throw new MalformedError(4, `unsupported binary version ${version.map(hex).join(" ")}${layer}; expected 01 00 00 00`);
    }
    file.pos = 8;
    this.readFunctionNames(file.pos);

    let lastRank = -1;
    const seen = new Set<number>();
    while (file.remaining > 0) {
      const at = file.pos;
      const id = file.byte();
      const label = id < SECTION_NAMES.length ? `section ${id} (${SECTION_NAMES[id]})` : `section ${id}`;
      const section = file.slice(file.u32(), label);
      try {
        if (id !== 0) {
          const rank = SECTION_ORDER.indexOf(id);
          if (rank < 0) throw new MalformedError(at, `unknown section id ${id}`);
          if (seen.has(id)) throw new MalformedError(at, `duplicate ${label}`);
          if (rank < lastRank) throw new MalformedError(at, `${label} is out of order`);
          seen.add(id);
          lastRank = rank;
        }
        this.parseSection(id, section);
        if (section.remaining !== 0) throw new MalformedError(section.pos, `${label} has ${section.remaining} bytes after its contents`);
      } catch (e) {
        // The section's size is known, so one bad section need not hide the rest of the module.
        if (!(e instanceof MalformedError)) throw e;
        this.reportMalformed(e);
      }
    }
    const defined = this.funcTypes.length - this.importedFuncs;
    if (defined > 0 && !this.codeSeen) {
      throw new MalformedError(this.bytes.length, `function section declares ${defined} functions but there is no code section`);
    }
  }

  // Names only decorate messages, so a bad name section is ignored here and reported (if at all)
  // by the main pass.
  private readFunctionNames(start: number): void {
    try {
      const file = new Reader(this.bytes, start, this.bytes.length, "module");
      while (file.remaining > 0) {
        const id = file.byte();
        const section = file.slice(file.u32(), "section");
        if (id !== 0 || section.name() !== "name") continue;
        while (section.remaining > 0) {
          const kind = section.byte();
          const sub = section.slice(section.u32(), "name subsection");
          if (kind !== 1) continue;
          const n = sub.count("function name");
          for (let i = 0; i < n; i++) {
            const index = sub.u32();
            this.functionNames.set(index, sub.name());
          }
        }
      }
    } catch (e) {
      if (!(e instanceof MalformedError)) throw e;
    }
  }

  private parseSection(id: number, r: Reader): void {
    switch (id) {
      case 0:
        r.name();
        r.skip(r.remaining);
        return;
      case 1:
        return this.parseTypes(r);
      case 2:
        return this.parseImports(r);
      case 3: {
        const n = r.count("function");
        for (let i = 0; i < n; i++) this.funcTypes.push(this.funcTypeIndex(r));
        return;
      }
      case 4: {
        const n = r.count("table");
        for (let i = 0; i < n; i++) this.tableType(r, `table ${this.tableCount++}`);
        return;
      }
      case 5: {
        const n = r.count("memory");
        for (let i = 0; i < n; i++) this.memories.push({ ...this.memoryType(r, `memory ${this.memories.length}`), importedAs: null });
        return;
      }
      case 6: {
        const n = r.count("global");
        for (let i = 0; i < n; i++) {
          const where = `global ${this.globals.length}`;
          this.globals.push({ mutable: this.globalType(r, where) });
          this.decodeExpression(r, `${where} initializer`, null);
        }
        return;
      }
      case 7:
        return this.parseExports(r);
      case 8:
        this.funcIndex(r, "start section");
        return;
      case 9:
        return this.parseElements(r);
      case 10:
        return this.parseCode(r);
      case 11:
        return this.parseData(r);
      case 12:
        // Only the count: fine on its own; memory.init and data.drop, which need it, are refused.
        this.dataCount = r.u32();
        return;
      case 13: {
        const n = r.count("tag");
        for (let i = 0; i < n; i++) this.tagType(r);
        this.forbid("exceptions", "tag-section", `tag section with ${n} tag${n === 1 ? "" : "s"} (exceptions) is outside the wasm3 profile`);
        return;
      }
    }
  }

  private parseTypes(r: Reader): void {
    const n = r.count("type");
    for (let i = 0; i < n; i++) {
      if (r.peek() === 0x4e) {
        r.byte();
        this.forbid("gc", "rec", `recursive type group at type ${this.types.length} (GC) is outside the wasm3 profile`);
        const m = r.count("recursive type");
        for (let j = 0; j < m; j++) this.subType(r);
      } else {
        this.subType(r);
      }
    }
  }

  private subType(r: Reader): void {
    const index = this.types.length;
    const b = r.peek();
    if (b === 0x50 || b === 0x4f) {
      r.byte();
      this.forbid("gc", "subtype", `subtype declaration at type ${index} (GC) is outside the wasm3 profile`);
      const supers = r.count("supertype");
      for (let i = 0; i < supers; i++) r.u32();
    }
    const at = r.pos;
    const form = r.byte();
    if (form === 0x60) {
      const params = this.valTypes(r);
      const results = this.valTypes(r);
      const type = { kind: "func" as const, params, results };
      this.types.push(type);
      for (const t of [...params, ...results]) {
        this.needs(t.feature, `type-valtype:${t.name}`, () => `value type ${t.name} (${FEATURE_LABEL[t.feature as WasmFeature]}) in type ${index} ${showTypes(params)} -> ${showTypes(results)} is outside the wasm3 profile`);
      }
      if (results.length > 1) {
        this.forbid("multi-value", "multi-result-type", `type ${index} ${showTypes(params)} -> ${showTypes(results)} has ${results.length} results (multi-value), outside the wasm3 profile`);
      }
    } else if (form === 0x5f) {
      const fields = r.count("field");
      for (let i = 0; i < fields; i++) this.fieldType(r);
      this.types.push({ kind: "struct" });
      this.forbid("gc", "struct", `struct type ${index} (GC) is outside the wasm3 profile`);
    } else if (form === 0x5e) {
      this.fieldType(r);
      this.types.push({ kind: "array" });
      this.forbid("gc", "array", `array type ${index} (GC) is outside the wasm3 profile`);
    } else {
      throw new MalformedError(at, `unknown type form ${hex(form)} at type ${index}`);
    }
  }

  private fieldType(r: Reader): void {
    const b = r.peek();
    if (b === 0x78 || b === 0x77) r.byte();
    else this.valType(r);
    this.mutability(r);
  }

  private mutability(r: Reader): boolean {
    const at = r.pos;
    const m = r.byte();
    if (m > 1) throw new MalformedError(at, `mutability flag ${hex(m)} is neither 0 nor 1`);
    return m === 1;
  }

  private valTypes(r: Reader): ValType[] {
    const n = r.count("value type");
    const out: ValType[] = [];
    for (let i = 0; i < n; i++) out.push(this.valType(r));
    return out;
  }

  private valType(r: Reader): ValType {
    const at = r.pos;
    const b = r.byte();
    switch (b) {
      case 0x7f: return { name: "i32", feature: null };
      case 0x7e: return { name: "i64", feature: null };
      case 0x7d: return { name: "f32", feature: null };
      case 0x7c: return { name: "f64", feature: null };
      case 0x7b: return { name: "v128", feature: "simd" };
      case 0x63:
      case 0x64: {
        const heap = this.heapType(r);
        return { name: `(ref ${b === 0x63 ? "null " : ""}${heap})`, feature: "function-references" };
      }
    }
    const abstract = ABSTRACT_HEAP_TYPES.get(b);
    if (abstract === undefined) throw new MalformedError(at, `unknown value type ${hex(b)}`);
    return { name: `${abstract[0]}ref`, feature: abstract[1] };
  }

  private heapType(r: Reader): string {
    const at = r.pos;
    const v = r.s33();
    if (v >= 0) return `${v}`;
    const abstract = v >= -64 ? ABSTRACT_HEAP_TYPES.get(v + 0x80) : undefined;
    if (abstract === undefined) throw new MalformedError(at, `unknown heap type ${v}`);
    return abstract[0];
  }

  private limits(r: Reader, where: string): Limits {
    const at = r.pos;
    const flags = r.byte();
    if (flags > 0x0f) throw new MalformedError(at, `${where}: unknown limits flags ${hex(flags)}`);
    const is64 = (flags & 0x04) !== 0;
    const read = (): number => (is64 ? r.u64() : r.u32());
    const initial = read();
    const maximum = (flags & 0x01) !== 0 ? read() : null;
    const customPageSize = (flags & 0x08) !== 0;
    if (customPageSize) r.u32();
    return { initial, maximum, shared: (flags & 0x02) !== 0, is64, customPageSize };
  }

  private memoryType(r: Reader, where: string): Limits {
    const limits = this.limits(r, where);
    if (limits.shared) this.forbid("threads", `shared:${where}`, `${where} is shared (threads), outside the wasm3 profile`);
    if (limits.is64) this.forbid("memory64", `memory64:${where}`, `${where} has 64-bit addresses (memory64), outside the wasm3 profile`);
    if (limits.customPageSize) this.forbid("custom-page-sizes", `page-size:${where}`, `${where} declares a custom page size, outside the wasm3 profile`);
    return limits;
  }

  /** Returns the element type's name. */
  private tableType(r: Reader, where: string): string {
    if (r.peek() === 0x40) {
      r.byte();
      const at = r.pos;
      if (r.byte() !== 0x00) throw new MalformedError(at, `${where}: reserved byte after 0x40 is not zero`);
      this.forbid("function-references", `table-init:${where}`, `${where} has an initializer expression (typed function references), outside the wasm3 profile`);
      const element = this.tableElement(r, where);
      this.decodeExpression(r, `${where} initializer`, null);
      return element;
    }
    return this.tableElement(r, where);
  }

  private tableElement(r: Reader, where: string): string {
    const element = this.valType(r);
    if (element.name !== "funcref") {
      this.forbid(element.feature ?? "reference-types", `table-element:${where}`, `${where} holds ${element.name} (${FEATURE_LABEL[element.feature ?? "reference-types"]}), outside the wasm3 profile`);
    }
    const limits = this.limits(r, where);
    if (limits.is64) this.forbid("memory64", `table64:${where}`, `${where} has 64-bit indices (memory64), outside the wasm3 profile`);
    if (limits.shared) this.forbid("threads", `shared:${where}`, `${where} is shared (threads), outside the wasm3 profile`);
    return element.name;
  }

  private globalType(r: Reader, where: string): boolean {
    const type = this.valType(r);
    this.needs(type.feature, `global-valtype:${type.name}`, () => `value type ${type.name} (${FEATURE_LABEL[type.feature as WasmFeature]}) of ${where} is outside the wasm3 profile`);
    return this.mutability(r);
  }

  private tagType(r: Reader): number {
    const at = r.pos;
    if (r.byte() !== 0x00) throw new MalformedError(at, "tag attribute is not 0 (exception)");
    return this.funcTypeIndex(r);
  }

  private funcTypeIndex(r: Reader): number {
    const at = r.pos;
    const index = r.u32();
    if (this.types[index]?.kind !== "func") {
      throw new MalformedError(at, `type index ${index} is not a function type (the module has ${this.types.length} types)`);
    }
    return index;
  }

  private funcIndex(r: Reader, where: string): number {
    const at = r.pos;
    const index = r.u32();
    if (index >= this.funcTypes.length) throw new MalformedError(at, `${where}: function index ${index} out of range (${this.funcTypes.length} functions)`);
    return index;
  }

  private funcSignature(typeIndex: number): string {
    const type = this.types[typeIndex];
    return type?.kind === "func" ? signatureOf(type) : "?";
  }

  private parseImports(r: Reader): void {
    const n = r.count("import");
    for (let i = 0; i < n; i++) {
      const module = r.name();
      const name = r.name();
      const full = `${module}.${name}`;
      const at = r.pos;
      const kind = r.byte();
      const refuse = (what: string): void => this.report("import", `import ${full} is a ${what}; only functions of the HAL ABI may be imported`);
      switch (kind) {
        case 0x00: {
          const type = this.funcTypeIndex(r);
          this.funcTypes.push(type);
          this.importedFuncs++;
          const signature = this.funcSignature(type);
          this.imports.push({ module, name, kind: "function", signature });
          this.checkImportedFunction(module, name, signature);
          break;
        }
        case 0x01: {
          const element = this.tableType(r, `imported table ${full}`);
          this.tableCount++;
          this.imports.push({ module, name, kind: "table", signature: `table ${element}` });
          refuse("table");
          break;
        }
        case 0x02: {
          const limits = this.memoryType(r, `imported memory ${full}`);
          this.memories.push({ ...limits, importedAs: full });
          this.imports.push({ module, name, kind: "memory", signature: `memory ${limits.initial}..${limits.maximum ?? ""}` });
          refuse("memory");
          break;
        }
        case 0x03: {
          const mutable = this.globalType(r, `imported global ${full}`);
          if (mutable) this.features.add("mutable-globals");
          this.globals.push({ mutable });
          this.imports.push({ module, name, kind: "global", signature: `global${mutable ? " mut" : ""}` });
          refuse("global");
          break;
        }
        case 0x04: {
          const type = this.tagType(r);
          this.imports.push({ module, name, kind: "tag", signature: `tag ${this.funcSignature(type)}` });
          this.forbid("exceptions", `tag-import:${full}`, `imported tag ${full} (exceptions) is outside the wasm3 profile`);
          refuse("tag");
          break;
        }
        default:
          throw new MalformedError(at, `import ${full} has unknown kind ${hex(kind)}`);
      }
    }
  }

  private checkImportedFunction(module: string, name: string, signature: string): void {
    const expected = this.profile.allowedImports.get(name);
    if (module !== this.profile.importModule || expected === undefined) {
      const hint = expected !== undefined ? ` (HAL functions come from module "${this.profile.importModule}")` : "";
      this.report("import", `import ${module}.${name} is outside the HAL ABI${hint}`);
    } else if (signature !== expected) {
      this.report("import", `import ${module}.${name} has signature ${signature} but the ABI says ${expected}`);
    }
  }

  private parseExports(r: Reader): void {
    const n = r.count("export");
    for (let i = 0; i < n; i++) {
      const name = r.name();
      const at = r.pos;
      const kind = r.byte();
      const index = r.u32();
      if (kind > 4) throw new MalformedError(at, `export "${name}" has unknown kind ${hex(kind)}`);
      if (kind === 3 && this.globals[index]?.mutable === true) this.features.add("mutable-globals");
      this.exports.push({ name, kind, index });
    }
  }

  private parseElements(r: Reader): void {
    const n = r.count("element segment");
    for (let i = 0; i < n; i++) {
      const where = `element segment ${i}`;
      const at = r.pos;
      const flags = r.u32();
      if (flags > 7) throw new MalformedError(at, `${where} has unknown flags ${flags}`);
      const passiveOrDeclarative = (flags & 0x01) !== 0;
      const explicitTable = (flags & 0x03) === 0x02;
      const expressions = (flags & 0x04) !== 0;
      if (explicitTable) r.u32();
      if (!passiveOrDeclarative) this.decodeExpression(r, `${where} offset`, null);
      if (flags !== 0 && flags !== 4) {
        if (expressions) this.valType(r);
        else {
          const kindAt = r.pos;
          if (r.byte() !== 0x00) throw new MalformedError(kindAt, `${where} has an unknown element kind`);
        }
      }
      const items = r.count("element");
      for (let j = 0; j < items; j++) {
        if (expressions) this.decodeExpression(r, where, null);
        else this.funcIndex(r, where);
      }
      if (flags !== 0) {
        // wasm3 reads only the MVP form: active, table 0, a vector of function indices.
        const mode = passiveOrDeclarative ? ((flags & 0x02) !== 0 ? "declarative" : "passive") : "active";
        const how = [mode, explicitTable ? "explicit table index" : "", expressions ? "element expressions" : ""].filter((s) => s !== "").join(", ");
        const feature = mode === "passive" ? "bulk-memory" : "reference-types";
        this.forbid(feature, `elem:${i}`, `${where} uses encoding ${flags} (${how}; ${FEATURE_LABEL[feature]}), outside the wasm3 profile`);
      }
    }
  }

  private parseData(r: Reader): void {
    const n = r.count("data segment");
    if (this.dataCount !== null && this.dataCount !== n) {
      throw new MalformedError(r.pos, `data count section says ${this.dataCount} segments, data section has ${n}`);
    }
    for (let i = 0; i < n; i++) {
      const where = `data segment ${i}`;
      const at = r.pos;
      const flags = r.u32();
      if (flags === 1) {
        this.forbid("bulk-memory", `data:${i}`, `${where} is passive (bulk memory), outside the wasm3 profile`);
      } else if (flags === 0 || flags === 2) {
        if (flags === 2) {
          const memory = r.u32();
          const feature = memory === 0 ? "bulk-memory" : "multi-memory";
          this.forbid(feature, `data:${i}`, `${where} names memory ${memory} explicitly (${FEATURE_LABEL[feature]}), outside the wasm3 profile`);
        }
        this.decodeExpression(r, `${where} offset`, null);
      } else {
        throw new MalformedError(at, `${where} has unknown flags ${flags}`);
      }
      r.skip(r.count("data byte"));
    }
  }

  private parseCode(r: Reader): void {
    this.codeSeen = true;
    const defined = this.funcTypes.length - this.importedFuncs;
    const n = r.count("function body");
    if (n !== defined) throw new MalformedError(r.pos, `code section has ${n} bodies but the function section declares ${defined}`);
    for (let i = 0; i < n; i++) {
      const index = this.importedFuncs + i;
      const label = this.functionLabel(index);
      const body = r.slice(r.u32(), `body of ${label}`);
      try {
        this.decodeBody(body, index, label);
      } catch (e) {
        // Each body has its own size: report it and carry on with the next one.
        if (!(e instanceof MalformedError)) throw e;
        this.reportMalformed(e);
      }
    }
  }

  // Parameter and result types were checked with the type section.
  private decodeBody(r: Reader, index: number, label: string): void {
    const groups = r.count("local group");
    let locals = 0;
    for (let g = 0; g < groups; g++) {
      const at = r.pos;
      locals += r.u32();
      if (locals > 0xffffffff) throw new MalformedError(at, `${label} declares more than 2^32-1 locals`);
      const t = this.valType(r);
      this.needs(t.feature, `local-valtype:${t.name}`, () => `local of type ${t.name} (${FEATURE_LABEL[t.feature as WasmFeature]}) in ${label} is outside the wasm3 profile`);
    }
    this.decodeExpression(r, label, index);
    if (r.remaining !== 0) throw new MalformedError(r.pos, `${label} has ${r.remaining} bytes after its final end`);
  }

  /**
   * Decodes one instruction sequence up to its final `end`: every opcode with every immediate, so
   * the opcode stream is exact. `funcIndex` is null for constant expressions.
   */
  private decodeExpression(r: Reader, where: string, funcIndex: number | null): void {
    const open: number[] = [];
    for (;;) {
      const at = r.pos;
      const first = r.byte();
      const table = PREFIXED.get(first);
      const sub = table === undefined ? null : r.u32();
      const info = table === undefined ? SINGLE.get(first) : table.get(sub as number);
      const code = opcodeText(first, sub);
      if (info === undefined) throw new MalformedError(at, `unknown opcode ${code} in ${where}`);
      this.opcodeCounts[info.name] = (this.opcodeCounts[info.name] ?? 0) + 1;

      if (!inProfile(info)) {
        const feature = info.feature as WasmFeature;
        const hint = feature === "bulk-memory" ? " (wasm3 runs only memory.copy and memory.fill of bulk memory)" : "";
        this.forbid(feature, `op:${code}`, `opcode ${code} (${info.name}, ${FEATURE_LABEL[feature]}) in ${where} is outside the wasm3 profile${hint}`);
      } else if (info.feature !== null) {
        this.features.add(info.feature);
      }
      if (funcIndex === null && !CONSTANT_OPS.has(info.name)) {
        if (!EXTENDED_CONSTANT_OPS.has(info.name)) throw new MalformedError(at, `opcode ${code} (${info.name}) is not allowed in the constant expression of ${where}`);
        this.forbid("extended-const", `op-const:${code}`, `opcode ${code} (${info.name}, ${FEATURE_LABEL["extended-const"]}) in ${where} is outside the wasm3 profile`);
      }

      for (const immediate of info.immediates) this.immediate(r, immediate, where);

      if (table !== undefined) continue;
      switch (first) {
        case 0x02: case 0x03: case 0x04: case 0x06: case 0x1f:
          open.push(first);
          break;
        case 0x05:
          if (open[open.length - 1] !== 0x04) throw new MalformedError(at, `else outside an if in ${where}`);
          open[open.length - 1] = 0x05;
          break;
        case 0x07: case 0x19:
          if (open[open.length - 1] !== 0x06) throw new MalformedError(at, `${info.name} outside a try in ${where}`);
          break;
        case 0x18:
          if (open[open.length - 1] !== 0x06) throw new MalformedError(at, `delegate outside a try in ${where}`);
          open.pop();
          break;
        case 0x0b:
          if (open.length === 0) return;
          open.pop();
          break;
      }
    }
  }

  private immediate(r: Reader, immediate: Immediate, where: string): void {
    switch (immediate) {
      case "u32":
        r.u32();
        return;
      case "labels": {
        const n = r.count("br_table label");
        for (let i = 0; i < n; i++) r.u32();
        return;
      }
      case "func":
        this.funcIndex(r, where);
        return;
      case "type": {
        const at = r.pos;
        const index = r.u32();
        if (index >= this.types.length) throw new MalformedError(at, `type index ${index} out of range in ${where}`);
        return;
      }
      case "table": {
        const index = r.u32();
        if (index !== 0) this.forbid("reference-types", `table-index:${where}`, `table index ${index} in ${where} (reference types) is outside the wasm3 profile`);
        return;
      }
      case "mem": {
        const index = r.u32();
        if (index !== 0) this.forbid("multi-memory", `memory-index:${where}`, `memory index ${index} in ${where} (multi-memory) is outside the wasm3 profile`);
        return;
      }
      case "memarg": {
        const align = r.u32();
        let memory = 0;
        if ((align & 0x40) !== 0) {
          memory = r.u32();
          this.forbid("multi-memory", `memory-index:${where}`, `memory index ${memory} in ${where} (multi-memory) is outside the wasm3 profile`);
        }
        if (this.memories[memory]?.is64 === true) r.u64();
        else r.u32();
        return;
      }
      case "s32":
        r.s32();
        return;
      case "s64":
        r.s64();
        return;
      case "f32":
        r.skip(4);
        return;
      case "f64":
        r.skip(8);
        return;
      case "v128":
        r.skip(16);
        return;
      case "lane":
      case "castflags":
        r.byte();
        return;
      case "zero": {
        const at = r.pos;
        if (r.byte() !== 0) throw new MalformedError(at, `reserved byte is not zero in ${where}`);
        return;
      }
      case "valtypes":
        for (const t of this.valTypes(r)) {
          this.needs(t.feature, `select-valtype:${t.name}`, () => `value type ${t.name} (${FEATURE_LABEL[t.feature as WasmFeature]}) in ${where} is outside the wasm3 profile`);
        }
        return;
      case "heaptype":
        this.heapType(r);
        return;
      case "catches": {
        const n = r.count("catch clause");
        for (let i = 0; i < n; i++) {
          const at = r.pos;
          const kind = r.byte();
          if (kind > 3) throw new MalformedError(at, `unknown catch clause kind ${hex(kind)} in ${where}`);
          if (kind < 2) r.u32();
          r.u32();
        }
        return;
      }
      case "blocktype":
        return this.blockType(r, where);
    }
  }

  private blockType(r: Reader, where: string): void {
    const b = r.peek();
    if (b === 0x40) {
      r.byte();
      return;
    }
    // A block type is an s33: one-byte negative values are value types, non-negative values are
    // type indices (multi-value).
    if ((b & 0xc0) === 0x40) {
      const t = this.valType(r);
      this.needs(t.feature, `block-valtype:${t.name}`, () => `block result of type ${t.name} (${FEATURE_LABEL[t.feature as WasmFeature]}) in ${where} is outside the wasm3 profile`);
      return;
    }
    const at = r.pos;
    const index = r.s33();
    const type = this.types[index];
    if (index < 0 || type === undefined || type.kind !== "func") throw new MalformedError(at, `block type ${index} is not a function type in ${where}`);
    if (type.params.length > 0 || type.results.length > 1) {
      this.forbid("multi-value", `block-type:${where}`, `block type ${index} ${showTypes(type.params)} -> ${showTypes(type.results)} in ${where} (multi-value) is outside the wasm3 profile`);
    }
  }

  // ----- whole-module rules

  private checkStructure(): void {
    if (this.tableCount > 1) {
      this.forbid("reference-types", "tables", `${this.tableCount} tables (reference types) are outside the wasm3 profile, which allows one`);
    }
    if (this.memories.length > 1) {
      this.forbid("multi-memory", "memories", `${this.memories.length} memories (multi-memory) are outside the wasm3 profile, which allows one`);
    }
    // What follows checks that things are present; after a decoding error they may simply be
    // unread, and the malformed violation already fails the image.
    const memory = this.memories[0];
    if (memory !== undefined && memory.importedAs === null) {
      const pages = PAGE_UNIT(memory.initial);
      if (memory.maximum === null) this.report("memory", `memory can grow: initial ${pages}, maximum none`);
      else if (memory.maximum > memory.initial) this.report("memory", `memory can grow: initial ${pages}, maximum ${PAGE_UNIT(memory.maximum)}`);
      const reserved = Math.max(memory.initial, memory.maximum ?? 0);
      const budget = this.profile.maxPages;
      if (budget !== undefined && reserved > budget) this.report("memory", `memory is ${PAGE_UNIT(reserved)}, budget ${PAGE_UNIT(budget)}`);
    }
    if (this.malformed) return;
    if (memory === undefined) this.report("memory", "module defines no memory; it must define exactly one");
    else if (memory.importedAs !== null) this.report("memory", `memory is imported as ${memory.importedAs}; the module must define its own`);
    const memoryExport = this.exports.find((e) => e.name === "memory");
    if (memory !== undefined && memoryExport === undefined) this.report("memory", 'memory is not exported as "memory"');
    else if (memoryExport !== undefined && memoryExport.kind !== 2) {
      const kinds = ["function", "table", "memory", "global", "tag"];
      this.report("memory", `export "memory" is a ${kinds[memoryExport.kind]}, not the memory`);
    }
    const names = new Set(this.exports.map((e) => e.name));
    for (const required of this.profile.requiredExports ?? []) {
      // The memory export is the memory rule's (above), which also checks that it is a memory.
      if (required !== "memory" && !names.has(required)) this.report("export", `required export "${required}" is missing`);
    }
  }
}

/** Decodes a WebAssembly binary and checks it against a firmware profile. Never throws on bad input. */
export function checkWasm(bytes: Uint8Array, profile: WasmProfile): WasmCheckResult {
  return new Checker(bytes, profile).run();
}

// ---------------------------------------------------------------------------------------------
// CLI

function summarize(file: string, bytes: Uint8Array, profile: WasmProfile, result: WasmCheckResult): string {
  const { info, violations } = result;
  const memory = info.memory === null
    ? "no memory"
    : `memory ${PAGE_UNIT(info.memory.initial)} (max ${info.memory.maximum ?? "none"}${profile.maxPages !== undefined ? `, budget ${profile.maxPages}` : ""})`;
  const imports = `${info.imports.length} import${info.imports.length === 1 ? "" : "s"}`;
  const features = `features: ${info.featuresUsed.length === 0 ? "MVP only" : info.featuresUsed.join(", ")}`;
  const verdict = violations.length === 0 ? "OK" : `${violations.length} violation${violations.length === 1 ? "" : "s"}`;
  return `${file}: ${bytes.length} bytes (budget ${profile.maxBytes}), ${memory}, ${imports}, ${features} — ${verdict}`;
}

function main(args: string[]): number {
  const [file, image] = args;
  if (args.length !== 2 || file === undefined || (image !== "node" && image !== "controller")) {
    console.error("usage: npx tsx host/tools/wasm-check.ts <file.wasm> <node|controller>");
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    console.error(`wasm-check: cannot read ${file}: ${reason}`);
    return 2;
  }
  const profile = profileFor(image);
  const result = checkWasm(bytes, profile);
  console.log(summarize(file, bytes, profile, result));
  for (const v of result.violations) console.log(`  ${v.rule}: ${v.message}`);
  return result.violations.length === 0 ? 0 : 1;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) process.exitCode = main(process.argv.slice(2));
