import { test } from "node:test";
import assert from "node:assert/strict";
import type { LoadedPassport, ModulePassport } from "../../../host/passport/passport.ts";
import { syntheticPassport, syntheticSerial, type SyntheticModule } from "../../../host/passport/synthetic.ts";
import { Random } from "../../../host/random.ts";
import { balanceGroups, bestWindows, groupCost } from "../../../host/regroup/partition.ts";
import { criteriaColumns, groupingObjective, regroup, type RegroupResult } from "../../../host/regroup/regroup.ts";

const NMC = "lg-inr21700-m50";
const LFP = "sony-us26650ftc1";

function loaded(passports: readonly ModulePassport[]): LoadedPassport[] {
  return passports.map((passport, k) => ({ passport, source: `in[${k}]` }));
}

function module(k: number, fields: Partial<SyntheticModule> = {}): ModulePassport {
  return syntheticPassport({ serial: syntheticSerial(k), cellId: NMC, cellsInParallel: 4, capacitySoh: 0.9, resistanceSoh: 1.2, ...fields });
}

/** A retired fleet: source packs with their own ageing, resistance growth following capacity fade. */
function fleet(count: number, seed: number, lfpShare = 0): ModulePassport[] {
  const random = new Random(seed);
  const out: ModulePassport[] = [];
  while (out.length < count) {
    const lfp = random.next() < lfpShare;
    const packSoh = 0.85 + 0.05 * random.gaussian();
    for (let k = 0; k < 24 && out.length < count; k++) {
      const capacitySoh = packSoh + 0.015 * random.gaussian();
      out.push(module(out.length + 1, {
        cellId: lfp ? LFP : NMC,
        cellsInParallel: lfp ? 8 : 4,
        capacitySoh,
        resistanceSoh: 1 + 2.5 * (1 - capacitySoh) + 0.04 * random.gaussian(),
      }));
    }
  }
  return out;
}

function serialsOf(result: RegroupResult): string[] {
  return result.packs.flatMap((p) => p.positions.flatMap((pos) => pos.serials));
}

function scalesOf(result: RegroupResult, k = 0): { capacity_Ah: number; resistance_mOhm: number } {
  const c = result.classes[k]!;
  return { capacity_Ah: c.capacityScale_Ah, resistance_mOhm: c.resistanceScale_mOhm };
}

/**
 * Brute force: the least total cost of splitting the items of a bit mask into groups of n, trying
 * every group that holds the lowest item, with the result memoised per remaining subset.
 */
function bestSplit(mask: number, n: number, cost: (group: number[]) => number, memo = new Map<number, number>()): number {
  if (mask === 0) return 0;
  const known = memo.get(mask);
  if (known !== undefined) return known;
  const items = Array.from({ length: 31 }, (_, i) => i).filter((i) => (mask >> i) & 1);
  const [first, ...rest] = items;
  let best = Infinity;
  const extend = (start: number, group: number[]): void => {
    if (group.length === n) {
      const groupMask = group.reduce((m, i) => m | (1 << i), 0);
      best = Math.min(best, cost(group) + bestSplit(mask & ~groupMask, n, cost, memo));
      return;
    }
    for (let k = start; k < rest.length; k++) extend(k + 1, [...group, rest[k]!]);
  };
  extend(0, [first!]);
  memo.set(mask, best);
  return best;
}

