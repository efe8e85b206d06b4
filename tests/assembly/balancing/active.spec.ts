import { BalanceGuards, BalanceModules, BalanceStatus } from "../../../assembly/balancing/modules";
import { ActivePlanner, ActivePlannerConfig } from "../../../assembly/balancing/active";
import { uniformModules, setCharge, refresh, Noise } from "./fixture";

const ETA: f32 = 0.92;
const P_MAX_W: f32 = 36.0;
const V: f32 = 3.7;

function planner(bleedResistance_Ohm: f32): ActivePlanner {
  const config = new ActivePlannerConfig();
  config.bleedResistance_Ohm = bleedResistance_Ohm;
  config.startConfirm_ms = 0;
  return new ActivePlanner(config, new BalanceGuards());
}

/** eta sum(P+) - sum(P-) / eta, and the largest |P|. */
function busBalance(p: ActivePlanner, n: i32): f32 {
  let into: f32 = 0.0;
  let out: f32 = 0.0;
  for (let i = 0; i < n; i++) {
    const w = p.power_W[i];
    if (w > 0) into += ETA * w;
    else out -= w / ETA;
  }
  return into - out;
}
function largestPower(p: ActivePlanner, n: i32): f32 {
  let largest: f32 = 0.0;
  for (let i = 0; i < n; i++) largest = Mathf.max(largest, Mathf.abs(p.power_W[i]));
  return largest;
}

class ClosedLoop {
  seconds: i32 = -1;
  worstResidual_W: f32 = 0.0;
  worstPower_W: f32 = 0.0;
  bled_Ah: f32 = 0.0;
}

/**
 * Modules as integrators: each second the planner plans, every converter holds its power for 1 s
 * (dq = -P dt / V) and every commanded bleed runs at V / R until its charge is out. voltageOf:
 * 0 = constant V, 1 = linear OCV 3.4 + 0.7 SOC. Returns when the planner stops transferring.
 */
function closedLoop(p: ActivePlanner, m: BalanceModules, bleedResistance_Ohm: f32, ocv: i32, limit_s: i32): ClosedLoop {
  const result = new ClosedLoop();
  const n = m.count;
  for (let s = 0; s <= limit_s; s++) {
    if (ocv == 1) for (let i = 0; i < n; i++) m.voltage_V[i] = 3.4 + 0.7 * m.states.soc[i];
    refresh(m, <i64>s * 1000);
    p.update(m, 0.0, <i64>s * 1000);
    if (s > 0 && !p.transferring) {
      result.seconds = s;
      return result;
    }
    result.worstResidual_W = Mathf.max(result.worstResidual_W, Mathf.abs(busBalance(p, n)));
    result.worstPower_W = Mathf.max(result.worstPower_W, largestPower(p, n));
    for (let i = 0; i < n; i++) {
      const voltage = m.voltage_V[i];
      let q = m.states.soc[i] * m.states.capacity_Ah[i];
      q -= p.power_W[i] / (voltage * 3600.0);
      if (p.bleedShare.bleed[i]) {
        const bleed = Mathf.min(p.bleedShare.charge_Ah[i], voltage / bleedResistance_Ohm / 3600.0);
        q -= bleed;
        result.bled_Ah += bleed;
      }
      m.states.soc[i] = q / m.states.capacity_Ah[i];
    }
  }
  return result;
}

