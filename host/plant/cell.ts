// One lithium-ion cell: Plett's enhanced self-correcting (ESC) equivalent circuit — OCV(SOC, T),
// one-state dynamic hysteresis, series R0 and two RC branches discretised exactly for a
// zero-order-hold current — with a lumped thermal mass, self-discharge and semi-empirical ageing.
// Current is positive on DISCHARGE (Plett's convention). Equations: docs/chemistry.md.
//
// Cost model: one grid lookup per step (at the end, for the new SOC and temperature), no
// allocation, exp(-dt/tau) read from a per-dt table shared by every cell of the parameter set,
// ageing laws evaluated once per ageing interval rather than per step.
import {
  compileCell, GridCursor, rateLike, lookupStress, lookupTable, arrheniusFactor, ZERO_CELSIUS_K,
  Q_OCV, Q_DOCV_DT, Q_HYSTERESIS, Q_R0, Q_R1, Q_R2, GRID_STRIDE, GRID_T_POINTS,
} from "./chemistry.ts";
import type { CellParameters, CompiledCell, CycleLaw } from "./chemistry.ts";

// Module-local copies of the grid layout: under a transpiling loader (tsx) an imported binding can
// be an accessor call, which costs more than the whole step in the hot path.
const STRIDE = GRID_STRIDE;
const ROW = GRID_STRIDE * GRID_T_POINTS;
const OCV = Q_OCV;
const DOCV_DT = Q_DOCV_DT;
const HYST = Q_HYSTERESIS;
const R0 = Q_R0;
const R1 = Q_R1;
const R2 = Q_R2;
const KELVIN = ZERO_CELSIUS_K;

export interface CellOptions {
  /** Initial state of charge, 0..1 (default 0.5). */
  soc?: number;
  /** Initial cell temperature (default 25 °C). */
  temperature_C?: number;
  /** Multiplies the nominal capacity (cell-to-cell spread; default 1). */
  capacityScale?: number;
  /** Multiplies R0, R1 and R2 (default 1). */
  resistanceScale?: number;
  /** Multiplies the self-discharge rate (default 1). */
  selfDischargeScale?: number;
  /** Overrides the parameter set's convective coefficient h. */
  convectiveCoefficient_W_per_m2K?: number;
  /** Include the reversible (entropic) heat -i T dOCV/dT (default true). */
  reversibleHeat?: boolean;
  /** Accumulate capacity fade and resistance growth (default true). */
  ageing?: boolean;
  /** Simulated time between evaluations of the ageing laws and the self-discharge temperature factor (default 60 s). */
  ageingInterval_s?: number;
  /** SOC reversal that closes a half cycle in the DOD counter (default 0.01). */
  halfCycleThreshold?: number;
}

/** Everything needed to save and restore a cell; setState accepts any subset. */
export interface CellState {
  soc: number;
  temperature_C: number;
  /** Hysteresis state h in [-1, 1]; the hysteresis voltage is M(SOC, T) * h. */
  hysteresis: number;
  /** Voltages across the two RC branches (positive on discharge). */
  rc1_V: number;
  rc2_V: number;
  capacityLossCalendar: number;
  capacityLossCycle: number;
  resistanceGrowthCalendar: number;
  resistanceGrowthCycle: number;
  fullEquivalentCycles: number;
  age_days: number;
}

export class Cell {
  readonly parameters: CellParameters;
  private readonly model: CompiledCell;
  private readonly cursor = new GridCursor();

  private readonly capacityScale: number;
  private readonly resistanceScale: number;
  private readonly selfDischargeScale: number;
  private readonly conductance_W_per_K: number;
  private readonly heatCapacity_J_per_K: number;
  private readonly reversibleHeat: boolean;
  private readonly ageingEnabled: boolean;
  private readonly ageingInterval_s: number;
  private readonly halfCycleThreshold: number;
  private readonly chargeEfficiency: number;
  private readonly gamma: number;

  // Electrical and thermal state. Every field written per step is initialised with a number at
  // its declaration: a field declared bare starts as undefined, V8 then keeps it in the generic
  // tagged representation and each double stored into it allocates a heap number.
  private z = 0.5;
  private h = 0;
  private v1 = 0;
  private v2 = 0;
  private t_C = 25;
  private current = 0;
  private stepLength = 1;
  private ambient = 25;
  private externalHeat = 0;
  private voltage = 0;
  private heat = 0;

  // Lookups at the present state (refresh), already scaled by spread and ageing.
  private ocv = 0;
  private dOcvdT = 0;
  private m = 0;
  private r0 = 0;
  private r1 = 0;
  private r2 = 0;

