import { RangeEstimator } from "../../../assembly/pack/range";

describe("range estimate", () => {
  it("starts at the prior", () => {
    const r = new RangeEstimator(10.0, 250.0, 50.0);
    expect(r.consumption_Wh_per_km).toBe(250.0);
    expect(r.range_km(25000.0)).toBeCloseTo(100.0, 3);
  });
  it("converges to a constant consumption as c + (prior - c) e^(-d / window)", () => {
    const r = new RangeEstimator(10.0, 250.0, 50.0);
    // 60 km/h at 9 kW is 150 Wh/km; 100 ms ticks, 1 km per minute.
    let t: i64 = 0;
    r.update(9000.0, 60.0, t);
    let previousError: f32 = 100.0;
    for (let minute = 1; minute <= 60; minute++) {
      for (let k = 0; k < 600; k++) {
        t += 100;
        r.update(9000.0, 60.0, t);
      }
      const error = r.consumption_Wh_per_km - <f32>150.0;
      expect(error).toBeLessThanOrEqual(previousError);
      previousError = error;
      if (minute == 10) expect(r.consumption_Wh_per_km).toBeCloseTo(<f32>(150.0 + 100.0 * Math.exp(-1.0)), 0);
    }
    // 60 km = 6 windows: the prior's weight is e^-6.
    expect(r.consumption_Wh_per_km).toBeCloseTo(<f32>(150.0 + 100.0 * Math.exp(-6.0)), 0);
    expect(Mathf.abs(r.consumption_Wh_per_km - <f32>150.0)).toBeLessThan(0.5);
    expect(r.range_km(30000.0)).toBeCloseTo(200.0, 0);
  });
  it("keeps its history through a stop and counts energy used standing", () => {
    const r = new RangeEstimator(10.0, 150.0, 50.0);
    let t: i64 = 0;
    r.update(0.0, 0.0, t);
    for (let k = 0; k < 3000; k++) {
      t += 100;
      r.update(0.0, 0.0, t);
    }
    expect(r.consumption_Wh_per_km).toBeCloseTo(150.0, 3);
    // 2 kW of heating for 30 min at a standstill is 1000 Wh, charged to the window's 10 km.
    for (let k = 0; k < 18000; k++) {
      t += 100;
      r.update(2000.0, 0.0, t);
    }
    expect(r.consumption_Wh_per_km).toBeCloseTo(250.0, 0);
  });
  it("floors the consumption used for the range on a long descent", () => {
    const r = new RangeEstimator(1.0, 150.0, 50.0);
    let t: i64 = 0;
    r.update(-20000.0, 80.0, t);
    for (let k = 0; k < 6000; k++) {
      t += 100;
      r.update(-20000.0, 80.0, t);
    }
    expect(r.consumption_Wh_per_km).toBeLessThan(0.0);
    expect(r.range_km(10000.0)).toBeCloseTo(200.0, 3);
  });
});
