// The CAN bus model: frame timing (Davis et al. 2007), exact stuffing, arbitration, ISO 11898-1
// fault confinement, and the fault knobs (wire errors, payload corruption, drops, delays, babbling).
import { test } from "node:test";
import assert from "node:assert/strict";
import { SimClock } from "../../../host/peripherals/clock.ts";
import {
  CanBus, BusPort, worstCaseFrameBits, exactFrameBits, unstuffedFrameBits, stuffBitCount, crc15,
  BUS_OFF_RECOVERY_BITS, ERROR_FLAG_BITS, ERROR_FLAG_ECHO_MAX_BITS, ERROR_DELIMITER_BITS, INTERMISSION_BITS, FRAME_TRAILER_BITS,
} from "../../../host/peripherals/bus.ts";
import { Random } from "../../../host/random.ts";

const BITRATE = 500_000;
const BIT_us = 1e6 / BITRATE;

interface Received {
  port: string;
  id: number;
  data: number[];
  time_us: number;
}

function network(names: string[], random: Random | null = null): { clock: SimClock; bus: CanBus; ports: Map<string, BusPort>; log: Received[] } {
  const clock = new SimClock();
  const bus = new CanBus(BITRATE, clock, random);
  const ports = new Map<string, BusPort>();
  const log: Received[] = [];
  for (const name of names) {
    const port = new BusPort(bus, name, 16);
    port.onReceive((id, data, time_us) => log.push({ port: name, id, data: [...data], time_us }));
    ports.set(name, port);
  }
  return { clock, bus, ports, log };
}

const statusOf = (port: BusPort): { rec: number; tec: number; state: number; queued: number } => {
  const s = port.status();
  return { rec: s & 0xff, tec: (s >>> 8) & 0xff, state: (s >>> 16) & 0x3, queued: (s >>> 24) & 0xff };
};

test("worst-case frame lengths are Davis et al.'s: 135 bits (11-bit id) and 160 bits (29-bit id) with 8 bytes", () => {
  assert.equal(worstCaseFrameBits(8, false), 135);
  assert.equal(worstCaseFrameBits(8, true), 160);
  assert.equal(worstCaseFrameBits(0, true), 54 + 13 + Math.floor(53 / 4));
});

test("a frame of 0..8 bytes occupies the wire for its worst-case length and is delivered at its end", () => {
  for (let n = 0; n <= 8; n++) {
    const { bus, ports, log } = network(["a", "b"]);
    ports.get("a")!.send(0x1234567, new Uint8Array(n).fill(0x55));
    bus.run(10_000);
    const expected_us = worstCaseFrameBits(n) * BIT_us;
    assert.equal(bus.busy_us, expected_us, `${n} bytes`);
    assert.equal(log.length, 1);
    assert.equal(log[0]!.time_us, expected_us);
    assert.equal(bus.frameDuration_us({ id: 0, data: new Uint8Array(n), queued_us: 0, sender: ports.get("a")! }), expected_us);
  }
});

test("CRC-15/CAN has the catalogue check value 0x059E over '123456789'", () => {
  const bits: number[] = [];
  for (const byte of new TextEncoder().encode("123456789")) for (let i = 7; i >= 0; i--) bits.push((byte >> i) & 1);
  assert.equal(crc15(bits), 0x059e);
});

test("the unstuffed frame has the ISO 11898-1 layout: 54 + 8n bits (29-bit id), 34 + 8n (11-bit id)", () => {
  for (let n = 0; n <= 8; n++) {
    assert.equal(unstuffedFrameBits(0x1abcdef, new Uint8Array(n)).length, 54 + 8 * n);
    assert.equal(unstuffedFrameBits(0x7ab, new Uint8Array(n), false).length, 34 + 8 * n);
  }
  // SOF dominant, SRR and IDE recessive, RTR dominant in an extended data frame
  const bits = unstuffedFrameBits(0, new Uint8Array(0));
  assert.deepEqual([bits[0], bits[12], bits[13], bits[32]], [0, 1, 1, 0]);
  assert.equal(stuffBitCount([0, 0, 0, 0, 0]), 1);
  assert.equal(stuffBitCount([0, 0, 0, 0, 0, 1, 1, 1, 1]), 2, "the stuff bit (1) starts the next run");
});

