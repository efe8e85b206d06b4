// Power cut at every flash operation of a node's state write, on the emulated NOR flash, with
// the real firmware: after the reboot the node restores the last committed state (the one before
// the write, or the one being written), never garbage, and its store is not corrupt.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { Simulation } from "../../../host/sim.ts";
import type { NodeDevice } from "../../../host/devices.ts";

function pack(): Simulation {
  return new Simulation(validateScenario({
    name: "power-loss", seed: 5, duration_s: 5000,
    pack: { modules: 1, model: "ecm", cell: "lg-inr21700-m50", parallel: 1, initialSoc: 0.8 },
    load: [{ type: "current", cRate: 0.5, duration_s: 5000 }],
  }, "power-loss"));
}

/** Runs until the node's store has written n more records than now; returns the SOC it saved. */
function runUntilWrite(sim: Simulation, node: NodeDevice): number {
  const writes = node.exports.storeWrites();
  let soc = Number.NaN;
  while (node.exports.storeWrites() === writes && !node.poweredOff && sim.time_s < 5000) {
    soc = node.exports.socEstimate();
    sim.step();
  }
  return soc;
}

test("a power cut at any flash operation of a state write loses at most that write", () => {
  // How many flash programs/erases one periodic write takes: count on an undisturbed node.
  const probe = pack();
  const probeNode = probe.nodes[0]!;
  runUntilWrite(probe, probeNode); // the lifecycle record, written when the node joins the pack
  runUntilWrite(probe, probeNode); // the first state write
  const before = probeNode.flash.programs + probeNode.flash.erases;
  runUntilWrite(probe, probeNode);
  const perWrite = probeNode.flash.programs + probeNode.flash.erases - before;
  assert.ok(perWrite >= 2, `a write took ${perWrite} flash operations`);

  let cuts = 0;
  for (let k = 1; k <= perWrite + 1; k++) {
    for (const fraction of [0, 0.5, 1]) {
      const sim = pack();
      const node = sim.nodes[0]!;
      runUntilWrite(sim, node); // the lifecycle record (pack joined)
      const committed = runUntilWrite(sim, node); // first state write done: the node's SOC then
      node.flash.cutPowerDuring(k, fraction);
      const attempted = runUntilWrite(sim, node); // the next write, cut at operation k
      if (!node.poweredOff) continue; // k beyond this write's operations
      cuts++;
      node.reboot();
      sim.step();
      assert.ok(node.exports.storeMountStatus() === 0 || node.exports.storeMountStatus() === 1, `k=${k} f=${fraction}: store status ${node.exports.storeMountStatus()}`);
      assert.equal(node.exports.restoredFromFlash(), 1, `k=${k} f=${fraction}: nothing restored`);
      const restored = node.exports.socEstimate();
      // One 100 ms tick of 0.5C moves the SOC by 1.4e-5: the restored value is one of the two writes.
      const near = (a: number, b: number): boolean => Math.abs(a - b) < 2e-4;
      assert.ok(near(restored, committed) || near(restored, attempted), `k=${k} f=${fraction}: restored ${restored}, committed ${committed}, attempted ${attempted}`);
    }
  }
  assert.ok(cuts >= perWrite * 2, `only ${cuts} cuts landed inside a write`);
});
