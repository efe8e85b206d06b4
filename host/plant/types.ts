// What the harness needs from a pack model, whatever its fidelity. Current is positive on
// discharge (out of the pack), as in Plett's Battery Management Systems, vol. 1.
export interface PackPlant {
  readonly moduleCount: number;
  /** Advances the plant by dt_s with the pack current held constant (zero-order hold). */
  step(current_A: number, dt_s: number, ambient_C: number): void;
  packVoltage_V(): number;
  packCurrent_A(): number;
  moduleVoltage_V(index: number): number;
  /** Current through the module's sensing shunt (the string current; bleed current bypasses it). */
  moduleCurrent_A(index: number): number;
  moduleTemperature_C(index: number): number;
  /** True state of charge, 0..1. */
  moduleSoc(index: number): number;
  /** True capacity, Ah. */
  moduleCapacity_Ah(index: number): number;
  /** True ohmic resistance R0 at the present SOC and temperature, Ohm. */
  moduleResistance0_Ohm(index: number): number;
}