test("exact stuffing never exceeds the Davis worst case, over random and adversarial frames", () => {
  const random = new Random(2024);
  let maxStuff = 0;
  for (let k = 0; k < 3000; k++) {
    const extended = k % 2 === 0;
    const n = random.int(9);
    const data = new Uint8Array(n).map(() => random.int(256));
    const id = extended ? random.nextUint32() & 0x1fffffff : random.int(0x800);
    const exact = exactFrameBits(id, data, extended);
    const unstuffed = (extended ? 54 : 34) + 8 * n + FRAME_TRAILER_BITS;
    assert.ok(exact >= unstuffed && exact <= worstCaseFrameBits(n, extended), `id ${id} n ${n}: ${exact}`);
    maxStuff = Math.max(maxStuff, exact - unstuffed);
  }
  for (const pattern of [0x00, 0xff, 0x0f, 0xf0, 0x1f, 0x83]) {
    for (let n = 0; n <= 8; n++) {
      for (const id of [0, 0x1fffffff, 0x0f0f0f0, 0x1f07c1f]) {
        assert.ok(exactFrameBits(id, new Uint8Array(n).fill(pattern)) <= worstCaseFrameBits(n));
      }
    }
  }
  assert.ok(maxStuff > 5, "random frames do get stuffed");
});

test("in exact mode a frame takes its exact stuffed length", () => {
  const { bus, ports } = network(["a", "b"]);
  bus.stuffing = "exact";
  const data = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0]);
  ports.get("a")!.send(0, data);
  bus.run(10_000);
  assert.equal(bus.busy_us, exactFrameBits(0, data) * BIT_us);
  assert.ok(bus.busy_us < worstCaseFrameBits(8) * BIT_us);
});

test("arbitration: the lowest identifier pending when the bus goes idle wins; a frame on the wire is never pre-empted", () => {
  const { clock, bus, ports, log } = network(["a", "b", "c", "d", "rx"]);
  ports.get("a")!.send(0x300, new Uint8Array(1));
  ports.get("b")!.send(0x100, new Uint8Array(1));
  ports.get("c")!.send(0x200, new Uint8Array(1));
  bus.run(1);
  // 0x100 started at 0; 0x050 queued during it waits, then beats 0x200 and 0x300
  clock.now_us = 10;
  ports.get("d")!.send(0x050, new Uint8Array(1));
  bus.run(10_000);
  assert.deepEqual(log.filter((r) => r.port === "rx").map((r) => r.id), [0x100, 0x050, 0x200, 0x300]);
});

test("a node cut off the bus: ACK errors walk TEC to error-passive at 128 and stop there (ISO 11898-1 exception)", () => {
  const { bus, ports } = network(["node", "controller"]);
  const node = ports.get("node")!;
  node.connected = false;
  node.send(0x10, new Uint8Array(8));
  const attemptBits = worstCaseFrameBits(8) - FRAME_TRAILER_BITS + 2 + ERROR_FLAG_BITS + ERROR_DELIMITER_BITS + INTERMISSION_BITS;
  const tecs: number[] = [];
  for (let k = 1; k <= 16; k++) {
    bus.run(k * attemptBits * BIT_us);
    tecs.push(node.tec);
  }
  assert.deepEqual(tecs, Array.from({ length: 16 }, (_, i) => 8 * (i + 1)));
  assert.equal(node.errorState, "error-passive");
  assert.deepEqual(statusOf(node), { rec: 0, tec: 128, state: 1, queued: 1 });
  bus.run(1_000_000);
  assert.equal(node.tec, 128, "passive ACK errors do not count");
  assert.ok(node.ackErrors > 2000, `${node.ackErrors} attempts in a second`);
  assert.equal(bus.busy_us, 0, "the stub's retries never load the shared bus");
  assert.equal(ports.get("controller")!.framesReceived, 0);
});

