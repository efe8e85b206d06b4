// Regrouping second-life modules into new packs from their passports. docs/regroup.md states the
// objective, argues the optimality of the sorted partition and the lower bounds, and describes the
// output. This file holds the steps that know about passports:
//   1. screening: thresholds, missing data, duplicates -> modules set aside with a reason;
//   2. classes: chemistry (always) and cell id (unless mixing is allowed) never mix in a pack;
//   3. criteria: capacity, resistance and capacity SOH per module, normalised and weighted, so a
//      pack's cost is the sum of its weighted ranges;
// and hands the numbers to partition.ts (sort, exact window choice, Sort-Tile, swaps, series
// groups) and bound.ts (lower bounds), then describes each pack.
// Everything is deterministic: modules are put in serial order first and every tie breaks on it.
import type { LoadedPassport, ModulePassport, RejectedPassport } from "../passport/passport.ts";
import { neighbourhoodBound, separateBound } from "./bound.ts";
import { balanceGroups, bestWindows, groupCost, PackSet, principalAxes, project, tile, type Columns, type Tiling } from "./partition.ts";

export interface RegroupWeights {
  /** Weight of the range of capacity / (class median nominal capacity). */
  capacity: number;
  /** Weight of the range of resistance / (class median initial resistance). */
  resistance: number;
  /** Weight of the range of capacity SOH. */
  soh: number;
}

export interface RegroupOptions {
  /** Series groups per pack (S). */
  series: number;
  /** Modules in parallel per series group (P). */
  parallel: number;
  /** Packs wanted; null = as many as possible. */
  packs: number | null;
  minCapacitySoh: number;
  maxResistanceSoh: number;
  /** Largest acceptable 1-sigma of the SOC estimate (fraction). */
  maxSocSigma: number;
  /** Keep only this chemistry; null = every chemistry, each in packs of its own. */
  chemistry: string | null;
  /** Cell id must match within a pack (chemistry always must). */
  matchCell: boolean;
  weights: RegroupWeights;
  /** Bound on the improvement passes over all packs. */
  maxPasses: number;
}

export const DEFAULT_REGROUP_OPTIONS: Omit<RegroupOptions, "series"> = {
  parallel: 1,
  packs: null,
  minCapacitySoh: 0.7,
  maxResistanceSoh: 2,
  maxSocSigma: 0.05,
  chemistry: null,
  matchCell: true,
  weights: { capacity: 1, resistance: 0.5, soh: 0.25 },
  maxPasses: 8,
};

export type SetAsideReason =
  | "invalid-passport"
  | "duplicate-serial"
  | "chemistry-mismatch"
  | "missing-data"
  | "soc-uncertain"
  | "capacity-soh-low"
  | "resistance-high"
  | "leftover";

export const SET_ASIDE_LABELS: Record<SetAsideReason, string> = {
  "invalid-passport": "invalid passport",
  "duplicate-serial": "duplicate serial (older record)",
  "chemistry-mismatch": "chemistry mismatch",
  "missing-data": "missing data",
  "soc-uncertain": "SOC uncertain",
  "capacity-soh-low": "capacity SOH too low",
  "resistance-high": "resistance too high",
  leftover: "leftover (no room in a pack)",
};

export interface SetAsideModule {
  /** null when the passport could not be read. */
  serial: string | null;
  source: string;
  reason: SetAsideReason;
  detail: string;
}

export interface Spread {
  min: number;
  max: number;
  range: number;
}

export interface PackPosition {
  /** Series position, 1..S. */
  position: number;
  /** The P modules of this series group. */
  serials: string[];
  capacity_Ah: number;
  /** The group's parallel resistance. */
  resistance_mOhm: number;
}

export interface FormedPack {
  id: string;
  chemistry: string;
  cellIds: string[];
  positions: PackPosition[];
  /** Module-level spreads. */
  spread: { capacity_Ah: Spread; resistance_mOhm: Spread; capacitySoh: Spread; resistanceSoh: Spread };
  /** Weighted sum of normalised ranges (docs/regroup.md, objective). */
  objective: number;
  groupCapacity_Ah: Spread;
  groupResistance_mOhm: Spread;
  /** Smallest series-group capacity: what the pack delivers once balanced. */
  usableCapacity_Ah: number;
  usableEnergy_Wh: number;
  /** Discharge power at which the highest-resistance group reaches its minimum voltage (nominal OCV, 25 degC, ohmic only). */
  powerLimit_W: number;
}

