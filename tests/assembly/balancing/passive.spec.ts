import { BalanceGuards, BalanceModules, BalanceStatus } from "../../../assembly/balancing/modules";
import { PassivePlanner, PassivePlannerConfig } from "../../../assembly/balancing/passive";
import { uniformModules, setCharge, refresh, Noise } from "./fixture";

const TICK_ms: i64 = 100;

function planner(): PassivePlanner {
  const config = new PassivePlannerConfig();
  config.bleedResistance_Ohm = 33.0;
  return new PassivePlanner(config, new BalanceGuards());
}

/** Runs the planner every tick from from_ms to to_ms (inclusive), refreshing the estimates; returns the last status. */
function run(p: PassivePlanner, m: BalanceModules, from_ms: i64, to_ms: i64): i32 {
  let status = 0;
  for (let t = from_ms; t <= to_ms; t += TICK_ms) {
    refresh(m, t);
    status = p.update(m, 0.0, t);
  }
  return status;
}

describe("SOC-based passive planner", () => {
  it("does not bleed equal modules", () => {
    const m = uniformModules(12, 0.6, 5.0);
    const p = planner();
    expect(run(p, m, 0, 10000)).toBe(BalanceStatus.BALANCED);
    for (let i = 0; i < 12; i++) {
      expect(p.bleed[i]).toBe(false);
      expect(p.targetBleed_Ah[i]).toBe(0.0);
    }
    expect(p.usableBefore_Ah).toBeCloseTo(5.0, 5);
    expect(p.usableAfter_Ah).toBeCloseTo(5.0, 5);
  });

  it("bleeds only the high module, by its excess, after the start confirmation", () => {
    const m = uniformModules(12, 0.5, 5.0);
    for (let i = 0; i < 12; i++) m.socSigma[i] = 0.005;
    setCharge(m, 7, 0.6, 5.0);
    const p = planner();
    run(p, m, 0, 4900);
    expect(p.bleed[7]).toBe(false);
    run(p, m, 5000, 5000);
    for (let i = 0; i < 12; i++) expect(p.bleed[i]).toBe(i == 7);
    // Equal capacities: the excess is the charge above the emptiest module, 0.1 x 5 = 0.5 Ah.
    expect(p.targetBleed_Ah[7]).toBeCloseTo(0.5, 5);
    // sigma_e = sqrt(2) x 5 Ah x 0.005; the node is sent the excess less 0.5 sigma_e.
    const sigma: f32 = Mathf.sqrt(2.0) * 5.0 * 0.005;
    expect(p.excessSigma_Ah[7]).toBeCloseTo(sigma, 5);
    expect(p.charge_Ah[7]).toBeCloseTo(0.5 - 0.5 * sigma, 5);
    expect(p.duty[7]).toBe(1.0);
    expect(p.bleedingCount).toBe(1);
    expect(p.status).toBe(BalanceStatus.BLEEDING);
    // D = 2.5, C = 2.0 now; 2.5 + 2.5 once the bleed is done (up to the stop level).
    expect(p.usableBefore_Ah).toBeCloseTo(4.5, 5);
    expect(p.usableAfter_Ah).toBeCloseTo(5.0 - 0.5 * sigma, 4);
    // 33 ohm at 3.7 V: 0.1121 A; the command takes charge x 3600 / 0.1121 s.
    expect(p.remainingTime_s).toBeCloseTo(p.charge_Ah[7] * 3600.0 / (3.7 / 33.0), 0);
  });

  it("targets the maximum usable capacity with mixed capacities, not equal SOC (by hand)", () => {
    // A: 10 Ah at 0.9 (q 9, r 1); B: 5 Ah at 0.4 (q 2, r 3). D = 2, Q_min = 5, C* = 3:
    // A bleeds C* - r_A = 2 Ah (to SOC 0.7), B nothing. U goes from 2 + 1 = 3 Ah to 5 Ah.
    // Equal SOC would bleed A by 5 Ah and equal charge (bottom balancing) by 7 Ah.
    const m = uniformModules(2, 0.9, 10.0);
    setCharge(m, 1, 0.4, 5.0);
    const p = planner();
    run(p, m, 0, 5000);
    expect(p.dischargeable_Ah).toBeCloseTo(2.0, 5);
    expect(p.minCapacity_Ah).toBeCloseTo(5.0, 5);
    expect(p.chargeableTarget_Ah).toBeCloseTo(3.0, 5);
    expect(p.targetBleed_Ah[0]).toBeCloseTo(2.0, 5);
    expect(p.targetBleed_Ah[1]).toBe(0.0);
    expect(p.bleed[0]).toBe(true);
    expect(p.bleed[1]).toBe(false);
    expect(p.charge_Ah[0]).toBeCloseTo(2.0, 5);
    expect(p.usableBefore_Ah).toBeCloseTo(3.0, 5);
    expect(p.usableAfter_Ah).toBeCloseTo(5.0, 5);
    // A: 10 Ah at 0.3 (q 3, r 7); B: 5 Ah at 0.8 (q 4, r 1). D = 3, C* = 2: B bleeds 1 Ah
    // (equal SOC would take 2.5 Ah from it); U from 3 + 1 = 4 to 5 Ah.
    setCharge(m, 0, 0.3, 10.0);
    setCharge(m, 1, 0.8, 5.0);
    run(p, m, 5100, 10100);
    expect(p.targetBleed_Ah[0]).toBe(0.0);
    expect(p.targetBleed_Ah[1]).toBeCloseTo(1.0, 5);
    expect(p.bleed[0]).toBe(false);
    expect(p.bleed[1]).toBe(true);
    expect(p.usableBefore_Ah).toBeCloseTo(4.0, 5);
    expect(p.usableAfter_Ah).toBeCloseTo(5.0, 5);
  });

  it("leaves mixed capacities alone when they already give the maximum, whatever their SOCs", () => {
    // A: 10 Ah at 0.5 (q 5, r 5); B: 5 Ah at 0.4 (q 2, r 3): U = 2 + 3 = 5 = Q_min already.
    // Equal SOC would bleed A by 1 Ah, bottom balancing by 3 Ah: both for nothing.
    const m = uniformModules(2, 0.5, 10.0);
    setCharge(m, 1, 0.4, 5.0);
    const p = planner();
    expect(run(p, m, 0, 10000)).toBe(BalanceStatus.BALANCED);
    expect(p.targetBleed_Ah[0]).toBe(0.0);
    expect(p.bleed[0]).toBe(false);
    expect(p.usableBefore_Ah).toBeCloseTo(5.0, 5);
  });

  it("holds its deadband on noisy SOC estimates and still acts on a real excess", () => {
    const m = uniformModules(12, 0.5, 5.0);
    for (let i = 0; i < 12; i++) m.socSigma[i] = 0.01;
    const p = planner();
    const noise = new Noise(12345);
    let everBled = false;
    // 20 minutes of ticks; every estimate redrawn each tick with its reported sigma (white noise).
    for (let t: i64 = 0; t <= 1200000; t += TICK_ms) {
      for (let i = 0; i < 12; i++) m.states.soc[i] = 0.5 + 0.01 * noise.gaussian();
      refresh(m, t);
      p.update(m, 0.0, t);
      for (let i = 0; i < 12; i++) if (p.bleed[i]) everBled = true;
    }
    expect(everBled).toBe(false);
    // One module 10 % high (0.5 Ah, about 7 sigma_e): it bleeds, and only it.
    let bledHigh = false;
    let bledOther = false;
    for (let t: i64 = 1200100; t <= 1260000; t += TICK_ms) {
      for (let i = 0; i < 12; i++) m.states.soc[i] = (i == 3 ? <f32>0.6 : <f32>0.5) + 0.01 * noise.gaussian();
      refresh(m, t);
      p.update(m, 0.0, t);
      for (let i = 0; i < 12; i++) {
        if (p.bleed[i] && i == 3) bledHigh = true;
        if (p.bleed[i] && i != 3) bledOther = true;
      }
    }
    expect(bledHigh).toBe(true);
    expect(bledOther).toBe(false);
  });

  it("never commands a module below the minimum SOC or voltage", () => {
    // Pack near empty: one module at 0.15, the rest at 0.02. Its excess is 0.65 Ah, but only
    // (0.15 - 0.10) x 5 = 0.25 Ah lies above the 10 % floor.
    const m = uniformModules(4, 0.02, 5.0);
    setCharge(m, 2, 0.15, 5.0);
    const p = planner();
    run(p, m, 0, 5000);
    expect(p.targetBleed_Ah[2]).toBeCloseTo(0.65, 5);
    expect(p.bleed[2]).toBe(true);
    expect(p.charge_Ah[2]).toBeCloseTo(0.25, 5);
    // Below the floor: no bleed at all, reported as guarded.
    setCharge(m, 2, 0.08, 5.0);
    run(p, m, 5100, 11000);
    expect(p.bleed[2]).toBe(false);
    expect(p.status & BalanceStatus.GUARDED).toBe(BalanceStatus.GUARDED);
    // Above the SOC floor but under the voltage floor (2.6 V): none either.
    setCharge(m, 2, 0.3, 5.0);
    m.voltage_V[2] = 2.55;
    run(p, m, 11100, 20000);
    expect(p.bleed[2]).toBe(false);
    m.voltage_V[2] = 3.7;
    run(p, m, 20100, 26000);
    expect(p.bleed[2]).toBe(true);
  });

  it("stops everything on stale or invalid data", () => {
    const m = uniformModules(6, 0.5, 5.0);
    setCharge(m, 0, 0.7, 5.0);
    const p = planner();
    run(p, m, 0, 5000);
    expect(p.bleed[0]).toBe(true);
    // Module 4's estimate stops arriving: after 3 s it is stale, and the reference with it.
    let status = 0;
    for (let t: i64 = 5100; t <= 8200; t += TICK_ms) {
      refresh(m, t);
      m.updated_ms[4] = 5000;
      status = p.update(m, 0.0, t);
    }
    expect(status).toBe(BalanceStatus.DATA_INCOMPLETE);
    for (let i = 0; i < 6; i++) expect(p.bleed[i]).toBe(false);
    // Back, then invalid; then a NaN sigma.
    run(p, m, 8300, 13300);
    expect(p.bleed[0]).toBe(true);
    m.states.valid[5] = false;
    expect(p.update(m, 0.0, 13300)).toBe(BalanceStatus.DATA_INCOMPLETE);
    expect(p.bleed[0]).toBe(false);
    m.states.valid[5] = true;
    m.socSigma[1] = NaN;
    expect(p.update(m, 0.0, 13300)).toBe(BalanceStatus.DATA_INCOMPLETE);
    expect(uniformModules(0, 0.5, 5.0).count).toBe(0);
    expect(p.update(uniformModules(0, 0.5, 5.0), 0.0, 0)).toBe(BalanceStatus.NO_MODULES);
  });

  it("stops once the excess is down to the stop level", () => {
    const m = uniformModules(3, 0.5, 5.0);
    for (let i = 0; i < 3; i++) m.socSigma[i] = 0.002;
    setCharge(m, 1, 0.52, 5.0);
    const p = planner();
    run(p, m, 0, 5000);
    expect(p.bleed[1]).toBe(true);
    // The bleed goes on below the start threshold (2 sigma_e + floor = 0.030 Ah) ...
    setCharge(m, 1, 0.504, 5.0);
    run(p, m, 5100, 5100);
    expect(p.bleed[1]).toBe(true);
    // ... and stops at 0.5 sigma_e = 0.0071 Ah.
    setCharge(m, 1, 0.5012, 5.0);
    run(p, m, 5200, 5200);
    expect(p.bleed[1]).toBe(false);
  });

  it("does not allocate per update", () => {
    const m = uniformModules(256, 0.5, 5.0);
    setCharge(m, 100, 0.7, 5.0);
    const p = planner();
    p.update(m, 0.0, 0);
    const before = heap.alloc(0);
    heap.free(before);
    run(p, m, 0, 10000);
    const after = heap.alloc(0);
    heap.free(after);
    expect(after).toBe(before);
    expect(p.bleed[100]).toBe(true);
  });
});
