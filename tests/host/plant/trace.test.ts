// Trace replay: a log runs through the real firmware exactly as the plant would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { TracePlant, TraceFormatError } from "../../../host/plant/trace.ts";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { Simulation } from "../../../host/sim.ts";
import { TraceRecorder } from "../../../host/recorder.ts";

test("a trace interpolates linearly between rows", () => {
  const plant = new TracePlant("# bench log\ntime_s,current_A,voltage_V_0,temperature_C_0\n0,0,3.6,20\n10,10,3.5,30\n", "inline");
  plant.step(0, 2.5);
  assert.equal(plant.packCurrent_A(), 2.5);
  assert.ok(Math.abs(plant.moduleVoltage_V(0) - 3.575) < 1e-12);
  assert.equal(plant.moduleTemperature_C(0), 22.5);
  assert.ok(Number.isNaN(plant.moduleSoc()));
  plant.step(0, 100);
  assert.equal(plant.packCurrent_A(), 10, "holds the last row past the end");
});

test("malformed traces are rejected with the line and the reason", () => {
  const cases: [string, RegExp][] = [
    ["time_s,voltage_V_0\n0,3\n1,3\n", /line 1: header must start with time_s,current_A/],
    ["time_s,current_A,voltage_V_0\n0,0,3\n1,0,3\n", /column temperature_C_0 is missing/],
    ["time_s,current_A,voltage_V_0,temperature_C_0\n0,0,3,20\n1,x,3,20\n", /line 3: field current_A is not a number: 'x'/],
    ["time_s,current_A,voltage_V_0,temperature_C_0\n0,0,3,20\n0,0,3,20\n", /line 3: time_s 0 does not increase/],
    ["time_s,current_A,voltage_V_0,temperature_C_0\n0,0,3,20\n1,0,3\n", /line 3: 3 fields, the header has 4/],
    ["time_s,current_A,voltage_V_0,temperature_C_0,soc_0\n0,0,3,20,1\n", /unknown column 'soc_0'/],
  ];
  for (const [text, error] of cases) assert.throws(() => new TracePlant(text, "t.csv"), (e: unknown) => e instanceof TraceFormatError && error.test(e.message));
});

test("a run recorded as a trace replays through the firmware to the same controller view", async () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-trace-"));
  const original = new Simulation(validateScenario({
    name: "record", seed: 21, duration_s: 60,
    pack: { modules: 4, model: "ecm", cell: "lg-inr21700-m50", parallel: 4, spread: { capacity_rel: 0.02, soc_abs: 0.02 }, initialSoc: 0.6 },
    load: [{ type: "drive-cycle", cycle: "us06" }],
  }, "record"));
  const tracePath = join(dir, "run.csv");
  const recorder = new TraceRecorder(tracePath, original, 1);
  const views: number[][] = [];
  original.run((s) => {
    recorder.record();
    views.push(s.nodes.map((n) => s.controller.exports.moduleVoltage_mV(s.controllerIndexOf(n))));
  });
  await recorder.close();

  const replay = new Simulation(validateScenario({
    name: "replay", seed: 99,
    pack: { modules: 4, model: "ecm", cell: "lg-inr21700-m50" },
    load: [{ type: "trace", file: tracePath }],
  }, "replay", dir));
  assert.equal(replay.duration_s, 60);
  let step = 0;
  let compared = 0;
  replay.run((s) => {
    const expected = views[step++]!;
    s.nodes.forEach((n, i) => {
      const got = s.controller.exports.moduleVoltage_mV(s.controllerIndexOf(n));
      if (Number.isNaN(expected[i]!) || Number.isNaN(got)) return;
      const lsb_mV = n.adc.stepSize("MODULE_VOLTAGE", s.plant.moduleVoltage_V(i)) * 1000;
      assert.ok(Math.abs(got - expected[i]!) <= lsb_mV + 0.1, `step ${step} module ${i}: ${got} vs ${expected[i]}`);
      compared++;
    });
  });
  assert.ok(compared > 2000);
});
