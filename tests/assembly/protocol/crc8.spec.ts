import { crc8, crc8Update, crc8UpdateBitwise } from "../../../assembly/protocol/crc8";

describe("crc8 lookup table", () => {
  it("matches the bit-wise definition for every register value and byte", () => {
    for (let crc: u32 = 0; crc < 256; crc += 17) {
      for (let byte: u32 = 0; byte < 256; byte++) {
        expect(crc8Update(crc, byte)).toBe(crc8UpdateBitwise(crc, byte));
      }
    }
    for (let byte: u32 = 0; byte < 256; byte++) expect(crc8Update(0, byte)).toBe(crc8UpdateBitwise(0, byte));
  });
  it("gives the catalogued check value over the table", () => {
    const data = memory.data(9);
    for (let i = 0; i < 9; i++) store<u8>(data + <usize>i, <u8>(0x31 + i));
    expect(crc8(data, 9)).toBe(0x4b);
  });
});
