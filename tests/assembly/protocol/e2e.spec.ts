import { crc8 } from "../../../assembly/protocol/crc8";
import { e2eCrc, e2eProtect, e2eCheck, e2eNextCounter, E2eStatus, E2E_COUNTER_MODULO } from "../../../assembly/protocol/e2e";

function bytesOf(text: string): usize {
  const buffer = memory.data(16);
  for (let i = 0; i < text.length; i++) store<u8>(buffer + <usize>i, <u8>text.charCodeAt(i));
  return buffer;
}

describe("crc8 (SAE J1850)", () => {
  it("gives the catalogued check value 0x4B for '123456789'", () => {
    expect(crc8(bytesOf("123456789"), 9)).toBe(0x4b);
  });
  it("of no bytes is the initial value XOR the final XOR", () => {
    expect(crc8(bytesOf(""), 0)).toBe(0x00);
  });
  it("detects every single-bit error in an 8-byte frame", () => {
    const frame = memory.data(8);
    for (let i = 0; i < 8; i++) store<u8>(frame + <usize>i, <u8>(i * 37 + 11));
    const good = crc8(frame, 8);
    for (let bit = 0; bit < 64; bit++) {
      const address = frame + <usize>(bit >> 3);
      store<u8>(address, <u8>(<i32>load<u8>(address) ^ (1 << (bit & 7))));
      expect(crc8(frame, 8)).not.toBe(good);
      store<u8>(address, <u8>(<i32>load<u8>(address) ^ (1 << (bit & 7))));
    }
  });
});

describe("e2e protection", () => {
  const id: u32 = 0x1234567;
  it("accepts a frame it protected and rejects it under another identifier", () => {
    const frame = memory.data(8);
    for (let i = 0; i < 8; i++) store<u8>(frame + <usize>i, <u8>(i + 1));
    e2eProtect(id, frame, 8, 5);
    expect(e2eCheck(id, frame, 8, 8, 4)).toBe(E2eStatus.OK);
    expect(e2eCheck(id ^ 1, frame, 8, 8, 4)).toBe(E2eStatus.BAD_CRC);
  });
  it("binds the CRC to the payload", () => {
    const frame = memory.data(8);
    e2eProtect(id, frame, 8, 0);
    store<u8>(frame, <u8>(load<u8>(frame, 7) ^ 0x01), 7);
    expect(e2eCheck(id, frame, 8, 8, -1)).toBe(E2eStatus.BAD_CRC);
  });
  it("classifies the alive counter like AUTOSAR profile 1", () => {
    const frame = memory.data(8);
    e2eProtect(id, frame, 8, 3);
    expect(e2eCheck(id, frame, 8, 8, -1)).toBe(E2eStatus.INITIAL);
    expect(e2eCheck(id, frame, 8, 8, 3)).toBe(E2eStatus.REPEATED);
    expect(e2eCheck(id, frame, 8, 8, 2)).toBe(E2eStatus.OK);
    expect(e2eCheck(id, frame, 8, 8, 0)).toBe(E2eStatus.OK_SOME_LOST);
    expect(e2eCheck(id, frame, 8, 8, 1)).toBe(E2eStatus.OK_SOME_LOST);
    // 14 -> 3 across the wrap is a step of 4, beyond the max delta of 3
    expect(e2eCheck(id, frame, 8, 8, 14)).toBe(E2eStatus.WRONG_SEQUENCE);
    e2eProtect(id, frame, 8, 0);
    expect(e2eCheck(id, frame, 8, 8, 14)).toBe(E2eStatus.OK);
    expect(e2eCheck(id, frame, 7, 8, 2)).toBe(E2eStatus.BAD_LENGTH);
  });
  it("wraps the counter below 15", () => {
    let counter = 0;
    for (let i = 0; i < 100; i++) {
      counter = e2eNextCounter(counter);
      expect(counter).toBeLessThan(E2E_COUNTER_MODULO);
    }
    expect(e2eNextCounter(14)).toBe(0);
  });
  it("covers all four identifier bytes", () => {
    const frame = memory.data(8);
    const reference = e2eCrc(id, frame, 8);
    for (let bit = 0; bit < 29; bit++) expect(e2eCrc(id ^ (1 << bit), frame, 8)).not.toBe(reference);
  });
});
