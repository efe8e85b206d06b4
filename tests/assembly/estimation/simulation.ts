// Test helper (not a spec): a reference ESC cell simulated in f64 with the same tables as a
// CellModel (Plett 2004 part 2), deterministic Gaussian noise, and cells the specs share.
import { CellModel, CellTable } from "../../../assembly/cell/model";
import { TestCell } from "../cell/fixture";

/** Deterministic normal deviates: a 64-bit LCG (Knuth MMIX constants) and Box-Muller. */
export class Gaussian {
  private state: u64;
  private spare: f64 = 0;
  private hasSpare: bool = false;
  constructor(seed: u64) {
    this.state = seed * 2862933555777941757 + 3037000493;
  }
  uniform(): f64 {
    this.state = this.state * 6364136223846793005 + 1442695040888963407;
    // 53 random bits in (0, 1).
    return (<f64>(this.state >> 11) + 0.5) / 9007199254740992.0;
  }
  next(): f64 {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2.0 * Math.log(u));
    this.spare = radius * Math.sin(2.0 * Math.PI * v);
    this.hasSpare = true;
    return radius * Math.cos(2.0 * Math.PI * v);
  }
}

/** Bilinear, clamped lookup of a model's stored (cell) table in f64. */
export function lookup64(model: CellModel, table: i32, soc: f64, temperature_C: f64): f64 {
  const ns = model.socPoints;
  const nt = model.temperaturePoints;
  let i = 0;
  while (i < ns - 2 && soc >= <f64>model.socAxis[i + 1]) i++;
  let ws = (soc - <f64>model.socAxis[i]) / (<f64>model.socAxis[i + 1] - <f64>model.socAxis[i]);
  ws = ws < 0 ? 0 : ws > 1 ? 1 : ws;
  let j = 0;
  let wt: f64 = 0;
  if (nt > 1) {
    while (j < nt - 2 && temperature_C >= <f64>model.temperatureAxis_C[j + 1]) j++;
    wt = (temperature_C - <f64>model.temperatureAxis_C[j]) / (<f64>model.temperatureAxis_C[j + 1] - <f64>model.temperatureAxis_C[j]);
    wt = wt < 0 ? 0 : wt > 1 ? 1 : wt;
  }
  const j1 = nt > 1 ? j + 1 : j;
  const a = <f64>model.value(table, i, j) + wt * (<f64>model.value(table, i, j1) - <f64>model.value(table, i, j));
  const b = <f64>model.value(table, i + 1, j) + wt * (<f64>model.value(table, i + 1, j1) - <f64>model.value(table, i + 1, j));
  return a + ws * (b - a);
}

/** The true module: ESC model in f64, module values (R / Np, Q * Np). */
export class SimulatedModule {
  model: CellModel;
  soc: f64;
  rc1_A: f64 = 0;
  rc2_A: f64 = 0;
  hysteresis: f64 = 0;
  /** Added to the OCV the module really has: an error of the model the estimator uses. */
  ocvError_V: f64 = 0;
  capacity_Ah: f64;
  constructor(model: CellModel, soc: f64) {
    this.model = model;
    this.soc = soc;
    this.capacity_Ah = <f64>model.cellCapacity_Ah * <f64>model.parallelCells;
  }
  /** Holds current_A (true current, positive = discharge) for dt_s; returns the terminal voltage at the end. */
  step(current_A: f64, temperature_C: f64, dt_s: f64): f64 {
    const m = this.model;
    const z = this.soc;
    const eta: f64 = current_A < 0 ? <f64>m.coulombicEfficiency : 1.0;
    const tau1 = lookup64(m, CellTable.TAU1_s, z, temperature_C);
    const tau2 = lookup64(m, CellTable.TAU2_s, z, temperature_C);
    const a1 = Math.exp(-dt_s / tau1);
    const a2 = Math.exp(-dt_s / tau2);
    const aH = Math.exp(-Math.abs(eta * current_A * <f64>m.hysteresisGamma * dt_s / (3600.0 * this.capacity_Ah)));
    const sign: f64 = current_A > 0 ? 1.0 : current_A < 0 ? -1.0 : 0.0;
    this.soc = z - eta * current_A * dt_s / (3600.0 * this.capacity_Ah);
    this.rc1_A = a1 * this.rc1_A + (1.0 - a1) * current_A;
    this.rc2_A = a2 * this.rc2_A + (1.0 - a2) * current_A;
    this.hysteresis = aH * this.hysteresis - (1.0 - aH) * sign;
    return this.voltage(current_A, temperature_C);
  }
  voltage(current_A: f64, temperature_C: f64): f64 {
    const m = this.model;
    const np = <f64>m.parallelCells;
    const z = this.soc;
    return lookup64(m, CellTable.OCV_V, z, temperature_C) + this.ocvError_V
      + lookup64(m, CellTable.HYSTERESIS_V, z, temperature_C) * this.hysteresis
      - lookup64(m, CellTable.R1_Ohm, z, temperature_C) / np * this.rc1_A
      - lookup64(m, CellTable.R2_Ohm, z, temperature_C) / np * this.rc2_A
      - lookup64(m, CellTable.R0_Ohm, z, temperature_C) / np * current_A;
  }
}

