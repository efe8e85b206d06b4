// The node learns its module's capacity as a state of its SOC filter (docs/estimation.md, "Capacity
// learning"), in the harness with the real image: a node new to a module 20 % smaller than its
// parameter set says starts from nominal +- 15 %, learns the module's capacity while driving, and
// keeps what it learned across a reboot (estimator state record).
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { Simulation } from "../../../host/sim.ts";

test("a node new to an aged module learns its capacity while driving and keeps it across a reboot", () => {
  const sim = new Simulation(validateScenario({
    name: "capacity-learning", seed: 21, sensors: "datasheet-typical",
    pack: { modules: 1, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.95, ageing: { capacityFade: 0.2, resistanceGrowth: 0.5 } },
    load: [{ type: "drive-cycle", cycle: "wltc3b", repeat: 5 }, { type: "rest", duration_s: 600 }],
  }, "capacity-learning"));
  const node = sim.nodes[0]!;
  const truth = (): number => sim.plant.moduleCapacity_Ah(0);
  sim.step();
  sim.step();
  const start = node.exports.capacityEstimate_Ah();
  assert.ok(Math.abs(start / truth() - 1) > 0.2, `starts from the nominal capacity (${start} Ah for ${truth()} Ah)`);
  assert.ok(node.exports.capacitySigma_Ah() > 0.1 * start, "with a wide prior");
  let saved = Number.NaN;
  let writes = node.exports.storeWrites();
  sim.run(() => {
    if (node.exports.storeWrites() !== writes) {
      writes = node.exports.storeWrites();
      saved = node.exports.capacityEstimate_Ah();
    }
  });
  const learned = node.exports.capacityEstimate_Ah();
  const sigma = node.exports.capacitySigma_Ah();
  console.log(`capacity ${start.toFixed(2)} -> ${learned.toFixed(3)} +- ${sigma.toFixed(3)} Ah for ${truth().toFixed(3)} Ah; ${node.exports.capacityUpdates()} learning updates; sim ${sim.time_s.toFixed(0)} s`);
  assert.ok(node.exports.capacityUpdates() > 0, "the filter learned");
  assert.ok(Math.abs(learned / truth() - 1) < 0.05, `learned ${learned} Ah for ${truth()} Ah`);
  assert.ok(Math.abs(learned - truth()) < 3 * sigma, `within its own 3 sigma (${sigma} Ah)`);
  assert.ok(sigma < 0.1 * learned, `and surer of it than the prior (${sigma} Ah)`);
  assert.ok(Number.isFinite(saved), "the node wrote its state");
  node.reboot();
  sim.step();
  sim.step();
  assert.equal(node.exports.estimatorStart(), 2, "warm start");
  assert.ok(Math.abs(node.exports.capacityEstimate_Ah() - saved) < 1e-3, `restored ${node.exports.capacityEstimate_Ah()} Ah, saved ${saved} Ah`);
});
