// The module bus: a CAN 2.0B medium shared by every device, and one port (transmit queue, error
// counters and the HAL imports) per device. Frames arbitrate by identifier (lowest wins, as dominant
// bits do), take their stuffed length on the wire (worst case after Davis et al. 2007, or the exact
// stuff bits of their bit pattern) and reach every other port when they complete. Errors follow
// the fault confinement rules of ISO 11898-1: error frames, automatic retransmission, TEC/REC,
// error-passive and bus-off with recovery.
import type { Peripheral, HalImport, MemoryAccess } from "./types.ts";
import { checkedBytes } from "./types.ts";
import type { SimClock } from "./clock.ts";
import type { Random } from "../random.ts";

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

/** CRC delimiter, ACK slot, ACK delimiter, 7-bit end of frame, 3-bit intermission: never stuffed. */
export const FRAME_TRAILER_BITS = 13;
/** Error frame (ISO 11898-1): 6-bit error flag, up to 6 bits of other nodes' flags, 8-bit delimiter, then the 3-bit intermission. */
export const ERROR_FLAG_BITS = 6;
export const ERROR_FLAG_ECHO_MAX_BITS = 6;
export const ERROR_DELIMITER_BITS = 8;
export const INTERMISSION_BITS = 3;
/** An error-passive node that has transmitted waits this long after the intermission before it may transmit again. */
export const SUSPEND_TRANSMISSION_BITS = 8;
/** Bus-off recovery: 128 occurrences of 11 consecutive recessive bits (ISO 11898-1 fault confinement). */
export const BUS_OFF_RECOVERY_BITS = 128 * 11;
/** TEC or REC at or above this makes a node error-passive. */
export const ERROR_PASSIVE_LIMIT = 128;
/** TEC above this puts a node bus-off. */
export const BUS_OFF_LIMIT = 255;

/** CAN CRC-15 (ISO 11898-1: generator x^15+x^14+x^10+x^8+x^7+x^4+x^3+1 = 0x4599, initial 0) over a bit sequence. */
export function crc15(bits: readonly number[]): number {
  let crc = 0;
  for (const bit of bits) {
    const next = (bit ^ (crc >> 14)) & 1;
    crc = (crc << 1) & 0x7fff;
    if (next !== 0) crc ^= 0x4599;
  }
  return crc;
}

