// Shared by the record store specs: deterministic payloads named by (type, version), and a model
// of what the store must return for every type.
import { RecordStore, StoreError } from "../../../assembly/storage/record-store";

export const PAYLOAD_BUFFER_BYTES: i32 = 512;

/** Byte i of version `version` of type `type` (version 0 means "no record"). */
export function payloadByte(type: i32, version: i32, i: i32): u8 {
  let h = <u32>(type * 0x9e3779b1) ^ <u32>(version * 0x85ebca77) ^ <u32>(i * 0xc2b2ae3d);
  h ^= h >>> 15;
  h *= 0x2c1b3c6d;
  h ^= h >>> 12;
  return <u8>h;
}

/** A length in 0..maxLength-1 for (type, version), so records of one type change size. */
export function payloadLength(type: i32, version: i32, maxLength: i32): i32 {
  return <i32>(<u32>payloadByte(type, version, -1) * 257 + <u32>payloadByte(type, version, -2)) % maxLength;
}

export function fillPayload(ptr: usize, type: i32, version: i32, length: i32): void {
  for (let i = 0; i < length; i++) store<u8>(ptr + <usize>i, payloadByte(type, version, i));
}

export function payloadMatches(ptr: usize, type: i32, version: i32, length: i32): bool {
  for (let i = 0; i < length; i++) if (load<u8>(ptr + <usize>i) != payloadByte(type, version, i)) return false;
  return true;
}

/** What the store must hold: the committed version and length of each type (version 0: none). */
export class Model {
  versions: StaticArray<i32>;
  lengths: StaticArray<i32>;
  constructor(types: i32) {
    this.versions = new StaticArray<i32>(types + 1);
    this.lengths = new StaticArray<i32>(types + 1);
  }
  set(type: i32, version: i32, length: i32): void {
    this.versions[type] = version;
    this.lengths[type] = length;
  }
  copyFrom(other: Model): void {
    for (let t = 0; t < this.versions.length; t++) {
      this.versions[t] = other.versions[t];
      this.lengths[t] = other.lengths[t];
    }
  }
}

/**
 * Reads type from the store and says which of two candidate versions it is: the version, 0 when
 * the store has no record and 0 is a candidate, -1 for anything else (wrong bytes, an error).
 */
export function readVersion(
  store: RecordStore, type: i32, buffer: usize,
  versionA: i32, lengthA: i32, versionB: i32, lengthB: i32,
): i32 {
  const length = store.readLatest(type, buffer, PAYLOAD_BUFFER_BYTES);
  if (length == StoreError.NOT_FOUND) return versionA == 0 || versionB == 0 ? 0 : -1;
  if (length < 0) return -1;
  if (versionA != 0 && length == lengthA && payloadMatches(buffer, type, versionA, length)) return versionA;
  if (versionB != 0 && length == lengthB && payloadMatches(buffer, type, versionB, length)) return versionB;
  return -1;
}

/** True when the store returns exactly what the model holds, for every type 1..types. */
export function storeMatches(store: RecordStore, model: Model, buffer: usize): bool {
  for (let t = 1; t < model.versions.length; t++) {
    const v = model.versions[t];
    if (readVersion(store, t, buffer, v, model.lengths[t], v, model.lengths[t]) != v) return false;
  }
  return true;
}
