// The node's cell model: the enhanced self-correcting (ESC) equivalent circuit of G. L. Plett,
// "Extended Kalman filtering for battery management systems of LiPB-based HEV battery packs,
// part 2: modeling and identification", J. Power Sources 134 (2004) 262-276, with two RC branches:
//
//   v = OCV(z, T) + M(z, T) h - R1 iR1 - R2 iR2 - R0 i          (current i positive = discharge)
//
// Every parameter is a table on one (SOC, temperature) grid, read by bilinear interpolation
// clamped at the edges (the same rule as the host plant, host/plant/chemistry.ts).
//
// What is stored: CELL values, exactly as provisioned (docs/cell-blob.md), plus the number of
// cells in parallel, Np, of the module this node measures. What is read: MODULE values, because
// the node measures the module's current and voltage. Np identical cells in parallel behave as
// one cell with R/Np and Np times the capacity; OCV, time constants, hysteresis magnitude and
// gamma are unchanged. evaluate(), r0Module_Ohm() and moduleCapacity_Ah() apply that scaling;
// lookup() returns the stored cell value.
//
// Written only by parseCellBlob (assembly/cell/blob.ts), which validates a whole blob before it
// copies anything, so a model is either empty or a complete, checked parameter set.
// Lookups never allocate: the bracketing indices and weights live in fields of the model. A NaN
// SOC or temperature reads the lower edge of its axis (estimators check their inputs first).

export const MAX_SOC_POINTS: i32 = 32;
export const MAX_TEMPERATURE_POINTS: i32 = 6;
export const CELL_ID_BYTES: i32 = 24;

/** Table numbers: the order of the tables in the blob and in CellModel.tables. */
export namespace CellTable {
  export const OCV_V: i32 = 0;
  export const R0_Ohm: i32 = 1;
  export const R1_Ohm: i32 = 2;
  export const TAU1_s: i32 = 3;
  export const R2_Ohm: i32 = 4;
  export const TAU2_s: i32 = 5;
  /** Hysteresis magnitude M(SOC, T): half the gap between charge and discharge rest voltages. */
  export const HYSTERESIS_V: i32 = 6;
}
export const CELL_TABLE_COUNT: i32 = 7;

/** Module-level ESC parameters at one (SOC, T); filled by CellModel.evaluate without allocation. */
export class EscParameters {
  ocv_V: f32 = 0;
  /** Slope of the OCV segment holding the SOC: V per unit SOC (1.0 = 100 %). */
  dOcvdSoc_V: f32 = 0;
  r0_Ohm: f32 = 0;
  r1_Ohm: f32 = 0;
  tau1_s: f32 = 0;
  r2_Ohm: f32 = 0;
  tau2_s: f32 = 0;
  hysteresis_V: f32 = 0;
}

export class CellModel {
  readonly maxSocPoints: i32;
  readonly maxTemperaturePoints: i32;
  /** Floats per table: maxSocPoints * maxTemperaturePoints. */
  readonly tableStride: i32;
  socPoints: i32 = 0;
  temperaturePoints: i32 = 0;
  /** Strictly increasing SOC points in [0, 1]; the first socPoints are used. */
  readonly socAxis: StaticArray<f32>;
  /** Strictly increasing temperatures, degC; the first temperaturePoints are used. */
  readonly temperatureAxis_C: StaticArray<f32>;
  /** CELL_TABLE_COUNT tables of cell values; (table, i, j) at table * tableStride + i * temperaturePoints + j. */
  readonly tables: StaticArray<f32>;
  /** ASCII cell id, NUL padded (the blob's id field). */
  readonly cellId: StaticArray<u8>;
  cellCapacity_Ah: f32 = 0;
  /** Fraction of the charging current stored (applied on charge only). */
  coulombicEfficiency: f32 = 1;
  /** Hysteresis rate constant, dimensionless (Plett 2004 part 2, eq. for h). */
  hysteresisGamma: f32 = 0;
  minVoltage_V: f32 = 0;
  nominalVoltage_V: f32 = 0;
  maxVoltage_V: f32 = 0;
  /** Reversible self-discharge at the parameter set's reference temperature, SOC per day. */
  selfDischarge_per_day: f32 = 0;
  /** Cells in parallel in the measured module (Np). */
  parallelCells: i32 = 1;
  /** False until a parameter set has been installed. */
  loaded: bool = false;