function pushBits(bits: number[], value: number, count: number): void {
  for (let i = count - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
}

/**
 * The bits of a data frame from start of frame to the end of the CRC sequence, before stuffing
 * (ISO 11898-1 frame format). Extended: SOF, base id (11), SRR=1, IDE=1, id extension (18), RTR=0,
 * r1, r0, DLC (4), data, CRC (15). Standard: SOF, id (11), RTR=0, IDE=0, r0, DLC, data, CRC.
 * Dominant is 0.
 */
export function unstuffedFrameBits(id: number, data: Uint8Array, extendedId = true): number[] {
  const bits: number[] = [0];
  if (extendedId) {
    pushBits(bits, Math.floor(id / 2 ** 18) & 0x7ff, 11);
    bits.push(1, 1);
    pushBits(bits, id % 2 ** 18, 18);
    bits.push(0, 0, 0);
  } else {
    pushBits(bits, id & 0x7ff, 11);
    bits.push(0, 0, 0);
  }
  pushBits(bits, data.length, 4);
  for (const byte of data) pushBits(bits, byte, 8);
  pushBits(bits, crc15(bits), 15);
  return bits;
}

/** Stuff bits a transmitter inserts: one of opposite value after every five equal bits, stuff bits included in the count. */
export function stuffBitCount(bits: readonly number[]): number {
  let last = -1;
  let run = 0;
  let stuffed = 0;
  for (const bit of bits) {
    if (bit === last) run++;
    else {
      last = bit;
      run = 1;
    }
    if (run === 5) {
      stuffed++;
      last = 1 - bit;
      run = 1;
    }
  }
  return stuffed;
}

/** Exact length in bits of one frame on the wire, interframe space included (comparable with worstCaseFrameBits). */
export function exactFrameBits(id: number, data: Uint8Array, extendedId = true): number {
  const bits = unstuffedFrameBits(id, data, extendedId);
  return bits.length + stuffBitCount(bits) + FRAME_TRAILER_BITS;
}

/**
 * When a fault hits a frame. Every field is optional: `match` narrows the frames that count, then a
 * frame is hit when its ordinal among the matching frames is in `frames`, or with `probability`.
 */
export interface FrameFault {
  /** Chance (0..1) that a matching frame is hit; needs the bus's seeded Random. */
  probability?: number;
  /** Ordinals (0-based) among matching frames that are hit: [0, 3] hits the first and the fourth. */
  frames?: readonly number[];
  /** Only frames for which this returns true count. Default: every frame. */
  match?: (frame: Frame) => boolean;
}

/** Payload corruption that the CAN CRC does not catch (e.g. inside a gateway or a controller's RAM). */
export interface PayloadCorruption extends FrameFault {
  /** Byte to corrupt; default a random byte of the frame. */
  byte?: number;
  /** Bit (0 = LSB) to flip; default a random bit. */
  bit?: number;
}

/** A babbling node: floods one frame at a fixed interval whatever its firmware queued. */
export interface Babble {
  id: number;
  data: Uint8Array;
  /** Time between the starts of two babble frames, µs; 0 floods back to back. */
  interval_us: number;
  start_us?: number;
  stop_us?: number;
}

export type ErrorState = "error-active" | "error-passive" | "bus-off";
const ERROR_STATE_CODE: Record<ErrorState, number> = { "error-active": 0, "error-passive": 1, "bus-off": 2 };

/** Sees every frame that completes on the wire, with the time it completes (µs); returns the frame to deliver, a changed one, or null. */
export type Tamper = (frame: Frame, end_us: number) => Frame | null;
export type StuffingModel = "worst-case" | "exact";

interface Candidate {
  frame: Frame;
  ready_us: number;
  babble: boolean;
}

interface PendingDelivery {
  time_us: number;
  port: BusPort;
  frame: Frame;
}

export class CanBus {
  readonly ports: BusPort[] = [];
  private freeAt_us = 0;
  /** Time the shared wire was occupied (frames and error frames), µs: the bus load numerator. */
  busy_us = 0;
  /** Part of busy_us spent on destroyed frames and their error frames, µs. */
  errorBusy_us = 0;
  framesDelivered = 0;
  errorFrames = 0;
  payloadCorruptions = 0;
  /** Time of the frame being delivered, so a frame sent from inside busReceive is queued then. */
  deliveryTime_us: number | null = null;
  /** Fault knob: sees every frame that completes on the wire; return null to drop it or a changed frame. */
  tamper: Tamper | null = null;
  /** Fault knob: frames hit on the wire are destroyed by an error frame and retransmitted (CRC or bit error). */
  wireErrors: FrameFault | null = null;
  /** Fault knob: payload bits flipped in a way the CAN CRC does not catch. */
  payloadCorruption: PayloadCorruption | null = null;
  /** Error flag superposition counted per error frame (0..6); the worst case by default. */
  errorEchoBits = ERROR_FLAG_ECHO_MAX_BITS;
  /** Frame length model: Davis et al. worst case (default) or the exact stuff bits of each frame. */
  stuffing: StuffingModel = "worst-case";
  private readonly faultCounts = new WeakMap<FrameFault, number>();
  private readonly readyPorts = new PortList();
  private arbitrationWinner: BusPort | null = null;
  private readonly receiversById = new Map<number, BusPort[]>();
  /** @internal counts invalidateReceivers() calls: a list remembered under an older count is stale. */
  receiversGeneration = 0;
  private activeConnected = -1;
  /** @internal ports in bus-off (they need refresh() to recover) and ports with REC > 0. */
  readonly busOffPorts = new Set<BusPort>();
  portsWithRec = 0;
  private readonly nextScratch: { segment: BusPort[] | BusPort; start_us: number } = { segment: [], start_us: 0 };
  private readonly stubScratch: BusPort[] = [];
  private readonly pending: PendingDelivery[] = [];
  /** @internal ports with an active babble and disconnected ports: either one needs the general arbitration. */
  babblingPorts = 0;
  disconnectedPorts = 0;
  /**
   * Fast arbitration (no babble, no disconnected or bus-off port): the ready ports in two heaps,
   * `arrived` (ready when the wire last went idle, by identifier) and `waiting` (the others, by ready
   * time then identifier); both break ties by position in readyPorts, as the scan does. fastValid
   * is false when the heaps do not reflect readyPorts (after the general path ran).
   */
  private readonly arrived = new PortHeap(false);
  private readonly waiting = new PortHeap(true);
  private fastValid = false;
  /** Ports whose queue head or suspend time changed since the heaps last saw them. */
  private readonly changedPorts = new PortList();
  private readonly leaving = new PortList();

  /**
   * random: the run's seeded generator, needed only by probabilistic fault knobs. extendedIds:
   * 29-bit identifiers (CAN 2.0B, the module bus) or 11-bit ones (CAN 2.0A, the vehicle bus).
   */
  /** bitTime_us() and the worst-case length of a frame by its byte count, computed once: transmit() needs both for every frame. */
  private readonly bitTime: number;
  private readonly worstCaseBits: number[] = [];

  constructor(readonly bitrate_bps: number, private readonly clock: SimClock, public random: Random | null = null, readonly extendedIds = true) {
    if (!(bitrate_bps > 0)) throw new Error(`bus bit rate must be positive, got ${bitrate_bps}`);
    this.bitTime = 1e6 / bitrate_bps;
    for (let n = 0; n <= 8; n++) this.worstCaseBits.push(worstCaseFrameBits(n, extendedIds));
  }

  attach(port: BusPort): void {
    this.ports.push(port);
    this.invalidateReceivers();
  }

  now_us(): number {
    return this.deliveryTime_us ?? this.clock.now_us;
  }

  bitTime_us(): number {
    return this.bitTime;
  }

  /** Length of a frame on the wire in bits, interframe space included, under the stuffing model. */
  frameBits(frame: Frame): number {
    if (this.stuffing === "exact") return exactFrameBits(frame.id, frame.data, this.extendedIds);
    const n = frame.data.length;
    return n <= 8 ? this.worstCaseBits[n]! : worstCaseFrameBits(n, this.extendedIds);
  }

  frameDuration_us(frame: Frame): number {
    return this.frameBits(frame) * this.bitTime_us();
  }

  /** Transmits and delivers everything that starts before until_us, in time order. */
  run(until_us: number): void {
    for (;;) {
      const delivery = this.pending[0];
      const delivery_us = delivery?.time_us ?? Infinity;
      const next = this.nextTransmission();
      const start_us = next?.start_us ?? Infinity;
      if (Math.min(delivery_us, start_us) >= until_us) return;
      if (delivery !== undefined && delivery_us <= start_us) {
        this.pending.shift();
        this.deliver(delivery.port, delivery.frame, delivery.time_us);
        continue;
      }
      if (next !== null) this.transmit(next.segment, next.start_us, until_us);
    }
  }

  /**
   * The wire segments and the earliest time a transmission can start on each: the connected ports
   * share the bus; a disconnected port is alone on its own stub (it still transmits, unheard).
   */
  private nextTransmission(): { segment: BusPort[] | BusPort; start_us: number } | null {
    if (this.babblingPorts === 0 && this.disconnectedPorts === 0 && this.busOffPorts.size === 0) return this.nextTransmissionFast();
    this.fastValid = false;
    // The general case: it walks the ports that have something to send (readyPorts) once per frame
    // and allocates nothing.
    const next = this.nextScratch;
    let bestStart = Infinity;
    let bestStub: BusPort | null = null;
    let mainReady = Infinity;
    // Arbitration in the same pass: the lowest identifier among the frames ready when the bus
    // frees (winnerAtFree), and among the earliest-ready ones if the bus is idle (winnerAtFirst).
    const free = this.freeAt_us;
    let winnerAtFree: BusPort | null = null;
    let idAtFree = Infinity;
    let winnerAtFirst: BusPort | null = null;
    let idAtFirst = Infinity;
    const ready = this.readyPorts;
    for (let i = 0; i < ready.length; ) {
      const port = ready.items[i]!;
      const candidate = port.candidate();
      if (candidate === null) {
        if (!port.mayTransmit()) {
          // Nothing queued and no babble: leave the ready list (swap-remove).
          this.removeReady(i);
          continue;
        }
      } else if (port.connected) {
        const r = candidate.ready_us;
        const id = candidate.frame.id;
        if (r <= free && id < idAtFree) {
          idAtFree = id;
          winnerAtFree = port;
        }
        if (r < mainReady) {
          mainReady = r;
          idAtFirst = id;
          winnerAtFirst = port;
        } else if (r === mainReady && id < idAtFirst) {
          idAtFirst = id;
          winnerAtFirst = port;
        }
      } else {
        const start = Math.max(port.stubFreeAt_us, candidate.ready_us);
        if (start < bestStart) {
          bestStart = start;
          bestStub = port;
        }
      }
      i++;
    }
    if (mainReady !== Infinity) {
      const start = Math.max(this.freeAt_us, mainReady);
      if (start <= bestStart) {
        next.segment = this.ports;
        next.start_us = start;
        this.arbitrationWinner = mainReady <= free ? winnerAtFree : winnerAtFirst;
        return next;
      }
    }
    if (bestStub === null) return null;
    next.segment = bestStub;
    next.start_us = bestStart;
    return next;
  }

  /** Swap-removes readyPorts[i] (the last port takes its place, as the scan has always done). */
  private removeReady(i: number): void {
    const ready = this.readyPorts;
    const port = ready.items[i]!;
    const last = ready.pop();
    port.inReady = false;
    port.readyIndex = -1;
    if (last !== port) {
      ready.items[i] = last;
      last.readyIndex = i;
      if (this.fastValid) this.heapOf(last)?.moved(last);
    }
    if (this.fastValid) this.heapOf(port)?.remove(port);
  }

  private heapOf(port: BusPort): PortHeap | null {
    return port.heap === 1 ? this.arrived : port.heap === 2 ? this.waiting : null;
  }

  /**
   * The arbitration of the general scan below for the common case (every port connected, none
   * bus-off, no babble), in O(log n) per frame instead of O(ready ports): each port's candidate
   * (ready time, identifier) only changes when its queue head or its suspend time changes, and
   * the port says so (portChanged). Ports that ran dry leave readyPorts in the order the scan
   * would remove them, so ties on identifier and ready time go to the same port.
   */
  private nextTransmissionFast(): { segment: BusPort[] | BusPort; start_us: number } | null {
    if (!this.fastValid) this.rebuildHeaps();
    else if (this.changedPorts.length > 0) this.applyChanges();
    const free = this.freeAt_us;
    const arrived = this.arrived;
    const waiting = this.waiting;
    // The wire only goes idle later and later, so a port that has arrived stays arrived.
    if (waiting.size > 0 && waiting.top().keyReady_us <= free) {
      // Typically every node queued at the same tick and all of them arrive at once.
      if (arrived.size === 0 && waiting.maxReady_us <= free) arrived.takeAll(waiting);
      else while (waiting.size > 0 && waiting.top().keyReady_us <= free) arrived.push(waiting.pop());
    }
    let winner: BusPort;
    let start: number;
    if (arrived.size > 0) {
      winner = arrived.top();
      start = free;
    } else if (waiting.size > 0) {
      winner = waiting.top();
      start = winner.keyReady_us;
    } else {
      return null;
    }
    const next = this.nextScratch;
    next.segment = this.ports;
    next.start_us = start;
    this.arbitrationWinner = winner;
    return next;
  }

  /** The scan's bookkeeping (ports with nothing to send leave readyPorts), then every ready port keyed into the heaps. */
  private rebuildHeaps(): void {
    this.arrived.clear();
    this.waiting.clear();
    const changed = this.changedPorts;
    while (changed.length > 0) changed.pop().changed = false;
    const ready = this.readyPorts;
    for (let i = 0; i < ready.length; ) {
      const port = ready.items[i]!;
      if (!port.mayTransmit()) {
        this.removeReady(i);
        continue;
      }
      port.readyIndex = i;
      port.updateKey();
      this.waiting.push(port);
      i++;
    }
    this.fastValid = true;
  }

  private applyChanges(): void {
    const changed = this.changedPorts;
    const leaving = this.leaving;
    // The heaps order ports totally (readyIndex breaks every tie), so the order in which changed
    // ports are re-keyed does not matter.
    while (changed.length > 0) {
      const port = changed.pop();
      port.changed = false;
      if (port.readyIndex < 0) continue;
      if (!port.mayTransmit()) {
        if (port.heap !== 0) this.heapOf(port)!.remove(port);
        leaving.push(port);
        continue;
      }
      port.updateKey();
      // Straight among the arrived when it is ready by the time the wire went idle; a port that
      // stays in its heap moves within it (one sift instead of a removal and an insertion).
      const arrived = port.keyReady_us <= this.freeAt_us;
      if (port.heap === 1 && arrived) this.arrived.update(port);
      else if (port.heap === 2) this.waiting.update(port);
      else {
        if (port.heap !== 0) this.heapOf(port)!.remove(port);
        if (arrived) this.arrived.push(port);
        else this.waiting.push(port);
      }
    }
    // The scan removes dry ports in index order, and a port swapped into a freed slot is looked
    // at again at once: always removing the lowest-indexed leaver does the same.
    while (leaving.length > 0) {
      const items = leaving.items;
      let best = 0;
      for (let k = 1; k < leaving.length; k++) if (items[k]!.readyIndex < items[best]!.readyIndex) best = k;
      const port = items[best]!;
      items[best] = items[leaving.length - 1]!;
      leaving.pop();
      this.removeReady(port.readyIndex);
    }
  }

  /** @internal a port's queue head or suspend time changed: its place in the fast arbitration is stale. */
  portChanged(port: BusPort): void {
    if (!this.fastValid || port.changed) return;
    port.changed = true;
    this.changedPorts.push(port);
  }

  /** @internal babble, connection or bus-off changed: the fast arbitration must start again from readyPorts. */
  arbitrationStateChanged(): void {
    this.fastValid = false;
  }

  /** @internal a port has something to send (or a babble), so arbitration must look at it. */
  markReady(port: BusPort): void {
    if (port.inReady) return;
    port.inReady = true;
    port.readyIndex = this.readyPorts.length;
    this.readyPorts.push(port);
    if (this.fastValid) this.portChanged(port);
  }

  /** @internal connection, filter or bus-off state changed: the receiver lists are stale. */
  invalidateReceivers(): void {
    this.receiversById.clear();
    this.receiversGeneration++;
    this.activeConnected = -1;
  }

  /** Connected ports that are not bus-off: the nodes that acknowledge and check every frame. */
  private activeConnectedCount(): number {
    if (this.activeConnected < 0) {
      let n = 0;
      for (const p of this.ports) if (p.connected && !p.isBusOff) n++;
      this.activeConnected = n;
    }
    return this.activeConnected;
  }

  /** Connected, not bus-off ports whose acceptance filters pass this identifier (cached per identifier). */
  private acceptingReceivers(id: number, sender: BusPort): BusPort[] {
    // Most senders send one identifier over and over: remember the last list on the sender.
    if (sender.receiversId === id && sender.receiversGeneration === this.receiversGeneration) return sender.receivers!;
    let list = this.receiversById.get(id);
    if (list === undefined) {
      list = this.ports.filter((p) => p.connected && !p.isBusOff && p.accepts(id));
      this.receiversById.set(id, list);
    }
    sender.receiversId = id;
    sender.receiversGeneration = this.receiversGeneration;
    sender.receivers = list;
    return list;
  }

  private fires(fault: FrameFault | null, frame: Frame): boolean {
    if (fault === null) return false;
    if (fault.match !== undefined) {
      exposed(frame);
      if (!fault.match(frame)) return false;
    }
    const ordinal = this.faultCounts.get(fault) ?? 0;
    this.faultCounts.set(fault, ordinal + 1);
    if (fault.frames?.includes(ordinal) === true) return true;
    const p = fault.probability ?? 0;
    return p > 0 && this.uniform() < p;
  }

  private uniform(): number {
    if (this.random === null) throw new Error("a probabilistic bus fault needs the run's seeded Random: new CanBus(bitrate, clock, random)");
    return this.random.next();
  }

  private transmit(segment: BusPort[] | BusPort, start_us: number, until_us: number): void {
    const shared = Array.isArray(segment);
    let ports: BusPort[];
    if (shared) {
      ports = segment;
    } else {
      ports = this.stubScratch;
      ports.length = 0;
      ports.push(segment);
    }
    let winner: BusPort | null = null;
    let chosen: Candidate | null = null;
    const hint = this.arbitrationWinner;
    this.arbitrationWinner = null;
    if (shared && hint !== null && this.busOffPorts.size === 0) {
      // nextTransmission already arbitrated on the same state.
      winner = hint;
      chosen = hint.candidate();
    } else {
      if (this.busOffPorts.size > 0) for (const port of [...this.busOffPorts]) port.refresh(start_us);
      // Arbitration: among the frames pending when the wire goes idle, the lowest identifier wins.
      const contenders = shared ? this.readyPorts.items : ports;
      const n = shared ? this.readyPorts.length : ports.length;
      for (let k = 0; k < n; k++) {
        const port = contenders[k]!;
        if (shared && !port.connected) continue;
        const candidate = port.candidate();
        if (candidate !== null && candidate.ready_us <= start_us && (chosen === null || candidate.frame.id < chosen.frame.id)) {
          winner = port;
          chosen = candidate;
        }
      }
    }
    if (winner === null || chosen === null) return;
    const frame = chosen.frame;
    const ackers = shared ? this.activeConnectedCount() - (winner.isBusOff ? 0 : 1) : 0;
    const bitTime = this.bitTime_us();
    const bits = this.frameBits(frame);
    const stuffedRegion = bits - FRAME_TRAILER_BITS;
    const passiveBefore = winner.isErrorPassive();
    let end_us: number;

    if (this.fires(this.wireErrors, frame)) {
      // Receivers find the CRC wrong and flag it after the ACK delimiter (a lone transmitter sees a
      // bit error instead): TEC += 8 with no exception, REC += 1 at every receiver.
      end_us = start_us + (stuffedRegion + 3 + ERROR_FLAG_BITS + this.errorEchoBits + ERROR_DELIMITER_BITS + INTERMISSION_BITS) * bitTime;
      winner.transmitError(8);
      if (shared) for (const r of ports) if (r !== winner && r.connected && !r.isBusOff) r.receiveError();
      this.errorFrames++;
      if (shared) this.errorBusy_us += end_us - start_us;
    } else if (ackers === 0) {
      // Nobody acknowledges: ACK error at the ACK slot, error flag from the next bit. An error-passive
      // transmitter whose passive flag meets no dominant bit does not count it (ISO 11898-1 exception).
      const attempt_bits = stuffedRegion + 2 + ERROR_FLAG_BITS + ERROR_DELIMITER_BITS + INTERMISSION_BITS;
      end_us = start_us + attempt_bits * bitTime;
      winner.ackErrors++;
      if (!passiveBefore) winner.transmitError(8);
      else if (!shared && this.wireErrors === null && !chosen.babble) {
        // A passive node alone on its stub retries the same frame with nothing changing: account
        // for every attempt that starts before until_us at once instead of one event each.
        const period_us = (attempt_bits + SUSPEND_TRANSMISSION_BITS) * bitTime;
        const extra = Math.max(0, Math.ceil((until_us - start_us) / period_us) - 1);
        winner.ackErrors += extra;
        end_us += extra * period_us;
      }
      if (shared) this.errorBusy_us += end_us - start_us;
    } else {
      end_us = start_us + bits * bitTime;
      winner.transmitted(chosen, start_us);
      let delivered: Frame | null = this.corruptPayload(frame);
      if (this.tamper !== null) {
        exposed(delivered);
        delivered = this.tamper(delivered, end_us);
      }
      if (this.portsWithRec > 0) for (const r of ports) if (r !== winner && r.connected && !r.isBusOff) r.receivedOk();
      if (delivered !== null && shared) {
        this.framesDelivered++;
        // The frame can be filled again by its sender once every receiver has copied it: no user
        // callback saw it (tamper, a fault knob's match) and nothing keeps it (no delayed
        // delivery, no drop knob, no receiver that holds on to data).
        let done = delivered === frame && frame instanceof QueuedFrame && !frame.exposed;
        // The cached list is never changed once made (a filter change makes a new one), so it can
        // be walked while the receivers' firmware runs.
        const receivers = this.acceptingReceivers(delivered.id, winner);
        for (let k = 0; k < receivers.length; k++) {
          const r = receivers[k]!;
          if (r === winner) continue;
          if (r.faults.drop !== null || r.keepsFrames()) done = false;
          if (!this.route(r, delivered, end_us)) done = false;
        }
        if (done) winner.giveBack(frame);
      }
    }
    if (passiveBefore || winner.isErrorPassive()) winner.suspendUntil_us = end_us + SUSPEND_TRANSMISSION_BITS * bitTime;
    this.portChanged(winner);
    winner.checkBusOff(end_us, bitTime);
    if (shared) {
      this.freeAt_us = end_us;
      this.busy_us += end_us - start_us;
    } else {
      winner.stubFreeAt_us = end_us;
    }
  }

  private corruptPayload(frame: Frame): Frame {
    const fault = this.payloadCorruption;
    if (fault === null || frame.data.length === 0 || !this.fires(fault, frame)) return frame;
    const data = frame.data.slice();
    const byte = fault.byte ?? Math.floor(this.uniform() * data.length);
    const bit = fault.bit ?? Math.floor(this.uniform() * 8);
    if (byte < 0 || byte >= data.length) return frame;
    data[byte] = data[byte]! ^ (1 << bit);
    this.payloadCorruptions++;
    return { ...frame, data };
  }

  /** Hands a frame to one receiver, now or after its receive delay, unless the receiver misses it; false when the delivery waits. */
  private route(port: BusPort, frame: Frame, end_us: number): boolean {
    if (this.fires(port.faults.drop, frame)) {
      port.framesMissed++;
      return true;
    }
    let delay = port.faults.rxDelay_us;
    if (port.faults.rxJitter_us > 0) delay += this.uniform() * port.faults.rxJitter_us;
    if (delay <= 0) {
      this.deliver(port, frame, end_us);
      return true;
    }
    const time_us = end_us + delay;
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1]!.time_us > time_us) i--;
    this.pending.splice(i, 0, { time_us, port, frame });
    return false;
  }

  private deliver(port: BusPort, frame: Frame, time_us: number): void {
    this.deliveryTime_us = time_us;
    try {
      port.receive(frame, time_us);
    } finally {
      this.deliveryTime_us = null;
    }
  }
}

