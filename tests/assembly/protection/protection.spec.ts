import { FaultLevel, FaultType, FAULT_TYPE_COUNT, diagnosticCode } from "../../../assembly/protection/faults";
import { CellRatings, SafetyLimits, defaultSetTime_ms, defaultClearTime_ms } from "../../../assembly/protection/limits";
import { Protection, ProtectionConfig } from "../../../assembly/protection/protection";
import { FreezeFrameLog } from "../../../assembly/protection/freeze-frame";

const TICK_ms: i64 = 100;

/** Example ratings: the voltage window of LG INR21700-M50 (data/cells), round numbers for the rest. */
function ratings(): CellRatings {
  const r = new CellRatings();
  r.maxVoltage_V = 4.2;
  r.minVoltage_V = 2.5;
  r.chargeTemperatureMin_C = 0.0;
  r.chargeTemperatureMax_C = 45.0;
  r.dischargeTemperatureMin_C = -20.0;
  r.dischargeTemperatureMax_C = 60.0;
  r.maxChargeCurrent_A = 3.5;
  r.maxDischargeCurrent_A = 10.0;
  r.parallelCells = 20;
  return r;
}

function config(): ProtectionConfig {
  const c = new ProtectionConfig();
  c.moduleVoltageAccuracy_mV = 10.0;
  c.packVoltageAccuracy_mV = 500.0;
  c.moduleCapacity_Ah = 50.0;
  c.chargeTolerance_Ah = 0.5;
  c.chargeWindow_ms = 60000;
  c.restCurrent_A = 1.0;
  return c;
}

function newProtection(capacity: i32 = 16): Protection {
  const p = new Protection(new SafetyLimits(ratings()), config(), capacity);
  setNominal(p);
  return p;
}

/** 100 modules at 3.7 V, 25 degC, 10 A discharge: nothing violated. */
function setNominal(p: Protection): void {
  const i = p.inputs;
  i.maxModuleVoltage_mV = 3700.0;
  i.maxVoltageModule = 7;
  i.minModuleVoltage_mV = 3650.0;
  i.minVoltageModule = 42;
  i.maxTemperature_C = 25.0;
  i.minTemperature_C = 24.0;
  i.packCurrent_A = 10.0;
  i.modulesReporting = 100;
  i.sumModuleVoltage_mV = 368000.0;
  i.packVoltage_mV = 368000.0;
  i.modulesLost = 0;
  i.meanSoc = NaN;
  i.contactorWelded = false;
  i.prechargeFailed = false;
}

/**
 * Evaluates every tick from `start_ms` until `fault` reaches `level`; returns how many ticks after
 * the first one it took (0 = on the first tick), or -1 within maxTicks. Leaves the clock in *clock.
 */
let clock_ms: i64 = 0;
function ticksUntil(p: Protection, fault: i32, level: i32, maxTicks: i32 = 200): i32 {
  for (let k = 0; k < maxTicks; k++) {
    p.evaluate(clock_ms);
    clock_ms += TICK_ms;
    if (p.level(fault) >= level) return k;
  }
  return -1;
}

/** Runs W-band, D-band, O-band values of one quantity and returns the tick counts as k_W*10000 + k_D*100 + k_O. */
function levelSequence(p: Protection, fault: i32, apply: (p: Protection, value: f32) => void, w: f32, d: f32, o: f32): i32 {
  clock_ms = 0;
  apply(p, w);
  const kW = ticksUntil(p, fault, FaultLevel.WARNING);
  expect(p.level(fault)).toBe(FaultLevel.WARNING);
  apply(p, d);
  const kD = ticksUntil(p, fault, FaultLevel.DERATE);
  expect(p.level(fault)).toBe(FaultLevel.DERATE);
  apply(p, o);
  const kO = ticksUntil(p, fault, FaultLevel.OPEN);
  expect(p.level(fault)).toBe(FaultLevel.OPEN);
  return kW * 10000 + kD * 100 + kO;
}

