// Safety limits in one place, as named levels per quantity (foxBMS 2, battery_cell_cfg.h):
// WARNING = maximum operating limit (MOL), DERATE = recommended safety limit (RSL),
// OPEN = maximum safety limit (MSL, contactors open). The OPEN level is the cell manufacturer's
// rating itself: UL 2580 expects the protective controls to keep cells inside the operating region
// their manufacturer specifies, and ISO 6469-1 asks for protection of the energy storage against
// overcharge, over-discharge and over-current; so the last line of defence sits on that region,
// and the two inner levels leave room for the derating and the warning to act first.
// docs/protection.md carries the same table with its sources.
import { FaultLevel, FAULT_TYPE_COUNT } from "./faults";

/** Millivolts per volt. */
const mV_PER_V: f32 = 1000.0;

/**
 * Margins of the inner levels from the cell's voltage rating, as in a foxBMS NMC cell configuration
 * (BC_VOLTAGE_MAX_MSL/RSL/MOL_mV = 4200/4150/4100, BC_VOLTAGE_MIN_MSL/RSL/MOL_mV = 2500/2550/2600).
 */
export const VOLTAGE_DERATE_MARGIN_mV: f32 = 50.0;
export const VOLTAGE_WARNING_MARGIN_mV: f32 = 100.0;
/** foxBMS 2 defaults separate the temperature levels by 5 degC (e.g. charge max 45/40/35 degC). */
export const TEMPERATURE_DERATE_MARGIN_C: f32 = 5.0;
export const TEMPERATURE_WARNING_MARGIN_C: f32 = 10.0;
/**
 * Current levels as fractions of the rating, after the foxBMS configurations
 * (BC_CURRENT_MAX_DISCHARGE_MSL/RSL/MOL_mA = 550/525/500 A: 95 % and 91 %).
 */
export const CURRENT_DERATE_FRACTION: f32 = 0.95;
export const CURRENT_WARNING_FRACTION: f32 = 0.9;
/**
 * Clear hysteresis (engineering choices, docs/protection.md): 20 mV is about 60 LSB of the node's
 * voltage channel (14 bit, 2.5 V reference, 2:1 divider) and keeps a cell relaxing after a pulse
 * from toggling a level; 2 degC is four steps of the bus temperature encoding (0.5 degC/bit);
 * 5 % of the current rating spans the pack shunt's noise at full scale.
 */
export const VOLTAGE_HYSTERESIS_mV: f32 = 20.0;
export const TEMPERATURE_HYSTERESIS_C: f32 = 2.0;
export const CURRENT_HYSTERESIS_FRACTION: f32 = 0.05;

/**
 * A cell's ratings from its datasheet, and how many cells a module puts in parallel. Filled by the
 * caller from the chemistry in use (data/cells/<id>.json has the voltage window; temperature and
 * current ratings come from the same product specification).
 */
export class CellRatings {
  /** Charge voltage limit (e.g. LG INR21700-M50: 4.20 V). */
  maxVoltage_V: f32 = NaN;
  /** Discharge cut-off voltage (e.g. LG INR21700-M50: 2.50 V). */
  minVoltage_V: f32 = NaN;
  chargeTemperatureMin_C: f32 = NaN;
  chargeTemperatureMax_C: f32 = NaN;
  dischargeTemperatureMin_C: f32 = NaN;
  dischargeTemperatureMax_C: f32 = NaN;
  /** Per cell, positive magnitude. */
  maxChargeCurrent_A: f32 = NaN;
  /** Per cell, positive magnitude. */
  maxDischargeCurrent_A: f32 = NaN;
  parallelCells: i32 = 1;
}

/**
 * Three thresholds of one quantity. `above` quantities (maxima) violate a level when the value is
 * at or above it; the others (minima) when at or below. A NaN threshold disables its level.
 */
export class LevelThresholds {
  warning: f32;
  derate: f32;
  open: f32;
  /** A level clears only once the value is back inside it by this much. */
  hysteresis: f32;
  above: bool;

  constructor(warning: f32, derate: f32, open: f32, hysteresis: f32, above: bool) {
    this.warning = warning;
    this.derate = derate;
    this.open = open;
    this.hysteresis = hysteresis;
    this.above = above;
  }

  at(level: i32): f32 {
    if (level == FaultLevel.WARNING) return this.warning;
    if (level == FaultLevel.DERATE) return this.derate;
    if (level == FaultLevel.OPEN) return this.open;
    return NaN;
  }

  /** Copies another set of thresholds (used to switch between charge and discharge limits). */
  copyFrom(other: LevelThresholds): void {
    this.warning = other.warning;
    this.derate = other.derate;
    this.open = other.open;
    this.hysteresis = other.hysteresis;
    this.above = other.above;
  }
}

/** Module voltages in mV (a module is one series element of parallel cells, so its voltage is a cell voltage). */
export class SafetyLimits {
  moduleVoltageMax_mV: LevelThresholds;
  moduleVoltageMin_mV: LevelThresholds;
  temperatureMaxCharge_C: LevelThresholds;
  temperatureMaxDischarge_C: LevelThresholds;
  temperatureMinCharge_C: LevelThresholds;
  temperatureMinDischarge_C: LevelThresholds;
  /** Pack charge current as a positive magnitude. */
  currentMaxCharge_A: LevelThresholds;
  currentMaxDischarge_A: LevelThresholds;

