// The floor under the 96-module speed benchmark (bench/pack96.ts): what one simulated tick costs
// when the harness does nothing but call the firmwares. Two identical pack96 runs (same seed, so
// the same state tick for tick) are stepped past enumeration; the first is then recorded for a
// while (the ADC codes every node reads, every frame on the module bus and which devices took it),
// and the second replays the recording with every HAL import answering at once from it: the nodes'
// tick() with their ADC codes, each recorded frame copied into its receivers and busReceive()
// called, the controller's tick(). What remains is the firmwares' own work and the JS↔wasm calls
// they need: no plant, no converter model, no arbitration, no frame objects. Beside it, the calls
// alone: 97 instances of a stub module with the same exports and imports and empty bodies, called
// as often as the firmwares are (96 ticks each reading 4 ADC channels and sending a frame, the
// recorded number of deliveries, one controller tick).
// Usage: tsx bench/pack96-floor.ts
import wabtInit from "wabt";
import { performance } from "node:perf_hooks";
import { pack96 } from "./pack96.ts";
import type { Simulation, SimulationOptions } from "../host/sim.ts";

interface RecordedFrame {
  id: number;
  data: Uint8Array;
  /** Indices in Simulation.devices() (0 the controller, 1 + i node i). */
  receivers: number[];
}

interface Recording {
  /** Per tick, per node: the codes adc_read returned, in call order. */
  codes: number[][][];
  /** Per tick: the module-bus frames in delivery order, each with the devices that received it. */
  frames: RecordedFrame[][];
}

const WARM_UP_TICKS = 200;

function record(sim: Simulation, ticks: number): Recording {
  const codes: number[][][] = [];
  const frames: RecordedFrame[][] = [];
  let tickCodes: number[][] = [];
  let tickFrames: { ordinal: number; frame: RecordedFrame }[] = [];
  sim.nodes.forEach((node, i) => {
    const adc = node.adc as unknown as { read(channel: number): number };
    const read = adc.read.bind(adc);
    adc.read = (channel: number): number => {
      const code = read(channel);
      tickCodes[i]!.push(code);
      return code;
    };
  });
  sim.devices().forEach((device, d) => {
    const receive = (device as unknown as { receive(id: number, data: Uint8Array, time_us: number): void }).receive.bind(device);
    (device as unknown as { receive: typeof receive }).receive = (id, data, time_us) => {
      const last = tickFrames[tickFrames.length - 1];
      // One transmitted frame reaches its receivers one after another (framesDelivered counts frames).
      const ordinal = sim.bus.framesDelivered;
      if (last !== undefined && last.ordinal === ordinal) last.frame.receivers.push(d);
      else tickFrames.push({ ordinal, frame: { id, data: data.slice(), receivers: [d] } });
      receive(id, data, time_us);
    };
  });
  for (let t = 0; t < ticks; t++) {
    tickCodes = sim.nodes.map(() => []);
    tickFrames = [];
    sim.step();
    codes.push(tickCodes);
    frames.push(tickFrames.map((f) => f.frame));
  }
  return { codes, frames };
}

