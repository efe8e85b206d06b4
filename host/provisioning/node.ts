// Provisioning a node at module assembly: the flash image a factory tool writes once. Sector 0
// holds the cell parameter blob (docs/cell-blob.md); the other sectors belong to the record store
// (docs/flash-store.md) and start erased. docs/flash-layout.md describes the partition.
import type { BoardDefinition } from "../boards.ts";
import type { CellParameters } from "../plant/chemistry.ts";
import { encodeCellBlob } from "./cell-blob.ts";

/** Sector of the node's flash that holds the cell parameter blob. */
export const NODE_PROVISIONING_SECTOR = 0;

/** A fresh node's flash image: erased, with the cell parameter blob in the provisioning sector. */
export function nodeFlashImage(board: BoardDefinition, cell: CellParameters, parallelCells: number): Uint8Array {
  const { sectorSize_B, sectorCount } = board.flash;
  const blob = encodeCellBlob(cell, { parallelCells });
  if (blob.length > sectorSize_B) {
    throw new Error(`cell blob of ${cell.id} is ${blob.length} bytes, larger than the ${sectorSize_B}-byte provisioning sector of ${board.name}`);
  }
  const image = new Uint8Array(sectorSize_B * sectorCount).fill(0xff);
  image.set(blob, NODE_PROVISIONING_SECTOR * sectorSize_B);
  return image;
}
