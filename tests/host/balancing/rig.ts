// Shared pieces of the balancing tests (not a test file itself): packs with chosen module SOCs and
// capacities and the plant's truth (from bench/balancing.ts), and modules whose nodes
// know their SOC on a flat OCV because they tracked it from an anchor, as nodes in service do.
import { Simulation, type CarriedModule } from "../../../host/sim.ts";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { balancingPack, plantModules, plantTruth, usableShortfall } from "../../../bench/balancing.ts";

export { balancingPack };
export const modules = plantModules;
export const truth = plantTruth;
/** The usable-capacity shortfall on the plant's truth (bench/balancing.ts usableShortfall). */
export const spread = (sim: Simulation): number => usableShortfall(plantTruth(sim));

/** Steps until done() or max_s of simulated time; returns the time done() first held (NaN if never). */
export function runUntil(sim: Simulation, max_s: number, done: () => boolean, each?: () => void): number {
  const end = sim.time_s + max_s;
  while (sim.time_s < end - 1e-9) {
    sim.step();
    each?.();
    if (done()) return sim.time_s;
  }
  return Number.NaN;
}

/**
 * LFP modules whose nodes know their SOC and capacity, as nodes in service do: each module rests at
 * the steep low end of the curve (the node anchors its SOC on the voltage there), is charged at 1C
 * to 95 % and discharged to its SOC with its node counting (the charge across the 15-40 % slope and
 * the 72-80 % step teaches the node its module's capacity; a node new to a module knows it to
 * 15 % only), and parks (PERSIST); module and node flash then go into the pack, where the nodes
 * warm-start.
 */
export function anchoredLfpModules(socs: readonly number[], seed = 100): CarriedModule[] {
  const anchor = 0.05;
  const top = 0.95;
  const charge_s = Math.round(((top - anchor) * 3600) / 0.1) * 0.1;
  return socs.map((soc, k) => {
    const discharge_s = Math.round(((top - soc) * 3600) / 0.1) * 0.1;
    const end_s = 600 + charge_s + 600 + discharge_s;
    const sim = new Simulation(validateScenario({
      name: `lfp-${k}`, seed: seed + k, balancing: "none",
      pack: { modules: 1, model: "ecm", cell: "sony-us26650ftc1", parallel: 1, initialSoc: anchor },
      load: [{ type: "rest", duration_s: 600 }, { type: "current", cRate: -1, duration_s: charge_s }, { type: "rest", duration_s: 600 },
        { type: "current", cRate: 1, duration_s: discharge_s }, { type: "rest", duration_s: 60 }],
      vehicle: [{ at_s: 0, contactors: "close" }, { at_s: end_s + 30, chargeMode: "parked" }],
    }, "lfp"));
    sim.run();
    const node = sim.nodes[0]!;
    return { module: plantModules(sim)[0]!, flash: node.flash.snapshot(), serialLow: node.unit["UNIT_SERIAL_LOW"]!, serialHigh: node.unit["UNIT_SERIAL_HIGH"]! };
  });
}
