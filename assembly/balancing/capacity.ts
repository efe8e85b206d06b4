// Usable capacity of a series string: the charge it can cycle between its first module reaching
// empty and its first module reaching full. With q_i = SOC_i Q_i (charge above empty) and
// r_i = (1 - SOC_i) Q_i (room below full),
//   D = min_i q_i,   C = min_i r_i,   U = D + C.
// The same quantity as PackSoc.usableCapacity_Ah (assembly/pack/soc.ts); here it also takes a
// planned change, so a report can show the capacity before and after a balancing plan. Since
// q_k + r_k = Q_k for every k, U <= D' + C' <= q_m + r_m = Q_m for the smallest module m, whatever
// the balance: U* = min_i Q_i is the most any balancing can reach (docs/balancing.md).
import { ModuleStates } from "../pack/modules";
import { clamp01 } from "./modules";

/**
 * U = D + C over the usable modules, Ah; NaN when none is usable. removed_Ah (optional): charge
 * taken out of module i (negative: put in), applied before the minima; the result is clamped to
 * the module's 0..Q.
 */
export function usableCapacity_Ah(states: ModuleStates, removed_Ah: StaticArray<f32> | null = null): f32 {
  let dischargeable: f32 = Infinity;
  let chargeable: f32 = Infinity;
  let used = 0;
  for (let i = 0; i < states.count; i++) {
    if (!states.usable(i)) continue;
    const capacity = unchecked(states.capacity_Ah[i]);
    let q = clamp01(unchecked(states.soc[i])) * capacity;
    if (removed_Ah !== null) {
      const change = unchecked(removed_Ah[i]);
      if (isFinite(change)) q -= change;
    }
    if (q < 0) q = 0.0;
    if (q > capacity) q = capacity;
    const r = capacity - q;
    if (q < dischargeable) dischargeable = q;
    if (r < chargeable) chargeable = r;
    used++;
  }
  return used > 0 ? dischargeable + chargeable : <f32>NaN;
}

/** U* = min_i Q_i over the usable modules, Ah: the usable capacity of a perfectly balanced string. NaN when none. */
export function maximumUsableCapacity_Ah(states: ModuleStates): f32 {
  let smallest: f32 = Infinity;
  for (let i = 0; i < states.count; i++) {
    if (!states.usable(i)) continue;
    const capacity = unchecked(states.capacity_Ah[i]);
    if (capacity < smallest) smallest = capacity;
  }
  return smallest < Infinity ? smallest : <f32>NaN;
}
