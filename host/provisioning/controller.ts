// Provisioning a pack controller: the pack configuration record (format version 1) a factory tool
// writes into the controller's flash sector 0, so the controller knows its pack from data. The
// firmware parser is assembly/pack/config.ts and docs/protection.md ("Pack configuration record")
// gives the layout; tests/host/controller/config.test.ts runs the parser on this encoder's output.
// The other sectors belong to the controller's fault log (a record store) and start erased.
import { crc32 } from "node:zlib";
import type { BoardDefinition } from "../boards.ts";
import type { Scenario } from "../scenarios/scenario.ts";
import {
  loadCell, openCircuitVoltage, resistanceLike, GAS_CONSTANT_J_per_molK, ZERO_CELSIUS_K, type CellParameters,
} from "../plant/chemistry.ts";
import { STM32F4_ADC, REF5025 } from "../peripherals/adc.ts";
import { INA240A1 } from "../peripherals/current-sensor.ts";
import { DEFAULT_PRECHARGE_CIRCUIT, type PrechargeCircuit } from "../peripherals/contactor.ts";
import { DEFAULT_VEHICLE_BATTERY_kWh } from "../scenarios/load.ts";
import { encodeCellBlob } from "./cell-blob.ts";

export const PACK_CONFIG_MAGIC = 0x46435053; // "SPCF" little-endian
export const PACK_CONFIG_VERSION = 1;
export const PACK_CONFIG_MAX_OCV_POINTS = 101;
/** Byte 19 of the record: which balancing planner the controller runs (assembly/pack/config.ts BalancingStrategy). */
export const BALANCING_STRATEGY_CODES = { none: 0, voltage: 1, soc: 2, active: 3 } as const;
export type BalancingStrategyName = keyof typeof BALANCING_STRATEGY_CODES;
/** Flag: nodes must announce the cell parameter set with cellIdHash. */
export const PACK_CONFIG_CHECK_CELL_ID = 1;
/** Sector of the controller's flash that holds the record. */
export const CONTROLLER_PROVISIONING_SECTOR = 0;
const OCV_OFFSET = 124;

/** Per-cell operating ratings (data/cells/<id>.json, section `ratings`). */
export interface CellRatingsData {
  source: string;
  chargeTemperatureMin_C: number;
  chargeTemperatureMax_C: number;
  dischargeTemperatureMin_C: number;
  dischargeTemperatureMax_C: number;
  maxChargeCurrent_A: number;
  maxDischargeCurrent_A: number;
}

/** Everything the record carries, in plain numbers. */
export interface PackConfiguration {
  modulesInSeries: number;
  parallelCells: number;
  /** Low 16 bits of the CRC-32 of the nodes' cell blob; null: the nodes run no cell model (no check). */
  cellIdHash: number | null;
  /** The balancing planner the controller runs (docs/balancing.md, "Controller"). */
  balancingStrategy: BalancingStrategyName;
  /** Cell voltage window, V. */
  maxVoltage_V: number;
  minVoltage_V: number;
  ratings: Omit<CellRatingsData, "source">;
  cellCapacity_Ah: number;
  /** Module (parallel cells) equivalent circuit at 25 degC, 50 % SOC. */
  module: { r0_Ohm: number; r1_Ohm: number; tau1_s: number; r2_Ohm: number; tau2_s: number; activationEnergy_J_per_mol: number };
  moduleVoltageAccuracy_mV: number;
  packVoltageAccuracy_mV: number;
  interconnectResistance_mOhm: number;
  chargeTolerance_Ah: number;
  chargeWindow_ms: number;
  currentOpenDelay_ms: number;
  rangeWindow_km: number;
  consumptionPrior_Wh_per_km: number;
  consumptionFloor_Wh_per_km: number;
  /** Contactor sequencer: longest precharge, and the time the link takes to fall below 90 % after opening. */
  prechargeTimeout_ms: number;
  linkDischargeTime_ms: number;
  /** Module OCV at 25 degC at SOC k / (n - 1). */
  ocv_V: number[];
}

/** Bytes of a record with n OCV points. */
export function packConfigLength(ocvPoints: number): number {
  return OCV_OFFSET + 4 * ocvPoints + 4;
}

// --- choices of the provisioning, each with its reason (docs/protection.md, "Pack configuration record")

/** OCV table on a 1 % SOC grid: the piecewise-linear error is under 2 mV on the M50's curve outside the steep first percent. */
export const OCV_POINTS = PACK_CONFIG_MAX_OCV_POINTS;
/**
 * Over-current OPEN after the current has stayed above the continuous rating this long. A
 * continuous rating is a thermal limit: an M50 cell (69 g x 950 J/(kg K) = 66 J/K, R0 about 20 mOhm)
 * carrying twice its 7.3 A rating heats by 0.05 K/s, so 5 s above it cost a quarter of a kelvin,
 * while the vehicle's US06 cycle scaled to an M50 pack stays above the rating for up to 2 s.
 */
