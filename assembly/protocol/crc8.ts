// CRC-8/SAE-J1850: polynomial 0x1D, initial value 0xFF, final XOR 0xFF, no reflection.
// The CRC of the AUTOSAR E2E profiles 1 and 2 (AUTOSAR_SWS_CRCLibrary, Crc_CalculateCRC8);
// check value for the ASCII bytes "123456789" is 0x4B.

const POLYNOMIAL: u32 = 0x1d;

/** Continues a CRC-8/SAE-J1850 register over one byte (no final XOR). */
// @ts-ignore: decorator
@inline
export function crc8Update(crc: u32, byte: u32): u32 {
  let c = (crc ^ byte) & 0xff;
  for (let bit = 0; bit < 8; bit++) {
    c = (c & 0x80) != 0 ? ((c << 1) ^ POLYNOMIAL) & 0xff : (c << 1) & 0xff;
  }
  return c;
}

export const CRC8_INITIAL: u32 = 0xff;
export const CRC8_FINAL_XOR: u32 = 0xff;

/** CRC-8/SAE-J1850 of length bytes at ptr. */
export function crc8(ptr: usize, length: i32): u32 {
  let crc = CRC8_INITIAL;
  for (let i = 0; i < length; i++) crc = crc8Update(crc, <u32>load<u8>(ptr + <usize>i));
  return crc ^ CRC8_FINAL_XOR;
}
