// Regroup benchmark: 100,000 synthetic passports of a retired fleet regrouped into 96S1P packs.
// Reports wall time, the spread achieved against the lower bound, the sorted partition before the
// swaps and a random grouping of the same modules. Prints markdown rows for BENCHMARKS.md.
//
// The fleet (seeded, host/random.ts): source packs of 96 modules, 85 % NMC (LG M50, 4 cells in
// parallel) and 15 % LFP (Sony US26650FTC1, 8 in parallel). Each source pack has its own ageing:
// capacity SOH ~ N(0.85, 0.05), modules scattered around it (1-sigma 0.012); resistance growth is
// correlated with capacity fade (1 + 2.5 x fade, as the usual end-of-life pair 80 % capacity /
// +50 % resistance) with pack and module scatter. 1 % of modules are outliers (a weak cell: lower
// capacity and higher resistance, or a bad joint: resistance only), 3 % have an uncertain SOC
// (long storage), 0.3 % no capacity estimate yet.
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { validatePassport, type LoadedPassport, type ModulePassport } from "../host/passport/passport.ts";
import { syntheticPassport, syntheticSerial } from "../host/passport/synthetic.ts";
import { Random } from "../host/random.ts";
import { neighbourhoodBound } from "../host/regroup/bound.ts";
import { criteriaColumns, groupingObjective, regroup, type RegroupResult } from "../host/regroup/regroup.ts";

export interface RegroupBenchResult {
  rows: string[];
}

const MODULES = 100_000;
const SOURCE_PACK_MODULES = 96;
const SERIES = 96;

export function syntheticFleet(modules: number, seed: number): ModulePassport[] {
  const random = new Random(seed);
  const fleet: ModulePassport[] = [];
  while (fleet.length < modules) {
    const lfp = random.next() < 0.15;
    const packSoh = 0.85 + 0.05 * random.gaussian();
    const packGrowth = 0.05 * random.gaussian();
    const packSoc = 0.3 + 0.3 * random.next();
    for (let k = 0; k < SOURCE_PACK_MODULES && fleet.length < modules; k++) {
      let capacitySoh = packSoh + 0.012 * random.gaussian();
      let resistanceSoh = 1 + 2.5 * (1 - capacitySoh) + packGrowth + 0.03 * random.gaussian();
      const outlier = random.next();
      if (outlier < 0.005) {
        capacitySoh *= 0.75 + 0.15 * random.next();
        resistanceSoh *= 1.3 + 0.5 * random.next();
      } else if (outlier < 0.01) {
        resistanceSoh += 0.5 + 0.5 * random.next();
      }
      const uncertain = random.next() < 0.03;
      fleet.push(syntheticPassport({
        serial: syntheticSerial(0x10000000 + fleet.length),
        cellId: lfp ? "sony-us26650ftc1" : "lg-inr21700-m50",
        cellsInParallel: lfp ? 8 : 4,
        capacitySoh: random.next() < 0.003 ? null : Math.max(0.3, capacitySoh),
        resistanceSoh: Math.max(0.8, resistanceSoh),
        soc: Math.min(1, Math.max(0, packSoc + 0.01 * random.gaussian())),
        socSigma: uncertain ? 0.06 + 0.09 * random.next() : 0.015 + 0.01 * random.next(),
        equivalentFullCycles: 400 + 800 * (1 - packSoh),
      }));
    }
  }
  return fleet;
}

/** The packed modules of each class dealt at random into packs of the same size (the baseline). */
function randomPacks(result: RegroupResult, bySerial: Map<string, ModulePassport>, seed: number): { cls: RegroupResult["classes"][number]; packs: ModulePassport[][] }[] {
  const random = new Random(seed);
  const n = result.options.series * result.options.parallel;
  return result.classes.map((cls) => {
    const members = result.packs
      .filter((p) => p.chemistry === cls.chemistry && (cls.cellId === null || p.cellIds[0] === cls.cellId))
      .flatMap((p) => p.positions.flatMap((pos) => pos.serials.map((s) => bySerial.get(s)!)));
    random.shuffle(members);
    return { cls, packs: Array.from({ length: members.length / n }, (_, k) => members.slice(k * n, (k + 1) * n)) };
  });
}

/** 1 - smallest / mean module capacity of a series pack (P = 1): the share of capacity the spread costs. */
function capacityLoss(capacities: readonly number[]): number {
  return 1 - Math.min(...capacities) / (capacities.reduce((s, v) => s + v, 0) / capacities.length);
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
}

