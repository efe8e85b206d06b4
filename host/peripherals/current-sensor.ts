// Shunt and current-sense amplifier in front of an ADC channel: the voltage the ADC sees for a
// current, with the amplifier's offset, gain error, their temperature drift, its noise, and the
// shunt's tolerance and temperature coefficient. Every term is a knob; the defaults are ideal.
import type { ShuntInput } from "../boards.ts";
import type { Random } from "../random.ts";
import type { Corner } from "./busy.ts";

export interface ShuntAmplifierModel {
  /** Input-referred offset at 25 °C, µV. */
  offset_uV: number;
  /** Input-referred offset drift, µV/°C. */
  offsetDrift_uV_per_C: number;
  /** Relative gain error at 25 °C (0.002 = 0.2 % high). */
  gainError: number;
  /** Gain drift, ppm/°C. */
  gainDrift_ppm_per_C: number;
  /** Input-referred voltage noise density, nV/√Hz. */
  noiseDensity_nV_per_rtHz: number;
  /** Noise bandwidth of the path to the ADC (anti-alias filter), Hz. */
  noiseBandwidth_Hz: number;
  /** Relative error of this unit's shunt resistance. */
  shuntError: number;
  /** Shunt temperature coefficient, ppm/°C. */
  shuntTempco_ppm_per_C: number;
}

export const IDEAL_SHUNT_AMPLIFIER: Readonly<ShuntAmplifierModel> = {
  offset_uV: 0,
  offsetDrift_uV_per_C: 0,
  gainError: 0,
  gainDrift_ppm_per_C: 0,
  noiseDensity_nV_per_rtHz: 0,
  noiseBandwidth_Hz: 0,
  shuntError: 0,
  shuntTempco_ppm_per_C: 0,
};

/**
 * TI INA240A1 (gain 20 V/V, the reference boards' amplifier gain). TI SBOS662, section 7.5
 * "Electrical Characteristics": offset ±5 µV typ / ±25 µV max; offset drift ±50 nV/°C typ /
 * ±250 nV/°C max; gain error ±0.05 % typ / ±0.20 % max; gain drift ±0.5 ppm/°C typ / ±2.5 ppm/°C
 * max; voltage noise density 40 nV/√Hz. The noise bandwidth is the board's anti-alias filter, not
 * the amplifier's 400 kHz: 1 kHz here (a board choice; change it with the filter).
 */
export const INA240A1: Record<Corner, Readonly<ShuntAmplifierModel>> = {
  typical: {
    ...IDEAL_SHUNT_AMPLIFIER,
    offset_uV: 5,
    offsetDrift_uV_per_C: 0.05,
    gainError: 0.0005,
    gainDrift_ppm_per_C: 0.5,
    noiseDensity_nV_per_rtHz: 40,
    noiseBandwidth_Hz: 1000,
  },
  maximum: {
    ...IDEAL_SHUNT_AMPLIFIER,
    offset_uV: 25,
    offsetDrift_uV_per_C: 0.25,
    gainError: 0.002,
    gainDrift_ppm_per_C: 2.5,
    noiseDensity_nV_per_rtHz: 40,
    noiseBandwidth_Hz: 1000,
  },
};

export class CurrentSensor {
  /** The knobs; start ideal. */
  model: ShuntAmplifierModel = { ...IDEAL_SHUNT_AMPLIFIER };
  /** Fault knob: the amplifier output is stuck at this voltage (mV), e.g. a broken sense line. */
  stuckOutput_mV: number | null = null;

  /** gaussian: N(0,1) from the run's seeded generator; temperature_C: the amplifier's and shunt's temperature. */
  constructor(
    readonly input: ShuntInput,
    private readonly gaussian: () => number = () => 0,
    public temperature_C: () => number = () => 25,
  ) {}

  /**
   * Takes a part's figures with a random sign per term (a unit's offset and gain errors are fixed
   * but of either sign); without a generator the signs are positive.
   */
  usePart(part: Readonly<ShuntAmplifierModel>, random?: Random): void {
    const sign = (): number => (random === undefined || random.next() < 0.5 ? 1 : -1);
    this.model = {
      ...part,
      offset_uV: part.offset_uV * sign(),
      offsetDrift_uV_per_C: part.offsetDrift_uV_per_C * sign(),
      gainError: part.gainError * sign(),
      gainDrift_ppm_per_C: part.gainDrift_ppm_per_C * sign(),
    };
  }

  /** RMS input-referred noise per sample, µV: density × √(π/2 × bandwidth) for a one-pole filter. */
  noise_uV(): number {
    return this.model.noiseDensity_nV_per_rtHz * 1e-3 * Math.sqrt((Math.PI / 2) * this.model.noiseBandwidth_Hz);
  }

  /** Amplifier output at the ADC pin (mV) for a current (A, positive = discharge). */
  output_mV(current_A: number): number {
    if (this.stuckOutput_mV !== null) return this.stuckOutput_mV;
    const m = this.model;
    if (m.offset_uV === 0 && m.offsetDrift_uV_per_C === 0 && m.gainError === 0 && m.gainDrift_ppm_per_C === 0
      && m.shuntError === 0 && m.shuntTempco_ppm_per_C === 0 && (m.noiseDensity_nV_per_rtHz === 0 || m.noiseBandwidth_Hz === 0)) {
      // An ideal amplifier and shunt: every error term below is an exact zero and no noise is
      // drawn, so this is the same value without asking the plant for the temperature.
      const sense_uV = current_A * this.input.shuntResistance_uOhm + 0;
      return this.input.zero_mV + sense_uV * this.input.amplifierGain * 1e-3;
    }
    const dT = this.temperature_C() - 25;
    const shunt_uOhm = this.input.shuntResistance_uOhm * (1 + m.shuntError + m.shuntTempco_ppm_per_C * 1e-6 * dT);
    let sense_uV = current_A * shunt_uOhm + m.offset_uV + m.offsetDrift_uV_per_C * dT;
    const noise = this.noise_uV();
    if (noise > 0) sense_uV += noise * this.gaussian();
    const gain = this.input.amplifierGain * (1 + m.gainError + m.gainDrift_ppm_per_C * 1e-6 * dT);
    return this.input.zero_mV + sense_uV * gain * 1e-3;
  }
}
