// The module passport over the bus: any reader (here a service tool with its own address, not the
// pack's controller) reads a node's passport image; a repurposing reset clears the pack membership
// and keeps the history; a reset for another serial is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { Simulation } from "../../../host/sim.ts";
import { BusPort } from "../../../host/peripherals/bus.ts";
import { e2eProtect } from "../../../host/vehicle/e2e.ts";
import { passportImageOf, passportFromImage } from "../../../host/passport/from-node.ts";
import { decodeCellBlob } from "../../../host/provisioning/cell-blob.ts";
import { IDENTITY_BLOCK_BYTES } from "../../../host/provisioning/node.ts";

const TOOL = 0x1f0;
const id = (priority: number, type: number, destination: number, source: number): number =>
  ((priority << 26) | (type << 18) | (destination << 9) | source) >>> 0;

function pack(): Simulation {
  return new Simulation(validateScenario({
    name: "passport", seed: 17, duration_s: 400,
    pack: { modules: 3, model: "ecm", cell: "lg-inr21700-m50", parallel: 1, initialSoc: 0.6 },
    load: [{ type: "drive-cycle", cycle: "us06" }],
  }, "passport"));
}

test("a service tool reads a node's passport over the bus, 5 bytes a frame", () => {
  const sim = pack();
  sim.run();
  const tool = new BusPort(sim.bus, "service-tool", 16);
  const received = new Map<number, number[]>();
  tool.onReceive((frameId, data) => {
    if (((frameId >>> 18) & 0xff) === 0x13 && ((frameId >>> 9) & 0x1ff) === TOOL && data[0] === 0x42) {
      received.set(data[1]! | (data[2]! << 8), [...data.subarray(3)]);
    }
  });
  const node = sim.nodes[1]!;
  const address = node.exports.nodeAddress();
  const expected = passportImageOf(node as never);
  // Request the whole image in chunks of at most 255 frames.
  const frames = Math.ceil(expected.length / 5);
  tool.send(id(5, 0x06, address, TOOL), Uint8Array.from([0x42, 0, 0, frames]));
  for (let i = 0; i < 20; i++) sim.step();
  const image = new Uint8Array(frames * 5);
  for (const [offset, bytes] of received) image.set(bytes, offset);
  assert.equal(received.size, frames);
  // The identity block is static; the lifecycle part was frozen when the read began.
  assert.deepEqual(image.subarray(0, IDENTITY_BLOCK_BYTES), expected.subarray(0, IDENTITY_BLOCK_BYTES));
  const passport = passportFromImage({
    image: image.subarray(0, expected.length), blob: decodeCellBlob(node.flash.data.subarray(0, node.flash.sectorSize - IDENTITY_BLOCK_BYTES)),
    serial: node.serial(), exportedAt_s: 1767225600 + 400,
  });
  assert.equal(passport.public.identity.serial, node.serial());
  const direct = passportFromImage({
    image: passportImageOf(node as never), blob: decodeCellBlob(node.flash.data.subarray(0, node.flash.sectorSize - IDENTITY_BLOCK_BYTES)),
    serial: node.serial(), exportedAt_s: 1767225600 + 402,
  });
  // The capacity is the SOC filter's learning state and moves at every update: 2 s apart, a little.
  const { capacity_Ah: busCapacity, capacitySoh: busSoh, ...busRest } = passport.public.stateOfHealth;
  const { capacity_Ah: directCapacity, capacitySoh: directSoh, ...directRest } = direct.public.stateOfHealth;
  assert.deepEqual(busRest, directRest);
  assert.ok(busCapacity !== null && directCapacity !== null && busSoh !== null && directSoh !== null, "capacity estimated");
  assert.ok(Math.abs(busCapacity.value - directCapacity.value) < 0.002 * directCapacity.value, `capacity ${busCapacity.value} then ${directCapacity.value} Ah`);
  assert.ok(Math.abs(busSoh - directSoh) < 0.002, `capacity SOH ${busSoh} then ${directSoh}`);
  assert.ok(Math.abs(passport.public.usage.throughput.discharge_Ah - direct.public.usage.throughput.discharge_Ah) < 0.02, "2 s of US06 at most between the two reads");
});

test("a repurposing reset clears pack membership, keeps history, and needs the node's own serial", () => {
  const sim = pack();
  sim.run();
  const tool = new BusPort(sim.bus, "service-tool", 16);
  const node = sim.nodes[0]!;
  const address = node.exports.nodeAddress();
  const before = passportFromImage({
    image: passportImageOf(node as never), blob: decodeCellBlob(node.flash.data.subarray(0, node.flash.sectorSize - IDENTITY_BLOCK_BYTES)),
    serial: node.serial(), exportedAt_s: 1767225600 + 400,
  });
  const reset = (serialLow: number, counter: number): void => {
    const data = new Uint8Array(8);
    new DataView(data.buffer).setUint32(2, serialLow >>> 0, true);
    data[6] = 0xa5;
    data[7] = 0x5a;
    const frameId = id(3, 0x05, address, TOOL);
    e2eProtect(frameId, data, counter);
    tool.send(frameId, data);
  };
  reset((node.unit["UNIT_SERIAL_LOW"]! ^ 1) >>> 0, 0); // the wrong module
  sim.step();
  assert.equal(node.faults.records.filter((r) => r.code === 8 && r.detail === 0x05).length, 1, "refused and reported");
  reset(node.unit["UNIT_SERIAL_LOW"]!, 1);
  for (let i = 0; i < 3; i++) sim.step();
  const after = passportFromImage({
    image: passportImageOf(node as never), blob: decodeCellBlob(node.flash.data.subarray(0, node.flash.sectorSize - IDENTITY_BLOCK_BYTES)),
    serial: node.serial(), exportedAt_s: 1767225600 + 410,
  });
  assert.equal(after.public.status, "repurposed");
  assert.deepEqual(after.packPrivate?.memberships, []);
  assert.equal(after.public.usage.temperatureResidency.seconds.reduce((a, b) => a + b, 0) >= before.public.usage.temperatureResidency.seconds.reduce((a, b) => a + b, 0), true);
  assert.ok(after.public.usage.throughput.discharge_Ah >= before.public.usage.throughput.discharge_Ah);
  // The reset was written to flash: a reboot still shows it.
  node.reboot();
  sim.step();
  const rebooted = passportFromImage({
    image: passportImageOf(node as never), blob: decodeCellBlob(node.flash.data.subarray(0, node.flash.sectorSize - IDENTITY_BLOCK_BYTES)),
    serial: node.serial(), exportedAt_s: 1767225600 + 420,
  });
  assert.equal(rebooted.public.status, "repurposed");
});
