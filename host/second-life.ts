// Second life, end to end: packs are used and aged in simulation, taken apart (each physical
// module leaves with its node and the node's flash), stored, their passports read from the flash
// copies, regrouped with `strata regroup`'s algorithm, and assembled into a new pack that runs at
// once on what the modules remember. The same modules with wiped records are the comparison.
import { validateScenario, type Scenario } from "./scenarios/scenario.ts";
import { Simulation, type CarriedModule } from "./sim.ts";
import { EcmPack } from "./plant/ecm-pack.ts";
import { passportFromFlashImage } from "./passport/from-node.ts";
import { regroup } from "./regroup/regroup.ts";
import { nodeFlashImage } from "./provisioning/node.ts";
import { loadCell } from "./plant/chemistry.ts";
import type { ModulePassport } from "./passport/passport.ts";

export interface UsedModule extends CarriedModule {
  serial: string;
  /** Where it came from, for reports. */
  origin: string;
}

/** Everything of a pack worth carrying: each module with its node's flash and serial. */
export function disassemble(sim: Simulation, origin: string): UsedModule[] {
  if (!(sim.plant instanceof EcmPack)) throw new Error("only a physical (ecm) pack can be taken apart");
  const plant = sim.plant;
  // Taken out, the node is unpowered: its bleed switch opens and its converter stops (a switch
  // left closed drained a module by 0.7 % an hour on the shelf).
  for (const module of plant.pack.modules) {
    module.bleedResistance_Ohm = Infinity;
    module.converterPower_W = 0;
  }
  return sim.nodes.map((node, i) => ({
    module: plant.pack.modules[i]!,
    flash: node.flash.snapshot(),
    serialLow: node.unit["UNIT_SERIAL_LOW"]!,
    serialHigh: node.unit["UNIT_SERIAL_HIGH"]!,
    serial: node.serial(),
    origin: `${origin}#${i + 1}`,
  }));
}

/**
 * Longest plant step on the shelf, s. A module shares current between its parallel cells
 * explicitly over a step, which is stable only while dt < 2 R Q / (dOCV/dSOC) for the stiffest
 * cell: an LFP cell at its top end (3.7 V per unit SOC, 60 mOhm, 3 Ah) allows about 350 s, an
 * LG M50 about 900 s. One-hour steps diverged after a few hours; 60 s keeps a wide margin.
 */
const SHELF_STEP_s = 60;

/**
 * Storage on a shelf: the cells rest (self-discharge, calendar ageing, relaxation, cooling to the
 * shelf's temperature) for days, in SHELF_STEP_s steps. The nodes are unpowered meanwhile.
 */
export function store(modules: readonly UsedModule[], days: number, temperature_C: number): void {
  const steps = Math.round((days * 86400) / SHELF_STEP_s);
  for (const m of modules) for (let k = 0; k < steps; k++) m.module.step(0, SHELF_STEP_s, temperature_C);
}

/** Reads every module's passport the way a repurposer would: from its flash, through its firmware. */
export function readPassports(modules: readonly UsedModule[], at_s: number): { passport: ModulePassport; source: string }[] {
  return modules.map((m) => ({ passport: passportFromFlashImage(m.flash, m.serial, at_s), source: m.origin }));
}

/** The new pack's physical order from a regroup: modules by series position. */
export function assemble(modules: readonly UsedModule[], passports: { passport: ModulePassport; source: string }[], series: number): { order: UsedModule[]; setAside: number } {
  const result = regroup(passports, { series, parallel: 1, packs: 1 });
  const pack = result.packs[0];
  if (pack === undefined) throw new Error(`regroup formed no pack of ${series}: ${result.setAside.map((s) => `${s.serial ?? s.source}: ${s.reason}`).join("; ")}`);
  const bySerial = new Map(modules.map((m) => [m.serial, m]));
  const order = pack.positions.map((p) => {
    const m = bySerial.get(p.serials[0]!);
    if (m === undefined) throw new Error(`regroup placed unknown serial ${p.serials[0]}`);
    return m;
  });
  return { order, setAside: result.setAside.length };
}

/** The same modules with their node records wiped: freshly provisioned flash, nothing remembered. */
export function wiped(modules: readonly UsedModule[], scenario: Scenario, sim: Simulation): UsedModule[] {
  const fresh = nodeFlashImage(sim.nodeBoard, loadCell(scenario.pack.cell), scenario.pack.parallel);
  return modules.map((m) => ({ ...m, flash: fresh.slice() }));
}

export interface StartupScore {
  /** Largest |node SOC - true SOC| over the pack, right after start-up. */
  socError: number;
  /** Largest |node capacity / true capacity - 1|. */
  capacityError: number;
  /** Seconds from power-on until every node reported a SOC. */
  ready_s: number;
  enumerated: number;
}

/**
 * Powers the new pack and scores what its nodes know at start-up: the controller enumerates, the
 * nodes restore (or cold-start) and report; no calibration cycle runs.
 */
export function startUp(scenario: Scenario, carried: UsedModule[], epoch_s: number, seconds = 5): StartupScore {
  const sim = new Simulation(scenario, { carried, epoch_s });
  let ready_s = Number.NaN;
  while (sim.time_s < seconds) {
    sim.step();
    if (Number.isNaN(ready_s) && sim.nodes.every((n) => !Number.isNaN(n.exports.socEstimate()))) ready_s = sim.time_s;
  }
  let socError = 0;
  let capacityError = 0;
  sim.nodes.forEach((n, i) => {
    socError = Math.max(socError, Math.abs(n.exports.socEstimate() - sim.plant.moduleSoc(i)));
    capacityError = Math.max(capacityError, Math.abs(n.exports.capacityEstimate_Ah() / sim.plant.moduleCapacity_Ah(i) - 1));
  });
  return { socError, capacityError, ready_s, enumerated: sim.controller.exports.moduleCount() };
}

/** A used pack: cells aged before the run, then driven and charged so the nodes learn them. */
export function usedPackScenario(name: string, seed: number, modules: number, fade: number, growth: number, cycles: number): Scenario {
  const cycle = [
    { type: "drive-cycle", cycle: "wltc3b", repeat: 6 },
    { type: "rest", duration_s: 900 },
    { type: "cc-cv-charge", cRate: 0.5, maxModuleVoltage_V: 4.1, cutoffCRate: 0.05, maxDuration_s: 14400 },
    { type: "rest", duration_s: 900 },
  ];
  const load: unknown[] = [];
  for (let c = 0; c < cycles; c++) load.push(...cycle);
  load.push({ type: "drive-cycle", cycle: "udds", repeat: 3 }, { type: "rest", duration_s: 1200 });
  return validateScenario({
    name, seed, sensors: "datasheet-typical",
    pack: {
      modules, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.9,
      spread: { capacity_rel: 0.03, resistance_rel: 0.05, soc_abs: 0.02, selfDischarge_rel: 0.3 },
      ageing: { capacityFade: fade, resistanceGrowth: growth },
    },
    load,
  }, name);
}
