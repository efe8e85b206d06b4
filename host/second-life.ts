// Second life, end to end: packs are used and aged in simulation, taken apart (each physical
// module leaves with its node and the node's flash), stored, their passports read from the flash
// copies, regrouped with `strata regroup`'s algorithm, and assembled into a new pack that runs at
// once on what the modules remember. The same modules with wiped records are the comparison.
import { validateScenario, type Scenario } from "./scenarios/scenario.ts";
import { Simulation, nodeSensorErrors, type CarriedModule } from "./sim.ts";
import { EcmPack } from "./plant/ecm-pack.ts";
import { passportFromFlashImage } from "./passport/from-node.ts";
import { regroup, type RegroupResult } from "./regroup/regroup.ts";
import { nodeFlashImage } from "./provisioning/node.ts";
import { loadCell } from "./plant/chemistry.ts";
import { Random } from "./random.ts";
import type { ModulePassport } from "./passport/passport.ts";
import type { PackPlant } from "./plant/types.ts";

export interface UsedModule extends CarriedModule {
  serial: string;
  /** Where it came from, for reports. */
  origin: string;
}

/** Everything of a pack worth carrying: each module with its node (flash, serial, sensor errors). */
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
    sensors: nodeSensorErrors(node),
    serial: node.serial(),
    origin: `${origin}#${i + 1}`,
  }));
}

/**
 * Longest plant step on the shelf, s. A module shares current between its parallel cells
 * explicitly over a step, which is stable only while dt < 2 tau for the stiffest cell, tau = R0 Q
 * over its voltage stiffness (Cell.restTimeConstant_s): an LFP cell at its top end (20 V per unit
 * SOC over its last half percent, 60 mOhm, 3 Ah) has tau about 30 s, so a fixed 60 s step made the
 * cells of a charged LFP module exchange growing currents (SOC 98.9 and 100.5 % after an hour,
 * their hysteresis states driven to zero). Steps are SHELF_STEP_FRACTION of the smallest tau, at
 * most SHELF_STEP_s.
 */
const SHELF_STEP_s = 60;
const SHELF_STEP_FRACTION = 0.5;

/**
 * Storage on a shelf: the cells rest (self-discharge, calendar ageing, relaxation, cooling to the
 * shelf's temperature) for days, in steps the stiffest cell allows (at most SHELF_STEP_s). The
 * nodes are unpowered meanwhile.
 */
export function store(modules: readonly UsedModule[], days: number, temperature_C: number): void {
  const total_s = days * 86400;
  for (const m of modules) {
    let t = 0;
    while (t < total_s - 1e-6) {
      let tau = Infinity;
      for (const cell of m.module.cells) tau = Math.min(tau, cell.restTimeConstant_s);
      const dt = Math.min(SHELF_STEP_s, SHELF_STEP_FRACTION * tau, total_s - t);
      m.module.step(0, dt, temperature_C);
      t += dt;
    }
  }
}

/** Reads every module's passport the way a repurposer would: from its flash, through its firmware. */
export function readPassports(modules: readonly UsedModule[], at_s: number): { passport: ModulePassport; source: string }[] {
  return modules.map((m) => ({ passport: passportFromFlashImage(m.flash, m.serial, at_s), source: m.origin }));
}

/**
 * The new packs' physical order from a regroup: for each pack formed, its modules by series
 * position (order is the first pack's).
 */
export function assemble(modules: readonly UsedModule[], passports: { passport: ModulePassport; source: string }[], series: number, packs = 1): { packs: UsedModule[][]; order: UsedModule[]; setAside: number; result: RegroupResult } {
  const result = regroup(passports, { series, parallel: 1, packs });
  if (result.packs.length < packs) throw new Error(`regroup formed ${result.packs.length} of ${packs} packs of ${series}: ${result.setAside.map((s) => `${s.serial ?? s.source}: ${s.reason}`).join("; ")}`);
  const bySerial = new Map(modules.map((m) => [m.serial, m]));
  const formed = result.packs.map((pack) => pack.positions.map((p) => {
    const m = bySerial.get(p.serials[0]!);
    if (m === undefined) throw new Error(`regroup placed unknown serial ${p.serials[0]}`);
    return m;
  }));
  return { packs: formed, order: formed[0]!, setAside: result.setAside.length, result };
}

