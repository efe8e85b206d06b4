// The host's own implementation of the end-to-end protection (docs/protocol.md), for test peers
// such as the vehicle ECU. Written independently of the firmware's assembly/protocol/e2e.ts so
// that a mistake in one does not hide in both.

/** CRC-8/SAE-J1850: poly 0x1D, init 0xFF, xorout 0xFF (AUTOSAR CRC library; check 0x4B). */
export function crc8SaeJ1850(bytes: ArrayLike<number>): number {
  let crc = 0xff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i]! & 0xff;
    for (let b = 0; b < 8; b++) crc = crc & 0x80 ? ((crc << 1) ^ 0x1d) & 0xff : (crc << 1) & 0xff;
  }
  return crc ^ 0xff;
}

/** The E2E CRC of a frame: identifier bytes (little-endian) then data[1..]. */
export function e2eCrc(id: number, data: Uint8Array): number {
  const bytes = [id & 0xff, (id >>> 8) & 0xff, (id >>> 16) & 0xff, (id >>> 24) & 0xff, ...data.subarray(1)];
  return crc8SaeJ1850(bytes);
}

/** Writes the alive counter (low nibble of byte 1) and the CRC (byte 0). */
export function e2eProtect(id: number, data: Uint8Array, counter: number): void {
  data[1] = (data[1]! & 0xf0) | (counter & 0x0f);
  data[0] = e2eCrc(id, data);
}

export function e2eValid(id: number, data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === e2eCrc(id, data) && (data[1]! & 0x0f) < 15;
}
