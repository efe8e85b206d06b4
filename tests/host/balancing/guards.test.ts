// Balancing keeps to its limits with the real firmware on both ends: no module is bled below the
// SOC and voltage guards, and nothing bleeds on stale data (a node gone from the bus stops by
// itself, and the controller withdraws every command once a module's data is stale).
import { test } from "node:test";
import assert from "node:assert/strict";
import { balancingPack, modules, runUntil } from "./rig.ts";
import { typeOf, sourceOf } from "../controller/rig.ts";

const GUARDED = 0x80;
const BLEEDING = 0x08;
const MODULE_STATE = 0x11;
/** The controller's guards (BalanceGuards.minSoc; the WARNING level of the M50's 2.5 V cut-off). */
const MIN_SOC = 0.1;
const MIN_VOLTAGE_V = 2.6;

test("a bleed never takes a module below the minimum SOC, and a module already below it is never bled", () => {
  // The emptiest module is at 6 %: bleeding everything down to it would empty the others below 10 %.
  const sim = balancingPack({ strategy: "soc", socs: [0.06, 0.09, 0.12, 0.15] });
  const c = sim.controller.exports;
  const m = modules(sim);
  let guardedSeen = false;
  let lowestWhileBleeding = Infinity;
  let bledBelowGuard = false;
  runUntil(sim, 4 * 3600, () => false, () => {
    if ((c.balancingStatus() & GUARDED) !== 0) guardedSeen = true;
    m.forEach((module, i) => {
      if (module.bleedCurrent_A === 0) return;
      lowestWhileBleeding = Math.min(lowestWhileBleeding, module.voltage_V);
      if (i <= 1 || module.soc < MIN_SOC - 0.002) bledBelowGuard = true;
    });
  });
  assert.equal(bledBelowGuard, false, "modules at or below the guard were never bled");
  assert.ok(guardedSeen, "the planner reported the guard holding it back");
  assert.ok(lowestWhileBleeding >= MIN_VOLTAGE_V, `lowest voltage with a bleed on: ${lowestWhileBleeding}`);
  assert.ok(Math.abs(m[0]!.soc - 0.06) < 1e-4 && Math.abs(m[1]!.soc - 0.09) < 1e-4, "the two low modules untouched");
  for (const i of [2, 3]) {
    assert.ok(m[i]!.soc >= MIN_SOC - 0.002 && m[i]!.soc <= MIN_SOC + 0.005, `module ${i} stopped at the guard: ${m[i]!.soc}`);
  }
  assert.equal(sim.controller.heapGrowthSinceInit(), 0);
});

test("a node that drops off the bus stops bleeding by itself; every other command is withdrawn once its data is stale", () => {
  const sim = balancingPack({ strategy: "soc", socs: [0.5, 0.56, 0.58, 0.6] });
  const c = sim.controller.exports;
  const m = modules(sim);
  // Bleeding under way on the three upper modules.
  runUntil(sim, 600, () => m.slice(1).every((module) => module.bleedCurrent_A > 0));
  assert.ok((c.balancingStatus() & BLEEDING) !== 0);
  const cut_s = sim.time_s;
  sim.nodes[3]!.port.connected = false;
  const stopped = [Number.NaN, Number.NaN, Number.NaN, Number.NaN];
  runUntil(sim, 10, () => false, () => {
    m.forEach((module, i) => {
      if (Number.isNaN(stopped[i]!) && module.bleedCurrent_A === 0) stopped[i] = sim.time_s - cut_s;
    });
  });
  // The cut-off node no longer hears CONTROLLER_STATUS (link lost after 1 s): within the
  // executor's 3 s command timeout in any case.
  assert.ok(stopped[3]! <= 3, `cut-off node stopped after ${stopped[3]} s`);
  // The controller: module 4 stale after 500 ms, zero commands at the modules' next slot (1 s).
  for (const i of [1, 2]) assert.ok(stopped[i]! <= 2, `module ${i} stopped after ${stopped[i]} s`);
  for (let i = 0; i < 3; i++) assert.equal(c.balanceCommandInForce(i), 0);
  assert.ok(m.every((module) => module.bleedCurrent_A === 0));
});

test("a module whose MODULE_STATE stops (measurements still fresh) halts the plan after 3 s: no bleeding on an old estimate", () => {
  const sim = balancingPack({ strategy: "soc", socs: [0.5, 0.56, 0.58, 0.6] });
  const c = sim.controller.exports;
  const m = modules(sim);
  runUntil(sim, 600, () => m.slice(1).every((module) => module.bleedCurrent_A > 0));
  const cut_s = sim.time_s;
  sim.bus.tamper = (frame) => (typeOf(frame.id) === MODULE_STATE && sourceOf(frame.id) === 2 ? null : frame);
  let allStopped_s = Number.NaN;
  runUntil(sim, 10, () => m.every((module) => module.bleedCurrent_A === 0), () => {
    if (Number.isNaN(allStopped_s) && m.every((module) => module.bleedCurrent_A === 0)) allStopped_s = sim.time_s - cut_s;
  });
  assert.ok(allStopped_s >= 3 && allStopped_s <= 5.5, `bleeding stopped ${allStopped_s} s after the last estimate`);
  assert.equal(c.balancingStatus() & 0x02, 0x02, "DATA_INCOMPLETE");
  assert.ok(c.freshModuleCount() === 4, "the measurements still arrive");
});