  // Per-step Thevenin equivalent (prepare).
  private a1 = 0;
  private a2 = 0;
  private sourceV = 0;
  private sourceR = 0;

  // Quantities that change only with ageing or temperature, refreshed per ageing interval.
  private capacity_As = 0;
  private invCapacity_As = 0;
  private gammaPerCharge = 0;
  private selfDischarge_per_s = 0;
  private thermalStep = Number.NaN;
  private thermalDecay = 0;

  // Ageing state and the accumulators of the current ageing interval.
  private qCal = 0;
  private qCyc = 0;
  private rCal = 0;
  private rCyc = 0;
  private fec = 0;
  private ageDays = 0;
  private accTime = 0;
  private accSoc = 0;
  private accTemp = 0;
  private accCharge = 0;
  private accChargeCurrent = 0;
  // Half-cycle counter: direction (+1 charging, -1 discharging, 0 unknown), last turning point,
  // running extremum, depth and midpoint of the last completed half cycle.
  private hcDirection = 0;
  private hcTurn = 0.5;
  private hcExtreme = 0.5;
  private hcDepth = 0;
  private hcMid = 0.5;

  constructor(parameters: CellParameters, options: CellOptions = {}) {
    this.parameters = parameters;
    this.model = compileCell(parameters);
    this.capacityScale = positive(options.capacityScale ?? 1, "capacityScale");
    this.resistanceScale = positive(options.resistanceScale ?? 1, "resistanceScale");
    this.selfDischargeScale = options.selfDischargeScale ?? 1;
    if (!(this.selfDischargeScale >= 0)) throw new Error(`selfDischargeScale must be >= 0 (is ${this.selfDischargeScale})`);
    const th = parameters.thermal;
    const h = positive(options.convectiveCoefficient_W_per_m2K ?? th.convectiveCoefficient_W_per_m2K, "convectiveCoefficient_W_per_m2K");
    this.conductance_W_per_K = h * th.surfaceArea_m2;
    this.heatCapacity_J_per_K = th.mass_kg * th.specificHeat_J_per_kgK;
    this.reversibleHeat = options.reversibleHeat ?? true;
    this.ageingEnabled = options.ageing ?? true;
    this.ageingInterval_s = positive(options.ageingInterval_s ?? 60, "ageingInterval_s");
    this.halfCycleThreshold = positive(options.halfCycleThreshold ?? 0.01, "halfCycleThreshold");
    this.chargeEfficiency = parameters.electrical.coulombicEfficiency;
    this.gamma = parameters.hysteresis.gamma;
    this.z = options.soc ?? 0.5;
    this.t_C = options.temperature_C ?? 25;
    this.hcTurn = this.z;
    this.hcExtreme = this.z;
    this.hcMid = this.z;
    this.updateSlowQuantities(this.t_C);
    this.refresh();
    this.voltage = this.ocv + this.m * this.h;
  }

  /** Advances the cell by dt with a constant current (positive = discharge). */
  step(current_A: number, dt_s: number, ambient_C: number): void {
    this.prepare(dt_s);
    this.commit(current_A, dt_s, ambient_C, 0);
  }

  /**
   * First half of a step: the cell's Thevenin equivalent for a zero-order-hold current over dt,
   * v = sourceVoltage_V - sourceResistance_Ohm * i, exact for the RC branches. Module and Pack use
   * it to share current between parallel cells and to solve for a power demand.
   */
  prepare(dt_s: number): void {
    const model = this.model;
    model.prepareDecay(dt_s);
    model.decayAt(this.cursor);
    const a1 = this.cursor.decay1;
    const a2 = this.cursor.decay2;
    this.a1 = a1;
    this.a2 = a2;
    this.sourceV = this.ocv + this.m * this.h - a1 * this.v1 - a2 * this.v2;
    this.sourceR = this.r0 + this.r1 * (1 - a1) + this.r2 * (1 - a2);
  }

  /** Open-circuit part of the Thevenin equivalent from the last prepare(). */
  get sourceVoltage_V(): number { return this.sourceV; }
  /** Series part of the Thevenin equivalent from the last prepare(). */
  get sourceResistance_Ohm(): number { return this.sourceR; }

  /**
   * Second half of a step: applies the current chosen for the prepared Thevenin equivalent.
   * Kept tiny so V8 inlines it into the module loop: the arguments land in fields and advance()
   * takes none, because a double passed to a call that is not inlined is boxed on the heap.
   */
  commit(current_A: number, dt_s: number, ambient_C: number, externalHeat_W: number): void {
    this.current = current_A;
    this.stepLength = dt_s;
    this.ambient = ambient_C;
    this.externalHeat = externalHeat_W;
    this.advance();
  }

