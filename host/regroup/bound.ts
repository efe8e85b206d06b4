// Lower bounds on the regrouping objective: no partition of the modules into m packs of n can cost
// less. docs/regroup.md, "Lower bound", proves both; the regroup report quotes the larger.
//
//   separateBound      - each criterion partitioned optimally on its own (exact consecutive
//                        windows of that criterion, bestWindows), summed. Tight when the criteria
//                        move together; loose by about sqrt(m) when they scatter independently.
//   neighbourhoodBound - a pack's cost is at least the L1 distance from any of its modules to that
//                        module's (n-1)-th nearest neighbour (all n-1 others lie within it), so the
//                        sorted neighbour radii give a bound that sees the density in every direction.
import { bestWindows, CRITERIA, type Columns } from "./partition.ts";

export function separateBound(cols: Columns, n: number, m: number): number {
  let total = 0;
  for (let c = 0; c < CRITERIA; c++) total += bestWindows(Float64Array.from(cols[c]!).sort(), n, m).cost;
  return total;
}

/** Points per k-d tree leaf. */
const LEAF_SIZE = 16;
/** Depth-first stack entries: the tree is balanced, so twice its depth (about 2 log2(N / LEAF_SIZE)) suffices. */
const STACK_SIZE = 256;

/**
 * A k-d tree over the columns (Bentley 1975), split on the widest dimension at the median, with the
 * points' coordinates copied in tree order so a leaf is contiguous in memory.
 */
class KdTree {
  /** Point index at each tree position. */
  readonly order: Int32Array;
  private readonly x0: Float64Array;
  private readonly x1: Float64Array;
  private readonly x2: Float64Array;
  private nodes = 0;
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  private readonly dim: Int32Array;
  private readonly split: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly stackNode = new Int32Array(STACK_SIZE);
  private readonly stackDistance = new Float64Array(STACK_SIZE);
  private readonly stackOffsets = new Float64Array(STACK_SIZE * CRITERIA);

  constructor(cols: Columns) {
    const count = cols[0]!.length;
    this.order = Int32Array.from({ length: count }, (_, i) => i);
    const capacity = 2 * Math.ceil(count / (LEAF_SIZE / 2)) + 1;
    this.lo = new Int32Array(capacity);
    this.hi = new Int32Array(capacity);
    this.dim = new Int32Array(capacity);
    this.split = new Float64Array(capacity);
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    if (count > 0) this.build(cols, 0, count);
    this.x0 = Float64Array.from(this.order, (i) => cols[0]![i]!);
    this.x1 = Float64Array.from(this.order, (i) => cols[1]![i]!);
    this.x2 = Float64Array.from(this.order, (i) => cols[2]![i]!);
  }

  private build(cols: Columns, lo: number, hi: number): number {
    const node = this.nodes++;
    this.lo[node] = lo;
    this.hi[node] = hi;
    this.dim[node] = -1;
    if (hi - lo <= LEAF_SIZE) return node;
    let widest = -1, width = 0;
    for (let c = 0; c < CRITERIA; c++) {
      let min = Infinity, max = -Infinity;
      for (let x = lo; x < hi; x++) {
        const v = cols[c]![this.order[x]!]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (max - min > width) { width = max - min; widest = c; }
    }
    if (widest < 0) return node;
    const mid = (lo + hi) >> 1;
    this.select(lo, hi, mid, cols[widest]!);
    this.dim[node] = widest;
    this.split[node] = cols[widest]![this.order[mid]!]!;
    this.left[node] = this.build(cols, lo, mid);
    this.right[node] = this.build(cols, mid, hi);
    return node;
  }

  /** Reorders order[lo..hi) so order[nth] holds the nth smallest of col, smaller before, larger after. */
  private select(lo: number, hi: number, nth: number, col: Float64Array): void {
    const order = this.order;
    let l = lo, r = hi - 1;
    while (l < r) {
      const pivot = col[order[(l + r) >> 1]!]!;
      let i = l, j = r;
      while (i <= j) {
        while (col[order[i]!]! < pivot) i++;
        while (col[order[j]!]! > pivot) j--;
        if (i <= j) {
          const t = order[i]!; order[i] = order[j]!; order[j] = t;
          i++; j--;
        }
      }
      if (nth <= j) r = j;
      else if (nth >= i) l = i;
      else return;
    }
  }

  /**
   * L1 distance from the point at tree position q to its k-th nearest other point (Infinity if
   * there are fewer), with a max-heap of the k best. Depth-first, nearer child first, a cell
   * skipped when its incremental L1 distance (Arya and Mount 1993) is no better than the k-th.
   */
  kthNeighbourDistance(q: number, k: number, heap: Float64Array): number {
    const { x0, x1, x2, stackNode, stackDistance, stackOffsets } = this;
    const q0 = x0[q]!, q1 = x1[q]!, q2 = x2[q]!;
    let size = 0;
    let top = 1;
    stackNode[0] = 0;
    stackDistance[0] = 0;
    stackOffsets.fill(0, 0, CRITERIA);
    while (top > 0) {
      top--;
      const node = stackNode[top]!;
      const cellDistance = stackDistance[top]!;
      if (size === k && cellDistance >= heap[0]!) continue;
      const d = this.dim[node]!;
      if (d < 0) {
        for (let x = this.lo[node]!, end = this.hi[node]!; x < end; x++) {
          if (x === q) continue;
          const dist = Math.abs(x0[x]! - q0) + Math.abs(x1[x]! - q1) + Math.abs(x2[x]! - q2);
          if (size < k) {
            let at = size++;
            while (at > 0) {
              const parent = (at - 1) >> 1;
              if (heap[parent]! >= dist) break;
              heap[at] = heap[parent]!;
              at = parent;
            }
            heap[at] = dist;
          } else if (dist < heap[0]!) {
            let at = 0;
            for (;;) {
              const l = 2 * at + 1;
              if (l >= k) break;
              const child = l + 1 < k && heap[l + 1]! > heap[l]! ? l + 1 : l;
              if (heap[child]! <= dist) break;
              heap[at] = heap[child]!;
              at = child;
            }
            heap[at] = dist;
          }
        }
        continue;
      }
      const diff = (d === 0 ? q0 : d === 1 ? q1 : q2) - this.split[node]!;
      const base = top * CRITERIA;
      // Far child first onto the stack, so the near child is searched first.
      const farTop = top, nearTop = top + 1;
      stackNode[farTop] = diff < 0 ? this.right[node]! : this.left[node]!;
      stackDistance[farTop] = cellDistance - stackOffsets[base + d]! + Math.abs(diff);
      stackNode[nearTop] = diff < 0 ? this.left[node]! : this.right[node]!;
      stackDistance[nearTop] = cellDistance;
      for (let c = 0; c < CRITERIA; c++) stackOffsets[(nearTop) * CRITERIA + c] = stackOffsets[base + c]!;
      stackOffsets[base + d] = Math.abs(diff);
      top += 2;
    }
    return size < k ? Infinity : heap[0]!;
  }
}

export function neighbourhoodBound(cols: Columns, n: number, m: number): number {
  if (m === 0 || n === 1) return 0;
  const tree = new KdTree(cols);
  const count = cols[0]!.length;
  const radius = new Float64Array(count);
  const heap = new Float64Array(n - 1);
  for (let q = 0; q < count; q++) radius[q] = tree.kthNeighbourDistance(q, n - 1, heap);
  radius.sort();
  let total = 0;
  for (let b = 1; b <= m; b++) total += radius[b * n - 1]!;
  return total;
}
