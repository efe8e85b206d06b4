import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { loadAbi, repoRoot, wasm3Signature, type HalAbi } from "../../../host/abi.ts";
import { boardConfigValues, boardsDir, loadBoard, type BoardDefinition } from "../../../host/boards.ts";
import { generatedFiles, renderBoardHeader, renderLinkTable } from "../../../host/tools/gen-link-table.ts";

const BOARDS = ["strata-node-v1", "strata-controller-v1"];
const INCLUDES = ["-I", boardsDir, "-I", join(boardsDir, "wasm3")];

function halLinkPath(board: string): string {
  return join(boardsDir, board, "hal_link.c");
}

/** Runs gcc; a missing compiler fails the test (the C output is only proven by compiling it). */
function gcc(args: string[]): { status: number | null; output: string } {
  const run = spawnSync("gcc", args, { encoding: "utf8" });
  if (run.error !== undefined) {
    assert.fail(`gcc is required to check the generated C and could not be run (${run.error.message}); install gcc, this test does not skip`);
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test("the committed generated files equal freshly rendered output", () => {
  const files = generatedFiles();
  const paths = files.map((f) => relative(repoRoot, f.path)).sort();
  assert.deepEqual(paths, ["boards/strata-controller-v1/hal_link.c", "boards/strata-node-v1/hal_link.c", "boards/strata_board.h"]);
  for (const file of files) {
    assert.ok(existsSync(file.path), `${relative(repoRoot, file.path)} is missing: run node --import tsx host/tools/gen-link-table.ts`);
    assert.equal(readFileSync(file.path, "utf8"), file.content,
      `${relative(repoRoot, file.path)} is stale: run node --import tsx host/tools/gen-link-table.ts`);
  }
});

test("every ABI function is linked with its exact wasm3 signature and has a board function", () => {
  const abi = loadAbi();
  const header = readFileSync(join(boardsDir, "strata_board.h"), "utf8");
  for (const board of BOARDS) {
    const c = readFileSync(halLinkPath(board), "utf8");
    for (const fn of abi.functions) {
      assert.ok(c.includes(`static m3ApiRawFunction(hal_${fn.name})`), `${board}: no raw function for ${fn.name}`);
      assert.ok(
        c.includes(`m3_LinkRawFunction(module, "${abi.module}", "${fn.name}", "${wasm3Signature(fn)}", &hal_${fn.name});`),
        `${board}: ${fn.name} is not linked as ${wasm3Signature(fn)}`,
      );
      if (fn.name !== "board_config") assert.match(header, new RegExp(`\\bstrata_board_${fn.name}\\(`));
    }
  }
  assert.match(header, /^int32_t strata_board_adc_read\(int32_t channel\);$/m);
  assert.match(header, /^int64_t strata_board_clock_us\(void\);$/m);
  assert.match(header, /^void strata_board_fault_abort\(int32_t code, int32_t line, int32_t column\);$/m);
  assert.match(header, /^int32_t strata_board_bus_send\(int32_t id, uint8_t \*data, uint32_t length\);$/m);
  assert.match(header, /^uint32_t strata_board_unit_serial\(int32_t high\);$/m);
  assert.match(header, new RegExp(`^#define STRATA_HAL_ABI_VERSION ${abi.abiVersion}$`, "m"));
  for (const [table, prefix] of [["adcChannels", "ADC"], ["gpioPins", "GPIO"], ["configKeys", "CONFIG"], ["faultCodes", "FAULT"]] as const) {
    for (const e of abi[table]) assert.match(header, new RegExp(`^#define STRATA_${prefix}_${e.name} ${e.value} `, "m"));
  }
});

test("each generated hal_link.c compiles with gcc -std=c99 -Wall -Wextra -Werror", () => {
  for (const board of BOARDS) {
    const run = gcc(["-std=c99", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", ...INCLUDES, halLinkPath(board)]);
    assert.equal(run.status, 0, `${board}/hal_link.c does not compile:\n${run.output}`);
  }
});

test("the board_config switch carries the board's own numbers, NAN where it defines none", () => {
  const node = readFileSync(halLinkPath("strata-node-v1"), "utf8");
  assert.match(node, /case STRATA_CONFIG_ADC_BITS: return 14\.0;/);
  assert.match(node, /case STRATA_CONFIG_VOLTAGE_DIVIDER_RATIO: return 2\.0;/);
  assert.match(node, /case STRATA_CONFIG_BALANCE_RESISTANCE_Ohm: return 33\.0;/);
  const controller = readFileSync(halLinkPath("strata-controller-v1"), "utf8");
  assert.match(controller, /case STRATA_CONFIG_ADC_BITS: return 16\.0;/);
  assert.match(controller, /case STRATA_CONFIG_VOLTAGE_DIVIDER_RATIO: return 400\.0;/);
  assert.match(controller, /case STRATA_CONFIG_BALANCE_RESISTANCE_Ohm: return NAN;/);
  assert.match(controller, /case STRATA_CONFIG_NTC_BETA_K: return NAN;/);

  const withoutBalancing: BoardDefinition = structuredClone(loadBoard("strata-node-v1"));
  delete withoutBalancing.balancing;
  assert.match(renderLinkTable(loadAbi(), withoutBalancing),
    /case STRATA_CONFIG_BALANCE_RESISTANCE_Ohm: return NAN; \/\* not defined by strata-node-v1 \*\//);
  const fractional: BoardDefinition = structuredClone(loadBoard("strata-node-v1"));
  fractional.adc.reference_mV = 3300.5;
  assert.match(renderLinkTable(loadAbi(), fractional), /case STRATA_CONFIG_ADC_REFERENCE_mV: return 3300\.5;/);
});

test("rendering refuses what the link table cannot pass safely", () => {
  const board = loadBoard("strata-node-v1");
  const withType = (type: string): HalAbi => {
    const abi = structuredClone(loadAbi());
    abi.functions.push({ name: "vector_op", group: "test", params: [["value", type as "i32"]], result: null, doc: "" });
    return abi;
  };
  assert.throws(() => renderLinkTable(withType("v128"), board), /vector_op: parameter 'value' has type 'v128'/);
  assert.throws(() => renderBoardHeader(withType("externref")), /vector_op: parameter 'value' has type 'externref'/);

  const unpairedPointer = structuredClone(loadAbi());
  unpairedPointer.functions.push({ name: "log_text", group: "test", params: [["text_ptr", "i32"], ["level", "i32"]], result: null, doc: "" });
  assert.throws(() => renderLinkTable(unpairedPointer, board), /log_text: pointer parameter 'text_ptr' must be i32 and be followed by/);

  const missingKey = structuredClone(loadAbi());
  missingKey.configKeys = missingKey.configKeys.filter((k) => k.name !== "NTC_BETA_K");
  assert.throws(() => renderLinkTable(missingKey, board), /'NTC_BETA_K', which is not a configKeys entry/);

  const badBoardConfig = structuredClone(loadAbi());
  const bc = badBoardConfig.functions.find((f) => f.name === "board_config")!;
  bc.result = "f32";
  assert.throws(() => renderLinkTable(badBoardConfig, board), /board_config: expected signature F\(i\)/);
});

// A stand-in for wasm3 and a board port, linked with the generated hal_link.c: it records the
// m3_LinkRawFunction calls, then calls the raw functions the way wasm3 v0.5 does (return slot
// first on _sp, then the arguments) and prints what came back.
const HARNESS = String.raw`
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "m3_api_subset.h"
#include "strata_board.h"

const M3Result m3Err_none = NULL;
const M3Result m3Err_functionLookupFailed = "function lookup failed";
const M3Result m3Err_trapOutOfBoundsMemoryAccess = "[trap] out of bounds memory access";

#define MEMORY_SIZE 65536u
static uint8_t memory[MEMORY_SIZE];
uint32_t m3_GetMemorySize(IM3Runtime runtime) { (void)runtime; return MEMORY_SIZE; }

static struct { const char *module, *name, *signature; M3RawCall function; } linked[64];
static int linkedCount;
static const char *notImported;
static const char *mismatched;

M3Result m3_LinkRawFunction(IM3Module module, const char *const moduleName, const char *const name,
                            const char *const signature, M3RawCall function)
{
    (void)module;
    if (mismatched != NULL && strcmp(name, mismatched) == 0) return "function signature mismatch";
    if (notImported != NULL && strcmp(name, notImported) == 0) return m3Err_functionLookupFailed;
    linked[linkedCount].module = moduleName;
    linked[linkedCount].name = name;
    linked[linkedCount].signature = signature;
    linked[linkedCount].function = function;
    linkedCount++;
    return m3Err_none;
}

static M3RawCall find(const char *name)
{
    for (int i = 0; i < linkedCount; i++) if (strcmp(linked[i].name, name) == 0) return linked[i].function;
    return NULL;
}

static int busCalls;
static long busOffset;
static uint32_t busLength;
int32_t strata_board_bus_send(int32_t id, uint8_t *data, uint32_t length)
{
    busCalls++;
    busOffset = (long)(data - memory);
    busLength = length;
    return id == 0x123 ? 7 : -2;
}
int64_t strata_board_clock_us(void) { return INT64_C(1) << 40; }
uint32_t strata_board_unit_serial(int32_t high) { return high ? 0xDEADBEEFu : 0x12345678u; }
/*STUBS*/

static const char *show(const void *result) { return result == NULL ? "ok" : (const char *)result; }

static void busSend(uint32_t id, uint32_t offset, uint32_t length)
{
    uint64_t sp[4] = { 0, id, offset, length };
    int before = busCalls;
    const void *result = find("bus_send")(NULL, NULL, sp, memory);
    printf("bus_send %u %u %s %d %d %ld %u\n", offset, length, show(result), (int32_t)sp[0],
           busCalls - before, busOffset, busLength);
}

int main(void)
{
    const void *result = strata_link_hal(NULL);
    printf("link %s %d\n", show(result), linkedCount);
    for (int i = 0; i < linkedCount; i++) printf("linked %s %s %s\n", linked[i].module, linked[i].name, linked[i].signature);

    notImported = "gpio_read"; linkedCount = 0;
    result = strata_link_hal(NULL);
    printf("link_partial %s %d\n", show(result), linkedCount);
    notImported = NULL; mismatched = "flash_read"; linkedCount = 0;
    printf("link_mismatch %s\n", show(strata_link_hal(NULL)));
    mismatched = NULL; linkedCount = 0;
    strata_link_hal(NULL);

    busSend(0x123, 100, 8);
    busSend(0x123, MEMORY_SIZE - 8, 8);
    busSend(0x123, MEMORY_SIZE, 0);
    busSend(0x123, MEMORY_SIZE - 7, 8);
    busSend(0x123, 16, 0xFFFFFFFFu);
    busSend(0x123, 0xFFFFFFF0u, 32);

    uint64_t clockSp[1] = { 0 };
    result = find("clock_us")(NULL, NULL, clockSp, memory);
    printf("clock_us %s %lld\n", show(result), (long long)(int64_t)clockSp[0]);

    for (int32_t key = -1; key <= KEY_LIMIT; key++) {
        uint64_t sp[2] = { 0, (uint32_t)key };
        const void *r = find("board_config")(NULL, NULL, sp, memory);
        double value;
        memcpy(&value, &sp[0], sizeof value);
        if (isnan(value)) printf("config %d %s nan\n", key, show(r));
        else printf("config %d %s %.17g\n", key, show(r), value);
    }
    return 0;
}
`;

/** Definitions for every board function the harness does not define itself, read off the header. */
function stubsFor(header: string, harness: string): string {
  const stubs: string[] = [];
  for (const m of header.matchAll(/^(\w+) (strata_board_\w+)\(([^)]*)\);$/gm)) {
    const [, type, name, params] = m;
    if (harness.includes(` ${name}(`)) continue;
    stubs.push(`${type} ${name}(${params}) { ${type === "void" ? "" : "return 0; "}}`);
  }
  return stubs.join("\n");
}

test("the generated raw functions bounds-check buffers, link tolerantly and answer board_config", () => {
  const abi = loadAbi();
  const header = readFileSync(join(boardsDir, "strata_board.h"), "utf8");
  const maxKey = Math.max(...abi.configKeys.map((k) => k.value));
  const source = HARNESS.replace("/*STUBS*/", stubsFor(header, HARNESS)).replace("KEY_LIMIT", String(maxKey + 1));
  const dir = mkdtempSync(join(tmpdir(), "strata-link-"));
  try {
    writeFileSync(join(dir, "harness.c"), source);
    for (const name of BOARDS) {
      const exe = join(dir, name);
      const build = gcc(["-std=c99", "-Wall", "-Werror", ...INCLUDES, "-o", exe, join(dir, "harness.c"), halLinkPath(name)]);
      assert.equal(build.status, 0, `harness for ${name} does not build:\n${build.output}`);
      const run = spawnSync(exe, [], { encoding: "utf8" });
      assert.equal(run.status, 0, `harness for ${name} failed:\n${run.stderr}`);
      const lines = run.stdout.trim().split("\n");

      assert.equal(lines[0], `link ok ${abi.functions.length}`);
      assert.deepEqual(
        lines.filter((l) => l.startsWith("linked ")),
        abi.functions.map((fn) => `linked ${abi.module} ${fn.name} ${wasm3Signature(fn)}`),
      );
      assert.equal(lines.find((l) => l.startsWith("link_partial ")), `link_partial ok ${abi.functions.length - 1}`,
        "a function the image does not import must not fail the link");
      assert.equal(lines.find((l) => l.startsWith("link_mismatch ")), "link_mismatch function signature mismatch",
        "any other link error must be returned");

      const trap = "[trap] out of bounds memory access";
      const bus = lines.filter((l) => l.startsWith("bus_send "));
      assert.deepEqual(bus, [
        "bus_send 100 8 ok 7 1 100 8",
        "bus_send 65528 8 ok 7 1 65528 8",
        "bus_send 65536 0 ok 7 1 65536 0",
        `bus_send 65529 8 ${trap} 0 0 65536 0`,
        `bus_send 16 4294967295 ${trap} 0 0 65536 0`,
        `bus_send 4294967280 32 ${trap} 0 0 65536 0`,
      ]);
      assert.equal(lines.find((l) => l.startsWith("clock_us ")), `clock_us ok ${2 ** 40}`, "i64 results must come back whole");

      const values = boardConfigValues(loadBoard(name));
      const expected = new Map<number, string>();
      for (const key of abi.configKeys) {
        const v = key.name === "UNIT_SERIAL_LOW" ? 0x12345678 : key.name === "UNIT_SERIAL_HIGH" ? 0xDEADBEEF : values.get(key.name);
        expected.set(key.value, v === undefined ? "nan" : String(v));
      }
      for (let key = -1; key <= maxKey + 1; key++) {
        const line = lines.find((l) => l.startsWith(`config ${key} `));
        assert.equal(line, `config ${key} ok ${expected.get(key) ?? "nan"}`, `${name}: board_config(${key})`);
      }
      assert.equal(expected.get(abi.configKeys.find((k) => k.name === "ADC_BITS")!.value), name === "strata-node-v1" ? "14" : "16");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