test("bit errors on a cut-off node go on counting: bus-off above 255, bus_send refused with -3, recovery after 128 x 11 recessive bits", () => {
  const { clock, bus, ports, log } = network(["node", "controller"]);
  const node = ports.get("node")!;
  node.connected = false;
  node.send(0x10, new Uint8Array(8));
  bus.run(100_000);
  assert.equal(node.tec, 128);
  bus.wireErrors = { frames: Array.from({ length: 16 }, (_, i) => i), match: (f) => f.sender === node };
  let t = 100_000;
  while (node.errorState !== "bus-off" && t < 200_000) bus.run((t += 100));
  assert.equal(node.errorState, "bus-off");
  assert.equal(node.transmitErrors, 32, "16 ACK errors while error-active, then 16 bit errors");
  clock.now_us = t;
  assert.equal(node.busOffCount, 1);
  assert.deepEqual(statusOf(node), { rec: 0, tec: 255, state: 2, queued: 1 });
  const memory = new Uint8Array(16);
  const busSend = node.imports({ bytes: () => memory })["bus_send"] as unknown as (id: number, ptr: number, length: number) => number;
  assert.equal(busSend(0x11, 0, 1), -3);
  assert.equal(node.refusedBusOff, 1);
  // recovery: automatic, 128 x 11 bit times after going bus-off
  clock.now_us = t + BUS_OFF_RECOVERY_BITS * BIT_us - 500;
  assert.equal(statusOf(node).state, 2, "still recovering");
  clock.now_us += 1000; // the last attempt ended up to one frame after t
  assert.deepEqual(statusOf(node), { rec: 0, tec: 0, state: 0, queued: 1 });
  bus.wireErrors = null;
  node.connected = true;
  bus.run(clock.now_us + 10_000);
  assert.equal(log.filter((r) => r.port === "controller").length, 1, "the frame queued before bus-off goes out after recovery");
  assert.equal(node.errorState, "error-active");
});

test("a reconnected error-passive node becomes error-active again after one successful frame (TEC - 1)", () => {
  const { clock, bus, ports, log } = network(["node", "controller"]);
  const node = ports.get("node")!;
  node.connected = false;
  node.send(0x10, new Uint8Array(2));
  bus.run(50_000);
  assert.equal(node.tec, 128);
  node.connected = true;
  clock.now_us = 50_000;
  bus.run(100_000);
  assert.equal(node.tec, 127);
  assert.equal(node.errorState, "error-active");
  assert.equal(log.length, 1);
});

test("manual bus-off recovery waits for requestRecovery()", () => {
  const { clock, bus, ports } = network(["node", "controller"]);
  const node = ports.get("node")!;
  node.busOffRecovery = "manual";
  bus.wireErrors = { probability: 1 };
  bus.random = new Random(1);
  node.send(0x10, new Uint8Array(1));
  bus.run(100_000);
  assert.equal(node.errorState, "bus-off");
  assert.equal(node.transmitErrors, 32);
  assert.equal(ports.get("controller")!.rec, 32 > 127 ? 127 : 32);
  clock.now_us = 1_000_000;
  assert.equal(node.errorState, "bus-off");
  node.requestRecovery();
  clock.now_us += BUS_OFF_RECOVERY_BITS * BIT_us;
  assert.equal(statusOf(node).state, 0);
});

