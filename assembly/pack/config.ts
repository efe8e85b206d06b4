// Pack configuration record, format version 1: what the controller needs to know about the pack it
// supervises, provisioned into its flash sector 0 by the host (host/provisioning/controller.ts) so
// a pack is described by data, not by a firmware build. docs/protection.md ("Pack configuration
// record") is the byte-layout twin of this file; tests/assembly/pack/config.spec.ts checks the
// parser and tests/host/controller/config.test.ts runs it on the host encoder's output.
// Little-endian, f32 values, CRC-32 (IEEE 802.3, assembly/storage/crc32.ts) over everything before it.
//
// parsePackConfig validates the whole record first and copies it only when every check has passed,
// so a bad record leaves the configuration exactly as it was (not valid).
import { crc32 } from "../storage/crc32";
import { CellRatings } from "../protection/limits";
import { ModuleModel } from "./sop";
import { OcvCurve } from "./ocv";
import { MAX_PACK_MODULES } from "./modules";

/** "SPCF" (Strata Pack ConFiguration) in the first four bytes. */
export const PACK_CONFIG_MAGIC: u32 = 0x46435053;
export const PACK_CONFIG_VERSION: i32 = 1;
/** OCV table points: a uniform SOC grid of at most 101 points (1 % steps). */
export const PACK_CONFIG_MAX_OCV_POINTS: i32 = 101;

export namespace PackConfigOffset {
  export const MAGIC: i32 = 0;
  export const VERSION: i32 = 4;
  export const FLAGS: i32 = 6;
  export const TOTAL_LENGTH: i32 = 8;
  export const MODULES_IN_SERIES: i32 = 12;
  export const PARALLEL_CELLS: i32 = 14;
  export const OCV_POINTS: i32 = 15;
  export const CELL_ID_HASH: i32 = 16;
  /** u8, 0. (Bytes 18..19 were one reserved u16 before the balancing strategy took byte 19.) */
  export const RESERVED: i32 = 18;
  /** u8, BalancingStrategy. */
  export const BALANCING_STRATEGY: i32 = 19;
  export const MAX_VOLTAGE_V: i32 = 20;
  export const MIN_VOLTAGE_V: i32 = 24;
  export const CHARGE_TEMPERATURE_MIN_C: i32 = 28;
  export const CHARGE_TEMPERATURE_MAX_C: i32 = 32;
  export const DISCHARGE_TEMPERATURE_MIN_C: i32 = 36;
  export const DISCHARGE_TEMPERATURE_MAX_C: i32 = 40;
  export const MAX_CHARGE_CURRENT_A: i32 = 44;
  export const MAX_DISCHARGE_CURRENT_A: i32 = 48;
  export const CELL_CAPACITY_Ah: i32 = 52;
  export const MODULE_R0_Ohm: i32 = 56;
  export const MODULE_R1_Ohm: i32 = 60;
  export const TAU1_s: i32 = 64;
  export const MODULE_R2_Ohm: i32 = 68;
  export const TAU2_s: i32 = 72;
  export const ACTIVATION_ENERGY_J_per_mol: i32 = 76;
  export const MODULE_VOLTAGE_ACCURACY_mV: i32 = 80;
  export const PACK_VOLTAGE_ACCURACY_mV: i32 = 84;
  export const INTERCONNECT_RESISTANCE_mOhm: i32 = 88;
  export const CHARGE_TOLERANCE_Ah: i32 = 92;
  export const CHARGE_WINDOW_ms: i32 = 96;
  export const CURRENT_OPEN_DELAY_ms: i32 = 100;
  export const RANGE_WINDOW_km: i32 = 104;
  export const CONSUMPTION_PRIOR_Wh_per_km: i32 = 108;
  export const CONSUMPTION_FLOOR_Wh_per_km: i32 = 112;
  export const PRECHARGE_TIMEOUT_ms: i32 = 116;
  export const LINK_DISCHARGE_TIME_ms: i32 = 120;
  /** Module OCV at 25 degC on the uniform grid SOC = k / (N - 1), then the CRC. */
  export const OCV: i32 = 124;
}

