// Synthetic passports for tests and benchmarks: a complete, valid passport from the few numbers a
// study varies (capacity and resistance SOH, SOC uncertainty). Identity, voltages and the
// beginning-of-life resistance come from the cell parameter set, so the ratios are consistent the
// way validatePassport checks them.
import { loadCell, resistanceLike } from "../plant/chemistry.ts";
import { PASSPORT_FORMAT_VERSION, type ModulePassport } from "./passport.ts";

export interface SyntheticModule {
  /** 12 lower-case hex digits. */
  serial: string;
  cellId: string;
  cellsInParallel: number;
  /** null: no capacity estimate yet. */
  capacitySoh: number | null;
  /** null: no resistance estimate yet. */
  resistanceSoh: number | null;
  soc?: number;
  /** null: no SOC estimate. */
  socSigma?: number | null;
  equivalentFullCycles?: number;
  writtenAt?: string;
  sequence?: number;
}

interface CellFacts {
  manufacturer: string;
  chemistry: string;
  model: string;
  capacity_Ah: number;
  nominalVoltage_V: number;
  minVoltage_V: number;
  maxVoltage_V: number;
  r0_mOhm: number;
}

const cellFacts = new Map<string, CellFacts>();

function factsFor(cellId: string): CellFacts {
  let facts = cellFacts.get(cellId);
  if (facts === undefined) {
    const cell = loadCell(cellId);
    facts = {
      manufacturer: cell.manufacturer,
      chemistry: cell.chemistry,
      model: cell.name,
      capacity_Ah: cell.electrical.nominalCapacity_Ah,
      nominalVoltage_V: cell.electrical.nominalVoltage_V,
      minVoltage_V: cell.electrical.minVoltage_V,
      maxVoltage_V: cell.electrical.maxVoltage_V,
      r0_mOhm: resistanceLike(cell.resistance.r0_Ohm, 0.5, 25) * 1000,
    };
    cellFacts.set(cellId, facts);
  }
  return facts;
}

/** Serial number k as 12 hex digits. */
export function syntheticSerial(k: number): string {
  return k.toString(16).padStart(12, "0");
}

export function syntheticPassport(m: SyntheticModule): ModulePassport {
  const cell = factsFor(m.cellId);
  const nominal_Ah = cell.capacity_Ah * m.cellsInParallel;
  const initial_mOhm = cell.r0_mOhm / m.cellsInParallel;
  const cycles = m.equivalentFullCycles ?? 500;
  const discharge_Ah = cycles * nominal_Ah;
  const socSigma = m.socSigma === undefined ? 0.02 : m.socSigma;
  const none = { count: 0, lastAt: null };
  return {
    record: { formatVersion: PASSPORT_FORMAT_VERSION, sequence: m.sequence ?? 1, writtenAt: m.writtenAt ?? "2026-11-01T00:00:00Z" },
    public: {
      identity: {
        serial: m.serial,
        manufacturer: "Strata synthetic",
        chemistry: cell.chemistry,
        cellId: m.cellId,
        cellModel: cell.model,
        cellsInParallel: m.cellsInParallel,
        nominalCapacity_Ah: nominal_Ah,
        nominalVoltage_V: cell.nominalVoltage_V,
        minVoltage_V: cell.minVoltage_V,
        maxVoltage_V: cell.maxVoltage_V,
        manufacturedOn: "2019-01-15",
        putIntoServiceOn: "2019-04-01",
      },
      status: "original",
      stateOfCharge: socSigma === null ? null : { value: m.soc ?? 0.5, sigma: socSigma },
      stateOfHealth: {
        capacity_Ah: m.capacitySoh === null ? null : { value: m.capacitySoh * nominal_Ah, sigma: 0.01 * nominal_Ah },
        capacitySoh: m.capacitySoh,
        resistance_mOhm: m.resistanceSoh === null ? null : { value: m.resistanceSoh * initial_mOhm, sigma: 0.03 * initial_mOhm },
        resistanceSoh: m.resistanceSoh,
        initialResistance_mOhm: initial_mOhm,
      },
      usage: {
        equivalentFullCycles: cycles,
        throughput: {
          charge_Ah: discharge_Ah * 1.001,
          discharge_Ah,
          charge_Wh: discharge_Ah * 1.001 * cell.nominalVoltage_V * 1.02,
          discharge_Wh: discharge_Ah * cell.nominalVoltage_V * 0.98,
        },
        charging_s: cycles * 7200,
        temperatureResidency: { edges: [-20, 0, 10, 25, 35, 45, 60], seconds: [0, 0, cycles * 3600, cycles * 9000, cycles * 1800, 0] },
        socResidency: { edges: [0, 0.2, 0.4, 0.6, 0.8, 1], seconds: [cycles * 900, cycles * 2700, cycles * 4500, cycles * 4500, cycles * 1800] },
      },
      extremeEvents: { overVoltage: { ...none }, underVoltage: { ...none }, overTemperature: { ...none }, underTemperature: { ...none }, deepDischarge: { ...none } },
      faults: [],
    },
  };
}