test("a frame corrupted on the wire is destroyed by an error frame and retransmitted automatically", () => {
  const { bus, ports, log } = network(["a", "b", "c"]);
  bus.wireErrors = { frames: [0] };
  ports.get("a")!.send(0x42, new Uint8Array([1, 2, 3, 4]));
  bus.run(10_000);
  const bits = worstCaseFrameBits(4);
  const destroyed_us = (bits - FRAME_TRAILER_BITS + 3 + ERROR_FLAG_BITS + ERROR_FLAG_ECHO_MAX_BITS + ERROR_DELIMITER_BITS + INTERMISSION_BITS) * BIT_us;
  assert.equal(bus.errorFrames, 1);
  assert.equal(bus.busy_us, destroyed_us + bits * BIT_us);
  assert.equal(bus.errorBusy_us, destroyed_us);
  assert.deepEqual(log.map((r) => [r.port, r.id, r.time_us]), [["b", 0x42, destroyed_us + bits * BIT_us], ["c", 0x42, destroyed_us + bits * BIT_us]]);
  // TEC +8 then -1 for the success; REC +1 then -1 at each receiver
  assert.equal(ports.get("a")!.tec, 7);
  assert.equal(ports.get("b")!.rec, 0);
  assert.equal(ports.get("b")!.receiveErrors, 1);
  assert.equal(ports.get("a")!.framesSent, 1);
});

test("a receiver that misses a frame loses only that frame: the others get it, no error is counted", () => {
  const { bus, ports, log } = network(["a", "b", "c"]);
  ports.get("b")!.faults.drop = { frames: [0] };
  ports.get("a")!.send(0x42, new Uint8Array([9]));
  ports.get("a")!.send(0x43, new Uint8Array([9]));
  bus.run(10_000);
  assert.deepEqual(log.map((r) => `${r.port}:${r.id.toString(16)}`), ["c:42", "b:43", "c:43"]);
  assert.equal(ports.get("b")!.framesMissed, 1);
  assert.equal(ports.get("b")!.rec, 0);
  assert.equal(ports.get("a")!.tec, 0);
  assert.equal(bus.errorFrames, 0);
});

test("a receive delay hands the frame over later, and a frame sent from the handler is queued then", () => {
  const { clock, bus, ports, log } = network(["a", "b"]);
  const b = ports.get("b")!;
  b.faults.rxDelay_us = 1000;
  b.onReceive((id, data, time_us) => {
    log.push({ port: "b", id, data: [...data], time_us });
    if (id === 0x42) b.send(0x43, new Uint8Array(0));
  });
  ports.get("a")!.onReceive((id, data, time_us) => log.push({ port: "a", id, data: [...data], time_us }));
  ports.get("a")!.send(0x42, new Uint8Array(8));
  clock.now_us = 0;
  bus.run(10_000);
  const end = worstCaseFrameBits(8) * BIT_us;
  assert.deepEqual(log.map((r) => [r.port, r.id, r.time_us]), [["b", 0x42, end + 1000], ["a", 0x43, end + 1000 + worstCaseFrameBits(0) * BIT_us]]);
});

test("a babbling node at the highest priority starves everyone while it babbles; rate-limited it only loads the bus", () => {
  const { bus, ports, log } = network(["babbler", "node", "controller"]);
  const babbler = ports.get("babbler")!;
  babbler.babble = { id: 0, data: new Uint8Array(8), interval_us: 0, stop_us: 20_000 };
  ports.get("node")!.send(0x1000, new Uint8Array(8));
  bus.run(20_000);
  assert.equal(log.filter((r) => r.id === 0x1000).length, 0, "starved");
  assert.ok(bus.busy_us >= 20_000 - worstCaseFrameBits(8) * BIT_us);
  bus.run(21_000);
  assert.equal(log.filter((r) => r.id === 0x1000 && r.port === "controller").length, 1, "sent once the babbling stops");

  const second = network(["babbler", "node", "controller"]);
  second.ports.get("babbler")!.babble = { id: 0, data: new Uint8Array(8), interval_us: 1000 };
  second.ports.get("node")!.send(0x1000, new Uint8Array(8));
  second.bus.run(100_000);
  const fromNode = second.log.filter((r) => r.id === 0x1000 && r.port === "controller");
  assert.equal(fromNode.length, 1);
  assert.ok(Math.abs(second.bus.busy_us / 100_000 - 0.32 - 0.0032) < 0.01, `load ${second.bus.busy_us / 100_000}`);
});

