// The module bus: a CAN 2.0B medium shared by every device, and one port (transmit queue plus the
// HAL imports) per device. Frames arbitrate by identifier (lowest wins, as dominant bits do), take
// their worst-case stuffed length on the wire, and reach every other port when they complete.
import type { Peripheral, HalImport, MemoryAccess } from "./types.ts";
import { checkedView } from "./types.ts";
import type { SimClock } from "./clock.ts";

export interface Frame {
  id: number;
  data: Uint8Array;
  /** Simulated time (µs) the frame entered its sender's transmit queue. */
  queued_us: number;
  sender: BusPort;
}

/**
 * Worst-case length in bits of a CAN frame with n data bytes, bit stuffing included, interframe
 * space included: Davis, Burns, Bril, Lukkien, "Controller Area Network (CAN) schedulability
 * analysis: refuted, revisited and revised", Real-Time Systems 35 (2007), eq. (1):
 * C = g + 8n + 13 + floor((g + 8n - 1) / 4), g = 34 (11-bit id) or 54 (29-bit id).
 */
export function worstCaseFrameBits(dataBytes: number, extendedId = true): number {
  const g = extendedId ? 54 : 34;
  return g + 8 * dataBytes + 13 + Math.floor((g + 8 * dataBytes - 1) / 4);
}

export type Tamper = (frame: Frame) => Frame | null;

export class CanBus {
  readonly ports: BusPort[] = [];
  private freeAt_us = 0;
  busy_us = 0;
  framesDelivered = 0;
  /** Time of the frame being delivered, so a frame sent from inside busReceive is queued then. */
  deliveryTime_us: number | null = null;
  /** Fault knob: sees every frame on the wire; return null to drop it or a changed frame. */
  tamper: Tamper | null = null;

  constructor(readonly bitrate_bps: number, private readonly clock: SimClock) {
    if (!(bitrate_bps > 0)) throw new Error(`bus bit rate must be positive, got ${bitrate_bps}`);
  }

  attach(port: BusPort): void {
    this.ports.push(port);
  }

  now_us(): number {
    return this.deliveryTime_us ?? this.clock.now_us;
  }

  frameDuration_us(frame: Frame): number {
    return (worstCaseFrameBits(frame.data.length) * 1e6) / this.bitrate_bps;
  }

  /** Transmits queued frames whose transmission starts before until_us, delivering each at its end. */
  run(until_us: number): void {
    for (;;) {
      let earliest = Infinity;
      for (const port of this.ports) {
        const head = port.head();
        if (head !== null) earliest = Math.min(earliest, Math.max(this.freeAt_us, head.queued_us));
      }
      if (earliest === Infinity || earliest >= until_us) return;
      // Arbitration: among the frames pending when the bus goes idle, the lowest identifier wins.
      let winner: BusPort | null = null;
      let winnerId = Infinity;
      for (const port of this.ports) {
        const head = port.head();
        if (head !== null && head.queued_us <= earliest && head.id < winnerId) {
          winner = port;
          winnerId = head.id;
        }
      }
      if (winner === null) return;
      const frame = winner.pop();
      const end = earliest + this.frameDuration_us(frame);
      this.freeAt_us = end;
      this.busy_us += end - earliest;
      const delivered = this.tamper === null ? frame : this.tamper(frame);
      if (delivered === null) continue;
      this.deliveryTime_us = end;
      try {
        for (const port of this.ports) {
          if (port !== frame.sender) port.receive(delivered, end);
        }
      } finally {
        this.deliveryTime_us = null;
      }
      this.framesDelivered++;
    }
  }
}

export type Receiver = (id: number, data: Uint8Array, time_us: number) => void;

export class BusPort implements Peripheral {
  readonly group = "bus";
  private readonly queue: Frame[] = [];
  private receiver: Receiver | null = null;
  framesSent = 0;
  framesReceived = 0;
  refusedFull = 0;
  /** Fault knob: a disconnected port neither sends nor receives. */
  connected = true;

  constructor(private readonly bus: CanBus, readonly name: string, readonly txQueueFrames: number) {
    bus.attach(this);
  }

  onReceive(receiver: Receiver): void {
    this.receiver = receiver;
  }

  head(): Frame | null {
    return this.connected ? this.queue[0] ?? null : null;
  }

  pop(): Frame {
    const frame = this.queue.shift();
    if (frame === undefined) throw new Error("pop from an empty transmit queue");
    this.framesSent++;
    return frame;
  }

  pending(): number {
    return this.queue.length;
  }

  receive(frame: Frame, time_us: number): void {
    if (!this.connected || this.receiver === null) return;
    this.framesReceived++;
    this.receiver(frame.id, frame.data, time_us);
  }

  send(id: number, data: Uint8Array): number {
    if (data.length > 8 || id < 0 || id > 0x1fffffff) return -2;
    if (this.queue.length >= this.txQueueFrames) {
      this.refusedFull++;
      return -1;
    }
    this.queue.push({ id, data: data.slice(), queued_us: this.bus.now_us(), sender: this });
    return 0;
  }

  imports(memory: MemoryAccess): Record<string, HalImport> {
    return {
      bus_send: (id: number, ptr: number, length: number): number => {
        if (length < 0 || length > 8) return -2;
        return this.send(id >>> 0, checkedView(memory, ptr, length));
      },
      bus_status: (): number => Math.min(255, this.queue.length) << 24,
    };
  }
}
