// The shape every emulated peripheral shares: it is configured from the board file, provides the
// HAL imports of one ABI group to one firmware instance, and exposes fault-injection knobs.

/** Access to the firmware's linear memory, valid once the instance exists. */
export interface MemoryAccess {
  bytes(): Uint8Array;
}

export type HalImport = (...args: never[]) => number | bigint | void;

export interface Peripheral {
  /** The ABI group (assembly/hal/abi.json "group") whose functions this peripheral provides. */
  readonly group: string;
  imports(memory: MemoryAccess): Record<string, HalImport>;
}

/** Thrown when a firmware passes a buffer outside its linear memory: the board traps as wasm3 would. */
export class MemoryAccessError extends Error {}

export function checkedView(memory: MemoryAccess, ptr: number, length: number): Uint8Array {
  const bytes = memory.bytes();
  if (ptr < 0 || length < 0 || ptr + length > bytes.length) {
    throw new MemoryAccessError(`buffer [${ptr}, ${ptr + length}) lies outside linear memory of ${bytes.length} bytes`);
  }
  return bytes.subarray(ptr, ptr + length);
}

/** The whole of linear memory, once [ptr, ptr + length) is known to lie inside it (checkedView's check, without making a view). */
export function checkedBytes(memory: MemoryAccess, ptr: number, length: number): Uint8Array {
  const bytes = memory.bytes();
  if (ptr < 0 || length < 0 || ptr + length > bytes.length) {
    throw new MemoryAccessError(`buffer [${ptr}, ${ptr + length}) lies outside linear memory of ${bytes.length} bytes`);
  }
  return bytes;
}
