import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import wabtInit from "wabt";
import { loadFirmwareImage, instantiateFirmware } from "../../host/loader.ts";

const dir = mkdtempSync(join(tmpdir(), "strata-loader-"));

test("a missing image is reported with its path and the build hint", () => {
  assert.throws(() => loadFirmwareImage(join(dir, "absent.wasm")), /absent\.wasm not found \(run `npm run build` first\)/);
});

test("a file that is not WebAssembly is reported as such", () => {
  const path = join(dir, "text.wasm");
  writeFileSync(path, "this is not a wasm module");
  assert.throws(() => loadFirmwareImage(path), /text\.wasm is not a WebAssembly module \(bad magic number/);
});

test("a truncated module is reported as malformed", () => {
  const path = join(dir, "truncated.wasm");
  writeFileSync(path, Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01]));
  assert.throws(() => loadFirmwareImage(path), /truncated\.wasm is malformed/);
});

test("an image importing outside the HAL is refused before it runs, naming the import", async () => {
  const wabt = await wabtInit();
  const wat = `(module (import "env" "abort" (func (param i32 i32 i32 i32))) (memory (export "memory") 1 1))`;
  const path = join(dir, "glue.wasm");
  writeFileSync(path, wabt.parseWat("glue.wat", wat).toBinary({}).buffer);
  assert.throws(() => instantiateFirmware(loadFirmwareImage(path), []), /imports env\.abort \(function\), which is not in the HAL ABI/);
});
