// Board definitions (boards/<name>.json): loading, schema validation and the mapping from the
// board's description to the HAL's board_config keys. The C link-table generator and the host
// harness both use boardConfigValues(), so a board means the same thing on the bench and in CI.
import { join } from "node:path";
import { repoRoot } from "./abi.ts";
import { schemaValidator, readJsonFile } from "./validation.ts";

export interface DividerInput { input: "divider"; dividerRatio: number }
export interface ShuntInput { input: "shunt"; shuntResistance_uOhm: number; amplifierGain: number; zero_mV: number }
export interface NtcInput { input: "ntc"; r25_Ohm: number; beta_K: number; pullup_Ohm: number }
export type ChannelInput = DividerInput | ShuntInput | NtcInput;

export interface BoardDefinition {
  name: string;
  role: "node" | "controller";
  description?: string;
  mcu: { core: string; ramBytes: number; wasmPages: number };
  tickPeriod_ms: number;
  adc: { bits: number; reference_mV: number; channels: Partial<Record<string, ChannelInput>> };
  balancing?: { resistance_Ohm: number };
  bus: { bitrate_bps: number; txQueueFrames: number };
  flash: { sectorSize_B: number; sectorCount: number; programUnit_B: number };
}

export const boardsDir = join(repoRoot, "boards");
const schemaPath = join(boardsDir, "schema", "board.schema.json");

const checkSchema = schemaValidator<BoardDefinition>(schemaPath, "board definition");

/** Validates a parsed board object; throws an Error naming the file, the field and the reason. */
export function validateBoard(data: unknown, source: string): BoardDefinition {
  const board = checkSchema(data, source);
  const channels = board.adc.channels;
  const required = board.role === "node"
    ? ["MODULE_VOLTAGE", "MODULE_CURRENT", "MODULE_TEMPERATURE"]
    : ["PACK_VOLTAGE", "PACK_CURRENT"];
  for (const ch of required) {
    if (channels[ch] === undefined) throw new Error(`invalid board definition ${source}:\n  adc.channels.${ch}: required for a ${board.role} board`);
  }
  return board;
}

/** Loads boards/<name>.json, or a path to a board file. */
export function loadBoard(nameOrPath: string): BoardDefinition {
  const path = nameOrPath.endsWith(".json") ? nameOrPath : join(boardsDir, `${nameOrPath}.json`);
  const data = readJsonFile(path, "board definition");
  return validateBoard(data, path);
}

/**
 * The board_config values a board provides, by ABI key name. Unit serial numbers are not part of
 * a board type; the harness (or the MCU's unique-id register) supplies them per unit.
 */
export function boardConfigValues(board: BoardDefinition): Map<string, number> {
  const values = new Map<string, number>();
  values.set("ADC_BITS", board.adc.bits);
  values.set("ADC_REFERENCE_mV", board.adc.reference_mV);
  values.set("TICK_PERIOD_ms", board.tickPeriod_ms);
  values.set("BUS_BITRATE_bps", board.bus.bitrate_bps);
  values.set("FLASH_SECTOR_SIZE_B", board.flash.sectorSize_B);
  values.set("FLASH_SECTOR_COUNT", board.flash.sectorCount);
  values.set("FLASH_PROGRAM_UNIT_B", board.flash.programUnit_B);
  const ch = board.adc.channels;
  const voltage = ch["MODULE_VOLTAGE"] ?? ch["PACK_VOLTAGE"];
  if (voltage?.input === "divider") values.set("VOLTAGE_DIVIDER_RATIO", voltage.dividerRatio);
  const current = ch["MODULE_CURRENT"] ?? ch["PACK_CURRENT"];
  if (current?.input === "shunt") {
    values.set("SHUNT_RESISTANCE_uOhm", current.shuntResistance_uOhm);
    values.set("SHUNT_AMPLIFIER_GAIN", current.amplifierGain);
    values.set("SHUNT_ZERO_mV", current.zero_mV);
  }
  const ntc = ch["MODULE_TEMPERATURE"];
  if (ntc?.input === "ntc") {
    values.set("NTC_R25_Ohm", ntc.r25_Ohm);
    values.set("NTC_BETA_K", ntc.beta_K);
    values.set("NTC_PULLUP_Ohm", ntc.pullup_Ohm);
  }
  if (board.balancing !== undefined) values.set("BALANCE_RESISTANCE_Ohm", board.balancing.resistance_Ohm);
  return values;
}
