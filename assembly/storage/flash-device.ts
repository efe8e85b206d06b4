// The flash the record store works through. The store never imports from assembly/hal: the node
// wires this contract to flash_read / flash_program / flash_erase (docs/hal-abi.md), the tests to
// a NOR-faithful array in RAM. Same return conventions as the HAL: 0 ok, negative on error.

export abstract class FlashDevice {
  /** Erase sector size in bytes (FLASH_SECTOR_SIZE_B). */
  sectorSize: i32;
  /** Sectors in the store's partition (FLASH_SECTOR_COUNT); addresses run 0..sectorSize*sectorCount-1. */
  sectorCount: i32;
  /** Smallest programmable unit in bytes (FLASH_PROGRAM_UNIT_B); a power of two. */
  programUnit: i32;

  constructor(sectorSize: i32, sectorCount: i32, programUnit: i32) {
    this.sectorSize = sectorSize;
    this.sectorCount = sectorCount;
    this.programUnit = programUnit;
  }

  /** Copies length bytes from flash address into linear memory at ptr. 0 ok; negative on error. */
  abstract read(address: i32, ptr: usize, length: i32): i32;
  /**
   * Programs length bytes from ptr at address: bits can only go from 1 to 0. address and length are
   * multiples of programUnit. 0 ok; negative on error.
   */
  abstract program(address: i32, ptr: usize, length: i32): i32;
  /** Sets every byte of one sector to 0xFF. 0 ok; negative on error. */
  abstract erase(sector: i32): i32;
}
