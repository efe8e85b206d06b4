import { BalanceGuards, BalanceModules, BalanceStatus } from "../../../assembly/balancing/modules";
import { VoltagePlanner, VoltagePlannerConfig } from "../../../assembly/balancing/voltage";
import { BLEED_CHARGE_MAX_Ah } from "../../../assembly/balancing/commands";
import { uniformModules, refresh } from "./fixture";

const REST_ms: i64 = 600000;

function step(p: VoltagePlanner, m: BalanceModules, current_A: f32, now_ms: i64): i32 {
  refresh(m, now_ms);
  return p.update(m, current_A, now_ms);
}

describe("voltage-based baseline planner", () => {
  it("bleeds nothing until the pack has rested for the relaxation period", () => {
    const m = uniformModules(6, 0.5, 5.0);
    m.voltage_V[2] = 3.73;
    const p = new VoltagePlanner(new VoltagePlannerConfig(), new BalanceGuards());
    expect(step(p, m, 20.0, 0)).toBe(BalanceStatus.NOT_AT_REST);
    expect(step(p, m, 0.1, 1000)).toBe(BalanceStatus.NOT_AT_REST);
    expect(step(p, m, 0.1, 1000 + REST_ms - 100)).toBe(BalanceStatus.NOT_AT_REST);
    expect(p.bleed[2]).toBe(false);
    expect(step(p, m, 0.1, 1000 + REST_ms)).toBe(BalanceStatus.BLEEDING);
    for (let i = 0; i < 6; i++) expect(p.bleed[i]).toBe(i == 2);
    expect(p.charge_Ah[2]).toBe(BLEED_CHARGE_MAX_Ah);
    // A current step ends the rest at once, and the relaxation starts over.
    expect(step(p, m, -5.0, 2000 + REST_ms)).toBe(BalanceStatus.NOT_AT_REST);
    expect(p.bleed[2]).toBe(false);
    expect(step(p, m, 0.0, 3000 + REST_ms)).toBe(BalanceStatus.NOT_AT_REST);
    expect(p.restSince_ms).toBe(3000 + REST_ms);
  });

  it("starts above threshold + hysteresis, then bleeds every module above the bare threshold", () => {
    const m = uniformModules(5, 0.5, 5.0);
    m.voltage_V[0] = 3.700;
    m.voltage_V[1] = 3.712; // +12 mV: above 10, below 15
    const p = new VoltagePlanner(new VoltagePlannerConfig(), new BalanceGuards());
    step(p, m, 0.0, 0);
    expect(step(p, m, 0.0, REST_ms)).toBe(BalanceStatus.BALANCED);
    expect(p.activeThreshold_V).toBeCloseTo(0.015, 6);
    m.voltage_V[3] = 3.720; // +20 mV starts it
    step(p, m, 0.0, REST_ms + 100);
    expect(p.bleed[3]).toBe(true);
    expect(p.bleed[1]).toBe(false);
    expect(p.activeThreshold_V).toBeCloseTo(0.010, 6);
    step(p, m, 0.0, REST_ms + 200);
    expect(p.bleed[1]).toBe(true);
    expect(p.bleed[3]).toBe(true);
    expect(p.bleedingCount).toBe(2);
    // Down to the threshold: both stop, and the hysteresis is back.
    m.voltage_V[1] = 3.709;
    m.voltage_V[3] = 3.705;
    expect(step(p, m, 0.0, REST_ms + 300)).toBe(BalanceStatus.BALANCED);
    expect(p.activeThreshold_V).toBeCloseTo(0.015, 6);
    m.voltage_V[1] = 3.712;
    step(p, m, 0.0, REST_ms + 400);
    expect(p.bleed[1]).toBe(false);
  });

  it("equalises voltage, blind to capacity", () => {
    // The mixed pack the SOC planner leaves alone (10 Ah at 50 %, 5 Ah at 40 %): the baseline sees
    // the 10 Ah module's higher voltage and bleeds it.
    const m = uniformModules(2, 0.5, 10.0);
    m.states.soc[1] = 0.4;
    m.states.capacity_Ah[1] = 5.0;
    m.voltage_V[0] = 3.70;
    m.voltage_V[1] = 3.62;
    const p = new VoltagePlanner(new VoltagePlannerConfig(), new BalanceGuards());
    step(p, m, 0.0, 0);
    step(p, m, 0.0, REST_ms);
    expect(p.bleed[0]).toBe(true);
  });

  it("stops on stale or invalid data, and keeps the voltage and temperature guards", () => {
    const m = uniformModules(4, 0.5, 5.0);
    m.voltage_V[1] = 3.75;
    const p = new VoltagePlanner(new VoltagePlannerConfig(), new BalanceGuards());
    step(p, m, 0.0, 0);
    step(p, m, 0.0, REST_ms);
    expect(p.bleed[1]).toBe(true);
    m.states.valid[3] = false;
    expect(step(p, m, 0.0, REST_ms + 100)).toBe(BalanceStatus.DATA_INCOMPLETE);
    expect(p.bleed[1]).toBe(false);
    m.states.valid[3] = true;
    refresh(m, REST_ms + 100);
    m.updated_ms[2] = REST_ms - 5000;
    expect(p.update(m, 0.0, REST_ms + 200)).toBe(BalanceStatus.DATA_INCOMPLETE);
    // No SOC estimate needed: a NaN SOC does not stop it.
    m.states.soc[0] = NaN;
    expect(step(p, m, 0.0, REST_ms + 300)).toBe(BalanceStatus.BLEEDING);
    // Hot module: held back.
    m.states.temperature_C[1] = 50.0;
    expect(step(p, m, 0.0, REST_ms + 400)).toBe(BalanceStatus.GUARDED);
    expect(p.bleed[1]).toBe(false);
    // Every module under the voltage floor (2.6 V): none bleeds.
    m.states.temperature_C[1] = 25.0;
    for (let i = 0; i < 4; i++) m.voltage_V[i] = 2.5;
    m.voltage_V[1] = 2.58;
    step(p, m, 0.0, REST_ms + 500);
    expect(p.bleed[1]).toBe(false);
  });
});
