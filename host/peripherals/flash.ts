// NOR flash as the board describes it: sectors erased to 0xFF, programming can only clear bits,
// program addresses aligned to the program unit, an erase counter per sector. On top of that, what
// the real part does that firmware must survive: program and erase take time (the HAL call
// blocks), sectors wear out, power can fail in the middle of an operation, and programmed cells
// lose charge over the years.
import type { Peripheral, HalImport, MemoryAccess } from "./types.ts";
import { checkedView } from "./types.ts";
import type { BoardDefinition } from "../boards.ts";
import type { Random } from "../random.ts";
import { BusyTime, type Limits, type Corner } from "./busy.ts";

/** Timing and endurance of a flash part. */
export interface FlashPart {
  name: string;
  source: string;
  /** Bytes written per internal program step (the program parallelism). */
  programStep_B: number;
  /** Time of one program step, µs. */
  programStep_us: Limits;
  /** Time to erase one sector, ms. */
  sectorErase_ms: Limits;
  /** Program/erase cycles per sector the part is rated for (a minimum). */
  endurance_cycles: number;
}

/**
 * STM32F405/407 embedded flash at 32-bit program parallelism (2.7-3.6 V). ST DS8626 (STM32F405xx/
 * STM32F407xx datasheet), "Flash memory programming" characteristics: word programming time 16 µs
 * typical, 100 µs maximum; 16 KB sector erase 250 ms typical, 500 ms maximum (x32); endurance
 * 10 kcycles minimum ("Flash memory endurance and data retention"). The board's 4 KB sector is
 * erased in the time of the part's smallest (16 KB) sector.
 */
export const STM32F4_FLASH: FlashPart = {
  name: "STM32F405/407 embedded flash, x32",
  source: "ST DS8626, Flash memory programming; Flash memory endurance and data retention",
  programStep_B: 4,
  programStep_us: { typical: 16, maximum: 100 },
  sectorErase_ms: { typical: 250, maximum: 500 },
  endurance_cycles: 10_000,
};

/** Thrown from a flash HAL call when power fails during it, and from any flash call until power returns. */
export class PowerLossError extends Error {
  constructor(readonly operation: "program" | "erase" | "read", readonly target: number) {
    super(`power lost during flash ${operation} at ${operation === "erase" ? "sector" : "address"} ${target}; the device is off until restorePower()`);
    this.name = "PowerLossError";
  }
}

/** What happens to a sector erased more often than the part's rated endurance. */
export interface WearOut {
  /** Chance that such an erase fails (returns -3 and leaves the sector partly erased). */
  eraseFailureProbability: number;
  /** Bits of the sector that become stuck at 0 with each such erase. */
  stuckBitsPerErase: number;
}

export interface FlashOptions {
  /** The run's seeded generator, for power-loss outcomes, wear-out and retention flips. */
  random?: Random;
  part?: FlashPart;
  corner?: Corner;
  /** Erase counts carried over with an image from another unit. */
  eraseCounts?: Uint32Array;
}

interface PowerCut {
  atOperation: number;
  fraction: number | undefined;
  seen: number;
}

export class FlashPeripheral implements Peripheral {
  readonly group = "flash";
  readonly sectorSize: number;
  readonly sectorCount: number;
  readonly programUnit: number;
  readonly data: Uint8Array;
  readonly eraseCounts: Uint32Array;
  /** Bits stuck at 0 by wear (1 = stuck), the same layout as data. */
  readonly stuckZero: Uint8Array;
  programs = 0;
  erases = 0;
  /** Time the firmware spent blocked in flash_program and flash_erase. */
  readonly busy = new BusyTime();
  part: FlashPart;
  /** Which datasheet column the durations come from. */
  corner: Corner;
  /** Fault knob: every operation fails with -3 (a dead device). */
  failAll = false;
  /** Fault knob: wear-out beyond the rated endurance; off by default (the datasheet rates a minimum, not a failure rate). */
  wearOut: WearOut | null = null;
  /** False after a power cut, until restorePower(). */
  powered = true;
  random: Random | null;
  private cut: PowerCut | null = null;

