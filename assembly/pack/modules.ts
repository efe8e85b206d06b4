// The per-module view the pack-level estimators read: filled by the controller each tick from the
// module table (SOC and capacity from the nodes' estimators, temperature from their measurements).
// Fixed-size arrays, allocated once.

/** Largest pack supervised by one controller (issue: 1 to 256 modules); matches the controller's module table. */
export const MAX_PACK_MODULES: i32 = 256;

export class ModuleStates {
  /** Modules in the pack (entries 0..count-1 are used). */
  count: i32 = 0;
  /** State of charge, 0..1, on the module's own capacity. */
  readonly soc: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** Present (aged) capacity of the module, Ah. */
  readonly capacity_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  readonly temperature_C: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** Resistance relative to the model's (1 = as new); the nodes' resistance-growth estimate. */
  readonly resistanceScale: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** False for a module whose values are not current (timed out, invalid): the estimators skip it. */
  readonly valid: StaticArray<bool> = new StaticArray<bool>(MAX_PACK_MODULES);

  constructor() {
    for (let i = 0; i < MAX_PACK_MODULES; i++) {
      unchecked(this.soc[i] = NaN);
      unchecked(this.temperature_C[i] = NaN);
      unchecked(this.resistanceScale[i] = 1.0);
    }
  }

  /** Fills one module's entry (index below MAX_PACK_MODULES). */
  set(index: i32, soc: f32, capacity_Ah: f32, temperature_C: f32, valid: bool): void {
    if (index < 0 || index >= MAX_PACK_MODULES) return;
    unchecked(this.soc[index] = soc);
    unchecked(this.capacity_Ah[index] = capacity_Ah);
    unchecked(this.temperature_C[index] = temperature_C);
    unchecked(this.valid[index] = valid);
  }

  /** A module usable by the estimators: valid, with a finite SOC and a positive capacity. */
  usable(index: i32): bool {
    return unchecked(this.valid[index]) && isFinite(unchecked(this.soc[index])) && unchecked(this.capacity_Ah[index]) > 0;
  }
}

/** SOC clamped to 0..1. */
export function clampSoc(soc: f32): f32 {
  return soc < 0 ? <f32>0.0 : soc > 1 ? <f32>1.0 : soc;
}