  // Bracket of the last locate: SOC rows socIndex, socIndex + 1 with the weight of the second;
  // temperature columns temperatureIndex, temperatureIndexNext (equal for a one-point axis) with
  // the weight of the second; lowerRow, upperRow: offsets of the two SOC rows within a table.
  private socIndex: i32 = 0;
  private socWeight: f32 = 0;
  private temperatureIndex: i32 = 0;
  private temperatureIndexNext: i32 = 0;
  private temperatureWeight: f32 = 0;
  private lowerRow: i32 = 0;
  private upperRow: i32 = 0;

  constructor(maxSocPoints: i32 = MAX_SOC_POINTS, maxTemperaturePoints: i32 = MAX_TEMPERATURE_POINTS) {
    const s = maxSocPoints < 2 ? 2 : maxSocPoints > MAX_SOC_POINTS ? MAX_SOC_POINTS : maxSocPoints;
    const t = maxTemperaturePoints < 1 ? 1 : maxTemperaturePoints > MAX_TEMPERATURE_POINTS ? MAX_TEMPERATURE_POINTS : maxTemperaturePoints;
    this.maxSocPoints = s;
    this.maxTemperaturePoints = t;
    this.tableStride = s * t;
    this.socAxis = new StaticArray<f32>(s);
    this.temperatureAxis_C = new StaticArray<f32>(t);
    this.tables = new StaticArray<f32>(CELL_TABLE_COUNT * s * t);
    this.cellId = new StaticArray<u8>(CELL_ID_BYTES);
  }

  /** Module capacity: cell capacity times the cells in parallel. */
  moduleCapacity_Ah(): f32 {
    return this.cellCapacity_Ah * <f32>this.parallelCells;
  }

  /** Stored (cell) value of a table at grid node (i, j); i, j must be inside the loaded grid. */
  value(table: i32, i: i32, j: i32): f32 {
    if (table < 0 || table >= CELL_TABLE_COUNT || i < 0 || i >= this.socPoints || j < 0 || j >= this.temperaturePoints) return NaN;
    // In range: table < CELL_TABLE_COUNT, i < socPoints <= maxSocPoints, j < temperaturePoints <= maxTemperaturePoints.
    return unchecked(this.tables[table * this.tableStride + i * this.temperaturePoints + j]);
  }

  /** Bilinear, clamped cell value of one table at (soc, T). */
  lookup(table: i32, soc: f32, temperature_C: f32): f32 {
    if (table < 0 || table >= CELL_TABLE_COUNT || !this.loaded) return NaN;
    this.locate(soc, temperature_C);
    return this.interpolate(table);
  }

  /** Open-circuit voltage at (soc, T), V. */
  ocv_V(soc: f32, temperature_C: f32): f32 {
    if (!this.loaded) return NaN;
    this.locate(soc, temperature_C);
    return this.interpolate(CellTable.OCV_V);
  }

  /**
   * dOCV/dSOC in V per unit SOC: the slope of the piecewise-linear OCV segment holding soc (the
   * exact derivative of the model the lookups use). Outside the SOC axis the edge segment's slope
   * is returned rather than zero, so a filter linearised there still sees voltage depend on SOC.
   */
  dOcvdSoc(soc: f32, temperature_C: f32): f32 {
    if (!this.loaded) return NaN;
    this.locate(soc, temperature_C);
    return this.segmentSlope();
  }