function expectedTicks(fault: i32): i32 {
  const w = <i32>(defaultSetTime_ms(fault, FaultLevel.WARNING) / <i32>TICK_ms);
  const d = <i32>(defaultSetTime_ms(fault, FaultLevel.DERATE) / <i32>TICK_ms);
  const o = <i32>(defaultSetTime_ms(fault, FaultLevel.OPEN) / <i32>TICK_ms);
  return w * 10000 + d * 100 + o;
}

const limits = new SafetyLimits(ratings());

describe("safety limits", () => {
  it("puts OPEN on the cell rating and the inner levels inside it (foxBMS margins)", () => {
    expect(limits.moduleVoltageMax_mV.open).toBeCloseTo(4200.0, 1);
    expect(limits.moduleVoltageMax_mV.derate).toBeCloseTo(4150.0, 1);
    expect(limits.moduleVoltageMax_mV.warning).toBeCloseTo(4100.0, 1);
    expect(limits.moduleVoltageMin_mV.open).toBeCloseTo(2500.0, 1);
    expect(limits.moduleVoltageMin_mV.derate).toBeCloseTo(2550.0, 1);
    expect(limits.moduleVoltageMin_mV.warning).toBeCloseTo(2600.0, 1);
  });
  it("keeps separate charge and discharge temperature limits", () => {
    expect(limits.temperatureMaxCharge_C.open).toBe(45.0);
    expect(limits.temperatureMaxCharge_C.warning).toBe(35.0);
    expect(limits.temperatureMaxDischarge_C.open).toBe(60.0);
    expect(limits.temperatureMaxDischarge_C.derate).toBe(55.0);
    expect(limits.temperatureMinCharge_C.open).toBe(0.0);
    expect(limits.temperatureMinCharge_C.warning).toBe(10.0);
    expect(limits.temperatureMinDischarge_C.open).toBe(-20.0);
    expect(limits.temperatureMinDischarge_C.derate).toBe(-15.0);
  });
  it("scales current ratings by the parallel cells", () => {
    expect(limits.currentMaxCharge_A.open).toBeCloseTo(70.0, 3);
    expect(limits.currentMaxCharge_A.derate).toBeCloseTo(66.5, 3);
    expect(limits.currentMaxCharge_A.warning).toBeCloseTo(63.0, 3);
    expect(limits.currentMaxDischarge_A.open).toBeCloseTo(200.0, 3);
  });
  it("opens hard limits with no debounce and latches OPEN", () => {
    const hard: StaticArray<i32> = [
      FaultType.OVER_VOLTAGE, FaultType.UNDER_VOLTAGE, FaultType.OVER_TEMPERATURE,
      FaultType.UNDER_TEMPERATURE, FaultType.OVER_CURRENT_CHARGE, FaultType.OVER_CURRENT_DISCHARGE,
    ];
    for (let i = 0; i < hard.length; i++) expect(defaultSetTime_ms(hard[i], FaultLevel.OPEN)).toBe(0);
    for (let f = 0; f < FAULT_TYPE_COUNT; f++) expect(defaultClearTime_ms(f, FaultLevel.OPEN)).toBe(-1);
  });
  it("numbers diagnostic codes by fault and level", () => {
    expect(diagnosticCode(FaultType.OVER_VOLTAGE, FaultLevel.OPEN)).toBe(0x103);
    expect(diagnosticCode(FaultType.PRECHARGE_FAILED, FaultLevel.WARNING)).toBe(0x1a1);
  });
});