export interface ClassSummary {
  chemistry: string;
  /** null when cells may mix within the chemistry. */
  cellId: string | null;
  eligible: number;
  packs: number;
  capacityScale_Ah: number;
  resistanceScale_mOhm: number;
  /** Cost of the plain sorted partition (consecutive blocks of the combined key). */
  sortedObjective: number;
  /** Packs per strip of the Sort-Tile partition chosen (1 = the plain sorted partition). */
  packsPerStrip: number;
  /** Cost of the Sort-Tile partition, before the swaps. */
  tiledObjective: number;
  /** Cost after the swaps: what the packs have. */
  objective: number;
  /** Each criterion partitioned optimally on its own. */
  separateBound: number;
  /** From each module's (n-1)-th nearest neighbour. */
  neighbourhoodBound: number;
  /** The larger of the two bounds. */
  lowerBound: number;
  swaps: number;
  passes: number;
}

export interface RegroupResult {
  options: RegroupOptions;
  inputs: number;
  packs: FormedPack[];
  setAside: SetAsideModule[];
  classes: ClassSummary[];
  objective: number;
  lowerBound: number;
}

/** Fills defaults and checks every option; throws an Error naming the option. */
export function resolveOptions(partial: Partial<RegroupOptions> & { series: number }): RegroupOptions {
  const o: RegroupOptions = { ...DEFAULT_REGROUP_OPTIONS, ...partial, weights: { ...DEFAULT_REGROUP_OPTIONS.weights, ...partial.weights } };
  const whole = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be a whole number >= ${min}, got ${v}`);
  };
  whole("series", o.series, 1);
  whole("parallel", o.parallel, 1);
  if (o.packs !== null) whole("packs", o.packs, 1);
  whole("maxPasses", o.maxPasses, 0);
  if (!(o.minCapacitySoh >= 0)) throw new Error(`minCapacitySoh must be >= 0, got ${o.minCapacitySoh}`);
  if (!(o.maxResistanceSoh > 0)) throw new Error(`maxResistanceSoh must be > 0, got ${o.maxResistanceSoh}`);
  if (!(o.maxSocSigma >= 0)) throw new Error(`maxSocSigma must be >= 0, got ${o.maxSocSigma}`);
  const w = o.weights;
  if (![w.capacity, w.resistance, w.soh].every((x) => x >= 0 && Number.isFinite(x)) || w.capacity + w.resistance + w.soh === 0) {
    throw new Error(`weights must be finite, >= 0 and not all 0, got ${w.capacity},${w.resistance},${w.soh}`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// 1. Screening

interface Candidate {
  serial: string;
  source: string;
  passport: ModulePassport;
  capacity_Ah: number;
  resistance_mOhm: number;
  capacitySoh: number;
  resistanceSoh: number;
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Newer record first: higher sequence, then later writtenAt, then the first source. */
function newerFirst(a: LoadedPassport, b: LoadedPassport): number {
  return b.passport.record.sequence - a.passport.record.sequence
    || Date.parse(b.passport.record.writtenAt) - Date.parse(a.passport.record.writtenAt)
    || byString(a.source, b.source);
}

/** Keeps the newest record of each serial; the others are set aside. Returns the kept ones in serial order. */
function dropDuplicates(loaded: readonly LoadedPassport[], setAside: SetAsideModule[]): LoadedPassport[] {
  const serialOf = (e: LoadedPassport): string => e.passport.public.identity.serial;
  const sorted = [...loaded].sort((a, b) => byString(serialOf(a), serialOf(b)));
  const kept: LoadedPassport[] = [];
  for (let start = 0; start < sorted.length;) {
    let end = start + 1;
    while (end < sorted.length && serialOf(sorted[end]!) === serialOf(sorted[start]!)) end++;
    const same = sorted.slice(start, end).sort(newerFirst);
    const newest = same[0]!;
    kept.push(newest);
    for (const older of same.slice(1)) {
      setAside.push({ serial: serialOf(older), source: older.source, reason: "duplicate-serial", detail: `superseded by ${newest.source} (record ${newest.passport.record.sequence})` });
    }
    start = end;
  }
  return kept;
}

function screen(entry: LoadedPassport, o: RegroupOptions): Candidate | SetAsideModule {
  const p = entry.passport.public;
  const serial = p.identity.serial;
  const out = (reason: SetAsideReason, detail: string): SetAsideModule => ({ serial, source: entry.source, reason, detail });
  if (o.chemistry !== null && p.identity.chemistry !== o.chemistry) return out("chemistry-mismatch", `chemistry '${p.identity.chemistry}', wanted '${o.chemistry}'`);
  const soc = p.stateOfCharge;
  const { capacity_Ah, capacitySoh, resistance_mOhm, resistanceSoh } = p.stateOfHealth;
  if (soc === null || capacity_Ah === null || capacitySoh === null || resistance_mOhm === null || resistanceSoh === null) {
    const missing = [soc === null ? "stateOfCharge" : "", capacity_Ah === null ? "stateOfHealth.capacity_Ah" : "", resistance_mOhm === null ? "stateOfHealth.resistance_mOhm" : ""];
    return out("missing-data", `no ${missing.filter((s) => s !== "").join(", ")}`);
  }
  if (soc.sigma > o.maxSocSigma) return out("soc-uncertain", `SOC 1-sigma ${(soc.sigma * 100).toFixed(1)} % > ${(o.maxSocSigma * 100).toFixed(1)} %`);
  if (capacitySoh < o.minCapacitySoh) return out("capacity-soh-low", `capacity SOH ${capacitySoh.toFixed(3)} < ${o.minCapacitySoh}`);
  if (resistanceSoh > o.maxResistanceSoh) return out("resistance-high", `resistance SOH ${resistanceSoh.toFixed(3)} > ${o.maxResistanceSoh}`);
  return {
    serial,
    source: entry.source,
    passport: entry.passport,
    capacity_Ah: capacity_Ah.value,
    resistance_mOhm: resistance_mOhm.value,
    capacitySoh,
    resistanceSoh,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Criteria

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface CriteriaScales {
  capacity_Ah: number;
  resistance_mOhm: number;
}

/** A class's normalisation: the median nominal capacity and the median initial resistance of its modules. */
export function classScales(passports: readonly ModulePassport[]): CriteriaScales {
  return {
    capacity_Ah: median(passports.map((p) => p.public.identity.nominalCapacity_Ah)),
    resistance_mOhm: median(passports.map((p) => p.public.stateOfHealth.initialResistance_mOhm)),
  };
}

/**
 * The criteria columns of a set of modules: capacity / scale, resistance / scale and capacity SOH,
 * each times its weight, so a group's cost is the sum of its ranges (partition.ts groupCost).
 */
export function criteriaColumns(passports: readonly ModulePassport[], weights: RegroupWeights, scales: CriteriaScales): Columns {
  const cols = [new Float64Array(passports.length), new Float64Array(passports.length), new Float64Array(passports.length)] as const;
  passports.forEach((p, i) => {
    const soh = p.public.stateOfHealth;
    cols[0][i] = (weights.capacity * soh.capacity_Ah!.value) / scales.capacity_Ah;
    cols[1][i] = (weights.resistance * soh.resistance_mOhm!.value) / scales.resistance_mOhm;
    cols[2][i] = weights.soh * soh.capacitySoh!;
  });
  return cols;
}

/**
 * The objective of any grouping (docs/regroup.md): the sum over groups of the weighted, normalised
 * ranges of capacity, resistance and capacity SOH. Lets a caller score a grouping of its own.
 */
export function groupingObjective(groups: readonly (readonly ModulePassport[])[], weights: RegroupWeights, scales: CriteriaScales): number {
  return groups.reduce((total, group) => total + groupCost(criteriaColumns(group, weights, scales), Array.from(group.keys())), 0);
}

// ---------------------------------------------------------------------------------------------
// Putting it together

function spreadOf(values: readonly number[]): Spread {
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min, max, range: max - min };
}

function describePack(id: string, chemistry: string, modules: readonly Candidate[], o: RegroupOptions, objective: number): FormedPack {
  const groups = balanceGroups(modules.map((m) => m.capacity_Ah), o.series, o.parallel);
  const positions = groups.map((group, g): PackPosition => {
    const members = group.map((i) => modules[i]!).sort((a, b) => byString(a.serial, b.serial));
    return {
      position: g + 1,
      serials: members.map((m) => m.serial),
      capacity_Ah: members.reduce((s, m) => s + m.capacity_Ah, 0),
      resistance_mOhm: 1 / members.reduce((s, m) => s + 1 / m.resistance_mOhm, 0),
    };
  });
  // Groups of one series position share one voltage; a module's window is its cell's.
  const windows = groups.map((group) => {
    const ids = group.map((i) => modules[i]!.passport.public.identity);
    return { nominal_V: ids.reduce((s, id) => s + id.nominalVoltage_V, 0) / ids.length, min_V: Math.max(...ids.map((id) => id.minVoltage_V)) };
  });
  const usable_Ah = Math.min(...positions.map((p) => p.capacity_Ah));
  const maxCurrent_A = Math.min(...positions.map((p, g) => (windows[g]!.nominal_V - windows[g]!.min_V) / (p.resistance_mOhm / 1000)));
  const powerLimit_W = positions.reduce((s, p, g) => s + (windows[g]!.nominal_V - (p.resistance_mOhm / 1000) * maxCurrent_A) * maxCurrent_A, 0);
  return {
    id,
    chemistry,
    cellIds: [...new Set(modules.map((m) => m.passport.public.identity.cellId))].sort(),
    positions,
    spread: {
      capacity_Ah: spreadOf(modules.map((m) => m.capacity_Ah)),
      resistance_mOhm: spreadOf(modules.map((m) => m.resistance_mOhm)),
      capacitySoh: spreadOf(modules.map((m) => m.capacitySoh)),
      resistanceSoh: spreadOf(modules.map((m) => m.resistanceSoh)),
    },
    objective,
    groupCapacity_Ah: spreadOf(positions.map((p) => p.capacity_Ah)),
    groupResistance_mOhm: spreadOf(positions.map((p) => p.resistance_mOhm)),
    usableCapacity_Ah: usable_Ah,
    usableEnergy_Wh: usable_Ah * windows.reduce((s, w) => s + w.nominal_V, 0),
    powerLimit_W,
  };
}

interface ModuleClass {
  chemistry: string;
  cellId: string | null;
  modules: Candidate[];
}

interface SolvedClass {
  summary: ClassSummary;
  /** Packs as indices into the class's modules, healthiest (highest key) first. */
  packs: number[][];
  costs: number[];
  leftovers: number[];
}

/** Strip widths (packs per strip) tried by the Sort-Tile step: 1 (the plain sort) and around the balance point. */
function stripCandidates(packs: number, key: Float64Array, second: Float64Array, selected: readonly number[]): number[] {
  const deviation = (values: Float64Array): number => {
    let sum = 0, squares = 0;
    for (const i of selected) { sum += values[i]!; squares += values[i]! * values[i]!; }
    const mean = sum / selected.length;
    return Math.sqrt(Math.max(0, squares / selected.length - mean * mean));
  };
  // A strip of q packs is about q/m of the first axis wide and cuts the second into q: a pack
  // spans ~ w1 q/m + w2/q, least at q = sqrt(m w2 / w1).
  const w1 = deviation(key), w2 = deviation(second);
  const balance = w1 > 0 ? Math.sqrt((packs * w2) / w1) : 1;
  const candidates = new Set<number>([1]);
  for (let j = -2; j <= 2; j++) candidates.add(Math.min(packs, Math.max(1, Math.round(balance * 2 ** (j / 2)))));
  return [...candidates].sort((a, b) => a - b);
}

function solveClass(cls: ModuleClass, packs: number, o: RegroupOptions): SolvedClass {
  const n = o.series * o.parallel;
  const modules = cls.modules;
  const count = modules.length;
  const passports = modules.map((m) => m.passport);
  const scales = classScales(passports);
  const summary = {
    chemistry: cls.chemistry, cellId: cls.cellId, eligible: count, packs,
    capacityScale_Ah: scales.capacity_Ah, resistanceScale_mOhm: scales.resistance_mOhm,
  };
  if (packs === 0) {
    const none = { sortedObjective: 0, packsPerStrip: 1, tiledObjective: 0, objective: 0, separateBound: 0, neighbourhoodBound: 0, lowerBound: 0, swaps: 0, passes: 0 };
    return { summary: { ...summary, ...none }, packs: [], costs: [], leftovers: modules.map((_, i) => i) };
  }
  const cols = criteriaColumns(passports, o.weights, scales);
  const separate = separateBound(cols, n, packs);
  const neighbourhood = neighbourhoodBound(cols, n, packs);

  const [axis1, axis2] = principalAxes(cols);
  const key = project(cols, axis1);
  const second = project(cols, axis2);
  const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => key[a]! - key[b]! || a - b);
  const { starts } = bestWindows(Float64Array.from(order, (i) => key[i]!), n, packs);
  const inPack = new Uint8Array(count);
  const selected = starts.flatMap((start) => order.slice(start, start + n));
  for (const i of selected) inPack[i] = 1;

  const costOf = (tiling: Tiling): number => tiling.packs.reduce((s, pack) => s + groupCost(cols, pack), 0);
  const tilings = stripCandidates(packs, key, second, selected).map((q) => ({ q, tiling: tile(selected, second, n, q) }));
  const scored = tilings.map((t) => ({ ...t, cost: costOf(t.tiling) }));
  const chosen = scored.reduce((best, t) => (t.cost < best.cost ? t : best));
  const plain = scored.find((t) => t.q === 1)!;
  const set = new PackSet(cols, key, n, chosen.tiling.packs, chosen.tiling.pairs, order.filter((i) => inPack[i] === 0));
  set.improve(o.maxPasses);

  const meanKey = (pack: number[]): number => pack.reduce((s, i) => s + key[i]!, 0) / pack.length;
  const result = Array.from({ length: packs }, (_, k) => ({ pack: set.pack(k), cost: set.cost[k]! }))
    .map((r) => ({ ...r, key: meanKey(r.pack) }))
    .sort((a, b) => b.key - a.key);
  return {
    summary: {
      ...summary,
      sortedObjective: plain.cost,
      packsPerStrip: chosen.q,
      tiledObjective: chosen.cost,
      objective: set.totalCost(),
      separateBound: separate,
      neighbourhoodBound: neighbourhood,
      lowerBound: Math.max(separate, neighbourhood),
      swaps: set.swaps,
      passes: set.passes,
    },
    packs: result.map((r) => r.pack),
    costs: result.map((r) => r.cost),
    leftovers: set.pool,
  };
}

/**
 * Regroups modules into packs of `series` x `parallel`. `rejected` are passports that failed to
 * read or validate; they are reported as set aside ("invalid-passport").
 */
export function regroup(loaded: readonly LoadedPassport[], options: Partial<RegroupOptions> & { series: number }, rejected: readonly RejectedPassport[] = []): RegroupResult {
  const o = resolveOptions(options);
  const n = o.series * o.parallel;
  const setAside: SetAsideModule[] = rejected.map((r) => ({ serial: null, source: r.source, reason: "invalid-passport", detail: r.message }));

  const classes = new Map<string, ModuleClass>();
  for (const entry of dropDuplicates(loaded, setAside)) {
    const screened = screen(entry, o);
    if ("reason" in screened) {
      setAside.push(screened);
      continue;
    }
    const id = screened.passport.public.identity;
    const name = o.matchCell ? `${id.chemistry}\u0000${id.cellId}` : id.chemistry;
    let cls = classes.get(name);
    if (cls === undefined) {
      cls = { chemistry: id.chemistry, cellId: o.matchCell ? id.cellId : null, modules: [] };
      classes.set(name, cls);
    }
    cls.modules.push(screened);
  }

  // Largest class first; with a pack count wanted, classes are served in that order.
  const ordered = [...classes.values()].sort((a, b) => b.modules.length - a.modules.length || byString(a.chemistry, b.chemistry) || byString(a.cellId ?? "", b.cellId ?? ""));
  let remaining = o.packs ?? Infinity;
  const packs: FormedPack[] = [];
  const summaries: ClassSummary[] = [];
  const solved: { cls: ModuleClass; solution: SolvedClass }[] = [];
  for (const cls of ordered) {
    const count = Math.min(Math.floor(cls.modules.length / n), remaining);
    remaining -= count;
    solved.push({ cls, solution: solveClass(cls, count, o) });
  }
  const totalPacks = solved.reduce((s, x) => s + x.solution.packs.length, 0);
  const digits = Math.max(3, String(totalPacks).length);
  for (const { cls, solution } of solved) {
    const label = cls.cellId === null ? cls.chemistry : `${cls.chemistry}, ${cls.cellId}`;
    solution.packs.forEach((pack, k) => {
      packs.push(describePack(`pack-${String(packs.length + 1).padStart(digits, "0")}`, cls.chemistry, pack.map((i) => cls.modules[i]!), o, solution.costs[k]!));
    });
    const formed = solution.packs.length;
    const why = cls.modules.length < n
      ? `only ${cls.modules.length} eligible modules of ${label}; a pack needs ${n}`
      : formed < Math.floor(cls.modules.length / n)
        ? `the requested pack count is reached (${formed} pack(s) of ${label})`
        : `${formed} pack(s) of ${n} use ${formed * n} of the ${cls.modules.length} eligible modules of ${label}`;
    for (const i of solution.leftovers) {
      const m = cls.modules[i]!;
      setAside.push({ serial: m.serial, source: m.source, reason: "leftover", detail: why });
    }
    summaries.push(solution.summary);
  }

  const reasonRank = Object.keys(SET_ASIDE_LABELS);
  setAside.sort((a, b) => reasonRank.indexOf(a.reason) - reasonRank.indexOf(b.reason) || byString(a.serial ?? "", b.serial ?? "") || byString(a.source, b.source));
  return {
    options: o,
    inputs: loaded.length + rejected.length,
    packs,
    setAside,
    classes: summaries,
    objective: summaries.reduce((s, c) => s + c.objective, 0),
    lowerBound: summaries.reduce((s, c) => s + c.lowerBound, 0),
  };
}
