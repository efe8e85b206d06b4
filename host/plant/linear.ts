// The simplest physical pack: each module an ideal linear OCV source behind a series resistance,
// with coulomb-counted SOC and a fixed temperature. Used where a test needs closed-form truth.
import type { PackPlant } from "./types.ts";

export interface LinearPackOptions {
  modules: number;
  capacity_Ah: number;
  /** OCV at SOC 0 and at SOC 1, V. */
  ocvEmpty_V: number;
  ocvFull_V: number;
  resistance_Ohm: number;
  initialSoc: number[] | number;
  temperature_C: number;
}

export class LinearPack implements PackPlant {
  readonly moduleCount: number;
  private readonly soc: Float64Array;
  private current_A = 0;

  constructor(private readonly options: LinearPackOptions) {
    if (!(options.modules >= 1)) throw new Error(`a pack needs at least one module, got ${options.modules}`);
    if (!(options.capacity_Ah > 0)) throw new Error(`capacity must be positive, got ${options.capacity_Ah}`);
    this.moduleCount = options.modules;
    this.soc = new Float64Array(options.modules);
    for (let i = 0; i < options.modules; i++) {
      const soc = typeof options.initialSoc === "number" ? options.initialSoc : options.initialSoc[i];
      if (soc === undefined || !(soc >= 0 && soc <= 1)) throw new Error(`initial SOC of module ${i} must be in [0, 1], got ${soc}`);
      this.soc[i] = soc;
    }
  }

  step(current_A: number, dt_s: number): void {
    this.current_A = current_A;
    const dSoc = (current_A * dt_s) / (3600 * this.options.capacity_Ah);
    for (let i = 0; i < this.moduleCount; i++) this.soc[i] = this.soc[i]! - dSoc;
  }

  private ocv_V(index: number): number {
    const o = this.options;
    return o.ocvEmpty_V + (o.ocvFull_V - o.ocvEmpty_V) * this.soc[index]!;
  }

  moduleVoltage_V(index: number): number {
    return this.ocv_V(index) - this.current_A * this.options.resistance_Ohm;
  }
  packVoltage_V(): number {
    let v = 0;
    for (let i = 0; i < this.moduleCount; i++) v += this.moduleVoltage_V(i);
    return v;
  }
  packCurrent_A(): number {
    return this.current_A;
  }
  moduleCurrent_A(): number {
    return this.current_A;
  }
  moduleTemperature_C(): number {
    return this.options.temperature_C;
  }
  moduleSoc(index: number): number {
    return this.soc[index]!;
  }
  moduleCapacity_Ah(): number {
    return this.options.capacity_Ah;
  }
  moduleResistance0_Ohm(): number {
    return this.options.resistance_Ohm;
  }
}
