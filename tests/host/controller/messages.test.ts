// The module bus as the controller handles it: NODE_ANNOUNCE, MODULE_STATE and MODULE_HEALTH into
// the module table, CONTROLLER_STATUS every tick, end-to-end rejections of the new messages, and a
// node that speaks another protocol version or runs another cell parameter set.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../../host/sim.ts";
import { e2eProtect, e2eValid } from "../../../host/vehicle/e2e.ts";
import { cellIdHash } from "../../../host/provisioning/controller.ts";
import { loadCell } from "../../../host/plant/chemistry.ts";
import { FaultType } from "../../../bench/protection.ts";
import { packScenario, controllerFaults, captureFrames, typeOf, sourceOf } from "./rig.ts";

const MODULE_STATE = 0x11;
const MODULE_HEALTH = 0x12;
const NODE_ANNOUNCE = 0x03;
const CONTROLLER_STATUS = 0x20;
const ADDRESS_REQUEST = 0x01;

test("announce, state and health of every node reach the module table", () => {
  const sim = new Simulation(packScenario({ duration_s: 12 }));
  sim.run();
  const c = sim.controller.exports;
  const hash = cellIdHash(loadCell("lg-inr21700-m50"), 2);
  assert.equal(c.configCellIdHash(), hash);
  for (const node of sim.nodes) {
    const i = sim.controllerIndexOf(node);
    const n = node.exports;
    assert.equal(c.moduleAnnounced(i), 1);
    assert.equal(c.moduleProtocolVersion(i), c.protocolVersion());
    assert.equal(c.moduleCellHash(i), hash, "the node runs the parameter set the pack is configured for");
    assert.equal(c.moduleCellMismatch(i), 0);
    // At rest nothing changes between a node's last MODULE_STATE and now: equal within the bus's resolution.
    assert.ok(Math.abs(c.moduleSoc(i) - n.socEstimate()) <= 0.5e-4, `SOC ${c.moduleSoc(i)} vs ${n.socEstimate()}`);
    assert.ok(Math.abs(c.moduleSocSigma(i) - n.socSigma()) <= 0.25e-3);
    assert.ok(Math.abs(c.moduleCapacity_Ah(i) - n.capacityEstimate_Ah()) <= 0.005);
    assert.ok(Math.abs(c.moduleCapacitySigma_Ah(i) - n.capacitySigma_Ah()) <= 0.0005 * n.capacityEstimate_Ah() + 1e-6);
    assert.ok(Math.abs(c.moduleR0_Ohm(i) - n.resistanceEstimate_Ohm(0.5, 25)) <= 0.5e-6, `R0 ${c.moduleR0_Ohm(i)} vs ${n.resistanceEstimate_Ohm(0.5, 25)}`);
    assert.ok(Math.abs(c.moduleEquivalentFullCycles(i) - n.equivalentFullCycles()) <= 0.05);
    assert.ok(c.moduleSoh(i) > 0.9 && c.moduleSoh(i) <= 1.275);
    assert.ok(Math.abs(c.moduleResistanceScale(i) - c.moduleR0_Ohm(i) / sim.packConfiguration.module.r0_Ohm) < 1e-3);
  }
  assert.ok(Math.abs(c.packSoc() - 0.6) < 0.02, `pack SOC ${c.packSoc()}`);
  assert.deepEqual(sim.controller.faults.records, []);
});