describe("protection levels and debounce (100 ms tick)", () => {
  it("reports nothing for a healthy pack", () => {
    const p = newProtection();
    for (let k = 0; k < 50; k++) expect(p.evaluate(<i64>k * TICK_ms)).toBe(FaultLevel.NONE);
    expect(p.log.count).toBe(0);
    expect(p.activeFaultMask(FaultLevel.WARNING)).toBe(0);
  });
  it("over-voltage: WARNING after 5 ticks, DERATE after 2 more, OPEN on the first tick over the limit", () => {
    const p = newProtection();
    const ticks = levelSequence(p, FaultType.OVER_VOLTAGE, (p: Protection, v: f32): void => { p.inputs.maxModuleVoltage_mV = v; }, 4120.0, 4160.0, 4200.0);
    expect(ticks).toBe(50200);
    expect(ticks).toBe(expectedTicks(FaultType.OVER_VOLTAGE));
    expect(p.openRequested()).toBe(true);
  });
  it("over-voltage OPEN trips on the very first tick from a healthy state", () => {
    const p = newProtection();
    p.evaluate(0);
    p.inputs.maxModuleVoltage_mV = 4205.0;
    expect(p.evaluate(100)).toBe(FaultLevel.OPEN);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.OPEN);
  });
  it("under-voltage", () => {
    const p = newProtection();
    const ticks = levelSequence(p, FaultType.UNDER_VOLTAGE, (p: Protection, v: f32): void => { p.inputs.minModuleVoltage_mV = v; }, 2580.0, 2540.0, 2500.0);
    expect(ticks).toBe(expectedTicks(FaultType.UNDER_VOLTAGE));
  });
  it("over-temperature on discharge", () => {
    const p = newProtection();
    const ticks = levelSequence(p, FaultType.OVER_TEMPERATURE, (p: Protection, v: f32): void => { p.inputs.maxTemperature_C = v; }, 52.0, 57.0, 60.0);
    expect(ticks).toBe(101000);
    expect(ticks).toBe(expectedTicks(FaultType.OVER_TEMPERATURE));
  });
  it("over-temperature on charge uses the lower charge limits", () => {
    const p = newProtection();
    p.inputs.packCurrent_A = -20.0;
    const ticks = levelSequence(p, FaultType.OVER_TEMPERATURE, (p: Protection, v: f32): void => { p.inputs.maxTemperature_C = v; }, 37.0, 42.0, 45.0);
    expect(ticks).toBe(expectedTicks(FaultType.OVER_TEMPERATURE));
    expect(p.charging).toBe(true);
  });
  it("50 degC opens while charging but only warns while discharging", () => {
    const charging = newProtection();
    charging.inputs.packCurrent_A = -20.0;
    charging.inputs.maxTemperature_C = 50.0;
    expect(charging.evaluate(0)).toBe(FaultLevel.OPEN);
    const discharging = newProtection();
    discharging.inputs.maxTemperature_C = 50.0;
    for (let k = 0; k < 30; k++) discharging.evaluate(<i64>k * TICK_ms);
    expect(discharging.level(FaultType.OVER_TEMPERATURE)).toBe(FaultLevel.WARNING);
  });
  it("under-temperature on discharge and on charge", () => {
    const p = newProtection();
    const ticks = levelSequence(p, FaultType.UNDER_TEMPERATURE, (p: Protection, v: f32): void => { p.inputs.minTemperature_C = v; }, -12.0, -17.0, -20.0);
    expect(ticks).toBe(expectedTicks(FaultType.UNDER_TEMPERATURE));
    const c = newProtection();
    c.inputs.packCurrent_A = -20.0;
    c.inputs.minTemperature_C = 0.0;
    expect(c.evaluate(0)).toBe(FaultLevel.OPEN);
  });
  it("over-current on charge (negative current)", () => {
    const p = newProtection();
    const ticks = levelSequence(p, FaultType.OVER_CURRENT_CHARGE, (p: Protection, v: f32): void => { p.inputs.packCurrent_A = v; }, -64.0, -67.0, -70.0);
    expect(ticks).toBe(50200);
    expect(p.level(FaultType.OVER_CURRENT_DISCHARGE)).toBe(FaultLevel.NONE);
  });
  it("over-current on discharge", () => {
    const p = newProtection();
    const ticks = levelSequence(p, FaultType.OVER_CURRENT_DISCHARGE, (p: Protection, v: f32): void => { p.inputs.packCurrent_A = v; }, 182.0, 192.0, 200.0);
    expect(ticks).toBe(expectedTicks(FaultType.OVER_CURRENT_DISCHARGE));
    expect(p.level(FaultType.OVER_CURRENT_CHARGE)).toBe(FaultLevel.NONE);
  });
  it("module communication lost: WARNING at once, DERATE after 3 ticks, OPEN after 10", () => {
    const p = newProtection();
    p.inputs.modulesLost = 1;
    const levels = new StaticArray<i32>(11);
    for (let k = 0; k <= 10; k++) levels[k] = p.evaluate(<i64>k * TICK_ms);
    expect(levels[0]).toBe(FaultLevel.WARNING);
    expect(levels[2]).toBe(FaultLevel.WARNING);
    expect(levels[3]).toBe(FaultLevel.DERATE);
    expect(levels[9]).toBe(FaultLevel.DERATE);
    expect(levels[10]).toBe(FaultLevel.OPEN);
    // The incomplete sum does not raise a voltage plausibility fault.
    expect(p.level(FaultType.VOLTAGE_PLAUSIBILITY)).toBe(FaultLevel.NONE);
  });
  it("voltage plausibility: tolerance = n x module accuracy + pack accuracy", () => {
    const p = newProtection();
    p.evaluate(0);
    // 100 x 10 mV + 500 mV = 1500 mV
    expect(p.threshold(FaultType.VOLTAGE_PLAUSIBILITY, FaultLevel.OPEN)).toBeCloseTo(1500.0, 2);
    p.inputs.packVoltage_mV = 368000.0 - 1400.0;
    for (let k = 1; k < 40; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.VOLTAGE_PLAUSIBILITY)).toBe(FaultLevel.NONE);
    const q = newProtection();
    q.inputs.packVoltage_mV = 368000.0 - 2000.0;
    clock_ms = 0;
    const kW = ticksUntil(q, FaultType.VOLTAGE_PLAUSIBILITY, FaultLevel.WARNING);
    const kD = ticksUntil(q, FaultType.VOLTAGE_PLAUSIBILITY, FaultLevel.DERATE);
    const kO = ticksUntil(q, FaultType.VOLTAGE_PLAUSIBILITY, FaultLevel.OPEN);
    // Counted from the first tick: 500, 1000 and 2000 ms.
    expect(kW).toBe(5);
    expect(kW + 1 + kD).toBe(10);
    expect(kW + 1 + kD + 1 + kO).toBe(20);
  });
  it("voltage plausibility expects the interconnect drop", () => {
    const c = config();
    c.interconnectResistance_mOhm = 20.0;
    const p = new Protection(new SafetyLimits(ratings()), c, 4);
    setNominal(p);
    p.inputs.packCurrent_A = 100.0;
    // 100 A x 20 mOhm = 2000 mV less at the pack tap than the sum of the modules.
    p.inputs.packVoltage_mV = 368000.0 - 2000.0;
    for (let k = 0; k < 40; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.VOLTAGE_PLAUSIBILITY)).toBe(FaultLevel.NONE);
    expect(p.monitoredValue(FaultType.VOLTAGE_PLAUSIBILITY)).toBeLessThan(1.0);
  });
  it("current plausibility: charge counted over 60 s matches the SOC change", () => {
    const p = newProtection();
    p.inputs.packCurrent_A = 50.0;
    for (let k = 0; k <= 1300; k++) {
      const t = <i64>k * TICK_ms;
      // SOC falls by I t / (3600 Q): 50 A on 50 Ah is 1/3600 per second.
      p.inputs.meanSoc = <f32>0.8 - <f32>(<f64>t / 1000.0 / 3600.0);
      p.evaluate(t);
    }
    expect(p.chargeDeviation_Ah).toBeLessThan(0.01);
    expect(p.level(FaultType.CURRENT_PLAUSIBILITY)).toBe(FaultLevel.NONE);
  });
  it("current plausibility: a stuck SOC derates after one window and opens after the second", () => {
    const p = newProtection();
    p.inputs.packCurrent_A = 50.0;
    p.inputs.meanSoc = 0.8;
    let levelBefore = -1;
    let levelAtFirst = -1;
    let levelBeforeSecond = -1;
    let levelAtSecond = -1;
    for (let k = 0; k <= 1200; k++) {
      const level = p.evaluate(<i64>k * TICK_ms);
      if (k == 599) levelBefore = level;
      if (k == 600) levelAtFirst = level;
      if (k == 1199) levelBeforeSecond = level;
      if (k == 1200) levelAtSecond = level;
    }
    expect(levelBefore).toBe(FaultLevel.NONE);
    expect(levelAtFirst).toBe(FaultLevel.DERATE);
    expect(levelBeforeSecond).toBe(FaultLevel.DERATE);
    expect(levelAtSecond).toBe(FaultLevel.OPEN);
    // 50 A for 60 s = 0.8333 Ah counted, no SOC change.
    expect(p.chargeDeviation_Ah).toBeCloseTo(0.8333, 3);
  });
  it("contactor welded and precharge failed open on the tick they are reported", () => {
    const p = newProtection();
    p.evaluate(0);
    p.inputs.contactorWelded = true;
    expect(p.evaluate(100)).toBe(FaultLevel.OPEN);
    expect(p.level(FaultType.CONTACTOR_WELDED)).toBe(FaultLevel.OPEN);
    const q = newProtection();
    q.inputs.prechargeFailed = true;
    expect(q.evaluate(0)).toBe(FaultLevel.OPEN);
    expect(q.level(FaultType.PRECHARGE_FAILED)).toBe(FaultLevel.OPEN);
  });
  it("packs two bits per fault for BMS_Faults", () => {
    const p = newProtection();
    p.inputs.prechargeFailed = true;
    p.inputs.modulesLost = 1;
    p.evaluate(0);
    expect(p.packedLevels()).toBe((<u32>FaultLevel.OPEN << 20) | (<u32>FaultLevel.WARNING << 12));
    expect(p.activeFaultMask(FaultLevel.WARNING)).toBe((1 << FaultType.PRECHARGE_FAILED) | (1 << FaultType.MODULE_COMMUNICATION_LOST));
    expect(p.activeFaultMask(FaultLevel.OPEN)).toBe(1 << FaultType.PRECHARGE_FAILED);
  });
});

