// A NOR flash in RAM for the record store's tests: erase sets bytes to 0xFF, program can only clear
// bits (AND), addresses and lengths must be multiples of the program unit. Power can be cut at the
// k-th low-level operation (program or erase, counted from 0); that operation is left half done
// and every later call fails until powerOn(), as after a brown-out reset.
//
// What a cut leaves, chosen by a seeded xorshift32 so every run is reproducible:
// - program: of the bits the operation was clearing, none, all, a random subset, or all in a
//   prefix of the bytes (page programming is sequential on serial NOR);
// - erase: the old bytes, all 0xFF, a per-byte mix of old bytes and 0xFF, old bytes with random
//   bits raised, or 0xFF over a prefix.
import { FlashDevice } from "../../../assembly/storage/flash-device";

/** What a device call returns once power is gone. */
export const POWER_LOST: i32 = -3;

export class RamFlash extends FlashDevice {
  data: StaticArray<u8>;
  /** 1 for a program unit programmed since its sector was last erased. */
  programmed: StaticArray<u8>;
  /** Erases per sector, interrupted ones included (they stress the cells too). */
  erases: StaticArray<i32>;
  /** Program and erase operations so far (the index the next one gets). */
  operations: i32 = 0;
  reads: i32 = 0;
  /** Operation index at which power is cut; -1: never. */
  cutAt: i32 = -1;
  powered: bool = true;
  /**
   * Programs of a unit already programmed since its erase. NOR allows them (AND), but flash with
   * ECC per program unit (STM32L4 double words, STM32H7 flash words) forbids them: the store never does.
   */
  reprograms: i32 = 0;
  private state: u32;

  constructor(sectorSize: i32, sectorCount: i32, programUnit: i32, seed: u32 = 1) {
    super(sectorSize, sectorCount, programUnit);
    this.data = new StaticArray<u8>(sectorSize * sectorCount);
    this.programmed = new StaticArray<u8>(sectorSize * sectorCount / programUnit);
    this.erases = new StaticArray<i32>(sectorCount);
    memory.fill(changetype<usize>(this.data), 0xff, <usize>(sectorSize * sectorCount));
    this.state = seed == 0 ? 0x9e3779b9 : seed;
  }

  get size(): i32 {
    return this.sectorSize * this.sectorCount;
  }

  /** xorshift32 (Marsaglia 2003). */
  random(): u32 {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return x;
  }

  reseed(seed: u32): void {
    this.state = seed == 0 ? 0x9e3779b9 : seed;
  }

  /** Cuts power at the k-th operation from now (0: the next one). */
  cutAfter(k: i32): void {
    this.cutAt = this.operations + k;
  }

  powerOn(): void {
    this.powered = true;
    this.cutAt = -1;
  }

  /** Same contents, wear and counters as other (a snapshot to replay one write from). */
  copyFrom(other: RamFlash): void {
    memory.copy(changetype<usize>(this.data), changetype<usize>(other.data), <usize>this.size);
    memory.copy(changetype<usize>(this.programmed), changetype<usize>(other.programmed), <usize>(this.size / this.programUnit));
    for (let s = 0; s < this.sectorCount; s++) this.erases[s] = other.erases[s];
    this.operations = 0;
    this.cutAt = -1;
    this.powered = true;
    this.reprograms = 0;
  }

  fillAll(byte: u8): void {
    memory.fill(changetype<usize>(this.data), byte, <usize>this.size);
  }

  fillRandom(): void {
    for (let i = 0; i < this.size; i++) this.data[i] = <u8>this.random();
  }

  flipBit(address: i32, bit: i32): void {
    this.data[address] = <u8>(<i32>this.data[address] ^ (1 << bit));
  }

  maxErases(): i32 {
    let m = this.erases[0];
    for (let s = 1; s < this.sectorCount; s++) m = max(m, this.erases[s]);
    return m;
  }

  minErases(): i32 {
    let m = this.erases[0];
    for (let s = 1; s < this.sectorCount; s++) m = min(m, this.erases[s]);
    return m;
  }

  read(address: i32, ptr: usize, length: i32): i32 {
    if (!this.powered) return POWER_LOST;
    if (address < 0 || length < 0 || address + length > this.size) return -1;
    this.reads++;
    memory.copy(ptr, changetype<usize>(this.data) + <usize>address, <usize>length);
    return 0;
  }

  program(address: i32, ptr: usize, length: i32): i32 {
    if (!this.powered) return POWER_LOST;
    if (address < 0 || length < 0 || address + length > this.size) return -1;
    if (address % this.programUnit != 0 || length % this.programUnit != 0) return -2;
    const cut = this.operations == this.cutAt;
    this.operations++;
    for (let u = address / this.programUnit; u < (address + length) / this.programUnit; u++) {
      if (this.programmed[u] != 0) this.reprograms++;
    }
    const mode = cut ? this.random() % 4 : 1;
    const prefix = cut ? <i32>(this.random() % <u32>(length + 1)) : length;
    for (let i = 0; i < length; i++) {
      const old = <u32>this.data[address + i];
      const clearing = old & ~<u32>load<u8>(ptr + <usize>i);
      let cleared: u32 = clearing;
      if (mode == 0) cleared = 0;
      else if (mode == 2) cleared = clearing & this.random();
      else if (mode == 3 && i >= prefix) cleared = 0;
      this.data[address + i] = <u8>(old & ~cleared);
      // A unit counts as programmed once the operation completed or cleared any of its bits.
      if (!cut || cleared != 0) this.programmed[(address + i) / this.programUnit] = 1;
    }
    if (cut) {
      this.powered = false;
      return POWER_LOST;
    }
    return 0;
  }

  erase(sector: i32): i32 {
    if (!this.powered) return POWER_LOST;
    if (sector < 0 || sector >= this.sectorCount) return -1;
    const cut = this.operations == this.cutAt;
    this.operations++;
    this.erases[sector]++;
    const base = sector * this.sectorSize;
    const units = this.sectorSize / this.programUnit;
    if (!cut) {
      memory.fill(changetype<usize>(this.data) + <usize>base, 0xff, <usize>this.sectorSize);
      memory.fill(changetype<usize>(this.programmed) + <usize>(base / this.programUnit), 0, <usize>units);
      return 0;
    }
    const mode = this.random() % 5;
    const prefix = <i32>(this.random() % <u32>(this.sectorSize + 1));
    for (let i = 0; i < this.sectorSize; i++) {
      const old = <u32>this.data[base + i];
      let now = old;
      if (mode == 1) now = 0xff;
      else if (mode == 2) now = (this.random() & 1) != 0 ? 0xff : old;
      else if (mode == 3) now = old | (this.random() & 0xff);
      else if (mode == 4 && i < prefix) now = 0xff;
      this.data[base + i] = <u8>now;
    }
    // A unit that reads erased counts as erased; the others stay marked as programmed.
    for (let u = 0; u < units; u++) {
      let erased = true;
      for (let i = 0; i < this.programUnit; i++) if (this.data[base + u * this.programUnit + i] != 0xff) erased = false;
      if (erased) this.programmed[base / this.programUnit + u] = 0;
    }
    this.powered = false;
    return POWER_LOST;
  }
}