export const CURRENT_OPEN_DELAY_ms = 5000;
/** Current plausibility: charge compared over 5 min windows. */
export const CHARGE_WINDOW_ms = 300000;
/** SOC estimate disagreement tolerated per window, as a fraction of the module capacity (a few sigma of the nodes' EKF). */
export const CHARGE_TOLERANCE_SOC = 0.03;
/** Range: consumption remembered over 20 km (docs/protection.md, RangeEstimator). */
export const RANGE_WINDOW_km = 20;
/**
 * Prior and floor consumption at the battery of the harness's vehicle model (docs/drive-cycles.md):
 * 115.5 Wh/km on WLTC class 3b, and the 66.2 Wh/km physical lower bound of the UDDS. Scaled like
 * the drive-cycle load: by pack energy / vehicle battery energy.
 */
export const VEHICLE_CONSUMPTION_Wh_per_km = 115.5;
export const VEHICLE_CONSUMPTION_FLOOR_Wh_per_km = 66.2;
/**
 * The sequencer's precharge timeout and link-discharge time from the DC-link circuit (the
 * harness's host/peripherals/contactor.ts unless a board says otherwise): precharge reaches 95 % after
 * 3 tau (tau = C (R || R_bleed)), so 10 tau leaves more than three times that; after the mains open
 * the link falls below the sequencer's 90 % weld threshold after tau_bleed ln(1/0.9), and twice
 * that is allowed before a weld is declared.
 */
export function contactorTimes(circuit: PrechargeCircuit = DEFAULT_PRECHARGE_CIRCUIT): { prechargeTimeout_ms: number; linkDischargeTime_ms: number } {
  const { linkCapacitance_F: c, prechargeResistance_Ohm: r, bleedResistance_Ohm: rb } = circuit;
  if (!Number.isFinite(rb)) throw new Error("a DC link without a discharge path never passes the sequencer's voltage weld check");
  return {
    prechargeTimeout_ms: Math.ceil(10 * c * ((r * rb) / (r + rb)) * 1000),
    linkDischargeTime_ms: Math.ceil(2 * c * rb * Math.log(1 / 0.9) * 1000),
  };
}

/** Linear test packs have no datasheet: a generic -20..60 degC window and 10 C (the scenario format's largest C-rate). */
const LINEAR_TEMPERATURE_C = { min: -20, max: 60 };
const LINEAR_CURRENT_C_RATE = 10;

/** The `ratings` section of a cell file, or an error naming the cell. */
export function cellRatings(cell: CellParameters): CellRatingsData {
  const ratings = (cell as CellParameters & { ratings?: CellRatingsData }).ratings;
  if (ratings === undefined) throw new Error(`cell ${cell.id} has no ratings section: a controller cannot be provisioned for it (data/cells/schema/cell.schema.json)`);
  return ratings;
}

/** Cell id hash as the node computes it: CRC-32 of the whole blob as stored, low 16 bits. */
export function cellIdHash(cell: CellParameters, parallelCells: number): number {
  return (crc32(encodeCellBlob(cell, { parallelCells })) >>> 0) & 0xffff;
}

/**
 * Worst-case error of a divider voltage channel, mV: full scale (reference x divider) times the
 * STM32F4 ADC's maximum total unadjusted error (ST DS8626, +-5 LSB of 12 bits) plus the REF5025's
 * initial accuracy (TI SBOS410, 0.05 %). Divider resistor tolerance is the board's and not included.
 */
export function dividerAccuracy_mV(board: BoardDefinition, channel: string): number {
  const input = board.adc.channels[channel];
  if (input === undefined || input.input !== "divider") throw new Error(`board ${board.name} has no divider channel ${channel}`);
  const fullScale_mV = board.adc.reference_mV * input.dividerRatio;
  return fullScale_mV * (STM32F4_ADC.totalUnadjusted_LSB.maximum / 2 ** STM32F4_ADC.bits + REF5025.initialError);
}

/** Largest offset of the pack current sensor, A: INA240A1 maximum input offset (TI SBOS662) over the shunt. */
function currentOffset_A(board: BoardDefinition): number {
  const input = board.adc.channels["PACK_CURRENT"];
  if (input === undefined || input.input !== "shunt") throw new Error(`board ${board.name} has no shunt channel PACK_CURRENT`);
  return INA240A1.maximum.offset_uV / input.shuntResistance_uOhm;
}

