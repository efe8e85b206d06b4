// The pack configuration record: the host encoder (host/provisioning/controller.ts) against the
// firmware parser (assembly/pack/config.ts) running in the controller image.
import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import { Simulation } from "../../../host/sim.ts";
import { loadAbi } from "../../../host/abi.ts";
import { loadCell } from "../../../host/plant/chemistry.ts";
import {
  encodePackConfig, packConfigLength, packConfigurationFor, cellIdHash, cellRatings, contactorTimes,
} from "../../../host/provisioning/controller.ts";
import { DEFAULT_PRECHARGE_CIRCUIT } from "../../../host/peripherals/contactor.ts";
import { FaultType, OPEN_LEVEL } from "../../../bench/protection.ts";
import { packScenario, controllerFaults } from "./rig.ts";

for (const [cell, parallel] of [["lg-inr21700-m50", 2], ["sony-us26650ftc1", 3]] as const) {
  test(`a ${cell} pack: the controller parses what the host provisioned and the nodes run the configured cell`, () => {
    const sim = new Simulation(packScenario({ pack: { modules: 3, model: "ecm", cell, parallel, initialSoc: 0.5 }, duration_s: 2 }));
    sim.run();
    const c = sim.controller.exports;
    const config = sim.packConfiguration;
    assert.equal(c.configError(), 0);
    assert.equal(c.configValid(), 1);
    assert.equal(c.expectedModuleCount(), 3);
    assert.ok(Math.abs(c.configModuleCapacity_Ah() - loadCell(cell).electrical.nominalCapacity_Ah * parallel) < 1e-4);
    // The hash the controller expects is the one each node computes over its own blob.
    assert.equal(config.cellIdHash, cellIdHash(loadCell(cell), parallel));
    assert.equal(c.configCellIdHash(), config.cellIdHash);
    for (const node of sim.nodes) assert.equal(node.exports.cellParametersHash() & 0xffff, config.cellIdHash);
    assert.deepEqual(controllerFaults(sim, "CELL_MISMATCH"), []);
    // Limits follow the ratings: OPEN on the datasheet values.
    const ratings = cellRatings(loadCell(cell));
    assert.ok(Math.abs(c.faultThreshold(FaultType.OVER_VOLTAGE, OPEN_LEVEL) - loadCell(cell).electrical.maxVoltage_V * 1000) < 0.01);
    assert.ok(Math.abs(c.faultThreshold(FaultType.OVER_CURRENT_DISCHARGE, OPEN_LEVEL) - ratings.maxDischargeCurrent_A * parallel) < 1e-3);
    assert.ok(Math.abs(c.maxPackVoltage_V() - 3 * (loadCell(cell).electrical.maxVoltage_V - 0.1)) < 1e-3);
  });
}

test("the record's layout: 128 + 4 N bytes, magic, version, CRC-32 over everything before it", () => {
  const sim = new Simulation(packScenario({ duration_s: 0.1 }));
  const bytes = encodePackConfig(sim.packConfiguration);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes.length, packConfigLength(101));
  assert.equal(bytes.length, 532);
  assert.equal(String.fromCharCode(...bytes.subarray(0, 4)), "SPCF");
  assert.equal(view.getUint16(4, true), 1);
  assert.equal(view.getUint32(8, true), bytes.length);
  assert.equal(view.getUint32(bytes.length - 4, true), crc32(bytes.subarray(0, bytes.length - 4)) >>> 0);
  assert.equal(view.getUint16(12, true), 4);
  assert.equal(bytes[14], 2);
  assert.ok(Math.abs(view.getFloat32(124, true) - 2.5) < 1e-6, "OCV at SOC 0 is the discharge cut-off");
  assert.ok(Math.abs(view.getFloat32(124 + 400, true) - 4.2) < 1e-6, "OCV at SOC 1 is the charge limit");
  const times = contactorTimes(DEFAULT_PRECHARGE_CIRCUIT);
  assert.equal(view.getUint32(116, true), times.prechargeTimeout_ms);
  assert.equal(view.getUint32(120, true), times.linkDischargeTime_ms);
  assert.throws(() => encodePackConfig({ ...sim.packConfiguration, modulesInSeries: 0 }), /modulesInSeries 0 outside 1\.\.256/);
  assert.throws(() => encodePackConfig({ ...sim.packConfiguration, ocv_V: [3] }), /OCV table needs 2\.\.101 points/);
});

test("a linear test pack is provisioned without a cell check, so model-less nodes are no mismatch", () => {
  const sim = new Simulation(packScenario({
    pack: { modules: 3, model: "linear", capacity_Ah: 50, ocvEmpty_V: 3.0, ocvFull_V: 4.2, resistance_mOhm: 1 }, duration_s: 2,
  }));
  sim.run();
  assert.equal(sim.packConfiguration.cellIdHash, null);
  assert.equal(sim.controller.exports.configValid(), 1);
  assert.deepEqual(controllerFaults(sim, "CELL_MISMATCH"), []);
  assert.ok(sim.contactors.mainsClosed(), "protection alone is enough to connect");
  assert.ok(Number.isNaN(sim.controller.exports.packSoc()), "no module estimates: no pack SOC");
  assert.equal(sim.controller.exports.maxDischargeCurrent_A(0), 0, "and no power advertised");
});

test("a cell without ratings cannot be provisioned; a board that disagrees on the module count is refused", () => {
  const cell = loadCell("lg-inr21700-m50");
  const bare = { ...cell } as typeof cell & { ratings?: unknown };
  delete bare.ratings;
  assert.throws(() => cellRatings(bare), /cell lg-inr21700-m50 has no ratings section/);
  const sim = new Simulation(packScenario({ duration_s: 1 }));
  const key = loadAbi().configKeys.find((k) => k.name === "MODULES_IN_SERIES")!.value;
  sim.controller.config.override(key, 5);
  sim.controller.reboot();
  for (let i = 0; i < 10; i++) sim.step();
  assert.equal(sim.controller.exports.configValid(), 0);
  assert.deepEqual(controllerFaults(sim, "PACK_CONFIG_INVALID").map((r) => r.detail), [key]);
  assert.equal(sim.contactors.mainsClosed(), false);
});
