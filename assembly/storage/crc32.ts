// CRC-32 as in IEEE 802.3 (Ethernet FCS) and zlib: reflected polynomial 0xEDB88320 (normal form
// 0x04C11DB7), initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. Check value for the ASCII bytes
// "123456789" is 0xCBF43926 (the "CRC-32/ISO-HDLC" entry of the CRC RevEng catalogue).
//
// Bit-serial, without a table: the firmware checks a cell-parameter blob (about 3.5 KiB) once at
// init and nothing per tick, so 1 KiB of RAM for a byte table would buy nothing that matters.
// Cost: 8 shift/mask/xor rounds per byte; docs/cell-blob.md gives the measured time per KiB.

/** Reflected form of the IEEE 802.3 generator polynomial. */
const POLYNOMIAL_REFLECTED: u32 = 0xedb88320;

export const CRC32_INITIAL: u32 = 0xffffffff;
export const CRC32_FINAL_XOR: u32 = 0xffffffff;

/** Continues a CRC-32 register over one byte (no final XOR). */
// @ts-ignore: decorator
@inline
export function crc32Update(crc: u32, byte: u32): u32 {
  let c = crc ^ (byte & 0xff);
  for (let bit = 0; bit < 8; bit++) {
    // Branch-free: subtract the low bit from zero to get an all-ones or all-zeros mask.
    c = (c >>> 1) ^ (POLYNOMIAL_REFLECTED & (0 - (c & 1)));
  }
  return c;
}

/** Continues a CRC-32 register over length bytes at ptr (no final XOR); for data in pieces. */
export function crc32Continue(crc: u32, ptr: usize, length: i32): u32 {
  let c = crc;
  for (let i = 0; i < length; i++) c = crc32Update(c, <u32>load<u8>(ptr + <usize>i));
  return c;
}

/** CRC-32 (IEEE 802.3) of length bytes at ptr. */
export function crc32(ptr: usize, length: i32): u32 {
  return crc32Continue(CRC32_INITIAL, ptr, length) ^ CRC32_FINAL_XOR;
}
