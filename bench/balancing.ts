// Balancing benchmark (docs/balancing.md): the real firmware (nodes and controller) balancing a pack
// whose modules start with a 10-point SOC spread, judged on the plant's truth against the physical
// minima of bench/balancing-limits.ts. Strategies: the voltage-threshold baseline, the SOC-based
// passive planner and the active planner (energy bus and bleeds); pack variants: equal
// capacities, and a 5 % capacity spread from prior ageing. Times are simulated time.
// Also writes docs/balancing-spread.svg (spread over time, equal capacities).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../host/abi.ts";
import { Simulation } from "../host/sim.ts";
import { validateScenario } from "../host/scenarios/scenario.ts";
import { EcmPack } from "../host/plant/ecm-pack.ts";
import type { Module } from "../host/plant/module.ts";
import {
  usableCapacity_Ah, maximumUsableCapacity_Ah, passiveExcess_Ah, passiveMinimumDissipation_J, activeMinimumTime_s,
  type BalanceModuleState,
} from "./balancing-limits.ts";

export type BalancingStrategyName = "none" | "voltage" | "soc" | "active";

export interface BalancingPackOptions {
  strategy: BalancingStrategyName;
  /** Module SOCs, one per module (the pack size). */
  socs: readonly number[];
  cell?: string;
  parallel?: number;
  /** Capacity each module lost to prior cycle ageing (0.05 = 5 % below nominal). */
  capacityFade?: readonly number[];
  seed?: number;
  /** Load segments (default: rest); extra scenario fields. */
  load?: unknown[];
  extra?: Record<string, unknown>;
}

/** A pack of the given module SOCs and capacity fades, set on the plant before the nodes' first measurement. */
export function balancingPack(o: BalancingPackOptions): Simulation {
  const sim = new Simulation(validateScenario({
    name: "balancing", seed: o.seed ?? 11, balancing: o.strategy, activeBalancing: o.strategy === "active",
    pack: { modules: o.socs.length, model: "ecm", cell: o.cell ?? "lg-inr21700-m50", parallel: o.parallel ?? 1, initialSoc: 0.5 },
    load: o.load ?? [{ type: "rest", duration_s: 1e6 }],
    ...o.extra,
  }, "balancing"));
  plantModules(sim).forEach((m, i) => {
    const fade = o.capacityFade?.[i] ?? 0;
    for (const cell of m.cells) cell.setState({ soc: o.socs[i]!, ...(fade > 0 ? { capacityLossCycle: fade } : {}) });
  });
  return sim;
}

export function plantModules(sim: Simulation): readonly Module[] {
  if (!(sim.plant instanceof EcmPack)) throw new Error("balancing needs the ecm plant (a bleed path and converters)");
  return sim.plant.pack.modules;
}

/** The plant's truth, as bench/balancing-limits.ts takes it. */
export function plantTruth(sim: Simulation): BalanceModuleState[] {
  return plantModules(sim).map((m) => ({ soc: m.soc, capacity_Ah: m.capacity_Ah, voltage_V: m.voltage_V }));
}

/**
 * 1 - U / Q_min on the plant's truth: the part of the largest possible usable capacity the string
 * misses (0 balanced). With equal capacities it is the SOC spread, max - min.
 */
export function usableShortfall(modules: readonly BalanceModuleState[]): number {
  return 1 - usableCapacity_Ah(modules) / maximumUsableCapacity_Ah(modules);
}

/**
 * Least time for a removal-only balancer to bring the shortfall to `shortfall`: the bleed b_i must
 * give module i the room C* - s Q_min (U = D + C with D kept), so b_i = max(0, excess_i - s Q_min),
 * all at once at full duty (V_i / R).
 */
export function passiveMinimumTimeTo_s(modules: readonly BalanceModuleState[], bleedResistance_Ohm: number, shortfall: number): number {
  const excess = passiveExcess_Ah(modules);
  const slack = shortfall * maximumUsableCapacity_Ah(modules);
  return Math.max(0, ...modules.map((m, i) => (Math.max(0, excess[i]! - slack) * 3600) / (m.voltage_V / bleedResistance_Ohm)));
}

