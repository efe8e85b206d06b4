// Self-ordering: whatever the serials and the pack size, address k is the k-th module from the
// controller. The harness draws new serials for every seed, so each run is a new order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateScenario } from "../../host/scenarios/scenario.ts";
import { Simulation } from "../../host/sim.ts";

function pack(modules: number, seed: number): Simulation {
  return new Simulation(validateScenario({
    name: "enum", seed, duration_s: 2,
    pack: { modules, model: "linear", capacity_Ah: 50 },
    load: [{ type: "rest", duration_s: 2 }],
  }, "enum"));
}

test("enumeration finds the physical order for sizes 1 to 256 and many serial orders", () => {
  const sizes = [1, 2, 3, 7, 16, 33, 96, 128, 256];
  let runs = 0;
  for (const modules of sizes) {
    for (let seed = 1; seed <= (modules > 100 ? 2 : 6); seed++) {
      const sim = pack(modules, seed * 7919 + modules);
      for (let i = 0; i < 10 && sim.controller.exports.moduleCount() < modules; i++) sim.step();
      assert.equal(sim.controller.exports.moduleCount(), modules, `size ${modules} seed ${seed}`);
      sim.nodes.forEach((node, position) => {
        assert.equal(node.exports.nodeAddress(), position + 1);
        assert.equal(sim.controller.exports.moduleSerialLow(position) >>> 0, node.unit["UNIT_SERIAL_LOW"]);
      });
      runs++;
    }
  }
  assert.ok(runs >= 40);
});

test("a chain of 256 enumerates within a second of simulated time (pin-change interrupts, not polling)", () => {
  const sim = pack(256, 42);
  for (let i = 0; i < 10 && sim.controller.exports.moduleCount() < 256; i++) sim.step();
  assert.equal(sim.controller.exports.moduleCount(), 256);
});

test("a node whose select input is low ignores an assignment meant for its serial", () => {
  const sim = pack(3, 5);
  // Hold node 1's select input low: node 1 and everything after it stay unaddressed.
  sim.nodes[1]!.gpio.forcedInputs.set(sim.nodes[1]!.gpio.pin("CHAIN_SELECT_IN"), 0);
  for (let i = 0; i < 10; i++) sim.step();
  assert.equal(sim.nodes[0]!.exports.nodeAddress(), 1);
  assert.equal(sim.nodes[1]!.exports.nodeAddress(), 0x1fe);
  assert.equal(sim.nodes[2]!.exports.nodeAddress(), 0x1fe);
  // Only node 0 reports: the address offered to node 1 was never taken.
  assert.equal(sim.controller.exports.freshModuleCount(), 1);
});