test("modules failing a threshold, without data or duplicated are set aside with their reason", () => {
  const input = [
    module(1, { capacitySoh: 0.62 }),
    module(2, { resistanceSoh: 2.4 }),
    module(3, { socSigma: 0.09 }),
    module(4, { capacitySoh: null }),
    module(5, { socSigma: null }),
    module(6, { cellId: LFP }),
    module(7, { sequence: 1 }),
    module(7, { sequence: 5 }),
    ...Array.from({ length: 4 }, (_, k) => module(10 + k)),
  ];
  const result = regroup(loaded(input), { series: 4, chemistry: input[0]!.public.identity.chemistry }, [{ source: "bad.json", message: "invalid passport bad.json:\n  public.identity.serial: must match pattern" }]);
  const why = new Map(result.setAside.map((m) => [`${m.serial ?? m.source}/${m.source}`, m]));
  const reason = (serial: number, source: string): string | undefined => why.get(`${syntheticSerial(serial)}/${source}`)?.reason;
  assert.equal(reason(1, "in[0]"), "capacity-soh-low");
  assert.equal(reason(2, "in[1]"), "resistance-high");
  assert.equal(reason(3, "in[2]"), "soc-uncertain");
  assert.equal(reason(4, "in[3]"), "missing-data");
  assert.equal(reason(5, "in[4]"), "missing-data");
  assert.equal(reason(6, "in[5]"), "chemistry-mismatch");
  assert.equal(reason(7, "in[6]"), "duplicate-serial", "the older record of serial 7 is set aside");
  assert.equal(why.get("bad.json/bad.json")?.reason, "invalid-passport");
  assert.match(why.get(`${syntheticSerial(1)}/in[0]`)!.detail, /capacity SOH 0\.620 < 0\.7/);
  assert.match(why.get(`${syntheticSerial(4)}/in[3]`)!.detail, /no stateOfHealth\.capacity_Ah/);
  assert.match(why.get(`${syntheticSerial(5)}/in[4]`)!.detail, /no stateOfCharge/);
  assert.match(why.get(`${syntheticSerial(7)}/in[6]`)!.detail, /superseded by in\[7\] \(record 5\)/);
  // Serial 7 (newest record) and 10..13 remain: one pack of 4, one leftover.
  assert.equal(result.packs.length, 1);
  assert.equal(result.setAside.filter((m) => m.reason === "leftover").length, 1);
  assert.equal(result.inputs, input.length + 1);
  assert.equal(result.setAside.length + serialsOf(result).length, result.inputs);

  const strict = regroup(loaded(input.slice(9)), { series: 4, minCapacitySoh: 0.95 });
  assert.equal(strict.packs.length, 0);
  assert.ok(strict.setAside.every((m) => m.reason === "capacity-soh-low"));
});

test("chemistries never share a pack, even when cells may mix", () => {
  const input = fleet(400, 3, 0.4);
  for (const matchCell of [true, false]) {
    const result = regroup(loaded(input), { series: 8, parallel: 2, matchCell });
    assert.equal(result.classes.length, 2);
    assert.ok(result.packs.length >= 20);
    const bySerial = new Map(input.map((p) => [p.public.identity.serial, p.public.identity]));
    for (const pack of result.packs) {
      const chemistries = new Set(pack.positions.flatMap((pos) => pos.serials.map((s) => bySerial.get(s)!.chemistry)));
      assert.deepEqual([...chemistries], [pack.chemistry]);
    }
  }
});

test("every pack has exactly S x P modules, S positions of P, and no module is used twice or lost", () => {
  const input = fleet(1000, 5);
  const result = regroup(loaded(input), { series: 12, parallel: 3 });
  assert.equal(result.packs.length, Math.floor(result.classes[0]!.eligible / 36));
  for (const pack of result.packs) {
    assert.equal(pack.positions.length, 12);
    assert.deepEqual(pack.positions.map((p) => p.position), Array.from({ length: 12 }, (_, k) => k + 1));
    for (const position of pack.positions) assert.equal(position.serials.length, 3);
    assert.equal(pack.usableCapacity_Ah, Math.min(...pack.positions.map((p) => p.capacity_Ah)));
    assert.ok(pack.powerLimit_W > 0);
  }
  const packed = serialsOf(result);
  assert.equal(new Set(packed).size, packed.length);
  const all = [...packed, ...result.setAside.map((m) => m.serial!)];
  assert.deepEqual(all.sort(), input.map((p) => p.public.identity.serial).sort());
  assert.ok(result.setAside.filter((m) => m.reason === "leftover").length < 36);
});