/**
 * Least energy an active balancer (with bleeds) dissipates to reach the maximum usable capacity,
 * J, whatever the time: for a level d the receivers must take A = sum max(0, d - q_i) k_i, which
 * costs A / eta^2 from the donors (the conversion loss A (1/eta^2 - 1)); the donors must shed at
 * least S = sum max(0, q_i - d - w_i) k_i and what the bus does not need is bled. Loss(d) =
 * max(S, A / eta^2) - A, minimised over d in [0, Q_min] (piecewise linear: a fine grid suffices);
 * a level the donors cannot supply (A / eta^2 above their whole sum max(0, q_i - d) k_i) is skipped.
 */
export function activeMinimumLoss_J(modules: readonly BalanceModuleState[], efficiency: number): number {
  const qMin = maximumUsableCapacity_Ah(modules);
  let best = Infinity;
  const steps = 20000;
  for (let s = 0; s <= steps; s++) {
    const d = (qMin * s) / steps;
    let absorb = 0;
    let mustShed = 0;
    let mayShed = 0;
    for (const m of modules) {
      const q = Math.min(1, Math.max(0, m.soc)) * m.capacity_Ah;
      const k = 3600 * m.voltage_V;
      absorb += Math.max(0, d - q) * k;
      mustShed += Math.max(0, q - d - (m.capacity_Ah - qMin)) * k;
      mayShed += Math.max(0, q - d) * k;
    }
    const supply = absorb / (efficiency * efficiency);
    if (supply > mayShed) continue;
    best = Math.min(best, Math.max(mustShed, supply) - absorb);
  }
  return best;
}

/** The bench pack: 12 modules of 2 LG M50 in parallel at rest, SOCs 55 ... 65 % in a shuffled order. */
const BENCH_ORDER = [5, 0, 9, 3, 11, 7, 1, 10, 4, 8, 2, 6];
export const BENCH_SOCS = BENCH_ORDER.map((k) => 0.55 + (0.1 * k) / 11);
/** The capacity-spread variant: fades 0 ... 5 % in another order (the largest fade not on the highest SOC). */
export const BENCH_FADES = [3, 8, 0, 11, 5, 1, 9, 6, 2, 10, 4, 7].map((k) => (0.05 * k) / 11);
const BLEED_OHM = 33;
const EFFICIENCY = 0.92;
const POWER_LIMIT_W = 36;
const TARGET = 0.005;
/** A run ends once nothing has bled or converted for this long (after the voltage baseline's 600 s rest wait). */
const SETTLE_s = 1800;
const TRACE_PERIOD_s = 30;

export interface BalancingRun {
  strategy: BalancingStrategyName;
  variant: string;
  /** Simulated time to a shortfall <= 0.5 %, s (NaN: never). */
  time_s: number;
  /** Physical minimum for the same (passive: to 0.5 %; active: to full balance). */
  minimum_s: number;
  /** The controller's planned time at the start of its plan over the minimum to full balance. */
  plannedRatio: number;
  dissipated_J: number;
  minimumDissipation_J: number;
  usableBefore_Ah: number;
  usableAfter_Ah: number;
  usableMaximum_Ah: number;
  finalShortfall: number;
  simulated_s: number;
  trace: { t_s: number; shortfall: number }[];
}