describe("active planner", () => {
  it("commands nothing for a balanced pack, mixed capacities included", () => {
    const m = uniformModules(8, 0.5, 5.0);
    const p = planner(NaN);
    refresh(m, 0);
    expect(p.update(m, 0.0, 0)).toBe(BalanceStatus.BALANCED);
    expect(p.transferring).toBe(false);
    expect(p.time_s).toBe(0.0);
    for (let i = 0; i < 8; i++) expect(p.power_W[i]).toBe(0.0);
    // 10 Ah at 0.5 beside 5 Ah at 0.4 already gives U = 5 Ah: nothing to move.
    const mixed = uniformModules(2, 0.5, 10.0);
    setCharge(mixed, 1, 0.4, 5.0);
    expect(p.update(mixed, 0.0, 0)).toBe(BalanceStatus.BALANCED);
  });

  it("balances the bus within the converter limits, the binding converter at its limit", () => {
    const m = uniformModules(12, 0.5, 5.0);
    const noise = new Noise(7);
    for (let i = 0; i < 12; i++) setCharge(m, i, 0.5 + 0.08 * noise.gaussian(), 4.5 + 1.0 * noise.uniform());
    const p = planner(NaN);
    refresh(m, 0);
    expect(p.update(m, 0.0, 0) & BalanceStatus.TRANSFERRING).toBe(BalanceStatus.TRANSFERRING);
    expect(Mathf.abs(busBalance(p, 12))).toBeLessThan(1.0e-3);
    expect(Mathf.abs(p.busResidual_W)).toBeLessThan(1.0e-3);
    expect(largestPower(p, 12)).toBeLessThanOrEqual(P_MAX_W * 1.00001);
    expect(largestPower(p, 12)).toBeGreaterThan(P_MAX_W * 0.999);
    // Losses are what the bus does not pass on: sum of terminal powers = (1 - eta^2) of the delivered.
    let delivered: f32 = 0.0;
    for (let i = 0; i < 12; i++) if (p.power_W[i] > 0) delivered += p.power_W[i];
    expect(p.converterLoss_W).toBeCloseTo(delivered * (1.0 - ETA * ETA), 2);
    expect(p.usableAfter_Ah).toBeGreaterThan(p.usableBefore_Ah);
  });

  it("reaches the target in closed loop within 1.25x of the analytic minimum (equal capacities)", () => {
    // q = 3.0, 2.5, 2.5, 2.0 Ah on 5 Ah. Level d from eta^2 (sum above d) = (sum below d):
    // 0.8464 (8 - 3d) = d - 2, d = 8.7712 / 3.5392 = 2.4783 Ah. The farthest module moves
    // 0.5217 Ah = 0.5217 x 3600 x 3.7 J at 36 W: T = 193.0 s.
    const m = uniformModules(4, 0.5, 5.0);
    setCharge(m, 0, 0.6, 5.0);
    setCharge(m, 3, 0.4, 5.0);
    const eta2: f32 = ETA * ETA;
    const level: f32 = (8.0 * eta2 + 2.0) / (1.0 + 3.0 * eta2);
    const minimum_s: f32 = (3.0 - level) * 3600.0 * V / P_MAX_W;
    expect(minimum_s).toBeCloseTo(193.0, 0);
    const p = planner(NaN);
    refresh(m, 0);
    p.update(m, 0.0, 0);
    expect(p.level_Ah).toBeCloseTo(level, 2);
    expect(p.time_s).toBeCloseTo(minimum_s, -1);
    const loop = closedLoop(p, m, NaN, 0, 2000);
    expect(loop.seconds).toBeGreaterThan(0);
    expect(<f32>loop.seconds).toBeLessThanOrEqual(1.25 * minimum_s);
    // In fact within one plan period of it.
    expect(<f32>loop.seconds).toBeLessThanOrEqual(minimum_s + 1.0);
    expect(<f32>loop.seconds).toBeGreaterThanOrEqual(0.95 * minimum_s);
    expect(loop.worstResidual_W).toBeLessThan(1.0e-3);
    expect(loop.worstPower_W).toBeLessThanOrEqual(P_MAX_W * 1.00001);
    for (let i = 0; i < 4; i++) expect(m.states.soc[i] * 5.0).toBeCloseTo(level, 2);
  });

  it("reaches the maximum usable capacity in closed loop within 1.25x of the minimum (mixed capacities)", () => {
    // A: 10 Ah holding 9 Ah; B: 5 Ah holding 2 Ah. Target: B at d, A in [d, d + 5].
    // A gives a, B gets eta^2 a: 2 + eta^2 a = d and 9 - a <= d + 5, so a >= 2 / (1 + eta^2);
    // A's converter binds: T = 2 / (1 + eta^2) x 3600 x 3.7 / 36 = 400.8 s.
    const m = uniformModules(2, 0.9, 10.0);
    setCharge(m, 1, 0.4, 5.0);
    const minimum_s: f32 = 2.0 / (1.0 + ETA * ETA) * 3600.0 * V / P_MAX_W;
    expect(minimum_s).toBeCloseTo(400.8, 0);
    const p = planner(NaN);
    const loop = closedLoop(p, m, NaN, 0, 2000);
    expect(<f32>loop.seconds).toBeLessThanOrEqual(1.25 * minimum_s);
    expect(<f32>loop.seconds).toBeLessThanOrEqual(minimum_s + 1.0);
    expect(<f32>loop.seconds).toBeGreaterThanOrEqual(0.95 * minimum_s);
    // U = D + C reaches Q_min = 5 Ah (within the stop deadband).
    const q0 = m.states.soc[0] * 10.0;
    const q1 = m.states.soc[1] * 5.0;
    const usable = Mathf.min(q0, q1) + Mathf.min(10.0 - q0, 5.0 - q1);
    expect(usable).toBeGreaterThan(4.998);
  });

  it("keeps within 1.25x of its initial minimum with voltages that follow the SOC", () => {
    const m = uniformModules(12, 0.5, 5.0);
    const noise = new Noise(99);
    for (let i = 0; i < 12; i++) setCharge(m, i, 0.5 + 0.05 * noise.gaussian(), 4.6 + 0.8 * noise.uniform());
    for (let i = 0; i < 12; i++) m.voltage_V[i] = 3.4 + 0.7 * m.states.soc[i];
    const p = planner(NaN);
    refresh(m, 0);
    p.update(m, 0.0, 0);
    const planned = p.time_s;
    expect(planned).toBeGreaterThan(20.0);
    const loop = closedLoop(p, m, NaN, 1, 5000);
    expect(loop.seconds).toBeGreaterThan(0);
    expect(<f32>loop.seconds).toBeLessThanOrEqual(1.25 * planned);
    expect(<f32>loop.seconds).toBeLessThanOrEqual(1.02 * planned + 1.0);
    expect(loop.worstResidual_W).toBeLessThan(1.0e-3);
    let smallest: f32 = Infinity;
    let dischargeable: f32 = Infinity;
    let chargeable: f32 = Infinity;
    for (let i = 0; i < 12; i++) {
      const capacity = m.states.capacity_Ah[i];
      const q = m.states.soc[i] * capacity;
      smallest = Mathf.min(smallest, capacity);
      dischargeable = Mathf.min(dischargeable, q);
      chargeable = Mathf.min(chargeable, capacity - q);
    }
    expect(dischargeable + chargeable).toBeGreaterThan(smallest - 0.004);
  });

  it("splits the work with the bleed resistors: the donor also bleeds, and it is a little faster", () => {
    const m = uniformModules(2, 0.9, 10.0);
    setCharge(m, 1, 0.4, 5.0);
    const alone = planner(NaN);
    refresh(m, 0);
    alone.update(m, 0.0, 0);
    const combined = planner(33.0);
    combined.update(m, 0.0, 0);
    expect(combined.time_s).toBeLessThan(alone.time_s);
    expect(combined.bleedShare.bleed[0]).toBe(true);
    expect(combined.bleedShare.bleed[1]).toBe(false);
    // At most what the bleed does over the plan: T V^2 / R / V = T x 3.7 / 33 / 3600 Ah.
    expect(combined.bleedShare.charge_Ah[0]).toBeLessThanOrEqual(combined.time_s * 3.7 / 33.0 / 3600.0 * 1.0001);
    expect(Mathf.abs(busBalance(combined, 2))).toBeLessThan(1.0e-3);
    // In closed loop it finishes no later than the converters alone could, and bleeds a little.
    const loop = closedLoop(combined, m, 33.0, 0, 2000);
    expect(<f32>loop.seconds).toBeLessThanOrEqual(alone.time_s + 1.0);
    expect(loop.bled_Ah).toBeGreaterThan(0.0);
    expect(loop.bled_Ah).toBeLessThan(0.05);
  });

  it("falls back on the bleeds when a receiver may not charge, and reports an unreachable target without them", () => {
    // The emptiest module reads above the charge voltage limit (4.1 V): it may not absorb.
    const m = uniformModules(3, 0.5, 5.0);
    setCharge(m, 0, 0.4, 5.0);
    setCharge(m, 2, 0.6, 5.0);
    m.voltage_V[0] = 4.15;
    const alone = planner(NaN);
    refresh(m, 0);
    const status = alone.update(m, 0.0, 0);
    expect(status & BalanceStatus.INFEASIBLE).toBe(BalanceStatus.INFEASIBLE);
    expect(status & BalanceStatus.GUARDED).toBe(BalanceStatus.GUARDED);
    expect(largestPower(alone, 3)).toBe(0.0);
    const combined = planner(33.0);
    expect(combined.update(m, 0.0, 0) & BalanceStatus.BLEEDING).toBe(BalanceStatus.BLEEDING);
    expect(combined.power_W[0]).toBeLessThanOrEqual(0.0);
    expect(combined.power_W[0]).toBeGreaterThanOrEqual(0.0);
    expect(combined.bleedShare.bleed[2]).toBe(true);
    // A failed converter (limit 0) on the donor: the bleed takes over its share.
    m.voltage_V[0] = V;
    combined.converterLimit_W[2] = 0.0;
    combined.update(m, 0.0, 0);
    expect(combined.power_W[2]).toBe(0.0);
    expect(combined.bleedShare.bleed[2]).toBe(true);
  });

  it("stops everything on stale or invalid data", () => {
    const m = uniformModules(4, 0.5, 5.0);
    setCharge(m, 0, 0.7, 5.0);
    const p = planner(33.0);
    refresh(m, 0);
    expect(p.update(m, 0.0, 0) & BalanceStatus.TRANSFERRING).toBe(BalanceStatus.TRANSFERRING);
    expect(p.power_W[0]).toBeGreaterThan(0.0);
    expect(p.update(m, 0.0, 3100)).toBe(BalanceStatus.DATA_INCOMPLETE);
    expect(p.transferring).toBe(false);
    for (let i = 0; i < 4; i++) {
      expect(p.power_W[i]).toBe(0.0);
      expect(p.bleedShare.bleed[i]).toBe(false);
    }
    refresh(m, 3100);
    m.states.valid[2] = false;
    expect(p.update(m, 0.0, 3100)).toBe(BalanceStatus.DATA_INCOMPLETE);
  });

  it("waits out the start confirmation and the deadband on noisy SOC", () => {
    const m = uniformModules(8, 0.5, 5.0);
    for (let i = 0; i < 8; i++) m.socSigma[i] = 0.01;
    const config = new ActivePlannerConfig();
    const p = new ActivePlanner(config, new BalanceGuards());
    const noise = new Noise(3);
    let ever = false;
    for (let t: i64 = 0; t <= 600000; t += 100) {
      for (let i = 0; i < 8; i++) m.states.soc[i] = 0.5 + 0.01 * noise.gaussian();
      refresh(m, t);
      p.update(m, 0.0, t);
      if (p.transferring) ever = true;
    }
    expect(ever).toBe(false);
  });

  it("plans 256 modules without allocating", () => {
    const m = uniformModules(256, 0.5, 5.0);
    const noise = new Noise(11);
    for (let i = 0; i < 256; i++) setCharge(m, i, 0.5 + 0.05 * noise.gaussian(), 4.5 + noise.uniform());
    const p = planner(33.0);
    refresh(m, 0);
    p.update(m, 0.0, 0);
    const before = heap.alloc(0);
    heap.free(before);
    for (let t: i64 = 100; t <= 2000; t += 100) {
      refresh(m, t);
      p.update(m, 0.0, t);
    }
    const after = heap.alloc(0);
    heap.free(after);
    expect(after).toBe(before);
    expect(p.transferring).toBe(true);
    expect(Mathf.abs(busBalance(p, 256))).toBeLessThan(1.0e-2);
    expect(largestPower(p, 256)).toBeLessThanOrEqual(P_MAX_W * 1.00001);
  });
});
