// Foundation benchmark: wall time per simulated node tick on the default scenario, and the
// release binary sizes against their budgets. Prints markdown rows for BENCHMARKS.md.
import { statSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { loadScenario } from "../host/scenarios/scenario.ts";
import { Simulation, defaultImages } from "../host/sim.ts";
import { profileFor } from "../host/tools/wasm-check.ts";

export interface FoundationResult {
  rows: string[];
}

export function runFoundationBench(): FoundationResult {
  const scenario = loadScenario("default");
  const rows: string[] = [];

  // Whole loop: plant + peripherals + 12 nodes + controller + bus, per simulated node tick.
  const runs: number[] = [];
  let nodeTicks = 0;
  let sim0Duration_s = 0;
  let nodeOnly_ns = 0;
  for (let r = 0; r < 5; r++) {
    const sim = new Simulation(scenario);
    const start = performance.now();
    sim.run();
    runs.push(performance.now() - start);
    nodeTicks = sim.steps * sim.nodes.length;
    sim0Duration_s = sim.duration_s;
    // Node ticks alone, on the same (now running) pack: time 10,000 ticks of every node.
    const t0 = performance.now();
    const reps = 1000;
    for (let k = 0; k < reps; k++) for (const node of sim.nodes) node.exports.tick(BigInt(700000 + k * 100));
    nodeOnly_ns = Math.min(nodeOnly_ns === 0 ? Infinity : nodeOnly_ns, ((performance.now() - t0) * 1e6) / (reps * sim.nodes.length));
  }
  runs.sort((a, b) => a - b);
  const median_ms = runs[Math.floor(runs.length / 2)]!;
  const perNodeTick_us = (median_ms * 1000) / nodeTicks;
  rows.push(`| default scenario, whole loop, wall per simulated node tick (median of 5) | ${perNodeTick_us.toFixed(2)} µs | ${nodeTicks} node ticks in ${median_ms.toFixed(0)} ms; ${(sim0Duration_s * 1000 / median_ms).toFixed(0)}x real time |`);
  rows.push(`| node firmware tick alone in V8 (best of 5 × 12,000 calls) | ${(nodeOnly_ns / 1000).toFixed(2)} µs | measure + encode + bus_send through JS imports |`);

  for (const image of ["node", "controller"] as const) {
    const bytes = statSync(defaultImages[image]).size;
    const budget = profileFor(image).maxBytes;
    rows.push(`| ${image}.wasm release size | ${bytes} B | ${(bytes / budget * 100).toFixed(1)} % of the ${budget} B budget |`);
  }
  return { rows };
}