export function balancingRun(strategy: BalancingStrategyName, variant: string, fades: readonly number[] | undefined): BalancingRun {
  const sim = balancingPack({ strategy, socs: BENCH_SOCS, parallel: 2, seed: 7, ...(fades !== undefined ? { capacityFade: fades } : {}) });
  const c = sim.controller.exports;
  const modules = plantModules(sim);
  const bus = sim.energyBus;
  sim.step();
  const start = plantTruth(sim);
  const fullPassive_s = passiveMinimumTimeTo_s(start, BLEED_OHM, 0);
  const active = activeMinimumTime_s(start, { efficiency: EFFICIENCY, powerLimit_W: POWER_LIMIT_W, bleedResistance_Ohm: BLEED_OHM });
  const minimum_s = strategy === "active" ? active.time_s : passiveMinimumTimeTo_s(start, BLEED_OHM, TARGET);
  const fullMinimum_s = strategy === "active" ? active.time_s : fullPassive_s;
  const limit_s = (strategy === "active" ? 20 * active.time_s : 1.5 * fullPassive_s) + 2 * SETTLE_s;
  const trace: { t_s: number; shortfall: number }[] = [{ t_s: 0, shortfall: usableShortfall(start) }];
  let bled_J = 0;
  let time_s = Number.NaN;
  let planned = Number.NaN;
  let lastActivity_s = 0;
  let nextTrace = TRACE_PERIOD_s;
  const dt_s = sim.tickPeriod_ms / 1000;
  while (sim.time_s < limit_s) {
    sim.step();
    let active = false;
    for (const m of modules) {
      const bleed_W = m.bleedCurrent_A * m.voltage_V;
      bled_J += bleed_W * dt_s;
      if (bleed_W > 0 || m.converterPower_W !== 0) active = true;
    }
    if (active) lastActivity_s = sim.time_s;
    if (Number.isNaN(planned) && active) planned = c.balancingPlannedTime_s();
    if (sim.time_s >= nextTrace - 1e-9) {
      nextTrace += TRACE_PERIOD_s;
      const shortfall = usableShortfall(plantTruth(sim));
      trace.push({ t_s: sim.time_s, shortfall });
      if (Number.isNaN(time_s) && shortfall <= TARGET) time_s = sim.time_s;
    }
    if (sim.time_s - lastActivity_s > SETTLE_s && sim.time_s > 1200) break;
  }
  const end = plantTruth(sim);
  const lost_J = bus?.energyLost_J ?? 0;
  return {
    strategy, variant, time_s, minimum_s,
    plannedRatio: planned / fullMinimum_s,
    dissipated_J: bled_J + lost_J,
    minimumDissipation_J: strategy === "active" ? activeMinimumLoss_J(start, EFFICIENCY) : passiveMinimumDissipation_J(start),
    usableBefore_Ah: usableCapacity_Ah(start),
    usableAfter_Ah: usableCapacity_Ah(end),
    usableMaximum_Ah: maximumUsableCapacity_Ah(start),
    finalShortfall: usableShortfall(end),
    simulated_s: sim.time_s,
    trace,
  };
}

const LABEL: Record<BalancingStrategyName, string> = { none: "none", voltage: "passive, voltage (baseline)", soc: "passive, SOC-based", active: "active + bleeds" };
const COLOUR: Record<BalancingStrategyName, string> = { none: "#888", voltage: "#d62728", soc: "#1f77b4", active: "#2ca02c" };

