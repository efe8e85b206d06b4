import { codeToInput_mV, dividerVoltage_mV, shuntCurrent_mA, ntcTemperature_C } from "../../../assembly/measurement/conversion";

describe("ADC conversions", () => {
  it("maps full scale to the reference", () => {
    expect(codeToInput_mV(1 << 14, 14, 2500)).toBeCloseTo(2500);
    expect(codeToInput_mV(8192, 14, 2500)).toBeCloseTo(1250);
  });
  it("scales a divider", () => {
    // 3.7 V through a 2:1 divider is 1850 mV at the ADC: code 1850/2500*16384 = 12124.16
    expect(dividerVoltage_mV(12124, 14, 2500, 2)).toBeCloseTo(3699.95, 1);
  });
  it("reads zero current at the amplifier's zero point and the sign of the current", () => {
    expect(shuntCurrent_mA(8192, 14, 2500, 100, 20, 1250)).toBeCloseTo(0);
    // 50 A * 100 uOhm * 20 = 100 mV above zero: (1350/2500)*16384 = 8847.36
    const i = shuntCurrent_mA(8847, 14, 2500, 100, 20, 1250);
    expect(i).toBeGreaterThan(49800);
    expect(i).toBeLessThan(50100);
    expect(shuntCurrent_mA(7537, 14, 2500, 100, 20, 1250)).toBeLessThan(-49000);
  });
  it("returns 25 degC where the thermistor equals the pull-up", () => {
    expect(ntcTemperature_C(8192, 14, 10000, 3435, 10000)).toBeCloseTo(25, 2);
  });
  it("follows the beta equation away from 25 degC", () => {
    // At 60 degC: R = 10k * exp(3435 * (1/333.15 - 1/298.15)) = 2981 Ohm; code = 16384 * R / (R + 10k)
    const r = 10000.0 * Math.exp(3435.0 * (1.0 / 333.15 - 1.0 / 298.15));
    const code = <i32>Math.round(16384.0 * r / (r + 10000.0));
    expect(ntcTemperature_C(code, 14, 10000, 3435, 10000)).toBeCloseTo(60, 1);
  });
  it("reports an open or shorted thermistor as NaN", () => {
    expect(isNaN(ntcTemperature_C(0, 14, 10000, 3435, 10000))).toBe(true);
    expect(isNaN(ntcTemperature_C(16383, 14, 10000, 3435, 10000))).toBe(true);
  });
});