test("CONTROLLER_STATUS goes out every tick, E2E-protected, with the pack state and the vehicle's time", () => {
  const sim = new Simulation(packScenario({ duration_s: 3 }));
  const frames = captureFrames(sim.bus);
  const perStep: number[] = [];
  const epoch_s = sim.vehicle.epoch_s;
  sim.vehicle.epoch_s = 0;
  sim.run((s) => {
    perStep.push(frames.filter((f) => typeOf(f.id) === CONTROLLER_STATUS).length);
    if (s.steps === 10) s.vehicle.epoch_s = epoch_s;
  });
  const statuses = frames.filter((f) => typeOf(f.id) === CONTROLLER_STATUS);
  assert.equal(statuses.length, sim.steps);
  perStep.forEach((count, k) => assert.equal(count, k + 1));
  for (const f of statuses) assert.ok(e2eValid(f.id >>> 0, f.data), "E2E CRC over the 29-bit identifier");
  const counters = statuses.map((f) => f.data[1]! & 0x0f);
  counters.forEach((v, k) => assert.equal(v, k % 15));
  const last = statuses[statuses.length - 1]!;
  assert.equal(last.data[1]! >> 4, sim.controller.exports.bmsState());
  const time = new DataView(last.data.buffer, last.data.byteOffset).getUint32(4, true);
  const timeOf = (k: number): number => new DataView(statuses[k]!.data.buffer, statuses[k]!.data.byteOffset).getUint32(4, true);
  for (let k = 0; k < 10; k++) assert.equal(timeOf(k), 0, "0 while the vehicle does not know the time");
  assert.ok(Math.abs(time - (epoch_s + 3)) <= 1, `time ${time}`);
  assert.ok(statuses.some((f) => (f.data[2]! & 0x02) === 0), "ANNOUNCE request withdrawn once every node announced");
});

test("MODULE_STATE and MODULE_HEALTH with a bad CRC, a wrong length or a stale counter are rejected and counted", () => {
  const sim = new Simulation(packScenario({ duration_s: 30 }));
  const c = sim.controller.exports;
  let corrupted = 0;
  let truncated = 0;
  let replayed = 0;
  let last: { id: number; data: Uint8Array } | null = null;
  sim.bus.tamper = (frame) => {
    const type = typeOf(frame.id);
    if (type !== MODULE_STATE && type !== MODULE_HEALTH) return frame;
    if (sourceOf(frame.id) === 2 && type === MODULE_STATE && sim.steps % 30 < 10) {
      corrupted++;
      const data = frame.data.slice();
      data[2] = data[2]! ^ 0x01;
      return { ...frame, data };
    }
    if (sourceOf(frame.id) === 3 && type === MODULE_HEALTH) {
      truncated++;
      return { ...frame, data: frame.data.slice(0, 7) };
    }
    if (sourceOf(frame.id) === 4 && type === MODULE_STATE) last = { id: frame.id, data: frame.data.slice() };
    return frame;
  };
  const before = { crc: c.framesRejectedCrc(), length: c.framesRejectedLength(), counter: c.framesRejectedCounter() };
  for (let i = 0; i < 250; i++) {
    sim.step();
    if (last !== null && sim.steps % 20 === 0) {
      const frame: { id: number; data: Uint8Array } = last;
      sim.controller.port.receive({ id: frame.id, data: frame.data, queued_us: 0, sender: sim.nodes[3]!.port }, sim.clock.now_us);
      replayed++;
    }
  }
  assert.ok(corrupted >= 5 && truncated >= 2 && replayed >= 5, `${corrupted} corrupted, ${truncated} truncated, ${replayed} replayed`);
  assert.equal(c.framesRejectedCrc() - before.crc, corrupted);
  assert.equal(c.framesRejectedLength() - before.length, truncated);
  assert.equal(c.framesRejectedCounter() - before.counter, replayed);
  const rejected = controllerFaults(sim, "BUS_FRAME_REJECTED");
  assert.equal(rejected.filter((r) => r.detail === MODULE_STATE).length, corrupted + replayed);
  assert.equal(rejected.filter((r) => r.detail === MODULE_HEALTH).length, truncated);
  // Nothing corrupted reached the table: module 2's SOC is still its node's.
  const node = sim.nodes.find((n) => n.exports.nodeAddress() === 2)!;
  assert.ok(Math.abs(c.moduleSoc(1) - node.exports.socEstimate()) <= 1e-3);
  assert.ok(Number.isNaN(c.moduleR0_Ohm(2)), "module 3 never delivered a MODULE_HEALTH of the right length");
});

