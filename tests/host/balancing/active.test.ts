// Active balancing with the real firmware: the controller's plan moves energy through the energy
// bus (host/peripherals/energy-bus.ts) from the fuller modules to the emptier ones, each conversion
// losing 8 % (LTC3300-1), the commands balancing the bus so nothing is curtailed, and the nodes'
// BALANCE_REPORT energy counters account for every joule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { balancingPack, modules, runUntil, spread, truth } from "./rig.ts";
import { activeMinimumTime_s } from "../../../bench/balancing-limits.ts";

const ETA = 0.92;
const TRANSFERRING = 0x40;

test("active balancing moves energy through the energy bus with 8 % loss per conversion, accounted by the nodes' reports", () => {
  const socs = [0.58, 0.6, 0.56, 0.62, 0.59, 0.61];
  const sim = balancingPack({ strategy: "active", socs, parallel: 2 });
  const c = sim.controller.exports;
  const bus = sim.energyBus!;
  const m = modules(sim);
  assert.ok(bus !== null);
  sim.step();
  const start = truth(sim);
  const initial = spread(sim);
  const minimum = activeMinimumTime_s(start, { efficiency: ETA, powerLimit_W: 36, bleedResistance_Ohm: 33 });
  // The plan starts after the 5 s confirmation.
  runUntil(sim, 20, () => (c.balancingStatus() & TRANSFERRING) !== 0);
  assert.ok((c.balancingStatus() & TRANSFERRING) !== 0, `status ${c.balancingStatus()}`);
  const planned = c.balancingPlannedTime_s();
  assert.ok(Math.abs(planned - minimum.time_s) < 0.05 * minimum.time_s, `planned ${planned} s, physical minimum ${minimum.time_s.toFixed(1)} s`);
  // Each module's converter energy, integrated on the plant (W at the terminals, + = delivered).
  const moved = m.map(() => 0);
  // What each converter moved in the last second: a report can be that much behind.
  const lastSecond = m.map(() => [] as number[]);
  let curtailed = 0;
  runUntil(sim, 3 * minimum.time_s + 60, () => false, () => {
    m.forEach((module, i) => {
      moved[i]! += module.converterPower_W * 0.1;
      lastSecond[i]!.push(Math.abs(module.converterPower_W * 0.1));
      if (lastSecond[i]!.length > 10) lastSecond[i]!.shift();
    });
    curtailed += bus.balance().curtailed_W * 0.1;
  });
  assert.ok(bus.energyDelivered_J > 1000, `delivered ${bus.energyDelivered_J} J`);
  // The bus stores nothing: what the receivers got is eta^2 of what the donors gave.
  assert.ok(Math.abs(bus.energyAbsorbed_J - ETA * ETA * bus.energyDelivered_J) < 0.01 * bus.energyDelivered_J,
    `absorbed ${bus.energyAbsorbed_J.toFixed(0)} J of ${bus.energyDelivered_J.toFixed(0)} J delivered`);
  assert.ok(Math.abs(bus.energyLost_J - (bus.energyDelivered_J - bus.energyAbsorbed_J)) < 1);
  assert.ok(curtailed < 0.01 * bus.energyDelivered_J, `curtailed ${curtailed.toFixed(1)} J: the commands balance the bus`);
  // The donors are the fuller modules.
  socs.forEach((soc, i) => {
    if (soc >= 0.61) assert.ok(moved[i]! > 0, `module ${i} (${soc}) delivered`);
    if (soc <= 0.58) assert.ok(moved[i]! < 0, `module ${i} (${soc}) absorbed`);
  });
  // BALANCE_REPORT: the controller's sum of each node's counter follows the plant within the
  // counter's 1 J resolution, 1 % (a node counts the power it commanded; the bus curtails the side
  // in excess while new commands are still arriving, under 1 % of the energy above) and what moved
  // since the node's last report (one a second).
  m.forEach((_, i) => {
    const reported = c.balanceReportEnergy_J(i);
    const lag = lastSecond[i]!.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(reported - moved[i]!) < 3 + 0.01 * Math.abs(moved[i]!) + lag, `module ${i}: reported ${reported} J, moved ${moved[i]!.toFixed(1)} J`);
    assert.ok(c.balanceReportState(i) >= 0);
  });
  // Losses only, no charge created: the usable capacity went up toward the target.
  assert.ok(spread(sim) < 0.5 * initial, `spread ${(spread(sim) * 100).toFixed(2)} % from ${(initial * 100).toFixed(2)} %`);
  assert.equal(sim.controller.heapGrowthSinceInit(), 0);
});
