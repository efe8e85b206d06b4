// The analogue front end as the board describes it: reads board_config once at init, then turns
// logical ADC channels into physical values. Shared by the node and the controller.
import { adc_read, board_config, fault_report, ConfigKey, FaultCode } from "./abi";
import { dividerVoltage_mV, shuntCurrent_mA, ntcTemperature_C } from "../measurement/conversion";

/** Reads a board constant and checks its range; reports BOARD_CONFIG_MISSING and returns NaN otherwise. */
export function requireConfig(key: i32, min: f64, max: f64): f64 {
  const value = board_config(key);
  if (!(value >= min && value <= max)) {
    fault_report(FaultCode.BOARD_CONFIG_MISSING, key);
    return NaN;
  }
  return value;
}

export class AnalogFrontEnd {
  // The board constants: written by configure() only (the thermistor conversions it remembers
  // hold for the constants it read).
  bits: i32 = 0;
  reference_mV: f32 = 0;
  dividerRatio: f32 = 0;
  shunt_uOhm: f32 = 0;
  shuntGain: f32 = 0;
  shuntZero_mV: f32 = 0;
  ntcR25_Ohm: f32 = 0;
  ntcBeta_K: f32 = 0;
  ntcPullup_Ohm: f32 = 0;
  /** False when a required board constant is missing: the firmware then reports nothing measured. */
  configured: bool = false;
  /** One bit per logical channel (0..31) whose last conversion failed: a failure is reported once, when it starts. */
  failedChannels: u32 = 0;
  /**
   * The last thermistor conversion per channel slot (channel & 31): code and temperature. A
   * temperature moves by less than a code between most ticks, and the same code gives the same
   * temperature without the logarithm. Keyed by code alone, since every NTC channel of a board
   * shares the constants (configure() forgets them).
   */
  private readonly ntcCodes: StaticArray<i32> = new StaticArray<i32>(32);
  private readonly ntcTemperatures: StaticArray<f32> = new StaticArray<f32>(32);

  constructor() {
    this.forgetConversions();
  }

  private forgetConversions(): void {
    for (let i = 0; i < 32; i++) unchecked(this.ntcCodes[i] = -1);
  }

  /** Loads the constants; hasNtc is false on boards without a thermistor channel. */
  configure(hasNtc: bool): bool {
    let ok = true;
    const bits = requireConfig(ConfigKey.ADC_BITS, 8, 24);
    const reference = requireConfig(ConfigKey.ADC_REFERENCE_mV, 100, 10000);
    const divider = requireConfig(ConfigKey.VOLTAGE_DIVIDER_RATIO, 1, 10000);
    const shunt = requireConfig(ConfigKey.SHUNT_RESISTANCE_uOhm, 1, 1.0e6);
    const gain = requireConfig(ConfigKey.SHUNT_AMPLIFIER_GAIN, 0.01, 10000);
    const zero = requireConfig(ConfigKey.SHUNT_ZERO_mV, 0, 10000);
    ok = !(isNaN(bits) || isNaN(reference) || isNaN(divider) || isNaN(shunt) || isNaN(gain) || isNaN(zero));
    this.bits = <i32>bits;
    this.reference_mV = <f32>reference;
    this.dividerRatio = <f32>divider;
    this.shunt_uOhm = <f32>shunt;
    this.shuntGain = <f32>gain;
    this.shuntZero_mV = <f32>zero;
    if (hasNtc) {
      const r25 = requireConfig(ConfigKey.NTC_R25_Ohm, 10, 1.0e7);
      const beta = requireConfig(ConfigKey.NTC_BETA_K, 1000, 10000);
      const pullup = requireConfig(ConfigKey.NTC_PULLUP_Ohm, 10, 1.0e7);
      ok = ok && !(isNaN(r25) || isNaN(beta) || isNaN(pullup));
      this.ntcR25_Ohm = <f32>r25;
      this.ntcBeta_K = <f32>beta;
      this.ntcPullup_Ohm = <f32>pullup;
    }
    this.forgetConversions();
    this.configured = ok;
    return ok;
  }

  /** Raw code, or -1 after reporting ADC_READ_FAILED. */
  private read(channel: i32): i32 {
    const code = adc_read(channel);
    const bit: u32 = 1 << <u32>(channel & 31);
    if (code < 0 || code >= (1 << this.bits)) {
      if ((this.failedChannels & bit) == 0) fault_report(FaultCode.ADC_READ_FAILED, channel);
      this.failedChannels |= bit;
      return -1;
    }
    this.failedChannels &= ~bit;
    return code;
  }

  /** Divider voltage in mV, NaN when the conversion failed. */
  voltage_mV(channel: i32): f32 {
    const code = this.read(channel);
    return code < 0 ? NaN : dividerVoltage_mV(code, this.bits, this.reference_mV, this.dividerRatio);
  }

  /** Shunt current in mA (positive = discharge), NaN when the conversion failed. */
  current_mA(channel: i32): f32 {
    const code = this.read(channel);
    return code < 0 ? NaN : shuntCurrent_mA(code, this.bits, this.reference_mV, this.shunt_uOhm, this.shuntGain, this.shuntZero_mV);
  }

  /** Thermistor temperature in degC, NaN when the conversion failed or the sensor is open/shorted. */
  temperature_C(channel: i32): f32 {
    const code = this.read(channel);
    if (code < 0) return NaN;
    const slot = channel & 31;
    if (unchecked(this.ntcCodes[slot]) == code) return unchecked(this.ntcTemperatures[slot]);
    const temperature = ntcTemperature_C(code, this.bits, this.ntcR25_Ohm, this.ntcBeta_K, this.ntcPullup_Ohm);
    unchecked(this.ntcCodes[slot] = code);
    unchecked(this.ntcTemperatures[slot] = temperature);
    return temperature;
  }
}
