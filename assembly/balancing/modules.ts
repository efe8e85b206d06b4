// What the balancing planners read about each module, and the limits every planner keeps to.
// The SOC, capacity, temperature and validity are the pack estimators' ModuleStates (one table,
// filled once per tick by the controller); balancing adds the 1-sigma of the SOC and of the
// capacity (the deadbands are derived from them), the module voltage (guards, bleed current) and
// the time the estimate was last refreshed (staleness). Fixed-size arrays, allocated once.
import { ModuleStates, MAX_PACK_MODULES } from "../pack/modules";

export class BalanceModules {
  /** SOC (0..1), capacity (Ah), temperature and validity: shared with the pack estimators. */
  readonly states: ModuleStates;
  /** 1-sigma of the SOC estimate (SocEstimator.socSigma), 0..1. */
  readonly socSigma: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** 1-sigma of the node's capacity estimate (its SOC filter's capacity state), Ah. */
  readonly capacitySigma_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** Module terminal voltage, V. */
  readonly voltage_V: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** Controller time at which this module's estimate was last refreshed, ms (-1: never). */
  readonly updated_ms: StaticArray<i64> = new StaticArray<i64>(MAX_PACK_MODULES);

  constructor(states: ModuleStates) {
    this.states = states;
    for (let i = 0; i < MAX_PACK_MODULES; i++) {
      unchecked(this.socSigma[i] = NaN);
      unchecked(this.capacitySigma_Ah[i] = NaN);
      unchecked(this.voltage_V[i] = NaN);
      unchecked(this.updated_ms[i] = -1);
    }
  }

  get count(): i32 {
    return this.states.count;
  }

  /** Fills one module's entry (index below MAX_PACK_MODULES), the shared ModuleStates included. */
  set(index: i32, soc: f32, socSigma: f32, capacity_Ah: f32, capacitySigma_Ah: f32, voltage_V: f32,
      temperature_C: f32, valid: bool, updated_ms: i64): void {
    if (index < 0 || index >= MAX_PACK_MODULES) return;
    this.states.set(index, soc, capacity_Ah, temperature_C, valid);
    unchecked(this.socSigma[index] = socSigma);
    unchecked(this.capacitySigma_Ah[index] = capacitySigma_Ah);
    unchecked(this.voltage_V[index] = voltage_V);
    unchecked(this.updated_ms[index] = updated_ms);
  }

  /**
   * A module a planner may act on at now_ms: valid with finite SOC and positive capacity
   * (ModuleStates.usable), finite non-negative uncertainties, a finite voltage, and an estimate
   * refreshed no longer than maxAge_ms ago.
   */
  fresh(index: i32, now_ms: i64, maxAge_ms: i64): bool {
    if (!this.states.usable(index)) return false;
    const socSigma = unchecked(this.socSigma[index]);
    const capacitySigma = unchecked(this.capacitySigma_Ah[index]);
    if (!(socSigma >= 0 && socSigma < Infinity) || !(capacitySigma >= 0 && capacitySigma < Infinity)) return false;
    if (!isFinite(unchecked(this.voltage_V[index]))) return false;
    const updated = unchecked(this.updated_ms[index]);
    return updated >= 0 && now_ms - updated <= maxAge_ms && now_ms >= updated;
  }

  /** Charge the module holds above empty, Ah (SOC clamped to 0..1). */
  @inline charge_Ah(index: i32): f32 {
    return clamp01(unchecked(this.states.soc[index])) * unchecked(this.states.capacity_Ah[index]);
  }

}

@inline export function clamp01(x: f32): f32 {
  return x < 0 ? <f32>0.0 : x > 1 ? <f32>1.0 : x;
}

/**
 * Limits every planner keeps to, per module. Defaults are placeholders for an NMC module; the
 * controller sets them from its SafetyLimits (voltage: the WARNING levels, i.e. foxBMS's maximum
 * operating limits; temperature: the charge WARNING level).
 */
export class BalanceGuards {
  /**
   * No bleeding or delivering below this SOC: 10 % keeps a reserve for self-discharge while the
   * pack is parked after balancing (engineering choice; a bleed plan never takes a module below
   * the pack's emptiest module anyway, this covers an emptiest module that is itself low).
   */
  minSoc: f32 = 0.1;
  /** No absorbing (active) above this SOC. */
  maxSoc: f32 = 1.0;
  /** foxBMS NMC maximum operating limits (2600 / 4100 mV, assembly/protection/limits.ts). */
  minVoltage_V: f32 = 2.6;
  maxVoltage_V: f32 = 4.1;
  /**
   * No balancing heat or charge into a module at or above this temperature: the foxBMS 2 default
   * maximum-safety charge temperature (45 degC, assembly/protection/limits.ts). NaN temperature
   * blocks too.
   */
  maxTemperature_C: f32 = 45.0;
  /** Oldest estimate a planner acts on: three refresh periods of a 1 s module report. */
  maxAge_ms: i64 = 3000;

  /** The module may lose charge (bleed, or deliver to the energy bus). */
  mayDischarge(modules: BalanceModules, index: i32): bool {
    return unchecked(modules.states.soc[index]) >= this.minSoc
      && unchecked(modules.voltage_V[index]) >= this.minVoltage_V
      && unchecked(modules.states.temperature_C[index]) < this.maxTemperature_C;
  }

  /** The module may take charge from the energy bus. */
  mayCharge(modules: BalanceModules, index: i32): bool {
    return unchecked(modules.states.soc[index]) <= this.maxSoc
      && unchecked(modules.voltage_V[index]) <= this.maxVoltage_V
      && unchecked(modules.states.temperature_C[index]) < this.maxTemperature_C;
  }
}

/** Planner status bits (0 = nothing to report). */
export namespace BalanceStatus {
  /** No module in the table. */
  export const NO_MODULES: i32 = 0x01;
  /** Some module's data is invalid or stale: the reference is unknown, every command is off. */
  export const DATA_INCOMPLETE: i32 = 0x02;
  /** Every module is within its deadband: nothing commanded. */
  export const BALANCED: i32 = 0x04;
  /** At least one module is commanded to bleed. */
  export const BLEEDING: i32 = 0x08;
  /** Voltage planner: the pack is not at rest, so voltages do not show SOC; nothing commanded. */
  export const NOT_AT_REST: i32 = 0x10;
  /** Active planner: no plan reaches the target (a module must move charge it cannot). */
  export const INFEASIBLE: i32 = 0x20;
  /** Active planner: converters are commanded. */
  export const TRANSFERRING: i32 = 0x40;
  /** Some module's guard (SOC, voltage, temperature) held back a command it needed. */
  export const GUARDED: i32 = 0x80;
}

/** Seconds per hour. */
export const s_PER_h: f32 = 3600.0;
