// Estimation accuracy benchmark (issue "Node estimation"): the node firmware's EKF beside the
// coulomb-counting-plus-OCV-rest baseline it also runs, scored against plant truth, over
// chemistries, drive cycles, temperatures and the disturbances a real pack sees. One run, one
// table. Also writes docs/estimation-udds-nmc.svg (estimate vs truth for one case).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { repoRoot } from "../host/abi.ts";
import { validateScenario } from "../host/scenarios/scenario.ts";
import { Simulation } from "../host/sim.ts";
import { disassemble, store } from "../host/second-life.ts";
import { DEFAULT_EPOCH_s } from "../host/vehicle/vehicle-ecu.ts";

interface Cell {
  id: string;
  label: string;
  parallel: number;
}
const NMC: Cell = { id: "lg-inr21700-m50", label: "NMC (LG M50)", parallel: 4 };
const LFP: Cell = { id: "sony-us26650ftc1", label: "LFP (Sony US26650FTC1)", parallel: 8 };

/** Repeats of each cycle that sweep roughly 70 points of SOC with the default vehicle scaling. */
const REPEATS: Record<string, number> = { udds: 26, us06: 14, wltc3b: 11 };
/** The wrong-start case begins 30 points lower: fewer repeats keep it above empty. */
const WRONG_START_REPEATS: Record<string, number> = { udds: 18, us06: 10, wltc3b: 8 };
const CONVERGENCE_WINDOW_s = 600;
/** Seed offsets of the SOH cases (each seed: its own sensors, cell spread and noise). */
const SOH_SEEDS = [0, 1000, 2000];
const MODULES = 2;
/**
 * Each case is a vehicle's night and day. Night, in a heated garage at 25 °C: the node powers up
 * (a cold start; the module rested at 90 %), the charger tops the module up CC-CV, the car is
 * switched off (the controller asks the nodes to persist). The modules then soak for SOAK_h at
 * the case's temperature, unpowered (self-discharge, relaxation, cooling: the plant's own
 * models). Day: key-on, the nodes warm-start from their flash, measure their current channel's
 * zero while the string is open (the controller's 1 s STANDBY dwell), and the drive begins. The
 * drive is scored after CONVERGENCE_WINDOW_s.
 */
const CHARGE_s = 3600;
const SOAK_h = 8;
const INITIAL_SOC = 0.9;
/**
 * CV voltage per cell, C/20 cut-off: the datasheet charge voltage (LG INR21700-M50 4.20 V; Sony
 * US26650FTC1 3.60 V) less 100 mV, the protection's warning margin (assembly/protection/limits.ts:
 * the charge voltage itself is the OPEN level, as in foxBMS), where a vehicle's charger stops.
 */
const CHARGE_VOLTAGE_V: Record<string, number> = { "lg-inr21700-m50": 4.1, "sony-us26650ftc1": 3.5 };

type Variant = "datasheet sensors" | "current-sensor offset 1 A" | "current-sensor offset 1 A, appears after key-on" | "initial SOC 30 points wrong" | "plant parameters 10 % off" | "aged cell (20 % fade, +50 % R)";

interface Case {
  cell: Cell;
  cycle: string;
  temperature_C: number;
  variant: Variant;
}

interface Result {
  c: Case;
  ekfRms: number;
  ekfMax: number;
  baseRms: number;
  baseMax: number;
  /** Share of the scored samples whose EKF error is within 3 sigma of the node's own SOC sigma. */
  within3Sigma: number;
  convergence_s: number;
  socSwept: number;
  wall_s: number;
}

/** The night: cold start at 90 %, CC-CV charge in a 25 °C garage, key-off. */
export function chargeScenario(c: Case, seed: number) {
  const pack: Record<string, unknown> = {
    modules: MODULES, model: "ecm", cell: c.cell.id, parallel: c.cell.parallel,
    spread: { capacity_rel: 0.01, resistance_rel: 0.03, soc_abs: 0.005, selfDischarge_rel: 0.2 },
    initialSoc: INITIAL_SOC, temperature_C: 25,
  };
  if (c.variant === "plant parameters 10 % off") pack["parameterScale"] = { capacity: 0.9, resistance: 1.1 };
  if (c.variant === "aged cell (20 % fade, +50 % R)") pack["ageing"] = { capacityFade: 0.2, resistanceGrowth: 0.5 };
  return validateScenario({
    name: "estimation-bench-charge", seed, ambient_C: 25, sensors: "datasheet-typical", contactors: "controlled", limits: "respected", pack, faults: offsetFaults(c, 0),
    load: [{ type: "cc-cv-charge", cRate: 0.5, maxModuleVoltage_V: CHARGE_VOLTAGE_V[c.cell.id], cutoffCRate: 0.05, maxDuration_s: CHARGE_s }],
    vehicle: [{ at_s: 0, contactors: "close", chargeMode: "ac-charge" }, { at_s: CHARGE_s - 10, contactors: "open", chargeMode: "parked" }],
  }, "estimation bench, charge");
}