/**
 * A list of ports in items[0 .. length) whose array never shrinks: the ready list fills and drains
 * every tick, and Array push/pop would shrink and regrow its backing store each time.
 */
class PortList {
  readonly items: BusPort[] = [];
  length = 0;

  push(port: BusPort): void {
    if (this.length < this.items.length) this.items[this.length] = port;
    else this.items.push(port);
    this.length++;
  }

  /** Removes and returns the last port (the slot keeps a stale reference until it is reused). */
  pop(): BusPort {
    return this.items[--this.length]!;
  }
}

/**
 * A binary min-heap of ports for the fast arbitration, ordered by (keyId, readyIndex) or, with
 * byReady, by (keyReady_us, keyId, readyIndex); each port knows its heap and its slot in it.
 */
class PortHeap {
  // items[0 .. size) is the heap. The array never shrinks: it fills and drains every tick, and
  // push/pop would shrink and grow its backing store each time.
  private items: BusPort[] = [];
  size = 0;
  /** At least the largest keyReady_us in the heap (exact bound not kept on removal; -Infinity when empty). */
  maxReady_us = -Infinity;
  private readonly kind: number;
  constructor(private readonly byReady: boolean) {
    this.kind = byReady ? 2 : 1;
  }

  top(): BusPort {
    return this.items[0]!;
  }

