// A module: Np cells in parallel, one balancing bleed resistor and one DC/DC converter port.
// Each step the cells are Thevenin sources (Cell.prepare) sharing one terminal voltage V:
//   sum_k (E_k - V) / R_k = I + V / R_bleed + P_conv / V,
// solved in closed form (a quadratic when the converter draws power). Current is positive on
// discharge; I is the external (string) current through the module.
//
// Temperature: every cell keeps its own lumped thermal mass and convects to ambient; the bleed
// resistor's heat is shared equally between the module's cells (it sits on the module). The module
// temperature reported is the heat-capacity-weighted mean of its cells.
import type { Cell } from "./cell.ts";

export class Module {
  readonly cells: readonly Cell[];
  /** Balancing bleed resistor across the module; Infinity while the switch is open. */
  bleedResistance_Ohm = Infinity;
  /** Power the module delivers into the energy bus through its converter (negative = absorbs). */
  converterPower_W = 0;

  private readonly cellCurrents: Float64Array;
  private sumConductance = 0;
  private sumSourceCurrent = 0;
  private preparedStep = Number.NaN;
  // Initialised at the declaration so V8 stores it as an unboxed double field (see cell.ts).
  private voltage = 0;
  private current = 0;
  private stepLength = 1;
  private ambient = 25;
  private bleedCurrent = 0;
  private converterCurrent = 0;
  private converterDelivered = 0;
  private limited = false;
  private heat = 0;

  constructor(cells: readonly Cell[]) {
    if (cells.length === 0) throw new Error("a module needs at least one cell");
    this.cells = cells;
    this.cellCurrents = new Float64Array(cells.length);
    let weighted = 0;
    let conductance = 0;
    for (const cell of cells) {
      weighted += cell.terminalVoltage_V / cell.resistance0_Ohm;
      conductance += 1 / cell.resistance0_Ohm;
    }
    this.voltage = weighted / conductance;
  }

  /** First half of a step: prepares every cell's Thevenin equivalent for dt. */
  prepare(dt_s: number): void {
    let g = 0;
    let s = 0;
    const cells = this.cells;
    for (let k = 0; k < cells.length; k++) {
      const cell = cells[k]!;
      cell.prepare(dt_s);
      const gk = 1 / cell.sourceResistance_Ohm;
      g += gk;
      s += cell.sourceVoltage_V * gk;
    }
    this.sumConductance = g;
    this.sumSourceCurrent = s;
    this.preparedStep = dt_s;
  }

  /**
   * Thevenin equivalent seen by the external current after prepare(): V = E - R I. Exact for the
   * cells and the bleed resistor; the converter is linearised as a fixed current P / V at the last
   * module voltage (Pack.stepPower uses this to solve for a power demand).
   */
  get theveninVoltage_V(): number {
    return (this.sumSourceCurrent - this.converterPower_W / this.voltage) / this.totalConductance();
  }
  get theveninResistance_Ohm(): number {
    return 1 / this.totalConductance();
  }

  /**
   * Second half of a step: solves the shared voltage for the external current and advances the
   * cells. Small on purpose, so it inlines into the pack loop (see Cell.commit).
   */
  commit(current_A: number, dt_s: number, ambient_C: number): void {
    if (dt_s !== this.preparedStep) throw new Error(`Module.commit(dt=${dt_s}) without prepare(dt=${dt_s})`);
    this.current = current_A;
    this.stepLength = dt_s;
    this.ambient = ambient_C;
    this.share();
  }

  private share(): void {
    const dt_s = this.stepLength;
    const ambient_C = this.ambient;
    const g = this.totalConductance();
    const s = this.sumSourceCurrent - this.current;
    let power = this.converterPower_W;
    let v: number;
    this.limited = false;
    if (power === 0) {
      v = s / g;
    } else {
      // g V^2 - s V + P = 0; the larger root is the operating point (the smaller is unstable).
      let discriminant = s * s - 4 * g * power;
      if (discriminant < 0 || (power > 0 && s <= 0)) {
        // Infeasible demand: the converter gets the most the module can deliver, at V = s / 2g.
        power = s > 0 ? (s * s) / (4 * g) : 0;
        discriminant = 0;
        this.limited = true;
      }
      v = (s + Math.sqrt(discriminant)) / (2 * g);
    }
    this.preparedStep = Number.NaN;
    this.voltage = v;
    const bleedFinite = Number.isFinite(this.bleedResistance_Ohm);
    this.bleedCurrent = bleedFinite ? v / this.bleedResistance_Ohm : 0;
    this.converterDelivered = power;
    this.converterCurrent = v > 0 ? power / v : 0;
    const cells = this.cells;
    const bleedHeatPerCell = (this.bleedCurrent * v) / cells.length;
    let heat = 0;
    for (let k = 0; k < cells.length; k++) {
      const cell = cells[k]!;
      const i = (cell.sourceVoltage_V - v) / cell.sourceResistance_Ohm;
      this.cellCurrents[k] = i;
      cell.commit(i, dt_s, ambient_C, bleedHeatPerCell);
      heat += cell.heat_W;
    }
    this.heat = heat;
  }

  /** Advances the module by dt with a constant external current (positive = discharge). */
  step(current_A: number, dt_s: number, ambient_C: number): void {
    this.prepare(dt_s);
    this.commit(current_A, dt_s, ambient_C);
  }

  /** Terminal voltage shared by the parallel cells at the end of the last step. */
  get voltage_V(): number { return this.voltage; }
  /** External (string) current of the last step. */
  get current_A(): number { return this.current; }
  /** Current of cell k in the last step. */
  cellCurrent_A(k: number): number { return this.cellCurrents[k]!; }
  /** Sum of the cell currents: external + bleed + converter. */
  get cellsCurrent_A(): number { return this.current + this.bleedCurrent + this.converterCurrent; }
  get bleedCurrent_A(): number { return this.bleedCurrent; }
  get converterCurrent_A(): number { return this.converterCurrent; }
  /** Power actually delivered to the bus in the last step (less than requested when limited). */
  get converterDelivered_W(): number { return this.converterDelivered; }
  /** The last converter demand exceeded what the module could deliver. */
  get converterLimited(): boolean { return this.limited; }
  /** All heat generated in the module in the last step, bleed resistor included. */
  get heat_W(): number { return this.heat; }

  /** Heat-capacity-weighted mean of the cell temperatures. */
  get temperature_C(): number {
    let sum = 0;
    let weight = 0;
    for (const cell of this.cells) {
      sum += cell.temperature_C * cell.heatCapacity;
      weight += cell.heatCapacity;
    }
    return sum / weight;
  }

  /** Capacity-weighted mean SOC, i.e. stored charge over total capacity. */
  get soc(): number {
    let charge = 0;
    let capacity = 0;
    for (const cell of this.cells) {
      charge += cell.soc * cell.capacity_Ah;
      capacity += cell.capacity_Ah;
    }
    return charge / capacity;
  }

  /** Sum of the true (aged, spread) cell capacities. */
  get capacity_Ah(): number {
    let capacity = 0;
    for (const cell of this.cells) capacity += cell.capacity_Ah;
    return capacity;
  }

  /** Parallel combination of the cells' true series resistances. */
  get resistance0_Ohm(): number {
    let conductance = 0;
    for (const cell of this.cells) conductance += 1 / cell.resistance0_Ohm;
    return 1 / conductance;
  }

  private totalConductance(): number {
    const rb = this.bleedResistance_Ohm;
    return this.sumConductance + (Number.isFinite(rb) ? 1 / rb : 0);
  }
}
