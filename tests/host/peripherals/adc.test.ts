// ADC converter model (offset, gain, INL, noise, reference drift, conversion time), the shunt
// amplifier (INA240 figures) and the NTC (tolerance, open, short): statistics match the knobs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AdcPeripheral, STM32F4_ADC, REF5025, converterModel, frontEndInput_mV } from "../../../host/peripherals/adc.ts";
import { INA240A1 } from "../../../host/peripherals/current-sensor.ts";
import { MURATA_NCP15XH103F03RC } from "../../../host/peripherals/ntc.ts";
import { loadBoard } from "../../../host/boards.ts";
import { Random } from "../../../host/random.ts";

const board = loadBoard("strata-node-v1"); // 14 bit, 2500 mV reference
const FS = 2 ** board.adc.bits;
const LSB_mV = board.adc.reference_mV / FS;

function adc(seed = 1): { adc: AdcPeripheral; channel: (name: string) => number; read: (name: string) => number } {
  const random = new Random(seed);
  const a = new AdcPeripheral(board, () => random.gaussian());
  const hal = a.imports() as unknown as { adc_read: (channel: number) => number };
  return { adc: a, channel: (name) => a.channelNumber(name), read: (name) => hal.adc_read(a.channelNumber(name)) };
}

function stats(samples: number[]): { mean: number; sigma: number } {
  const mean = samples.reduce((s, x) => s + x, 0) / samples.length;
  const variance = samples.reduce((s, x) => s + (x - mean) ** 2, 0) / (samples.length - 1);
  return { mean, sigma: Math.sqrt(variance) };
}

test("by default the converter is ideal: a code is the input over the reference, rounded", () => {
  const { adc: a, read } = adc();
  let volts = 0;
  a.connect("MODULE_VOLTAGE", () => volts);
  for (const v of [0, 0.5, 1.234, 3.7, 4.999]) {
    volts = v;
    assert.equal(read("MODULE_VOLTAGE"), Math.min(FS - 1, Math.round((v * 1000) / 2 / LSB_mV)));
  }
});

test("offset, gain error and noise: the mean and σ of many conversions match the knobs", () => {
  const { adc: a, read } = adc(42);
  a.converter = { ...a.converter, offset_LSB: 3, gainError_LSB: 8, noise_LSB: 2 };
  let input_mV = 0;
  a.connect("MODULE_VOLTAGE", () => (input_mV * 2) / 1000);
  const measure = (x: number): { mean: number; sigma: number } => {
    input_mV = x * board.adc.reference_mV;
    return stats(Array.from({ length: 20000 }, () => read("MODULE_VOLTAGE")));
  };
  const low = measure(0.25);
  const high = measure(0.75);
  // 2 LSB of noise dithers the rounding: means are within 4σ/√N ≈ 0.06 LSB of the unrounded transfer
  assert.ok(Math.abs(low.mean - (0.25 * FS + 3 + 8 * 0.25)) < 0.06, `mean at 1/4 scale ${low.mean}`);
  assert.ok(Math.abs(high.mean - (0.75 * FS + 3 + 8 * 0.75)) < 0.06, `mean at 3/4 scale ${high.mean}`);
  const gain = (high.mean - low.mean) / 0.5 - FS;
  assert.ok(Math.abs(gain - 8) < 0.25, `gain error ${gain} LSB`);
  const expectedSigma = Math.sqrt(4 + 1 / 12); // noise plus quantisation
  for (const s of [low.sigma, high.sigma]) assert.ok(Math.abs(s / expectedSigma - 1) < 0.03, `σ ${s}`);
});

test("INL: a bow with its peak at mid-scale and zero at the ends, or an interpolated table", () => {
  const { adc: a, channel } = adc();
  const ch = channel("MODULE_VOLTAGE");
  a.converter = { ...a.converter, inlPeak_LSB: 4 };
  const at = (x: number): number => a.convert(ch, x * board.adc.reference_mV) - x * FS;
  assert.equal(at(0.5), 4);
  assert.equal(at(0.25), 3);
  assert.equal(at(0.75), 3);
  assert.equal(at(0), 0);
  a.converter = { ...a.converter, inlTable: [[0, 0], [FS / 2, -2], [FS, 0]] };
  assert.equal(at(0.5), -2);
  assert.equal(at(0.25), -1);
});

test("the reference drifts with temperature; a ratiometric NTC channel does not", () => {
  const { adc: a, read } = adc();
  a.converter = { ...a.converter, referenceTempco_ppm_per_C: 100 };
  a.connect("MODULE_VOLTAGE", () => 2.5);
  a.connect("MODULE_TEMPERATURE", () => 40);
  let boardTemperature = 25;
  a.temperature_C = () => boardTemperature;
  const v25 = read("MODULE_VOLTAGE");
  const t25 = read("MODULE_TEMPERATURE");
  boardTemperature = 75; // reference 0.5 % high: codes 0.5 % low
  assert.equal(read("MODULE_VOLTAGE"), Math.round(v25 / 1.005));
  assert.equal(read("MODULE_TEMPERATURE"), t25);
});

