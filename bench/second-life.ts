// Second-life benchmark (issue #7, item 5), the full-size version of tests/host/second-life.test.ts:
// three used packs of 12 LG M50 2P modules, aged differently and used for different numbers of
// days (host/second-life.ts, usedPackScenario), are taken apart with their nodes' flash, stored on a
// shelf, their passports read from the flash copies, regrouped into two packs of 12 and started.
// Scored at start-up (no calibration cycle) with the records and with the same modules' records
// wiped, then while each new pack drives two WLTC class 3b cycles. Prints markdown for
// BENCHMARKS.md; every figure is judged on the plant's truth.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { Simulation } from "../host/sim.ts";
import { validateScenario, type Scenario } from "../host/scenarios/scenario.ts";
import { loadCell } from "../host/plant/chemistry.ts";
import type { CellState } from "../host/plant/cell.ts";
import { DEFAULT_EPOCH_s } from "../host/vehicle/vehicle-ecu.ts";
import {
  runUsedPack, disassemble, store, readPassports, assemble, wiped, scoreStartUp, moduleScores, maxAndRms, truePackSoc,
  type UsedModule, type UsedPackOptions, type StartupScore, type ModuleScore,
} from "../host/second-life.ts";

const CELL = "lg-inr21700-m50";
const MODULES = 12;
const SHELF_DAYS = 30;
const SHELF_C = 20;
/** All three packs come out of service on the same day, two weeks after the default epoch. */
const OUT_OF_SERVICE_s = DEFAULT_EPOCH_s + 14 * 86400;
const NEW_PACKS = 2;
const NOMINAL_Ah = loadCell(CELL).electrical.nominalCapacity_Ah * 2;
/** Start-up window scored: the nodes report within the first second. */
const STARTUP_s = 5;

const USED: UsedPackOptions[] = [
  { name: "used-a", seed: 201, modules: MODULES, fade: 0.08, growth: 0.2, ageingSpread_rel: 0.25, cycles: 2, lastTrip: 2, endsAt_s: OUT_OF_SERVICE_s },
  { name: "used-b", seed: 202, modules: MODULES, fade: 0.15, growth: 0.375, ageingSpread_rel: 0.25, cycles: 3, lastTrip: 3, endsAt_s: OUT_OF_SERVICE_s },
  { name: "used-c", seed: 203, modules: MODULES, fade: 0.22, growth: 0.55, ageingSpread_rel: 0.25, cycles: 4, lastTrip: 1, endsAt_s: OUT_OF_SERVICE_s },
];

/** What a module's node knew, and the truth, when its pack came out of service. */
interface AtShutdown extends ModuleScore {
  capacityPairs: number;
  /** The plant after the shelf. */
  storedSoc: number;
  storedCapacity_Ah: number;
}

interface RunScore {
  startup: StartupScore;
  /** Controller's pack SOC and usable capacity against the truth at the end of the start-up window. */
  packSoc: number;
  truePackSoc: number;
  usableCapacityError: number;
  contactorsClosed_s: number;
  /** Fault types (assembly/protection/faults.ts) raised during the run, with the highest level each reached. */
  faults: Map<number, number>;
  /** Over the drive: largest node SOC error and largest controller pack SOC error (sampled each second). */
  driveSocError: number;
  drivePackSocError: number;
  endUsableCapacityError: number;
  endPackSoc: number;
  endTruePackSoc: number;
  discharged_Ah: number;
  simulated_s: number;
}

function newPackScenario(index: number): Scenario {
  return validateScenario({
    name: `second-life-${index + 1}`, seed: 300 + index, sensors: "datasheet-typical", contactors: "controlled", limits: "respected",
    pack: { modules: MODULES, model: "ecm", cell: CELL, parallel: 2 },
    load: [{ type: "rest", duration_s: 30 }, { type: "drive-cycle", cycle: "wltc3b", repeat: 2 }, { type: "rest", duration_s: 600 }],
  }, `second-life-${index + 1}`);
}