/**
 * 1 A at the shunt amplifier: 100 uV at the node's 100 uOhm shunt, four times the INA240's
 * worst-case offset (25 uV): the kind of offset a drifted or damaged sensor shows. "Offset 1 A":
 * the sensor has it all along (night and day; the key-on calibration can measure it). "Appears
 * after key-on": it appears a minute into the drive, after the calibration, and the filter has to
 * find it on its own. appearsAt_s is the day's time of the second kind.
 */
function offsetFaults(c: Case, appearsAt_s: number): unknown[] {
  const at_s = c.variant === "current-sensor offset 1 A" ? 0 : c.variant === "current-sensor offset 1 A, appears after key-on" && appearsAt_s > 0 ? appearsAt_s : -1;
  if (at_s < 0) return [];
  return Array.from({ length: MODULES }, (_, i) => ({ at_s, target: `node:${i}`, kind: "current-sensor-offset", params: { offset_uV: 100 } }));
}

/** The day: key-on at the case's temperature and the drive. */
export function driveScenario(c: Case, seed: number) {
  const repeat = (c.variant === "initial SOC 30 points wrong" ? WRONG_START_REPEATS : REPEATS)[c.cycle];
  const faults = offsetFaults(c, 60);
  return validateScenario({
    name: "estimation-bench-drive", seed: seed + 1000, ambient_C: c.temperature_C, sensors: "datasheet-typical", contactors: "controlled", limits: "respected",
    pack: { modules: MODULES, model: "ecm", cell: c.cell.id, parallel: c.cell.parallel },
    load: [{ type: "drive-cycle", cycle: c.cycle, repeat }], faults,
  }, "estimation bench, drive");
}

export function runCase(c: Case, seed: number, trace?: { t: number[]; truth: number[]; ekf: number[]; base: number[] }, onStep?: (s: Simulation) => void): Result {
  const wall0 = performance.now();
  const night = new Simulation(chargeScenario(c, seed));
  night.run();
  const modules = disassemble(night, "bench");
  // "Initial SOC 30 points wrong": while the nodes were off the modules lost 30 points (another
  // load, a swap): at key-on each node warm-starts from a state 30 points high.
  if (c.variant === "initial SOC 30 points wrong") for (const m of modules) m.module.cells.forEach((cell) => cell.setState({ soc: cell.soc - 0.3 }));
  store(modules, SOAK_h / 24, c.temperature_C);
  const sim = new Simulation(driveScenario(c, seed), { carried: modules, epoch_s: DEFAULT_EPOCH_s + CHARGE_s + SOAK_h * 3600 });
  let sumE = 0, sumB = 0, n = 0, maxE = 0, maxB = 0, inside = 0;
  let lastBad_s = 0;
  let socStart = NaN, socEnd = NaN;
  sim.run((s) => {
    const t = s.time_s;
    onStep?.(s);
    if (s.steps % 10 !== 0) return;
    for (let i = 0; i < MODULES; i++) {
      const truth = s.plant.moduleSoc(i);
      const ekf = s.nodes[i]!.exports.socEstimate();
      const base = s.nodes[i]!.exports.socBaseline();
      if (Number.isNaN(ekf)) continue;
      const e = ekf - truth;
      if (Math.abs(e) > 0.02) lastBad_s = t;
      if (i === 0) {
        if (Number.isNaN(socStart)) socStart = truth;
        socEnd = truth;
        if (trace !== undefined && s.steps % 100 === 0) {
          trace.t.push(t); trace.truth.push(truth); trace.ekf.push(ekf); trace.base.push(base);
        }
      }
      if (t < CONVERGENCE_WINDOW_s) continue;
      const b = base - truth;
      sumE += e * e; sumB += b * b; n++;
      if (Math.abs(e) <= 3 * s.nodes[i]!.exports.socSigma()) inside++;
      maxE = Math.max(maxE, Math.abs(e)); maxB = Math.max(maxB, Math.abs(b));
    }
  });
  return {
    c,
    ekfRms: Math.sqrt(sumE / n) * 100, ekfMax: maxE * 100,
    baseRms: Math.sqrt(sumB / n) * 100, baseMax: maxB * 100,
    within3Sigma: (inside / n) * 100,
    convergence_s: lastBad_s,
    socSwept: (socStart - socEnd) * 100,
    wall_s: (performance.now() - wall0) / 1000,
  };
}

