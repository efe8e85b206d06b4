// PACK_INFO every second (which pack, how many modules) and the PERSIST request of
// CONTROLLER_STATUS when the vehicle parks or shuts down, with the real firmware on both ends.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../../host/sim.ts";
import { e2eValid } from "../../../host/vehicle/e2e.ts";
import { packScenario, captureFrames, typeOf, sourceOf } from "./rig.ts";

const PACK_INFO = 0x21;
const CONTROLLER_STATUS = 0x20;
const PERSIST = 0x01;
const BROADCAST = 0x1ff;

const destinationOf = (id: number): number => (id >>> 9) & 0x1ff;

test("PACK_INFO goes out every second with the controller's serial and the module count; the nodes join the pack", () => {
  const sim = new Simulation(packScenario({ duration_s: 5.05 }));
  const frames = captureFrames(sim.bus);
  const sent: number[] = [];
  sim.bus.tamper = ((previous) => (frame, end_us) => {
    if (typeOf(frame.id) === PACK_INFO) sent.push(end_us / 1000);
    return previous === null ? frame : previous(frame, end_us);
  })(sim.bus.tamper);
  sim.run();
  const infos = frames.filter((f) => typeOf(f.id) === PACK_INFO);
  assert.equal(infos.length, 6, "at 0, 1, ..., 5 s");
  const gaps = sent.slice(1).map((t, k) => t - sent[k]!);
  for (const gap of gaps) assert.ok(Math.abs(gap - 1000) < 1, `period ${gap} ms`);
  const packId = sim.controller.unit["UNIT_SERIAL_LOW"]! >>> 0;
  for (const f of infos) {
    assert.equal(sourceOf(f.id), 0);
    assert.equal(destinationOf(f.id), BROADCAST);
    const view = new DataView(f.data.buffer, f.data.byteOffset, 8);
    assert.equal(view.getUint32(0, true), packId);
    assert.equal(view.getUint16(4, true), 4);
    assert.equal(f.data[6], 1, "protocol version");
  }
  assert.equal(sim.controller.exports.packId() >>> 0, packId);
  for (const node of sim.nodes) assert.equal((node.exports as unknown as { currentPack(): number }).currentPack() >>> 0, packId, "membership recorded");
});

/** The PERSIST bit of every CONTROLLER_STATUS, one per tick. */
function persistBits(frames: { id: number; data: Uint8Array }[]): number[] {
  return frames.filter((f) => typeOf(f.id) === CONTROLLER_STATUS).map((f) => {
    assert.ok(e2eValid(f.id >>> 0, f.data));
    return f.data[2]! & PERSIST;
  });
}

test("parking: PERSIST in three CONTROLLER_STATUS frames after ChargeMode turns PARKED, and the nodes store their state", () => {
  const sim = new Simulation(packScenario({
    duration_s: 6,
    vehicle: [{ at_s: 0, contactors: "close" }, { at_s: 3, chargeMode: "parked" }],
  }));
  const frames = captureFrames(sim.bus);
  sim.run((s) => {
    if (Math.abs(s.time_s - 2.9) < 1e-6) for (const node of s.nodes) (node as unknown as { writesBefore: number }).writesBefore = node.exports.storeWrites();
  });
  const bits = persistBits(frames);
  const set = bits.flatMap((b, k) => (b !== 0 ? [k] : []));
  assert.equal(set.length, 3, `PERSIST in frames ${set.join(", ")}`);
  assert.equal(set[2]! - set[0]!, 2, "three consecutive frames");
  assert.ok(set[0]! >= 29 && set[0]! <= 31, `first PERSIST in tick ${set[0]}`);
  for (const node of sim.nodes) assert.ok(node.exports.storeWrites() > (node as unknown as { writesBefore: number }).writesBefore, `${node.name} wrote its state`);
});

test("shutdown: the contactors requested open for 2 s after being closed asks the nodes to persist; a short reopen does not", () => {
  const sim = new Simulation(packScenario({
    duration_s: 12,
    vehicle: [
      { at_s: 0, contactors: "close" },
      { at_s: 2, contactors: "open" }, { at_s: 3, contactors: "close" },
      { at_s: 6, contactors: "open" },
    ],
  }));
  const frames = captureFrames(sim.bus);
  sim.run();
  const bits = persistBits(frames);
  const set = bits.flatMap((b, k) => (b !== 0 ? [k] : []));
  assert.equal(set.length, 3, `PERSIST in frames ${set.join(", ")}`);
  // The open request reaches the controller in its tick at 6.05 s (status frame 59): 2 s later.
  assert.ok(set[0]! >= 79 && set[0]! <= 80, `first PERSIST in tick ${set[0]}`);
});