  constructor(cell: CellRatings) {
    const vMax = cell.maxVoltage_V * mV_PER_V;
    const vMin = cell.minVoltage_V * mV_PER_V;
    this.moduleVoltageMax_mV = new LevelThresholds(
      vMax - VOLTAGE_WARNING_MARGIN_mV, vMax - VOLTAGE_DERATE_MARGIN_mV, vMax, VOLTAGE_HYSTERESIS_mV, true);
    this.moduleVoltageMin_mV = new LevelThresholds(
      vMin + VOLTAGE_WARNING_MARGIN_mV, vMin + VOLTAGE_DERATE_MARGIN_mV, vMin, VOLTAGE_HYSTERESIS_mV, false);
    this.temperatureMaxCharge_C = maximumLevels(cell.chargeTemperatureMax_C);
    this.temperatureMaxDischarge_C = maximumLevels(cell.dischargeTemperatureMax_C);
    this.temperatureMinCharge_C = minimumLevels(cell.chargeTemperatureMin_C);
    this.temperatureMinDischarge_C = minimumLevels(cell.dischargeTemperatureMin_C);
    const parallel = <f32>cell.parallelCells;
    this.currentMaxCharge_A = currentLevels(cell.maxChargeCurrent_A * parallel);
    this.currentMaxDischarge_A = currentLevels(cell.maxDischargeCurrent_A * parallel);
  }
}

function maximumLevels(rating_C: f32): LevelThresholds {
  return new LevelThresholds(
    rating_C - TEMPERATURE_WARNING_MARGIN_C, rating_C - TEMPERATURE_DERATE_MARGIN_C, rating_C, TEMPERATURE_HYSTERESIS_C, true);
}

function minimumLevels(rating_C: f32): LevelThresholds {
  return new LevelThresholds(
    rating_C + TEMPERATURE_WARNING_MARGIN_C, rating_C + TEMPERATURE_DERATE_MARGIN_C, rating_C, TEMPERATURE_HYSTERESIS_C, false);
}

function currentLevels(rating_A: f32): LevelThresholds {
  return new LevelThresholds(
    rating_A * CURRENT_WARNING_FRACTION, rating_A * CURRENT_DERATE_FRACTION, rating_A, rating_A * CURRENT_HYSTERESIS_FRACTION, true);
}

// --- Debounce: how long a condition must hold before a level sets, and before it clears. ---
// One row per fault type, in FaultType order: WARNING set, WARNING clear, DERATE set, DERATE clear, OPEN set (ms).
// OPEN never clears by itself (latched until Protection.requestReset while safe).
// A condition first seen at tick k sets a level with set time S at the first tick k + n with
// n * period >= S: S = 0 trips on the first tick over the limit.
// Hard limits (voltage, temperature, current) open with no debounce: the fault-tolerant time
// budget in docs/protection.md has no room for one at a 100 ms tick. The inner levels filter
// noise; their times are engineering choices (docs/protection.md says why for each row).
const DEBOUNCE_COLUMNS: i32 = 5;
const DEBOUNCE_ms: StaticArray<i32> = [
  // OVER_VOLTAGE, UNDER_VOLTAGE: a cell voltage follows current steps within one tick.
  500, 2000, 200, 2000, 0,
  500, 2000, 200, 2000, 0,
  // OVER_TEMPERATURE, UNDER_TEMPERATURE: thermal time constants are minutes; 0.5 degC steps on the bus.
  1000, 5000, 1000, 5000, 0,
  1000, 5000, 1000, 5000, 0,
  // OVER_CURRENT_CHARGE, OVER_CURRENT_DISCHARGE
  500, 1000, 200, 1000, 0,
  500, 1000, 200, 1000, 0,
  // MODULE_COMMUNICATION_LOST: the controller declares a module lost after 500 ms of silence
  // (docs/protocol.md); open after one more second blind.
  0, 0, 300, 1000, 1000,
  // VOLTAGE_PLAUSIBILITY: module and pack voltages are sampled half a tick apart; a load step
  // makes them differ for a tick or two, a broken measurement for good.
  500, 2000, 1000, 2000, 2000,
  // CURRENT_PLAUSIBILITY: evaluated once per charge-comparison window; the level is held between
  // evaluations, so OPEN set time is replaced by one window (a second failing window confirms).
  0, 0, 0, 0, 0,
  // CONTACTOR_WELDED, PRECHARGE_FAILED: already confirmed by the sequencer.
  0, 0, 0, 0, 0,
  0, 0, 0, 0, 0,
];

/** Default set time in ms of a fault's level (WARNING, DERATE or OPEN). */
export function defaultSetTime_ms(fault: i32, level: i32): i32 {
  if (fault < 0 || fault >= FAULT_TYPE_COUNT || level < FaultLevel.WARNING || level > FaultLevel.OPEN) return 0;
  const column = level == FaultLevel.WARNING ? 0 : level == FaultLevel.DERATE ? 2 : 4;
  return DEBOUNCE_ms[fault * DEBOUNCE_COLUMNS + column];
}

/** Default clear time in ms of a fault's WARNING or DERATE level; OPEN is latched (returns -1). */
export function defaultClearTime_ms(fault: i32, level: i32): i32 {
  if (fault < 0 || fault >= FAULT_TYPE_COUNT || level < FaultLevel.WARNING || level > FaultLevel.OPEN) return 0;
  if (level == FaultLevel.OPEN) return -1;
  const column = level == FaultLevel.WARNING ? 1 : 3;
  return DEBOUNCE_ms[fault * DEBOUNCE_COLUMNS + column];
}
