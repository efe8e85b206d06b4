import { crc32 } from "../../../assembly/storage/crc32";
import {
  PackConfig, PackConfigError, PackConfigOffset, PackConfigFlag, parsePackConfig, packConfigLength,
  PACK_CONFIG_MAGIC, PACK_CONFIG_VERSION, PACK_CONFIG_MAX_OCV_POINTS, PACK_CONFIG_MAX_BYTES,
} from "../../../assembly/pack/config";
import { SafetyLimits } from "../../../assembly/protection/limits";

const buffer: usize = memory.data(1024, 4);
const POINTS: i32 = 5;

function f32At(offset: i32, value: f32): void {
  store<f32>(buffer + <usize>offset, value);
}

function reseal(length: i32): void {
  store<u32>(buffer + <usize>(length - 4), crc32(buffer, length - 4));
}

/** A valid 12-module, 2-parallel record with a 5-point OCV table; returns its length. */
function writeRecord(): i32 {
  const length = packConfigLength(POINTS);
  memory.fill(buffer, 0, 1024);
  store<u32>(buffer + <usize>PackConfigOffset.MAGIC, PACK_CONFIG_MAGIC);
  store<u16>(buffer + <usize>PackConfigOffset.VERSION, <u16>PACK_CONFIG_VERSION);
  store<u16>(buffer + <usize>PackConfigOffset.FLAGS, <u16>PackConfigFlag.CHECK_CELL_ID);
  store<u32>(buffer + <usize>PackConfigOffset.TOTAL_LENGTH, <u32>length);
  store<u16>(buffer + <usize>PackConfigOffset.MODULES_IN_SERIES, 12);
  store<u8>(buffer + <usize>PackConfigOffset.PARALLEL_CELLS, 2);
  store<u8>(buffer + <usize>PackConfigOffset.OCV_POINTS, <u8>POINTS);
  store<u16>(buffer + <usize>PackConfigOffset.CELL_ID_HASH, 0xbeef);
  f32At(PackConfigOffset.MAX_VOLTAGE_V, 4.2);
  f32At(PackConfigOffset.MIN_VOLTAGE_V, 2.5);
  f32At(PackConfigOffset.CHARGE_TEMPERATURE_MIN_C, 0);
  f32At(PackConfigOffset.CHARGE_TEMPERATURE_MAX_C, 45);
  f32At(PackConfigOffset.DISCHARGE_TEMPERATURE_MIN_C, -20);
  f32At(PackConfigOffset.DISCHARGE_TEMPERATURE_MAX_C, 60);
  f32At(PackConfigOffset.MAX_CHARGE_CURRENT_A, 3.395);
  f32At(PackConfigOffset.MAX_DISCHARGE_CURRENT_A, 7.275);
  f32At(PackConfigOffset.CELL_CAPACITY_Ah, 5.0);
  f32At(PackConfigOffset.MODULE_R0_Ohm, 0.00625);
  f32At(PackConfigOffset.MODULE_R1_Ohm, 0.0104);
  f32At(PackConfigOffset.TAU1_s, 0.14);
  f32At(PackConfigOffset.MODULE_R2_Ohm, 0.003);
  f32At(PackConfigOffset.TAU2_s, 38.7);
  f32At(PackConfigOffset.ACTIVATION_ENERGY_J_per_mol, 66600);
  f32At(PackConfigOffset.MODULE_VOLTAGE_ACCURACY_mV, 8.6);
  f32At(PackConfigOffset.PACK_VOLTAGE_ACCURACY_mV, 1720);
  f32At(PackConfigOffset.INTERCONNECT_RESISTANCE_mOhm, 0.5);
  f32At(PackConfigOffset.CHARGE_TOLERANCE_Ah, 0.34);
  store<u32>(buffer + <usize>PackConfigOffset.CHARGE_WINDOW_ms, 300000);
  store<u32>(buffer + <usize>PackConfigOffset.CURRENT_OPEN_DELAY_ms, 5000);
  f32At(PackConfigOffset.RANGE_WINDOW_km, 20);
  f32At(PackConfigOffset.CONSUMPTION_PRIOR_Wh_per_km, 0.47);
  f32At(PackConfigOffset.CONSUMPTION_FLOOR_Wh_per_km, 0.27);
  store<u32>(buffer + <usize>PackConfigOffset.PRECHARGE_TIMEOUT_ms, 470);
  store<u32>(buffer + <usize>PackConfigOffset.LINK_DISCHARGE_TIME_ms, 10000);
  const ocv: StaticArray<f32> = [3.0, 3.5, 3.7, 3.9, 4.2];
  for (let i = 0; i < POINTS; i++) f32At(PackConfigOffset.OCV + 4 * i, ocv[i]);
  reseal(length);
  return length;
}

