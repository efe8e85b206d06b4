// CRC-32 as in IEEE 802.3 (Ethernet FCS) and zlib: reflected polynomial 0xEDB88320 (normal form
// 0x04C11DB7), initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. Check value for the ASCII bytes
// "123456789" is 0xCBF43926 (the "CRC-32/ISO-HDLC" entry of the CRC RevEng catalogue).
//
// Four bits at a time with a 16-entry table (64 bytes of static data, no init code): two table
// steps per byte. Measured with bench/estimation-cost.ts: 40 WebAssembly instructions per byte
// (about 4.5 ns per byte in V8), against about 210 for a bit-serial loop; a byte-wide table would
// roughly halve it again for 1 KiB more data in the node image (budget in host/tools/wasm-check.ts). The node checks its 3.5 KiB
// cell blob once at init (140 k instructions) and the record store checks every record it
// writes or mounts, so the 64 bytes are worth it and the kilobyte is not.

/**
 * NIBBLE_TABLE[n] = the register after shifting nibble n through four steps of the reflected
 * polynomial (tests/assembly/storage/crc32.spec.ts checks every byte value against a bit-serial CRC).
 */
const NIBBLE_TABLE: usize = memory.data<u32>([
  0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
  0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
]);

/** Reflected form of the IEEE 802.3 generator polynomial. */
export const CRC32_POLYNOMIAL_REFLECTED: u32 = 0xedb88320;
export const CRC32_INITIAL: u32 = 0xffffffff;
export const CRC32_FINAL_XOR: u32 = 0xffffffff;

/** Table entry for a nibble (index masked to 0..15, so always inside the 16-entry table). */
// @ts-ignore: decorator
@inline
function nibbleStep(c: u32): u32 {
  return (c >>> 4) ^ load<u32>(NIBBLE_TABLE + ((<usize>c & 15) << 2));
}

/** Continues a CRC-32 register over one byte (no final XOR). */
// @ts-ignore: decorator
@inline
export function crc32Update(crc: u32, byte: u32): u32 {
  return nibbleStep(nibbleStep(crc ^ (byte & 0xff)));
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