/** Powers a new pack at now_s, scores the start-up, then runs the drive. */
function runNewPack(scenario: Scenario, carried: UsedModule[], now_s: number): RunScore {
  const sim = new Simulation(scenario, { carried, epoch_s: now_s });
  const c = sim.controller.exports;
  let contactorsClosed_s = Number.NaN;
  const faults = new Map<number, number>();
  // Every step from power-on: when the contactors close, and the level each fault reaches.
  const watch = (s: Simulation): void => {
    if (Number.isNaN(contactorsClosed_s) && s.contactors.mainsClosed()) contactorsClosed_s = s.time_s;
    for (let f = 0; f < FAULT_TYPES.length; f++) {
      const level = c.faultLevel(f);
      if (level > (faults.get(f) ?? 0)) faults.set(f, level);
    }
  };
  const startup = scoreStartUp(sim, STARTUP_s, watch);
  const truthAtStart = truePackSoc(sim.plant);
  const packSocAtStart = c.packSoc();
  const usableCapacityError = c.usableCapacity_Ah() / truthAtStart.usableCapacity_Ah - 1;
  let driveSocError = 0;
  let drivePackSocError = 0;
  let discharged_Ah = 0;
  let nextSample_s = sim.time_s;
  sim.run((s) => {
    watch(s);
    discharged_Ah += Math.max(0, s.plant.packCurrent_A()) * s.tickPeriod_ms / 3.6e6;
    if (s.time_s < nextSample_s) return;
    nextSample_s += 1;
    for (let i = 0; i < s.nodes.length; i++) driveSocError = Math.max(driveSocError, Math.abs(s.nodes[i]!.exports.socEstimate() - s.plant.moduleSoc(i)));
    drivePackSocError = Math.max(drivePackSocError, Math.abs(c.packSoc() - truePackSoc(s.plant).soc));
  });
  const truthAtEnd = truePackSoc(sim.plant);
  return {
    startup, packSoc: packSocAtStart, truePackSoc: truthAtStart.soc, usableCapacityError, contactorsClosed_s, faults, driveSocError, drivePackSocError,
    endUsableCapacityError: c.usableCapacity_Ah() / truthAtEnd.usableCapacity_Ah - 1, endPackSoc: c.packSoc(), endTruePackSoc: truthAtEnd.soc, discharged_Ah,
    simulated_s: sim.time_s,
  };
}

/** Runs fn on the modules and puts their cells back as they were: both starts see the same pack. */
function onTheSameModules<T>(modules: readonly UsedModule[], fn: () => T): T {
  const saved: CellState[][] = modules.map((m) => m.module.cells.map((cell) => cell.getState()));
  const result = fn();
  modules.forEach((m, i) => m.module.cells.forEach((cell, k) => cell.setState(saved[i]![k]!)));
  return result;
}

/** FaultType of assembly/protection/faults.ts, in order. */
const FAULT_TYPES = [
  "over-voltage", "under-voltage", "over-temperature", "under-temperature", "over-current charge", "over-current discharge",
  "module communication lost", "voltage plausibility", "current plausibility", "contactor welded", "precharge failed",
];
const LEVELS = ["none", "warning", "derate", "open"];

const pct = (x: number, digits = 2): string => `${(x * 100).toFixed(digits)} %`;
const maxRms = (errors: number[]): string => {
  const { max, rms } = maxAndRms(errors);
  return `${pct(max)} / ${pct(rms)}`;
};
const range = (values: number[]): number => (Math.max(...values) - Math.min(...values)) / (values.reduce((a, b) => a + b, 0) / values.length);

