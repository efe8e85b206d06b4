// ADC with its analogue front ends. Each logical channel samples a physical quantity from the
// plant (volts, amperes or degC) through the front end the board describes (divider, shunt
// amplifier, NTC with pull-up) and converts the resulting input voltage to a code. The converter
// itself has the static errors a datasheet specifies (offset, gain, INL), white noise, a reference
// that drifts with temperature, and a conversion time that is booked as busy time.
import type { Peripheral, HalImport } from "./types.ts";
import type { BoardDefinition, ChannelInput } from "../boards.ts";
import type { Random } from "../random.ts";
import { loadAbi } from "../abi.ts";
import { BusyTime, type Limits, type Corner } from "./busy.ts";
import { NtcThermistor, ntcResistance_Ohm } from "./ntc.ts";
import { CurrentSensor } from "./current-sensor.ts";

/** ADC input voltage (mV) that an ideal front end produces for a physical value. */
export function frontEndInput_mV(input: ChannelInput, value: number, reference_mV: number): number {
  switch (input.input) {
    case "divider":
      return (value * 1000) / input.dividerRatio;
    case "shunt":
      // I [A] * R [uOhm] * 1e-6 * gain = V; in mV: * 1e-3
      return input.zero_mV + value * input.shuntResistance_uOhm * 1e-3 * input.amplifierGain;
    case "ntc": {
      const r_Ohm = ntcResistance_Ohm(input.r25_Ohm, input.beta_K, value);
      return (reference_mV * r_Ohm) / (r_Ohm + input.pullup_Ohm);
    }
  }
}

/** Per-channel fault knobs (on top of the converter model, which all channels share). */
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

/**
 * The converter's own errors, in LSB of this ADC, with the datasheet definitions: offset error is
 * the shift of the first transition, gain error the shift of the last one once offset is removed,
 * INL the deviation from the end-point line.
 */
export interface AdcConverterModel {
  offset_LSB: number;
  gainError_LSB: number;
  /** INL as a bow: peak × 4x(1 − x) over the range (x = code / full scale), zero at both ends. */
  inlPeak_LSB: number;
  /** INL table [code, LSB], linearly interpolated; overrides the bow when set. */
  inlTable: ReadonlyArray<readonly [number, number]> | null;
  /** White noise, rms LSB. */
  noise_LSB: number;
  /** Sampling plus conversion time of one adc_read, µs. */
  conversionTime_us: number;
  /** Relative error of the reference at 25 °C. */
  referenceError: number;
  /** Reference temperature coefficient, ppm/°C. */
  referenceTempco_ppm_per_C: number;
}

/** A converter part's datasheet figures, in the part's own LSB. */
export interface AdcPart {
  name: string;
  source: string;
  bits: number;
  offset_LSB: Limits;
  gainError_LSB: Limits;
  inl_LSB: Limits;
  totalUnadjusted_LSB: Limits;
  noise_LSB: number;
  conversionTime_us: number;
}

/**
 * STM32F405/407 12-bit SAR ADC. ST DS8626 (STM32F405xx/STM32F407xx datasheet), "12-bit ADC
 * characteristics", table "ADC accuracy at fADC = 30 MHz" (fPCLK2 = 60 MHz, RAIN < 10 kΩ):
 * total unadjusted error ±2 typ / ±5 max LSB, offset ±1.5 / ±2.5, gain ±1.5 / ±3, INL ±1.5 / ±3.
 * Conversion time: RM0090 "Channel-wise programmable sampling time": Tconv = sampling time + 12
 * cycles, 3 + 12 cycles at ADCCLK = 30 MHz = 0.5 µs. Noise: the DC accuracy table gives none; we
 * take 0.87 LSB rms, the noise of an SNR of 64 dB less quantisation (an assumption, not a datasheet
 * figure; replace it with your part's measured noise).
 */
