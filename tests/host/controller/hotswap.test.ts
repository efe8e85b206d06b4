// Hot-swap and re-enumeration with the real firmware (assembly/controller/enumeration.ts): a module
// swapped, added at the end, removed for good, and a unit carrying another's serial. Each time the
// controller sends ADDRESS_RESET, the chain enumerates again in physical order, and the faults say
// what changed. Also: an address a node refuses is no enumerated module (no ghost row).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../../host/sim.ts";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { e2eValid } from "../../../host/vehicle/e2e.ts";
import { packScenario, controllerFaults, captureFrames, typeOf, sourceOf } from "./rig.ts";

const ADDRESS_REQUEST = 0x01;
const ADDRESS_RESET = 0x04;
const UNASSIGNED = 0x1fe;
const Reason = { MODULE_ADDED: 1, MODULE_REMOVED: 2, DUPLICATE_SERIAL: 3 } as const;
const EnumerationState = { ENUMERATING: 0, COMPLETE: 1, RESETTING: 2 } as const;

function fivePack(seconds = 30): Simulation {
  return new Simulation(packScenario({ pack: { modules: 5, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.6 }, duration_s: seconds }));
}

function steps(sim: Simulation, n: number, each?: () => void): void {
  for (let i = 0; i < n; i++) {
    sim.step();
    each?.();
  }
}

/** Every present node sits at the address of its physical position (skipping removed places) and the controller has its serial there. */
function assertPhysicalOrder(sim: Simulation, present: number[]): void {
  const c = sim.controller.exports;
  assert.equal(c.moduleCount(), present.length);
  present.forEach((position, k) => {
    const node = sim.nodes[position]!;
    assert.equal(node.exports.nodeAddress(), k + 1, `node at position ${position}`);
    assert.equal(c.moduleSerialLow(k) >>> 0, node.unit["UNIT_SERIAL_LOW"], `serial at address ${k + 1}`);
  });
}

function resetFrames(frames: { id: number; data: Uint8Array }[]): { reason: number; valid: boolean }[] {
  return frames.filter((f) => typeOf(f.id) === ADDRESS_RESET).map((f) => ({ reason: f.data[2]!, valid: e2eValid(f.id >>> 0, f.data) }));
}

test("a module swapped in is found at its place: ADDRESS_RESET (module added), the chain enumerates again, the contactors stay closed", () => {
  const sim = fivePack();
  const c = sim.controller.exports;
  const frames = captureFrames(sim.bus);
  steps(sim, 30);
  assert.ok(sim.contactors.mainsClosed());
  assert.equal(c.enumerationState(), EnumerationState.COMPLETE);
  const oldSerial = sim.nodes[2]!.unit["UNIT_SERIAL_LOW"]!;
  sim.removeNode(2);
  sim.insertNode(2, 0x5a5a0001, 0x77);
  let lostSeen = 0;
  let selectLowSeen = false;
  steps(sim, 20, () => {
    lostSeen = Math.max(lostSeen, c.modulesLost());
    if (sim.chainNets[0]!.level === 0) selectLowSeen = true;
  });
  assert.deepEqual(resetFrames(frames), [{ reason: Reason.MODULE_ADDED, valid: true }]);
  assert.ok(selectLowSeen, "the controller's select output went low for a tick");
  assertPhysicalOrder(sim, [0, 1, 2, 3, 4]);
  assert.notEqual(c.moduleSerialLow(2) >>> 0, oldSerial);
  assert.deepEqual(controllerFaults(sim, "MODULE_ADDED").map((r) => r.detail), [3]);
  assert.deepEqual(controllerFaults(sim, "MODULE_MOVED"), []);
  assert.equal(c.modulesAdded(), 1);
  // The old unit counted as lost until the new one reported; the swap took well under the 1 s
  // MODULE_COMMUNICATION_LOST needs to open the contactors.
  assert.ok(lostSeen >= 1, "the silent module was lost while it was gone");
  assert.equal(c.modulesLost(), 0);
  assert.ok(sim.contactors.mainsClosed());
  assert.equal(c.enumerationState(), EnumerationState.COMPLETE);
  assert.equal(sim.controller.heapGrowthSinceInit(), 0);
});

test("a module added at the end of a short pack: missing until then, re-enumerated when it asks", () => {
  const sim = fivePack();
  const c = sim.controller.exports;
  sim.removeNode(4);
  steps(sim, 30);
  assert.equal(c.moduleCount(), 4);
  assert.equal(c.enumerationState(), EnumerationState.COMPLETE);
  assert.deepEqual(controllerFaults(sim, "MODULE_MISSING").map((r) => r.detail), [4], "enumeration ended with 4 of 5");
  assert.equal(sim.contactors.mainsClosed(), false, "never closes short of a module");
  const frames = captureFrames(sim.bus);
  sim.insertNode(4, 0x5a5a0002, 0x77);
  steps(sim, 10);
  assert.deepEqual(resetFrames(frames), [{ reason: Reason.MODULE_ADDED, valid: true }]);
  assertPhysicalOrder(sim, [0, 1, 2, 3, 4]);
  assert.deepEqual(controllerFaults(sim, "MODULE_ADDED").map((r) => r.detail), [5]);
  assert.deepEqual(controllerFaults(sim, "MODULE_MOVED"), []);
  assert.equal(c.freshModuleCount(), 5);
  // While the node was missing the pack voltage was not explained by its modules (the plant module
  // was in the string): the plausibility check opened. The vehicle's fault reset releases it now.
  sim.vehicle.faultReset = true;
  steps(sim, 3);
  sim.vehicle.faultReset = false;
  steps(sim, 10);
  assert.ok(sim.contactors.mainsClosed(), "closes once the pack is complete and the fault reset");
});

