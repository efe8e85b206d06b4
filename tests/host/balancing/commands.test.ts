// What the controller puts on the bus for balancing: BALANCE_COMMAND to each module with a plan,
// once a second, staggered by address, E2E-protected, a new plan sequence each time and a zero
// command when the plan ends; and the CONTROLLER_STATUS "balancing allowed" flag by strategy and
// operating state (docs/balancing.md, "Controller").
import { test } from "node:test";
import assert from "node:assert/strict";
import { e2eValid } from "../../../host/vehicle/e2e.ts";
import { captureFrames, typeOf } from "../controller/rig.ts";
import { balancingPack, modules, runUntil } from "./rig.ts";

const BALANCE_COMMAND = 0x22;
const CONTROLLER_STATUS = 0x20;
const NOT_AT_REST = 0x10;
const destinationOf = (id: number): number => (id >>> 9) & 0x1ff;

test("BALANCE_COMMAND: one per bleeding module per second, staggered, E2E, a new sequence each time, a zero when the plan ends", () => {
  const socs = [0.6, 0.603, 0.606, 0.6, 0.605, 0.6, 0.604, 0.6, 0.602, 0.6, 0.606, 0.601];
  const sim = balancingPack({ strategy: "soc", socs });
  const c = sim.controller.exports;
  const frames: { id: number; data: Uint8Array; t_s: number }[] = [];
  const raw = captureFrames(sim.bus);
  let perTickMax = 0;
  runUntil(sim, 3600, () => false, () => {
    const fresh = raw.splice(0).filter((f) => typeOf(f.id) === BALANCE_COMMAND);
    perTickMax = Math.max(perTickMax, fresh.length);
    for (const f of fresh) frames.push({ ...f, t_s: sim.time_s });
  });
  assert.ok(frames.length > 100, `${frames.length} commands`);
  assert.ok(perTickMax <= 2, `at most ${perTickMax} per tick for 12 modules`);
  for (const f of frames) assert.ok(e2eValid(f.id >>> 0, f.data), "E2E CRC over the identifier");
  let commanded = 0;
  for (let address = 1; address <= 12; address++) {
    const mine = frames.filter((f) => destinationOf(f.id) === address);
    if (mine.length === 0) continue;
    commanded++;
    const gaps = mine.slice(1).map((f, k) => f.t_s - mine[k]!.t_s);
    for (const gap of gaps) assert.ok(gap >= 1 - 1e-6 && Math.abs(gap - Math.round(gap)) < 1e-6, `module ${address}: commands in its slot, ${gap} s apart`);
    assert.ok(gaps.filter((g) => Math.abs(g - 1) < 1e-6).length >= 0.8 * gaps.length, `module ${address}: refreshed every second while its plan lasts`);
    mine.slice(1).forEach((f, k) => {
      assert.equal(f.data[2], (mine[k]!.data[2]! + 1) & 0xff, "a new plan sequence");
      assert.equal(f.data[1]! & 0x0f, ((mine[k]!.data[1]! & 0x0f) + 1) % 15, "E2E alive counter per node");
    });
    const charge = (f: { data: Uint8Array }): number => (f.data[4]! | (f.data[5]! << 8)) / 10;
    assert.equal(f0(mine).data[3], 255, "full duty");
    assert.ok(charge(f0(mine)) > 0);
    // Every command carries what is left; the last one is a zero.
    const last = mine[mine.length - 1]!;
    assert.equal(charge(last), 0, `module ${address}: plan ended with a zero command`);
    assert.equal(last.data[3], 0);
    assert.equal(c.balanceCommandInForce(address - 1), 0);
    assert.ok(c.balanceReportState(address - 1) >= 0, "its BALANCE_REPORT decoded");
  }
  assert.ok(commanded >= 5, `${commanded} modules commanded`);
  assert.ok(modules(sim).every((m) => m.bleedCurrent_A === 0));
});

function f0<T>(list: readonly T[]): T {
  return list[0]!;
}

function statusFlags(frames: { id: number; data: Uint8Array }[]): number[] {
  return frames.filter((f) => typeOf(f.id) === CONTROLLER_STATUS).map((f) => f.data[3]! & 1);
}

test("balancing allowed: the voltage baseline only at rest, the SOC-based planner also while driving and charging, none never", () => {
  const load = [{ type: "rest", duration_s: 20 }, { type: "current", cRate: 0.5, duration_s: 20 }, { type: "current", cRate: -0.3, duration_s: 20 }];
  const flags = (strategy: "voltage" | "soc" | "none"): number[][] => {
    const sim = balancingPack({ strategy, socs: [0.6, 0.62, 0.6], load });
    const frames = captureFrames(sim.bus);
    const phases: number[][] = [[], [], []];
    runUntil(sim, 60, () => false, () => {
      const phase = Math.min(2, Math.floor((sim.time_s - 0.05) / 20));
      const latest = statusFlags(frames.splice(0));
      if (sim.time_s % 20 > 2) phases[phase]!.push(...latest);
      if (strategy === "voltage" && phase === 1 && sim.time_s % 20 > 2) assert.equal(sim.controller.exports.balancingStatus() & NOT_AT_REST, NOT_AT_REST);
    });
    return phases;
  };
  const all = (bits: number[], value: number): boolean => bits.length > 0 && bits.every((b) => b === value);
  const [vRest, vDrive, vCharge] = flags("voltage");
  assert.ok(all(vRest!, 1) && all(vDrive!, 0) && all(vCharge!, 0), "voltage: rest only");
  const [sRest, sDrive, sCharge] = flags("soc");
  assert.ok(all(sRest!, 1) && all(sDrive!, 1) && all(sCharge!, 1), "SOC-based: rest, driving and charging");
  const [nRest, nDrive, nCharge] = flags("none");
  assert.ok(all(nRest!, 0) && all(nDrive!, 0) && all(nCharge!, 0), "none: never");
});

test("balancing is not allowed while the chain re-enumerates, and the nodes stop", () => {
  const sim = balancingPack({ strategy: "soc", socs: [0.6, 0.62, 0.64, 0.6] });
  const c = sim.controller.exports;
  const m = modules(sim);
  runUntil(sim, 600, () => m[2]!.bleedCurrent_A > 0);
  assert.equal(c.balancingAllowed(), 1);
  sim.removeNode(1);
  sim.insertNode(1, 0x5a5a0003, 0x42);
  let disallowedDuring = false;
  runUntil(sim, 3, () => false, () => {
    if (c.enumerationState() !== 1) {
      if (c.balancingAllowed() === 0) disallowedDuring = true;
      else assert.fail("allowed while re-enumerating");
    }
  });
  assert.ok(disallowedDuring);
  assert.equal(c.addressResets(), 1);
  // Enumerated again: balancing resumes with the new order.
  runUntil(sim, 20, () => m[2]!.bleedCurrent_A > 0);
  assert.equal(c.balancingAllowed(), 1);
  assert.ok(m[2]!.bleedCurrent_A > 0, "bleeding again");
});