  private advance(): void {
    const i = this.current;
    const dt_s = this.stepLength;
    const ambient_C = this.ambient;
    const a1 = this.a1;
    const a2 = this.a2;
    const v1 = a1 * this.v1 + this.r1 * (1 - a1) * i;
    const v2 = a2 * this.v2 + this.r2 * (1 - a2) * i;
    this.v1 = v1;
    this.v2 = v2;
    this.voltage = this.sourceV - this.sourceR * i;

    let heat = i * i * this.r0 + (v1 * v1) / this.r1 + (v2 * v2) / this.r2 + this.externalHeat;
    if (this.reversibleHeat) heat -= i * (this.t_C + KELVIN) * this.dOcvdT;
    this.heat = heat;

    // Charge stored per ampere: 1 on discharge, the coulombic efficiency on charge. (A product, not
    // a ternary on i: a branch mixing the tagged argument with a computed double gets boxed.)
    const stored = i * (i > 0 ? 1 : this.chargeEfficiency);
    if (i !== 0) {
      // Plett 2004 (part 2): h(k+1) = A h(k) + (A - 1) sgn(i), A = exp(-|eta i gamma dt / Q|).
      const decay = Math.exp(-Math.abs(stored) * this.gammaPerCharge * dt_s);
      this.h = decay * this.h + (decay - 1) * (i > 0 ? 1 : -1);
    }
    this.z -= stored * dt_s * this.invCapacity_As + this.selfDischarge_per_s * dt_s;

    if (dt_s !== this.thermalStep) {
      this.thermalStep = dt_s;
      this.thermalDecay = Math.exp(-dt_s * this.conductance_W_per_K / this.heatCapacity_J_per_K);
    }
    const d = this.thermalDecay;
    this.t_C = ambient_C + (this.t_C - ambient_C) * d + (heat / this.conductance_W_per_K) * (1 - d);

    this.accTime += dt_s;
    this.accTemp += this.t_C * dt_s;
    if (this.ageingEnabled) {
      this.trackHalfCycle();
      const absI = Math.abs(i);
      this.accSoc += this.z * dt_s;
      this.accCharge += absI * dt_s;
      this.accChargeCurrent += absI * absI * dt_s;
    }
    if (this.accTime >= this.ageingInterval_s) this.endInterval();
    this.refresh();
  }

  get soc(): number { return this.z; }
  /** OCV at the present SOC and temperature (without hysteresis). */
  get ocv_V(): number { return this.ocv; }
  /**
   * Terminal voltage for the last current: v = OCV + M h - v1 - v2 - R0 i with the RC voltages at
   * the end of the step and OCV, M, h, R0 at its start (Plett's output equation); it is the value
   * the module's current sharing solved for. After setState it is re-evaluated at the new state.
   */
  get terminalVoltage_V(): number { return this.voltage; }
  get current_A(): number { return this.current; }
  get temperature_C(): number { return this.t_C; }
  /** True (aged, spread-scaled) capacity. */
  get capacity_Ah(): number { return this.capacity_As / 3600; }
  /** True series resistance at the present SOC and temperature. */
  get resistance0_Ohm(): number { return this.r0; }
  /** Hysteresis voltage M(SOC, T) * h added to the OCV. */
  get hysteresis_V(): number { return this.m * this.h; }
  /**
   * Time constant of charge exchange with a stiff voltage source at rest, s: R0 Q over the cell's
   * voltage stiffness dV/dSOC, the OCV slope (over +-0.5 % of SOC in the set's own table) plus the
   * hysteresis's M gamma (1 + |h|). An explicit step of the current shared between parallel cells
   * is stable only below twice this (Module.share); Plett's hysteresis makes it nonlinear, so
   * callers stay well below.
   */
  get restTimeConstant_s(): number {
    const table = this.parameters.ocv.ocv_V;
    const low = Math.max(0, this.z - 0.005);
    const high = Math.min(1, this.z + 0.005);
    const slope = high > low ? Math.abs(lookupTable(table, high, this.t_C) - lookupTable(table, low, this.t_C)) / (high - low) : 0;
    const stiffness = slope + this.m * this.gamma * (1 + Math.abs(this.h));
    return stiffness > 0 ? (this.r0 * this.capacity_As) / stiffness : Infinity;
  }
  /** Heat generated in the last step, including external heat passed to commit(). */
  get heat_W(): number { return this.heat; }
  /** Thermal conductance to ambient h*A. */
  get thermalConductance_W_per_K(): number { return this.conductance_W_per_K; }
  get heatCapacity(): number { return this.heatCapacity_J_per_K; }
  /** Relative capacity lost (calendar + cycle). */
  get capacityFade(): number { return this.qCal + this.qCyc; }
  /** Relative series-resistance increase (calendar + cycle). */
  get resistanceGrowth(): number { return this.rCal + this.rCyc; }
  get fullEquivalentCycles(): number { return this.fec; }

