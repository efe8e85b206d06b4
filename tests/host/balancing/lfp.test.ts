// On LFP's plateau (Sony US26650FTC1: 4 mV between 50 and 60 % SOC) voltages do not show the SOC
// spread: the voltage baseline (10 mV threshold) cannot reach the target and is misled by the
// hysteresis a charge leaves, while the SOC-based planner, fed by nodes that tracked their SOC
// from an anchor on the steep end of the curve, balances the pack to within what the nodes know
// on the plateau (their SOC estimates drift apart by a few 0.1 % per hour while coulomb counting).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Simulation } from "../../../host/sim.ts";
import { validateScenario } from "../../../host/scenarios/scenario.ts";
import { anchoredLfpModules, runUntil, spread } from "./rig.ts";

const SOCS = [0.5, 0.52, 0.54, 0.56];
/** The nodes' SOC is known to about 1 % on the plateau after an hour or two of coulomb counting. */
const TARGET = 0.01;

function lfpPack(strategy: "soc" | "voltage"): Simulation {
  const carried = anchoredLfpModules(SOCS);
  return new Simulation(validateScenario({
    name: "lfp-plateau", seed: 9, balancing: strategy,
    pack: { modules: SOCS.length, model: "ecm", cell: "sony-us26650ftc1", parallel: 1 },
    load: [{ type: "rest", duration_s: 20000 }],
  }, "lfp"), { carried });
}

test("flat LFP: the SOC-based planner brings the pack within the nodes' estimation error of its maximum usable capacity", () => {
  const sim = lfpPack("soc");
  sim.step();
  const initial = spread(sim);
  assert.ok(initial > 0.05, `initial spread ${initial}`);
  const voltages = sim.nodes.map((n) => n.exports.moduleVoltage_mV());
  assert.ok(Math.max(...voltages.slice(1)) - Math.min(...voltages.slice(1)) < 5, `the plateau hides the spread: ${voltages.join(", ")} mV`);
  for (const node of sim.nodes) assert.equal(node.exports.estimatorStart(), 2, "warm start from the node's record");
  const reached = runUntil(sim, 3 * 3600, () => spread(sim) <= TARGET);
  assert.ok(!Number.isNaN(reached), `spread ${(spread(sim) * 100).toFixed(2)} % after 3 h`);
});

test("flat LFP: the voltage baseline does not reach the target", () => {
  const sim = lfpPack("voltage");
  sim.step();
  const initial = spread(sim);
  let best = initial;
  runUntil(sim, 3 * 3600, () => false, () => {
    best = Math.min(best, spread(sim));
  });
  assert.ok(best > 3 * TARGET, `best spread ${(best * 100).toFixed(2)} % (from ${(initial * 100).toFixed(2)} %)`);
});