test("each conversion books its conversion time as busy time", () => {
  const { adc: a, read } = adc();
  a.connect("MODULE_VOLTAGE", () => 3.3);
  a.connect("MODULE_CURRENT", () => 1);
  for (let i = 0; i < 10; i++) read(i % 2 === 0 ? "MODULE_VOLTAGE" : "MODULE_CURRENT");
  assert.equal(a.conversions, 10);
  assert.equal(a.busy.lap_us(), 10 * STM32F4_ADC.conversionTime_us);
  read("MODULE_VOLTAGE");
  assert.equal(a.busy.lap_us(), STM32F4_ADC.conversionTime_us);
  assert.equal(read("BOARD_TEMPERATURE"), -1, "an unconnected channel");
  assert.equal(a.busy.lap_us(), 0, "a refused read converts nothing");
});

test("STM32F4 datasheet errors scale to the board's resolution; typical errors stay inside the maximum TUE", () => {
  const model = converterModel(STM32F4_ADC, 14, "maximum");
  assert.deepEqual([model.offset_LSB, model.gainError_LSB, model.inlPeak_LSB], [10, 12, 12]);
  for (let seed = 1; seed <= 20; seed++) {
    const { adc: a, channel } = adc(seed);
    a.usePart(STM32F4_ADC, "typical", new Random(seed), REF5025);
    a.converter = { ...a.converter, noise_LSB: 0, referenceError: 0 };
    const ch = channel("MODULE_VOLTAGE");
    let worst = 0;
    for (let code = 0; code < FS - 64; code += 64) worst = Math.max(worst, Math.abs(a.convert(ch, ((code + 0.5) * board.adc.reference_mV) / FS) - code));
    assert.ok(worst <= STM32F4_ADC.totalUnadjusted_LSB.maximum * 4 + 1, `seed ${seed}: ${worst} LSB`);
  }
});

test("shunt amplifier (INA240A1 maximum): offset and its drift, gain error, noise σ", () => {
  const { adc: a } = adc(7);
  const sensor = a.currentSensor("MODULE_CURRENT");
  const input = board.adc.channels["MODULE_CURRENT"]!;
  assert.equal(input.input, "shunt");
  if (input.input !== "shunt") return;
  sensor.usePart(INA240A1.maximum);
  let temperature = 25;
  sensor.temperature_C = () => temperature;
  const mean = (current: number): { mean: number; sigma: number } => stats(Array.from({ length: 20000 }, () => sensor.output_mV(current)));
  const noise_mV = 40e-9 * Math.sqrt((Math.PI / 2) * 1000) * input.amplifierGain * 1000;
  const zero = mean(0);
  // the offset is input-referred: it sees the amplifier's gain, gain error included
  assert.ok(Math.abs(zero.mean - (input.zero_mV + 25e-3 * input.amplifierGain * 1.002)) < 4 * noise_mV / Math.sqrt(20000));
  assert.ok(Math.abs(zero.sigma / noise_mV - 1) < 0.03, `σ ${zero.sigma} mV, expected ${noise_mV}`);
  temperature = 125; // +100 °C: offset 25 + 0.25 × 100 = 50 µV, gain 0.2 % + 2.5 ppm/°C × 100 high
  assert.ok(Math.abs(mean(0).mean - (input.zero_mV + 50e-3 * input.amplifierGain * 1.00225)) < 4 * noise_mV / Math.sqrt(20000));
  temperature = 25;
  const span = (mean(10).mean - mean(-10).mean) / (20 * input.shuntResistance_uOhm * 1e-3 * input.amplifierGain);
  assert.ok(Math.abs(span - 1.002) < 1e-4, `gain ${span}`);
  sensor.stuckOutput_mV = 0;
  assert.equal(sensor.output_mV(5), 0);
});

test("NTC: R25/beta tolerance shifts the reading, open reads full scale, short reads zero", () => {
  const { adc: a, read } = adc();
  const ntc = a.thermistor("MODULE_TEMPERATURE");
  a.connect("MODULE_TEMPERATURE", () => 25);
  const nominal = read("MODULE_TEMPERATURE");
  assert.equal(nominal, Math.round(FS / 2), "10 kΩ against a 10 kΩ pull-up at 25 °C");
  ntc.r25Error = 0.01;
  assert.ok(Math.abs(ntc.resistance_Ohm(25) - 10100) < 1e-6);
  assert.equal(read("MODULE_TEMPERATURE"), Math.round((FS * 10100) / 20100));
  ntc.r25Error = 0;
  ntc.betaError = 0.01;
  assert.equal(read("MODULE_TEMPERATURE"), nominal, "beta does not matter at 25 °C");
  const input = board.adc.channels["MODULE_TEMPERATURE"]!;
  assert.ok(ntc.input_mV(60, 2500) < frontEndInput_mV(input, 60, 2500), "a higher beta reads lower resistance when hot");
  ntc.open = true;
  assert.equal(read("MODULE_TEMPERATURE"), FS - 1);
  ntc.open = false;
  ntc.short = true;
  assert.equal(read("MODULE_TEMPERATURE"), 0);
  ntc.short = false;
  const random = new Random(3);
  for (let i = 0; i < 100; i++) {
    ntc.drawTolerances(MURATA_NCP15XH103F03RC, random);
    assert.ok(Math.abs(ntc.r25Error) <= 0.01 && Math.abs(ntc.betaError) <= 0.01);
  }
});