test("payload corruption past the CAN CRC flips the chosen bit for every receiver and counts no CAN error", () => {
  const { bus, ports, log } = network(["a", "b", "c"], new Random(3));
  bus.payloadCorruption = { frames: [1], byte: 2, bit: 3 };
  ports.get("a")!.send(0x42, new Uint8Array([0, 0, 0, 0]));
  ports.get("a")!.send(0x42, new Uint8Array([0, 0, 0, 0]));
  bus.run(10_000);
  assert.deepEqual(log.map((r) => r.data), [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 8, 0], [0, 0, 8, 0]]);
  assert.equal(bus.payloadCorruptions, 1);
  assert.equal(bus.errorFrames, 0);
  // random byte and bit: one bit flipped, from the seeded generator
  bus.payloadCorruption = { probability: 1 };
  ports.get("a")!.send(0x42, new Uint8Array(8));
  bus.run(20_000);
  const flipped = log[log.length - 1]!.data.reduce((n, byte) => n + byte.toString(2).split("1").length - 1, 0);
  assert.equal(flipped, 1);
});

test("bus_status reports the queue, and probabilistic knobs refuse to run without a seeded generator", () => {
  const { bus, ports } = network(["a", "b"]);
  const a = ports.get("a")!;
  for (let i = 0; i < 3; i++) a.send(0x10 + i, new Uint8Array(1));
  assert.deepEqual(statusOf(a), { rec: 0, tec: 0, state: 0, queued: 3 });
  bus.wireErrors = { probability: 0.5 };
  assert.throws(() => bus.run(10_000), /seeded Random/);
});

test("a frame is filled again only after receivers that copy it: data kept by any other receiver never changes", () => {
  const clock = new SimClock();
  const bus = new CanBus(BITRATE, clock);
  const sender = new BusPort(bus, "sender", 16);
  const copier = new BusPort(bus, "copier", 16);
  const keeper = new BusPort(bus, "keeper", 16);
  const copied: number[][] = [];
  copier.onReceive((_id, data) => copied.push([...data]), true);
  const kept: Uint8Array[] = [];
  keeper.onReceive((_id, data) => kept.push(data));
  const seen: Uint8Array[] = [];
  let time = 0;
  const exchange = (id: number, byte: number): void => {
    sender.send(id, new Uint8Array(8).fill(byte));
    time += 1000;
    bus.run(time);
  };
  // With a receiver that keeps data, every frame has its own bytes.
  for (let k = 0; k < 4; k++) exchange(0x100 + k, k + 1);
  assert.deepEqual(kept.map((d) => d[0]), [1, 2, 3, 4]);
  // Only copying receivers (the keeper filters the frames out): a delivered frame is reused, and
  // what the copier received is still what was sent.
  keeper.setFilter(0, 0x100, 0x1fffff00);
  for (let k = 0; k < 4; k++) exchange(0x200 + k, 0x10 + k);
  assert.deepEqual(copied.slice(4).map((d) => d[0]), [0x10, 0x11, 0x12, 0x13]);
  assert.deepEqual(kept.map((d) => d[0]), [1, 2, 3, 4]);
  // A tamper hook sees the frame, so it may keep it: those frames are not reused either.
  bus.tamper = (frame) => {
    seen.push(frame.data);
    return frame;
  };
  for (let k = 0; k < 3; k++) exchange(0x200 + k, 0x20 + k);
  assert.deepEqual(seen.map((d) => d[0]), [0x20, 0x21, 0x22]);
  // So does a fault knob's match callback, even one that never fires and is gone by delivery time.
  bus.tamper = null;
  const matched: Uint8Array[] = [];
  bus.wireErrors = { match: (frame) => (matched.push(frame.data), false) };
  for (let k = 0; k < 3; k++) exchange(0x200 + k, 0x30 + k);
  bus.wireErrors = null;
  for (let k = 0; k < 3; k++) exchange(0x200 + k, 0x40 + k);
  assert.deepEqual(matched.map((d) => d[0]), [0x30, 0x31, 0x32]);
  assert.deepEqual(seen.map((d) => d[0]), [0x20, 0x21, 0x22]);
  assert.equal(copied.length, 17);
});