/** One partial cycle of the SOH cases: drive, park, charge, park (s). */
const SOH_DRIVE_s = 6 * 1800;
const SOH_PARK_s = 600;
const SOH_CHARGE_s = 7200;

/**
 * Capacity and resistance after five partial cycles as a vehicle does them: WLTC 3b × 6 from the
 * top of charge (to about 62 %), park, CC-CV charge back (0.5C to the charge voltage, CV held for the
 * rest of the 2 h plug-in window), park. The car is switched off at each park, so every key-on
 * calibrates the nodes' current zero (the controller's STANDBY dwell), as in the SOC cases. Until
 * 2026-12-05 the contactors stayed closed for the five days and no offset was ever calibrated; the
 * LFP capacity then came out up to 12 % off on one seed (docs/estimation.md).
 */
export function runSohCase(cell: Cell, aged: boolean, seed: number): { capacityError: number; resistanceError: number; capacityUpdates: number; resistanceUpdates: number } {
  const partial = [
    { type: "drive-cycle", cycle: "wltc3b", repeat: 6 },
    { type: "rest", duration_s: SOH_PARK_s },
    { type: "cc-cv-charge", cRate: 0.5, maxModuleVoltage_V: CHARGE_VOLTAGE_V[cell.id], cutoffCRate: 0.001, maxDuration_s: SOH_CHARGE_s },
    { type: "rest", duration_s: SOH_PARK_s },
  ];
  const period_s = SOH_DRIVE_s + SOH_PARK_s + SOH_CHARGE_s + SOH_PARK_s;
  const vehicle: unknown[] = [];
  for (let k = 0; k < 5; k++) {
    const t0 = k * period_s;
    vehicle.push({ at_s: t0, contactors: "close", chargeMode: "drive" });
    vehicle.push({ at_s: t0 + SOH_DRIVE_s + 5, contactors: "open", chargeMode: "parked" });
    vehicle.push({ at_s: t0 + SOH_DRIVE_s + SOH_PARK_s - 10, contactors: "close", chargeMode: "ac-charge" });
    vehicle.push({ at_s: t0 + SOH_DRIVE_s + SOH_PARK_s + SOH_CHARGE_s + 5, contactors: "open", chargeMode: "parked" });
  }
  const pack: Record<string, unknown> = { modules: MODULES, model: "ecm", cell: cell.id, parallel: cell.parallel, initialSoc: 0.9, spread: { capacity_rel: 0.01, resistance_rel: 0.03 } };
  if (aged) pack["ageing"] = { capacityFade: 0.2, resistanceGrowth: 0.5 };
  const sim = new Simulation(validateScenario({
    name: "soh-bench", seed, sensors: "datasheet-typical", contactors: "controlled", limits: "respected", pack, vehicle,
    load: [...partial, ...partial, ...partial, ...partial, ...partial],
  }, "soh bench"));
  sim.run();
  let cap = 0, res = 0, cu = 0, ru = 0;
  for (let i = 0; i < MODULES; i++) {
    const node = sim.nodes[i]!.exports;
    const truthCap = sim.plant.moduleCapacity_Ah(i);
    cap = Math.max(cap, Math.abs(node.capacityEstimate_Ah() / truthCap - 1));
    const soc = sim.plant.moduleSoc(i);
    const t = sim.plant.moduleTemperature_C(i);
    res = Math.max(res, Math.abs(node.resistanceEstimate_Ohm(soc, t) / sim.plant.moduleResistance0_Ohm(i) - 1));
    cu += node.capacityUpdates();
    ru += node.resistanceUpdates();
  }
  return { capacityError: cap * 100, resistanceError: res * 100, capacityUpdates: cu / MODULES, resistanceUpdates: ru / MODULES };
}