  private less(a: BusPort, b: BusPort): boolean {
    if (this.byReady && a.keyReady_us !== b.keyReady_us) return a.keyReady_us < b.keyReady_us;
    if (a.keyId !== b.keyId) return a.keyId < b.keyId;
    return a.readyIndex < b.readyIndex;
  }

  push(port: BusPort): void {
    port.heap = this.kind;
    if (port.keyReady_us > this.maxReady_us) this.maxReady_us = port.keyReady_us;
    const slot = this.size++;
    port.heapSlot = slot;
    if (slot < this.items.length) this.items[slot] = port;
    else this.items.push(port);
    this.up(slot);
  }

  pop(): BusPort {
    const top = this.items[0]!;
    this.remove(top);
    return top;
  }

  remove(port: BusPort): void {
    const items = this.items;
    const slot = port.heapSlot;
    const last = items[--this.size]!;
    port.heap = 0;
    port.heapSlot = -1;
    if (this.size === 0) this.maxReady_us = -Infinity;
    if (last === port) return;
    items[slot] = last;
    last.heapSlot = slot;
    this.up(slot);
    this.down(last.heapSlot);
  }

  /** A port's readyIndex decreased (it was swapped into a freed slot of readyPorts). */
  moved(port: BusPort): void {
    this.up(port.heapSlot);
  }

