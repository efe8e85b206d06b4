// Harness speed benchmark (issue "Physical pack model"): a 96-module pack at 10 Hz, plant,
// peripherals and both firmwares included, simulated on one core. Reports the ratio of simulated
// to wall time and where the wall time goes.
import { performance } from "node:perf_hooks";
import { loadavg } from "node:os";
import { validateScenario } from "../host/scenarios/scenario.ts";
import { Simulation } from "../host/sim.ts";

export function simulate96(parallel: number, seconds: number): { ratio: number; perStep_us: number } {
  const sim = new Simulation(validateScenario({
    name: "pack96", seed: 96, duration_s: seconds + 10,
    pack: { modules: 96, model: "ecm", cell: "lg-inr21700-m50", parallel, initialSoc: 0.85, spread: { capacity_rel: 0.01, resistance_rel: 0.03, soc_abs: 0.01 } },
    load: [{ type: "drive-cycle", cycle: "udds" }],
  }, "pack96"));
  // Enumeration and cold starts happen in the first second; time the steady state.
  for (let i = 0; i < 100; i++) sim.step();
  const steps = seconds * 10;
  const start = performance.now();
  for (let i = 0; i < steps; i++) sim.step();
  const wall_ms = performance.now() - start;
  return { ratio: (seconds * 1000) / wall_ms, perStep_us: (wall_ms * 1000) / steps };
}

export function runPack96Bench(): { rows: string[] } {
  const rows: string[] = [];
  for (const parallel of [1, 4]) {
    const runs = [simulate96(parallel, 120), simulate96(parallel, 120), simulate96(parallel, 120)].sort((a, b) => b.ratio - a.ratio);
    const best = runs[0]!;
    rows.push(`| 96 modules × ${parallel}P LG M50, UDDS, 10 Hz, both firmwares, best of 3 × 120 s | ${best.ratio.toFixed(0)}× real time | ${best.perStep_us.toFixed(0)} µs per 100 ms tick (${(best.perStep_us / 96).toFixed(2)} µs per module); load average during the run ${loadavg()[0]!.toFixed(1)} on 2 cores |`);
  }
  return { rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of runPack96Bench().rows) console.log(row);
}
