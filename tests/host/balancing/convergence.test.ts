// SOC-based passive balancing with the real firmware converges to the maximum usable capacity
// (docs/balancing.md) on the plant's truth: a pack with an SOC spread, and one whose modules have
// also aged differently (capacities 0-6 % below nominal, which the nodes do not know yet).
import { test } from "node:test";
import assert from "node:assert/strict";
import { balancingPack, runUntil, spread, truth } from "./rig.ts";
import { usableCapacity_Ah, maximumUsableCapacity_Ah, passiveMinimumTime_s } from "../../../bench/balancing-limits.ts";

const TARGET = 0.005;
const BLEED_OHM = 33;

test("an SOC spread: the pack reaches its maximum usable capacity close to the bleed's physical minimum time", () => {
  const socs = [0.55, 0.59, 0.52, 0.57, 0.535, 0.56];
  const sim = balancingPack({ strategy: "soc", socs });
  const c = sim.controller.exports;
  sim.step();
  const start = truth(sim);
  const minimum_s = passiveMinimumTime_s(start, BLEED_OHM);
  // After the 5 s start confirmation the controller's plan is in force.
  runUntil(sim, 30, () => false);
  assert.equal(c.balancingAllowed(), 1);
  assert.ok(Math.abs(c.balancingUsableBefore_Ah() - usableCapacity_Ah(start)) < 0.01, `U before ${c.balancingUsableBefore_Ah()} vs ${usableCapacity_Ah(start)}`);
  assert.ok(Math.abs(c.balancingUsableAfter_Ah() - maximumUsableCapacity_Ah(start)) < 0.02, `U after ${c.balancingUsableAfter_Ah()}`);
  const planned = c.balancingPlannedTime_s();
  assert.ok(Math.abs(planned - minimum_s) < 0.05 * minimum_s, `planned ${planned} s, physical minimum ${minimum_s} s`);
  const reached = runUntil(sim, 1.3 * minimum_s, () => spread(sim) <= TARGET);
  assert.ok(reached <= 1.1 * minimum_s, `spread ${(spread(sim) * 100).toFixed(2)} % after ${reached} s (minimum ${minimum_s.toFixed(0)} s)`);
  // It settles: the bleeds end and the pack stays balanced.
  runUntil(sim, 1200, () => false);
  assert.ok(spread(sim) <= TARGET, `spread ${spread(sim)}`);
  assert.equal(c.balanceCommandInForce(0) + c.balanceCommandInForce(1) + c.balanceCommandInForce(3), 0);
});

test("mixed capacities and ageing: the usable capacity reaches the smallest module's capacity", () => {
  const socs = [0.62, 0.58, 0.6, 0.65, 0.59, 0.63];
  const fade = [0.0, 0.04, 0.06, 0.02, 0.05, 0.01];
  const sim = balancingPack({ strategy: "soc", socs, capacityFade: fade, seed: 23 });
  sim.step();
  const start = truth(sim);
  const best = maximumUsableCapacity_Ah(start);
  assert.ok(best < 0.95 * Math.max(...start.map((m) => m.capacity_Ah)), "capacities differ by the fade");
  assert.ok(usableCapacity_Ah(start) < best - 0.1, `usable ${usableCapacity_Ah(start)} of ${best} Ah`);
  const reached = runUntil(sim, 3 * 3600, () => spread(sim) <= TARGET);
  assert.ok(!Number.isNaN(reached), `usable capacity ${usableCapacity_Ah(truth(sim)).toFixed(3)} of ${best.toFixed(3)} Ah after 3 h`);
  runUntil(sim, 1200, () => false);
  assert.ok(usableCapacity_Ah(truth(sim)) >= (1 - TARGET) * maximumUsableCapacity_Ah(truth(sim)));
  assert.equal(sim.controller.heapGrowthSinceInit(), 0);
  for (const node of sim.nodes) assert.equal(node.heapGrowthSinceInit(), 0);
});
