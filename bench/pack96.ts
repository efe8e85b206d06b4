// Harness speed benchmark (issue "Physical pack model"): a 96-module pack at 10 Hz, plant,
// peripherals and both firmwares included, simulated on one core. Reports the ratio of simulated
// time to wall-clock time and to the CPU time of this process (user + system, all of its threads:
// what "one core" means on a machine shared with other jobs, where wall-clock time also counts the
// time other processes held the core), and where the time goes.
import { performance } from "node:perf_hooks";
import { loadavg } from "node:os";
import { validateScenario } from "../host/scenarios/scenario.ts";
import { Simulation, type SimulationOptions } from "../host/sim.ts";
import { floor96, callsAlone96 } from "./pack96-floor.ts";

export interface Pack96Run {
  /** Simulated time over wall-clock time. */
  ratio: number;
  /** Simulated time over the CPU time of this process (user + system). */
  cpuRatio: number;
  /** Wall-clock and CPU time per 100 ms tick, µs. */
  perStep_us: number;
  cpuPerStep_us: number;
  /** Time per tick spent in each phase of Simulation.step, µs of wall-clock time (phases run: plant, node ticks, bus, controller). */
  phases_us?: Record<string, number>;
}

export function pack96(parallel: number, seconds: number, options: SimulationOptions = {}): Simulation {
  return new Simulation(validateScenario({
    name: "pack96", seed: 96, duration_s: seconds + 10,
    pack: { modules: 96, model: "ecm", cell: "lg-inr21700-m50", parallel, initialSoc: 0.85, spread: { capacity_rel: 0.01, resistance_rel: 0.03, soc_abs: 0.01 } },
    load: [{ type: "drive-cycle", cycle: "udds" }],
  }, "pack96"), options);
}

export function simulate96(parallel: number, seconds: number): Pack96Run {
  const sim = pack96(parallel, seconds);
  // Enumeration and cold starts happen in the first second; time the steady state.
  for (let i = 0; i < 100; i++) sim.step();
  const steps = seconds * 10;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < steps; i++) sim.step();
  const wall_ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const cpu_ms = (cpu.user + cpu.system) / 1000;
  return {
    ratio: (seconds * 1000) / wall_ms,
    cpuRatio: (seconds * 1000) / cpu_ms,
    perStep_us: (wall_ms * 1000) / steps,
    cpuPerStep_us: (cpu_ms * 1000) / steps,
  };
}

/**
 * Where the time of a tick goes: the phases of Simulation.step timed one by one (the same calls in
 * the same order, so the run is the same one; the timer calls add about 1 µs per tick).
 */
export function phases96(parallel: number, seconds: number): Record<string, number> {
  const sim = pack96(parallel, seconds);
  for (let i = 0; i < 100; i++) sim.step();
  const steps = seconds * 10;
  const acc = { plant: 0, nodes: 0, bus: 0, controller: 0, total: 0 };
  // The phases as step() runs them; the plant phase includes the load and fault schedule.
  const internals = sim as unknown as { driveVehicle(now_ms: number): void };
  for (let k = 0; k < steps; k++) {
    const t0 = performance.now();
    const dt_ms = sim.tickPeriod_ms;
    sim.faults.apply(sim, sim.time_s);
    let current_A = sim.load === null ? 0 : sim.load.current_A(sim.time_s, dt_ms / 1000, sim.plant);
    if (sim.scenario.contactors === "controlled" && !sim.contactors.mainsClosed()) current_A = 0;
    sim.plant.step(current_A, dt_ms / 1000, sim.ambient_C);
    sim.energyBus?.advance(dt_ms / 1000);
    sim.clock.advance_us(dt_ms * 1000);
    const start_us = sim.clock.now_us;
    const now_ms = sim.clock.now_ms;
    const t1 = performance.now();
    for (const node of sim.nodes) node.tick(now_ms);
    internals.driveVehicle(now_ms);
    const t2 = performance.now();
    sim.bus.run(start_us + (dt_ms * 1000) / 2);
    sim.vehicleBus.run(start_us + (dt_ms * 1000) / 2);
    sim.clock.advance_us((dt_ms * 1000) / 2);
    const t3 = performance.now();
    sim.controller.tick(sim.clock.now_ms);
    const t4 = performance.now();
    sim.bus.run(start_us + dt_ms * 1000);
    sim.vehicleBus.run(start_us + dt_ms * 1000);
    sim.clock.now_us = start_us;
    sim.steps++;
    const t5 = performance.now();
    acc.plant += t1 - t0;
    acc.nodes += t2 - t1;
    acc.bus += t3 - t2 + (t5 - t4);
    acc.controller += t4 - t3;
    acc.total += t5 - t0;
  }
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(acc)) out[k] = (v * 1000) / steps;
  return out;
}

export async function runPack96Bench(): Promise<{ rows: string[] }> {
  const rows: string[] = [];
  for (const parallel of [1, 4]) {
    const runs = [simulate96(parallel, 120), simulate96(parallel, 120), simulate96(parallel, 120)];
    const wall = runs.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    const cpu = runs.reduce((a, b) => (b.cpuRatio > a.cpuRatio ? b : a));
    const p = phases96(parallel, 60);
    const share = (x: number): string => `${((100 * x) / p["total"]!).toFixed(0)} %`;
    rows.push(`| 96 modules × ${parallel}P LG M50, UDDS, 10 Hz, both firmwares, best of 3 × 120 s | ${wall.ratio.toFixed(0)}× real time (wall clock), ${cpu.cpuRatio.toFixed(0)}× (CPU time of the process) | ${wall.perStep_us.toFixed(0)} µs wall, ${cpu.cpuPerStep_us.toFixed(0)} µs CPU per 100 ms tick (${(cpu.cpuPerStep_us / 96).toFixed(2)} µs CPU per module); phases: plant ${share(p["plant"]!)}, node ticks (firmware + ADC, GPIO, bus_send) ${share(p["nodes"]!)}, bus (arbitration, delivery, controller and node busReceive) ${share(p["bus"]!)}, controller tick ${share(p["controller"]!)}; load average ${loadavg()[0]!.toFixed(1)} on 2 cores |`);
  }
  // The floor under these figures (bench/pack96-floor.ts): the firmwares' own work and the calls
  // they need, with a harness that costs nothing else; then the calls alone into empty stubs.
  for (const parallel of [1, 4]) {
    const floor = floor96(parallel, 1200);
    const calls = await callsAlone96(floor.deliveries);
    rows.push(`| floor, 96 modules × ${parallel}P: both firmwares replaying a recorded run, every HAL import answering at once, no plant or bus model (bench/pack96-floor.ts) | ${floor.cpuPerTick_us.toFixed(0)} µs CPU per tick = ${(1e5 / floor.cpuPerTick_us).toFixed(0)}× at most | best 200-tick chunk of 1200; per tick ${floor.nodeTicks} node ticks, ${floor.adcReads.toFixed(0)} adc_read, ${floor.deliveries.toFixed(0)} busReceive, 1 controller tick; the same calls into empty stubs: ${calls.toFixed(0)} µs |`);
  }
  return { rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of (await runPack96Bench()).rows) console.log(row);
}
