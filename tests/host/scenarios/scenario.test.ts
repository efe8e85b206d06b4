import { test } from "node:test";
import assert from "node:assert/strict";
import { listScenarios, loadScenario, validateScenario } from "../../../host/scenarios/scenario.ts";
import { LoadProfile } from "../../../host/scenarios/load.ts";
import { LinearPack } from "../../../host/plant/linear.ts";
import { Simulation } from "../../../host/sim.ts";

test("every shipped scenario validates", () => {
  const names = listScenarios();
  assert.ok(names.includes("default"));
  assert.ok(names.length >= 5);
  for (const name of names) assert.equal(loadScenario(name).name, name);
});

test("a wrong scenario is refused with every problem named by field", () => {
  const bad = {
    name: "Bad Name", seed: -1,
    pack: { modules: 0, model: "ecm", cell: "no-such-cell" },
    load: [{ type: "walk", duration_s: 5 }, { type: "rest" }],
    extra: true,
  };
  assert.throws(() => validateScenario(bad, "bad.json"), (e: Error) => {
    for (const expected of [
      "invalid scenario bad.json:", "name: must match pattern", "seed: must be >= 0", "pack.modules: must be >= 1",
      "load[0].type: unknown type \"walk\"", "load[1]: must have required property 'duration_s'", "must NOT have additional properties 'extra'",
    ]) assert.ok(e.message.includes(expected), `missing '${expected}' in:\n${e.message}`);
    return true;
  });
  assert.throws(() => validateScenario({ name: "x", seed: 1, pack: { modules: 2, model: "ecm", cell: "nope" }, load: [{ type: "rest", duration_s: 1 }], faults: [{ at_s: 0, target: "node:2", kind: "x" }] }, "b.json"),
    /pack\.cell: unknown cell 'nope'[\s\S]*faults\[0\]\.target: node:2 but the pack has 2 modules/);
  assert.throws(() => validateScenario({ name: "x", seed: 1, pack: { modules: 2, model: "linear" }, load: [{ type: "drive-cycle", cycle: "nedc" }] }, "c.json"),
    /load\[0\]\.cycle: unknown drive cycle 'nedc'/);
});

test("load segments run in order and each gives its current", () => {
  const plant = new LinearPack({ modules: 2, capacity_Ah: 10, ocvEmpty_V: 3, ocvFull_V: 4, resistance_Ohm: 0.001, initialSoc: 0.5, temperature_C: 25 });
  const load = new LoadProfile([
    { type: "current", cRate: 2, duration_s: 10 },
    { type: "rest", duration_s: 5 },
    { type: "power", power_W: -70, duration_s: 5 },
  ], 10, 70);
  assert.equal(load.duration_s, 20);
  assert.equal(load.current_A(0, 0.1, plant), 20);
  assert.equal(load.current_A(9.9, 0.1, plant), 20);
  assert.equal(load.current_A(10, 0.1, plant), 0);
  assert.ok(Math.abs(load.current_A(16, 0.1, plant) - -70 / plant.packVoltage_V()) < 1e-12);
  assert.equal(load.current_A(25, 0.1, plant), 0, "after the last segment the load is off");
});

test("a drive cycle's power is scaled to the pack's energy", () => {
  const plant = new LinearPack({ modules: 1, capacity_Ah: 1, ocvEmpty_V: 3.7, ocvFull_V: 3.7, resistance_Ohm: 0, initialSoc: 0.5, temperature_C: 25 });
  const big = new LoadProfile([{ type: "drive-cycle", cycle: "hwfet" }], 1, 54000);
  const small = new LoadProfile([{ type: "drive-cycle", cycle: "hwfet" }], 1, 5400);
  const t = 300;
  const a = big.current_A(t, 0.1, plant);
  const b = small.current_A(t, 0.1, plant);
  assert.ok(a > 0);
  assert.ok(Math.abs(a / b - 10) < 1e-9);
});

test("a CC-CV charge holds the voltage limit and ends at the cut-off current", () => {
  const sim = new Simulation(validateScenario({
    name: "cccv", seed: 3,
    pack: { modules: 3, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.85 },
    load: [{ type: "cc-cv-charge", cRate: 1, maxModuleVoltage_V: 4.1, cutoffCRate: 0.05, maxDuration_s: 7200 }],
  }, "cccv"));
  let maxSeen = 0;
  let cvReached = false;
  let ended = false;
  sim.run((s) => {
    // the first ticks of constant current overshoot, as with a real charger, before the CV loop acts
    if (s.time_s > 5) for (let i = 0; i < 3; i++) maxSeen = Math.max(maxSeen, s.plant.moduleVoltage_V(i));
    if (maxSeen > 4.09) cvReached = true;
    if (cvReached && s.plant.packCurrent_A() === 0) ended = true;
  });
  assert.ok(cvReached, "reached the CV phase");
  assert.ok(maxSeen < 4.1 + 0.005, `max module voltage ${maxSeen}`);
  assert.ok(ended, "charge ended at the cut-off");
});
