// Second life end to end, small: two packs used and aged differently, taken apart, stored,
// passports read through the node firmware from the flash copies, regrouped, reassembled; the new
// pack starts from what the modules remember. (bench/second-life.ts runs the full-size version.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateScenario } from "../../host/scenarios/scenario.ts";
import { Simulation } from "../../host/sim.ts";
import type { EcmPack } from "../../host/plant/ecm-pack.ts";
import { disassemble, store, readPassports, assemble, wiped, startUp, type UsedModule } from "../../host/second-life.ts";
import { Cell } from "../../host/plant/cell.ts";
import { Module } from "../../host/plant/module.ts";
import { loadCell } from "../../host/plant/chemistry.ts";
import { DEFAULT_EPOCH_s } from "../../host/vehicle/vehicle-ecu.ts";

function usedPack(name: string, seed: number, fade: number): Simulation {
  const sim = new Simulation(validateScenario({
    name, seed,
    pack: {
      modules: 3, model: "ecm", cell: "lg-inr21700-m50", parallel: 1, initialSoc: 0.8,
      spread: { capacity_rel: 0.02, resistance_rel: 0.03, soc_abs: 0.02 },
      ageing: { capacityFade: fade, resistanceGrowth: 2 * fade },
    },
    // One partial cycle (about 35 % of SOC each way) so the nodes' capacity estimators get pairs,
    // long enough to persist their state (every 5 min) and write a lifecycle record (every hour).
    load: [
      { type: "drive-cycle", cycle: "wltc3b", repeat: 6 }, { type: "rest", duration_s: 900 },
      { type: "cc-cv-charge", cRate: 0.5, maxModuleVoltage_V: 4.1, cutoffCRate: 0.05, maxDuration_s: 14400 }, { type: "rest", duration_s: 900 },
    ],
  }, name));
  sim.run();
  return sim;
}

test("modules carry their state into a new pack and start from it, where wiped modules cannot", () => {
  const a = usedPack("pack-a", 31, 0.1);
  const b = usedPack("pack-b", 32, 0.2);
  const modules = [...disassemble(a, "A"), ...disassemble(b, "B")];
  const estimatesBefore = new Map([...a.nodes, ...b.nodes].map((n) => [n.serial(), { soc: n.exports.socEstimate(), capacity: n.exports.capacityEstimate_Ah() }]));
  store(modules, 7, 20);
  const now_s = DEFAULT_EPOCH_s + a.time_s + 7 * 86400;

  const passports = readPassports(modules, now_s);
  assert.equal(passports.length, 6);
  for (const { passport } of passports) {
    const before = estimatesBefore.get(passport.public.identity.serial)!;
    assert.ok(passport.public.stateOfHealth.capacity_Ah !== null);
    assert.ok(Math.abs(passport.public.stateOfHealth.capacity_Ah!.value - before.capacity) < 1e-3, "the passport carries the node's capacity estimate");
    assert.ok(passport.public.usage.equivalentFullCycles > 0);
    assert.ok(passport.packPrivate!.memberships.length <= 1);
  }
  // The repurposer's read-out leaves the flash as it was: reading it again gives the same passport.
  assert.deepEqual(readPassports(modules, now_s).map((p) => p.passport), passports.map((p) => p.passport));

  const { order } = assemble(modules, passports, 3);
  assert.equal(order.length, 3);
  // Regroup keeps like with like: the three least-faded modules or the three most-faded, not a mix.
  const origins = new Set(order.map((m) => m.origin[0]));
  assert.equal(origins.size, 1, `modules from ${[...origins].join(", ")}`);

  const scenario = validateScenario({ name: "second-life", seed: 99, pack: { modules: 3, model: "ecm", cell: "lg-inr21700-m50", parallel: 1 }, load: [{ type: "rest", duration_s: 30 }] }, "sl");
  const sim = new Simulation(scenario, { carried: order, epoch_s: now_s });
  for (let i = 0; i < 30; i++) sim.step();
  assert.equal(sim.controller.exports.moduleCount(), 3);
  sim.nodes.forEach((node, i) => {
    assert.equal(node.exports.restoredFromFlash(), 1, `${node.serial()} restored its state`);
    assert.equal(node.exports.estimatorStart(), 2, "warm start");
    assert.equal(node.serial(), order[i]!.serial);
    const before = estimatesBefore.get(node.serial())!;
    assert.ok(Math.abs(node.exports.capacityEstimate_Ah() - before.capacity) < 1e-3, "capacity as remembered");
  });

  const withRecords = startUp(scenario, order, now_s);
  const withoutRecords = startUp(scenario, wiped(order, scenario, a), now_s);
  assert.equal(withRecords.enumerated, 3);
  assert.ok(withRecords.ready_s <= 1, `ready after ${withRecords.ready_s} s`);
  // Wiped nodes start from the nameplate capacity: off by the fade; remembered capacity is closer.
  assert.ok(withoutRecords.capacityError > 0.08, `wiped capacity error ${withoutRecords.capacityError}`);
  assert.ok(withRecords.capacityError < withoutRecords.capacityError, `remembered ${withRecords.capacityError} vs wiped ${withoutRecords.capacityError}`);
});