  /** A port's key changed either way. */
  update(port: BusPort): void {
    if (port.keyReady_us > this.maxReady_us) this.maxReady_us = port.keyReady_us;
    this.up(port.heapSlot);
    this.down(port.heapSlot);
  }

  clear(): void {
    for (let slot = 0; slot < this.size; slot++) {
      const port = this.items[slot]!;
      port.heap = 0;
      port.heapSlot = -1;
    }
    this.size = 0;
    this.maxReady_us = -Infinity;
  }

  /** Moves every port of `other` into this empty heap (in O(n): the arrays change hands, then heapify). */
  takeAll(other: PortHeap): void {
    const items = other.items;
    const n = other.size;
    other.items = this.items;
    other.size = 0;
    other.maxReady_us = -Infinity;
    this.items = items;
    this.size = n;
    for (let slot = 0; slot < n; slot++) items[slot]!.heap = this.kind;
    for (let slot = 0; slot < n; slot++) if (items[slot]!.keyReady_us > this.maxReady_us) this.maxReady_us = items[slot]!.keyReady_us;
    for (let slot = (n >> 1) - 1; slot >= 0; slot--) this.down(slot);
  }

  private up(slot: number): void {
    const items = this.items;
    const port = items[slot]!;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = items[parentSlot]!;
      if (!this.less(port, parent)) break;
      items[slot] = parent;
      parent.heapSlot = slot;
      slot = parentSlot;
    }
    items[slot] = port;
    port.heapSlot = slot;
  }

  private down(slot: number): void {
    const items = this.items;
    const n = this.size;
    const port = items[slot]!;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.less(items[right]!, items[left]!) ? right : left;
      const c = items[child]!;
      if (!this.less(c, port)) break;
      items[slot] = c;
      c.heapSlot = slot;
      slot = child;
    }
    items[slot] = port;
    port.heapSlot = slot;
  }
}

