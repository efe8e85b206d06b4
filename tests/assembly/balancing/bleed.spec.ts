import { BleedExecutor, BleedExecutorConfig, BleedState } from "../../../assembly/balancing/bleed";

const TICK_ms: i64 = 100;
const R_Ohm: f32 = 33.0;

function executor(): BleedExecutor {
  return new BleedExecutor(R_Ohm, new BleedExecutorConfig());
}

/** Ticks from from_ms to to_ms (inclusive) at a fixed voltage and board temperature; returns the ticks with the switch on. */
function run(e: BleedExecutor, from_ms: i64, to_ms: i64, voltage_V: f32, board_C: f32): i32 {
  let on = 0;
  for (let t = from_ms; t <= to_ms; t += TICK_ms) if (e.tick(t, voltage_V, board_C, true)) on++;
  return on;
}

describe("bleed executor", () => {
  it("integrates V / R over the on-time and stops at the commanded charge", () => {
    const e = executor();
    e.command(1.0, 1.0, 7, 0);
    // 3.7 V / 33 ohm = 0.11212 A; 0.1 s per tick = 3.1145e-3 mAh; 1 mAh takes 321.1 ticks.
    let t: i64 = 0;
    let onTicks = 0;
    while (t < 200000 && e.state != BleedState.DONE) {
      if (e.tick(t, 3.7, 25.0, true)) onTicks++;
      // Refresh the command every second with the same sequence: the count goes on.
      if (t % 1000 == 0) e.command(1.0, 1.0, 7, t);
      t += TICK_ms;
    }
    expect(e.state).toBe(BleedState.DONE);
    expect(onTicks).toBe(322);
    const perTick_mAh: f32 = 3.7 / 33.0 * 0.1 / 3.6;
    expect(e.planRemoved_mAh).toBeCloseTo(322.0 * perTick_mAh, 4);
    expect(e.planRemoved_mAh).toBeGreaterThanOrEqual(1.0);
    expect(e.planRemoved_mAh - 1.0).toBeLessThan(perTick_mAh);
    expect(e.totalRemoved_mAh).toBeCloseTo(e.planRemoved_mAh, 5);
    // Energy: V x charge = 3.7 V x 3.6 As per mAh.
    expect(e.totalEnergy_J).toBeCloseTo(3.7 * e.totalRemoved_mAh * 3.6, 3);
    expect(e.switchOn).toBe(false);
    // The last interval was still bleeding; the next one is not.
    expect(e.lastBleedCurrent_A).toBeCloseTo(3.7 / 33.0, 6);
    e.tick(t, 3.7, 25.0, true);
    expect(e.lastBleedCurrent_A).toBe(0.0);
    t += TICK_ms;
    // A new sequence starts a new plan counted from zero; the total keeps counting.
    e.command(0.5, 1.0, 8, t);
    e.tick(t, 3.7, 25.0, true);
    e.tick(t + 100, 3.7, 25.0, true);
    expect(e.lastBleedCurrent_A).toBeCloseTo(3.7 / 33.0, 6);
    expect(e.planRemoved_mAh).toBeCloseTo(perTick_mAh, 6);
    expect(e.planSequence).toBe(8);
  });

  it("counts with the voltage measured while bleeding, in integers over a long bleed", () => {
    const e = executor();
    e.command(1000.0, 1.0, 1, 0);
    let expected: f32 = 0.0;
    let t: i64 = 0;
    e.tick(0, 4.0, 25.0, true);
    for (let k = 1; k <= 36000; k++) {
      // One hour of ticks, voltage falling from 4.0 to 3.6 V; refreshed every second.
      t = <i64>k * TICK_ms;
      const v: f32 = 4.0 - 0.4 * <f32>k / 36000.0;
      if (k % 10 == 0) e.command(1000.0, 1.0, 1, t);
      e.tick(t, v, 25.0, true);
      expected += v / 33.0 * 0.1 / 3.6;
    }
    expect(e.planRemoved_mAh).toBeCloseTo(expected, 1);
    // Mean current (3.8 V / 33 ohm) for one hour: 115.15 mAh.
    expect(e.planRemoved_mAh).toBeCloseTo(3.8 / 33.0 * 1000.0, 0);
  });

  it("duty-cycles with a sigma-delta modulator", () => {
    const e = executor();
    e.command(100.0, 0.25, 1, 0);
    let on = 0;
    for (let t: i64 = 0; t < 4000; t += TICK_ms) {
      if (t % 1000 == 0) e.command(100.0, 0.25, 1, t);
      if (e.tick(t, 3.7, 25.0, true)) on++;
    }
    expect(on).toBe(10);
    expect(e.duty).toBeCloseTo(0.25, 6);
  });

  it("derates between 60 and 80 degC, stops above, and resumes at 75 degC", () => {
    const e = executor();
    e.command(100.0, 1.0, 1, 0);
    // 70 degC: half duty.
    let on = run(e, 0, 900, 3.7, 70.0);
    expect(e.state).toBe(BleedState.DERATED);
    expect(e.thermalFactor).toBeCloseTo(0.5, 6);
    expect(on).toBe(5);
    // 80 degC: stop, and stay stopped while cooling to 76 degC.
    e.command(100.0, 1.0, 1, 1000);
    on = run(e, 1000, 1900, 3.7, 80.0);
    expect(on).toBe(0);
    expect(e.state).toBe(BleedState.THERMAL_STOP);
    e.command(100.0, 1.0, 1, 2000);
    on = run(e, 2000, 2900, 3.7, 76.0);
    expect(on).toBe(0);
    expect(e.state).toBe(BleedState.THERMAL_STOP);
    // 75 degC: resumes at (80 - 75) / 20 = 25 % duty.
    e.command(100.0, 1.0, 1, 3000);
    on = run(e, 3000, 3700, 3.7, 75.0);
    expect(e.state).toBe(BleedState.DERATED);
    expect(on).toBe(2);
    // No valid board temperature: off.
    e.command(100.0, 1.0, 1, 3800);
    expect(e.tick(3800, 3.7, NaN, true)).toBe(false);
    expect(e.state).toBe(BleedState.INPUT_INVALID);
    expect(e.tick(3900, 3.7, 150.0, true)).toBe(false);
    // Below 60 degC: full duty.
    on = run(e, 4000, 4700, 3.7, 40.0);
    expect(on).toBe(8);
    expect(e.state).toBe(BleedState.BLEEDING);
  });

  it("stops on a stale command and on a lost link, and resumes on a refresh", () => {
    const e = executor();
    expect(e.tick(0, 3.7, 25.0, true)).toBe(false);
    expect(e.state).toBe(BleedState.IDLE);
    e.command(100.0, 1.0, 3, 0);
    // No refresh: on until 3000 ms, off from the first tick after it.
    expect(run(e, 100, 3000, 3.7, 25.0)).toBe(30);
    expect(e.tick(3100, 3.7, 25.0, true)).toBe(false);
    expect(e.state).toBe(BleedState.STALE);
    const removed = e.planRemoved_mAh;
    // Refreshed with the same sequence: the plan goes on where it was.
    e.command(100.0, 1.0, 3, 3200);
    expect(e.tick(3200, 3.7, 25.0, true)).toBe(true);
    expect(e.planRemoved_mAh).toBeCloseTo(removed, 6);
    // Bus off: off at once; the interval already on is still counted.
    expect(e.tick(3300, 3.7, 25.0, false)).toBe(false);
    expect(e.state).toBe(BleedState.LINK_LOST);
    expect(e.planRemoved_mAh).toBeGreaterThan(removed);
    // Zero charge or zero duty stop too.
    e.command(0.0, 1.0, 4, 3400);
    expect(e.tick(3400, 3.7, 25.0, true)).toBe(false);
    expect(e.state).toBe(BleedState.IDLE);
    e.command(10.0, 0.0, 5, 3500);
    expect(e.tick(3500, 3.7, 25.0, true)).toBe(false);
  });

  it("keeps off below the minimum voltage, with hysteresis, and on an invalid voltage", () => {
    const e = executor();
    e.command(100.0, 1.0, 1, 0);
    expect(e.tick(0, 2.59, 25.0, true)).toBe(false);
    expect(e.state).toBe(BleedState.VOLTAGE_LOW);
    expect(e.tick(100, 2.61, 25.0, true)).toBe(false);
    expect(e.tick(200, 2.62, 25.0, true)).toBe(true);
    expect(e.tick(300, NaN, 25.0, true)).toBe(false);
    expect(e.state).toBe(BleedState.INPUT_INVALID);
    // The closed interval before the bad reading counts at the last good voltage.
    expect(e.planRemoved_mAh).toBeCloseTo(2.62 / 33.0 * 0.1 / 3.6, 6);
    expect(e.energyCounter_J).toBe(0);
  });

  it("does not allocate per tick", () => {
    const e = executor();
    e.command(100.0, 0.5, 1, 0);
    e.tick(0, 3.7, 25.0, true);
    const before = heap.alloc(0);
    heap.free(before);
    for (let t: i64 = 100; t < 100000; t += TICK_ms) {
      if (t % 1000 == 0) e.command(100.0, 0.5, 1, t);
      e.tick(t, 3.7, 65.0, true);
    }
    const after = heap.alloc(0);
    heap.free(after);
    expect(after).toBe(before);
  });
});
