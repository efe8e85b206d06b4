// NTC thermistor with its pull-up, as the ADC sees it: the beta equation, a unit's tolerance on R25
// and beta, and the two wiring faults that thermistor channels actually show (open and short).
import type { NtcInput } from "../boards.ts";
import type { Random } from "../random.ts";

/** 25 degC in K and the degC-to-K offset (ISO 80000-5); the NTC beta equation's reference point. */
export const T25_K = 298.15;
export const KELVIN_OFFSET = 273.15;

/** Tolerances of a thermistor part. */
export interface NtcPart {
  name: string;
  source: string;
  /** Relative tolerance of R25. */
  r25Tolerance: number;
  /** Relative tolerance of the B constant. */
  betaTolerance: number;
}

/**
 * Murata NCP15XH103F03RC: 10 kΩ ±1 % at 25 °C, B25/50 = 3380 K ±1 %, B25/85 = 3435 K (the value
 * the reference boards use). Murata NTC thermistor catalogue / part datasheet, "Specifications".
 */
export const MURATA_NCP15XH103F03RC: NtcPart = {
  name: "Murata NCP15XH103F03RC",
  source: "Murata NCP15XH103F03RC specifications: R25 10 kΩ ±1 %, B25/50 3380 K ±1 %",
  r25Tolerance: 0.01,
  betaTolerance: 0.01,
};

/** Thermistor resistance (Ω) at a temperature by the beta equation. */
export function ntcResistance_Ohm(r25_Ohm: number, beta_K: number, temperature_C: number): number {
  return r25_Ohm * Math.exp(beta_K * (1 / (temperature_C + KELVIN_OFFSET) - 1 / T25_K));
}

export class NtcThermistor {
  /** Relative error of this unit's R25 (0.01 = 1 % high). */
  r25Error = 0;
  /** Relative error of this unit's beta. */
  betaError = 0;
  /** Fault knob: the thermistor or its wire is open (the node is pulled to the reference). */
  open = false;
  /** Fault knob: the thermistor node is shorted to ground. */
  short = false;

  constructor(readonly input: NtcInput) {}

  /** Draws this unit's R25 and beta errors uniformly within a part's tolerances. */
  drawTolerances(part: NtcPart, random: Random): void {
    this.r25Error = (2 * random.next() - 1) * part.r25Tolerance;
    this.betaError = (2 * random.next() - 1) * part.betaTolerance;
  }

  resistance_Ohm(temperature_C: number): number {
    return ntcResistance_Ohm(this.input.r25_Ohm * (1 + this.r25Error), this.input.beta_K * (1 + this.betaError), temperature_C);
  }

  /** Voltage at the ADC pin (mV): the pull-up from the reference over the thermistor to ground. */
  input_mV(temperature_C: number, reference_mV: number): number {
    if (this.short) return 0;
    if (this.open) return reference_mV;
    const r = this.resistance_Ohm(temperature_C);
    return (reference_mV * r) / (r + this.input.pullup_Ohm);
  }
}
