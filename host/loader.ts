// Loads a firmware image and links it against emulated peripherals through the HAL ABI table.
import { readFileSync, existsSync, statSync } from "node:fs";
import { instantiateSync } from "@assemblyscript/loader";
import { loadAbi, wasm3Signature, type HalAbi } from "./abi.ts";
import type { Peripheral, HalImport, MemoryAccess } from "./peripherals/types.ts";

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/** A compiled firmware image; one image may be instantiated for many devices. */
export interface FirmwareImage {
  path: string;
  module: WebAssembly.Module;
  bytes: number;
}

const cache = new Map<string, FirmwareImage>();

/** Reads and compiles a .wasm file, with an error naming the file and the reason when it cannot. */
export function loadFirmwareImage(path: string): FirmwareImage {
  const cached = cache.get(path);
  if (cached !== undefined && statSync(path).size === cached.bytes) return cached;
  if (!existsSync(path)) throw new Error(`firmware image ${path} not found (run \`npm run build\` first)`);
  const bytes = readFileSync(path);
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error(`firmware image ${path} is not a WebAssembly module (bad magic number, ${bytes.length} bytes)`);
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (err) {
    throw new Error(`firmware image ${path} is malformed: ${(err as Error).message}`);
  }
  const image = { path, module, bytes: bytes.length };
  cache.set(path, image);
  return image;
}

/**
 * Builds the "hal" import object from the peripherals, checking it against the ABI. Only the
 * functions in `needed` (default: all of the ABI) must be provided: a board links what the image
 * imports, so a node board needs no vehicle bus.
 */
export function linkHal(abi: HalAbi, peripherals: Peripheral[], memory: MemoryAccess, needed?: ReadonlySet<string>): Record<string, HalImport> {
  const byGroup = new Map<string, Record<string, HalImport>>();
  for (const p of peripherals) byGroup.set(p.group, p.imports(memory));
  const hal: Record<string, HalImport> = {};
  for (const fn of abi.functions) {
    if (needed !== undefined && !needed.has(fn.name)) continue;
    const provided = byGroup.get(fn.group)?.[fn.name];
    if (provided === undefined) throw new Error(`no peripheral provides hal.${fn.name} ${wasm3Signature(fn)} (group '${fn.group}')`);
    if (provided.length !== fn.params.length) {
      throw new Error(`hal.${fn.name} takes ${fn.params.length} arguments in the ABI, the ${fn.group} peripheral takes ${provided.length}`);
    }
    hal[fn.name] = provided;
  }
  return hal;
}

/** Raised when a firmware calls fault_abort and traps. */
export class FirmwareTrap extends Error {}

export interface FirmwareInstance<E> {
  exports: E;
  memory: WebAssembly.Memory;
}

/**
 * Instantiates an image with the peripherals' imports. Every import the image declares must be in
 * the ABI; anything else is refused before instantiation, naming the import.
 */
export function instantiateFirmware<E>(image: FirmwareImage, peripherals: Peripheral[]): FirmwareInstance<E> {
  const abi = loadAbi();
  const needed = new Set<string>();
  for (const imp of WebAssembly.Module.imports(image.module)) {
    if (imp.module !== abi.module || imp.kind !== "function" || !abi.functions.some((f) => f.name === imp.name)) {
      throw new Error(`firmware image ${image.path} imports ${imp.module}.${imp.name} (${imp.kind}), which is not in the HAL ABI`);
    }
    needed.add(imp.name);
  }
  let memory: WebAssembly.Memory | null = null;
  // One view of the whole memory, made again only when the buffer changed (a grown memory
  // detaches its old buffer, which leaves the old view with length 0): bus_send and the flash
  // calls read memory on every call, and a new view per call costs more than the call.
  let view: Uint8Array | null = null;
  const access: MemoryAccess = {
    bytes: () => {
      if (view !== null && view.length !== 0) return view;
      if (memory === null) throw new Error("firmware memory accessed before instantiation");
      view = new Uint8Array(memory.buffer);
      return view;
    },
  };
  const hal = linkHal(abi, peripherals, access, needed);
  const { exports, instance } = instantiateSync(image.module, { [abi.module]: hal });
  const exported = exports as unknown as Record<string, unknown>;
  if (!(exported["memory"] instanceof WebAssembly.Memory)) throw new Error(`firmware image ${image.path} does not export its memory`);
  memory = exported["memory"];
  useRawExports(exported, instance.exports);
  return { exports: fastObject(exported) as unknown as E, memory };
}

/**
 * The same properties in an object V8 keeps in fast mode. The loader adds the exports one by one
 * under computed names, which leaves its object in dictionary mode: every `exports.tick` would then
 * be a hash lookup. A spread copy is a fast object; accessor properties (none in our images) would
 * be read once by the spread, so an object with any is returned as it is.
 */
function fastObject(object: Record<string, unknown>): Record<string, unknown> {
  for (const descriptor of Object.values(Object.getOwnPropertyDescriptors(object))) {
    if (descriptor.get !== undefined || descriptor.set !== undefined) return object;
  }
  return { ...object };
}

/**
 * The loader wraps every exported function in `(...args) => { setArgumentsLength(args.length);
 * return fn(...args); }`. For an image without an arguments-length global (ours: no optional
 * parameters in exports) setArgumentsLength does nothing, so the wrapper only costs a rest array
 * and a spread per call (tick, busReceive run 100 times per simulated tick). Put the exported
 * functions themselves in its place: same arguments, same results, same traps.
 */
function useRawExports(extended: Record<string, unknown>, raw: WebAssembly.Exports): void {
  if (raw["__argumentsLength"] !== undefined || raw["__setArgumentsLength"] !== undefined || raw["__setargc"] !== undefined) return;
  for (const name of Object.keys(extended)) {
    const wrapper = extended[name];
    const fn = raw[name];
    if (typeof wrapper === "function" && typeof fn === "function" && (wrapper as { original?: unknown }).original === fn) extended[name] = fn;
  }
}
