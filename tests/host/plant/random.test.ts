import { test } from "node:test";
import assert from "node:assert/strict";
import { Random } from "../../../host/plant/random.ts";

test("the same seed gives the same sequence, another seed a different one", () => {
  const a = new Random(42);
  const b = new Random(42);
  const c = new Random(43);
  const sa = Array.from({ length: 64 }, () => a.nextUint32());
  const sb = Array.from({ length: 64 }, () => b.nextUint32());
  const sc = Array.from({ length: 64 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  for (const x of sa) assert.ok(Number.isInteger(x) && x >= 0 && x < 2 ** 32);
});

test("uniforms cover [0, 1) and Gaussians have unit variance", () => {
  const random = new Random(7);
  const n = 40000;
  let sum = 0;
  let min = 1;
  let max = 0;
  for (let k = 0; k < n; k++) {
    const u = random.next();
    sum += u;
    min = Math.min(min, u);
    max = Math.max(max, u);
  }
  assert.ok(min >= 0 && max < 1);
  assert.ok(Math.abs(sum / n - 0.5) < 0.01);
  let mean = 0;
  let square = 0;
  for (let k = 0; k < n; k++) {
    const g = random.gaussian();
    mean += g;
    square += g * g;
  }
  mean /= n;
  const variance = square / n - mean * mean;
  assert.ok(Math.abs(mean) < 0.02, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.03, `variance ${variance}`);
});