/**
 * An NMC-like cell on 11 SOC points and two temperatures (shape after typical NMC/graphite
 * OCV curves; values for tests only): 5 Ah, R0 15/30 mOhm at 25/0 C, two RC branches, 10 mV
 * hysteresis.
 */
export function nmcLikeCell(): TestCell {
  const cell = new TestCell([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1], [0, 25]);
  const ocv: StaticArray<f32> = [3.0, 3.45, 3.55, 3.62, 3.68, 3.75, 3.84, 3.93, 4.0, 4.08, 4.18];
  for (let i = 0; i < 11; i++) {
    cell.set(CellTable.OCV_V, i, 0, ocv[i] - <f32>0.005);
    cell.set(CellTable.OCV_V, i, 1, ocv[i]);
    cell.set(CellTable.R0_Ohm, i, 0, 0.03);
    cell.set(CellTable.R0_Ohm, i, 1, 0.015);
    cell.set(CellTable.R1_Ohm, i, 0, 0.02);
    cell.set(CellTable.R1_Ohm, i, 1, 0.01);
    cell.set(CellTable.R2_Ohm, i, 0, 0.02);
    cell.set(CellTable.R2_Ohm, i, 1, 0.01);
  }
  cell.fill(CellTable.TAU1_s, 5);
  cell.fill(CellTable.TAU2_s, 120);
  cell.fill(CellTable.HYSTERESIS_V, 0.01);
  cell.id = "nmc-like";
  cell.capacity_Ah = 5;
  cell.coulombicEfficiency = 0.999;
  cell.gamma = 100;
  cell.minVoltage_V = 2.5;
  cell.nominalVoltage_V = 3.6;
  cell.maxVoltage_V = 4.2;
  cell.selfDischarge_per_day = 0.0005;
  return cell;
}

/** An LFP-like cell: steep ends, a plateau of about 0.1 V per unit SOC between 15 % and 90 %, 20 mV hysteresis. */
export function lfpLikeCell(): TestCell {
  const cell = new TestCell([0, 0.05, 0.1, 0.15, 0.3, 0.5, 0.7, 0.9, 0.95, 1], [25]);
  const ocv: StaticArray<f32> = [2.5, 3.1, 3.2, 3.25, 3.27, 3.29, 3.31, 3.33, 3.4, 3.6];
  for (let i = 0; i < 10; i++) cell.set(CellTable.OCV_V, i, 0, ocv[i]);
  cell.fill(CellTable.R0_Ohm, 0.02);
  cell.fill(CellTable.R1_Ohm, 0.005);
  cell.fill(CellTable.R2_Ohm, 0.006);
  cell.fill(CellTable.TAU1_s, 3);
  cell.fill(CellTable.TAU2_s, 60);
  cell.fill(CellTable.HYSTERESIS_V, 0.02);
  cell.id = "lfp-like";
  cell.capacity_Ah = 3;
  cell.coulombicEfficiency = 0.9995;
  cell.gamma = 50;
  cell.minVoltage_V = 2.0;
  cell.nominalVoltage_V = 3.2;
  cell.maxVoltage_V = 3.65;
  return cell;
}

/** A load profile: 2 min cycles of discharge pulses, rest and regenerative charge, mean C/4-ish discharge. */
export function pulseCurrent_A(t_s: i32, capacity_Ah: f64): f64 {
  const phase = t_s % 120;
  if (phase < 50) return 1.0 * capacity_Ah;
  if (phase < 70) return 0;
  if (phase < 90) return -0.6 * capacity_Ah;
  if (phase < 110) return 0.3 * capacity_Ah;
  return 0;
}
