import { CellModel, CellTable, CELL_ID_BYTES } from "../../../assembly/cell/model";
import { parseCellBlob, CellBlobError, CellBlobOffset, cellBlobLength } from "../../../assembly/cell/blob";
import { TestCell, blobBuffer, resealBlob } from "./fixture";

/** A valid 4 x 2 cell whose values are easy to recognise. */
function tinyCell(): TestCell {
  const cell = new TestCell([0, 0.2, 0.7, 1], [0, 30]);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) {
      cell.set(CellTable.OCV_V, i, j, <f32>3.0 + <f32>i * <f32>0.3 + <f32>j * <f32>0.01);
      cell.set(CellTable.R0_Ohm, i, j, <f32>0.02 - <f32>j * <f32>0.005);
      cell.set(CellTable.R1_Ohm, i, j, 0.01);
      cell.set(CellTable.TAU1_s, i, j, <f32>5 + <f32>i);
      cell.set(CellTable.R2_Ohm, i, j, 0.005);
      cell.set(CellTable.TAU2_s, i, j, <f32>100 + <f32>10 * <f32>j);
      cell.set(CellTable.HYSTERESIS_V, i, j, <f32>0.001 * <f32>(i + 1));
    }
  }
  cell.id = "tiny-cell-01";
  cell.capacity_Ah = 3.2;
  cell.coulombicEfficiency = 0.998;
  cell.gamma = 120;
  cell.minVoltage_V = 2.8;
  cell.nominalVoltage_V = 3.6;
  cell.maxVoltage_V = 4.1;
  cell.selfDischarge_per_day = 0.0005;
  cell.parallelCells = 3;
  return cell;
}

/** The model still holds tinyCell(). */
function holdsTinyCell(model: CellModel): bool {
  return model.loaded && model.socPoints == 4 && model.temperaturePoints == 2
    && model.value(CellTable.OCV_V, 3, 1) == <f32>3.0 + <f32>3 * <f32>0.3 + <f32>0.01
    && model.value(CellTable.TAU2_s, 2, 1) == <f32>110 && model.cellCapacity_Ah == <f32>3.2 && model.parallelCells == 3;
}

function flipByte(offset: i32): void {
  const address = blobBuffer + <usize>offset;
  store<u8>(address, <u8>(<i32>load<u8>(address) ^ 0x10));
}

/** Writes tinyCell, lets edit() change it, reseals the CRC and parses into a model holding tinyCell. */
function parseEdited(edit: (ptr: usize) => void, model: CellModel): i32 {
  const length = tinyCell().write(blobBuffer);
  edit(blobBuffer);
  resealBlob(blobBuffer);
  return parseCellBlob(blobBuffer, length, model);
}

function tableOffset(table: i32, i: i32, j: i32): i32 {
  return CellBlobOffset.AXES + 4 * (4 + 2) + 4 * (table * 8 + i * 2 + j);
}