/** Which balancing planner the controller runs (docs/balancing.md, "Controller"). */
export namespace BalancingStrategy {
  export const NONE: i32 = 0;
  /** Voltage-threshold passive baseline (foxBMS bal/voltage), at rest only. */
  export const VOLTAGE: i32 = 1;
  /** SOC-based passive planner: maximum usable capacity from the nodes' SOC and capacity estimates. */
  export const SOC: i32 = 2;
  /** Active planner over the energy bus, with the bleeds. */
  export const ACTIVE: i32 = 3;
  export const LAST: i32 = 3;
}

/** Bits of the flags field. */
export namespace PackConfigFlag {
  /** Nodes must announce the cell parameter set whose id hash the record carries. */
  export const CHECK_CELL_ID: i32 = 1;
  export const KNOWN: i32 = 1;
}

export namespace PackConfigError {
  export const OK: i32 = 0;
  /** Fewer bytes than the fixed header, or than the record's own total length. */
  export const TOO_SHORT: i32 = -1;
  export const BAD_MAGIC: i32 = -2;
  /** A format version, or a flag, this firmware does not know. */
  export const UNSUPPORTED_VERSION: i32 = -3;
  /** OCV points outside 2..101, or a total length that disagrees with them. */
  export const BAD_SIZES: i32 = -4;
  export const CRC_MISMATCH: i32 = -5;
  /** A value outside its plausible range, or not finite. */
  export const OUT_OF_RANGE: i32 = -6;
  /** The OCV table is not strictly increasing with SOC. */
  export const OCV_NOT_MONOTONIC: i32 = -7;
}

/** Bytes of a record with an OCV table of ocvPoints points, CRC included. */
export function packConfigLength(ocvPoints: i32): i32 {
  return PackConfigOffset.OCV + 4 * ocvPoints + 4;
}

export const PACK_CONFIG_MAX_BYTES: i32 = PackConfigOffset.OCV + 4 * PACK_CONFIG_MAX_OCV_POINTS + 4;

// Plausibility limits: they reject corrupt or mis-scaled data, not unusual packs, so each is wide.
/** Highest cell voltage accepted, V: above every Li-ion and Na-ion charge limit (<= 4.5 V). */
const VOLTAGE_MAX_V: f32 = 6;
/** Temperature ratings outside -60..100 degC are no cell's. */
const TEMPERATURE_MIN_C: f32 = -60;
const TEMPERATURE_MAX_C: f32 = 100;
/** Largest per-cell current rating accepted, A (large prismatic cells are rated for hundreds). */
const CURRENT_MAX_A: f32 = 5000;
/** Largest cell capacity accepted, Ah (the cell blob's limit, assembly/cell/blob.ts). */
const CAPACITY_MAX_Ah: f32 = 2000;
/** Largest module resistance accepted, Ohm, and longest RC time constant, s (cell blob limits). */
const RESISTANCE_MAX_Ohm: f32 = 10;
const TIME_CONSTANT_MAX_s: f32 = 100000;
/** Arrhenius activation energies of cell resistances are tens of kJ/mol. */
const ACTIVATION_ENERGY_MAX_J_per_mol: f32 = 200000;
/** Accuracy figures above 1 kV would make the plausibility check meaningless. */
const ACCURACY_MAX_mV: f32 = 1.0e6;
const INTERCONNECT_MAX_mOhm: f32 = 1000;
/** Current plausibility window: 1 s to 1 h; the over-current OPEN delay at most 1 min. */
const CHARGE_WINDOW_MIN_ms: u32 = 1000;
const CHARGE_WINDOW_MAX_ms: u32 = 3600000;
const CURRENT_OPEN_DELAY_MAX_ms: u32 = 60000;
/** Precharge timeout and link discharge time: 0.1 s to 1 min and to 10 min (sequencer, docs/protection.md). */
const PRECHARGE_TIMEOUT_MIN_ms: u32 = 100;
const PRECHARGE_TIMEOUT_MAX_ms: u32 = 60000;
const LINK_DISCHARGE_TIME_MIN_ms: u32 = 100;
const LINK_DISCHARGE_TIME_MAX_ms: u32 = 600000;
/** Range window and consumptions: anything between a scooter and a truck. */
const RANGE_WINDOW_MAX_km: f32 = 10000;
const CONSUMPTION_MAX_Wh_per_km: f32 = 100000;

