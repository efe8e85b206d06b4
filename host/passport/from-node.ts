// From what a node keeps to the passport JSON: the node's passport image (identity block +
// lifecycle record, docs/flash-layout.md) and its cell parameter blob become a ModulePassport
// (docs/passport.md). The image is read either from a running node (its exports, or the bus) or
// from a flash image, by running the node's own firmware on it: the firmware mounts its record
// store read-only and serves the image, so the host never re-implements the store format.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../abi.ts";
import { loadBoard, type BoardDefinition } from "../boards.ts";
import { decodeCellBlob, type CellBlobContents } from "../provisioning/cell-blob.ts";
import { crc32 } from "node:zlib";
import { IDENTITY_BLOCK_BYTES, IDENTITY_MAGIC, IDENTITY_TEXT_BYTES } from "../provisioning/node.ts";
import { Device, type NodeExports } from "../devices.ts";
import { SimClock } from "../peripherals/clock.ts";
import { CanBus } from "../peripherals/bus.ts";
import { EXTREME_EVENT_KINDS, validatePassport, type ModulePassport, type ExtremeEventKind } from "./passport.ts";

const LIFECYCLE_LENGTH = 324;
// Passport histograms: edges.length = bins + 1 with open first and last bins (docs/passport.md), so
// the node's ten bins get the outer edges -30 and 70 degC (0 and 1 for SOC).
const TEMPERATURE_EDGES_C = [-30, -20, -10, 0, 10, 20, 30, 40, 50, 60, 70];
const SOC_EDGES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
const FLAG_REPURPOSED = 0x0001;

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}
function isoDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}
function text(bytes: Uint8Array, offset: number, length: number): string {
  const end = bytes.indexOf(0, offset);
  return new TextDecoder().decode(bytes.subarray(offset, end >= 0 && end < offset + length ? end : offset + length));
}
function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Module R0 of the provisioned model at 25 degC and 50 % SOC, mOhm (bilinear on the blob's grid). */
export function blobR0_mOhm(blob: CellBlobContents): number {
  const lerpIndex = (axis: number[], x: number): [number, number] => {
    if (x <= axis[0]!) return [0, 0];
    for (let i = 1; i < axis.length; i++) if (x <= axis[i]!) return [i - 1, (x - axis[i - 1]!) / (axis[i]! - axis[i - 1]!)];
    return [axis.length - 1, 0];
  };
  const [i, wi] = lerpIndex(blob.socAxis, 0.5);
  const [j, wj] = lerpIndex(blob.temperatureAxis_C, 25);
  const t = blob.tables.r0_Ohm;
  const at = (a: number, b: number): number => t[Math.min(a, t.length - 1)]![Math.min(b, t[0]!.length - 1)]!;
  const v = (1 - wi) * ((1 - wj) * at(i, j) + wj * at(i, j + 1)) + wi * ((1 - wj) * at(i + 1, j) + wj * at(i + 1, j + 1));
  return (v / blob.parallelCells) * 1000;
}

export interface NodePassportSource {
  /** The node's passport image: identity block then lifecycle record (580 bytes). */
  image: Uint8Array;
  /** The node's cell parameter blob (flash sector 0). */
  blob: CellBlobContents;
  /** The unit's 48-bit serial, 12 hex digits. */
  serial: string;
  /** When the export is made (the exporter's clock; the node counts milliseconds since boot). */
  exportedAt_s: number;
}

/** Decodes a node's passport image; throws naming the part that is missing or damaged. */
export function passportFromImage(source: NodePassportSource): ModulePassport {
  const { image, blob } = source;
  if (image.length < IDENTITY_BLOCK_BYTES + LIFECYCLE_LENGTH) throw new Error(`passport image is ${image.length} bytes, expected ${IDENTITY_BLOCK_BYTES + LIFECYCLE_LENGTH}`);
  const id = new DataView(image.buffer, image.byteOffset, IDENTITY_BLOCK_BYTES);
  if (id.getUint32(0, true) !== IDENTITY_MAGIC) throw new Error("passport image: no identity block (module not provisioned)");
  const idLength = id.getUint16(6, true) - 4;
  if ((crc32(image.subarray(0, idLength)) >>> 0) !== id.getUint32(idLength, true)) throw new Error("passport image: identity block CRC mismatch");
  const lifecycle = image.subarray(IDENTITY_BLOCK_BYTES, IDENTITY_BLOCK_BYTES + LIFECYCLE_LENGTH);
  const r = new DataView(lifecycle.buffer, lifecycle.byteOffset, LIFECYCLE_LENGTH);
  const version = r.getUint16(0, true);
  const f32 = (o: number): number => r.getFloat32(o, true);
  const u32 = (o: number): number => r.getUint32(o, true);
  const u16 = (o: number): number => r.getUint16(o, true);
  const nominalCapacity_Ah = blob.capacity_Ah * blob.parallelCells;
  const hasRecord = version === 1;
  const writtenAt_s = hasRecord && u32(4) > 0 ? u32(4) : source.exportedAt_s;

  const histogram = (offset: number, edges: number[]): { edges: number[]; seconds: number[] } => ({
    edges: [...edges],
    seconds: Array.from({ length: edges.length - 1 }, (_, i) => (hasRecord ? u32(offset + 4 * i) : 0)),
  });
  const events = {} as Record<ExtremeEventKind, { count: number; lastAt: string | null }>;
  EXTREME_EVENT_KINDS.forEach((kind, i) => {
    const count = hasRecord ? u16(148 + 8 * i) : 0;
    const last = hasRecord ? u32(148 + 8 * i + 4) : 0;
    events[kind] = { count, lastAt: count > 0 ? isoTime(last > 0 ? last : writtenAt_s) : null };
  });
  const faults: { code: number; at: string }[] = [];
  if (hasRecord) {
    const count = u16(252);
    const next = u16(254);
    for (let k = 0; k < count; k++) {
      const slot = (next - count + k + 8 * 2) % 8;
      faults.push({ code: u16(188 + slot * 8), at: isoTime(u32(188 + slot * 8 + 4) || writtenAt_s) });
    }
  }
  const memberships: { packId: string; position: number; from: string; to: string | null }[] = [];
  if (hasRecord) {
    const count = u16(320);
    const next = u16(322);
    for (let k = 0; k < count; k++) {
      const slot = (next - count + k + 4 * 2) % 4;
      const base = 256 + slot * 16;
      const to = u32(base + 12);
      memberships.push({
        packId: u32(base).toString(16).padStart(8, "0"),
        position: u16(base + 4),
        from: isoTime(u32(base + 8) || writtenAt_s),
        to: to === 0 ? null : isoTime(to),
      });
    }
  }
  const capacity = hasRecord ? f32(28) : NaN;
  const r0 = hasRecord ? f32(36) : NaN;
  const initialR0 = hasRecord && f32(44) > 0 ? f32(44) : blobR0_mOhm(blob);
  const firstService = hasRecord ? u32(8) : 0;
  const flags = hasRecord ? u16(2) : 0;
  const passport: ModulePassport = {
    record: { formatVersion: 1, sequence: writtenAt_s >>> 0, writtenAt: isoTime(writtenAt_s) },
    public: {
      identity: {
        serial: source.serial,
        manufacturer: text(image, 8, IDENTITY_TEXT_BYTES),
        chemistry: text(image, 8 + IDENTITY_TEXT_BYTES, IDENTITY_TEXT_BYTES),
        cellId: blob.cellId,
        cellModel: text(image, 8 + 2 * IDENTITY_TEXT_BYTES, IDENTITY_TEXT_BYTES),
        cellsInParallel: blob.parallelCells,
        nominalCapacity_Ah: round(nominalCapacity_Ah, 4),
        nominalVoltage_V: round(blob.nominalVoltage_V, 4),
        minVoltage_V: round(blob.minVoltage_V, 4),
        maxVoltage_V: round(blob.maxVoltage_V, 4),
        manufacturedOn: isoDate(id.getUint32(8 + 3 * IDENTITY_TEXT_BYTES, true) * 86400),
        putIntoServiceOn: firstService > 0 ? isoDate(firstService) : null,
      },
      status: (flags & FLAG_REPURPOSED) !== 0 ? "repurposed" : "original",
      stateOfCharge: hasRecord && f32(24) > 0 ? { value: round(f32(20), 5), sigma: round(f32(24), 5) } : null,
      stateOfHealth: {
        capacity_Ah: capacity > 0 ? { value: round(capacity, 4), sigma: round(f32(32), 4) } : null,
        capacitySoh: capacity > 0 ? round(round(capacity, 4) / round(nominalCapacity_Ah, 4), 5) : null,
        resistance_mOhm: r0 > 0 && initialR0 > 0 ? { value: round(r0, 5), sigma: round(f32(40), 5) } : null,
        resistanceSoh: r0 > 0 && initialR0 > 0 ? round(round(r0, 5) / round(initialR0, 5), 5) : null,
        initialResistance_mOhm: Number.isFinite(initialR0) ? round(initialR0, 5) : 0,
      },
      usage: {
        equivalentFullCycles: hasRecord ? round(f32(48), 3) : 0,
        throughput: {
          charge_Ah: hasRecord ? round(f32(52), 3) : 0,
          discharge_Ah: hasRecord ? round(f32(56), 3) : 0,
          charge_Wh: hasRecord ? round(f32(60), 3) : 0,
          discharge_Wh: hasRecord ? round(f32(64), 3) : 0,
        },
        charging_s: hasRecord ? u32(16) : 0,
        temperatureResidency: histogram(68, TEMPERATURE_EDGES_C),
        socResidency: histogram(108, SOC_EDGES),
      },
      extremeEvents: events,
      faults,
    },
    packPrivate: { memberships, settings: {} },
  };
  return validatePassport(passport, `passport of module ${source.serial}`);
}

/** The passport image a running node serves (what PASSPORT_READ returns over the bus). */
export function passportImageOf(node: { exports: { preparePassport(): void; passportImageLength(): number; passportImageByte(offset: number): number } }): Uint8Array {
  node.exports.preparePassport();
  const length = node.exports.passportImageLength();
  const image = new Uint8Array(length);
  for (let i = 0; i < length; i++) image[i] = node.exports.passportImageByte(i);
  return image;
}

export const nodeImagePath = join(repoRoot, "build", "node.wasm");

/**
 * Reads a module's passport from a copy of its flash: the node firmware boots on it (its store
 * mounts without writing) and serves its passport image. The flash image is not modified.
 */
export function passportFromFlashImage(flash: Uint8Array, serial: string, exportedAt_s: number, board: BoardDefinition = loadBoard("strata-node-v1")): ModulePassport {
  if (!/^[0-9a-f]{12}$/.test(serial)) throw new Error(`serial must be 12 lower-case hex digits, got '${serial}'`);
  const clock = new SimClock();
  const device = new Device<NodeExports & { preparePassport(): void; passportImageLength(): number; passportImageByte(offset: number): number }>({
    name: `reader-${serial}`,
    imagePath: nodeImagePath,
    board,
    clock,
    bus: new CanBus(board.bus.bitrate_bps, clock),
    unitConfig: { UNIT_SERIAL_LOW: Number.parseInt(serial.slice(4), 16), UNIT_SERIAL_HIGH: Number.parseInt(serial.slice(0, 4), 16) },
    flashImage: flash.slice(),
  });
  device.init();
  if (device.trap !== null) throw new Error(`the node firmware could not boot on this flash image: ${device.trap.message}`);
  const blob = decodeCellBlob(flash.subarray(0, board.flash.sectorSize_B - IDENTITY_BLOCK_BYTES));
  return passportFromImage({ image: passportImageOf(device), blob, serial, exportedAt_s });
}

/** Reads a flash image file (as `strata sim --flash-out` writes them). */
export function readFlashImage(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    throw new Error(`flash image not found: ${path}`);
  }
}