  constructor(board: BoardDefinition, image?: Uint8Array, options: FlashOptions = {}) {
    this.sectorSize = board.flash.sectorSize_B;
    this.sectorCount = board.flash.sectorCount;
    this.programUnit = board.flash.programUnit_B;
    this.data = new Uint8Array(this.sectorSize * this.sectorCount).fill(0xff);
    this.stuckZero = new Uint8Array(this.data.length);
    this.eraseCounts = new Uint32Array(this.sectorCount);
    this.part = options.part ?? STM32F4_FLASH;
    this.corner = options.corner ?? "typical";
    this.random = options.random ?? null;
    if (image !== undefined) {
      if (image.length !== this.data.length) {
        throw new Error(`flash image is ${image.length} bytes, the board's flash is ${this.data.length}`);
      }
      this.data.set(image);
    }
    if (options.eraseCounts !== undefined) {
      if (options.eraseCounts.length !== this.sectorCount) throw new Error(`erase counts for ${options.eraseCounts.length} sectors, the board's flash has ${this.sectorCount}`);
      this.eraseCounts.set(options.eraseCounts);
    }
  }

  /** Total blocking time so far, µs. */
  get busy_us(): number {
    return this.busy.total_us;
  }

  programDuration_us(length: number): number {
    return Math.ceil(length / this.part.programStep_B) * this.part.programStep_us[this.corner];
  }

  eraseDuration_us(): number {
    return this.part.sectorErase_ms[this.corner] * 1000;
  }

  /**
   * Fault knob: power fails during the k-th program or erase from now (k = 1: the next one), at
   * `fraction` (0..1) of its duration. Without a fraction every bit the operation changes is left
   * indeterminate; with one, a program has finished the steps before that point, and an erase has
   * raised each programmed bit with that probability.
   */
  cutPowerDuring(operation: number, fraction?: number): void {
    if (!Number.isInteger(operation) || operation < 1) throw new Error(`power cut operation must be 1, 2, ... (got ${operation})`);
    if (fraction !== undefined && !(fraction >= 0 && fraction <= 1)) throw new Error(`power cut fraction must be in 0..1 (got ${fraction})`);
    this.cut = { atOperation: operation, fraction, seen: 0 };
  }

  restorePower(): void {
    this.powered = true;
  }

  private rng(): Random {
    if (this.random === null) throw new Error("this flash fault needs the run's seeded Random (FlashOptions.random)");
    return this.random;
  }

  /** True when the power cut is armed for this operation (and consumes it). */
  private cutNow(): PowerCut | null {
    const cut = this.cut;
    if (cut === null) return null;
    cut.seen++;
    if (cut.seen < cut.atOperation) return null;
    this.cut = null;
    return cut;
  }

  private requirePower(operation: "program" | "erase" | "read", target: number): void {
    if (!this.powered) throw new PowerLossError(operation, target);
  }

  read(address: number, length: number): Uint8Array | null {
    this.requirePower("read", address);
    if (this.failAll) return null;
    if (address < 0 || length < 0 || address + length > this.data.length) return null;
    return this.data.subarray(address, address + length);
  }

  program(address: number, bytes: Uint8Array): number {
    this.requirePower("program", address);
    if (this.failAll) return -3;
    if (address < 0 || address + bytes.length > this.data.length) return -1;
    if (address % this.programUnit !== 0 || bytes.length % this.programUnit !== 0) return -2;
    const cut = this.cutNow();
    if (cut !== null) {
      this.interruptedProgram(address, bytes, cut.fraction);
      this.busy.add(this.programDuration_us(bytes.length) * (cut.fraction ?? 1));
      this.powered = false;
      throw new PowerLossError("program", address);
    }
    for (let i = 0; i < bytes.length; i++) this.data[address + i]! &= bytes[i]!;
    this.programs++;
    this.busy.add(this.programDuration_us(bytes.length));
    return 0;
  }