function inside(value: f32, min: f32, max: f32): bool {
  return value >= min && value <= max;
}

function positive(value: f32, max: f32): bool {
  return value > 0 && value <= max;
}

/** The parsed record. Fixed-size storage, allocated once. */
export class PackConfig {
  /** True after a record passed every check. */
  valid: bool = false;
  flags: i32 = 0;
  modulesInSeries: i32 = 0;
  parallelCells: i32 = 0;
  /** Low 16 bits of the CRC-32 of the cell parameter blob the nodes run (docs/cell-blob.md). */
  cellIdHash: i32 = 0;
  /** BalancingStrategy the controller runs. */
  balancingStrategy: i32 = BalancingStrategy.NONE;
  maxVoltage_V: f32 = NaN;
  minVoltage_V: f32 = NaN;
  chargeTemperatureMin_C: f32 = NaN;
  chargeTemperatureMax_C: f32 = NaN;
  dischargeTemperatureMin_C: f32 = NaN;
  dischargeTemperatureMax_C: f32 = NaN;
  /** Per cell, positive magnitudes. */
  maxChargeCurrent_A: f32 = NaN;
  maxDischargeCurrent_A: f32 = NaN;
  /** Nominal capacity of one cell. */
  cellCapacity_Ah: f32 = NaN;
  /** Module (parallel cells) equivalent circuit at 25 degC and 50 % SOC. */
  moduleR0_Ohm: f32 = NaN;
  moduleR1_Ohm: f32 = NaN;
  tau1_s: f32 = NaN;
  moduleR2_Ohm: f32 = NaN;
  tau2_s: f32 = NaN;
  activationEnergy_J_per_mol: f32 = NaN;
  moduleVoltageAccuracy_mV: f32 = NaN;
  packVoltageAccuracy_mV: f32 = NaN;
  interconnectResistance_mOhm: f32 = NaN;
  chargeTolerance_Ah: f32 = NaN;
  chargeWindow_ms: i64 = 0;
  currentOpenDelay_ms: i64 = 0;
  rangeWindow_km: f32 = NaN;
  consumptionPrior_Wh_per_km: f32 = NaN;
  consumptionFloor_Wh_per_km: f32 = NaN;
  /** Longest precharge before the sequencer gives up (ContactorTiming.prechargeTimeout_ms). */
  prechargeTimeout_ms: i64 = 0;
  /** Time the DC link takes to fall below 90 % of the pack after the mains open (ContactorTiming.linkDischargeTime_ms). */
  linkDischargeTime_ms: i64 = 0;
  ocvPoints: i32 = 0;
  readonly ocv_V: StaticArray<f32> = new StaticArray<f32>(PACK_CONFIG_MAX_OCV_POINTS);

  get checkCellId(): bool {
    return (this.flags & PackConfigFlag.CHECK_CELL_ID) != 0;
  }

  /** Module capacity from the cells' nominal capacity. */
  get moduleCapacity_Ah(): f32 {
    return this.cellCapacity_Ah * <f32>this.parallelCells;
  }

  /** The ratings as SafetyLimits takes them (allocates: call at init). */
  cellRatings(): CellRatings {
    const r = new CellRatings();
    r.maxVoltage_V = this.maxVoltage_V;
    r.minVoltage_V = this.minVoltage_V;
    r.chargeTemperatureMin_C = this.chargeTemperatureMin_C;
    r.chargeTemperatureMax_C = this.chargeTemperatureMax_C;
    r.dischargeTemperatureMin_C = this.dischargeTemperatureMin_C;
    r.dischargeTemperatureMax_C = this.dischargeTemperatureMax_C;
    r.maxChargeCurrent_A = this.maxChargeCurrent_A;
    r.maxDischargeCurrent_A = this.maxDischargeCurrent_A;
    r.parallelCells = this.parallelCells;
    return r;
  }