/** The same modules with their node records wiped: freshly provisioned flash, nothing remembered. */
export function wiped(modules: readonly UsedModule[], scenario: Scenario, sim: Simulation): UsedModule[] {
  const fresh = nodeFlashImage(sim.nodeBoard, loadCell(scenario.pack.cell), scenario.pack.parallel);
  return modules.map((m) => ({ ...m, flash: fresh.slice() }));
}

/** What one node knows against the truth of its module. */
export interface ModuleScore {
  soc: number;
  trueSoc: number;
  capacity_Ah: number;
  trueCapacity_Ah: number;
  /** The node's R0 at the module's present SOC and temperature, and the plant's. */
  r0_Ohm: number;
  trueR0_Ohm: number;
}

export interface StartupScore {
  /** Largest |node SOC - true SOC| over the pack, right after start-up. */
  socError: number;
  socRms: number;
  /** Largest |node capacity / true capacity - 1|. */
  capacityError: number;
  capacityRms: number;
  /** Largest |node R0 / true R0 - 1|. */
  r0Error: number;
  r0Rms: number;
  /** Seconds from power-on until every node reported a SOC. */
  ready_s: number;
  enumerated: number;
  modules: ModuleScore[];
}

/** Each node's SOC, capacity and R0 against its module's. */
export function moduleScores(sim: Simulation): ModuleScore[] {
  return sim.nodes.map((node, i) => {
    const n = node.exports;
    const trueSoc = sim.plant.moduleSoc(i);
    return {
      soc: n.socEstimate(), trueSoc,
      capacity_Ah: n.capacityEstimate_Ah(), trueCapacity_Ah: sim.plant.moduleCapacity_Ah(i),
      r0_Ohm: n.resistanceEstimate_Ohm(trueSoc, sim.plant.moduleTemperature_C(i)), trueR0_Ohm: sim.plant.moduleResistance0_Ohm(i),
    };
  });
}

/** Largest absolute value and root mean square. */
export function maxAndRms(errors: readonly number[]): { max: number; rms: number } {
  let max = 0;
  let squares = 0;
  for (const e of errors) {
    max = Math.max(max, Math.abs(e));
    squares += e * e;
  }
  return { max, rms: errors.length > 0 ? Math.sqrt(squares / errors.length) : Number.NaN };
}

/**
 * The truth the controller's pack figures stand for (assembly/pack/soc.ts): the charge until the
 * first module is empty D, until the first is full C; pack SOC D / (D + C), usable capacity D + C.
 */
export function truePackSoc(plant: PackPlant): { soc: number; usableCapacity_Ah: number } {
  let dischargeable = Infinity;
  let chargeable = Infinity;
  for (let i = 0; i < plant.moduleCount; i++) {
    const soc = Math.min(1, Math.max(0, plant.moduleSoc(i)));
    const capacity = plant.moduleCapacity_Ah(i);
    dischargeable = Math.min(dischargeable, soc * capacity);
    chargeable = Math.min(chargeable, (1 - soc) * capacity);
  }
  const usable = dischargeable + chargeable;
  return { soc: usable > 0 ? dischargeable / usable : 0, usableCapacity_Ah: usable };
}

/**
 * Steps a freshly powered pack for `seconds` (calling onStep after each step) and scores what its
 * nodes know; no calibration cycle runs.
 */
export function scoreStartUp(sim: Simulation, seconds = 5, onStep?: (sim: Simulation) => void): StartupScore {
  let ready_s = Number.NaN;
  while (sim.time_s < seconds) {
    sim.step();
    onStep?.(sim);
    if (Number.isNaN(ready_s) && sim.nodes.every((n) => !Number.isNaN(n.exports.socEstimate()))) ready_s = sim.time_s;
  }
  const modules = moduleScores(sim);
  const soc = maxAndRms(modules.map((m) => m.soc - m.trueSoc));
  const capacity = maxAndRms(modules.map((m) => m.capacity_Ah / m.trueCapacity_Ah - 1));
  const r0 = maxAndRms(modules.map((m) => m.r0_Ohm / m.trueR0_Ohm - 1));
  return {
    socError: soc.max, socRms: soc.rms, capacityError: capacity.max, capacityRms: capacity.rms, r0Error: r0.max, r0Rms: r0.rms,
    ready_s, enumerated: sim.controller.exports.moduleCount(), modules,
  };
}

