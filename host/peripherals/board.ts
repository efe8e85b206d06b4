// board_config: the board's constants (from boards/<name>.json through boardConfigValues) plus the
// unit's own values (serial number, pack size) that a real board reads from OTP or provisioning.
import type { Peripheral, HalImport } from "./types.ts";
import { boardConfigValues, type BoardDefinition } from "../boards.ts";
import { loadAbi } from "../abi.ts";

export class BoardConfigPeripheral implements Peripheral {
  readonly group = "board";
  private readonly byKey = new Map<number, number>();

  constructor(board: BoardDefinition, unitValues: Record<string, number> = {}) {
    const keys = new Map(loadAbi().configKeys.map((k) => [k.name, k.value]));
    const values = boardConfigValues(board);
    for (const [name, value] of Object.entries(unitValues)) values.set(name, value);
    for (const [name, value] of values) {
      const key = keys.get(name);
      if (key === undefined) throw new Error(`board config '${name}' is not a configKey of the HAL ABI`);
      this.byKey.set(key, value);
    }
  }

  /** Fault knob: remove or override a constant, to test the firmware's reaction to a bad board file. */
  override(key: number, value: number | undefined): void {
    if (value === undefined) this.byKey.delete(key);
    else this.byKey.set(key, value);
  }

  imports(): Record<string, HalImport> {
    return { board_config: (key: number): number => this.byKey.get(key) ?? Number.NaN };
  }
}