test("a hand-checkable instance: two clearly separated age groups form the two packs", () => {
  // Capacity SOH 0.95/0.94/0.93/0.92 and 0.80/0.79/0.78/0.77, given interleaved. The best two
  // packs of four keep the groups apart; each then spans 0.03 of capacity SOH.
  const sohs = [0.95, 0.8, 0.94, 0.79, 0.93, 0.78, 0.92, 0.77];
  const input = sohs.map((soh, k) => module(k + 1, { capacitySoh: soh, resistanceSoh: 1 + 2 * (1 - soh) }));
  const result = regroup(loaded(input), { series: 4, weights: { capacity: 1, resistance: 0, soh: 0 } });
  const packs = result.packs.map((p) => p.positions.map((pos) => pos.serials[0]!).sort());
  assert.deepEqual(packs, [[1, 3, 5, 7], [2, 4, 6, 8]].map((group) => group.map(syntheticSerial)));
  assert.ok(Math.abs(result.objective - 0.06) < 1e-12, `objective ${result.objective}`);
  // One criterion: the sorted partition is optimal, so it meets its bound.
  assert.ok(Math.abs(result.objective - result.lowerBound) < 1e-12);
  assert.ok(Math.abs(result.packs[0]!.spread.capacitySoh.range - 0.03) < 1e-12);
});

test("consecutive windows of the sorted values are the optimal partition, modules left out included (brute force)", () => {
  const random = new Random(21);
  for (let trial = 0; trial < 30; trial++) {
    const values = Array.from({ length: 9 }, () => Math.round(random.next() * 100) / 10).sort((a, b) => a - b);
    const n = 2, m = 3;
    const range = (group: number[]): number => Math.max(...group.map((i) => values[i]!)) - Math.min(...group.map((i) => values[i]!));
    const memo = new Map<number, number>();
    let best = Infinity;
    // Every choice of the 3 values left out, then every pairing of the other 6.
    for (let a = 0; a < 9; a++) for (let b = a + 1; b < 9; b++) for (let c = b + 1; c < 9; c++) {
      best = Math.min(best, bestSplit(0b111111111 & ~((1 << a) | (1 << b) | (1 << c)), n, range, memo));
    }
    const { cost, starts } = bestWindows(values, n, m);
    assert.ok(Math.abs(cost - best) < 1e-9, `trial ${trial}: windows ${cost}, brute force ${best}`);
    assert.equal(starts.length, m);
  }
});

test("on small instances the result is within 15 % of the brute-force optimum, and the bounds never exceed it", () => {
  const random = new Random(11);
  let optimal = 0;
  const trials = 40;
  for (let trial = 0; trial < trials; trial++) {
    const input = Array.from({ length: 12 }, (_, k) => {
      const soh = 0.8 + 0.1 * random.next();
      return module(k + 1, { capacitySoh: soh, resistanceSoh: 1 + 2 * (1 - soh) + 0.15 * random.gaussian() });
    });
    const result = regroup(loaded(input), { series: 4 });
    const cols = criteriaColumns(input, result.options.weights, scalesOf(result));
    const best = bestSplit((1 << input.length) - 1, 4, (group) => groupCost(cols, group));
    const c = result.classes[0]!;
    assert.ok(c.separateBound <= best + 1e-12 && c.neighbourhoodBound <= best + 1e-12, `trial ${trial}: bounds ${c.separateBound}, ${c.neighbourhoodBound} above the optimum ${best}`);
    assert.ok(result.objective >= best - 1e-12);
    assert.ok(result.objective <= 1.15 * best, `trial ${trial}: ${result.objective} vs optimum ${best}`);
    if (result.objective <= best + 1e-12) optimal++;
  }
  assert.ok(optimal >= 0.75 * trials, `optimal in ${optimal} of ${trials}`);
});

test("the spread lies between the lower bound and that of a random grouping of the same modules", () => {
  const input = fleet(2400, 9);
  const result = regroup(loaded(input), { series: 24 });
  assert.ok(result.objective >= result.lowerBound - 1e-12);
  const c = result.classes[0]!;
  assert.ok(c.objective <= c.tiledObjective + 1e-12 && c.tiledObjective <= c.sortedObjective + 1e-12, "each step keeps or improves");

  const bySerial = new Map(input.map((p) => [p.public.identity.serial, p]));
  const members = serialsOf(result).map((s) => bySerial.get(s)!);
  const random = new Random(4);
  for (let draw = 0; draw < 5; draw++) {
    random.shuffle(members);
    const groups = Array.from({ length: result.packs.length }, (_, k) => members.slice(k * 24, (k + 1) * 24));
    const randomObjective = groupingObjective(groups, result.options.weights, scalesOf(result));
    assert.ok(result.objective < randomObjective / 5, `${result.objective} vs random ${randomObjective}`);
  }
  assert.ok(Math.abs(groupingObjective(result.packs.map((p) => p.positions.flatMap((pos) => pos.serials.map((s) => bySerial.get(s)!))), result.options.weights, scalesOf(result)) - result.objective) < 1e-9,
    "the reported objective is the objective of the packs");
});