  /** The module model as StateOfPower takes it (allocates: call at init). */
  moduleModel(): ModuleModel {
    const m = new ModuleModel();
    m.r0_Ohm = this.moduleR0_Ohm;
    m.r1_Ohm = this.moduleR1_Ohm;
    m.tau1_s = this.tau1_s;
    m.r2_Ohm = this.moduleR2_Ohm;
    m.tau2_s = this.tau2_s;
    m.referenceTemperature_C = 25.0;
    m.activationEnergy_J_per_mol = this.activationEnergy_J_per_mol;
    return m;
  }

  /** The OCV table as PackEnergy and StateOfPower take it (allocates: call at init). */
  ocvCurve(): OcvCurve {
    const curve = new OcvCurve(this.ocvPoints);
    for (let i = 0; i < this.ocvPoints; i++) curve.set(i, unchecked(this.ocv_V[i]));
    curve.prepare();
    return curve;
  }
}

function f32At(ptr: usize, offset: i32): f32 {
  return load<f32>(ptr + <usize>offset);
}

/**
 * Checks the record at ptr (available bytes readable there) and, when every check passes, copies
 * it into config and marks it valid. Returns PackConfigError.OK or the first problem found; on an
 * error config is left unchanged.
 */
export function parsePackConfig(ptr: usize, available: i32, config: PackConfig): i32 {
  if (available < PackConfigOffset.OCV) return PackConfigError.TOO_SHORT;
  if (load<u32>(ptr + <usize>PackConfigOffset.MAGIC) != PACK_CONFIG_MAGIC) return PackConfigError.BAD_MAGIC;
  const flags = <i32>load<u16>(ptr + <usize>PackConfigOffset.FLAGS);
  if (<i32>load<u16>(ptr + <usize>PackConfigOffset.VERSION) != PACK_CONFIG_VERSION || (flags & ~PackConfigFlag.KNOWN) != 0) {
    return PackConfigError.UNSUPPORTED_VERSION;
  }
  const points = <i32>load<u8>(ptr + <usize>PackConfigOffset.OCV_POINTS);
  if (points < 2 || points > PACK_CONFIG_MAX_OCV_POINTS) return PackConfigError.BAD_SIZES;
  const length = packConfigLength(points);
  if (<i32>load<u32>(ptr + <usize>PackConfigOffset.TOTAL_LENGTH) != length) return PackConfigError.BAD_SIZES;
  if (available < length) return PackConfigError.TOO_SHORT;
  if (crc32(ptr, length - 4) != load<u32>(ptr + <usize>(length - 4))) return PackConfigError.CRC_MISMATCH;

  const modules = <i32>load<u16>(ptr + <usize>PackConfigOffset.MODULES_IN_SERIES);
  const parallel = <i32>load<u8>(ptr + <usize>PackConfigOffset.PARALLEL_CELLS);
  const maxV = f32At(ptr, PackConfigOffset.MAX_VOLTAGE_V);
  const minV = f32At(ptr, PackConfigOffset.MIN_VOLTAGE_V);
  const chargeMin = f32At(ptr, PackConfigOffset.CHARGE_TEMPERATURE_MIN_C);
  const chargeMax = f32At(ptr, PackConfigOffset.CHARGE_TEMPERATURE_MAX_C);
  const dischargeMin = f32At(ptr, PackConfigOffset.DISCHARGE_TEMPERATURE_MIN_C);
  const dischargeMax = f32At(ptr, PackConfigOffset.DISCHARGE_TEMPERATURE_MAX_C);
  const window_ms = load<u32>(ptr + <usize>PackConfigOffset.CHARGE_WINDOW_ms);
  const openDelay_ms = load<u32>(ptr + <usize>PackConfigOffset.CURRENT_OPEN_DELAY_ms);
  const prechargeTimeout_ms = load<u32>(ptr + <usize>PackConfigOffset.PRECHARGE_TIMEOUT_ms);
  const linkDischarge_ms = load<u32>(ptr + <usize>PackConfigOffset.LINK_DISCHARGE_TIME_ms);
  const ok = modules >= 1 && modules <= MAX_PACK_MODULES && parallel >= 1
    && load<u8>(ptr + <usize>PackConfigOffset.RESERVED) == 0
    && <i32>load<u8>(ptr + <usize>PackConfigOffset.BALANCING_STRATEGY) <= BalancingStrategy.LAST
    && minV > 0 && minV < maxV && maxV <= VOLTAGE_MAX_V
    && inside(chargeMin, TEMPERATURE_MIN_C, TEMPERATURE_MAX_C) && inside(chargeMax, TEMPERATURE_MIN_C, TEMPERATURE_MAX_C) && chargeMin < chargeMax
    && inside(dischargeMin, TEMPERATURE_MIN_C, TEMPERATURE_MAX_C) && inside(dischargeMax, TEMPERATURE_MIN_C, TEMPERATURE_MAX_C) && dischargeMin < dischargeMax
    && positive(f32At(ptr, PackConfigOffset.MAX_CHARGE_CURRENT_A), CURRENT_MAX_A)
    && positive(f32At(ptr, PackConfigOffset.MAX_DISCHARGE_CURRENT_A), CURRENT_MAX_A)
    && positive(f32At(ptr, PackConfigOffset.CELL_CAPACITY_Ah), CAPACITY_MAX_Ah)
    && positive(f32At(ptr, PackConfigOffset.MODULE_R0_Ohm), RESISTANCE_MAX_Ohm)
    && inside(f32At(ptr, PackConfigOffset.MODULE_R1_Ohm), 0, RESISTANCE_MAX_Ohm)
    && positive(f32At(ptr, PackConfigOffset.TAU1_s), TIME_CONSTANT_MAX_s)
    && inside(f32At(ptr, PackConfigOffset.MODULE_R2_Ohm), 0, RESISTANCE_MAX_Ohm)
    && positive(f32At(ptr, PackConfigOffset.TAU2_s), TIME_CONSTANT_MAX_s)
    && inside(f32At(ptr, PackConfigOffset.ACTIVATION_ENERGY_J_per_mol), 0, ACTIVATION_ENERGY_MAX_J_per_mol)
    && inside(f32At(ptr, PackConfigOffset.MODULE_VOLTAGE_ACCURACY_mV), 0, ACCURACY_MAX_mV)
    && inside(f32At(ptr, PackConfigOffset.PACK_VOLTAGE_ACCURACY_mV), 0, ACCURACY_MAX_mV)
    && inside(f32At(ptr, PackConfigOffset.INTERCONNECT_RESISTANCE_mOhm), 0, INTERCONNECT_MAX_mOhm)
    && positive(f32At(ptr, PackConfigOffset.CHARGE_TOLERANCE_Ah), CAPACITY_MAX_Ah)
    && window_ms >= CHARGE_WINDOW_MIN_ms && window_ms <= CHARGE_WINDOW_MAX_ms
    && openDelay_ms <= CURRENT_OPEN_DELAY_MAX_ms
    && prechargeTimeout_ms >= PRECHARGE_TIMEOUT_MIN_ms && prechargeTimeout_ms <= PRECHARGE_TIMEOUT_MAX_ms
    && linkDischarge_ms >= LINK_DISCHARGE_TIME_MIN_ms && linkDischarge_ms <= LINK_DISCHARGE_TIME_MAX_ms
    && positive(f32At(ptr, PackConfigOffset.RANGE_WINDOW_km), RANGE_WINDOW_MAX_km)
    && positive(f32At(ptr, PackConfigOffset.CONSUMPTION_PRIOR_Wh_per_km), CONSUMPTION_MAX_Wh_per_km)
    && positive(f32At(ptr, PackConfigOffset.CONSUMPTION_FLOOR_Wh_per_km), CONSUMPTION_MAX_Wh_per_km);
  if (!ok) return PackConfigError.OUT_OF_RANGE;
  let previous: f32 = 0;
  for (let i = 0; i < points; i++) {
    const v = f32At(ptr, PackConfigOffset.OCV + 4 * i);
    if (!positive(v, VOLTAGE_MAX_V)) return PackConfigError.OUT_OF_RANGE;
    if (i > 0 && !(v > previous)) return PackConfigError.OCV_NOT_MONOTONIC;
    previous = v;
  }

  config.flags = flags;
  config.modulesInSeries = modules;
  config.parallelCells = parallel;
  config.cellIdHash = <i32>load<u16>(ptr + <usize>PackConfigOffset.CELL_ID_HASH);
  config.balancingStrategy = <i32>load<u8>(ptr + <usize>PackConfigOffset.BALANCING_STRATEGY);
  config.maxVoltage_V = maxV;
  config.minVoltage_V = minV;
  config.chargeTemperatureMin_C = chargeMin;
  config.chargeTemperatureMax_C = chargeMax;
  config.dischargeTemperatureMin_C = dischargeMin;
  config.dischargeTemperatureMax_C = dischargeMax;
  config.maxChargeCurrent_A = f32At(ptr, PackConfigOffset.MAX_CHARGE_CURRENT_A);
  config.maxDischargeCurrent_A = f32At(ptr, PackConfigOffset.MAX_DISCHARGE_CURRENT_A);
  config.cellCapacity_Ah = f32At(ptr, PackConfigOffset.CELL_CAPACITY_Ah);
  config.moduleR0_Ohm = f32At(ptr, PackConfigOffset.MODULE_R0_Ohm);
  config.moduleR1_Ohm = f32At(ptr, PackConfigOffset.MODULE_R1_Ohm);
  config.tau1_s = f32At(ptr, PackConfigOffset.TAU1_s);
  config.moduleR2_Ohm = f32At(ptr, PackConfigOffset.MODULE_R2_Ohm);
  config.tau2_s = f32At(ptr, PackConfigOffset.TAU2_s);
  config.activationEnergy_J_per_mol = f32At(ptr, PackConfigOffset.ACTIVATION_ENERGY_J_per_mol);
  config.moduleVoltageAccuracy_mV = f32At(ptr, PackConfigOffset.MODULE_VOLTAGE_ACCURACY_mV);
  config.packVoltageAccuracy_mV = f32At(ptr, PackConfigOffset.PACK_VOLTAGE_ACCURACY_mV);
  config.interconnectResistance_mOhm = f32At(ptr, PackConfigOffset.INTERCONNECT_RESISTANCE_mOhm);
  config.chargeTolerance_Ah = f32At(ptr, PackConfigOffset.CHARGE_TOLERANCE_Ah);
  config.chargeWindow_ms = <i64>window_ms;
  config.currentOpenDelay_ms = <i64>openDelay_ms;
  config.rangeWindow_km = f32At(ptr, PackConfigOffset.RANGE_WINDOW_km);
  config.consumptionPrior_Wh_per_km = f32At(ptr, PackConfigOffset.CONSUMPTION_PRIOR_Wh_per_km);
  config.consumptionFloor_Wh_per_km = f32At(ptr, PackConfigOffset.CONSUMPTION_FLOOR_Wh_per_km);
  config.prechargeTimeout_ms = <i64>prechargeTimeout_ms;
  config.linkDischargeTime_ms = <i64>linkDischarge_ms;
  config.ocvPoints = points;
  for (let i = 0; i < points; i++) unchecked(config.ocv_V[i] = f32At(ptr, PackConfigOffset.OCV + 4 * i));
  config.valid = true;
  return PackConfigError.OK;
}