test("a node speaking another protocol version is reported once and its frames are ignored", () => {
  const sim = new Simulation(packScenario({ duration_s: 4 }));
  sim.bus.tamper = (frame) => {
    if (typeOf(frame.id) !== NODE_ANNOUNCE || sourceOf(frame.id) !== 2) return frame;
    const data = frame.data.slice();
    data[0] = 2;
    return { ...frame, data };
  };
  sim.run();
  const c = sim.controller.exports;
  assert.deepEqual(controllerFaults(sim, "PROTOCOL_MISMATCH").map((r) => r.detail), [2 * 256 + 2]);
  assert.equal(c.moduleIncompatible(1), 1);
  assert.equal(c.moduleProtocolVersion(1), 2);
  assert.ok(c.framesRejectedProtocol() > 20, `${c.framesRejectedProtocol()} frames ignored`);
  assert.equal(c.freshModuleCount(), 3);
  assert.equal(c.unsupervisedModuleCount(), 1, "counted as not supervised: MODULE_COMMUNICATION_LOST acts on it");
  assert.ok(c.faultLevel(FaultType.MODULE_COMMUNICATION_LOST) >= 1);
});

test("an address request in another protocol version still gets its address, so the chain goes on", () => {
  const sim = new Simulation(packScenario({ duration_s: 2 }));
  // Node 0 speaks version 9: in its address request and in its announcement.
  sim.bus.tamper = (frame) => {
    if (frame.sender !== sim.nodes[0]!.port || (typeOf(frame.id) !== ADDRESS_REQUEST && typeOf(frame.id) !== NODE_ANNOUNCE)) return frame;
    const data = frame.data.slice();
    data[typeOf(frame.id) === ADDRESS_REQUEST ? 6 : 0] = 9;
    return { ...frame, data };
  };
  sim.run();
  const c = sim.controller.exports;
  assert.equal(c.moduleCount(), 4);
  assert.deepEqual(controllerFaults(sim, "PROTOCOL_MISMATCH").map((r) => r.detail), [1 * 256 + 9]);
  assert.equal(c.freshModuleCount(), 3);
});

test("a node announcing another cell parameter set is reported", () => {
  const sim = new Simulation(packScenario({ duration_s: 2 }));
  sim.bus.tamper = (frame) => {
    if (typeOf(frame.id) !== NODE_ANNOUNCE || sourceOf(frame.id) !== 3) return frame;
    const data = frame.data.slice();
    data[2] = data[2]! ^ 0xff;
    return { ...frame, data };
  };
  sim.run();
  assert.deepEqual(controllerFaults(sim, "CELL_MISMATCH").map((r) => r.detail), [3]);
  assert.equal(sim.controller.exports.moduleCellMismatch(2), 1);
  assert.equal(sim.controller.exports.moduleCellMismatch(1), 0);
});

test("a VCU_Command with a bad CRC or a repeated counter is rejected; good ones keep the pack connected", () => {
  const sim = new Simulation(packScenario({ duration_s: 5 }));
  let n = 0;
  sim.vehicleBus.tamper = (frame) => {
    if (frame.id !== 0x110) return frame;
    n++;
    if (n % 4 !== 0) return frame;
    const data = frame.data.slice();
    data[3] = data[3]! ^ 0x10;
    return { ...frame, data };
  };
  sim.run();
  const c = sim.controller.exports;
  assert.equal(c.vehicleRejectedCrc(), Math.floor(n / 4));
  assert.ok(sim.contactors.mainsClosed(), "three good commands out of four are enough");
  // A replayed command (same counter) is refused.
  const data = new Uint8Array(8);
  data[1] = 0x10;
  e2eProtect(0x110, data, 3);
  const before = c.vehicleRejectedCounter();
  sim.controller.vehiclePort!.receive({ id: 0x110, data, queued_us: 0, sender: sim.vehicle.port }, sim.clock.now_us);
  sim.controller.vehiclePort!.receive({ id: 0x110, data, queued_us: 0, sender: sim.vehicle.port }, sim.clock.now_us);
  assert.ok(c.vehicleRejectedCounter() >= before + 1);
  assert.ok(controllerFaults(sim, "BUS_FRAME_REJECTED").every((r) => r.detail === 0x110));
});