/**
 * A frame a port queued. Its data is a view of its own eight bytes (one view per length, made
 * once), so that once the bus has delivered it to receivers that copy it, a later send fills the
 * same object instead of allocating a frame and a buffer.
 */
class QueuedFrame implements Frame {
  id = 0;
  queued_us = 0;
  data: Uint8Array;
  /** Handed to a user callback (tamper, a fault knob's match) since it was filled: it may be kept, so it is never filled again. */
  exposed = false;
  private readonly bytes = new Uint8Array(8);
  private readonly views: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];

  constructor(readonly sender: BusPort) {
    this.data = this.bytes;
  }

  /** Makes data `length` (0..8) bytes long, for a new frame. */
  resize(length: number): void {
    this.exposed = false;
    let view = this.views[length];
    if (view === undefined) {
      view = length === 8 ? this.bytes : this.bytes.subarray(0, length);
      this.views[length] = view;
    }
    this.data = view;
  }
}

/** Marks a queued frame as seen by a user callback (see QueuedFrame.exposed). */
function exposed(frame: Frame): void {
  if (frame instanceof QueuedFrame) frame.exposed = true;
}

export type Receiver = (id: number, data: Uint8Array, time_us: number) => void;

/** Acceptance filter slots a port offers (bxCAN has 14 banks per controller, RM0090 32.7.4; 8 is what the ABI promises). */
export const ACCEPTANCE_FILTER_SLOTS = 8;

/** Receive-side fault knobs of one port. */
export interface PortFaults {
  /** Frames this port misses (FIFO overrun, filter fault): acknowledged on the wire, never seen by the firmware. */
  drop: FrameFault | null;
  /** Fixed delay between the end of a frame and its delivery to the firmware, µs. */
  rxDelay_us: number;
  /** Extra uniform random delay 0..rxJitter_us, µs (needs the bus's Random). */
  rxJitter_us: number;
}

export class BusPort implements Peripheral {
  readonly group: string = "bus";
  private readonly queue: Frame[] = [];
  private receiver: Receiver | null = null;
  framesSent = 0;
  framesReceived = 0;
  framesMissed = 0;
  refusedFull = 0;
  refusedBusOff = 0;
  ackErrors = 0;
  transmitErrors = 0;
  receiveErrors = 0;
  busOffCount = 0;
  /** Transmit and receive error counters (ISO 11898-1 fault confinement); TEC above 255 is bus-off. */
  tec = 0;
  rec = 0;
  private connectedState = true;
  /** @internal in the bus's ready list, at this index (-1 when not). */
  inReady = false;
  readyIndex = -1;
  /** @internal fast arbitration: the heap this port is in (0 none, 1 arrived, 2 waiting), its slot, its key. */
  heap = 0;
  heapSlot = -1;
  keyReady_us = 0;
  keyId = 0;
  /** @internal in the bus's list of ports whose key is stale. */
  changed = false;
  /** @internal the bus's receiver list for the identifier this port sent last (see CanBus.acceptingReceivers). */
  receiversId = -1;
  receiversGeneration = -1;
  receivers: BusPort[] | null = null;
  private babbleState: Babble | null = null;

  /** Fault knob: a disconnected port is alone on its stub: it neither reaches nor hears the bus, and gets no ACK. */
  get connected(): boolean {
    return this.connectedState;
  }
  set connected(value: boolean) {
    if (value === this.connectedState) return;
    this.connectedState = value;
    this.bus.disconnectedPorts += value ? -1 : 1;
    this.bus.arbitrationStateChanged();
    this.bus.invalidateReceivers();
  }