test("a module removed for good: after 5 s gone the chain enumerates again, the modules behind it move up, the pack stays open", () => {
  const sim = fivePack();
  const c = sim.controller.exports;
  const frames = captureFrames(sim.bus);
  steps(sim, 30);
  assert.ok(sim.contactors.mainsClosed());
  const removedAt_s = sim.time_s;
  sim.removeNode(1, { bypass: true });
  let resetAt_s = Number.NaN;
  steps(sim, 100, () => {
    if (Number.isNaN(resetAt_s) && c.addressResets() > 0) resetAt_s = sim.time_s;
  });
  assert.deepEqual(resetFrames(frames), [{ reason: Reason.MODULE_REMOVED, valid: true }]);
  assert.ok(resetAt_s - removedAt_s >= 5 && resetAt_s - removedAt_s <= 5.8, `re-enumerated ${resetAt_s - removedAt_s} s after the removal`);
  assertPhysicalOrder(sim, [0, 2, 3, 4]);
  assert.deepEqual(controllerFaults(sim, "MODULE_MOVED").map((r) => r.detail), [2, 3, 4]);
  assert.deepEqual(controllerFaults(sim, "MODULE_MISSING").map((r) => r.detail), [4]);
  assert.deepEqual(controllerFaults(sim, "MODULE_TIMEOUT").map((r) => r.detail), [2]);
  assert.equal(c.modulesMoved(), 3);
  // Protection is not weakened by the new table: the module is still lost, the contactors open.
  assert.equal(c.modulesLost(), 1);
  assert.equal(sim.contactors.mainsClosed(), false);
  assert.equal(c.bmsState(), 5, "FAULT");
});

test("a unit with another module's serial gets its own address in chain order and is reported", () => {
  const sim = fivePack();
  const c = sim.controller.exports;
  const frames = captureFrames(sim.bus);
  steps(sim, 30);
  const twin = sim.nodes[1]!;
  sim.removeNode(3);
  sim.insertNode(3, twin.unit["UNIT_SERIAL_LOW"]!, twin.unit["UNIT_SERIAL_HIGH"]!);
  steps(sim, 40);
  assert.deepEqual(resetFrames(frames), [{ reason: Reason.DUPLICATE_SERIAL, valid: true }]);
  assertPhysicalOrder(sim, [0, 1, 2, 3, 4]);
  assert.deepEqual(controllerFaults(sim, "DUPLICATE_SERIAL").map((r) => r.detail), [2], "detail: the address that had the serial first");
  assert.equal(c.moduleDuplicate(3), 1);
  assert.equal(c.moduleDuplicate(1), 0);
  assert.deepEqual(controllerFaults(sim, "MODULE_MOVED"), []);
  // No two nodes ever shared an address: no frame of either was rejected.
  assert.equal(c.framesRejectedCounter(), 0);
  assert.equal(c.freshModuleCount(), 5);
  assert.equal(c.modulesLost(), 0);
});

test("a node that restarts gets its address back without a re-enumeration", () => {
  const sim = fivePack();
  const c = sim.controller.exports;
  steps(sim, 30);
  sim.nodes[2]!.reboot();
  steps(sim, 20);
  assert.equal(c.addressResets(), 0);
  assertPhysicalOrder(sim, [0, 1, 2, 3, 4]);
  assert.deepEqual(controllerFaults(sim, "DUPLICATE_SERIAL"), []);
  assert.ok(sim.contactors.mainsClosed());
});

test("an address the node refuses is not an enumerated module: the controller counts only nodes heard at their address", () => {
  // The last test of tests/host/enumeration.test.ts: node 1's select input held low, so it
  // refuses the address it asked for (its pin-change interrupt saw the edge).
  const sim = new Simulation(validateScenario({
    name: "ghost", seed: 5, duration_s: 5, pack: { modules: 3, model: "linear", capacity_Ah: 50 }, load: [{ type: "rest", duration_s: 5 }],
  }, "ghost"));
  const frames = captureFrames(sim.bus);
  const select = sim.nodes[1]!.gpio.pin("CHAIN_SELECT_IN");
  sim.nodes[1]!.gpio.forcedInputs.set(select, 0);
  steps(sim, 10);
  const c = sim.controller.exports;
  assert.ok(frames.some((f) => typeOf(f.id) === ADDRESS_REQUEST && sourceOf(f.id) === UNASSIGNED && f.data[0] === (sim.nodes[1]!.unit["UNIT_SERIAL_LOW"]! & 0xff)), "node 1 asked");
  assert.equal(sim.nodes[1]!.exports.nodeAddress(), UNASSIGNED);
  assert.equal(c.moduleCount(), 1, "no ghost row for the refused address");
  assert.equal(c.freshModuleCount(), 1);
  steps(sim, 20);
  assert.deepEqual(controllerFaults(sim, "MODULE_MISSING").map((r) => r.detail), [1]);
  // Released, the node asks again (its retry) and takes the same address; the chain completes.
  sim.nodes[1]!.gpio.forcedInputs.delete(select);
  steps(sim, 15);
  sim.nodes.forEach((node, i) => assert.equal(node.exports.nodeAddress(), i + 1));
  assert.equal(c.moduleCount(), 3);
});
