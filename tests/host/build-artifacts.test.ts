// The release images themselves: what CI builds is what an MCU would run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { checkWasm, profileFor } from "../../host/tools/wasm-check.ts";
import { defaultImages } from "../../host/sim.ts";
import { loadAbi } from "../../host/abi.ts";

for (const image of ["node", "controller"] as const) {
  test(`${image}.wasm passes the wasm3 profile, the ABI and its size budget`, () => {
    const { violations, info } = checkWasm(readFileSync(defaultImages[image]), profileFor(image));
    assert.deepEqual(violations, []);
    assert.ok(info.memory !== null && info.memory.maximum === info.memory.initial, "fixed memory");
    const abiNames = new Set(loadAbi().functions.map((f) => f.name));
    for (const imp of info.imports) {
      assert.equal(imp.module, "hal");
      assert.ok(abiNames.has(imp.name), imp.name);
    }
  });
}

test("the node image fits in one 64 KiB page", () => {
  const { info } = checkWasm(readFileSync(defaultImages.node), profileFor("node"));
  assert.equal(info.memory?.initial, 1);
});
