// The numeric core of regrouping, on plain columns of criteria (one Float64Array per criterion,
// one entry per module, already normalised and weighted so a group's cost is the sum of its
// ranges). docs/regroup.md, "Algorithm", describes each step and why it is there:
//   principalAxes  - the combined sort key (first axis) and the tiling key (second axis);
//   bestWindows    - exact choice of m windows of n consecutive values of a sorted key;
//   tile           - Sort-Tile: strips along the first axis, packs along the second within a strip;
//   PackSet        - pairwise swaps between neighbouring packs and with the modules left out;
//   balanceGroups  - S series groups of P parallel modules with balanced capacity.
// No randomness: every tie breaks on the module index, and the caller numbers modules in serial order.

export const CRITERIA = 3;

/** One column per criterion (CRITERIA of them), one entry per module. */
export type Columns = readonly Float64Array[];

/** Sum over c of (max - min) of column c over the given modules. */
export function groupCost(cols: Columns, members: ArrayLike<number>): number {
  let total = 0;
  for (let c = 0; c < CRITERIA; c++) {
    const col = cols[c]!;
    let lo = Infinity, hi = -Infinity;
    for (let j = 0; j < members.length; j++) {
      const v = col[members[j]!]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (members.length > 0) total += hi - lo;
  }
  return total;
}

function multiply(m: readonly number[][], v: readonly number[]): number[] {
  return m.map((row) => row[0]! * v[0]! + row[1]! * v[1]! + row[2]! * v[2]!);
}

/** Leading eigenvector of a symmetric positive semi-definite 3x3 matrix, or null if it is zero. */
function leadingEigenvector(m: readonly number[][]): number[] | null {
  let best: number[] | null = null;
  let bestValue = 0;
  // Start from each axis and the diagonal so no start is orthogonal to the leading eigenvector.
  for (const start of [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]) {
    let v = start;
    for (let iteration = 0; iteration < 200; iteration++) {
      const w = multiply(m, v);
      const norm = Math.hypot(w[0]!, w[1]!, w[2]!);
      if (norm === 0) break;
      v = w.map((x) => x / norm);
    }
    const w = multiply(m, v);
    const rayleigh = v[0]! * w[0]! + v[1]! * w[1]! + v[2]! * w[2]!;
    if (rayleigh > bestValue * (1 + 1e-9)) {
      bestValue = rayleigh;
      best = v;
    }
  }
  return best;
}

/**
 * The first two principal axes of the columns (unit vectors). The first is signed towards health
 * (more capacity, less resistance, more SOH: columns 0, 1, 2) so keys grow with health. Columns
 * that do not vary give (1, -1, 1)/sqrt(3) and an arbitrary perpendicular.
 */
export function principalAxes(cols: Columns): [number[], number[]] {
  const count = cols[0]!.length;
  const mean = cols.map((col) => col.reduce((s, v) => s + v, 0) / Math.max(1, count));
  const cov: number[][] = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (let i = 0; i < count; i++) {
    for (let a = 0; a < CRITERIA; a++) {
      const da = cols[a]![i]! - mean[a]!;
      for (let b = a; b < CRITERIA; b++) cov[a]![b]! += da * (cols[b]![i]! - mean[b]!);
    }
  }
  for (let a = 0; a < CRITERIA; a++) for (let b = 0; b < a; b++) cov[a]![b] = cov[b]![a]!;
  const first = leadingEigenvector(cov) ?? [1 / Math.sqrt(3), -1 / Math.sqrt(3), 1 / Math.sqrt(3)];
  const health = first[0]! - first[1]! + first[2]!;
  const sign = health !== 0 ? Math.sign(health) : Math.sign(first.find((x) => x !== 0) ?? 1);
  const axis1 = first.map((x) => sign * x);
  // Deflate: remove the first axis's variance, then the leading axis of what is left.
  const along = multiply(cov, axis1);
  const lambda = axis1.reduce((s, x, a) => s + x * along[a]!, 0);
  const rest = cov.map((row, a) => row.map((v, b) => v - lambda * axis1[a]! * axis1[b]!));
  let second = leadingEigenvector(rest);
  if (second === null) {
    // Any unit vector perpendicular to the first axis.
    const helper = Math.abs(axis1[0]!) < 0.9 ? [1, 0, 0] : [0, 1, 0];
    const dot = helper[0]! * axis1[0]! + helper[1]! * axis1[1]!;
    const p = helper.map((x, a) => x - dot * axis1[a]!);
    const norm = Math.hypot(p[0]!, p[1]!, p[2]!);
    second = p.map((x) => x / norm);
  }
  const lead = second.find((x) => Math.abs(x) > 1e-12) ?? 1;
  return [axis1, second.map((x) => (lead < 0 ? -x : x))];
}

export function project(cols: Columns, axis: readonly number[]): Float64Array {
  const key = new Float64Array(cols[0]!.length);
  for (let i = 0; i < key.length; i++) key[i] = axis[0]! * cols[0]![i]! + axis[1]! * cols[1]![i]! + axis[2]! * cols[2]![i]!;
  return key;
}

/** Dynamic programme cells (windows x values left out) above which the selection is refused. */
const MAX_SELECTION_CELLS = 4e8;

/**
 * Chooses m disjoint windows of n consecutive entries of `sorted` (ascending) minimising the sum
 * of the windows' ranges (last - first); entries outside every window are left out. Exact
 * (docs/regroup.md, "Why consecutive blocks"). State (b, s): b windows taken and s entries left
 * out, so the next entry is b*n + s; O(m * (N - m*n)) time, one bit per state for the choice.
 */
export function bestWindows(sorted: ArrayLike<number>, n: number, m: number): { cost: number; starts: number[] } {
  const skips = sorted.length - m * n;
  if (skips < 0) throw new Error(`cannot take ${m} windows of ${n} from ${sorted.length} values`);
  if (m === 0) return { cost: 0, starts: [] };
  const width = skips + 1;
  if (m * width > MAX_SELECTION_CELLS) {
    throw new Error(`choosing ${m} packs of ${n} among ${sorted.length} modules needs ${m * width} states; ask for more packs or tighten the thresholds`);
  }
  const took = new Uint8Array(Math.ceil((m * width) / 8));
  let previous = new Float64Array(width);
  let current = new Float64Array(width);
  for (let b = 1; b <= m; b++) {
    for (let s = 0; s < width; s++) {
      const end = b * n + s;
      const take = previous[s]! + (sorted[end - 1]! - sorted[end - n]!);
      const skip = s > 0 ? current[s - 1]! : Infinity;
      if (take <= skip) {
        current[s] = take;
        const bit = (b - 1) * width + s;
        took[bit >> 3]! |= 1 << (bit & 7);
      } else {
        current[s] = skip;
      }
    }
    [previous, current] = [current, previous];
  }
  const starts: number[] = [];
  for (let b = m, s = skips; b > 0;) {
    const bit = (b - 1) * width + s;
    if ((took[bit >> 3]! >> (bit & 7)) & 1) {
      starts.push(b * n + s - n);
      b--;
    } else {
      s--;
    }
  }
  return { cost: previous[skips]!, starts: starts.reverse() };
}

export interface Tiling {
  /** Packs of module indices, strip by strip. */
  packs: number[][];
  /** Pairs of pack indices worth trying swaps between: neighbours in a strip and across strips. */
  pairs: Int32Array;
}

/**
 * Sort-Tile (the STR packing of Leutenegger, Lopez and Edgington, "STR: a simple and efficient
 * algorithm for R-tree packing", ICDE 1997): the selected modules, in order of the first key, are
 * cut into strips of about `perStrip` packs; each strip is sorted on the second key and cut into
 * packs. perStrip = 1 is the plain sorted partition.
 */
export function tile(selected: readonly number[], second: Float64Array, n: number, perStrip: number): Tiling {
  const m = selected.length / n;
  const strips = Math.ceil(m / perStrip);
  const base = Math.floor(m / strips);
  const extra = m % strips;
  const packs: number[][] = [];
  const stripStart: number[] = [];
  let offset = 0;
  for (let s = 0; s < strips; s++) {
    const size = base + (s < extra ? 1 : 0);
    stripStart.push(packs.length);
    const strip = selected.slice(offset * n, (offset + size) * n).sort((a, b) => second[a]! - second[b]! || a - b);
    for (let j = 0; j < size; j++) packs.push(strip.slice(j * n, (j + 1) * n));
    offset += size;
  }
  stripStart.push(packs.length);
  const pairs: number[] = [];
  for (let s = 0; s < strips; s++) {
    const size = stripStart[s + 1]! - stripStart[s]!;
    for (let j = 0; j < size; j++) {
      const k = stripStart[s]! + j;
      for (const d of [1, 2]) if (j + d < size) pairs.push(k, k + d);
      for (const ds of [1, 2]) {
        if (s + ds >= strips) continue;
        const other = stripStart[s + ds + 1]! - stripStart[s + ds]!;
        const near = Math.min(other - 1, Math.floor((j * other) / size));
        pairs.push(k, stripStart[s + ds]! + near);
        if (ds === 1 && near + 1 < other) pairs.push(k, stripStart[s + ds]! + near + 1);
      }
    }
  }
  return { packs, pairs: Int32Array.from(pairs) };
}

function addSlot(into: Int32Array, count: number, slot: number): number {
  for (let x = 0; x < count; x++) if (into[x] === slot) return count;
  into[count] = slot;
  return count + 1;
}

/** Modules left out that are tried against one pack, nearest in the first key, per module of a pack. */
const POOL_CANDIDATES_PER_SLOT = 2;
const IMPROVEMENT_TOLERANCE = 1e-12;

/**
 * Packs of n modules with, per pack and criterion, the two smallest and two largest values, so the
 * cost of a pack after replacing one module is O(1). improve() makes best-improvement swaps
 * between the given pairs of packs, and between a pack and the modules left out (the pool), in
 * passes until one changes nothing or the pass limit is reached.
 */
export class PackSet {
  readonly members: Int32Array;
  readonly cost: Float64Array;
  /** Left-out modules, sorted by key (then index). */
  readonly pool: number[];
  swaps = 0;
  passes = 0;
  private readonly min1: Float64Array;
  private readonly min2: Float64Array;
  private readonly max1: Float64Array;
  private readonly max2: Float64Array;
  private readonly min1At: Int32Array;
  private readonly max1At: Int32Array;
  private readonly slotsA = new Int32Array(2 * CRITERIA);
  private readonly slotsB = new Int32Array(2 * CRITERIA);
  private readonly extremeA: Uint8Array;
  private readonly extremeB: Uint8Array;
  /** Change clock: a pair (or a pack and the pool) is tried again only if something changed since. */
  private clock = 1;
  private readonly changed: Int32Array;
  private readonly pairChecked: Int32Array;
  private poolChanged = 1;
  private readonly poolChecked: Int32Array;

  constructor(
    private readonly cols: Columns,
    private readonly key: Float64Array,
    readonly n: number,
    packs: readonly number[][],
    private readonly pairs: Int32Array,
    pool: number[],
  ) {
    const m = packs.length;
    this.members = new Int32Array(m * n);
    packs.forEach((pack, k) => this.members.set(pack, k * n));
    this.cost = new Float64Array(m);
    this.min1 = new Float64Array(m * CRITERIA);
    this.min2 = new Float64Array(m * CRITERIA);
    this.max1 = new Float64Array(m * CRITERIA);
    this.max2 = new Float64Array(m * CRITERIA);
    this.min1At = new Int32Array(m * CRITERIA);
    this.max1At = new Int32Array(m * CRITERIA);
    this.changed = new Int32Array(m).fill(1);
    this.pairChecked = new Int32Array(pairs.length / 2);
    this.poolChecked = new Int32Array(m);
    this.extremeA = new Uint8Array(n);
    this.extremeB = new Uint8Array(n);
    this.pool = pool.sort((a, b) => this.keyOrder(a, b));
    for (let k = 0; k < m; k++) this.refresh(k);
  }

  get packCount(): number {
    return this.cost.length;
  }

  private keyOrder(a: number, b: number): number {
    return this.key[a]! - this.key[b]! || a - b;
  }

  private refresh(k: number): void {
    const n = this.n;
    let total = 0;
    for (let c = 0; c < CRITERIA; c++) {
      const col = this.cols[c]!;
      let lo1 = Infinity, lo2 = Infinity, hi1 = -Infinity, hi2 = -Infinity, loAt = 0, hiAt = 0;
      for (let j = 0; j < n; j++) {
        const v = col[this.members[k * n + j]!]!;
        if (v < lo1) { lo2 = lo1; lo1 = v; loAt = j; } else if (v < lo2) lo2 = v;
        if (v > hi1) { hi2 = hi1; hi1 = v; hiAt = j; } else if (v > hi2) hi2 = v;
      }
      const i = k * CRITERIA + c;
      this.min1[i] = lo1; this.min2[i] = lo2; this.min1At[i] = loAt;
      this.max1[i] = hi1; this.max2[i] = hi2; this.max1At[i] = hiAt;
      total += hi1 - lo1;
    }
    this.cost[k] = total;
  }

  /** Cost of pack k with the module in slot j replaced by module `incoming`. */
  private costWith(k: number, j: number, incoming: number): number {
    let total = 0;
    for (let c = 0; c < CRITERIA; c++) {
      const i = k * CRITERIA + c;
      const v = this.cols[c]![incoming]!;
      const lo = this.min1At[i] === j ? this.min2[i]! : this.min1[i]!;
      const hi = this.max1At[i] === j ? this.max2[i]! : this.max1[i]!;
      total += (v > hi ? v : hi) - (v < lo ? v : lo);
    }
    return total;
  }

  /**
   * Slots holding pack k's extreme values, written to `into`; returns how many. Only a swap that
   * moves one of them can lower a pack's cost: removing any other module leaves every range as it is.
   */
  private extremeSlots(k: number, into: Int32Array): number {
    let count = 0;
    for (let c = 0; c < CRITERIA; c++) {
      count = addSlot(into, count, this.min1At[k * CRITERIA + c]!);
      count = addSlot(into, count, this.max1At[k * CRITERIA + c]!);
    }
    return count;
  }

  private touch(k: number): void {
    this.refresh(k);
    this.changed[k] = ++this.clock;
  }

  /** Cost of pack k with the module in slot j removed. */
  private costWithout(k: number, j: number): number {
    let total = 0;
    for (let c = 0; c < CRITERIA; c++) {
      const i = k * CRITERIA + c;
      total += (this.max1At[i] === j ? this.max2[i]! : this.max1[i]!) - (this.min1At[i] === j ? this.min2[i]! : this.min1[i]!);
    }
    return total;
  }

  /** Cost of pack k with module `incoming` added. */
  private costPlus(k: number, incoming: number): number {
    let total = 0;
    for (let c = 0; c < CRITERIA; c++) {
      const i = k * CRITERIA + c;
      const v = this.cols[c]![incoming]!;
      total += (v > this.max1[i]! ? v : this.max1[i]!) - (v < this.min1[i]! ? v : this.min1[i]!);
    }
    return total;
  }

  /**
   * Best-improvement swaps between packs a and b until none improves; returns the swaps made.
   * A swap can only help if it moves an extreme of a or of b. Pairs of two extremes are tried
   * directly. For an extreme x of one pack against the non-extremes y of the other, the other
   * pack's cost after the swap is exactly its cost with x added (removing y changes no range), so
   * (own cost without x - own cost) + (other cost with x - other cost) bounds every such swap from
   * below, and the scan over y is skipped when that bound cannot beat the best swap found.
   */
  private improvePair(a: number, b: number): number {
    const n = this.n;
    const members = this.members;
    const extremeA = this.extremeA, extremeB = this.extremeB;
    let made = 0;
    for (let round = 0; round < n; round++) {
      const costA = this.cost[a]!, costB = this.cost[b]!;
      const base = costA + costB;
      let best = -IMPROVEMENT_TOLERANCE * (1 + base);
      let bestA = -1, bestB = -1;
      const countA = this.extremeSlots(a, this.slotsA);
      const countB = this.extremeSlots(b, this.slotsB);
      extremeA.fill(0);
      extremeB.fill(0);
      for (let x = 0; x < countA; x++) extremeA[this.slotsA[x]!] = 1;
      for (let x = 0; x < countB; x++) extremeB[this.slotsB[x]!] = 1;
      for (let x = 0; x < countA; x++) {
        const ja = this.slotsA[x]!;
        const ma = members[a * n + ja]!;
        for (let y = 0; y < countB; y++) {
          const jb = this.slotsB[y]!;
          const delta = this.costWith(a, ja, members[b * n + jb]!) + this.costWith(b, jb, ma) - base;
          if (delta < best) { best = delta; bestA = ja; bestB = jb; }
        }
        const addedB = this.costPlus(b, ma) - costB;
        if (this.costWithout(a, ja) - costA + addedB >= best) continue;
        for (let jb = 0; jb < n; jb++) {
          if (extremeB[jb] === 1) continue;
          const delta = this.costWith(a, ja, members[b * n + jb]!) - costA + addedB;
          if (delta < best) { best = delta; bestA = ja; bestB = jb; }
        }
      }
      for (let y = 0; y < countB; y++) {
        const jb = this.slotsB[y]!;
        const mb = members[b * n + jb]!;
        const addedA = this.costPlus(a, mb) - costA;
        if (this.costWithout(b, jb) - costB + addedA >= best) continue;
        for (let ja = 0; ja < n; ja++) {
          if (extremeA[ja] === 1) continue;
          const delta = addedA + this.costWith(b, jb, members[a * n + ja]!) - costB;
          if (delta < best) { best = delta; bestA = ja; bestB = jb; }
        }
      }
      if (bestA < 0) break;
      const moved = members[a * n + bestA]!;
      members[a * n + bestA] = members[b * n + bestB]!;
      members[b * n + bestB] = moved;
      this.touch(a);
      this.touch(b);
      made++;
    }
    return made;
  }

  /** Index of the first pool entry whose key is >= value. */
  private poolLowerBound(value: number): number {
    let lo = 0, hi = this.pool.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.key[this.pool[mid]!]! < value) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Best-improvement swaps of pack k's extremes with left-out modules near it in key. */
  private improveWithPool(k: number): number {
    const n = this.n;
    let made = 0;
    for (let round = 0; round < n && this.pool.length > 0; round++) {
      let keyLo = Infinity, keyHi = -Infinity;
      for (let j = 0; j < n; j++) {
        const v = this.key[this.members[k * n + j]!]!;
        if (v < keyLo) keyLo = v;
        if (v > keyHi) keyHi = v;
      }
      const span = keyHi - keyLo;
      const cap = POOL_CANDIDATES_PER_SLOT * n;
      let lo = this.poolLowerBound(keyLo - span);
      let hi = this.poolLowerBound(keyHi + span);
      if (hi - lo > cap) {
        const centre = this.poolLowerBound((keyLo + keyHi) / 2);
        lo = Math.max(lo, Math.min(centre - (cap >> 1), hi - cap));
        hi = lo + cap;
      }
      const base = this.cost[k]!;
      let best = -IMPROVEMENT_TOLERANCE * (1 + base);
      let bestSlot = -1, bestEntry = -1;
      const extremes = this.extremeSlots(k, this.slotsA);
      for (let x = 0; x < extremes; x++) {
        const j = this.slotsA[x]!;
        for (let e = lo; e < hi; e++) {
          const delta = this.costWith(k, j, this.pool[e]!) - base;
          if (delta < best) { best = delta; bestSlot = j; bestEntry = e; }
        }
      }
      if (bestSlot < 0) break;
      const out = this.members[k * n + bestSlot]!;
      this.members[k * n + bestSlot] = this.pool[bestEntry]!;
      this.pool.splice(bestEntry, 1);
      let at = this.poolLowerBound(this.key[out]!);
      while (at < this.pool.length && this.keyOrder(this.pool[at]!, out) < 0) at++;
      this.pool.splice(at, 0, out);
      this.touch(k);
      this.poolChanged = this.clock;
      made++;
    }
    return made;
  }

  /** Passes over the pairs and the pool until a pass changes nothing, at most maxPasses. */
  improve(maxPasses: number): void {
    const pairs = this.pairs;
    for (let pass = 0; pass < maxPasses; pass++) {
      let made = 0;
      for (let p = 0; p < this.pairChecked.length; p++) {
        const a = pairs[2 * p]!, b = pairs[2 * p + 1]!;
        const checked = this.pairChecked[p]!;
        if (this.changed[a]! < checked && this.changed[b]! < checked) continue;
        made += this.improvePair(a, b);
        this.pairChecked[p] = ++this.clock;
      }
      if (this.pool.length > 0) {
        for (let k = 0; k < this.packCount; k++) {
          const checked = this.poolChecked[k]!;
          if (this.changed[k]! < checked && this.poolChanged < checked) continue;
          made += this.improveWithPool(k);
          this.poolChecked[k] = ++this.clock;
        }
      }
      this.passes = pass + 1;
      this.swaps += made;
      if (made === 0) break;
    }
  }

  pack(k: number): number[] {
    return Array.from(this.members.subarray(k * this.n, (k + 1) * this.n));
  }

  totalCost(): number {
    return this.cost.reduce((s, v) => s + v, 0);
  }
}

/**
 * Splits S*P capacities into S groups of P with balanced sums: largest first into the lightest
 * group with room (LPT with a cardinality limit), then single swaps that involve the heaviest or
 * the lightest group and narrow the gap between the two groups they touch, the one lowering the
 * sum of squared group sums most first. Every swap lowers that sum, so the refinement ends.
 * Returns the indices of each group.
 */
export function balanceGroups(capacities: readonly number[], series: number, parallel: number): number[][] {
  if (capacities.length !== series * parallel) throw new Error(`balanceGroups: ${capacities.length} capacities for ${series}x${parallel}`);
  const groups: number[][] = Array.from({ length: series }, () => []);
  const sums = new Float64Array(series);
  const order = capacities.map((_, i) => i).sort((a, b) => capacities[b]! - capacities[a]! || a - b);
  for (const i of order) {
    let target = -1;
    for (let g = 0; g < series; g++) if (groups[g]!.length < parallel && (target < 0 || sums[g]! < sums[target]!)) target = g;
    groups[target]!.push(i);
    sums[target]! += capacities[i]!;
  }
  if (parallel === 1 || series === 1) return groups;
  for (let iteration = 0; iteration < series * parallel * parallel; iteration++) {
    let heavy = 0, light = 0;
    for (let g = 1; g < series; g++) {
      if (sums[g]! > sums[heavy]!) heavy = g;
      if (sums[g]! < sums[light]!) light = g;
    }
    // Swapping h (from group `from`) with l (from group `to`) moves d = c[h] - c[l] from `from` to
    // `to`; with 0 < d < gap the sum of squares changes by 2 d (d - gap) < 0.
    let best = 0, bestFrom = -1, bestTo = -1, bestH = -1, bestL = -1;
    const consider = (from: number, to: number): void => {
      const gap = sums[from]! - sums[to]!;
      groups[from]!.forEach((h, jh) => groups[to]!.forEach((l, jl) => {
        const d = capacities[h]! - capacities[l]!;
        const change = 2 * d * (d - gap);
        if (d > 0 && d < gap && change < best) {
          best = change; bestFrom = from; bestTo = to; bestH = jh; bestL = jl;
        }
      }));
    };
    for (let g = 0; g < series; g++) {
      if (g !== heavy) consider(heavy, g);
      if (g !== light && g !== heavy) consider(g, light);
    }
    if (bestFrom < 0) break;
    const h = groups[bestFrom]![bestH]!, l = groups[bestTo]![bestL]!;
    groups[bestFrom]![bestH] = l;
    groups[bestTo]![bestL] = h;
    const moved = capacities[h]! - capacities[l]!;
    sums[bestFrom]! -= moved;
    sums[bestTo]! += moved;
  }
  return groups;
}
