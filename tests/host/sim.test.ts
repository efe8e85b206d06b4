// The firmware as WASM inside the harness: enumeration, measurement path, end-to-end protection,
// heap discipline, determinism.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateScenario, type Scenario } from "../../host/scenarios/scenario.ts";
import { Simulation } from "../../host/sim.ts";
import { loadAbi } from "../../host/abi.ts";

const faultCode = (name: string): number => loadAbi().faultCodes.find((f) => f.name === name)!.value;

/** A linear-plant pack: closed-form truth for checking the measurement path itself. */
function scenario(overrides: { modules?: number; duration_s?: number; seed?: number; cRate?: number } = {}): Scenario {
  const duration_s = overrides.duration_s ?? 20;
  return validateScenario({
    name: "test",
    seed: overrides.seed ?? 7,
    duration_s,
    pack: { modules: overrides.modules ?? 12, model: "linear", capacity_Ah: 50, ocvEmpty_V: 3.0, ocvFull_V: 4.2, resistance_mOhm: 1.0, initialSoc: 0.9 },
    load: [{ type: "current", cRate: overrides.cRate ?? 1, duration_s }],
  }, "test");
}

test("nodes enumerate in physical order through the daisy chain", () => {
  const sim = new Simulation(scenario({ modules: 12, duration_s: 5 }));
  sim.run();
  const c = sim.controller.exports;
  assert.equal(c.moduleCount(), 12);
  sim.nodes.forEach((node, position) => {
    assert.equal(node.exports.nodeAddress(), position + 1, `node at position ${position}`);
    assert.equal(c.moduleSerialLow(position) >>> 0, node.unit["UNIT_SERIAL_LOW"]);
    assert.equal(c.moduleSerialHigh(position) >>> 0, node.unit["UNIT_SERIAL_HIGH"]);
  });
});

test("the controller's view matches the plant within one ADC step", () => {
  const sim = new Simulation(scenario({ duration_s: 30 }));
  let checks = 0;
  sim.run((s) => {
    if (s.steps < 30) return; // enumeration of 12 nodes takes a few ticks
    const c = s.controller.exports;
    assert.equal(c.freshModuleCount(), 12);
    for (let i = 0; i < s.nodes.length; i++) {
      const node = s.nodes[i]!;
      const index = s.controllerIndexOf(node);
      const stepV = node.adc.stepSize("MODULE_VOLTAGE", s.plant.moduleVoltage_V(i));
      // one ADC step, plus half of the bus's 0.1 mV voltage resolution
      assert.ok(Math.abs(c.moduleVoltage_mV(index) / 1000 - s.plant.moduleVoltage_V(i)) <= stepV + 0.05e-3,
        `module ${i}: controller ${c.moduleVoltage_mV(index)} mV, plant ${s.plant.moduleVoltage_V(i) * 1000} mV`);
      const stepA = node.adc.stepSize("MODULE_CURRENT", s.plant.moduleCurrent_A(i));
      assert.ok(Math.abs(c.moduleCurrent_mA(index) / 1000 - s.plant.moduleCurrent_A(i)) <= stepA + 0.5e-3);
      const stepT = node.adc.stepSize("MODULE_TEMPERATURE", s.plant.moduleTemperature_C(i));
      assert.ok(Math.abs(c.moduleTemperature_C(index) - s.plant.moduleTemperature_C(i)) <= stepT + 0.25);
      checks++;
    }
    const packStepV = s.controller.adc.stepSize("PACK_VOLTAGE", s.plant.packVoltage_V());
    assert.ok(Math.abs(c.packVoltage_mV() / 1000 - s.plant.packVoltage_V()) <= packStepV);
    const packStepA = s.controller.adc.stepSize("PACK_CURRENT", s.plant.packCurrent_A());
    assert.ok(Math.abs(c.packCurrent_mA() / 1000 - s.plant.packCurrent_A()) <= packStepA);
  });
  assert.ok(checks > 3000);
});

test("no firmware allocates after init, traps or reports a fault on a healthy pack", () => {
  const sim = new Simulation(validateScenario({
    name: "healthy", seed: 8, duration_s: 30,
    pack: { modules: 6, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.7 },
    load: [{ type: "drive-cycle", cycle: "us06" }],
  }, "healthy"));
  sim.run();
  for (const device of sim.devices()) {
    assert.equal(device.trap, null, device.name);
    assert.equal(device.heapGrowthSinceInit(), 0, `${device.name} allocated after init`);
    assert.deepEqual(device.faults.records, [], device.name);
  }
  for (const node of sim.nodes) assert.equal(node.exports.cellParametersError(), 0, `${node.name} runs its provisioned cell model`);
});