test("deterministic: the same passports in any order give the same packs", () => {
  const input = fleet(600, 13, 0.3);
  const first = regroup(loaded(input), { series: 16, parallel: 2 });
  const shuffled = new Random(2).shuffle([...input]);
  const second = regroup(loaded(shuffled), { series: 16, parallel: 2 });
  assert.deepEqual(second.packs, first.packs);
  assert.deepEqual(second.classes, first.classes);
  assert.deepEqual(second.setAside.map((m) => m.serial), first.setAside.map((m) => m.serial));
});

test("P-way grouping balances the series groups' capacities", () => {
  // Hand-checkable: 10, 9, 8 start three groups; 7, 6, 5 complete them to 15 each.
  const groups = balanceGroups([10, 9, 8, 7, 6, 5], 3, 2);
  assert.deepEqual(groups.map((g) => g.length), [2, 2, 2]);
  assert.deepEqual(groups.map((g) => g.reduce((s, i) => s + [10, 9, 8, 7, 6, 5][i]!, 0)), [15, 15, 15]);

  const random = new Random(8);
  for (let trial = 0; trial < 20; trial++) {
    const capacities = Array.from({ length: 48 }, () => 18 + 2 * random.next());
    const balanced = balanceGroups(capacities, 12, 4);
    assert.deepEqual(balanced.flat().sort((a, b) => a - b), capacities.map((_, i) => i));
    const sums = balanced.map((g) => g.reduce((s, i) => s + capacities[i]!, 0));
    const naive = Array.from({ length: 12 }, (_, g) => capacities.slice(4 * g, 4 * g + 4).reduce((s, v) => s + v, 0));
    const range = (v: number[]): number => Math.max(...v) - Math.min(...v);
    // Groups of about 76 Ah from modules spread over 2 Ah: within 0.2 Ah (0.3 %), a tenth of consecutive grouping's range.
    assert.ok(range(sums) < 0.2, `trial ${trial}: group range ${range(sums)} Ah`);
    assert.ok(range(sums) < range(naive) / 10, `trial ${trial}: ${range(sums)} vs consecutive ${range(naive)}`);
  }
  const result = regroup(loaded(fleet(480, 17)), { series: 12, parallel: 4 });
  for (const pack of result.packs) assert.ok(pack.groupCapacity_Ah.range < pack.spread.capacity_Ah.range, pack.id);
});

test("fewer packs than possible: the rest is left over, and a class too small forms none", () => {
  const input = fleet(300, 19);
  const result = regroup(loaded(input), { series: 10, packs: 3 });
  assert.equal(result.packs.length, 3);
  const leftover = result.setAside.filter((m) => m.reason === "leftover");
  assert.equal(leftover.length, result.classes[0]!.eligible - 30);
  assert.match(leftover[0]!.detail, /requested pack count is reached/);

  const small = regroup(loaded(input.slice(0, 5)), { series: 10 });
  assert.equal(small.packs.length, 0);
  assert.match(small.setAside.find((m) => m.reason === "leftover")!.detail, /only \d eligible modules of .*; a pack needs 10/);
});

test("options out of range are refused by name", () => {
  assert.throws(() => regroup([], { series: 0 }), /series must be a whole number >= 1/);
  assert.throws(() => regroup([], { series: 4, parallel: 1.5 }), /parallel must be a whole number >= 1/);
  assert.throws(() => regroup([], { series: 4, weights: { capacity: 0, resistance: 0, soh: 0 } }), /weights must be/);
});
