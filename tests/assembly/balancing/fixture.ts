// Module tables for the balancing specs.
import { ModuleStates } from "../../../assembly/pack/modules";
import { BalanceModules } from "../../../assembly/balancing/modules";

/** count modules at soc on capacity_Ah, exact estimates (sigma 0), 3.7 V, 25 degC, refreshed at 0 ms. */
export function uniformModules(count: i32, soc: f32, capacity_Ah: f32): BalanceModules {
  const m = new BalanceModules(new ModuleStates());
  m.states.count = count;
  for (let i = 0; i < count; i++) m.set(i, soc, 0.0, capacity_Ah, 0.0, 3.7, 25.0, true, 0);
  return m;
}

/** Changes one module's SOC and capacity, keeping the rest of its entry. */
export function setCharge(m: BalanceModules, index: i32, soc: f32, capacity_Ah: f32): void {
  m.states.soc[index] = soc;
  m.states.capacity_Ah[index] = capacity_Ah;
}

/** Marks every module refreshed at now_ms. */
export function refresh(m: BalanceModules, now_ms: i64): void {
  for (let i = 0; i < m.count; i++) m.updated_ms[i] = now_ms;
}

/** xorshift32 and Box-Muller: reproducible Gaussian noise without Math.random. */
export class Noise {
  private state: u32;
  constructor(seed: u32) { this.state = seed != 0 ? seed : 1; }
  uniform(): f32 {
    let x = this.state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    this.state = x;
    return (<f32>(x >> 8) + <f32>0.5) / <f32>16777216.0;
  }
  gaussian(): f32 {
    const u = this.uniform();
    const v = this.uniform();
    return Mathf.sqrt(<f32>-2.0 * Mathf.log(u)) * Mathf.cos(<f32>6.2831853 * v);
  }
}