  getState(): CellState {
    return {
      soc: this.z, temperature_C: this.t_C, hysteresis: this.h, rc1_V: this.v1, rc2_V: this.v2,
      capacityLossCalendar: this.qCal, capacityLossCycle: this.qCyc,
      resistanceGrowthCalendar: this.rCal, resistanceGrowthCycle: this.rCyc,
      fullEquivalentCycles: this.fec, age_days: this.ageDays,
    };
  }

  /** Overwrites any subset of the state; the terminal voltage is recomputed for the last current. */
  setState(state: Partial<CellState>): void {
    if (state.soc !== undefined) {
      this.z = state.soc;
      this.hcDirection = 0;
      this.hcTurn = this.hcExtreme = this.hcMid = state.soc;
    }
    if (state.temperature_C !== undefined) this.t_C = state.temperature_C;
    if (state.hysteresis !== undefined) {
      if (!(state.hysteresis >= -1 && state.hysteresis <= 1)) throw new Error(`hysteresis state must be in [-1, 1] (is ${state.hysteresis})`);
      this.h = state.hysteresis;
    }
    if (state.rc1_V !== undefined) this.v1 = state.rc1_V;
    if (state.rc2_V !== undefined) this.v2 = state.rc2_V;
    if (state.capacityLossCalendar !== undefined) this.qCal = state.capacityLossCalendar;
    if (state.capacityLossCycle !== undefined) this.qCyc = state.capacityLossCycle;
    if (state.resistanceGrowthCalendar !== undefined) this.rCal = state.resistanceGrowthCalendar;
    if (state.resistanceGrowthCycle !== undefined) this.rCyc = state.resistanceGrowthCycle;
    if (state.fullEquivalentCycles !== undefined) this.fec = state.fullEquivalentCycles;
    if (state.age_days !== undefined) this.ageDays = state.age_days;
    this.updateSlowQuantities(this.t_C);
    this.refresh();
    this.voltage = this.ocv + this.m * this.h - this.v1 - this.v2 - this.r0 * this.current;
  }

  /** Grid lookup at the present SOC and temperature. */
  private refresh(): void {
    const model = this.model;
    const c = this.cursor;
    c.soc = this.z;
    c.temperature_C = this.t_C;
    model.locate(c);
    // The four corner records are adjacent in pairs; read each quantity straight from them.
    const g = model.grid;
    const a = c.node * STRIDE;
    const b = a + STRIDE;
    const d = a + ROW;
    const e = d + STRIDE;
    const w00 = c.w00, w01 = c.w01, w10 = c.w10, w11 = c.w11;
    const rScale = this.resistanceScale * (1 + this.rCal + this.rCyc);
    this.ocv = g[a + OCV]! * w00 + g[b + OCV]! * w01 + g[d + OCV]! * w10 + g[e + OCV]! * w11;
    this.dOcvdT = g[a + DOCV_DT]! * w00 + g[b + DOCV_DT]! * w01 + g[d + DOCV_DT]! * w10 + g[e + DOCV_DT]! * w11;
    this.m = g[a + HYST]! * w00 + g[b + HYST]! * w01 + g[d + HYST]! * w10 + g[e + HYST]! * w11;
    this.r0 = (g[a + R0]! * w00 + g[b + R0]! * w01 + g[d + R0]! * w10 + g[e + R0]! * w11) * rScale;
    this.r1 = (g[a + R1]! * w00 + g[b + R1]! * w01 + g[d + R1]! * w10 + g[e + R1]! * w11) * rScale;
    this.r2 = (g[a + R2]! * w00 + g[b + R2]! * w01 + g[d + R2]! * w10 + g[e + R2]! * w11) * rScale;
  }

  private updateSlowQuantities(temperature_C: number): void {
    const p = this.parameters;
    const capacityLeft = Math.max(0.05, 1 - this.qCal - this.qCyc);
    this.capacity_As = p.electrical.nominalCapacity_Ah * 3600 * this.capacityScale * capacityLeft;
    this.invCapacity_As = 1 / this.capacity_As;
    this.gammaPerCharge = this.gamma * this.invCapacity_As;
    const sd = p.selfDischarge;
    this.selfDischarge_per_s = (sd.rate_per_day / 86400) * this.selfDischargeScale
      / arrheniusFactor(sd.activationEnergy_J_per_mol, temperature_C, sd.referenceTemperature_C);
  }

