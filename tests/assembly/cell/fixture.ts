// Test helper (not a spec): builds cell parameter blobs in linear memory with small hand-chosen
// grids, the way the host encoder does (docs/cell-blob.md), so specs can load a CellModel
// through the one path the firmware uses.
import { crc32 } from "../../../assembly/storage/crc32";
import { CELL_BLOB_MAGIC, CELL_BLOB_VERSION, CellBlobOffset, cellBlobLength, parseCellBlob } from "../../../assembly/cell/blob";
import { CellModel, CELL_TABLE_COUNT, CELL_ID_BYTES } from "../../../assembly/cell/model";

/** Room for the largest blob (32 x 6 grid: 5600 bytes). */
export const BLOB_CAPACITY: i32 = 6144;
export const blobBuffer: usize = memory.data(BLOB_CAPACITY, 4);

export class TestCell {
  id: string = "test-cell";
  socAxis: StaticArray<f32>;
  temperatureAxis_C: StaticArray<f32>;
  /** (table, i, j) at (table * socPoints + i) * temperaturePoints + j. */
  tables: StaticArray<f32>;
  capacity_Ah: f32 = 1;
  coulombicEfficiency: f32 = 1;
  gamma: f32 = 0;
  minVoltage_V: f32 = 2.5;
  nominalVoltage_V: f32 = 3.6;
  maxVoltage_V: f32 = 4.2;
  selfDischarge_per_day: f32 = 0;
  parallelCells: i32 = 1;

  constructor(socAxis: StaticArray<f32>, temperatureAxis_C: StaticArray<f32>) {
    this.socAxis = socAxis;
    this.temperatureAxis_C = temperatureAxis_C;
    this.tables = new StaticArray<f32>(CELL_TABLE_COUNT * socAxis.length * temperatureAxis_C.length);
  }

  get socPoints(): i32 {
    return this.socAxis.length;
  }
  get temperaturePoints(): i32 {
    return this.temperatureAxis_C.length;
  }

  set(table: i32, i: i32, j: i32, value: f32): void {
    this.tables[(table * this.socPoints + i) * this.temperaturePoints + j] = value;
  }

  /** The same value at every grid node of a table. */
  fill(table: i32, value: f32): void {
    for (let i = 0; i < this.socPoints; i++) for (let j = 0; j < this.temperaturePoints; j++) this.set(table, i, j, value);
  }

  /** Writes the blob (with its CRC) at ptr; returns its length. */
  write(ptr: usize): i32 {
    const s = this.socPoints;
    const t = this.temperaturePoints;
    const total = cellBlobLength(s, t);
    memory.fill(ptr, 0, <usize>total);
    store<u32>(ptr + <usize>CellBlobOffset.MAGIC, CELL_BLOB_MAGIC);
    store<u16>(ptr + <usize>CellBlobOffset.VERSION, <u16>CELL_BLOB_VERSION);
    store<u32>(ptr + <usize>CellBlobOffset.TOTAL_LENGTH, <u32>total);
    for (let k = 0; k < this.id.length && k < CELL_ID_BYTES; k++) store<u8>(ptr + <usize>(CellBlobOffset.CELL_ID + k), <u8>this.id.charCodeAt(k));
    store<u8>(ptr + <usize>CellBlobOffset.SOC_POINTS, <u8>s);
    store<u8>(ptr + <usize>CellBlobOffset.TEMPERATURE_POINTS, <u8>t);
    store<u8>(ptr + <usize>CellBlobOffset.TABLE_COUNT, <u8>CELL_TABLE_COUNT);
    store<u8>(ptr + <usize>CellBlobOffset.PARALLEL_CELLS, <u8>this.parallelCells);
    store<f32>(ptr + <usize>CellBlobOffset.CAPACITY_Ah, this.capacity_Ah);
    store<f32>(ptr + <usize>CellBlobOffset.COULOMBIC_EFFICIENCY, this.coulombicEfficiency);
    store<f32>(ptr + <usize>CellBlobOffset.HYSTERESIS_GAMMA, this.gamma);
    store<f32>(ptr + <usize>CellBlobOffset.MIN_VOLTAGE_V, this.minVoltage_V);
    store<f32>(ptr + <usize>CellBlobOffset.NOMINAL_VOLTAGE_V, this.nominalVoltage_V);
    store<f32>(ptr + <usize>CellBlobOffset.MAX_VOLTAGE_V, this.maxVoltage_V);
    store<f32>(ptr + <usize>CellBlobOffset.SELF_DISCHARGE_per_day, this.selfDischarge_per_day);
    let offset = CellBlobOffset.AXES;
    for (let i = 0; i < s; i++, offset += 4) store<f32>(ptr + <usize>offset, this.socAxis[i]);
    for (let j = 0; j < t; j++, offset += 4) store<f32>(ptr + <usize>offset, this.temperatureAxis_C[j]);
    for (let n = 0; n < this.tables.length; n++, offset += 4) store<f32>(ptr + <usize>offset, this.tables[n]);
    store<u32>(ptr + <usize>offset, crc32(ptr, offset));
    return total;
  }

  /** Writes the blob into blobBuffer and parses it into model; returns the parser's result. */
  loadInto(model: CellModel): i32 {
    const length = this.write(blobBuffer);
    return parseCellBlob(blobBuffer, length, model);
  }
}

/** Recomputes the CRC of a blob at ptr after a test edited it on purpose. */
export function resealBlob(ptr: usize): void {
  const total = <i32>load<u32>(ptr + <usize>CellBlobOffset.TOTAL_LENGTH);
  store<u32>(ptr + <usize>(total - 4), crc32(ptr, total - 4));
}
