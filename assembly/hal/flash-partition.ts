// The board's flash as the record store sees it (assembly/storage/flash-device.ts): a partition of
// whole sectors starting at firstSector, so sector 0 can hold provisioning data (the cell
// parameter blob on a node, the pack configuration on a controller) that the store never erases.
// Shared by both firmware images.
import { flash_read, flash_program, flash_erase } from "./abi";
import { FlashDevice } from "../storage/flash-device";

export class FlashPartition extends FlashDevice {
  readonly firstSector: i32;
  readonly baseAddress: i32;

  constructor(boardSectorSize: i32, firstSector: i32, sectorCount: i32, programUnit: i32) {
    super(boardSectorSize, sectorCount, programUnit);
    this.firstSector = firstSector;
    this.baseAddress = firstSector * boardSectorSize;
  }

  read(address: i32, ptr: usize, length: i32): i32 {
    if (address < 0 || length < 0 || address + length > this.sectorSize * this.sectorCount) return -1;
    return flash_read(this.baseAddress + address, <i32>ptr, length);
  }

  program(address: i32, ptr: usize, length: i32): i32 {
    if (address < 0 || length < 0 || address + length > this.sectorSize * this.sectorCount) return -1;
    return flash_program(this.baseAddress + address, <i32>ptr, length);
  }

  erase(sector: i32): i32 {
    if (sector < 0 || sector >= this.sectorCount) return -1;
    return flash_erase(this.firstSector + sector);
  }
}
