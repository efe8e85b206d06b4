// The estimator state record (version 2) carries the SOC filter's slow voltage error: a node that
// restarts keeps what it had learned of its voltage channel instead of relearning it from its prior.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { Simulation } from "../../../host/sim.ts";

test("a rebooted node restores its slow voltage error with the rest of its state", () => {
  const sim = new Simulation(validateScenario({
    name: "warm-start", seed: 12, sensors: "datasheet-typical",
    pack: { modules: 1, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.95 },
    load: [{ type: "drive-cycle", cycle: "wltc3b", repeat: 2 }, { type: "rest", duration_s: 60 }],
  }, "warm-start"));
  const node = sim.nodes[0]!;
  // Drive until a state write, remember what was written, reboot right after it.
  let saved = Number.NaN;
  let soc = Number.NaN;
  let writes = node.exports.storeWrites();
  while (sim.time_s < 3000) {
    sim.step();
    if (node.exports.storeWrites() !== writes) {
      writes = node.exports.storeWrites();
      saved = node.exports.voltageError_mV();
      soc = node.exports.socEstimate();
    }
  }
  assert.ok(Number.isFinite(saved), "the node wrote its state");
  assert.ok(Math.abs(saved) > 0.5, `a voltage error was learned (${saved} mV)`);
  // The last write happened at most one period ago; reboot and take the first estimate.
  node.reboot();
  sim.step();
  sim.step();
  assert.equal(node.exports.estimatorStart(), 2, "warm start");
  assert.ok(Math.abs(node.exports.voltageError_mV() - saved) < 0.2, `restored ${node.exports.voltageError_mV()} mV, saved ${saved} mV`);
  assert.ok(Math.abs(node.exports.socEstimate() - soc) < 0.02);
});