describe("latching and reset", () => {
  it("keeps OPEN after the value returns, until a reset while safe", () => {
    const p = newProtection();
    p.inputs.maxModuleVoltage_mV = 4210.0;
    p.evaluate(0);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.OPEN);
    // Still within the hysteresis of the OPEN level (4200 - 20 mV): not safe.
    p.inputs.maxModuleVoltage_mV = 4190.0;
    p.evaluate(100);
    expect(p.requestReset()).toBe(false);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.OPEN);
    // Back to normal: OPEN stays latched without a reset, for as long as we wait.
    p.inputs.maxModuleVoltage_mV = 3700.0;
    for (let k = 2; k < 100; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.OPEN);
    expect(p.requestReset()).toBe(true);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.NONE);
    expect(p.openRequested()).toBe(false);
  });
  it("releases OPEN into the lower levels still debouncing their clear time", () => {
    const p = newProtection();
    p.inputs.maxModuleVoltage_mV = 4200.0;
    for (let k = 0; k <= 5; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.OPEN);
    p.inputs.maxModuleVoltage_mV = 3700.0;
    p.evaluate(600);
    expect(p.requestReset()).toBe(true);
    // WARNING and DERATE were set and clear only after 2000 ms back inside.
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.DERATE);
    for (let k = 7; k < 26; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.DERATE);
    p.evaluate(2600);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.NONE);
  });
  it("clears WARNING only after the value is back inside by the hysteresis for the clear time", () => {
    const p = newProtection();
    p.inputs.maxModuleVoltage_mV = 4110.0;
    for (let k = 0; k <= 5; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.WARNING);
    // 4090 is below 4100 but not by the 20 mV hysteresis: holds.
    p.inputs.maxModuleVoltage_mV = 4090.0;
    for (let k = 6; k < 60; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.WARNING);
    p.inputs.maxModuleVoltage_mV = 4070.0;
    for (let k = 60; k < 80; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.WARNING);
    p.evaluate(8000);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.NONE);
  });
  it("holds levels through missing measurements (NaN)", () => {
    const p = newProtection();
    p.inputs.maxModuleVoltage_mV = 4160.0;
    for (let k = 0; k <= 10; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.DERATE);
    p.inputs.maxModuleVoltage_mV = NaN;
    for (let k = 11; k < 100; k++) p.evaluate(<i64>k * TICK_ms);
    expect(p.level(FaultType.OVER_VOLTAGE)).toBe(FaultLevel.DERATE);
  });
  it("refuses to reset a welded contactor while it is still reported", () => {
    const p = newProtection();
    p.inputs.contactorWelded = true;
    p.evaluate(0);
    expect(p.requestReset()).toBe(false);
    p.inputs.contactorWelded = false;
    p.evaluate(100);
    expect(p.requestReset()).toBe(true);
    expect(p.highestLevel).toBe(FaultLevel.NONE);
  });
});