/** The replaying run: HAL imports that answer from the recording, and the loop that drives the firmwares. */
function replayer(sim: Simulation, recording: Recording): (from: number, to: number) => void {
  let tick = 0;
  sim.nodes.forEach((node, i) => {
    let k = 0;
    let last = -1;
    (node.adc as unknown as { read(channel: number): number }).read = (): number => {
      if (last !== tick) {
        last = tick;
        k = 0;
      }
      return recording.codes[tick]![i]![k++]!;
    };
  });
  for (const device of sim.devices()) {
    (device.port as unknown as { sendFromMemory(): number }).sendFromMemory = (): number => 0;
    if (device.vehiclePort !== null) (device.vehiclePort as unknown as { sendFromMemory(): number }).sendFromMemory = (): number => 0;
  }
  const devices = sim.devices();
  const rxViews = devices.map((device) => new Uint8Array(device.memory.buffer, device.exports.busRxBuffer(), 8));
  const exports = devices.map((device) => device.exports);
  const nodes = sim.nodes.map((n) => n.exports);
  const controller = sim.controller.exports;
  const start_ms = sim.clock.now_ms;
  return function replayTicks(from: number, to: number): void {
    for (tick = from; tick < to; tick++) {
      const now_ms = start_ms + (tick + 1) * sim.tickPeriod_ms;
      const now = BigInt(now_ms);
      for (let i = 0; i < nodes.length; i++) nodes[i]!.tick(now);
      const frames = recording.frames[tick]!;
      for (let f = 0; f < frames.length; f++) {
        const frame = frames[f]!;
        const receivers = frame.receivers;
        for (let r = 0; r < receivers.length; r++) {
          const d = receivers[r]!;
          const view = rxViews[d]!;
          for (let b = 0; b < frame.data.length; b++) view[b] = frame.data[b]!;
          exports[d]!.busReceive(frame.id, frame.data.length, now);
        }
      }
      controller.tick(BigInt(now_ms + sim.tickPeriod_ms / 2));
    }
  };
}

/** A module with the firmwares' call shapes and nothing in them: tick reads four ADC channels and sends one frame. */
const STUB_FIRMWARE = `(module
  (import "hal" "adc_read" (func $adc_read (param i32) (result i32)))
  (import "hal" "bus_send" (func $bus_send (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (global $sum (mut i32) (i32.const 0))
  (func (export "tick") (param $now_ms i64)
    (global.set $sum (i32.add (global.get $sum) (call $adc_read (i32.const 0))))
    (global.set $sum (i32.add (global.get $sum) (call $adc_read (i32.const 1))))
    (global.set $sum (i32.add (global.get $sum) (call $adc_read (i32.const 2))))
    (global.set $sum (i32.add (global.get $sum) (call $adc_read (i32.const 3))))
    (i32.store (i32.const 16) (global.get $sum))
    (drop (call $bus_send (i32.const 0x1000000) (i32.const 16) (i32.const 8))))
  (func (export "busReceive") (param $id i32) (param $length i32) (param $now_ms i64)
    (global.set $sum (i32.add (global.get $sum) (i32.load (i32.const 32))))))`;

/**
 * CPU time per simulated tick of the calls alone (best chunk), µs: 96 stub nodes ticked (each
 * tick 4 adc_read and 1 bus_send into JS functions that answer at once), `deliveries` frames of 8
 * bytes copied into a stub's memory and busReceive called, one stub controller tick.
 */
export async function callsAlone96(deliveries: number, ticks = 2000, chunk = 100): Promise<number> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat("stub.wat", STUB_FIRMWARE);
  const module = new WebAssembly.Module(parsed.toBinary({}).buffer as Uint8Array<ArrayBuffer>);
  parsed.destroy();
  const stubs = Array.from({ length: 97 }, (_, i) => {
    let memory: Uint8Array | null = null;
    const codes = [8192 + i, 8192, 6000, 6000];
    const instance = new WebAssembly.Instance(module, {
      hal: {
        adc_read: (channel: number): number => codes[channel & 3]!,
        bus_send: (id: number, ptr: number, length: number): number => (memory![ptr]! + id + length) & 0,
      },
    });
    memory = new Uint8Array((instance.exports["memory"] as WebAssembly.Memory).buffer);
    return { exports: instance.exports as unknown as { tick(now: bigint): void; busReceive(id: number, length: number, now: bigint): void }, rx: memory.subarray(32, 40) };
  });
  const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
  const whole = Math.floor(deliveries);
  const run = (from: number, to: number): void => {
    for (let t = from; t < to; t++) {
      const now = BigInt(t * 100);
      for (let i = 1; i < 97; i++) stubs[i]!.exports.tick(now);
      for (let f = 0; f < whole; f++) {
        // Node frames go to the controller (index 0), controller frames to the nodes: spread over all.
        const stub = stubs[f % 97]!;
        for (let b = 0; b < 8; b++) stub.rx[b] = data[b]!;
        stub.exports.busReceive(0x1000000 + f, 8, now);
      }
      stubs[0]!.exports.tick(now);
    }
  };
  run(0, ticks);
  let best = Infinity;
  for (let from = 0; from + chunk <= ticks; from += chunk) {
    const cpu0 = process.cpuUsage();
    run(from, from + chunk);
    const cpu = process.cpuUsage(cpu0);
    best = Math.min(best, (cpu.user + cpu.system) / chunk);
  }
  return best;
}

