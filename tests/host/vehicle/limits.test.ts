// A scenario's inverter and charger that respect the BMS limits (scenario "limits": "respected"):
// the pack current stays within BMS_ChargeLimits / BMS_DischargeLimits, nothing flows before the
// limits arrive, and a nearly full pack charged hard is held at the over-voltage warning level (the
// voltage the state of power plans for), below derate and open.
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { Simulation } from "../../../host/sim.ts";

function fullPackCharged(limits: "ignored" | "respected"): { sim: Simulation; worstExcess_A: number; currentBeforeLimits_A: number; maxVoltage_V: number } {
  const sim = new Simulation(validateScenario({
    name: "limits", seed: 5, limits,
    pack: { modules: 3, model: "ecm", cell: "lg-inr21700-m50", parallel: 1, initialSoc: 0.9 },
    load: [{ type: "current", cRate: -2, duration_s: 20 }],
  }, "limits"));
  let worstExcess_A = 0;
  let currentBeforeLimits_A = 0;
  let maxVoltage_V = 0;
  sim.run((s) => {
    const limit = s.vehicle.signal("BMS_ChargeLimits", "MaxChargeCurrent2s");
    const charge_A = -s.plant.packCurrent_A();
    if (Number.isNaN(limit)) currentBeforeLimits_A = Math.max(currentBeforeLimits_A, Math.abs(charge_A));
    // The limit that applied to this step is the one received before it: allow one frame's change.
    else worstExcess_A = Math.max(worstExcess_A, charge_A - limit);
    for (let i = 0; i < s.plant.moduleCount; i++) maxVoltage_V = Math.max(maxVoltage_V, s.plant.moduleVoltage_V(i));
  });
  return { sim, worstExcess_A, currentBeforeLimits_A, maxVoltage_V };
}

test("a charger that respects the BMS's charge limit keeps a nearly full pack out of over-voltage", () => {
  const respected = fullPackCharged("respected");
  const ignored = fullPackCharged("ignored");
  assert.equal(respected.currentBeforeLimits_A, 0, "no current before the limits arrive");
  assert.ok(respected.worstExcess_A < 0.5, `charge current above the limit by ${respected.worstExcess_A} A`);
  const overVoltage = 0; // FaultType.OVER_VOLTAGE; levels 1 warning, 2 derate, 3 open (assembly/protection/faults.ts)
  assert.ok(respected.sim.controller.exports.faultLevel(overVoltage) <= 1, "at most an over-voltage warning");
  assert.equal(ignored.sim.controller.exports.faultLevel(overVoltage), 3, "the same charge, ignoring the limit, opens the contactors");
  assert.ok(respected.maxVoltage_V < ignored.maxVoltage_V, `${respected.maxVoltage_V} V vs ${ignored.maxVoltage_V} V`);
});