export function runRegroupBench(): RegroupBenchResult {
  const fleet = syntheticFleet(MODULES, 2026);

  const v0 = performance.now();
  const loaded: LoadedPassport[] = fleet.map((p, k) => ({ passport: validatePassport(p, `fleet[${k}]`), source: `fleet[${k}]` }));
  const validate_ms = performance.now() - v0;

  const runs: number[] = [];
  let result: RegroupResult | undefined;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    result = regroup(loaded, { series: SERIES });
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  const wall_ms = runs[1]!;
  const res = result!;
  const bySerial = new Map(fleet.map((p) => [p.public.identity.serial, p]));
  const sum = (pick: (c: RegroupResult["classes"][number]) => number): number => res.classes.reduce((s, c) => s + pick(c), 0);
  const baseline = randomPacks(res, bySerial, 7);
  const random = baseline.reduce((total, { cls, packs }) =>
    total + groupingObjective(packs, res.options.weights, { capacity_Ah: cls.capacityScale_Ah, resistance_mOhm: cls.resistanceScale_mOhm }), 0);
  const loss = mean(res.packs.map((p) => capacityLoss(p.positions.map((pos) => pos.capacity_Ah))));
  const randomLoss = mean(baseline.flatMap(({ packs }) => packs.map((pack) => capacityLoss(pack.map((m) => m.public.stateOfHealth.capacity_Ah!.value)))));
  const reasons = new Map<string, number>();
  for (const m of res.setAside) reasons.set(m.reason, (reasons.get(m.reason) ?? 0) + 1);
  const aside = [...reasons].map(([r, c]) => `${c} ${r}`).join(", ");
  const strips = res.classes.map((c) => c.packsPerStrip).join(" and ");

  // The neighbourhood bound alone, on the largest class's packed modules (same pack size and count).
  const largest = res.classes[0]!;
  const packed = res.packs.filter((p) => p.chemistry === largest.chemistry).flatMap((p) => p.positions.flatMap((pos) => pos.serials.map((s) => bySerial.get(s)!)));
  const cols = criteriaColumns(packed, res.options.weights, { capacity_Ah: largest.capacityScale_Ah, resistance_mOhm: largest.resistanceScale_mOhm });
  const b0 = performance.now();
  neighbourhoodBound(cols, SERIES, packed.length / SERIES);
  const bound_ms = performance.now() - b0;

  const x = (v: number): string => `${(v / res.lowerBound).toFixed(2)}×`;
  const rows: string[] = [];
  rows.push(`| regroup ${MODULES.toLocaleString("en")} passports into ${SERIES}S1P packs, wall (median of 3) | ${(wall_ms / 1000).toFixed(2)} s | ${res.packs.length} packs in ${res.classes.length} chemistry classes, both lower bounds included (the neighbourhood bound alone: ${(bound_ms / 1000).toFixed(2)} s for ${packed.length.toLocaleString("en")} modules); ${sum((c) => c.swaps)} swaps in ≤ ${Math.max(...res.classes.map((c) => c.passes))} passes; set aside: ${aside} |`);
  rows.push(`| validate ${MODULES.toLocaleString("en")} passports (schema + semantic checks) | ${(validate_ms / 1000).toFixed(2)} s | not included above |`);
  rows.push(`| spread objective achieved vs lower bound | ${res.objective.toFixed(2)} vs ${res.lowerBound.toFixed(2)} (${x(res.objective)}) | bounds: neighbourhood ${sum((c) => c.neighbourhoodBound).toFixed(2)}, separate criteria ${sum((c) => c.separateBound).toFixed(2)}; plain sorted partition ${sum((c) => c.sortedObjective).toFixed(1)} (${x(sum((c) => c.sortedObjective))}), Sort-Tile (${strips} packs per strip) ${sum((c) => c.tiledObjective).toFixed(2)} (${x(sum((c) => c.tiledObjective))}) before swaps; random grouping of the same modules ${random.toFixed(0)} (${x(random)}) |`);
  rows.push(`| capacity lost to the weakest series group, mean over packs | ${(loss * 100).toFixed(2)} % | random grouping of the same modules: ${(randomLoss * 100).toFixed(1)} % |`);
  return { rows };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const row of runRegroupBench().rows) console.log(row);
}
