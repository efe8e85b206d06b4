// ADC code to physical quantity, for the three kinds of analogue front end a board describes
// (docs/boards.md): resistive divider, shunt with amplifier, NTC thermistor with pull-up.
// Pure functions of their arguments: no imports, unit-tested in tests/assembly/measurement.

/** Absolute zero offset, degC to K (ISO 80000-5). */
const KELVIN_OFFSET: f32 = 273.15;
/** Reference temperature of the NTC beta equation, 25 degC in K (thermistor datasheets, B25/85). */
const NTC_T25_K: f32 = 298.15;

/** ADC input voltage in mV for a raw code, with a full scale of 2^bits codes at reference_mV. */
export function codeToInput_mV(code: i32, bits: i32, reference_mV: f32): f32 {
  return (<f32>code) * reference_mV / <f32>(1 << bits);
}

/** Voltage at the divider's top in mV. */
export function dividerVoltage_mV(code: i32, bits: i32, reference_mV: f32, dividerRatio: f32): f32 {
  return codeToInput_mV(code, bits, reference_mV) * dividerRatio;
}

/**
 * Current in mA through a shunt read by a bidirectional amplifier centred at zero_mV.
 * V_adc = zero_mV + I * R_shunt * gain, so I = (V_adc - zero) / (R * gain); mV / uOhm = kA.
 */
export function shuntCurrent_mA(code: i32, bits: i32, reference_mV: f32, shunt_uOhm: f32, gain: f32, zero_mV: f32): f32 {
  const delta_mV = codeToInput_mV(code, bits, reference_mV) - zero_mV;
  return delta_mV / (shunt_uOhm * gain) * 1.0e6;
}

/**
 * Thermistor temperature in degC from the divider code: NTC from the node to ground, pull-up to
 * the ADC reference, so R_ntc = R_pull * code / (full - code); then the beta equation
 * 1/T = 1/T25 + ln(R/R25)/B. Returns NaN at the rails (open or shorted sensor).
 */
export function ntcTemperature_C(code: i32, bits: i32, r25_Ohm: f32, beta_K: f32, pullup_Ohm: f32): f32 {
  const full = 1 << bits;
  if (code <= 0 || code >= full - 1) return NaN;
  const r_Ohm = pullup_Ohm * <f32>code / <f32>(full - code);
  const inverseT: f32 = <f32>1.0 / NTC_T25_K + Mathf.log(r_Ohm / r25_Ohm) / beta_K;
  return <f32>1.0 / inverseT - KELVIN_OFFSET;
}