export function runSecondLifeBench(): { rows: string[] } {
  const rows: string[] = [];
  const wall0 = performance.now();

  // 1. Service lives, then out of service: each module leaves with its node (flash, serial, sensors).
  const modules: UsedModule[] = [];
  const shutdown = new Map<string, AtShutdown>();
  const usedRows: string[] = [];
  let usedSim_h = 0;
  let nodeBoardSim: Simulation | null = null;
  for (const [k, options] of USED.entries()) {
    const sim = runUsedPack(options);
    nodeBoardSim ??= sim;
    usedSim_h += sim.time_s / 3600;
    const origin = String.fromCharCode(65 + k);
    const scores = moduleScores(sim);
    const out = disassemble(sim, origin);
    out.forEach((m, i) => shutdown.set(m.serial, { ...scores[i]!, capacityPairs: sim.nodes[i]!.exports.capacityUpdates(), storedSoc: Number.NaN, storedCapacity_Ah: Number.NaN }));
    modules.push(...out);
    const pairs = sim.nodes.map((n) => n.exports.capacityUpdates());
    const trueCapacity = scores.map((s) => s.trueCapacity_Ah);
    usedRows.push(`| ${origin} (${options.name}) | ${pct(options.fade, 0)} ± ${pct(options.ageingSpread_rel, 0)} rel., R +${pct(options.growth, 1)} | ${options.cycles} | ${(sim.time_s / 3600).toFixed(1)} h | ${pct(1 - Math.max(...trueCapacity) / NOMINAL_Ah, 1)}–${pct(1 - Math.min(...trueCapacity) / NOMINAL_Ah, 1)} | ${Math.min(...pairs)}–${Math.max(...pairs)} | ${maxRms(scores.map((s) => s.soc - s.trueSoc))} | ${maxRms(scores.map((s) => s.capacity_Ah / s.trueCapacity_Ah - 1))} | ${maxRms(scores.map((s) => s.r0_Ohm / s.trueR0_Ohm - 1))} |`);
  }
  const usedWall_s = (performance.now() - wall0) / 1000;

  // 2. The shelf, then the repurposer reads every passport from the flash copies and regroups.
  store(modules, SHELF_DAYS, SHELF_C);
  for (const m of modules) {
    const s = shutdown.get(m.serial)!;
    s.storedSoc = m.module.soc;
    s.storedCapacity_Ah = m.module.capacity_Ah;
  }
  const now_s = OUT_OF_SERVICE_s + SHELF_DAYS * 86400;
  const passports = readPassports(modules, now_s);
  const { packs, result } = assemble(modules, passports, MODULES, NEW_PACKS);

  // 3. Each new pack started with its records, and with them wiped.
  const scored: { records: RunScore; wiped: RunScore; order: UsedModule[] }[] = [];
  let newSim_h = 0;
  for (const [k, order] of packs.entries()) {
    const scenario = newPackScenario(k);
    const records = onTheSameModules(order, () => runNewPack(scenario, order, now_s));
    const blank = onTheSameModules(order, () => runNewPack(scenario, wiped(order, scenario, nodeBoardSim!), now_s));
    newSim_h += (records.simulated_s + blank.simulated_s) / 3600;
    scored.push({ records, wiped: blank, order });
  }
  const wall_s = (performance.now() - wall0) / 1000;

  const selfDischarge_per_day = loadCell(CELL).selfDischarge.rate_per_day;
  rows.push(
    `Three used packs of ${MODULES} LG M50 2P modules (datasheet-typical sensors on every node), aged before`,
    "the simulated use (cycle fade and resistance growth, spread over the modules), then used for 2, 3 and 4",
    "days: a trip of WLTC 3b + US06 × n + WLTC 3b taking about 65 % of the pack, 30 min parked, a full",
    "CC-CV charge (0.5 C to 4.2 V, C/20 cut-off), 30 min parked; then a last short trip and an hour parked.",
    `Out of service on the same day, ${SHELF_DAYS} days on a shelf at ${SHELF_C} °C, passports read from the flash copies through`,
    `the node firmware, \`regroup\` into ${NEW_PACKS} packs of ${MODULES} from the ${modules.length} modules, started with the records and with them wiped.`,
    "",
    "| used pack | ageing before use (fade, R growth) | days used | simulated | true capacity fade | capacity learning updates per node (10 Hz) | SOC error at shutdown max / RMS | capacity error at shutdown max / RMS | R0 error at shutdown max / RMS |",
    "|---|---|---|---|---|---|---|---|---|",
    ...usedRows,
    "",
  );

  // Regroup: what it was given (estimates) and what it got (truth).
  rows.push("| new pack | modules from | capacity range, passports | capacity range, true | R0 range, passports | R0 range, true | usable capacity predicted / true |", "|---|---|---|---|---|---|---|");
  for (const [k, { order }] of scored.entries()) {
    const formed = result.packs[k]!;
    const from = ["A", "B", "C"].map((o) => `${o} × ${order.filter((m) => m.origin[0] === o).length}`).filter((t) => !t.endsWith("× 0")).join(", ");
    const trueCapacities = order.map((m) => m.module.capacity_Ah);
    const trueR0 = order.map((m) => m.module.resistance0_Ohm);
    const estimated = formed.positions.map((p) => p.capacity_Ah);
    const estimatedR0 = formed.positions.map((p) => p.resistance_mOhm);
    rows.push(`| ${k + 1} (${formed.id}) | ${from} | ${pct(range(estimated), 1)} | ${pct(range(trueCapacities), 1)} | ${pct(range(estimatedR0), 1)} | ${pct(range(trueR0), 1)} | ${formed.usableCapacity_Ah.toFixed(2)} / ${Math.min(...trueCapacities).toFixed(2)} Ah |`);
  }
  const sourceRanges = USED.map((_, k) => {
    const own = modules.filter((m) => m.origin[0] === String.fromCharCode(65 + k)).map((m) => m.module.capacity_Ah);
    return pct(range(own), 1);
  });
  rows.push("", `Ranges are (max − min) / mean over the pack's modules; the source packs' true capacity ranges were ${sourceRanges.join(", ")}. Set aside: ${result.setAside.length} (${[...new Set(result.setAside.map((s) => s.reason))].join(", ")}).`, "");

  // Start-up and drive.
  const header = scored.flatMap((_, k) => [`pack ${k + 1}, records`, `pack ${k + 1}, wiped`]);
  rows.push(`| at start-up (${STARTUP_s} s after power-on), then two WLTC 3b | ${header.join(" | ")} |`, `|---|${header.map(() => "---").join("|")}|`);
  const line = (label: string, f: (r: RunScore) => string): void => {
    rows.push(`| ${label} | ${scored.flatMap((s) => [f(s.records), f(s.wiped)]).join(" | ")} |`);
  };
  line("modules enumerated; every node reporting a SOC after", (r) => `${r.startup.enumerated}; ${r.startup.ready_s.toFixed(1)} s`);
  line("SOC error max / RMS", (r) => `${pct(r.startup.socError)} / ${pct(r.startup.socRms)}`);
  line("capacity error max / RMS", (r) => `${pct(r.startup.capacityError)} / ${pct(r.startup.capacityRms)}`);
  line("R0 error max / RMS", (r) => `${pct(r.startup.r0Error, 1)} / ${pct(r.startup.r0Rms, 1)}`);
  line("controller: pack SOC / true; usable capacity error", (r) => `${pct(r.packSoc, 1)} / ${pct(r.truePackSoc, 1)}; ${pct(r.usableCapacityError, 1)}`);
  line("contactors closed after; faults", (r) => `${r.contactorsClosed_s.toFixed(1)} s; ${r.faults.size === 0 ? "none" : [...r.faults].map(([f, l]) => `${FAULT_TYPES[f]} (${LEVELS[l]})`).join(", ")}`);
  line("drive: largest module SOC error; pack SOC error", (r) => `${pct(r.driveSocError)}; ${pct(r.drivePackSocError)}`);
  line("end: pack SOC controller / true; usable capacity error", (r) => `${pct(r.endPackSoc, 1)} / ${pct(r.endTruePackSoc, 1)}; ${pct(r.endUsableCapacityError, 1)}`);
  line("discharged over the drive", (r) => `${r.discharged_Ah.toFixed(2)} Ah`);

  // Where the start-up errors come from, per module of the new packs (with records).
  const soc: { shutdown: number[]; storage: number[]; startup: number[] } = { shutdown: [], storage: [], startup: [] };
  const capacity: { shutdown: number[]; storage: number[] } = { shutdown: [], storage: [] };
  let worst = { serial: "", origin: "", error: 0, parts: "" };
  for (const { records, order } of scored) {
    order.forEach((m, i) => {
      const s = shutdown.get(m.serial)!;
      const now = records.startup.modules[i]!;
      const atShutdown = s.soc - s.trueSoc;
      // The node takes off the datasheet rate for the time it was off; the cells lost what they lost.
      const nodeLoss = selfDischarge_per_day * (now_s - OUT_OF_SERVICE_s) / 86400;
      const storage = (s.trueSoc - s.storedSoc) - nodeLoss;
      const total = now.soc - now.trueSoc;
      soc.shutdown.push(atShutdown);
      soc.storage.push(storage);
      soc.startup.push(total - atShutdown - storage);
      capacity.shutdown.push(s.capacity_Ah / s.trueCapacity_Ah - 1);
      capacity.storage.push(s.trueCapacity_Ah / s.storedCapacity_Ah - 1);
      const capError = now.capacity_Ah / now.trueCapacity_Ah - 1;
      if (Math.abs(capError) > Math.abs(worst.error)) {
        worst = { serial: m.serial, origin: m.origin, error: capError, parts: `${s.capacityPairs} capacity learning updates; ${pct(s.capacity_Ah / s.trueCapacity_Ah - 1)} at shutdown, ${pct(s.trueCapacity_Ah / s.storedCapacity_Ah - 1)} from calendar fade on the shelf` };
      }
    });
  }
  rows.push(
    "",
    "| start-up error, records (both packs, max / RMS over the modules) | SOC | capacity |",
    "|---|---|---|",
    `| the node's estimate when its pack came out of service | ${maxRms(soc.shutdown)} | ${maxRms(capacity.shutdown)} |`,
    `| the shelf: true self-discharge minus what the node takes off (${pct(selfDischarge_per_day, 2)}/day, its reference rate at 25 °C) | ${maxRms(soc.storage)} | calendar fade on the shelf: ${maxRms(capacity.storage)} |`,
    `| the filter's first ${STARTUP_s} s on the rested voltage (pulls towards the OCV, partly undoing the shelf error) | ${maxRms(soc.startup)} | — |`,
    "",
    `Worst capacity at start-up: ${worst.origin} (${worst.serial}) ${pct(worst.error)}: ${worst.parts}.`,
    `Wall time ${wall_s.toFixed(0)} s (used packs ${usedWall_s.toFixed(0)} s for ${usedSim_h.toFixed(1)} simulated hours of ${MODULES} modules; new packs ${newSim_h.toFixed(1)} h).`,
  );
  return { rows };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const row of runSecondLifeBench().rows) console.log(row);
}