/** Spread (usable-capacity shortfall) over time, log time axis so minutes and hours both show. */
export function spreadSvg(runs: readonly BalancingRun[]): string {
  const width = 720;
  const height = 400;
  const left = 60;
  const right = 20;
  const top = 30;
  const bottom = 50;
  const t0 = 30;
  const t1 = Math.max(...runs.map((r) => r.simulated_s));
  const yMax = Math.max(...runs.map((r) => r.trace[0]!.shortfall)) * 100;
  const round = (v: number): number => Math.round(v * 10) / 10;
  const x = (t: number): number => round(left + ((Math.log10(Math.max(t, t0)) - Math.log10(t0)) / (Math.log10(t1) - Math.log10(t0))) * (width - left - right));
  const y = (percent: number): number => round(top + (1 - percent / yMax) * (height - top - bottom));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">12 x 2P LG M50 at rest, 10-point SOC spread: usable-capacity shortfall (plant truth)</text>`,
    `<line x1="${left}" y1="${y(0)}" x2="${width - right}" y2="${y(0)}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${y(0)}" stroke="black"/>`,
  ];
  for (const [t, label] of [[60, "1 min"], [600, "10 min"], [3600, "1 h"], [4 * 3600, "4 h"], [10 * 3600, "10 h"]] as const) {
    if (t < t0 || t > t1) continue;
    parts.push(`<line x1="${x(t)}" y1="${y(0)}" x2="${x(t)}" y2="${y(0) + 5}" stroke="black"/><text x="${x(t)}" y="${y(0) + 18}" text-anchor="middle">${label}</text>`);
  }
  for (let p = 0; p <= yMax + 1e-9; p += 2) {
    parts.push(`<line x1="${left - 5}" y1="${y(p)}" x2="${left}" y2="${y(p)}" stroke="black"/><text x="${left - 8}" y="${y(p) + 4}" text-anchor="end">${p} %</text>`);
  }
  parts.push(`<line x1="${left}" y1="${y(TARGET * 100)}" x2="${width - right}" y2="${y(TARGET * 100)}" stroke="#999" stroke-dasharray="4 4"/>`);
  parts.push(`<text x="${width - right}" y="${y(TARGET * 100) - 4}" text-anchor="end" fill="#666">target 0.5 %</text>`);
  parts.push(`<text x="${width / 2}" y="${height - 12}" text-anchor="middle">simulated time (log scale)</text>`);
  runs.forEach((run, k) => {
    const points = run.trace.filter((p) => p.t_s >= t0).map((p) => `${x(p.t_s)},${y(p.shortfall * 100)}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${COLOUR[run.strategy]}" stroke-width="2" points="${points}"/>`);
    parts.push(`<rect x="${left + 20}" y="${top + 10 + 18 * k}" width="14" height="3" fill="${COLOUR[run.strategy]}"/><text x="${left + 40}" y="${top + 15 + 18 * k}">${LABEL[run.strategy]}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function fmtTime(s: number): string {
  if (Number.isNaN(s)) return "not reached";
  return s >= 3600 ? `${(s / 3600).toFixed(2)} h` : `${s.toFixed(0)} s`;
}

export function runBalancingBench(): { rows: string[] } {
  const rows: string[] = [
    "| pack | strategy | time to shortfall ≤ 0.5 % | physical minimum | ratio | planned / minimum | final shortfall | dissipated | minimum dissipation | usable capacity gained (of possible) |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  const runs: BalancingRun[] = [];
  for (const [variant, fades] of [["equal capacities", undefined], ["capacities 0-5 % faded", BENCH_FADES]] as const) {
    for (const strategy of ["voltage", "soc", "active"] as const) {
      const r = balancingRun(strategy, variant, fades);
      if (fades === undefined) runs.push(r);
      const ratio = Number.isNaN(r.time_s) ? "–" : `${(r.time_s / r.minimum_s).toFixed(2)}`;
      const planned = Number.isNaN(r.plannedRatio) ? "–" : r.plannedRatio.toFixed(2);
      const gained = r.usableAfter_Ah - r.usableBefore_Ah;
      const possible = r.usableMaximum_Ah - r.usableBefore_Ah;
      rows.push(`| ${variant} | ${LABEL[strategy]} | ${fmtTime(r.time_s)} | ${fmtTime(r.minimum_s)} | ${ratio} | ${planned} | ${(r.finalShortfall * 100).toFixed(2)} % | ${(r.dissipated_J / 1000).toFixed(1)} kJ | ${(r.minimumDissipation_J / 1000).toFixed(1)} kJ | ${gained.toFixed(3)} of ${possible.toFixed(3)} Ah |`);
    }
  }
  writeFileSync(join(repoRoot, "docs", "balancing-spread.svg"), spreadSvg(runs));
  rows.push("", "Shortfall = 1 − U/Q_min on the plant's true charges and capacities (the SOC spread for equal capacities). Minimum: passive = largest excess above the 0.5 % slack over its bleed current; active = `activeMinimumTime_s` to full balance. Minimum dissipation: passive = Σ b_i V_i; active = least loss over the level d with converters at 92 % and bleeds. Spread over time: `docs/balancing-spread.svg`.");
  return { rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of runBalancingBench().rows) console.log(row);
}
