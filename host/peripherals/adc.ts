// ADC with its analogue front ends. Each logical channel samples a physical quantity from the
// plant (volts, amperes or degC) through the front end the board describes (divider, shunt
// amplifier, NTC with pull-up) and converts the resulting input voltage to a code.
import type { Peripheral, HalImport } from "./types.ts";
import type { BoardDefinition, ChannelInput } from "../boards.ts";
import { loadAbi } from "../abi.ts";

/** 25 degC in K and the degC-to-K offset (ISO 80000-5); the NTC beta equation's reference point. */
const T25_K = 298.15;
const KELVIN_OFFSET = 273.15;

/** ADC input voltage (mV) that a front end produces for a physical value. */
export function frontEndInput_mV(input: ChannelInput, value: number, reference_mV: number): number {
  switch (input.input) {
    case "divider":
      return (value * 1000) / input.dividerRatio;
    case "shunt":
      // I [A] * R [uOhm] * 1e-6 * gain = V; in mV: * 1e-3
      return input.zero_mV + value * input.shuntResistance_uOhm * 1e-3 * input.amplifierGain;
    case "ntc": {
      const r_Ohm = input.r25_Ohm * Math.exp(input.beta_K * (1 / (value + KELVIN_OFFSET) - 1 / T25_K));
      return (reference_mV * r_Ohm) / (r_Ohm + input.pullup_Ohm);
    }
  }
}

export interface AdcChannelFaults {
  /** Added to the input voltage (mV): amplifier or reference offset. */
  offset_mV: number;
  /** Relative gain error: 0.001 reads 0.1 % high. */
  gainError: number;
  /** Standard deviation of white noise at the input, in LSB. */
  noise_LSB: number;
  /** When set, the channel returns this code whatever the input (a stuck converter). */
  stuckCode: number | null;
  /** When set, adc_read returns this negative error code (e.g. -2 conversion timeout). */
  errorCode: number | null;
}

export class AdcPeripheral implements Peripheral {
  readonly group = "adc";
  readonly bits: number;
  readonly reference_mV: number;
  readonly fullScale: number;
  private readonly inputs = new Map<number, ChannelInput>();
  private readonly sources = new Map<number, () => number>();
  private readonly faults = new Map<number, AdcChannelFaults>();
  private readonly channelByName: Map<string, number>;
  conversions = 0;

  /** gaussian() supplies N(0,1) samples for noise; it must come from the run's seeded generator. */
  constructor(board: BoardDefinition, private readonly gaussian: () => number = () => 0) {
    this.bits = board.adc.bits;
    this.reference_mV = board.adc.reference_mV;
    this.fullScale = 2 ** this.bits;
    this.channelByName = new Map(loadAbi().adcChannels.map((c) => [c.name, c.value]));
    for (const [name, input] of Object.entries(board.adc.channels)) {
      if (input === undefined) continue;
      this.inputs.set(this.channelNumber(name), input);
    }
  }

  channelNumber(name: string): number {
    const channel = this.channelByName.get(name);
    if (channel === undefined) throw new Error(`'${name}' is not an ADC channel of the HAL ABI`);
    return channel;
  }

  /** Connects a logical channel to the physical quantity it measures (V, A or degC). */
  connect(name: string, source: () => number): void {
    const channel = this.channelNumber(name);
    if (!this.inputs.has(channel)) throw new Error(`the board has no front end for ADC channel ${name}`);
    this.sources.set(channel, source);
  }

  /** Fault-injection knobs of one channel. */
  channelFaults(name: string): AdcChannelFaults {
    const channel = this.channelNumber(name);
    let f = this.faults.get(channel);
    if (f === undefined) {
      f = { offset_mV: 0, gainError: 0, noise_LSB: 0, stuckCode: null, errorCode: null };
      this.faults.set(channel, f);
    }
    return f;
  }

  /** The code an ideal-but-for-the-fault-knobs converter returns for an input voltage. */
  convert(channel: number, input_mV: number): number {
    const f = this.faults.get(channel);
    let v = input_mV;
    if (f !== undefined) {
      if (f.stuckCode !== null) return f.stuckCode;
      v = v * (1 + f.gainError) + f.offset_mV;
    }
    let code = (v / this.reference_mV) * this.fullScale;
    if (f !== undefined && f.noise_LSB > 0) code += f.noise_LSB * this.gaussian();
    return Math.min(this.fullScale - 1, Math.max(0, Math.round(code)));
  }

  read(channel: number): number {
    const f = this.faults.get(channel);
    if (f?.errorCode != null) return f.errorCode;
    const input = this.inputs.get(channel);
    const source = this.sources.get(channel);
    if (input === undefined || source === undefined) return -1;
    this.conversions++;
    return this.convert(channel, frontEndInput_mV(input, source(), this.reference_mV));
  }

  /** Size of one code step in physical units for a channel at a given value (for test tolerances). */
  stepSize(name: string, atValue: number): number {
    const channel = this.channelNumber(name);
    const input = this.inputs.get(channel);
    if (input === undefined) throw new Error(`no front end for ${name}`);
    const lsb_mV = this.reference_mV / this.fullScale;
    const h = 1e-3;
    const slope = (frontEndInput_mV(input, atValue + h, this.reference_mV) - frontEndInput_mV(input, atValue - h, this.reference_mV)) / (2 * h);
    return lsb_mV / Math.abs(slope);
  }

  imports(): Record<string, HalImport> {
    return { adc_read: (channel: number): number => this.read(channel) };
  }
}