test("a module taken out keeps its node's sensor errors and rests on the shelf undrained", () => {
  const sim = new Simulation(validateScenario({
    name: "pack-c", seed: 33, sensors: "datasheet-typical",
    pack: { modules: 2, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.6 },
    load: [{ type: "rest", duration_s: 10 }],
  }, "pack-c"));
  sim.run();
  // A node that was bleeding when its pack was taken apart: unplugged, its switch opens.
  sim.balancingSwitch(0).setStuck("closed");
  assert.ok(Number.isFinite((sim.plant as EcmPack).pack.modules[0]!.bleedResistance_Ohm));
  const modules = disassemble(sim, "C");
  assert.equal(modules[0]!.module.bleedResistance_Ohm, Infinity);
  const before = modules.map((m) => m.module.soc);
  store(modules, 30, 20);
  // 30 days at 20 degC: the datasheet's 0.05 %/day at 25 degC, slower by Arrhenius, +-30 % per cell.
  modules.forEach((m, i) => {
    const loss = before[i]! - m.module.soc;
    assert.ok(loss > 0.003 && loss < 0.02, `module ${i} lost ${loss} of SOC on the shelf`);
  });

  const scenario = validateScenario({ name: "second-life", seed: 98, sensors: "datasheet-typical", pack: { modules: 2, model: "ecm", cell: "lg-inr21700-m50", parallel: 2 }, load: [{ type: "rest", duration_s: 1 }] }, "sl");
  const reassembled = new Simulation(scenario, { carried: modules });
  reassembled.nodes.forEach((node, i) => {
    assert.deepEqual(node.adc.converter, sim.nodes[i]!.adc.converter, "the converter's errors travel with the node");
    assert.deepEqual(node.adc.currentSensor("MODULE_CURRENT").model, sim.nodes[i]!.adc.currentSensor("MODULE_CURRENT").model);
    assert.equal(node.adc.thermistor("MODULE_TEMPERATURE").r25Error, sim.nodes[i]!.adc.thermistor("MODULE_TEMPERATURE").r25Error);
  });
});

test("shelf storage keeps a charged LFP module's parallel cells at rest (no exchange-current instability)", () => {
  // The stiffest case: 8 parallel Sony LFP cells at the top of charge (about 20 V per unit SOC
  // over the last half percent), on the charge branch of their hysteresis. A fixed 60 s shelf
  // step made them trade charge back and forth: 98.9 and 100.5 % after an hour, h driven to 0.
  const params = loadCell("sony-us26650ftc1");
  const cells = [0.99, 1.0, 1.01, 0.995, 1.005, 0.98, 1.02, 1.0].map((capacityScale) => {
    const cell = new Cell(params, { soc: 0.997, ageing: false, capacityScale });
    cell.setState({ hysteresis: 1 });
    return cell;
  });
  const module = new Module(cells);
  store([{ module } as unknown as UsedModule], 1 / 24, 25);
  for (const cell of cells) {
    assert.ok(cell.soc > 0.99 && cell.soc < 1.0, `cell SOC ${cell.soc}`);
    assert.ok(cell.hysteresis_V > 0, `cell hysteresis ${cell.hysteresis_V} V`);
  }
  const socs = cells.map((c) => c.soc);
  assert.ok(Math.max(...socs) - Math.min(...socs) < 0.002, `SOC spread ${Math.max(...socs) - Math.min(...socs)}`);
});
