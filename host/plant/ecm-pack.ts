// The physical pack (equivalent-circuit cells in parallel modules in series, host/plant/pack.ts)
// seen through the PackPlant interface the harness samples.
import type { PackPlant } from "./types.ts";
import { createPack, Pack, type PackConfig } from "./pack.ts";
import type { Module } from "./module.ts";

export class EcmPack implements PackPlant {
  readonly pack: Pack;
  readonly moduleCount: number;

  /** A new pack from a configuration, or an assembly of existing modules (a second-life pack). */
  constructor(config: PackConfig | readonly Module[]) {
    this.pack = Array.isArray(config) ? new Pack(config as readonly Module[]) : createPack(config as PackConfig);
    this.moduleCount = this.pack.modules.length;
  }

  private module(index: number) {
    const m = this.pack.modules[index];
    if (m === undefined) throw new RangeError(`no module at position ${index}`);
    return m;
  }

  step(current_A: number, dt_s: number, ambient_C: number): void {
    this.pack.step(current_A, dt_s, ambient_C);
  }
  packVoltage_V(): number {
    return this.pack.voltage_V;
  }
  packCurrent_A(): number {
    return this.pack.current_A;
  }
  moduleVoltage_V(index: number): number {
    return this.module(index).voltage_V;
  }
  /** The node's shunt sits in the string: it sees the pack current, not the bleed current. */
  moduleCurrent_A(): number {
    return this.pack.current_A;
  }
  moduleTemperature_C(index: number): number {
    return this.module(index).temperature_C;
  }
  moduleSoc(index: number): number {
    return this.module(index).soc;
  }
  moduleCapacity_Ah(index: number): number {
    return this.module(index).capacity_Ah;
  }
  moduleResistance0_Ohm(index: number): number {
    return this.module(index).resistance0_Ohm;
  }
}