export const STM32F4_ADC: AdcPart = {
  name: "STM32F405/407 12-bit ADC",
  source: "ST DS8626 12-bit ADC characteristics (ADC accuracy at fADC = 30 MHz); RM0090 sampling time",
  bits: 12,
  offset_LSB: { typical: 1.5, maximum: 2.5 },
  gainError_LSB: { typical: 1.5, maximum: 3 },
  inl_LSB: { typical: 1.5, maximum: 3 },
  totalUnadjusted_LSB: { typical: 2, maximum: 5 },
  noise_LSB: 0.87,
  conversionTime_us: 0.5,
};

/** A voltage reference part. */
export interface ReferencePart {
  name: string;
  source: string;
  initialError: number;
  tempco_ppm_per_C: number;
}

/** TI REF5025 (2.5 V, the reference boards' ADC reference), standard grade: 0.05 % initial, 8 ppm/°C max. TI SBOS410, Electrical Characteristics. */
export const REF5025: ReferencePart = {
  name: "TI REF5025 (standard grade)",
  source: "TI SBOS410 Electrical Characteristics: initial accuracy 0.05 % max, drift 8 ppm/°C max",
  initialError: 0.0005,
  tempco_ppm_per_C: 8,
};

/** A perfect converter, with the STM32F4's conversion time so busy-time accounting still means something. */
export const IDEAL_CONVERTER: Readonly<AdcConverterModel> = {
  offset_LSB: 0,
  gainError_LSB: 0,
  inlPeak_LSB: 0,
  inlTable: null,
  noise_LSB: 0,
  conversionTime_us: STM32F4_ADC.conversionTime_us,
  referenceError: 0,
  referenceTempco_ppm_per_C: 0,
};

/**
 * A converter model for a board's ADC from a part's datasheet: errors scaled from the part's LSB to
 * the board's (same fraction of full scale), typical or maximum column, a random sign per static
 * error when a generator is given (positive otherwise).
 */
export function converterModel(part: AdcPart, bits: number, corner: Corner, random?: Random, reference?: ReferencePart): AdcConverterModel {
  const scale = 2 ** (bits - part.bits);
  const sign = (): number => (random === undefined || random.next() < 0.5 ? 1 : -1);
  return {
    offset_LSB: part.offset_LSB[corner] * scale * sign(),
    gainError_LSB: part.gainError_LSB[corner] * scale * sign(),
    inlPeak_LSB: part.inl_LSB[corner] * scale * sign(),
    inlTable: null,
    noise_LSB: part.noise_LSB * scale,
    conversionTime_us: part.conversionTime_us,
    referenceError: reference === undefined ? 0 : reference.initialError * sign(),
    referenceTempco_ppm_per_C: reference === undefined ? 0 : reference.tempco_ppm_per_C * sign(),
  };
}

export interface AdcOptions {
  converter?: Partial<AdcConverterModel>;
}

/** One channel's front end: the board's description, its thermistor or shunt model, and the plant quantity it samples. */
class ChannelFrontEnd {
  source: (() => number) | null = null;
  /**
   * A divider's ratio, copied out of the board description (0 for other front ends): adc_read
   * runs four times per node per tick, and reading one number field of this one class is cheaper
   * than a switch over the three shapes of board objects.
   */
  readonly dividerRatio: number;
  constructor(readonly input: ChannelInput, readonly ntc: NtcThermistor | null, readonly sensor: CurrentSensor | null) {
    this.dividerRatio = input.input === "divider" ? input.dividerRatio : 0;
  }
}

export class AdcPeripheral implements Peripheral {
  readonly group = "adc";
  readonly bits: number;
  readonly reference_mV: number;
  readonly fullScale: number;
  // Indexed by logical channel number (a small integer): arrays, read on every conversion. A
  // channel with a front end has one record holding everything a conversion needs.
  private readonly channels: (ChannelFrontEnd | undefined)[] = [];
  private readonly faults: (AdcChannelFaults | undefined)[] = [];
  private readonly channelByName: Map<string, number>;
  conversions = 0;
  /** The converter's error model (knobs); ideal unless the options or a part say otherwise. */
  converter: AdcConverterModel;
  /** Conversion time of every adc_read, booked as blocking time. */
  readonly busy = new BusyTime();
  /** Board temperature (°C) for reference and amplifier drift; the harness connects it to the plant. */
  temperature_C: () => number = () => 25;