describe("freeze frames", () => {
  it("records the measurements when a fault rises, one frame per level reached", () => {
    const p = newProtection();
    p.inputs.maxModuleVoltage_mV = 4200.0;
    p.inputs.maxVoltageModule = 17;
    p.inputs.packCurrent_A = -42.0;
    p.inputs.meanSoc = 0.97;
    p.evaluate(12300);
    expect(p.log.count).toBe(1);
    const frame = p.log.newest();
    expect(frame.time_ms).toBe(12300);
    expect(frame.fault).toBe(FaultType.OVER_VOLTAGE);
    expect(frame.level).toBe(FaultLevel.OPEN);
    expect(frame.code).toBe(0x103);
    expect(frame.value).toBe(4200.0);
    expect(frame.maxModuleVoltage_mV).toBe(4200.0);
    expect(frame.maxVoltageModule).toBe(17);
    expect(frame.minModuleVoltage_mV).toBe(3650.0);
    expect(frame.minVoltageModule).toBe(42);
    expect(frame.packCurrent_A).toBe(-42.0);
    expect(frame.maxTemperature_C).toBe(25.0);
    expect(frame.packVoltage_mV).toBe(368000.0);
    expect(frame.meanSoc).toBeCloseTo(0.97, 5);
    // Staying at OPEN adds nothing.
    p.evaluate(12400);
    expect(p.log.count).toBe(1);
  });
  it("records WARNING, DERATE and OPEN of a slow rise in order", () => {
    const p = newProtection();
    levelSequence(p, FaultType.UNDER_VOLTAGE, (p: Protection, v: f32): void => { p.inputs.minModuleVoltage_mV = v; }, 2580.0, 2540.0, 2500.0);
    expect(p.log.count).toBe(3);
    expect(p.log.at(0).level).toBe(FaultLevel.WARNING);
    expect(p.log.at(1).level).toBe(FaultLevel.DERATE);
    expect(p.log.at(2).level).toBe(FaultLevel.OPEN);
    expect(p.log.at(0).value).toBe(2580.0);
    expect(p.log.at(2).code).toBe(0x113);
    expect(p.log.at(1).time_ms).toBeLessThan(p.log.at(2).time_ms);
  });
  it("wraps the ring buffer, keeping the newest N", () => {
    const log = new FreezeFrameLog(4);
    for (let k = 0; k < 6; k++) {
      const slot = log.slot();
      slot.time_ms = <i64>(1000 * k);
      slot.fault = k;
      log.commit();
    }
    expect(log.count).toBe(4);
    expect(log.recorded).toBe(6);
    expect(log.at(0).time_ms).toBe(2000);
    expect(log.at(3).time_ms).toBe(5000);
    expect(log.newest().fault).toBe(5);
  });
  it("wraps through the protection as faults keep coming", () => {
    const p = newProtection(2);
    p.inputs.contactorWelded = true;
    p.inputs.prechargeFailed = true;
    p.inputs.modulesLost = 1;
    p.evaluate(0);
    expect(p.log.recorded).toBe(3);
    expect(p.log.count).toBe(2);
    expect(p.log.at(0).fault).toBe(FaultType.CONTACTOR_WELDED);
    expect(p.log.at(1).fault).toBe(FaultType.PRECHARGE_FAILED);
  });
});