test("a node without a cell parameter set says so once and still measures", () => {
  const sim = new Simulation(scenario({ modules: 2, duration_s: 2 }));
  sim.run();
  for (const node of sim.nodes) {
    assert.equal(node.faults.count(faultCode("CELL_PARAMETERS_INVALID")), 1, node.name);
    assert.ok(Number.isNaN(node.exports.socEstimate()));
    assert.ok(node.exports.moduleVoltage_mV() > 3000);
  }
});

test("a payload corrupted past the CAN CRC is rejected by the E2E check and counted", () => {
  const sim = new Simulation(scenario({ modules: 4, duration_s: 10 }));
  let corrupted = 0;
  sim.bus.tamper = (frame) => {
    const type = (frame.id >> 18) & 0xff;
    if (type === 0x10 && sim.steps % 7 === 3) {
      corrupted++;
      const data = frame.data.slice();
      data[3] = data[3]! ^ 0x04;
      return { ...frame, data };
    }
    return frame;
  };
  sim.run();
  const c = sim.controller.exports;
  assert.ok(corrupted > 10);
  assert.equal(c.framesRejectedCrc(), corrupted);
  assert.equal(sim.controller.faults.count(faultCode("BUS_FRAME_REJECTED")), corrupted);
  // corrupted values never reach the table: every accepted voltage is a plant value
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(c.moduleVoltage_mV(i) / 1000 - sim.plant.moduleVoltage_V(i)) < 1e-3);
});

test("a replayed frame is rejected as repeated, a silent node times out", () => {
  const sim = new Simulation(scenario({ modules: 3, duration_s: 4 }));
  sim.run();
  const c = sim.controller.exports;
  const before = c.framesRejectedCounter();
  // replay: re-send node 1's last frame unchanged from a rogue port
  let last: { id: number; data: Uint8Array } | null = null;
  sim.bus.tamper = (frame) => {
    if (((frame.id >> 18) & 0xff) === 0x10 && (frame.id & 0x1ff) === 2) last = { id: frame.id, data: frame.data.slice() };
    return frame;
  };
  sim.step();
  assert.ok(last !== null);
  const replayed: { id: number; data: Uint8Array } = last;
  sim.bus.tamper = null;
  sim.controller.port.receive({ id: replayed.id, data: replayed.data, queued_us: 0, sender: sim.nodes[0]!.port }, sim.clock.now_us);
  assert.equal(c.framesRejectedCounter(), before + 1);
  // the node at position 2 goes silent
  sim.nodes[2]!.port.connected = false;
  for (let i = 0; i < 10; i++) sim.step();
  assert.equal(c.freshModuleCount(), 2);
  const timeouts = sim.controller.faults.records.filter((r) => r.code === faultCode("MODULE_TIMEOUT"));
  assert.deepEqual(timeouts.map((r) => r.detail), [3]);
});

test("a failed ADC conversion is flagged, reported once, and never reported as a value", () => {
  const sim = new Simulation(scenario({ modules: 2, duration_s: 3 }));
  sim.run();
  sim.nodes[1]!.adc.channelFaults("MODULE_VOLTAGE").errorCode = -2;
  for (let i = 0; i < 5; i++) sim.step();
  const c = sim.controller.exports;
  assert.equal(c.moduleFlags(1) & 0x10, 0x10, "voltage-invalid flag");
  assert.equal(sim.nodes[1]!.faults.count(faultCode("ADC_READ_FAILED")), 1);
  // the pack aggregate leaves the invalid module out rather than summing a bogus value
  assert.ok(Math.abs(c.sumModuleVoltage_mV() / 1000 - sim.plant.moduleVoltage_V(0)) < 1e-3);
});

test("a missing board constant is reported and the node flags its measurements invalid", () => {
  const sim = new Simulation(scenario({ modules: 1, duration_s: 1 }));
  const node = sim.nodes[0]!;
  node.config.override(loadAbi().configKeys.find((k) => k.name === "SHUNT_RESISTANCE_uOhm")!.value, undefined);
  node.init();
  for (let i = 0; i < 3; i++) sim.step();
  assert.ok(node.faults.count(faultCode("BOARD_CONFIG_MISSING")) >= 1);
  assert.equal(node.exports.measurementFlags() & 0x70, 0x70);
});

test("a seed reproduces a run exactly; another seed gives other serials", () => {
  const serials = (seed: number): string[] => {
    const sim = new Simulation(scenario({ modules: 5, duration_s: 2, seed }));
    sim.run();
    return sim.nodes.map((n) => `${n.serial()}@${n.exports.nodeAddress()}:${n.exports.moduleVoltage_mV()}`);
  };
  assert.deepEqual(serials(11), serials(11));
  assert.notDeepEqual(serials(11), serials(12));
});