  /** gaussian() supplies N(0,1) samples for noise; it must come from the run's seeded generator. */
  constructor(board: BoardDefinition, private readonly gaussian: () => number = () => 0, options: AdcOptions = {}) {
    this.bits = board.adc.bits;
    this.reference_mV = board.adc.reference_mV;
    this.fullScale = 2 ** this.bits;
    this.converter = { ...IDEAL_CONVERTER, ...options.converter };
    this.channelByName = new Map(loadAbi().adcChannels.map((c) => [c.name, c.value]));
    for (const [name, input] of Object.entries(board.adc.channels)) {
      if (input === undefined) continue;
      const channel = this.channelNumber(name);
      this.channels[channel] = new ChannelFrontEnd(
        input,
        input.input === "ntc" ? new NtcThermistor(input) : null,
        input.input === "shunt" ? new CurrentSensor(input, gaussian, () => this.temperature_C()) : null,
      );
    }
  }

  channelNumber(name: string): number {
    const channel = this.channelByName.get(name);
    if (channel === undefined) throw new Error(`'${name}' is not an ADC channel of the HAL ABI`);
    return channel;
  }

  /** Connects a logical channel to the physical quantity it measures (V, A or degC). */
  connect(name: string, source: () => number): void {
    const frontEnd = this.channels[this.channelNumber(name)];
    if (frontEnd === undefined) throw new Error(`the board has no front end for ADC channel ${name}`);
    frontEnd.source = source;
  }

  /** Fault-injection knobs of one channel. */
  channelFaults(name: string): AdcChannelFaults {
    const channel = this.channelNumber(name);
    let f = this.faults[channel];
    if (f === undefined) {
      f = { offset_mV: 0, gainError: 0, noise_LSB: 0, stuckCode: null, errorCode: null };
      this.faults[channel] = f;
    }
    return f;
  }

  /** The thermistor model of an NTC channel (tolerance and open/short knobs). */
  thermistor(name: string): NtcThermistor {
    const t = this.channels[this.channelNumber(name)]?.ntc ?? undefined;
    if (t === undefined) throw new Error(`ADC channel ${name} has no NTC front end on this board`);
    return t;
  }

  /** The shunt amplifier model of a current channel (offset, gain, drift, noise knobs). */
  currentSensor(name: string): CurrentSensor {
    const s = this.channels[this.channelNumber(name)]?.sensor ?? undefined;
    if (s === undefined) throw new Error(`ADC channel ${name} has no shunt front end on this board`);
    return s;
  }

  /** Takes the converter's errors from a part's datasheet (see converterModel). */
  usePart(part: AdcPart, corner: Corner, random?: Random, reference?: ReferencePart): void {
    this.converter = converterModel(part, this.bits, corner, random, reference);
  }

  /** The reference voltage now (mV), with its initial error and temperature drift. */
  actualReference_mV(): number {
    const c = this.converter;
    // An exact reference does not depend on the board temperature: skip asking the plant for it
    // (the product below is reference_mV * 1 then, for any finite temperature).
    if (c.referenceError === 0 && c.referenceTempco_ppm_per_C === 0) return this.reference_mV;
    return this.reference_mV * (1 + c.referenceError + c.referenceTempco_ppm_per_C * 1e-6 * (this.temperature_C() - 25));
  }

  /** INL (LSB) at a code. */
  inl_LSB(code: number): number {
    const table = this.converter.inlTable;
    if (table !== null && table.length > 0) {
      const first = table[0]!;
      if (code <= first[0]) return first[1];
      for (let i = 1; i < table.length; i++) {
        const [c1, v1] = table[i]!;
        if (code <= c1) {
          const [c0, v0] = table[i - 1]!;
          return v0 + ((v1 - v0) * (code - c0)) / (c1 - c0);
        }
      }
      return table[table.length - 1]![1];
    }
    const x = code / this.fullScale;
    return this.converter.inlPeak_LSB * 4 * x * (1 - x);
  }