/**
 * Powers the new pack and scores what its nodes know at start-up: the controller enumerates, the
 * nodes restore (or cold-start) and report; no calibration cycle runs.
 */
export function startUp(scenario: Scenario, carried: UsedModule[], epoch_s: number, seconds = 5): StartupScore {
  return scoreStartUp(new Simulation(scenario, { carried, epoch_s }), seconds);
}

export interface UsedPackOptions {
  name: string;
  seed: number;
  modules: number;
  /** Cycle-ageing capacity fade and resistance growth of the pack's cells before the simulated use (fractions). */
  fade: number;
  growth: number;
  /**
   * Module-to-module spread of that ageing, relative 1-sigma (a module that ran hotter lost more
   * capacity and gained more resistance): module m's cells get fade x k_m and growth x k_m.
   */
  ageingSpread_rel: number;
  /** Simulated days of use: drive, park, charge full, park. */
  cycles: number;
  /** WLTC class 3b repeats of the last trip before the pack is taken out of service. */
  lastTrip: number;
  /** Wall-clock time (s since 1970) at which the service life ends and the pack comes out. */
  endsAt_s: number;
}

/** The days' driving uses about this fraction of what the pack holds. */
const TRIP_DEPTH = 0.65;
/**
 * SOC (of nominal capacity) one repeat takes from this pack's LG M50 2P modules through the default
 * vehicle (measured on the plant at 25 degC): WLTC class 3b 4.56 %, US06 3.21 %.
 */
const WLTC3B_SOC = 0.0456;
const US06_SOC = 0.0321;

/**
 * A used pack's service life in simulation, compressed into a few days: each day a trip of WLTC
 * class 3b, US06 x n, WLTC class 3b that takes about 65 % of what the aged pack holds (n from the
 * fade: a shorter trip for a pack with less range), parked 30 min, charged full at home (CC-CV
 * 0.5 C to 4.2 V per module, cut-off C/20), parked 30 min; after the last day a short trip and an
 * hour parked before the pack comes out. Deep trips and full charges give the nodes' capacity
 * estimators pairs of 0.2-0.4 in SOC that start and end at rest (docs/estimation.md).
 */
export function usedPackScenario(o: UsedPackOptions): Scenario {
  const highway = Math.max(1, Math.round((TRIP_DEPTH * (1 - o.fade) - 2 * WLTC3B_SOC) / US06_SOC));
  const day = [
    { type: "drive-cycle", cycle: "wltc3b" }, { type: "drive-cycle", cycle: "us06", repeat: highway }, { type: "drive-cycle", cycle: "wltc3b" },
    { type: "rest", duration_s: 1800 },
    { type: "cc-cv-charge", cRate: 0.5, maxModuleVoltage_V: 4.2, cutoffCRate: 0.05, maxDuration_s: 9000 },
    { type: "rest", duration_s: 1800 },
  ];
  const load: unknown[] = [];
  for (let c = 0; c < o.cycles; c++) load.push(...day);
  load.push({ type: "drive-cycle", cycle: "wltc3b", repeat: o.lastTrip }, { type: "rest", duration_s: 3600 });
  return validateScenario({
    name: o.name, seed: o.seed, sensors: "datasheet-typical",
    pack: {
      modules: o.modules, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.95,
      spread: { capacity_rel: 0.03, resistance_rel: 0.05, soc_abs: 0.02, selfDischarge_rel: 0.3 },
      ageing: { capacityFade: o.fade, resistanceGrowth: o.growth },
    },
    load,
  }, o.name);
}

/** Builds a used pack, spreads its ageing over the modules (seeded from the pack's seed) and runs its service life. */
export function runUsedPack(o: UsedPackOptions): Simulation {
  const sim = new Simulation(usedPackScenario(o));
  // The vehicle's clock, set before its first tick so that the service life ends at endsAt_s.
  sim.vehicle.epoch_s = o.endsAt_s - sim.duration_s;
  if (!(sim.plant instanceof EcmPack)) throw new Error("a used pack is a physical (ecm) pack");
  const random = new Random(o.seed ^ 0x5eed);
  for (const module of sim.plant.pack.modules) {
    const k = Math.max(0, 1 + o.ageingSpread_rel * random.gaussian());
    for (const cell of module.cells) cell.setState({ capacityLossCycle: o.fade * k, resistanceGrowthCycle: o.growth * k });
  }
  sim.run();
  return sim;
}
