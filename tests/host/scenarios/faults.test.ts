import { test } from "node:test";
import assert from "node:assert/strict";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { Simulation } from "../../../host/sim.ts";

const base = {
  name: "faults", seed: 5,
  pack: { modules: 4, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.6 },
  load: [{ type: "current", cRate: 0.5, duration_s: 20 }],
};

test("scheduled faults fire at their time: a node drops off the bus and comes back", () => {
  const sim = new Simulation(validateScenario({
    ...base,
    faults: [
      { at_s: 5, target: "node:2", kind: "disconnect" },
      { at_s: 10, target: "node:2", kind: "reconnect" },
    ],
  }, "f"));
  const fresh: number[] = [];
  sim.run((s) => { if (s.steps % 10 === 0) fresh.push(s.controller.exports.freshModuleCount()); });
  // seconds 1..20: all 4 fresh before 5 s, 3 from ~5.5 s until the node is back after 10 s
  assert.equal(fresh[3], 4);
  assert.equal(fresh[7], 3);
  assert.equal(fresh[19], 4);
  assert.equal(sim.faults.applied.length, 2);
  assert.equal(sim.faults.applied[0]!.time_s, 5);
});

test("a stuck ADC and a current-sensor offset change what the node measures", () => {
  const sim = new Simulation(validateScenario({
    ...base,
    faults: [
      { at_s: 2, target: "node:0", kind: "adc-stuck", params: { channel: "MODULE_VOLTAGE", code: 12000 } },
      { at_s: 2, target: "node:1", kind: "current-sensor-offset", params: { offset_uV: 2000 } },
    ],
  }, "f"));
  sim.run();
  const n0 = sim.nodes[0]!.exports;
  assert.ok(Math.abs(n0.moduleVoltage_mV() - 12000 * 2500 / 16384 * 2) < 0.01, `stuck code read as ${n0.moduleVoltage_mV()} mV`);
  // 2 mV at the shunt = 2000 uV / 100 uOhm = 20 A reads high on node 1 only
  const offset = sim.nodes[1]!.exports.moduleCurrent_mA() - sim.nodes[2]!.exports.moduleCurrent_mA();
  assert.ok(Math.abs(offset - 20000) < 200, `offset ${offset} mA`);
});

test("a bad fault event is refused before the run, naming it", () => {
  assert.throws(() => validateScenario({ ...base, faults: [{ at_s: 1, target: "bus", kind: "melt" }] }, "x.json"), /faults\[0\]\.kind: unknown kind 'melt'/);
  assert.throws(() => validateScenario({ ...base, faults: [{ at_s: 1, target: "node:1", kind: "wire-errors" }] }, "x.json"), /faults\[0\]\.target: 'wire-errors' applies to bus, not node/);
});

test("a balancing switch stuck closed bleeds its module", () => {
  const sim = new Simulation(validateScenario({
    ...base,
    balancing: "none",
    load: [{ type: "rest", duration_s: 600 }],
    faults: [{ at_s: 0, target: "node:3", kind: "balancing-stuck", params: { state: "closed" } }],
  }, "f"));
  const soc0 = [0, 1, 2, 3].map((i) => sim.plant.moduleSoc(i));
  sim.run();
  const drop = [0, 1, 2, 3].map((i) => soc0[i]! - sim.plant.moduleSoc(i));
  // 33 Ohm across ~3.7 V bleeds ~0.11 A: over 600 s that is 0.019 Ah of a 10 Ah module, ~0.19 % SOC
  assert.ok(drop[3]! > 0.0015 && drop[3]! < 0.0025, `bled ${drop[3]}`);
  for (const i of [0, 1, 2]) assert.ok(drop[i]! < 0.0002, `module ${i} lost ${drop[i]}`);
});