  /** Module series resistance R0 / Np at (soc, T). */
  r0Module_Ohm(soc: f32, temperature_C: f32): f32 {
    if (!this.loaded) return NaN;
    this.locate(soc, temperature_C);
    return this.interpolate(CellTable.R0_Ohm) / <f32>this.parallelCells;
  }

  /**
   * The SOC whose OCV at temperature T equals ocv_V: the exact inverse of the piecewise-linear
   * OCV column at T (each column is strictly increasing, so their temperature blend is too),
   * found by bisection over the SOC points. Clamped to the axis ends.
   */
  socFromOcv(ocv_V: f32, temperature_C: f32): f32 {
    if (!this.loaded || isNaN(ocv_V)) return NaN;
    this.locateTemperature(temperature_C);
    const last = this.socPoints - 1;
    const first_V = this.column(CellTable.OCV_V, 0);
    const last_V = this.column(CellTable.OCV_V, last);
    if (!(ocv_V > first_V)) return unchecked(this.socAxis[0]);
    if (!(ocv_V < last_V)) return unchecked(this.socAxis[last]);
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.column(CellTable.OCV_V, mid) <= ocv_V) lo = mid;
      else hi = mid;
    }
    const vLo = this.column(CellTable.OCV_V, lo);
    const vHi = this.column(CellTable.OCV_V, hi);
    // 0 <= lo < hi <= last < socPoints <= maxSocPoints
    const sLo = unchecked(this.socAxis[lo]);
    const sHi = unchecked(this.socAxis[hi]);
    return sLo + (ocv_V - vLo) / (vHi - vLo) * (sHi - sLo);
  }

  /** Largest hysteresis magnitude M of the table, V (over every SOC and temperature point). */
  maxHysteresis_V(): f32 {
    if (!this.loaded) return NaN;
    let largest: f32 = 0;
    for (let i = 0; i < this.socPoints; i++) {
      for (let j = 0; j < this.temperaturePoints; j++) {
        const m = this.value(CellTable.HYSTERESIS_V, i, j);
        if (m > largest) largest = m;
      }
    }
    return largest;
  }

  /** All module-level ESC parameters at (soc, T) with one grid search. */
  evaluate(soc: f32, temperature_C: f32, out: EscParameters): void {
    if (!this.loaded) {
      out.ocv_V = NaN;
      return;
    }
    this.locate(soc, temperature_C);
    const inverseParallel = <f32>1.0 / <f32>this.parallelCells;
    out.ocv_V = this.interpolate(CellTable.OCV_V);
    out.dOcvdSoc_V = this.segmentSlope();
    out.r0_Ohm = this.interpolate(CellTable.R0_Ohm) * inverseParallel;
    out.r1_Ohm = this.interpolate(CellTable.R1_Ohm) * inverseParallel;
    out.tau1_s = this.interpolate(CellTable.TAU1_s);
    out.r2_Ohm = this.interpolate(CellTable.R2_Ohm) * inverseParallel;
    out.tau2_s = this.interpolate(CellTable.TAU2_s);
    out.hysteresis_V = this.interpolate(CellTable.HYSTERESIS_V);
  }

  // -------------------------------------------------------------------------------------------

  private locate(soc: f32, temperature_C: f32): void {
    this.locateSoc(soc);
    this.locateTemperature(temperature_C);
    this.lowerRow = this.socIndex * this.temperaturePoints;
    this.upperRow = this.lowerRow + this.temperaturePoints;
  }

  /** Interval index k (axis[k] <= soc < axis[k+1], 0..socPoints-2) and weight of k+1 in [0, 1]. NaN goes to the lower edge. */
  private locateSoc(soc: f32): void {
    const last = this.socPoints - 1;
    // socPoints >= 2 whenever loaded (blob validation), so 0 <= last - 1.
    if (!(soc > unchecked(this.socAxis[0]))) {
      this.socIndex = 0;
      this.socWeight = 0;
      return;
    }
    if (soc >= unchecked(this.socAxis[last])) {
      this.socIndex = last - 1;
      this.socWeight = 1;
      return;
    }
    // The SOC moves little between lookups: the bracket of the last one usually still holds it.
    // The interval is unique (strictly increasing axis), so this finds what the search would.
    let lo = this.socIndex;
    if (!(lo < last && unchecked(this.socAxis[lo]) <= soc && soc < unchecked(this.socAxis[lo + 1]))) {
      lo = 0;
      let hi = last;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (unchecked(this.socAxis[mid]) <= soc) lo = mid;
        else hi = mid;
      }
    }
    const a = unchecked(this.socAxis[lo]);
    this.socIndex = lo;
    this.socWeight = (soc - a) / (unchecked(this.socAxis[lo + 1]) - a);
  }

  private locateTemperature(temperature_C: f32): void {
    const last = this.temperaturePoints - 1;
    if (last == 0 || !(temperature_C > unchecked(this.temperatureAxis_C[0]))) {
      this.temperatureIndex = 0;
      this.temperatureIndexNext = last == 0 ? 0 : 1;
      this.temperatureWeight = 0;
      return;
    }
    if (temperature_C >= unchecked(this.temperatureAxis_C[last])) {
      this.temperatureIndex = last - 1;
      this.temperatureIndexNext = last;
      this.temperatureWeight = 1;
      return;
    }
    // As for the SOC: the last bracket first, the scan only when the temperature left it.
    let k = this.temperatureIndex;
    if (!(k < last && unchecked(this.temperatureAxis_C[k]) <= temperature_C && temperature_C < unchecked(this.temperatureAxis_C[k + 1]))) {
      k = 0;
      while (k + 1 < last && unchecked(this.temperatureAxis_C[k + 1]) <= temperature_C) k++;
    }
    const a = unchecked(this.temperatureAxis_C[k]);
    this.temperatureIndex = k;
    this.temperatureIndexNext = k + 1;
    this.temperatureWeight = (temperature_C - a) / (unchecked(this.temperatureAxis_C[k + 1]) - a);
  }

  /** A table's value at SOC row i, blended across the located temperature bracket. */
  private column(table: i32, i: i32): f32 {
    // Callers pass table < CELL_TABLE_COUNT and 0 <= i < socPoints; the temperature bracket is
    // inside [0, temperaturePoints) by locateTemperature.
    const row = table * this.tableStride + i * this.temperaturePoints;
    const v0 = unchecked(this.tables[row + this.temperatureIndex]);
    const v1 = unchecked(this.tables[row + this.temperatureIndexNext]);
    return v0 + this.temperatureWeight * (v1 - v0);
  }

  /** Bilinear value of a table at the located point (same arithmetic as two column() calls). */
  private interpolate(table: i32): f32 {
    // table < CELL_TABLE_COUNT, rows socIndex and socIndex + 1 < socPoints, columns inside
    // [0, temperaturePoints): every offset is inside the table's block of tableStride floats.
    const base = table * this.tableStride;
    const lower = base + this.lowerRow;
    const upper = base + this.upperRow;
    const tj = this.temperatureIndex;
    const tk = this.temperatureIndexNext;
    const wt = this.temperatureWeight;
    const a0 = unchecked(this.tables[lower + tj]);
    const a1 = unchecked(this.tables[lower + tk]);
    const b0 = unchecked(this.tables[upper + tj]);
    const b1 = unchecked(this.tables[upper + tk]);
    const v0 = a0 + wt * (a1 - a0);
    const v1 = b0 + wt * (b1 - b0);
    return v0 + this.socWeight * (v1 - v0);
  }

  private segmentSlope(): f32 {
    const i = this.socIndex;
    const v0 = this.column(CellTable.OCV_V, i);
    const v1 = this.column(CellTable.OCV_V, i + 1);
    return (v1 - v0) / (unchecked(this.socAxis[i + 1]) - unchecked(this.socAxis[i]));
  }
}