export interface FloorRun {
  /** CPU time of the process per replayed tick, µs (best chunk). */
  cpuPerTick_us: number;
  /** The same on the wall clock, µs (best chunk). */
  wallPerTick_us: number;
  nodeTicks: number;
  deliveries: number;
  adcReads: number;
}

export interface FloorReplay {
  /** Replays recorded ticks [from, to). */
  replay(from: number, to: number): void;
  ticks: number;
  /** Per tick. */
  deliveries: number;
  adcReads: number;
}

/** Two identical runs past the warm-up, the first recorded for `ticks` ticks, the second ready to replay them. */
export function prepareFloor96(parallel: number, ticks: number, options: SimulationOptions = {}): FloorReplay {
  const seconds = ticks / 10 + WARM_UP_TICKS / 10;
  const a = pack96(parallel, seconds, options);
  const b = pack96(parallel, seconds, options);
  for (let i = 0; i < WARM_UP_TICKS; i++) {
    a.step();
    b.step();
  }
  const recording = record(a, ticks);
  const replay = replayer(b, recording);
  const deliveries = recording.frames.reduce((n, frames) => n + frames.reduce((m, f) => m + f.receivers.length, 0), 0) / ticks;
  const adcReads = recording.codes.reduce((n, nodes) => n + nodes.reduce((m, c) => m + c.length, 0), 0) / ticks;
  return { replay, ticks, deliveries, adcReads };
}

/** CPU and wall time per replayed tick, µs: the best chunk of a replay (the quietest stretch of a shared machine). */
export function timeReplay(floor: FloorReplay, from: number, to: number): { cpu_us: number; wall_us: number } {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  floor.replay(from, to);
  const wall = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  return { cpu_us: (cpu.user + cpu.system) / (to - from), wall_us: (wall * 1000) / (to - from) };
}

export function floor96(parallel: number, ticks: number, chunk = 200, options: SimulationOptions = {}): FloorRun {
  const floor = prepareFloor96(parallel, ticks, options);
  let bestCpu = Infinity;
  let bestWall = Infinity;
  for (let from = 0; from + chunk <= ticks; from += chunk) {
    const t = timeReplay(floor, from, from + chunk);
    bestCpu = Math.min(bestCpu, t.cpu_us);
    bestWall = Math.min(bestWall, t.wall_us);
  }
  return { cpuPerTick_us: bestCpu, wallPerTick_us: bestWall, nodeTicks: 96, deliveries: floor.deliveries, adcReads: floor.adcReads };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const parallel of [1, 4]) {
    const r = floor96(parallel, 1200);
    console.log(`${parallel}P: floor ${r.cpuPerTick_us.toFixed(1)} µs CPU, ${r.wallPerTick_us.toFixed(1)} µs wall per tick (best 200-tick chunk): `
      + `${r.nodeTicks} node ticks, ${r.adcReads.toFixed(0)} adc_read, ${r.deliveries.toFixed(1)} busReceive, 1 controller tick`);
    console.log(`${parallel}P: the same calls into empty stubs: ${(await callsAlone96(r.deliveries)).toFixed(1)} µs CPU per tick`);
  }
}