  /** Steps before the cut are programmed, the step under way has each bit it clears at either value, later steps are untouched. */
  private interruptedProgram(address: number, bytes: Uint8Array, fraction: number | undefined): void {
    const step = this.part.programStep_B;
    const steps = Math.ceil(bytes.length / step);
    const done = fraction === undefined ? 0 : Math.min(steps, Math.floor(fraction * steps));
    const uncertainTo = fraction === undefined ? steps : Math.min(steps, done + 1);
    const random = this.rng();
    for (let i = 0; i < Math.min(bytes.length, done * step); i++) this.data[address + i]! &= bytes[i]!;
    for (let i = done * step; i < Math.min(bytes.length, uncertainTo * step); i++) {
      const old = this.data[address + i]!;
      const clearing = old & ~bytes[i]! & 0xff;
      const cleared = clearing & random.nextUint32() & 0xff;
      this.data[address + i] = old & ~cleared & 0xff;
    }
  }

  erase(sector: number): number {
    this.requirePower("erase", sector);
    if (this.failAll) return -3;
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.sectorCount) return -1;
    const start = sector * this.sectorSize;
    const end = start + this.sectorSize;
    this.eraseCounts[sector]!++;
    this.erases++;
    const cut = this.cutNow();
    if (cut !== null) {
      this.partialErase(start, end, cut.fraction ?? 0.5);
      this.busy.add(this.eraseDuration_us() * (cut.fraction ?? 1));
      this.powered = false;
      throw new PowerLossError("erase", sector);
    }
    this.busy.add(this.eraseDuration_us());
    const worn = this.wearOut !== null && this.eraseCounts[sector]! > this.part.endurance_cycles ? this.wearOut : null;
    if (worn !== null) {
      const random = this.rng();
      for (let k = 0; k < worn.stuckBitsPerErase; k++) {
        const bit = start * 8 + random.int(this.sectorSize * 8);
        this.stuckZero[bit >> 3]! |= 1 << (bit & 7);
      }
      if (random.next() < worn.eraseFailureProbability) {
        this.partialErase(start, end, 0.5);
        return -3;
      }
    }
    for (let i = start; i < end; i++) this.data[i] = 0xff & ~this.stuckZero[i]!;
    return 0;
  }

  /** Each programmed bit of [start, end) goes back to 1 with probability p; bits only move towards 1. */
  private partialErase(start: number, end: number, p: number): void {
    const random = this.rng();
    for (let i = start; i < end; i++) {
      let raised = 0;
      for (let b = 0; b < 8; b++) if (random.next() < p) raised |= 1 << b;
      this.data[i] = (this.data[i]! | raised) & ~this.stuckZero[i]! & 0xff;
    }
  }

  /**
   * Fault knob: retention loss. Flips `count` programmed bits (0 -> 1, charge lost from the floating
   * gate) chosen uniformly among the 0 bits of [start, end). Returns how many were flipped.
   */
  flipRetentionBits(count: number, start = 0, end = this.data.length, random: Random | null = this.random): number {
    if (random === null) throw new Error("retention flips need the run's seeded Random");
    const zeros: number[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.data.length); i++) {
      const byte = this.data[i]!;
      if (byte === 0xff) continue;
      for (let b = 0; b < 8; b++) if ((byte & (1 << b)) === 0 && (this.stuckZero[i]! & (1 << b)) === 0) zeros.push(i * 8 + b);
    }
    const n = Math.min(count, zeros.length);
    for (let k = 0; k < n; k++) {
      const j = k + random.int(zeros.length - k);
      const bit = zeros[j]!;
      zeros[j] = zeros[k]!;
      this.data[bit >> 3]! |= 1 << (bit & 7);
    }
    return n;
  }

  /** Sectors erased more often than the part's rated endurance. */
  wornSectors(): number[] {
    return [...this.eraseCounts.keys()].filter((s) => this.eraseCounts[s]! > this.part.endurance_cycles);
  }

  /** A copy of the whole array: construct another unit's flash from it to carry a record across packs. */
  snapshot(): Uint8Array {
    return this.data.slice();
  }

  imports(memory: MemoryAccess): Record<string, HalImport> {
    return {
      flash_read: (address: number, ptr: number, length: number): number => {
        const target = checkedView(memory, ptr, length);
        const source = this.read(address, length);
        if (source === null) return this.failAll ? -3 : -1;
        target.set(source);
        return 0;
      },
      flash_program: (address: number, ptr: number, length: number): number =>
        this.program(address, checkedView(memory, ptr, length)),
      flash_erase: (sector: number): number => this.erase(sector),
    };
  }
}