function svgPlot(trace: { t: number[]; truth: number[]; ekf: number[]; base: number[] }, title: string): string {
  const W = 720, H = 360, L = 50, R = 10, T = 30, B = 40;
  const tMax = trace.t[trace.t.length - 1] ?? 1;
  const x = (t: number): number => L + (t / tMax) * (W - L - R);
  const y = (soc: number): number => T + (1 - soc) * (H - T - B);
  const line = (v: number[], color: string, dash = ""): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.5"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${v.map((s, i) => `${x(trace.t[i]!).toFixed(1)},${y(s).toFixed(1)}`).join(" ")}"/>`;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((s) => `<line x1="${L}" x2="${W - R}" y1="${y(s)}" y2="${y(s)}" stroke="#ddd"/><text x="${L - 6}" y="${y(s) + 4}" font-size="11" text-anchor="end">${s * 100}%</text>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>${grid}
<text x="${W / 2}" y="18" font-size="13" text-anchor="middle">${title}</text>
<text x="${W / 2}" y="${H - 8}" font-size="11" text-anchor="middle">time (s), 0 to ${tMax.toFixed(0)}</text>
${line(trace.truth, "#000")}${line(trace.base, "#d62728", "4 3")}${line(trace.ekf, "#1f77b4")}
<text x="${W - 200}" y="${T + 16}" font-size="11" fill="#000">plant truth</text>
<text x="${W - 200}" y="${T + 30}" font-size="11" fill="#1f77b4">node EKF</text>
<text x="${W - 200}" y="${T + 44}" font-size="11" fill="#d62728">coulomb + OCV at rest</text>
</svg>
`;
}

export function runEstimationBench(): { rows: string[] } {
  const cases: Case[] = [];
  for (const cell of [NMC, LFP]) {
    for (const temperature_C of [25, 0]) for (const cycle of ["udds", "us06", "wltc3b"]) cases.push({ cell, cycle, temperature_C, variant: "datasheet sensors" });
    for (const variant of ["current-sensor offset 1 A", "initial SOC 30 points wrong", "plant parameters 10 % off", "aged cell (20 % fade, +50 % R)", "current-sensor offset 1 A, appears after key-on"] as const) {
      cases.push({ cell, cycle: "wltc3b", temperature_C: 25, variant });
    }
  }
  const rows: string[] = [
    "| cell | cycle | °C | case | SOC swept | EKF RMS / max (%) | EKF within 3σ | baseline RMS / max (%) | EKF converged within 2 % after | wall |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  let seed = 100;
  for (const c of cases) {
    const trace = c.cell === NMC && c.cycle === "udds" && c.temperature_C === 25 ? { t: [], truth: [], ekf: [], base: [] } : undefined;
    const r = runCase(c, seed++, trace);
    if (trace !== undefined) writeFileSync(join(repoRoot, "docs", "estimation-udds-nmc.svg"), svgPlot(trace, `Module 0 SOC, ${c.cell.label}, UDDS x${REPEATS["udds"]}, 25 °C, datasheet-typical sensors`));
    rows.push(`| ${c.cell.label} | ${c.cycle} | ${c.temperature_C} | ${c.variant} | ${r.socSwept.toFixed(0)} % | ${r.ekfRms.toFixed(2)} / ${r.ekfMax.toFixed(2)} | ${r.within3Sigma.toFixed(0)} % | ${r.baseRms.toFixed(2)} / ${r.baseMax.toFixed(2)} | ${r.convergence_s.toFixed(0)} s | ${r.wall_s.toFixed(1)} s |`);
    console.error(rows[rows.length - 1]);
  }
  // Capacity learning on partial cycles depends on where the drives cross the OCV's features, so
  // each SOH case runs with SOH_SEEDS seeds (two modules each): worst and each seed's figure.
  rows.push("", "| cell | case | capacity error after 5 partial cycles, worst (per seed) | R0 error, worst | capacity learning updates | R0 updates |", "|---|---|---|---|---|---|");
  for (const cell of [NMC, LFP]) {
    for (const aged of [false, true]) {
      const runs = SOH_SEEDS.map((offset) => runSohCase(cell, aged, seed + offset));
      seed++;
      const capacity = runs.map((r) => r.capacityError);
      const mean = (f: (r: ReturnType<typeof runSohCase>) => number): number => runs.reduce((sum, r) => sum + f(r), 0) / runs.length;
      rows.push(`| ${cell.label} | ${aged ? "aged (20 % fade, +50 % R)" : "new"} | ${Math.max(...capacity).toFixed(2)} % (${capacity.map((c) => c.toFixed(2)).join(", ")}) | ${Math.max(...runs.map((r) => r.resistanceError)).toFixed(2)} % | ${mean((r) => r.capacityUpdates).toFixed(0)} | ${mean((r) => r.resistanceUpdates).toFixed(0)} |`);
      console.error(rows[rows.length - 1]);
    }
  }
  return { rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of runEstimationBench().rows) console.log(row);
}
