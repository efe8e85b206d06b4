import { crc32, crc32Continue, crc32Update, CRC32_INITIAL, CRC32_FINAL_XOR, CRC32_POLYNOMIAL_REFLECTED } from "../../../assembly/storage/crc32";

/** The definition, one bit at a time: the reference the nibble table must reproduce. */
function bitSerialUpdate(crc: u32, byte: u32): u32 {
  let c = crc ^ byte;
  for (let bit = 0; bit < 8; bit++) c = (c & 1) != 0 ? (c >>> 1) ^ CRC32_POLYNOMIAL_REFLECTED : c >>> 1;
  return c;
}

const buffer = memory.data(64);

function bytesOf(text: string): usize {
  for (let i = 0; i < text.length; i++) store<u8>(buffer + <usize>i, <u8>text.charCodeAt(i));
  return buffer;
}

describe("crc32 (IEEE 802.3)", () => {
  it("gives the catalogued check value 0xCBF43926 for '123456789'", () => {
    expect(crc32(bytesOf("123456789"), 9)).toBe(0xcbf43926);
  });
  it("matches zlib's crc32 of a pangram (0x414FA339)", () => {
    const text = "The quick brown fox jumps over the lazy dog";
    expect(crc32(bytesOf(text), text.length)).toBe(0x414fa339);
  });
  it("matches the bit-serial definition for every byte value and register pattern", () => {
    const registers: StaticArray<u32> = [0xffffffff, 0, 0x12345678, 0x80000001, 0xcbf43926];
    for (let r = 0; r < registers.length; r++) {
      for (let b: u32 = 0; b < 256; b++) expect(crc32Update(registers[r], b)).toBe(bitSerialUpdate(registers[r], b));
    }
  });
  it("of no bytes is 0", () => {
    expect(crc32(buffer, 0)).toBe(0);
  });
  it("gives the same result over pieces as over the whole", () => {
    const text = "123456789";
    const ptr = bytesOf(text);
    const first = crc32Continue(CRC32_INITIAL, ptr, 4);
    expect(crc32Continue(first, ptr + 4, 5) ^ CRC32_FINAL_XOR).toBe(0xcbf43926);
  });
  it("detects every single-bit error in a 32-byte block", () => {
    for (let i = 0; i < 32; i++) store<u8>(buffer + <usize>i, <u8>(i * 53 + 7));
    const good = crc32(buffer, 32);
    for (let bit = 0; bit < 256; bit++) {
      const address = buffer + <usize>(bit >> 3);
      store<u8>(address, <u8>(<i32>load<u8>(address) ^ (1 << (bit & 7))));
      expect(crc32(buffer, 32)).not.toBe(good);
      store<u8>(address, <u8>(<i32>load<u8>(address) ^ (1 << (bit & 7))));
    }
  });
});