/** Writes the valid record, lets edit() change it, reseals the CRC and parses it into config. */
function parseEdited(edit: (ptr: usize) => void, config: PackConfig): i32 {
  const length = writeRecord();
  edit(buffer);
  reseal(length);
  return parsePackConfig(buffer, length, config);
}

describe("pack configuration record", () => {
  it("has the documented length: 128 + 4 N bytes, at most 532", () => {
    expect(packConfigLength(2)).toBe(136);
    expect(packConfigLength(101)).toBe(532);
    expect(PACK_CONFIG_MAX_BYTES).toBe(packConfigLength(PACK_CONFIG_MAX_OCV_POINTS));
  });

  it("parses every field of a valid record", () => {
    const config = new PackConfig();
    const length = writeRecord();
    expect(parsePackConfig(buffer, length, config)).toBe(PackConfigError.OK);
    expect(config.valid).toBe(true);
    expect(config.modulesInSeries).toBe(12);
    expect(config.parallelCells).toBe(2);
    expect(config.cellIdHash).toBe(0xbeef);
    expect(config.checkCellId).toBe(true);
    expect(config.maxVoltage_V).toBe(<f32>4.2);
    expect(config.dischargeTemperatureMin_C).toBe(<f32>-20);
    expect(config.maxDischargeCurrent_A).toBe(<f32>7.275);
    expect(config.moduleCapacity_Ah).toBe(<f32>10);
    expect(config.tau2_s).toBe(<f32>38.7);
    expect(config.chargeWindow_ms).toBe(300000);
    expect(config.currentOpenDelay_ms).toBe(5000);
    expect(config.consumptionFloor_Wh_per_km).toBe(<f32>0.27);
    expect(config.prechargeTimeout_ms).toBe(470);
    expect(config.linkDischargeTime_ms).toBe(10000);
    expect(config.ocvPoints).toBe(POINTS);
    expect(config.ocv_V[4]).toBe(<f32>4.2);
  });

  it("builds the protection limits, the module model and the OCV curve from the record", () => {
    const config = new PackConfig();
    parsePackConfig(buffer, writeRecord(), config);
    const limits = new SafetyLimits(config.cellRatings());
    expect(limits.moduleVoltageMax_mV.open).toBe(<f32>4200);
    expect(limits.currentMaxDischarge_A.open).toBeCloseTo(<f32>14.55);
    expect(limits.temperatureMaxCharge_C.open).toBe(<f32>45);
    const model = config.moduleModel();
    expect(model.r0_Ohm).toBe(<f32>0.00625);
    expect(model.referenceTemperature_C).toBe(<f32>25);
    const ocv = config.ocvCurve();
    expect(ocv.points).toBe(POINTS);
    expect(ocv.voltage(0.125)).toBeCloseTo(<f32>3.25);
    expect(ocv.voltage(1)).toBe(<f32>4.2);
  });

  it("refuses a short buffer, a bad magic, an unknown version or flag", () => {
    const config = new PackConfig();
    const length = writeRecord();
    expect(parsePackConfig(buffer, 100, config)).toBe(PackConfigError.TOO_SHORT);
    expect(parsePackConfig(buffer, length - 1, config)).toBe(PackConfigError.TOO_SHORT);
    expect(parseEdited((p) => { store<u32>(p, 0xffffffff); }, config)).toBe(PackConfigError.BAD_MAGIC);
    expect(parseEdited((p) => { store<u16>(p + <usize>PackConfigOffset.VERSION, 2); }, config)).toBe(PackConfigError.UNSUPPORTED_VERSION);
    expect(parseEdited((p) => { store<u16>(p + <usize>PackConfigOffset.FLAGS, 0x8001); }, config)).toBe(PackConfigError.UNSUPPORTED_VERSION);
    expect(config.valid).toBe(false);
  });

  it("refuses erased flash", () => {
    memory.fill(buffer, 0xff, 1024);
    const config = new PackConfig();
    expect(parsePackConfig(buffer, PACK_CONFIG_MAX_BYTES, config)).toBe(PackConfigError.BAD_MAGIC);
  });

  it("refuses sizes that disagree", () => {
    const config = new PackConfig();
    expect(parseEdited((p) => { store<u8>(p + <usize>PackConfigOffset.OCV_POINTS, 1); }, config)).toBe(PackConfigError.BAD_SIZES);
    expect(parseEdited((p) => { store<u8>(p + <usize>PackConfigOffset.OCV_POINTS, 102); }, config)).toBe(PackConfigError.BAD_SIZES);
    expect(parseEdited((p) => { store<u32>(p + <usize>PackConfigOffset.TOTAL_LENGTH, 200); }, config)).toBe(PackConfigError.BAD_SIZES);
  });

  it("detects any corrupted byte by its CRC", () => {
    const config = new PackConfig();
    const length = writeRecord();
    for (let offset = PackConfigOffset.MODULES_IN_SERIES; offset < length - 4; offset += 7) {
      writeRecord();
      const address = buffer + <usize>offset;
      store<u8>(address, <u8>(<i32>load<u8>(address) ^ 0x04));
      expect(parsePackConfig(buffer, length, config)).toBe(PackConfigError.CRC_MISMATCH);
    }
    expect(config.valid).toBe(false);
  });

  it("refuses implausible values, NaN included", () => {
    const config = new PackConfig();
    expect(parseEdited((p) => { store<u16>(p + <usize>PackConfigOffset.MODULES_IN_SERIES, 0); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<u16>(p + <usize>PackConfigOffset.MODULES_IN_SERIES, 257); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<u8>(p + <usize>PackConfigOffset.PARALLEL_CELLS, 0); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<f32>(p + <usize>PackConfigOffset.MIN_VOLTAGE_V, 4.3); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<f32>(p + <usize>PackConfigOffset.MAX_VOLTAGE_V, NaN); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<f32>(p + <usize>PackConfigOffset.CHARGE_TEMPERATURE_MAX_C, -5); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<f32>(p + <usize>PackConfigOffset.MAX_DISCHARGE_CURRENT_A, 0); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<f32>(p + <usize>PackConfigOffset.MODULE_R0_Ohm, 6.25); }, config)).toBe(PackConfigError.OK);
    expect(parseEdited((p) => { store<f32>(p + <usize>PackConfigOffset.MODULE_R0_Ohm, 62.5); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<f32>(p + <usize>PackConfigOffset.TAU1_s, 0); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<u32>(p + <usize>PackConfigOffset.CHARGE_WINDOW_ms, 10); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<u32>(p + <usize>PackConfigOffset.CURRENT_OPEN_DELAY_ms, 120000); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<u32>(p + <usize>PackConfigOffset.PRECHARGE_TIMEOUT_ms, 0); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<u32>(p + <usize>PackConfigOffset.LINK_DISCHARGE_TIME_ms, 700000); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<f32>(p + <usize>PackConfigOffset.CONSUMPTION_PRIOR_Wh_per_km, -1); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(parseEdited((p) => { store<u16>(p + <usize>PackConfigOffset.RESERVED, 1); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
  });

  it("refuses an OCV table that does not rise with SOC", () => {
    const config = new PackConfig();
    expect(parseEdited((p) => { store<f32>(p + <usize>(PackConfigOffset.OCV + 8), 3.4); }, config)).toBe(PackConfigError.OCV_NOT_MONOTONIC);
    expect(parseEdited((p) => { store<f32>(p + <usize>(PackConfigOffset.OCV + 8), 3.5); }, config)).toBe(PackConfigError.OCV_NOT_MONOTONIC);
    expect(parseEdited((p) => { store<f32>(p + <usize>PackConfigOffset.OCV, 0); }, config)).toBe(PackConfigError.OUT_OF_RANGE);
  });

  it("leaves a valid configuration untouched when a later record is refused", () => {
    const config = new PackConfig();
    parsePackConfig(buffer, writeRecord(), config);
    expect(parseEdited((p) => {
      store<u16>(p + <usize>PackConfigOffset.MODULES_IN_SERIES, 3);
      store<f32>(p + <usize>PackConfigOffset.MIN_VOLTAGE_V, 5);
    }, config)).toBe(PackConfigError.OUT_OF_RANGE);
    expect(config.valid).toBe(true);
    expect(config.modulesInSeries).toBe(12);
    expect(config.minVoltage_V).toBe(<f32>2.5);
  });
});