  /** Fault knob: a babbling port floods the bus with one frame instead of its queue. */
  get babble(): Babble | null {
    return this.babbleState;
  }
  set babble(value: Babble | null) {
    if ((this.babbleState === null) !== (value === null)) this.bus.babblingPorts += value === null ? -1 : 1;
    this.babbleState = value;
    this.bus.arbitrationStateChanged();
    if (value !== null) this.bus.markReady(this);
  }

  /** @internal whether this port may still put something on the wire (a queue or an active babble). */
  mayTransmit(): boolean {
    if (this.queue.length > 0) return true;
    const b = this.babbleState;
    return b !== null && (b.stop_us === undefined || (this.babbleNext_us ?? b.start_us ?? 0) < b.stop_us);
  }
  /** Fault knob: turns this port into a babbling node. */
  readonly faults: PortFaults = { drop: null, rxDelay_us: 0, rxJitter_us: 0 };
  /** "automatic": leaves bus-off after 128 x 11 recessive bits; "manual": only after requestRecovery(). */
  busOffRecovery: "automatic" | "manual" = "automatic";
  /** @internal the end of the last transmission on this port's stub while disconnected. */
  stubFreeAt_us = 0;
  /** @internal error-passive suspend-transmission window. */
  suspendUntil_us = 0;
  private busOff = false;
  private recoveryAt_us = Infinity;
  private babbleNext_us: number | null = null;

  constructor(private readonly bus: CanBus, readonly name: string, readonly txQueueFrames: number) {
    bus.attach(this);
  }

  /**
   * copiesData: the receiver copies the data before it returns and keeps no reference to it (a
   * device copying into its linear memory). Frames delivered only to such receivers are reused
   * for later sends instead of allocating new ones.
   */
  onReceive(receiver: Receiver, copiesData = false): void {
    this.receiver = receiver;
    this.receiverCopies = copiesData;
  }
  private receiverCopies = false;
  /** Delivered frames of this port's, ready to be filled again (see giveBack). */
  private readonly spareFrames: QueuedFrame[] = [];

  private readonly candidateScratch: Candidate = { frame: null as unknown as Frame, ready_us: 0, babble: false };

  get isBusOff(): boolean {
    return this.busOff;
  }

  /** @internal errorState === "error-passive", without making the string. */
  isErrorPassive(): boolean {
    return !this.busOff && (this.tec >= ERROR_PASSIVE_LIMIT || this.rec >= ERROR_PASSIVE_LIMIT);
  }

  get errorState(): ErrorState {
    if (this.busOff) return "bus-off";
    return this.tec >= ERROR_PASSIVE_LIMIT || this.rec >= ERROR_PASSIVE_LIMIT ? "error-passive" : "error-active";
  }

  /** The frame at the head of the transmit queue as the shared bus sees it (null while disconnected). */
  head(): Frame | null {
    return this.connected ? this.queue[0] ?? null : null;
  }

  pop(): Frame {
    const frame = this.queue.shift();
    if (frame === undefined) throw new Error("pop from an empty transmit queue");
    this.framesSent++;
    this.bus.portChanged(this);
    return frame;
  }

  pending(): number {
    return this.queue.length;
  }

  /** @internal the fast arbitration's key: candidate() for a connected port with a queue, no babble, not bus-off. */
  updateKey(): void {
    const head = this.queue[0]!;
    this.keyReady_us = Math.max(this.suspendUntil_us, head.queued_us);
    this.keyId = head.id;
  }

  /** @internal what this port puts on the wire next, and from when. */
  candidate(): Candidate | null {
    let ready = this.suspendUntil_us;
    if (this.busOff) {
      if (this.recoveryAt_us === Infinity) return null;
      ready = Math.max(ready, this.recoveryAt_us);
    }
    const b = this.babble;
    if (b !== null) {
      const next = Math.max(this.babbleNext_us ?? b.start_us ?? 0, b.start_us ?? 0);
      if (b.stop_us === undefined || next < b.stop_us) {
        return { frame: { id: b.id, data: b.data, queued_us: next, sender: this }, ready_us: Math.max(ready, next), babble: true };
      }
    }
    const head = this.queue[0];
    if (head === undefined) return null;
    // Reused: the bus reads a candidate before it asks this port for another one.
    const c = this.candidateScratch;
    c.frame = head;
    c.ready_us = Math.max(ready, head.queued_us);
    c.babble = false;
    return c;
  }

  /** @internal leaves bus-off once the recovery sequence has completed. */
  refresh(now_us: number): void {
    if (this.busOff && now_us >= this.recoveryAt_us) {
      this.busOff = false;
      this.recoveryAt_us = Infinity;
      this.tec = 0;
      if (this.rec > 0) this.bus.portsWithRec--;
      this.rec = 0;
      this.bus.busOffPorts.delete(this);
      this.bus.arbitrationStateChanged();
      this.bus.invalidateReceivers();
    }
  }

  /** @internal a successful transmission: TEC decreases by one, the frame leaves the queue. */
  transmitted(candidate: Candidate, start_us: number): void {
    if (this.tec > 0) this.tec--;
    if (candidate.babble) {
      const b = this.babble;
      this.babbleNext_us = start_us + (b?.interval_us ?? 0);
      this.framesSent++;
    } else {
      this.pop();
    }
  }

  /** @internal this port transmitted an error flag. */
  transmitError(increment: number): void {
    this.tec += increment;
    this.transmitErrors++;
  }

  /** @internal this port, as a receiver, detected an error. */
  receiveError(): void {
    if (this.rec === 0) this.bus.portsWithRec++;
    this.rec++;
    this.receiveErrors++;
  }

  /** @internal a frame was received without error (ISO 11898-1: REC - 1, or back to 119..127 from above 127; we take 127). */
  receivedOk(): void {
    if (this.rec > 127) this.rec = 127;
    else if (this.rec > 0) {
      this.rec--;
      if (this.rec === 0) this.bus.portsWithRec--;
    }
  }

