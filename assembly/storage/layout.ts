// On-flash format of the record store, version 1: the one source of truth for every offset and
// constant; docs/flash-store.md describes the same bytes and tests/assembly/storage checks them.
// All multi-byte fields are little-endian (the byte order of WebAssembly and of Cortex-M).

export const STORE_FORMAT_VERSION: u8 = 1;

/** Bytes "ST" at the start of every sector that has been opened by the store. */
export const SECTOR_MAGIC: u16 = 0x5453;
/** Bytes "RC" at the start of every record. */
export const RECORD_MAGIC: u16 = 0x4352;
/** Reserved header byte, left erased (0xFF) so a later format version can clear bits in place. */
export const RESERVED_BYTE: u8 = 0xff;
/**
 * Programmed last, in a program operation of its own, to commit a record or a sector. A program
 * cut by power loss clears only some of the bits it was clearing (NOR: programming moves bits
 * from 1 to 0 and nothing else), so an interrupted commit reads as this pattern with some 0s
 * still 1 and fails the exact comparison. Neither erased (0xFFFFFFFF) nor zeroed (0x00000000)
 * flash matches it.
 */
export const COMMIT_WORD: u32 = 0x5aa5c33c;

// Sector header: programmed at offset 0 of a sector when the store opens it.
export const SECTOR_MAGIC_OFFSET: i32 = 0; // u16
export const SECTOR_VERSION_OFFSET: i32 = 2; // u8
export const SECTOR_RESERVED_OFFSET: i32 = 3; // u8, 0xFF
export const SECTOR_EPOCH_OFFSET: i32 = 4; // u32, +1 each time a sector is opened; highest = active
export const SECTOR_ERASE_COUNT_OFFSET: i32 = 8; // u32, erases of this sector known to the store
export const SECTOR_CRC_OFFSET: i32 = 12; // u32, CRC-32 of bytes 0..11
export const SECTOR_HEADER_BYTES: i32 = 16;

// Record: header, payload, CRC-32, padding to the program unit, then the commit unit.
export const RECORD_MAGIC_OFFSET: i32 = 0; // u16
export const RECORD_VERSION_OFFSET: i32 = 2; // u8
export const RECORD_RESERVED_OFFSET: i32 = 3; // u8, 0xFF
export const RECORD_TYPE_OFFSET: i32 = 4; // u16
export const RECORD_LENGTH_OFFSET: i32 = 6; // u16, payload bytes
export const RECORD_SEQUENCE_OFFSET: i32 = 8; // u32
export const RECORD_HEADER_BYTES: i32 = 12; // payload starts here; CRC-32 follows the payload
export const CRC_BYTES: i32 = 4;
export const COMMIT_BYTES: i32 = 4;

/** Record types are chosen by the firmware; 0 means "any type" to a cursor, 0xFFFF is erased flash. */
export const RECORD_TYPE_MIN: i32 = 1;
export const RECORD_TYPE_MAX: i32 = 0xfffe;
export const RECORD_LENGTH_MAX: i32 = 0xffff;

/** Rounds n up to a multiple of unit (a power of two). */
// @ts-ignore: decorator
@inline
export function alignUp(n: i32, unit: i32): i32 {
  return (n + unit - 1) & ~(unit - 1);
}

/** Bytes the commit word occupies: one program operation of whole program units. */
export function commitSpan(programUnit: i32): i32 {
  return alignUp(COMMIT_BYTES, programUnit);
}

/** Offset of the sector commit word. */
export function sectorCommitOffset(programUnit: i32): i32 {
  return alignUp(SECTOR_HEADER_BYTES, programUnit);
}

/** Bytes of a sector taken by its header and commit; the first record starts here. */
export function sectorHeaderSpan(programUnit: i32): i32 {
  return sectorCommitOffset(programUnit) + commitSpan(programUnit);
}

/** Header, payload and CRC, padded with 0xFF to the program unit; the commit word follows. */
export function recordBodySpan(length: i32, programUnit: i32): i32 {
  return alignUp(RECORD_HEADER_BYTES + length + CRC_BYTES, programUnit);
}

/** Flash bytes one record with a payload of length bytes occupies, commit included. */
export function recordSpan(length: i32, programUnit: i32): i32 {
  return recordBodySpan(length, programUnit) + commitSpan(programUnit);
}

/** Whole records with this payload length that fit in one freshly opened sector. */
export function recordsPerSector(length: i32, sectorSize: i32, programUnit: i32): i32 {
  return (sectorSize - sectorHeaderSpan(programUnit)) / recordSpan(length, programUnit);
}
