// Output of `strata regroup`: the assignment document (JSON, docs/regroup.md "Output") and the
// human report printed to stdout.
import { SET_ASIDE_LABELS, type FormedPack, type RegroupResult, type SetAsideReason } from "./regroup.ts";

export const ASSIGNMENT_FORMAT = "strata-regroup-assignment";
export const ASSIGNMENT_FORMAT_VERSION = 1;

/** Packs listed one by one in the report; beyond it, the worst ones only. */
const LISTED_PACKS = 40;
const WORST_PACKS = 10;
/** Examples printed per set-aside reason (invalid passports: all, up to this many). */
const EXAMPLES_PER_REASON = 5;
const LISTED_INVALID = 20;

export function reasonCounts(result: RegroupResult): Partial<Record<SetAsideReason, number>> {
  const counts: Partial<Record<SetAsideReason, number>> = {};
  for (const m of result.setAside) counts[m.reason] = (counts[m.reason] ?? 0) + 1;
  return counts;
}

/** The assignment document: options, summary, classes with their bounds, packs, modules set aside. */
export function assignmentDocument(result: RegroupResult): object {
  const modulesPerPack = result.options.series * result.options.parallel;
  return {
    format: ASSIGNMENT_FORMAT,
    formatVersion: ASSIGNMENT_FORMAT_VERSION,
    options: result.options,
    summary: {
      inputs: result.inputs,
      packs: result.packs.length,
      modulesInPacks: result.packs.length * modulesPerPack,
      setAside: reasonCounts(result),
      objective: result.objective,
      lowerBound: result.lowerBound,
    },
    classes: result.classes,
    packs: result.packs,
    setAside: result.setAside,
  };
}

function num(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "n/a";
}

function count(v: number): string {
  return v.toLocaleString("en");
}

function ratio(achieved: number, bound: number): string {
  return bound > 0 ? `${num(achieved / bound, 2)}x` : achieved === 0 ? "optimal" : "bound 0";
}

function packLine(p: FormedPack, parallel: number): string {
  const s = p.spread;
  const groups = parallel > 1 ? `  ${num(p.groupCapacity_Ah.range, 3).padStart(8)}` : "";
  return `    ${p.id}  ${num(p.usableCapacity_Ah, 2).padStart(9)}  ${num(p.usableEnergy_Wh / 1000, 2).padStart(9)}  ${num(p.powerLimit_W / 1000, 1).padStart(8)}`
    + `  ${num(s.capacity_Ah.min, 2)}-${num(s.capacity_Ah.max, 2)}`.padEnd(16)
    + `  ${num(s.resistance_mOhm.min, 3)}-${num(s.resistance_mOhm.max, 3)}`.padEnd(17)
    + `  ${num(s.capacitySoh.min, 3)}-${num(s.capacitySoh.max, 3)}`.padEnd(15)
    + `${groups}  ${num(p.objective, 4).padStart(8)}`;
}

/** The report printed by `strata regroup`. */
export function formatReport(result: RegroupResult, assignmentPath: string): string {
  const o = result.options;
  const n = o.series * o.parallel;
  const lines: string[] = [];
  const requested = o.packs === null ? "as many as possible" : `${o.packs} requested`;
  lines.push(`Strata regroup: ${count(result.inputs)} passports -> ${result.packs.length} packs of ${o.series}S${o.parallel}P (${n} modules each; ${requested})`);
  lines.push(`  thresholds  capacity SOH >= ${o.minCapacitySoh}, resistance SOH <= ${o.maxResistanceSoh}, SOC 1-sigma <= ${num(o.maxSocSigma * 100, 1)} %`
    + `; chemistry ${o.chemistry === null ? "never mixed" : `'${o.chemistry}' only`}; cell id ${o.matchCell ? "must match" : "may differ"} within a pack`);
  lines.push(`  objective   sum over packs of ranges: capacity x ${o.weights.capacity}, resistance x ${o.weights.resistance}, capacity SOH x ${o.weights.soh} (capacity and resistance relative to the class median rating)`);
  if (o.packs !== null && result.packs.length < o.packs) lines.push(`  NOTE: only ${result.packs.length} of the ${o.packs} packs requested could be formed`);

  lines.push("", "  classes");
  for (const c of result.classes) {
    const name = c.cellId === null ? c.chemistry : `${c.chemistry}, ${c.cellId}`;
    lines.push(`    ${name}: ${count(c.eligible)} eligible -> ${c.packs} packs`);
    if (c.packs === 0) continue;
    lines.push(`      objective ${num(c.objective, 4)} vs lower bound ${num(c.lowerBound, 4)} (${ratio(c.objective, c.lowerBound)}); bounds: neighbourhood ${num(c.neighbourhoodBound, 4)}, separate criteria ${num(c.separateBound, 4)}`);
    lines.push(`      sorted partition ${num(c.sortedObjective, 4)}, Sort-Tile (${c.packsPerStrip} packs per strip) ${num(c.tiledObjective, 4)}, then ${c.swaps} swaps in ${c.passes} passes`);
  }
  if (result.classes.length > 1) lines.push(`    all classes: objective ${num(result.objective, 4)} vs lower bound ${num(result.lowerBound, 4)} (${ratio(result.objective, result.lowerBound)})`);

  if (result.packs.length > 0) {
    const groupHeader = o.parallel > 1 ? "  group Ah" : "";
    lines.push("", `  packs       usable Ah  usable kWh  power kW  capacity Ah     resistance mOhm  capacity SOH${groupHeader}  objective`);
    const listed = result.packs.length <= LISTED_PACKS
      ? result.packs
      : [...result.packs].sort((a, b) => b.objective - a.objective).slice(0, WORST_PACKS);
    if (listed.length < result.packs.length) lines.push(`    (the ${WORST_PACKS} packs with the largest objective of ${result.packs.length}; all are in the assignment)`);
    for (const p of listed) lines.push(packLine(p, o.parallel));
    const usable = result.packs.map((p) => p.usableCapacity_Ah).sort((a, b) => a - b);
    lines.push(`    usable capacity over packs: min ${num(usable[0]!, 2)} Ah, median ${num(usable[usable.length >> 1]!, 2)} Ah, max ${num(usable[usable.length - 1]!, 2)} Ah`);
  }

  const counts = reasonCounts(result);
  const reasons = (Object.keys(SET_ASIDE_LABELS) as SetAsideReason[]).filter((r) => (counts[r] ?? 0) > 0);
  lines.push("", `  set aside: ${count(result.setAside.length)} modules`);
  for (const reason of reasons) {
    const members = result.setAside.filter((m) => m.reason === reason);
    lines.push(`    ${SET_ASIDE_LABELS[reason]}: ${count(members.length)}`);
    if (reason === "invalid-passport") {
      for (const m of members.slice(0, LISTED_INVALID)) lines.push(...m.detail.split("\n").map((line, k) => `      ${k === 0 ? "" : "  "}${line.trim()}`));
      if (members.length > LISTED_INVALID) lines.push(`      ... and ${members.length - LISTED_INVALID} more in the assignment`);
      lines.push("      (these passports were skipped; fix them, or run with --strict to stop at the first)");
      continue;
    }
    for (const m of members.slice(0, EXAMPLES_PER_REASON)) lines.push(`      ${m.serial ?? "?"}  ${m.detail}  (${m.source})`);
    if (members.length > EXAMPLES_PER_REASON) lines.push(`      ... and ${count(members.length - EXAMPLES_PER_REASON)} more in the assignment`);
  }
  lines.push("", `  assignment: ${assignmentPath}`);
  return lines.join("\n");
}