describe("cell blob", () => {
  it("has the documented length: 72 + 4 (S + T) + 28 S T bytes", () => {
    expect(cellBlobLength(4, 2)).toBe(72 + 24 + 224);
    expect(cellBlobLength(32, 6)).toBe(5600);
    expect(cellBlobLength(24, 5)).toBe(3548);
  });
  it("round-trips every field", () => {
    const model = new CellModel();
    const cell = tinyCell();
    const length = cell.write(blobBuffer);
    expect(parseCellBlob(blobBuffer, length, model)).toBe(CellBlobError.OK);
    expect(holdsTinyCell(model)).toBe(true);
    for (let i = 0; i < 4; i++) expect(model.socAxis[i]).toBe(cell.socAxis[i]);
    expect(model.temperatureAxis_C[1]).toBe(<f32>30);
    for (let table = 0; table < 7; table++) {
      for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) expect(model.value(table, i, j)).toBe(cell.tables[(table * 4 + i) * 2 + j]);
    }
    for (let k = 0; k < CELL_ID_BYTES; k++) expect(<i32>model.cellId[k]).toBe(k < cell.id.length ? cell.id.charCodeAt(k) : 0);
    expect(model.coulombicEfficiency).toBe(<f32>0.998);
    expect(model.hysteresisGamma).toBe(<f32>120);
    expect(model.minVoltage_V).toBe(<f32>2.8);
    expect(model.nominalVoltage_V).toBe(<f32>3.6);
    expect(model.maxVoltage_V).toBe(<f32>4.1);
    expect(model.selfDischarge_per_day).toBe(<f32>0.0005);
  });
  it("accepts a buffer longer than the blob (a whole flash sector)", () => {
    const model = new CellModel();
    tinyCell().write(blobBuffer);
    expect(parseCellBlob(blobBuffer, 4096, model)).toBe(CellBlobError.OK);
  });
  it("rejects a corrupted byte with a CRC error and leaves the model unchanged", () => {
    const model = new CellModel();
    expect(tinyCell().loadInto(model)).toBe(0);
    const other = tinyCell();
    other.set(CellTable.OCV_V, 3, 1, 4.15);
    const length = other.write(blobBuffer);
    flipByte(tableOffset(CellTable.R0_Ohm, 1, 0));
    expect(parseCellBlob(blobBuffer, length, model)).toBe(CellBlobError.CRC_MISMATCH);
    expect(holdsTinyCell(model)).toBe(true);
    const empty = new CellModel();
    expect(parseCellBlob(blobBuffer, length, empty)).toBe(CellBlobError.CRC_MISMATCH);
    expect(empty.loaded).toBe(false);
  });
  it("rejects a bit flip in any byte", () => {
    const model = new CellModel();
    const length = tinyCell().write(blobBuffer);
    for (let offset = 0; offset < length; offset++) {
      flipByte(offset);
      expect(parseCellBlob(blobBuffer, length, model)).not.toBe(CellBlobError.OK);
      flipByte(offset);
    }
    expect(model.loaded).toBe(false);
  });
  it("checks header fields in order: length, magic, version, sizes", () => {
    const model = new CellModel();
    const length = tinyCell().write(blobBuffer);
    expect(parseCellBlob(blobBuffer, 40, model)).toBe(CellBlobError.TOO_SHORT);
    expect(parseCellBlob(blobBuffer, length - 1, model)).toBe(CellBlobError.TOO_SHORT);
    expect(parseEdited((p: usize): void => { store<u8>(p, 0x41); }, model)).toBe(CellBlobError.BAD_MAGIC);
    expect(parseEdited((p: usize): void => { store<u16>(p + 4, 2); }, model)).toBe(CellBlobError.UNSUPPORTED_VERSION);
    expect(parseEdited((p: usize): void => { store<u16>(p + 6, 1); }, model)).toBe(CellBlobError.UNSUPPORTED_VERSION);
    expect(parseEdited((p: usize): void => { store<u8>(p + 36, 1); }, model)).toBe(CellBlobError.BAD_SIZES);
    expect(parseEdited((p: usize): void => { store<u8>(p + 36, 33); }, model)).toBe(CellBlobError.BAD_SIZES);
    expect(parseEdited((p: usize): void => { store<u8>(p + 37, 7); }, model)).toBe(CellBlobError.BAD_SIZES);
    expect(parseEdited((p: usize): void => { store<u8>(p + 37, 0); }, model)).toBe(CellBlobError.BAD_SIZES);
    expect(parseEdited((p: usize): void => { store<u8>(p + 38, 6); }, model)).toBe(CellBlobError.BAD_SIZES);
    expect(parseEdited((p: usize): void => { store<u32>(p + 8, 321); }, model)).toBe(CellBlobError.BAD_SIZES);
    expect(model.loaded).toBe(false);
  });
  it("refuses a grid larger than the model was built for", () => {
    const small = new CellModel(3, 2);
    expect(tinyCell().loadInto(small)).toBe(CellBlobError.MODEL_TOO_SMALL);
    expect(small.loaded).toBe(false);
  });
  it("rejects a non-monotonic OCV column even with a valid CRC, leaving the model unchanged", () => {
    const model = new CellModel();
    expect(tinyCell().loadInto(model)).toBe(0);
    const bad = tinyCell();
    bad.set(CellTable.OCV_V, 2, 1, 3.2);
    expect(bad.loadInto(model)).toBe(CellBlobError.OCV_NOT_MONOTONIC);
    expect(holdsTinyCell(model)).toBe(true);
    const flat = tinyCell();
    flat.set(CellTable.OCV_V, 1, 0, flat.tables[(0 * 4 + 0) * 2 + 0]);
    expect(flat.loadInto(model)).toBe(CellBlobError.OCV_NOT_MONOTONIC);
    expect(holdsTinyCell(model)).toBe(true);
  });
  it("rejects out-of-range and non-finite values, leaving the model unchanged", () => {
    const model = new CellModel();
    expect(tinyCell().loadInto(model)).toBe(0);
    let cell = tinyCell();
    cell.set(CellTable.R0_Ohm, 2, 0, -0.01);
    expect(cell.loadInto(model)).toBe(CellBlobError.OUT_OF_RANGE);
    cell = tinyCell();
    cell.set(CellTable.TAU1_s, 0, 1, NaN);
    expect(cell.loadInto(model)).toBe(CellBlobError.OUT_OF_RANGE);
    cell = tinyCell();
    cell.set(CellTable.HYSTERESIS_V, 3, 1, -0.001);
    expect(cell.loadInto(model)).toBe(CellBlobError.OUT_OF_RANGE);
    cell = tinyCell();
    cell.set(CellTable.OCV_V, 3, 0, 7.5);
    expect(cell.loadInto(model)).toBe(CellBlobError.OUT_OF_RANGE);
    cell = tinyCell();
    cell.capacity_Ah = 0;
    expect(cell.loadInto(model)).toBe(CellBlobError.OUT_OF_RANGE);
    cell = tinyCell();
    cell.coulombicEfficiency = 1.2;
    expect(cell.loadInto(model)).toBe(CellBlobError.OUT_OF_RANGE);
    cell = tinyCell();
    cell.minVoltage_V = 4.2;
    expect(cell.loadInto(model)).toBe(CellBlobError.OUT_OF_RANGE);
    cell = tinyCell();
    cell.parallelCells = 0;
    expect(cell.loadInto(model)).toBe(CellBlobError.OUT_OF_RANGE);
    cell = tinyCell();
    cell.selfDischarge_per_day = Infinity;
    expect(cell.loadInto(model)).toBe(CellBlobError.OUT_OF_RANGE);
    expect(holdsTinyCell(model)).toBe(true);
  });
  it("rejects bad axes", () => {
    const model = new CellModel();
    let cell = tinyCell();
    cell.socAxis[2] = 0.1;
    expect(cell.loadInto(model)).toBe(CellBlobError.BAD_AXIS);
    cell = tinyCell();
    cell.socAxis[3] = 1.5;
    expect(cell.loadInto(model)).toBe(CellBlobError.BAD_AXIS);
    cell = tinyCell();
    cell.temperatureAxis_C[1] = 0;
    expect(cell.loadInto(model)).toBe(CellBlobError.BAD_AXIS);
    expect(model.loaded).toBe(false);
  });
  it("rejects an id that is empty, not [a-z0-9-], or not NUL padded", () => {
    const model = new CellModel();
    let cell = tinyCell();
    cell.id = "";
    expect(cell.loadInto(model)).toBe(CellBlobError.BAD_ID);
    cell = tinyCell();
    cell.id = "Tiny";
    expect(cell.loadInto(model)).toBe(CellBlobError.BAD_ID);
    expect(parseEdited((p: usize): void => { store<u8>(p + <usize>(CellBlobOffset.CELL_ID + 20), 0x61); }, model)).toBe(CellBlobError.BAD_ID);
    cell = tinyCell();
    cell.id = "abcdefghijklmnopqrstuvwx";
    expect(cell.loadInto(model)).toBe(CellBlobError.OK);
  });
});
