// The vehicle interface end to end: the host VCU decodes every BMS frame with an independent DBC
// parser (candied, boards/vehicle/strata-vehicle.dbc) and the values equal the controller's
// getters within one step of each signal's resolution.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../../host/sim.ts";
import { packScenario } from "./rig.ts";

const BMS_MESSAGES = [
  "BMS_Faults", "BMS_PackStatus", "BMS_ContactorStatus", "BMS_DischargeLimits", "BMS_ChargeLimits",
  "BMS_VoltageLimits", "BMS_CellVoltages", "BMS_Temperatures", "BMS_EnergyRange",
];
const LEVEL_SIGNALS = [
  "OverVoltage", "UnderVoltage", "OverTemperature", "UnderTemperature", "OverCurrentCharge", "OverCurrentDischarge",
  "ModuleCommunicationLost", "VoltagePlausibility", "CurrentPlausibility", "ContactorWelded", "PrechargeFailed",
];

test("the VCU decodes every BMS message and the values are the controller's", () => {
  const sim = new Simulation(packScenario({
    pack: { modules: 6, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.8, spread: { soc_abs: 0.01 } },
    load: [{ type: "drive-cycle", cycle: "wltc3b" }],
    duration_s: 40,
  }));
  const c = sim.controller.exports;
  const v = (message: string, signal: string): number => sim.vehicle.signal(message, signal);
  // Unknown values (NaN) go out as 0 where the DBC has no invalid value (docs/vehicle-interface.md).
  const near = (actual: number, expected: number, tolerance: number, what: string): void => {
    const sent = Number.isNaN(expected) ? 0 : expected;
    assert.ok(Math.abs(actual - sent) <= tolerance + 1e-9, `${what}: VCU ${actual}, controller ${expected}`);
  };
  let checks = 0;
  let energyChecks = 0;
  sim.run((s) => {
    if (s.time_s < 2) return;
    // Each 100 ms frame left the controller in this step's tick, as the getters now show.
    near(v("BMS_PackStatus", "PackVoltage"), c.packVoltage_mV() / 1000, 0.05, "PackVoltage");
    near(v("BMS_PackStatus", "PackCurrent"), c.packCurrent_mA() / 1000, 0.05, "PackCurrent");
    near(v("BMS_PackStatus", "PackSoc"), c.packSoc() * 100, 0.25, "PackSoc");
    near(v("BMS_PackStatus", "PackSoh"), c.packSoh() * 100, 0.25, "PackSoh");
    assert.equal(v("BMS_PackStatus", "BmsState"), c.bmsState());
    assert.equal(v("BMS_ContactorStatus", "ContactorState"), c.contactorState());
    assert.equal(v("BMS_ContactorStatus", "PositiveAux"), s.contactors.positive.closed ? 1 : 0);
    near(v("BMS_ContactorStatus", "LinkVoltage"), c.linkVoltage_mV() / 1000, 0.05, "LinkVoltage");
    ["2s", "10s", "30s"].forEach((h, k) => {
      near(v("BMS_DischargeLimits", `MaxDischargeCurrent${h}`), c.maxDischargeCurrent_A(k), 0.05, `MaxDischargeCurrent${h}`);
      near(v("BMS_ChargeLimits", `MaxChargeCurrent${h}`), c.maxChargeCurrent_A(k), 0.05, `MaxChargeCurrent${h}`);
    });
    near(v("BMS_VoltageLimits", "MaxPackVoltage"), c.maxPackVoltage_V(), 0.05, "MaxPackVoltage");
    near(v("BMS_VoltageLimits", "MinPackVoltage"), c.minPackVoltage_V(), 0.05, "MinPackVoltage");
    near(v("BMS_CellVoltages", "MaxCellVoltage"), c.maxModuleVoltage_mV() / 1000, 0.5e-4, "MaxCellVoltage");
    near(v("BMS_CellVoltages", "MinCellVoltage"), c.minModuleVoltage_mV() / 1000, 0.5e-4, "MinCellVoltage");
    assert.equal(v("BMS_CellVoltages", "MaxCellVoltageModule"), c.maxModuleIndex() + 1);
    assert.equal(v("BMS_CellVoltages", "MinCellVoltageModule"), c.minModuleIndex() + 1);
    near(v("BMS_Temperatures", "MaxTemperature"), c.maxTemperature_C(), 0.25, "MaxTemperature");
    near(v("BMS_Temperatures", "MinTemperature"), c.minTemperature_C(), 0.25, "MinTemperature");
    assert.equal(v("BMS_Temperatures", "MaxTemperatureModule"), c.maxTemperatureIndex() + 1);
    assert.equal(v("BMS_Temperatures", "MinTemperatureModule"), c.minTemperatureIndex() + 1);
    assert.equal(v("BMS_Faults", "HighestFaultLevel"), c.highestFaultLevel());
    LEVEL_SIGNALS.forEach((name, k) => assert.equal(v("BMS_Faults", `Level_${name}`), c.faultLevel(k), name));
    assert.equal(v("BMS_Faults", "LatestFaultCode"), c.latestFaultCode());
    assert.equal(v("BMS_Faults", "FreezeFrameCount"), c.freezeFramesRecorded() % 4096);
    // BMS_EnergyRange goes out once a second: compare when it left in this tick.
    const energy = s.vehicle.message("BMS_EnergyRange")!;
    if (energy.time_s > s.time_s && energy.time_s < s.time_s + 0.1) {
      near(v("BMS_EnergyRange", "RemainingEnergy"), c.remainingEnergy_Wh() / 1000, 0.005, "RemainingEnergy");
      near(v("BMS_EnergyRange", "Range"), c.range_km(), 0.05, "Range");
      near(v("BMS_EnergyRange", "Consumption"), c.consumption_Wh_per_km(), 0.05, "Consumption");
      near(v("BMS_EnergyRange", "UsableCapacity"), c.usableCapacity_Ah(), 0.005, "UsableCapacity");
      energyChecks++;
    }
    checks++;
  });
  assert.deepEqual([...sim.vehicle.receivedMessages()].sort(), [...BMS_MESSAGES].sort());
  assert.equal(sim.vehicle.rejected, 0, "every protected frame passed the VCU's own E2E check");
  assert.ok(checks > 300 && energyChecks > 30, `${checks} ticks, ${energyChecks} energy frames compared`);
  // The values themselves are the pack's: connected, voltage from the pack, SOC near the plant's.
  assert.equal(c.bmsState(), 3);
  near(c.packVoltage_mV() / 1000, sim.plant.packVoltage_V(), 0.05, "pack voltage vs plant");
  const socs = sim.nodes.map((_, i) => sim.plant.moduleSoc(i));
  const truth = Math.min(...socs) / (Math.min(...socs) + 1 - Math.max(...socs));
  near(c.packSoc(), truth, 0.03, "usable SOC vs the plant's");
  assert.ok(c.maxDischargeCurrent_A(0) >= c.maxDischargeCurrent_A(2) && c.maxDischargeCurrent_A(2) > 0);
  assert.ok(c.vehicleSpeed_km_per_h() >= 0 && c.range_km() > 0);
  assert.deepEqual(sim.controller.faults.records, []);
  assert.equal(sim.controller.heapGrowthSinceInit(), 0);
});
