// Provisioning a node at module assembly: the flash image a factory tool writes once. Sector 0
// holds the cell parameter blob (docs/cell-blob.md) and, in its last 256 bytes, the module's
// identity block; the other sectors belong to the record store (docs/flash-store.md) and start
// erased. docs/flash-layout.md describes the partition.
import type { BoardDefinition } from "../boards.ts";
import type { CellParameters } from "../plant/chemistry.ts";
import { crc32 } from "node:zlib";
import { encodeCellBlob } from "./cell-blob.ts";

/** Sector of the node's flash that holds the cell parameter blob and the identity block. */
export const NODE_PROVISIONING_SECTOR = 0;
export const IDENTITY_BLOCK_BYTES = 256;
/** "SIDN" little-endian. */
export const IDENTITY_MAGIC = 0x4e444953;
export const IDENTITY_VERSION = 1;
export const IDENTITY_TEXT_BYTES = 64;
const TEXT_BYTES = IDENTITY_TEXT_BYTES;

export interface ModuleIdentity {
  /** Who assembled the module (not the cell maker). */
  manufacturer: string;
  /** Date of module assembly, YYYY-MM-DD. */
  manufacturedOn: string;
}

export const DEFAULT_IDENTITY: ModuleIdentity = { manufacturer: "Strata reference module", manufacturedOn: "2025-11-03" };

function writeText(view: Uint8Array, offset: number, text: string, field: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > TEXT_BYTES - 1) throw new Error(`identity field ${field} is longer than ${TEXT_BYTES - 1} bytes: '${text}'`);
  view.fill(0, offset, offset + TEXT_BYTES);
  view.set(bytes, offset);
}

/**
 * The identity block: magic u32, version u16, length u16, manufacturer[64], chemistry[64],
 * cell model[64] (NUL-padded UTF-8), manufactured on (u32, days since 1970-01-01), CRC-32 (u32)
 * over the bytes before it; the rest of the 256 bytes stays erased (0xFF).
 */
export function encodeIdentityBlock(identity: ModuleIdentity, cell: CellParameters): Uint8Array {
  const block = new Uint8Array(IDENTITY_BLOCK_BYTES).fill(0xff);
  const view = new DataView(block.buffer);
  const length = 8 + 3 * TEXT_BYTES + 4;
  view.setUint32(0, IDENTITY_MAGIC, true);
  view.setUint16(4, IDENTITY_VERSION, true);
  view.setUint16(6, length + 4, true);
  writeText(block, 8, identity.manufacturer, "manufacturer");
  writeText(block, 8 + TEXT_BYTES, cell.chemistry, "chemistry");
  writeText(block, 8 + 2 * TEXT_BYTES, `${cell.manufacturer} ${cell.model}`, "cell model");
  const days = Date.parse(`${identity.manufacturedOn}T00:00:00Z`) / 86400000;
  if (!Number.isInteger(days) || days < 0) throw new Error(`identity manufacturedOn must be a date YYYY-MM-DD, got '${identity.manufacturedOn}'`);
  view.setUint32(8 + 3 * TEXT_BYTES, days, true);
  view.setUint32(length, crc32(block.subarray(0, length)) >>> 0, true);
  return block;
}

/** A fresh node's flash image: erased, with the cell blob and identity block in the provisioning sector. */
export function nodeFlashImage(board: BoardDefinition, cell: CellParameters, parallelCells: number, identity: ModuleIdentity = DEFAULT_IDENTITY): Uint8Array {
  const { sectorSize_B, sectorCount } = board.flash;
  const blob = encodeCellBlob(cell, { parallelCells });
  if (blob.length > sectorSize_B - IDENTITY_BLOCK_BYTES) {
    throw new Error(`cell blob of ${cell.id} is ${blob.length} bytes; ${board.name}'s provisioning sector holds ${sectorSize_B - IDENTITY_BLOCK_BYTES} before the identity block`);
  }
  const image = new Uint8Array(sectorSize_B * sectorCount).fill(0xff);
  const base = NODE_PROVISIONING_SECTOR * sectorSize_B;
  image.set(blob, base);
  image.set(encodeIdentityBlock(identity, cell), base + sectorSize_B - IDENTITY_BLOCK_BYTES);
  return image;
}
