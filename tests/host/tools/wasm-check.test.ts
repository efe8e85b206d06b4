import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import wabtInit from "wabt";
import { loadAbi, repoRoot, wasm3Signature } from "../../../host/abi.ts";
import { checkWasm, profileFor, type Violation, type ViolationRule, type WasmProfile } from "../../../host/tools/wasm-check.ts";

const wabt = await wabtInit();

// The npm build of wabt accepts multi_memory although its typings do not list it.
type WabtFeatures = NonNullable<Parameters<typeof wabt.parseWat>[2]> & { multi_memory?: boolean };

function wat2wasm(text: string, features: WabtFeatures = {}): Uint8Array {
  const module = wabt.parseWat("test.wat", text, features);
  try {
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

const NODE = profileFor("node");
const CONTROLLER = profileFor("controller");

const HAL_IMPORTS = `
  (import "hal" "adc_read" (func $adc_read (param i32) (result i32)))
  (import "hal" "clock_us" (func $clock_us (result i64)))
  (import "hal" "board_config" (func $board_config (param i32) (result f64)))`;

// Uses every post-MVP feature the wasm3 profile allows.
const COMPLIANT_TICK = `
    (global.set $ticks (i32.add (global.get $ticks) (i32.const 1)))
    (drop (i32.extend8_s (call $adc_read (i32.const 0))))
    (drop (i32.trunc_sat_f32_s (f32.demote_f64 (call $board_config (i32.const 14)))))
    (drop (call $clock_us))`;

interface Parts {
  imports?: string;
  memory?: string;
  data?: string;
  tick?: string;
  extra?: string;
}

// Three imports, then init (function 3), tick (function 4), busReceive (function 5).
function firmware(parts: Parts = {}): string {
  const {
    imports = HAL_IMPORTS,
    memory = `(memory (export "memory") 1 1)`,
    data = `(data (i32.const 16) "strata")`,
    tick = COMPLIANT_TICK,
    extra = "",
  } = parts;
  return `(module
  ${imports}
  ${memory}
  (global $ticks (export "tickCount") (mut i32) (i32.const 0))
  (global (export "busRxBuffer") i32 (i32.const 1024))
  ${data}
  (func $init (export "init")
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 16)))
  (func $tick (export "tick") (param $now_ms i32)
    ${tick})
  (func $busReceive (export "busReceive") (param $length i32) (result i32)
    (memory.copy (i32.const 32) (i32.const 1024) (local.get $length))
    (local.get $length))
  ${extra}
)`;
}

function show(violations: Violation[]): string {
  return violations.map((v) => `  ${v.rule}: ${v.message}`).join("\n") || "  (none)";
}

/** The violation of `rule` whose message contains every fragment; fails listing what was found. */
function expectViolation(violations: Violation[], rule: ViolationRule, ...fragments: string[]): Violation {
  const hit = violations.find((v) => v.rule === rule && fragments.every((f) => v.message.includes(f)));
  assert.ok(hit, `expected a ${rule} violation naming ${fragments.map((f) => JSON.stringify(f)).join(" and ")}; got:\n${show(violations)}`);
  return hit;
}

function expectOnly(violations: Violation[], ...rules: ViolationRule[]): void {
  const extra = violations.filter((v) => !rules.includes(v.rule));
  assert.equal(extra.length, 0, `unexpected violations:\n${show(extra)}`);
}

function check(text: string, features: WabtFeatures = {}, profile: WasmProfile = NODE): Violation[] {
  return checkWasm(wat2wasm(text, features), profile).violations;
}

// ----- profile

test("profileFor derives the allowed imports from the HAL ABI and sets each image's budget", () => {
  const abi = loadAbi();
  for (const profile of [NODE, CONTROLLER]) {
    assert.equal(profile.importModule, abi.module);
    assert.deepEqual([...profile.allowedImports], abi.functions.map((fn) => [fn.name, wasm3Signature(fn)]));
    assert.deepEqual(profile.requiredExports, ["init", "tick", "busRxBuffer", "busReceive", "memory"]);
  }
  assert.equal(NODE.allowedImports.get("adc_read"), "i(i)");
  assert.deepEqual([NODE.maxBytes, NODE.maxPages], [40960, 1]);
  assert.deepEqual([CONTROLLER.maxBytes, CONTROLLER.maxPages], [65536, 4]);
});

// ----- a compliant image

test("a module inside the profile passes and reports what it uses", () => {
  const { violations, info } = checkWasm(wat2wasm(firmware()), NODE);
  assert.deepEqual(violations, [], show(violations));
  assert.deepEqual(info.imports, [
    { module: "hal", name: "adc_read", kind: "function", signature: "i(i)" },
    { module: "hal", name: "clock_us", kind: "function", signature: "I()" },
    { module: "hal", name: "board_config", kind: "function", signature: "F(i)" },
  ]);
  assert.deepEqual(info.exports, ["memory", "tickCount", "busRxBuffer", "init", "tick", "busReceive"]);
  assert.deepEqual(info.memory, { initial: 1, maximum: 1 });
  assert.deepEqual(info.featuresUsed, ["mutable-globals", "sign-extension", "nontrapping-f2i", "bulk-memory"]);
  assert.equal(info.opcodeCounts["memory.copy"], 1);
  assert.equal(info.opcodeCounts["memory.fill"], 1);
  assert.equal(info.opcodeCounts["i32.extend8_s"], 1);
  assert.equal(info.opcodeCounts["i32.trunc_sat_f32_s"], 1);
});

test("every instruction is decoded with its immediates, so constant bytes never pass for opcodes", () => {
  // Each constant below encodes bytes that, read as opcodes, would be SIMD (0xfd), atomics (0xfe),
  // bulk memory (0xfc), try (0x06) or return_call (0x12).
  const tick = `
    (drop (i32.const 253))
    (drop (i32.const -2))
    (drop (i64.const 0x7dfdfefc0612))
    (drop (f32.const 0x1.fafcfep+124))
    (drop (f64.const -0x1.fdfefc06121314p+1000))
    (block $outer
      (block $inner
        (br_table $inner $outer $inner (i32.load offset=0xfdfe (i32.const 6))))
      (i64.store8 offset=0x12 (i32.const 0) (i64.const 18)))
    (if (i32.eqz (local.get $now_ms))
      (then (drop (call_indirect (type $unary) (i32.const 253) (i32.const 0))))
      (else (nop)))
    (loop $spin (br_if $spin (i32.const 0)))`;
  const extra = `(type $unary (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $busReceive)`;
  const { violations, info } = checkWasm(wat2wasm(firmware({ tick, extra, data: `(data (i32.const 16) "\\fd\\0c\\fe\\10\\06\\12")` })), NODE);
  assert.deepEqual(violations, [], show(violations));
  assert.equal(info.opcodeCounts["i32.const"], 16);
  assert.equal(info.opcodeCounts["br_table"], 1);
  assert.equal(info.opcodeCounts["call_indirect"], 1);
  assert.equal(info.opcodeCounts["end"], 3 + 4 + 4); // function bodies, block/block/if/loop, constant expressions
  assert.equal(info.opcodeCounts["v128.const"], undefined);
});

// ----- rule 1: imports

test("an import outside the HAL ABI is named", () => {
  const imports = `${HAL_IMPORTS}
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))`;
  const violations = check(firmware({ imports }));
  expectOnly(violations, "import");
  assert.deepEqual(violations, [{ rule: "import", message: "import env.abort is outside the HAL ABI" }]);
});

test("a HAL function imported from another module is outside the ABI", () => {
  const imports = `(import "env" "adc_read" (func $adc_read (param i32) (result i32)))
  (import "hal" "clock_us" (func $clock_us (result i64)))
  (import "hal" "board_config" (func $board_config (param i32) (result f64)))`;
  const violations = check(firmware({ imports }));
  expectOnly(violations, "import");
  expectViolation(violations, "import", "import env.adc_read is outside the HAL ABI", '"hal"');
});

test("an import with the wrong signature names both signatures", () => {
  const imports = `(import "hal" "adc_read" (func $adc_read (param i64) (result i32)))
  (import "hal" "clock_us" (func $clock_us (result i64)))
  (import "hal" "board_config" (func $board_config (param i32) (result f64)))`;
  const violations = check(firmware({ imports, tick: "(drop (call $adc_read (i64.const 0)))" }));
  assert.deepEqual(violations, [{ rule: "import", message: "import hal.adc_read has signature i(I) but the ABI says i(i)" }]);
});

test("imported memory, tables and globals are refused", () => {
  const imports = `${HAL_IMPORTS}
  (import "env" "memory" (memory 1 1))
  (import "env" "table" (table 1 funcref))
  (import "env" "heapBase" (global i32))`;
  const violations = check(firmware({ imports, memory: "" }));
  expectViolation(violations, "import", "import env.memory is a memory");
  expectViolation(violations, "import", "import env.table is a table");
  expectViolation(violations, "import", "import env.heapBase is a global");
  expectViolation(violations, "memory", "imported as env.memory");
});

// ----- rule 2: features

test("SIMD is refused, naming the opcode and the function", () => {
  const violations = check(firmware({ tick: "(drop (i8x16.splat (i32.const 1))) (drop (v128.const i32x4 1 2 3 4))" }), { simd: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "opcode 0xfd 0x0f (i8x16.splat, SIMD) in function 4 is outside the wasm3 profile");
  const exact = expectViolation(violations, "feature", "v128.const");
  assert.equal(exact.message, "opcode 0xfd 0x0c (v128.const, SIMD) in function 4 is outside the wasm3 profile");
});

test("messages name the function when the module carries a name section", () => {
  const bytes = wabt.parseWat("names.wat", "(module (func $estimate (drop (v128.const i64x2 0 0))))", { simd: true }).toBinary({ write_debug_names: true }).buffer;
  expectViolation(checkWasm(bytes, NODE).violations, "feature", "in function 0 (estimate) is outside the wasm3 profile");
});

test("a v128 local is refused even when no SIMD opcode runs", () => {
  const violations = check(firmware({ tick: "(local $lanes v128)" }), { simd: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "local of type v128 (SIMD) in function 4");
});

test("repeated uses of one refused opcode are reported once, with a count", () => {
  const tick = "(drop (v128.const i32x4 0 0 0 0)) (drop (v128.const i32x4 1 1 1 1)) (drop (v128.const i32x4 2 2 2 2))";
  const violations = check(firmware({ tick }), { simd: true });
  assert.deepEqual(violations, [{ rule: "feature", message: "opcode 0xfd 0x0c (v128.const, SIMD) in function 4 is outside the wasm3 profile (first of 3)" }]);
});

test("atomics and shared memory (threads) are refused", () => {
  const memory = `(memory (export "memory") 1 1 shared)`;
  const tick = "(drop (i32.atomic.load (i32.const 0))) (atomic.fence)";
  const violations = check(firmware({ memory, tick }), { threads: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "memory 0 is shared (threads)");
  expectViolation(violations, "feature", "opcode 0xfe 0x10 (i32.atomic.load, threads) in function 4");
  expectViolation(violations, "feature", "opcode 0xfe 0x03 (atomic.fence, threads) in function 4");
});

test("memory.init, data.drop and passive data are refused; memory.copy and memory.fill are not", () => {
  const data = `(data $table "abcd")`;
  const tick = "(memory.init $table (i32.const 0) (i32.const 0) (i32.const 4)) (data.drop $table)";
  const violations = check(firmware({ data, tick }), { bulk_memory: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "opcode 0xfc 0x08 (memory.init, bulk memory) in function 4", "memory.copy and memory.fill");
  expectViolation(violations, "feature", "opcode 0xfc 0x09 (data.drop, bulk memory) in function 4");
  expectViolation(violations, "feature", "data segment 0 is passive");
  assert.ok(!violations.some((v) => /memory\.(copy|fill)\b.*outside/.test(v.message.split("(")[1] ?? "")), show(violations));
});

test("table instructions and the other bulk table operations are refused", () => {
  const extra = `(table $calls 2 funcref)
  (elem $handlers func $init)`;
  const tick = `
    (drop (table.get $calls (i32.const 0)))
    (table.set $calls (i32.const 0) (ref.null func))
    (drop (table.size $calls))
    (drop (table.grow $calls (ref.null func) (i32.const 1)))
    (table.fill $calls (i32.const 0) (ref.null func) (i32.const 1))
    (table.init $calls $handlers (i32.const 0) (i32.const 0) (i32.const 1))
    (elem.drop $handlers)
    (table.copy (i32.const 0) (i32.const 1) (i32.const 1))`;
  const violations = check(firmware({ tick, extra }), { reference_types: true, bulk_memory: true });
  expectOnly(violations, "feature");
  for (const [code, name] of [
    ["0x25", "table.get"], ["0x26", "table.set"], ["0xfc 0x10", "table.size"], ["0xfc 0x0f", "table.grow"],
    ["0xfc 0x11", "table.fill"], ["0xfc 0x0c", "table.init"], ["0xfc 0x0d", "elem.drop"], ["0xfc 0x0e", "table.copy"],
  ]) {
    expectViolation(violations, "feature", `opcode ${code} (${name},`, "in function 4");
  }
  expectViolation(violations, "feature", "opcode 0xd0 (ref.null, reference types)");
  expectViolation(violations, "feature", "element segment 0", "passive");
});

test("ref.func, typed select, reference-typed params and a second table are refused", () => {
  const extra = `(elem declare func $init)
  (table $second 1 funcref)
  (table $third 1 funcref)
  (func $hold (param $handle externref))
  (func $pick (result i32) (select (result i32) (i32.const 1) (i32.const 2) (i32.const 0)))`;
  const tick = "(drop (ref.is_null (ref.func $init)))";
  const violations = check(firmware({ tick, extra }), { reference_types: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "opcode 0xd2 (ref.func, reference types) in function 4");
  expectViolation(violations, "feature", "opcode 0xd1 (ref.is_null, reference types) in function 4");
  expectViolation(violations, "feature", "opcode 0x1c (select, reference types) in function 7");
  expectViolation(violations, "feature", "value type externref (reference types)");
  expectViolation(violations, "feature", "element segment 0", "declarative");
  expectViolation(violations, "feature", "2 tables (reference types)");
});

test("exceptions (try/catch/throw, try_table, tags) are refused", () => {
  const extra = `(tag $overflow (param i32))
  (func $guarded
    (try (do (throw $overflow (i32.const 1)))
      (catch $overflow (drop))
      (catch_all))
    (block $handled (try_table (catch_all $handled) (throw $overflow (i32.const 2)))))`;
  const violations = check(firmware({ extra }), { exceptions: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "tag section with 1 tag (exceptions)");
  expectViolation(violations, "feature", "opcode 0x06 (try, exceptions) in function 6");
  expectViolation(violations, "feature", "opcode 0x08 (throw, exceptions) in function 6", "first of 2");
  expectViolation(violations, "feature", "opcode 0x07 (catch, exceptions) in function 6");
  expectViolation(violations, "feature", "opcode 0x19 (catch_all, exceptions) in function 6");
  expectViolation(violations, "feature", "opcode 0x1f (try_table, exceptions) in function 6");
});

test("tail calls are refused", () => {
  const extra = `(type $unary (func (param i32) (result i32)))
  (table 1 funcref)
  (func $again (param $n i32) (result i32) (return_call $busReceive (local.get $n)))
  (func $again_indirect (param $n i32) (result i32) (return_call_indirect (type $unary) (local.get $n) (i32.const 0)))`;
  const violations = check(firmware({ extra }), { tail_call: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "opcode 0x12 (return_call, tail calls) in function 6");
  expectViolation(violations, "feature", "opcode 0x13 (return_call_indirect, tail calls) in function 7");
});

test("multi-value function types and block types are refused", () => {
  const extra = `(func $pair (result i32 i32) (i32.const 1) (i32.const 2))
  (func $carry (result i32) (i32.const 3) (block (param i32) (result i32) (i32.const 1) (i32.add)))`;
  const violations = check(firmware({ extra }), { multi_value: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "[] -> [i32 i32] has 2 results (multi-value)");
  expectViolation(violations, "feature", "[i32] -> [i32] in function 7 (multi-value)");
});

test("memory64 is refused", () => {
  const violations = check(firmware({ memory: `(memory (export "memory") i64 1 1)` }), { memory64: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "memory 0 has 64-bit addresses (memory64)");
});

test("a second memory (multi-memory) is refused", () => {
  const memory = `(memory (export "memory") 1 1) (memory $scratch 1 1)`;
  const violations = check(firmware({ memory, tick: "(drop (i32.load $scratch (i32.const 0)))" }), { multi_memory: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "2 memories (multi-memory)");
  expectViolation(violations, "feature", "memory index 1 in function 4 (multi-memory)");
});

test("extended constant expressions are refused", () => {
  const extra = "(global $base i32 (i32.add (i32.const 1024) (i32.const 16)))";
  const violations = check(firmware({ extra }), { extended_const: true });
  expectOnly(violations, "feature");
  expectViolation(violations, "feature", "opcode 0x6a (i32.add, extended constant expressions) in global 2 initializer");
});

test("GC opcodes (which wabt cannot assemble) are decoded and refused", () => {
  // type 0: [] -> []; function 0 body: i32.const 7, ref.i31 (0xfb 0x1c), drop, end.
  const body = [0x00, 0x41, 0x07, 0xfb, 0x1c, 0x1a, 0x0b];
  const bytes = module([
    section(1, [0x01, 0x60, 0x00, 0x00]),
    section(3, [0x01, 0x00]),
    section(10, [0x01, body.length, ...body]),
  ]);
  const violations = checkWasm(bytes, NODE).violations;
  expectViolation(violations, "feature", "opcode 0xfb 0x1c (ref.i31, GC) in function 0");
  assert.ok(!violations.some((v) => v.rule === "malformed"), show(violations));
});

// ----- rule 3: memory

test("a memory without a maximum can grow", () => {
  const violations = check(firmware({ memory: `(memory (export "memory") 1)` }));
  assert.deepEqual(violations, [{ rule: "memory", message: "memory can grow: initial 1 page, maximum none" }]);
});

test("a memory whose maximum exceeds its initial size can grow", () => {
  const violations = check(firmware({ memory: `(memory (export "memory") 1 2)` }), {}, CONTROLLER);
  assert.deepEqual(violations, [{ rule: "memory", message: "memory can grow: initial 1 page, maximum 2 pages" }]);
});

test("more pages than the image's budget are refused", () => {
  const node = check(firmware({ memory: `(memory (export "memory") 2 2)` }));
  assert.deepEqual(node, [{ rule: "memory", message: "memory is 2 pages, budget 1 page" }]);
  const controller = check(firmware({ memory: `(memory (export "memory") 5 5)` }), {}, CONTROLLER);
  assert.deepEqual(controller, [{ rule: "memory", message: "memory is 5 pages, budget 4 pages" }]);
  assert.deepEqual(check(firmware({ memory: `(memory (export "memory") 4 4)` }), {}, CONTROLLER), []);
});

test("the memory must be defined and exported as memory", () => {
  const hidden = check(firmware({ memory: "(memory 1 1)" }));
  assert.deepEqual(hidden, [{ rule: "memory", message: 'memory is not exported as "memory"' }]);
  const none = check(`(module
  (func (export "init")) (func (export "tick") (param i32)) (func (export "busReceive") (param i32) (result i32) (local.get 0))
  (global (export "busRxBuffer") i32 (i32.const 0)))`);
  expectViolation(none, "memory", "defines no memory");
  const wrongKind = check(firmware({ memory: "(memory 1 1)", extra: `(export "memory" (func $init))` }));
  expectViolation(wrongKind, "memory", 'export "memory" is a function, not the memory');
});

// ----- rule 4: size

test("a binary over the image's byte budget is refused, naming both numbers", () => {
  const data = `(data (i32.const 16) "${"\\55".repeat(42000)}")`;
  const bytes = wat2wasm(firmware({ data }));
  assert.ok(bytes.length > NODE.maxBytes);
  assert.deepEqual(checkWasm(bytes, NODE).violations, [{ rule: "size", message: `binary is ${bytes.length} bytes, budget 40960` }]);
  assert.deepEqual(checkWasm(bytes, CONTROLLER).violations, []);
});

// ----- required exports

test("a missing required export is named", () => {
  const violations = check(firmware().replace(`(export "busReceive")`, ""));
  assert.deepEqual(violations, [{ rule: "export", message: 'required export "busReceive" is missing' }]);
});

// ----- rule 5: malformed input

function module(sections: number[][]): Uint8Array {
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...sections.flat()]);
}

function section(id: number, content: number[]): number[] {
  assert.ok(content.length < 128);
  return [id, content.length, ...content];
}

function malformed(bytes: Uint8Array): Violation[] {
  const violations = checkWasm(bytes, NODE).violations.filter((v) => v.rule === "malformed");
  assert.ok(violations.length > 0, `expected a malformed violation for ${Buffer.from(bytes.subarray(0, 32)).toString("hex")}`);
  for (const v of violations) assert.match(v.message, /at offset \d+ \(0x[0-9a-f]+\)/);
  return violations;
}

test("a bad magic number, a bad version and an empty file are malformed", () => {
  expectViolation(malformed(new TextEncoder().encode("#!/bin/sh\necho not wasm\n")), "malformed", "bad magic", "at offset 0");
  expectViolation(malformed(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00])), "malformed", "version", "at offset 4");
  expectViolation(malformed(new Uint8Array(0)), "malformed", "too short");
});

test("a LEB128 that is too long or overflows 32 bits is malformed, with its offset", () => {
  const tooLong = module([[0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]]);
  expectViolation(malformed(tooLong), "malformed", "longer than 5 bytes", "at offset 9 (0x9)");
  const overflow = module([[0x01, 0xff, 0xff, 0xff, 0xff, 0x7f]]);
  expectViolation(malformed(overflow), "malformed", "overflows 32 bits", "at offset 9 (0x9)");
  const constOverflow = module([
    section(1, [0x01, 0x60, 0x00, 0x00]),
    section(3, [0x01, 0x00]),
    section(10, [0x01, 0x08, 0x00, 0x41, 0x80, 0x80, 0x80, 0x80, 0x08, 0x0b]), // i32.const 2^31
  ]);
  expectViolation(malformed(constOverflow), "malformed", "s32 LEB128 overflows 32 bits");
});

test("a section that runs past the end of the file is malformed", () => {
  const truncated = module([[0x0a, 0x40, 0x01, 0x02]]);
  expectViolation(malformed(truncated), "malformed", "section 10 (code) declares 64 bytes", "at offset 10");
});

test("an unknown opcode is malformed and names the function", () => {
  const body = [0x00, 0x27, 0x0b];
  const bytes = module([section(1, [0x01, 0x60, 0x00, 0x00]), section(3, [0x01, 0x00]), section(10, [0x01, body.length, ...body])]);
  expectViolation(malformed(bytes), "malformed", "unknown opcode 0x27 in function 0");
});

test("every truncation of a valid module inside a section is reported as malformed, never thrown", () => {
  const bytes = wat2wasm(firmware());
  // Cutting exactly between sections leaves a well-formed module (without the data section, even
  // a compliant one), so those cuts only have to decode without throwing.
  const boundaries = new Set<number>([8]);
  for (let at = 8; at < bytes.length;) {
    let size = 0;
    let shift = 0;
    let b: number;
    at++;
    do {
      b = bytes[at++] as number;
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while ((b & 0x80) !== 0);
    at += size;
    boundaries.add(at);
  }
  for (let length = 0; length < bytes.length; length++) {
    const prefix = bytes.subarray(0, length);
    if (boundaries.has(length)) checkWasm(prefix, NODE);
    else malformed(prefix);
  }
});

test("random corruption never throws", () => {
  const original = wat2wasm(firmware());
  let seed = 0x5eed;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let round = 0; round < 2000; round++) {
    const bytes = Uint8Array.from(original);
    const flips = 1 + Math.floor(random() * 4);
    for (let i = 0; i < flips; i++) bytes[8 + Math.floor(random() * (bytes.length - 8))] = Math.floor(random() * 256);
    const result = checkWasm(bytes, NODE);
    assert.ok(Array.isArray(result.violations));
  }
  const garbage = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
  garbage.set([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  malformed(garbage);
});

// ----- CLI

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "host", "tools", "wasm-check.ts"), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

test("the CLI prints a summary and the violations, and exits 0, 1 or 2", () => {
  const dir = mkdtempSync(join(tmpdir(), "wasm-check-"));
  try {
    const good = join(dir, "good.wasm");
    const bad = join(dir, "bad.wasm");
    writeFileSync(good, wat2wasm(firmware()));
    writeFileSync(bad, wat2wasm(firmware({ imports: `${HAL_IMPORTS} (import "env" "abort" (func (param i32 i32 i32 i32)))` })));

    const ok = cli(good, "node");
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /good\.wasm: \d+ bytes \(budget 40960\), memory 1 page .*3 imports, features: .*sign-extension.* OK/);

    const refused = cli(bad, "controller");
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stdout, /import: import env\.abort is outside the HAL ABI/);

    const missing = cli(join(dir, "absent.wasm"), "node");
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read .*absent\.wasm: no such file/);

    const usage = cli(good, "toaster");
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /usage:/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