  /** The code the converter returns for an input voltage (mV), before clamping and rounding. */
  transfer(input_mV: number, extraNoise_LSB = 0): number {
    const c = this.converter;
    const ideal = (input_mV / this.actualReference_mV()) * this.fullScale;
    let code: number;
    if (c.offset_LSB === 0 && c.gainError_LSB === 0 && c.inlPeak_LSB === 0 && c.inlTable === null && Number.isFinite(ideal)) {
      // Without static errors each error term below is an exact zero: the same sum, without the calls.
      code = ideal + 0;
    } else {
      code = ideal + c.offset_LSB + (c.gainError_LSB * ideal) / this.fullScale + this.inl_LSB(ideal);
    }
    if (c.noise_LSB !== 0 || extraNoise_LSB !== 0) {
      const sigma = Math.hypot(c.noise_LSB, extraNoise_LSB);
      if (sigma > 0) code += sigma * this.gaussian();
    }
    return code;
  }

  /** The code returned for an input voltage: converter model plus the channel's fault knobs. */
  convert(channel: number, input_mV: number): number {
    const f = this.faults[channel];
    let v = input_mV;
    if (f !== undefined) {
      if (f.stuckCode !== null) return f.stuckCode;
      v = v * (1 + f.gainError) + f.offset_mV;
    }
    return this.quantise(this.transfer(v, f?.noise_LSB ?? 0));
  }

  /** ADC pin voltage (mV) of a channel for a physical value, through its front-end model. */
  input_mV(channel: number, value: number): number {
    const frontEnd = this.channels[channel];
    if (frontEnd === undefined) throw new Error(`no front end for ADC channel ${channel}`);
    return this.frontEndOutput_mV(frontEnd, value);
  }

  private frontEndOutput_mV(frontEnd: ChannelFrontEnd, value: number): number {
    // The pull-up hangs from the ADC reference, so a thermistor channel is ratiometric.
    if (frontEnd.ntc !== null) return frontEnd.ntc.input_mV(value, this.actualReference_mV());
    if (frontEnd.sensor !== null) return frontEnd.sensor.output_mV(value);
    // frontEndInput_mV's divider case, with the same arithmetic.
    return (value * 1000) / frontEnd.dividerRatio;
  }

  read(channel: number): number {
    // Only channels with a front end can convert; the others (and any number outside the
    // channel table, which would be a slow out-of-bounds array read) answer -1 at once.
    const frontEnd = channel >= 0 && channel < this.channels.length ? this.channels[channel] : undefined;
    if (frontEnd === undefined) return this.faultOnly(channel);
    const f = channel < this.faults.length ? this.faults[channel] : undefined;
    if (f !== undefined && f.errorCode != null) return f.errorCode;
    const source = frontEnd.source;
    if (source === null) return -1;
    this.conversions++;
    this.busy.add(this.converter.conversionTime_us);
    const input_mV = this.frontEndOutput_mV(frontEnd, source());
    if (f === undefined) return this.quantise(this.transfer(input_mV, 0));
    return this.convert(channel, input_mV);
  }

  /** A channel without a front end: an injected error code, else -1. */
  private faultOnly(channel: number): number {
    const f = channel >= 0 && channel < this.faults.length ? this.faults[channel] : undefined;
    return f !== undefined && f.errorCode != null ? f.errorCode : -1;
  }

  /** Clamped to the converter's range and rounded to a code. */
  private quantise(code: number): number {
    return Math.min(this.fullScale - 1, Math.max(0, Math.round(code)));
  }

  /** Size of one code step in physical units for a channel at a given value (for test tolerances). */
  stepSize(name: string, atValue: number): number {
    const input = this.channels[this.channelNumber(name)]?.input;
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
