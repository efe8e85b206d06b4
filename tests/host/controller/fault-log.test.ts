// Freeze frames persisted to the controller's flash (record store on sectors 1..N) survive a
// controller reboot, and the numbering continues after it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../../host/sim.ts";
import { FaultType, OPEN_LEVEL, diagnosticCode } from "../../../bench/protection.ts";
import { packScenario } from "./rig.ts";

test("freeze frames are written to flash, one per tick, and read back after a reboot", () => {
  // An over-voltage trip (0.6C charge on a 99 % pack), a controller reboot at 4 s (the OPEN stays
  // latched across it), the vehicle's fault reset at 4.5 s, and the same trip again once the
  // controller has reconnected the still-charging pack.
  const sim = new Simulation(packScenario({
    pack: { modules: 4, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.99 },
    load: [{ type: "rest", duration_s: 2 }, { type: "current", current_A: -6, duration_s: 6 }],
    faults: [{ at_s: 4, target: "controller", kind: "reboot" }],
    vehicle: [{ at_s: 0, contactors: "close" }, { at_s: 4.5, faultReset: true }, { at_s: 5, faultReset: false }],
    duration_s: 8,
  }));
  // After a reboot the device has a new instance: always go through sim.controller.
  const c = (): typeof sim.controller.exports => sim.controller.exports;
  let before: { number: number; code: number; time_ms: bigint; unix_s: number; packVoltage_mV: number }[] = [];
  let persistedBeforeReboot = 0;
  sim.run((s) => {
    if (Math.abs(s.time_s - 3.9) < 1e-6) {
      persistedBeforeReboot = c().storedFreezeFrames();
      assert.equal(persistedBeforeReboot, c().freezeFramesRecorded(), "every frame of this boot is in flash");
      before = Array.from({ length: persistedBeforeReboot }, (_, k) => ({
        number: k, code: c().storedFreezeFrameCode(k), time_ms: c().storedFreezeFrameTime_ms(k),
        unix_s: c().storedFreezeFrameUnixTime_s(k), packVoltage_mV: c().storedFreezeFrameValue(k),
      }));
    }
  });
  const openCode = diagnosticCode(FaultType.OVER_VOLTAGE, OPEN_LEVEL);
  // The boot's jump straight to DERATE (4.18 V at rest) and the OPEN.
  assert.ok(persistedBeforeReboot >= 2, `${persistedBeforeReboot} frames before the reboot`);
  assert.ok(before.some((f) => f.code === openCode), "the over-voltage OPEN is among them");
  assert.equal(sim.controller.boots, 2);
  // After the reboot: the old frames are still there, unchanged, and the new ones follow them.
  for (const f of before) {
    assert.equal(c().storedFreezeFrameCode(f.number), f.code);
    assert.equal(c().storedFreezeFrameTime_ms(f.number), f.time_ms);
    assert.equal(c().storedFreezeFrameUnixTime_s(f.number), f.unix_s);
  }
  const open = before.find((f) => f.code === openCode)!;
  assert.ok(open.time_ms >= 2000n && open.time_ms <= 2200n, `OPEN at ${open.time_ms} ms of the first boot`);
  assert.ok(Math.abs(open.unix_s - (sim.vehicle.epoch_s + Number(open.time_ms) / 1000)) <= 1, "wall-clock time from the vehicle");
  const total = c().storedFreezeFrames();
  assert.ok(total > persistedBeforeReboot, `${total - persistedBeforeReboot} frames after the reboot`);
  assert.equal(total - persistedBeforeReboot, c().freezeFramesRecorded(), "numbering continues where the flash left off");
  const after = Array.from({ length: total - persistedBeforeReboot }, (_, k) => c().storedFreezeFrameCode(persistedBeforeReboot + k));
  assert.ok(after.includes(openCode), `codes after the reboot: ${after.map((x) => x.toString(16))}`);
  // The rebooted controller took the nodes back at their addresses and had them announce again.
  assert.equal(c().moduleCount(), 4);
  assert.equal(c().freshModuleCount(), 4);
  for (let i = 0; i < 4; i++) assert.equal(c().moduleAnnounced(i), 1, `module ${i + 1} announced after the reboot`);
  assert.equal(c().storedFreezeFramesDropped(), 0);
  assert.equal(c().storeMountStatus(), 0, "the store mounted clean");
  assert.equal(sim.controller.heapGrowthSinceInit(), 0);
});

test("more freeze frames than the ring holds keep the newest sixteen", () => {
  // A pack resting above 4.15 V: each boot records the over-voltage jump to DERATE again.
  const sim = new Simulation(packScenario({ pack: { modules: 2, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.99 }, duration_s: 1 }));
  const c = (): typeof sim.controller.exports => sim.controller.exports;
  assert.equal(c().storedFreezeFrames(), 0, "a fresh controller starts with an empty log");
  for (let boot = 0; boot < 20; boot++) {
    if (boot > 0) sim.controller.reboot();
    for (let i = 0; i < 8; i++) sim.step();
  }
  const total = c().storedFreezeFrames();
  assert.equal(total, 20, "one frame per boot");
  assert.equal(c().storedFreezeFrameCode(total - 17), -1, "the seventeenth newest is gone");
  for (let n = total - 16; n < total; n++) assert.equal(c().storedFreezeFrameCode(n), diagnosticCode(FaultType.OVER_VOLTAGE, 2), `frame ${n}`);
});

test("an OPEN latched before a controller reset stays latched after it, until the vehicle's fault reset", () => {
  // The over-voltage trip of the first test, a controller reboot at 4 s with the pack at rest, and
  // the vehicle's fault reset at 6 s.
  const sim = new Simulation(packScenario({
    pack: { modules: 4, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.99 },
    load: [{ type: "rest", duration_s: 2 }, { type: "current", current_A: -6, duration_s: 1 }, { type: "rest", duration_s: 7 }],
    faults: [{ at_s: 4, target: "controller", kind: "reboot" }],
    vehicle: [{ at_s: 0, contactors: "close" }, { at_s: 6, faultReset: true }, { at_s: 6.5, faultReset: false }],
    duration_s: 10,
  }));
  const c = (): typeof sim.controller.exports => sim.controller.exports;
  const openCode = diagnosticCode(FaultType.OVER_VOLTAGE, OPEN_LEVEL);
  let closedBetweenRebootAndReset = false;
  let faultStateAfterReboot = true;
  sim.run((s) => {
    if (s.time_s > 4.2 && s.time_s < 6) {
      if (s.contactors.mainsClosed()) closedBetweenRebootAndReset = true;
      if (c().bmsState() !== 5) faultStateAfterReboot = false;
    }
  });
  assert.equal(sim.controller.boots, 2);
  assert.equal(closedBetweenRebootAndReset, false, "the rebooted controller kept the contactors open");
  assert.ok(faultStateAfterReboot, "and reported FAULT to the vehicle until the reset");
  const reported = sim.controller.faults.records.filter((r) => r.code === 17 && r.detail === openCode);
  assert.ok(reported.length >= 2, "the latched OPEN reported again by the rebooted controller");
  assert.equal(c().restartLatched(), 0, "released by the fault reset");
  assert.ok(sim.contactors.mainsClosed(), "closed again after the reset");
});