/** Arrhenius activation energy of a resistance table between two temperatures of its range. */
function activationEnergy(table: CellParameters["resistance"]["r0_Ohm"]): number {
  const t1 = 10;
  const t2 = 40;
  const ratio = resistanceLike(table, 0.5, t1) / resistanceLike(table, 0.5, t2);
  return (GAS_CONSTANT_J_per_molK * Math.log(ratio)) / (1 / (t1 + ZERO_CELSIUS_K) - 1 / (t2 + ZERO_CELSIUS_K));
}

/** The pack configuration a scenario implies: its cell, its size, the boards' accuracy. */
export function packConfigurationFor(scenario: Scenario, nodeBoard: BoardDefinition, controllerBoard: BoardDefinition): PackConfiguration {
  const p = scenario.pack;
  const common = {
    modulesInSeries: p.modules,
    balancingStrategy: scenario.balancing,
    moduleVoltageAccuracy_mV: dividerAccuracy_mV(nodeBoard, "MODULE_VOLTAGE"),
    packVoltageAccuracy_mV: dividerAccuracy_mV(controllerBoard, "PACK_VOLTAGE"),
    // The harness's pack has no resistance between the module taps and the pack tap.
    interconnectResistance_mOhm: 0,
    chargeWindow_ms: CHARGE_WINDOW_ms,
    currentOpenDelay_ms: CURRENT_OPEN_DELAY_ms,
    rangeWindow_km: RANGE_WINDOW_km,
    ...contactorTimes(),
  };
  const currentError_Ah = currentOffset_A(controllerBoard) * CHARGE_WINDOW_ms / 3.6e6;
  const grid = Array.from({ length: OCV_POINTS }, (_, k) => k / (OCV_POINTS - 1));
  if (p.model === "linear") {
    const energy_Wh = p.capacity_Ah * p.modules * (p.ocvEmpty_V + p.ocvFull_V) / 2;
    const scale = energy_Wh / (DEFAULT_VEHICLE_BATTERY_kWh * 1000);
    return {
      ...common,
      parallelCells: 1,
      cellIdHash: null,
      maxVoltage_V: p.ocvFull_V,
      minVoltage_V: p.ocvEmpty_V,
      ratings: {
        chargeTemperatureMin_C: LINEAR_TEMPERATURE_C.min, chargeTemperatureMax_C: LINEAR_TEMPERATURE_C.max,
        dischargeTemperatureMin_C: LINEAR_TEMPERATURE_C.min, dischargeTemperatureMax_C: LINEAR_TEMPERATURE_C.max,
        maxChargeCurrent_A: LINEAR_CURRENT_C_RATE * p.capacity_Ah, maxDischargeCurrent_A: LINEAR_CURRENT_C_RATE * p.capacity_Ah,
      },
      cellCapacity_Ah: p.capacity_Ah,
      module: { r0_Ohm: Math.max(p.resistance_mOhm, 1e-3) / 1000, r1_Ohm: 0, tau1_s: 1, r2_Ohm: 0, tau2_s: 1, activationEnergy_J_per_mol: 0 },
      chargeTolerance_Ah: CHARGE_TOLERANCE_SOC * p.capacity_Ah + currentError_Ah,
      consumptionPrior_Wh_per_km: VEHICLE_CONSUMPTION_Wh_per_km * scale,
      consumptionFloor_Wh_per_km: VEHICLE_CONSUMPTION_FLOOR_Wh_per_km * scale,
      ocv_V: grid.map((soc) => p.ocvEmpty_V + (p.ocvFull_V - p.ocvEmpty_V) * soc),
    };
  }
  const cell = loadCell(p.cell);
  const ratings = cellRatings(cell);
  const e = cell.electrical;
  const r = cell.resistance;
  const np = p.parallel;
  const energy_Wh = e.nominalCapacity_Ah * np * e.nominalVoltage_V * p.modules;
  const scale = energy_Wh / (DEFAULT_VEHICLE_BATTERY_kWh * 1000);
  // The node reports R0 at 25 degC and 50 % SOC (MODULE_HEALTH): the model is taken at the same point.
  const at = (table: CellParameters["resistance"]["r0_Ohm"]): number => resistanceLike(table, 0.5, 25);
  return {
    ...common,
    parallelCells: np,
    cellIdHash: cellIdHash(cell, np),
    maxVoltage_V: e.maxVoltage_V,
    minVoltage_V: e.minVoltage_V,
    ratings: {
      chargeTemperatureMin_C: ratings.chargeTemperatureMin_C, chargeTemperatureMax_C: ratings.chargeTemperatureMax_C,
      dischargeTemperatureMin_C: ratings.dischargeTemperatureMin_C, dischargeTemperatureMax_C: ratings.dischargeTemperatureMax_C,
      maxChargeCurrent_A: ratings.maxChargeCurrent_A, maxDischargeCurrent_A: ratings.maxDischargeCurrent_A,
    },
    cellCapacity_Ah: e.nominalCapacity_Ah,
    module: {
      r0_Ohm: at(r.r0_Ohm) / np, r1_Ohm: at(r.r1_Ohm) / np, tau1_s: at(r.tau1_s), r2_Ohm: at(r.r2_Ohm) / np, tau2_s: at(r.tau2_s),
      activationEnergy_J_per_mol: activationEnergy(r.r0_Ohm),
    },
    chargeTolerance_Ah: CHARGE_TOLERANCE_SOC * e.nominalCapacity_Ah * np + currentError_Ah,
    consumptionPrior_Wh_per_km: VEHICLE_CONSUMPTION_Wh_per_km * scale,
    consumptionFloor_Wh_per_km: VEHICLE_CONSUMPTION_FLOOR_Wh_per_km * scale,
    ocv_V: grid.map((soc) => openCircuitVoltage(cell, soc, 25)),
  };
}

