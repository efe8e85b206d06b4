// NOR flash as the board describes it: sectors erased to 0xFF, programming can only clear bits,
// program addresses aligned to the program unit, an erase counter per sector.
import type { Peripheral, HalImport, MemoryAccess } from "./types.ts";
import { checkedView } from "./types.ts";
import type { BoardDefinition } from "../boards.ts";

export class FlashPeripheral implements Peripheral {
  readonly group = "flash";
  readonly sectorSize: number;
  readonly sectorCount: number;
  readonly programUnit: number;
  readonly data: Uint8Array;
  readonly eraseCounts: Uint32Array;
  programs = 0;
  erases = 0;
  /** Fault knob: every operation fails with -3 (a dead device). */
  failAll = false;

  constructor(board: BoardDefinition, image?: Uint8Array) {
    this.sectorSize = board.flash.sectorSize_B;
    this.sectorCount = board.flash.sectorCount;
    this.programUnit = board.flash.programUnit_B;
    this.data = new Uint8Array(this.sectorSize * this.sectorCount).fill(0xff);
    this.eraseCounts = new Uint32Array(this.sectorCount);
    if (image !== undefined) {
      if (image.length !== this.data.length) {
        throw new Error(`flash image is ${image.length} bytes, the board's flash is ${this.data.length}`);
      }
      this.data.set(image);
    }
  }

  read(address: number, length: number): Uint8Array | null {
    if (this.failAll) return null;
    if (address < 0 || length < 0 || address + length > this.data.length) return null;
    return this.data.subarray(address, address + length);
  }

  program(address: number, bytes: Uint8Array): number {
    if (this.failAll) return -3;
    if (address < 0 || address + bytes.length > this.data.length) return -1;
    if (address % this.programUnit !== 0 || bytes.length % this.programUnit !== 0) return -2;
    for (let i = 0; i < bytes.length; i++) this.data[address + i]! &= bytes[i]!;
    this.programs++;
    return 0;
  }

  erase(sector: number): number {
    if (this.failAll) return -3;
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.sectorCount) return -1;
    this.data.fill(0xff, sector * this.sectorSize, (sector + 1) * this.sectorSize);
    this.eraseCounts[sector]!++;
    this.erases++;
    return 0;
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
