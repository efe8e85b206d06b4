// The controller's contactor sequence on the harness's contactor model: precharge before the
// positive closes, the vehicle's request as the only reason to close, and the safe state without
// a request or without a pack configuration.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../../host/sim.ts";
import { packScenario, controllerFaults } from "./rig.ts";

const ContactorState = { OPEN: 0, CLOSING_NEGATIVE: 1, PRECHARGING: 2, CLOSING_POSITIVE: 3, CLOSED: 4 };
const BmsState = { INIT: 0, STANDBY: 1, PRECHARGE: 2, CONNECTED: 3, FAULT: 5 };

test("a controlled pack closes negative, precharges to 95 % of the pack, then closes the positive without inrush damage", () => {
  const sim = new Simulation(packScenario({ load: [{ type: "rest", duration_s: 1 }, { type: "current", cRate: 0.5, duration_s: 4 }], duration_s: 5 }));
  const c = sim.controller.exports;
  const events: { time_ms: number; coil: string; level: number; link_V: number; pack_V: number }[] = [];
  for (const coil of ["CONTACTOR_NEGATIVE", "CONTACTOR_PRECHARGE", "CONTACTOR_POSITIVE"]) {
    let last = 0;
    sim.controller.gpio.onOutput(coil, (level) => {
      if (level === last) return;
      last = level;
      events.push({ time_ms: sim.clock.now_us / 1000, coil, level, link_V: sim.contactors.linkVoltage_V(), pack_V: sim.plant.packVoltage_V() });
    });
  }
  const states: number[] = [];
  let currentBeforeConnected = 0;
  sim.run((s) => {
    if (states[states.length - 1] !== c.bmsState()) states.push(c.bmsState());
    if (c.contactorState() !== ContactorState.CLOSED) currentBeforeConnected = Math.max(currentBeforeConnected, Math.abs(s.plant.packCurrent_A()));
  });
  const order = events.filter((e) => e.level === 1).map((e) => e.coil);
  assert.deepEqual(order, ["CONTACTOR_NEGATIVE", "CONTACTOR_PRECHARGE", "CONTACTOR_POSITIVE"]);
  const positive = events.find((e) => e.coil === "CONTACTOR_POSITIVE" && e.level === 1)!;
  assert.ok(positive.link_V >= 0.95 * positive.pack_V, `positive closed at link ${positive.link_V} V of ${positive.pack_V} V`);
  const prechargeOff = events.find((e) => e.coil === "CONTACTOR_PRECHARGE" && e.level === 0)!;
  assert.ok(prechargeOff.time_ms > positive.time_ms, "precharge released after the positive closed");
  assert.deepEqual(sim.contactors.damageEvents, []);
  assert.equal(sim.contactors.inrushEvents.length, 1);
  assert.ok(sim.contactors.inrushEvents[0]!.voltageDifference_V < 0.05 * sim.plant.packVoltage_V());
  // STANDBY for the zero-current dwell (1 s, the nodes calibrate their current channels), then the close.
  assert.deepEqual(states.slice(0, 4), [BmsState.INIT, BmsState.STANDBY, BmsState.PRECHARGE, BmsState.CONNECTED]);
  assert.equal(c.contactorState(), ContactorState.CLOSED);
  assert.ok(sim.contactors.mainsClosed());
  assert.equal(currentBeforeConnected, 0, "no load current before the mains closed");
  assert.ok(sim.plant.packCurrent_A() > 4, "the load flows once connected");
  assert.deepEqual(sim.controller.faults.records, []);
  assert.equal(sim.controller.heapGrowthSinceInit(), 0);
});

test("without a close request, or with the request withdrawn, the contactors stay or go open", () => {
  const sim = new Simulation(packScenario({ vehicle: [{ at_s: 0, contactors: "open" }, { at_s: 2, contactors: "close" }, { at_s: 4, contactors: "open" }], duration_s: 16 }));
  const c = sim.controller.exports;
  const closedAt: number[] = [];
  sim.run((s) => { if (s.contactors.mainsClosed()) closedAt.push(s.time_s); });
  assert.ok(closedAt.length > 0);
  assert.ok(closedAt[0]! > 2 && closedAt[closedAt.length - 1]! < 4.3, `closed from ${closedAt[0]} to ${closedAt[closedAt.length - 1]} s`);
  assert.equal(c.contactorState(), ContactorState.OPEN);
  assert.equal(c.bmsState(), BmsState.STANDBY);
  assert.deepEqual(sim.controller.faults.records, []);
});

test("a VCU_Command older than 500 ms counts as an OPEN request", () => {
  const sim = new Simulation(packScenario({ duration_s: 6 }));
  const c = sim.controller.exports;
  for (let i = 0; i < 20; i++) sim.step();
  assert.ok(sim.contactors.mainsClosed());
  const silentFrom_ms = sim.clock.now_us / 1000;
  sim.vehicle.port.connected = false;
  let openedAt_ms = NaN;
  for (let i = 0; i < 20; i++) {
    sim.step();
    if (Number.isNaN(openedAt_ms) && !c.vehicleCloseRequested()) openedAt_ms = sim.clock.now_us / 1000;
  }
  // The last command arrived with the nodes' tick before the silence; the controller drops the
  // request at its first tick more than 500 ms later.
  assert.ok(openedAt_ms - silentFrom_ms >= 400 && openedAt_ms - silentFrom_ms <= 600, `request dropped ${openedAt_ms - silentFrom_ms} ms after the VCU went silent`);
  assert.equal(sim.contactors.mainsClosed(), false);
  assert.equal(c.contactorState(), ContactorState.OPEN);
});

test("without a valid pack configuration the controller reports it and never closes", () => {
  const sim = new Simulation(packScenario({ duration_s: 1 }));
  // A bit flipped in the provisioned record (its maximum charge current): the CRC no longer matches.
  const flash = sim.controller.flash.data;
  flash[44] = flash[44]! ^ 0x01;
  sim.controller.reboot();
  for (let i = 0; i < 30; i++) sim.step();
  const c = sim.controller.exports;
  assert.equal(c.configValid(), 0);
  assert.equal(c.configError(), -5, "CRC_MISMATCH");
  assert.deepEqual(controllerFaults(sim, "PACK_CONFIG_INVALID").map((r) => r.detail), [-5]);
  assert.equal(c.bmsState(), BmsState.FAULT);
  assert.equal(sim.contactors.mainsClosed(), false);
  assert.equal(sim.contactors.negative.operations + sim.contactors.positive.operations, 0, "no contactor ever moved");
  assert.equal(c.maxDischargeCurrent_A(0), 0);
  assert.equal(c.moduleCount(), 4, "it still supervises the modules");
  assert.equal(sim.controller.heapGrowthSinceInit(), 0);
});