  /** @internal bus-off when TEC exceeds 255. */
  checkBusOff(now_us: number, bitTime_us: number): void {
    if (this.busOff || this.tec <= BUS_OFF_LIMIT) return;
    this.busOff = true;
    this.busOffCount++;
    this.bus.busOffPorts.add(this);
    this.bus.arbitrationStateChanged();
    this.bus.invalidateReceivers();
    this.recoveryAt_us = this.busOffRecovery === "automatic" ? now_us + BUS_OFF_RECOVERY_BITS * bitTime_us : Infinity;
  }

  /** Starts bus-off recovery (what firmware does on a controller without automatic recovery). */
  requestRecovery(): void {
    if (this.busOff && this.recoveryAt_us === Infinity) {
      this.recoveryAt_us = this.bus.now_us() + BUS_OFF_RECOVERY_BITS * this.bus.bitTime_us();
    }
  }

  /** Hardware acceptance filters: [id, mask] per slot, null when the slot is disabled. */
  readonly filters: ([number, number] | null)[] = new Array<[number, number] | null>(ACCEPTANCE_FILTER_SLOTS).fill(null);
  private enabledFilters = 0;

  /** bus_filter as the ABI defines it. */
  setFilter(slot: number, id: number, mask: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= ACCEPTANCE_FILTER_SLOTS) return -1;
    if (id === -1) {
      if (this.filters[slot] !== null) this.enabledFilters--;
      this.filters[slot] = null;
      this.bus.invalidateReceivers();
      return 0;
    }
    if (id < 0 || id > 0x1fffffff || mask < 0 || mask > 0x1fffffff) return -2;
    if (this.filters[slot] === null) this.enabledFilters++;
    this.filters[slot] = [id, mask];
    this.bus.invalidateReceivers();
    return 0;
  }

  /** Whether the acceptance filters hand a frame with this identifier to the firmware. */
  accepts(id: number): boolean {
    if (this.enabledFilters === 0) return true;
    for (const f of this.filters) if (f !== null && (id & f[1]) === (f[0] & f[1])) return true;
    return false;
  }

  receive(frame: Frame, time_us: number): void {
    if (!this.connected || this.receiver === null) return;
    this.framesReceived++;
    this.receiver(frame.id, frame.data, time_us);
  }

  /** @internal whether this port's receiver may keep a delivered frame's data after it returns. */
  keepsFrames(): boolean {
    return this.receiver !== null && !this.receiverCopies;
  }

  send(id: number, data: Uint8Array): number {
    const status = this.admit(id, data.length);
    if (status !== 0) return status;
    const frame = this.frameToFill(data.length);
    for (let i = 0; i < data.length; i++) frame.data[i] = data[i]!;
    return this.enqueue(frame, id);
  }

  /** The checks of a send, in the order the ABI's return codes rank them: 0 when the frame may be queued. */
  private admit(id: number, length: number): number {
    if (length > 8 || id < 0 || id > (this.bus.extendedIds ? 0x1fffffff : 0x7ff)) return -2;
    if (this.busOff) this.refresh(this.bus.now_us());
    if (this.busOff) {
      this.refusedBusOff++;
      return -3;
    }
    if (this.queue.length >= this.txQueueFrames) {
      this.refusedFull++;
      return -1;
    }
    return 0;
  }

  /** A frame of this port's to fill with `length` bytes: a delivered one given back by the bus, or a new one. */
  private frameToFill(length: number): QueuedFrame {
    const frame = this.spareFrames.pop() ?? new QueuedFrame(this);
    frame.resize(length);
    return frame;
  }

  /** @internal the bus is done with a frame this port sent: no one holds it any more, so a later send may fill it again. */
  giveBack(frame: Frame): void {
    if (frame instanceof QueuedFrame && frame.sender === this && this.spareFrames.length < this.txQueueFrames) this.spareFrames.push(frame);
  }

  private enqueue(frame: QueuedFrame, id: number): number {
    frame.id = id;
    frame.queued_us = this.bus.now_us();
    const queue = this.queue;
    queue.push(frame);
    if (queue.length === 1) this.bus.portChanged(this);
    this.bus.markReady(this);
    return 0;
  }

  /** The HAL's bus_send / vehicle_send: length checked, the bytes copied out of firmware memory, queued. */
  protected sendFromMemory(memory: MemoryAccess, id: number, ptr: number, length: number): number {
    if (length < 0 || length > 8) return -2;
    // A buffer outside memory traps whatever the bus state, as the copy used to come first.
    const bytes = checkedBytes(memory, ptr, length);
    const status = this.admit(id >>> 0, length);
    if (status !== 0) return status;
    const frame = this.frameToFill(length);
    const data = frame.data;
    for (let i = 0; i < length; i++) data[i] = bytes[ptr + i]!;
    return this.enqueue(frame, id >>> 0);
  }

  /** bus_status as the ABI defines it: REC bits 0-7, TEC bits 8-15 (both saturated), state bits 16-17, queue bits 24-31. */
  status(): number {
    this.refresh(this.bus.now_us());
    return Math.min(255, this.rec) | (Math.min(255, this.tec) << 8) | (ERROR_STATE_CODE[this.errorState] << 16) | (Math.min(255, this.queue.length) << 24);
  }

  imports(memory: MemoryAccess): Record<string, HalImport> {
    return {
      bus_send: (id: number, ptr: number, length: number): number => this.sendFromMemory(memory, id, ptr, length),
      bus_status: (): number => this.status(),
      bus_filter: (slot: number, id: number, mask: number): number => this.setFilter(slot, id, mask),
    };
  }
}

/** The controller's vehicle-bus port: the same CAN model on its own bus, behind the "vehicle" HAL group. */
export class VehiclePort extends BusPort {
  override readonly group: string = "vehicle";

  override imports(memory: MemoryAccess): Record<string, HalImport> {
    return {
      vehicle_send: (id: number, ptr: number, length: number): number => this.sendFromMemory(memory, id, ptr, length),
      vehicle_status: (): number => this.status(),
    };
  }
}