  /** Half-cycle counter (a rainflow-lite): a half cycle closes when SOC reverses by the threshold. */
  private trackHalfCycle(): void {
    const z = this.z;
    const threshold = this.halfCycleThreshold;
    if (this.hcDirection === 0) {
      if (z - this.hcTurn > threshold) { this.hcDirection = 1; this.hcExtreme = z; }
      else if (this.hcTurn - z > threshold) { this.hcDirection = -1; this.hcExtreme = z; }
    } else if (this.hcDirection > 0) {
      if (z > this.hcExtreme) this.hcExtreme = z;
      else if (this.hcExtreme - z > threshold) this.closeHalfCycle(-1);
    } else {
      if (z < this.hcExtreme) this.hcExtreme = z;
      else if (z - this.hcExtreme > threshold) this.closeHalfCycle(1);
    }
  }

  private closeHalfCycle(newDirection: number): void {
    this.hcDepth = Math.abs(this.hcExtreme - this.hcTurn);
    this.hcMid = 0.5 * (this.hcExtreme + this.hcTurn);
    this.hcTurn = this.hcExtreme;
    this.hcExtreme = this.z;
    this.hcDirection = newDirection;
  }

  /** Closes an accumulation interval: ageing laws, then the temperature-dependent slow quantities. */
  private endInterval(): void {
    const meanTemp = this.accTemp / this.accTime;
    if (this.ageingEnabled) this.age(meanTemp);
    this.accTime = this.accSoc = this.accTemp = this.accCharge = this.accChargeCurrent = 0;
    this.updateSlowQuantities(meanTemp);
  }

  /** Evaluates the ageing laws for the interval just accumulated (docs/chemistry.md, "Ageing"). */
  private age(meanTemp: number): void {
    const laws = this.parameters.ageing;
    const seconds = this.accTime;
    const meanSoc = this.accSoc / seconds;
    const days = seconds / 86400;
    this.qCal = advancePowerLaw(this.qCal, rateLike(laws.calendar.capacity.rate, meanSoc, meanTemp), laws.calendar.capacity.timeExponent, days);
    this.rCal = advancePowerLaw(this.rCal, rateLike(laws.calendar.resistance.rate, meanSoc, meanTemp), laws.calendar.resistance.timeExponent, days);
    if (this.accCharge > 0) {
      const nominal_Ah = this.parameters.electrical.nominalCapacity_Ah * this.capacityScale;
      const cycles = this.accCharge / (2 * 3600 * nominal_Ah);
      const cRate = this.accChargeCurrent / this.accCharge / nominal_Ah;
      const running = Math.abs(this.hcExtreme - this.hcTurn);
      const deeperRunning = running > this.hcDepth;
      const dod = deeperRunning ? running : this.hcDepth;
      const cycleSoc = deeperRunning ? 0.5 * (this.hcExtreme + this.hcTurn) : this.hcMid;
      this.qCyc = advancePowerLaw(this.qCyc, cycleRate(laws.cycle.capacity, cycleSoc, dod, cRate, meanTemp), laws.cycle.capacity.throughputExponent, cycles);
      this.rCyc = advancePowerLaw(this.rCyc, cycleRate(laws.cycle.resistance, cycleSoc, dod, cRate, meanTemp), laws.cycle.resistance.throughputExponent, cycles);
      this.fec += cycles;
    }
    this.ageDays += days;
  }
}

function positive(value: number, name: string): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${name} must be a positive number (is ${value})`);
  return value;
}

/** Stress-dependent rate of a cycle law at (mean SOC, DOD, C-rate, T). */
function cycleRate(law: CycleLaw, meanSoc: number, dod: number, cRate: number, temperature_C: number): number {
  const c = law.cRateFactor.intercept + law.cRateFactor.slope * cRate;
  if (!(c > 0)) return 0;
  return lookupStress(law.rate, meanSoc, dod) * c
    / arrheniusFactor(law.activationEnergy_J_per_mol, temperature_C, law.referenceTemperature_C);
}

/**
 * loss = k x^p advanced by dx at a rate k that may differ from the one that produced the present
 * loss: continue from the equivalent "virtual" x = (loss/k)^(1/p) (the usual time-superposition
 * of power-law ageing models, e.g. Schmalstieg et al. 2014).
 */
function advancePowerLaw(loss: number, k: number, p: number, dx: number): number {
  if (!(k > 0) || !(dx > 0)) return loss;
  const x = loss > 0 ? Math.pow(loss / k, 1 / p) : 0;
  return k * Math.pow(x + dx, p);
}