/** Serialises a configuration into the record the firmware parses. */
export function encodePackConfig(c: PackConfiguration): Uint8Array {
  const n = c.ocv_V.length;
  if (n < 2 || n > PACK_CONFIG_MAX_OCV_POINTS) throw new Error(`pack configuration: the OCV table needs 2..${PACK_CONFIG_MAX_OCV_POINTS} points, got ${n}`);
  if (!Number.isInteger(c.modulesInSeries) || c.modulesInSeries < 1 || c.modulesInSeries > 256) throw new Error(`pack configuration: modulesInSeries ${c.modulesInSeries} outside 1..256`);
  if (!Number.isInteger(c.parallelCells) || c.parallelCells < 1 || c.parallelCells > 255) throw new Error(`pack configuration: parallelCells ${c.parallelCells} outside 1..255`);
  const length = packConfigLength(n);
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, PACK_CONFIG_MAGIC, true);
  view.setUint16(4, PACK_CONFIG_VERSION, true);
  view.setUint16(6, c.cellIdHash === null ? 0 : PACK_CONFIG_CHECK_CELL_ID, true);
  view.setUint32(8, length, true);
  view.setUint16(12, c.modulesInSeries, true);
  bytes[14] = c.parallelCells;
  bytes[15] = n;
  view.setUint16(16, c.cellIdHash ?? 0, true);
  bytes[18] = 0;
  bytes[19] = BALANCING_STRATEGY_CODES[c.balancingStrategy];
  const f32s = [
    c.maxVoltage_V, c.minVoltage_V,
    c.ratings.chargeTemperatureMin_C, c.ratings.chargeTemperatureMax_C, c.ratings.dischargeTemperatureMin_C, c.ratings.dischargeTemperatureMax_C,
    c.ratings.maxChargeCurrent_A, c.ratings.maxDischargeCurrent_A, c.cellCapacity_Ah,
    c.module.r0_Ohm, c.module.r1_Ohm, c.module.tau1_s, c.module.r2_Ohm, c.module.tau2_s, c.module.activationEnergy_J_per_mol,
    c.moduleVoltageAccuracy_mV, c.packVoltageAccuracy_mV, c.interconnectResistance_mOhm, c.chargeTolerance_Ah,
  ];
  f32s.forEach((v, k) => view.setFloat32(20 + 4 * k, v, true));
  view.setUint32(96, c.chargeWindow_ms, true);
  view.setUint32(100, c.currentOpenDelay_ms, true);
  view.setFloat32(104, c.rangeWindow_km, true);
  view.setFloat32(108, c.consumptionPrior_Wh_per_km, true);
  view.setFloat32(112, c.consumptionFloor_Wh_per_km, true);
  view.setUint32(116, c.prechargeTimeout_ms, true);
  view.setUint32(120, c.linkDischargeTime_ms, true);
  c.ocv_V.forEach((v, k) => view.setFloat32(OCV_OFFSET + 4 * k, v, true));
  view.setUint32(length - 4, crc32(bytes.subarray(0, length - 4)) >>> 0, true);
  return bytes;
}

/** A controller's flash image: erased, with the pack configuration record in the provisioning sector. */
export function controllerFlashImage(board: BoardDefinition, config: PackConfiguration): Uint8Array {
  const { sectorSize_B, sectorCount } = board.flash;
  const record = encodePackConfig(config);
  if (record.length > sectorSize_B) throw new Error(`pack configuration of ${record.length} bytes does not fit the ${sectorSize_B}-byte provisioning sector of ${board.name}`);
  const image = new Uint8Array(sectorSize_B * sectorCount).fill(0xff);
  image.set(record, CONTROLLER_PROVISIONING_SECTOR * sectorSize_B);
  return image;
}
