import { CellModel, CellTable, EscParameters } from "../../../assembly/cell/model";
import { TestCell } from "./fixture";

// A 3 x 2 grid small enough to interpolate by hand:
//   SOC        0      0.5    1
//   OCV  0 C   3.0    3.6    4.1
//   OCV 40 C   3.1    3.7    4.2
//   R0   0 C   0.020  0.020  0.030
//   R0  40 C   0.010  0.010  0.015
function handCell(): TestCell {
  const cell = new TestCell([0, 0.5, 1], [0, 40]);
  cell.set(CellTable.OCV_V, 0, 0, 3.0);
  cell.set(CellTable.OCV_V, 1, 0, 3.6);
  cell.set(CellTable.OCV_V, 2, 0, 4.1);
  cell.set(CellTable.OCV_V, 0, 1, 3.1);
  cell.set(CellTable.OCV_V, 1, 1, 3.7);
  cell.set(CellTable.OCV_V, 2, 1, 4.2);
  cell.set(CellTable.R0_Ohm, 0, 0, 0.02);
  cell.set(CellTable.R0_Ohm, 1, 0, 0.02);
  cell.set(CellTable.R0_Ohm, 2, 0, 0.03);
  cell.set(CellTable.R0_Ohm, 0, 1, 0.01);
  cell.set(CellTable.R0_Ohm, 1, 1, 0.01);
  cell.set(CellTable.R0_Ohm, 2, 1, 0.015);
  cell.fill(CellTable.R1_Ohm, 0.008);
  cell.fill(CellTable.TAU1_s, 10);
  cell.fill(CellTable.R2_Ohm, 0.004);
  cell.fill(CellTable.TAU2_s, 200);
  cell.fill(CellTable.HYSTERESIS_V, 0.01);
  cell.capacity_Ah = 2.5;
  cell.gamma = 50;
  return cell;
}

const model = new CellModel();

describe("CellModel lookups", () => {
  it("starts empty and answers NaN", () => {
    expect(model.loaded).toBe(false);
    expect(isNaN(model.ocv_V(0.5, 25))).toBe(true);
    expect(isNaN(model.socFromOcv(3.7, 25))).toBe(true);
  });
  it("loads the hand grid", () => {
    expect(handCell().loadInto(model)).toBe(0);
    expect(model.loaded).toBe(true);
    expect(model.socPoints).toBe(3);
    expect(model.temperaturePoints).toBe(2);
  });
  it("interpolates bilinearly", () => {
    // 10 C is 1/4 of the way to 40 C: rows 3.025, 3.625, 4.125; SOC 0.25 is halfway between rows 0 and 1.
    expect(model.ocv_V(0.25, 10)).toBeCloseTo(3.325, 5);
    // 20 C: rows 3.65 and 4.15; SOC 0.75 halfway.
    expect(model.ocv_V(0.75, 20)).toBeCloseTo(3.9, 5);
    // R0 at SOC 0.75, 20 C: rows 0.015 and 0.0225 -> 0.01875.
    expect(model.lookup(CellTable.R0_Ohm, 0.75, 20)).toBeCloseTo(0.01875, 6);
    expect(model.lookup(CellTable.TAU2_s, 0.3, 33)).toBeCloseTo(200, 3);
  });
  it("returns grid values exactly at the nodes", () => {
    expect(model.ocv_V(0.5, 40)).toBe(<f32>3.7);
    expect(model.ocv_V(1, 0)).toBe(<f32>4.1);
    expect(model.value(CellTable.OCV_V, 2, 1)).toBe(<f32>4.2);
    expect(isNaN(model.value(CellTable.OCV_V, 3, 0))).toBe(true);
  });
  it("clamps at the edges of both axes", () => {
    expect(model.ocv_V(-0.2, -30)).toBe(<f32>3.0);
    expect(model.ocv_V(1.3, 70)).toBe(<f32>4.2);
    expect(model.ocv_V(0.25, 70)).toBeCloseTo(3.4, 5);
  });
  it("gives the OCV segment slope as dOCV/dSOC, also beyond the ends", () => {
    expect(model.dOcvdSoc(0.25, 10)).toBeCloseTo(1.2, 4);
    expect(model.dOcvdSoc(0.75, 20)).toBeCloseTo(1.0, 4);
    expect(model.dOcvdSoc(-0.1, 0)).toBeCloseTo(1.2, 4);
    expect(model.dOcvdSoc(1.1, 0)).toBeCloseTo(1.0, 4);
  });
  it("inverts the OCV exactly and clamps outside it", () => {
    expect(model.socFromOcv(3.9, 20)).toBeCloseTo(0.75, 5);
    expect(model.socFromOcv(3.325, 10)).toBeCloseTo(0.25, 5);
    for (let k = 0; k <= 40; k++) {
      const soc = <f32>k / 40;
      expect(model.socFromOcv(model.ocv_V(soc, 17), 17)).toBeCloseTo(soc, 5);
    }
    expect(model.socFromOcv(2.0, 20)).toBe(0);
    expect(model.socFromOcv(5.0, 20)).toBe(1);
    expect(isNaN(model.socFromOcv(NaN, 20))).toBe(true);
  });
  it("reports module values for cells in parallel", () => {
    const cell = handCell();
    cell.parallelCells = 4;
    const module = new CellModel();
    expect(cell.loadInto(module)).toBe(0);
    expect(module.moduleCapacity_Ah()).toBeCloseTo(10, 5);
    const p = new EscParameters();
    module.evaluate(0.75, 20, p);
    expect(p.ocv_V).toBeCloseTo(3.9, 5);
    expect(p.dOcvdSoc_V).toBeCloseTo(1.0, 4);
    expect(p.r0_Ohm).toBeCloseTo(0.01875 / 4, 7);
    expect(p.r1_Ohm).toBeCloseTo(0.002, 7);
    expect(p.r2_Ohm).toBeCloseTo(0.001, 7);
    expect(p.tau1_s).toBeCloseTo(10, 4);
    expect(p.tau2_s).toBeCloseTo(200, 3);
    expect(p.hysteresis_V).toBeCloseTo(0.01, 6);
    expect(module.r0Module_Ohm(0.75, 20)).toBeCloseTo(0.01875 / 4, 7);
    // The stored table keeps the cell value.
    expect(module.lookup(CellTable.R0_Ohm, 0.75, 20)).toBeCloseTo(0.01875, 6);
  });
  it("treats a single temperature column as constant in temperature", () => {
    const cell = new TestCell([0, 1], [25]);
    cell.set(CellTable.OCV_V, 0, 0, 3.0);
    cell.set(CellTable.OCV_V, 1, 0, 4.0);
    cell.fill(CellTable.R0_Ohm, 0.01);
    cell.fill(CellTable.R1_Ohm, 0.01);
    cell.fill(CellTable.TAU1_s, 1);
    cell.fill(CellTable.R2_Ohm, 0.01);
    cell.fill(CellTable.TAU2_s, 1);
    const flat = new CellModel();
    expect(cell.loadInto(flat)).toBe(0);
    expect(flat.ocv_V(0.3, -20)).toBeCloseTo(3.3, 5);
    expect(flat.ocv_V(0.3, 60)).toBeCloseTo(3.3, 5);
    expect(flat.socFromOcv(3.3, 0)).toBeCloseTo(0.3, 5);
  });
});
