// Every protection fault provoked by a scenario fault, with its reaction and its latency from the
// first sample that shows it (bench/protection.ts runs the same cases for BENCHMARKS.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../../host/sim.ts";
import { FAULT_CASES, FaultType, OPEN_LEVEL, diagnosticCode, runFaultCase } from "../../../bench/protection.ts";
import { packScenario, controllerFaults } from "./rig.ts";

const BmsState = { STANDBY: 1, CONNECTED: 3, FAULT: 5 };
const ContactorState = { OPEN: 0, CLOSED: 4, FAULT: 7 };

for (const c of FAULT_CASES) {
  test(`${c.name}: contactors open within ${c.budget_ms} ms (${c.cause})`, () => {
    const run = runFaultCase(c);
    const sim = run.sim;
    const ctl = sim.controller.exports;
    assert.ok(run.connectedBefore, "the pack was connected when the fault appeared");
    assert.ok(!Number.isNaN(run.t0_ms), "the fault showed");
    const detected = run.detected_ms - run.t0_ms;
    const opened = run.opened_ms - run.t0_ms;
    assert.ok(detected >= 0 && detected <= c.budget_ms, `detected after ${detected} ms`);
    assert.ok(opened >= detected - 100 && opened <= c.budget_ms, `contactors broke the current ${opened} ms after the fault showed`);
    // Reaction: OPEN latched, the pack disconnected and reported as FAULT, nothing advertised.
    assert.equal(ctl.faultLevel(c.fault), OPEN_LEVEL);
    assert.equal(ctl.bmsState(), BmsState.FAULT);
    assert.equal(sim.contactors.mainsClosed(), false);
    assert.equal(ctl.maxDischargeCurrent_A(0), 0);
    assert.equal(ctl.maxChargeCurrent_A(0), 0);
    assert.deepEqual(sim.contactors.damageEvents, []);
    const code = diagnosticCode(c.fault, OPEN_LEVEL);
    assert.ok(controllerFaults(sim, "PROTECTION_OPEN").some((r) => r.detail === code), `PROTECTION_OPEN 0x${code.toString(16)} reported`);
    // The vehicle sees it too, as decoded from BMS_Faults with the DBC.
    assert.equal(sim.vehicle.signal("BMS_Faults", "HighestFaultLevel"), OPEN_LEVEL);
    assert.equal(sim.vehicle.signal("BMS_PackStatus", "BmsState"), BmsState.FAULT);
    assert.equal(sim.controller.heapGrowthSinceInit(), 0);
    assert.equal(sim.controller.trap, null);
    if (c.fault === FaultType.CONTACTOR_WELDED) {
      assert.equal(ctl.contactorWeldedMask() & 1, 1, "positive reported welded");
      assert.equal(ctl.contactorState(), ContactorState.FAULT);
      assert.ok(sim.contactors.positive.closed && !sim.contactors.negative.closed, "the negative isolates the pack");
      assert.equal(sim.vehicle.signal("BMS_ContactorStatus", "WeldedPositive"), 1);
    }
  });
}

test("a latched OPEN survives the value's return and clears only on the vehicle's reset request", () => {
  // Under-voltage from a 1C step on an empty pack; the load ends at 3 s, the cells relax above
  // 2.52 V; the vehicle asks for a reset at 5 s.
  const sim = new Simulation(packScenario({
    pack: { modules: 4, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.002 },
    load: [{ type: "rest", duration_s: 2 }, { type: "current", current_A: 10, duration_s: 1 }, { type: "rest", duration_s: 5 }],
    vehicle: [{ at_s: 5, faultReset: true }],
    duration_s: 8,
  }));
  const c = sim.controller.exports;
  let latchedAt4s = -1;
  sim.run((s) => { if (Math.abs(s.time_s - 4.5) < 1e-6) latchedAt4s = c.faultLevel(FaultType.UNDER_VOLTAGE); });
  assert.equal(latchedAt4s, OPEN_LEVEL, "still latched with the value back inside before the reset");
  assert.ok(c.faultLevel(FaultType.UNDER_VOLTAGE) < OPEN_LEVEL, "released by the reset");
  assert.equal(c.bmsState(), BmsState.CONNECTED, "the pack reconnects: the vehicle still asks for it");
  assert.ok(sim.contactors.mainsClosed());
  assert.equal(controllerFaults(sim, "PROTECTION_OPEN").length, 1);
});
