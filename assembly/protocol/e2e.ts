// End-to-end protection in the manner of AUTOSAR E2E profile 1/11 (AUTOSAR_PRS_E2EProtocol):
// byte 0 carries a CRC-8/SAE-J1850 computed over the 29-bit frame identifier (the data id:
// it binds message type, source and destination) followed by data bytes 1..n-1; the low nibble
// of byte 1 carries a 4-bit alive counter. docs/protocol.md describes the layout.
import { crc8Update, CRC8_INITIAL, CRC8_FINAL_XOR } from "./crc8";

/** The alive counter runs 0..14 and wraps; 15 is not used, as in E2E profile 1. */
export const E2E_COUNTER_MODULO: i32 = 15;
/** Largest counter step accepted as "some frames lost" (AUTOSAR MaxDeltaCounter). */
export const E2E_MAX_DELTA_COUNTER: i32 = 3;

export namespace E2eStatus {
  export const OK: i32 = 0;
  export const INITIAL: i32 = 1;
  export const OK_SOME_LOST: i32 = 2;
  export const REPEATED: i32 = 3;
  export const WRONG_SEQUENCE: i32 = 4;
  export const BAD_CRC: i32 = 5;
  export const BAD_LENGTH: i32 = 6;
}

/** The E2E CRC of a frame: identifier bytes (little-endian) then data[1..length). */
export function e2eCrc(id: u32, data: usize, length: i32): u32 {
  let crc = CRC8_INITIAL;
  crc = crc8Update(crc, id & 0xff);
  crc = crc8Update(crc, (id >> 8) & 0xff);
  crc = crc8Update(crc, (id >> 16) & 0xff);
  crc = crc8Update(crc, (id >> 24) & 0xff);
  for (let i = 1; i < length; i++) crc = crc8Update(crc, <u32>load<u8>(data + <usize>i));
  return crc ^ CRC8_FINAL_XOR;
}

/** Writes the counter into byte 1's low nibble and the CRC into byte 0. */
export function e2eProtect(id: u32, data: usize, length: i32, counter: i32): void {
  const b1 = load<u8>(data, 1);
  store<u8>(data, <u8>((b1 & 0xf0) | (counter & 0x0f)), 1);
  store<u8>(data, <u8>e2eCrc(id, data, length), 0);
}

export function e2eNextCounter(counter: i32): i32 {
  return counter + 1 >= E2E_COUNTER_MODULO ? 0 : counter + 1;
}

/**
 * Checks CRC and alive counter of a received frame against the last accepted counter
 * (-1 when nothing was received yet). Frames with status OK, INITIAL or OK_SOME_LOST are usable.
 */
export function e2eCheck(id: u32, data: usize, length: i32, expectedLength: i32, lastCounter: i32): i32 {
  if (length != expectedLength) return E2eStatus.BAD_LENGTH;
  if (<u32>load<u8>(data) != e2eCrc(id, data, length)) return E2eStatus.BAD_CRC;
  const counter = <i32>(load<u8>(data, 1) & 0x0f);
  if (counter >= E2E_COUNTER_MODULO) return E2eStatus.BAD_CRC;
  if (lastCounter < 0) return E2eStatus.INITIAL;
  let delta = counter - lastCounter;
  if (delta < 0) delta += E2E_COUNTER_MODULO;
  if (delta == 0) return E2eStatus.REPEATED;
  if (delta == 1) return E2eStatus.OK;
  if (delta <= E2E_MAX_DELTA_COUNTER) return E2eStatus.OK_SOME_LOST;
  return E2eStatus.WRONG_SEQUENCE;
}

export function e2eAccepted(status: i32): bool {
  return status == E2eStatus.OK || status == E2eStatus.INITIAL || status == E2eStatus.OK_SOME_LOST;
}

/** Alive counter carried by a frame. */
export function e2eCounterOf(data: usize): i32 {
  return <i32>(load<u8>(data, 1) & 0x0f);
}
