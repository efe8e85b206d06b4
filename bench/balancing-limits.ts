// Physical minima of equalisation, for the balancing benchmark: what no algorithm can beat with the
// given modules and hardware. The target is the firmware's (docs/balancing.md): the usable capacity
// U = min_i q_i + min_i (Q_i - q_i) of a series string reaches its maximum Q_min = min_i Q_i exactly
// when every final charge lies in [d, d + Q_i - Q_min] for one level d in [0, Q_min].
// Module voltages are held at their present values (charge and energy convert at V_i); an
// algorithm's measured time and energy are compared with these numbers computed at its start.
// Double precision, independent of the firmware's f32 planners (assembly/balancing/).

/** One module's state: SOC on its own capacity (0..1), capacity in Ah, terminal voltage in V. */
export interface BalanceModuleState {
  soc: number;
  capacity_Ah: number;
  voltage_V: number;
}

/** Active-balancing hardware: the energy bus's converters (host/peripherals/energy-bus.ts) and, optionally, the bleed resistors. */
export interface EqualiserHardware {
  /** Efficiency of one conversion (module to bus or bus to module); a round trip delivers eta^2. */
  efficiency: number;
  /** Converter limit at the module terminals, W: one for all, or one per module (0 = no converter). */
  powerLimit_W: number | readonly number[];
  /** Bleed resistor, ohm, when the bleeds help (combined plan); omitted = converters only. */
  bleedResistance_Ohm?: number;
}

const s_PER_h = 3600;

function charge_Ah(m: BalanceModuleState): number {
  return Math.min(1, Math.max(0, m.soc)) * m.capacity_Ah;
}

function check(modules: readonly BalanceModuleState[]): void {
  if (modules.length === 0) throw new Error("balancing limits need at least one module");
  for (const m of modules) {
    if (!(m.capacity_Ah > 0) || !Number.isFinite(m.soc) || !(m.voltage_V > 0)) {
      throw new Error(`module needs capacity > 0, a finite SOC and voltage > 0; got ${JSON.stringify(m)}`);
    }
  }
}

/** U = min_i q_i + min_i (Q_i - q_i), Ah: what the string cycles between its first empty and its first full module. */
export function usableCapacity_Ah(modules: readonly BalanceModuleState[]): number {
  check(modules);
  let dischargeable = Infinity;
  let chargeable = Infinity;
  for (const m of modules) {
    const q = charge_Ah(m);
    dischargeable = Math.min(dischargeable, q);
    chargeable = Math.min(chargeable, m.capacity_Ah - q);
  }
  return dischargeable + chargeable;
}

/** Q_min, Ah: the usable capacity of a perfectly balanced string. */
export function maximumUsableCapacity_Ah(modules: readonly BalanceModuleState[]): number {
  check(modules);
  return Math.min(...modules.map((m) => m.capacity_Ah));
}

/** Q_min - U, Ah: the usable capacity balancing can win back. */
export function usableCapacityGain_Ah(modules: readonly BalanceModuleState[]): number {
  return maximumUsableCapacity_Ah(modules) - usableCapacity_Ah(modules);
}

/**
 * The least charge each module must bleed to reach Q_min with a removal-only balancer, Ah:
 * b_i = max(0, (q_i - D) - (Q_i - Q_min)), D = min_j q_j. Every passive plan reaching Q_min bleeds
 * at least this from every module (lowering D below its present value only adds to each b_i).
 */
export function passiveExcess_Ah(modules: readonly BalanceModuleState[]): number[] {
  check(modules);
  const dischargeable = Math.min(...modules.map(charge_Ah));
  const smallest = maximumUsableCapacity_Ah(modules);
  return modules.map((m) => Math.max(0, charge_Ah(m) - dischargeable - (m.capacity_Ah - smallest)));
}

/**
 * Passive minimum time, s: every module bleeds at once at full duty, at V_i / R; the largest
 * excess over its bleed current sets the time.
 */
export function passiveMinimumTime_s(modules: readonly BalanceModuleState[], bleedResistance_Ohm: number): number {
  if (!(bleedResistance_Ohm > 0)) throw new Error(`bleed resistance must be > 0, got ${bleedResistance_Ohm}`);
  const excess = passiveExcess_Ah(modules);
  let longest = 0;
  modules.forEach((m, i) => {
    longest = Math.max(longest, (excess[i]! * s_PER_h) / (m.voltage_V / bleedResistance_Ohm));
  });
  return longest;
}

/** Least energy a passive balancer dissipates, J: sum_i b_i V_i (the excess charge at the module voltage). */
export function passiveMinimumDissipation_J(modules: readonly BalanceModuleState[]): number {
  const excess = passiveExcess_Ah(modules);
  return modules.reduce((sum, m, i) => sum + excess[i]! * s_PER_h * m.voltage_V, 0);
}

export interface ActiveMinimum {
  /** Least time to reach Q_min, s. */
  time_s: number;
  /** A level d reaching it: the smallest module's final charge, Ah. */
  level_Ah: number;
}

/**
 * Active (optionally combined) minimum time. In any schedule of length T, converter i moves at most
 * P_i T at its terminals and the bleed at most T V_i^2 / R; the bus stores nothing, so over the
 * schedule eta sum(delivered) = sum(absorbed) / eta, which for each module's net c_i gives
 * F(c) = eta sum max(c_i, 0) - sum max(-c_i, 0) / eta >= 0. With the endpoint in the target,
 * module i's net converter energy is at most cHi_i = min((q_i - d) k_i, P_i T) (k_i = 3600 V_i),
 * and it must shed at least (q_i - d - w_i) k_i with converter and bleed together. So T is
 * feasible only if some d in [0, Q_min] has every module's box non-empty and F(cHi) >= 0; F(cHi)
 * falls with d, so checking d at the box range's low end suffices, and feasibility grows with T:
 * bisection. The firmware's planner solves the same problem with the exact bus balance (it cannot
 * circulate energy), so its time is never below this.
 */
export function activeMinimumTime_s(modules: readonly BalanceModuleState[], hardware: EqualiserHardware): ActiveMinimum {
  check(modules);
  const eta = hardware.efficiency;
  if (!(eta > 0 && eta <= 1)) throw new Error(`efficiency must be in (0, 1], got ${eta}`);
  const limits = modules.map((_, i) => {
    const p = typeof hardware.powerLimit_W === "number" ? hardware.powerLimit_W : hardware.powerLimit_W[i];
    if (p === undefined || !(p >= 0)) throw new Error(`converter limit of module ${i} must be >= 0, got ${p}`);
    return p;
  });
  const r = hardware.bleedResistance_Ohm;
  if (r !== undefined && !(r > 0)) throw new Error(`bleed resistance must be > 0, got ${r}`);
  const smallest = maximumUsableCapacity_Ah(modules);
  const q = modules.map(charge_Ah);
  const width = modules.map((m) => m.capacity_Ah - smallest);
  const perAh = modules.map((m) => m.voltage_V * s_PER_h);
  const bleed_W = modules.map((m) => (r === undefined ? 0 : (m.voltage_V * m.voltage_V) / r));

  const lowLevel = (time: number): number | null => {
    let low = 0;
    let high = smallest;
    modules.forEach((_, i) => {
      low = Math.max(low, q[i]! - width[i]! - (time * (limits[i]! + bleed_W[i]!)) / perAh[i]!);
      high = Math.min(high, q[i]! + (time * limits[i]!) / perAh[i]!);
    });
    return low <= high ? low : null;
  };
  const balanceAtTop = (time: number, level: number): number => {
    let supply = 0;
    let demand = 0;
    modules.forEach((_, i) => {
      const c = Math.min((q[i]! - level) * perAh[i]!, time * limits[i]!);
      if (c > 0) supply += c;
      else demand -= c;
    });
    return eta * supply - demand / eta;
  };
  const scale = Math.max(...modules.map((m, i) => m.capacity_Ah * perAh[i]!));
  const feasible = (time: number): number | null => {
    const level = lowLevel(time);
    if (level === null) return null;
    return balanceAtTop(time, level) >= -1e-12 * scale * modules.length ? level : null;
  };

  if (feasible(0) !== null) return { time_s: 0, level_Ah: feasible(0)! };
  let high = 1;
  while (feasible(high) === null) {
    high *= 2;
    if (high > 1e12) throw new Error("no schedule reaches the maximum usable capacity with this hardware");
  }
  let low = 0;
  for (let step = 0; step < 200 && high - low > 1e-12 * high; step++) {
    const mid = (low + high) / 2;
    if (feasible(mid) === null) low = mid;
    else high = mid;
  }
  return { time_s: high, level_Ah: feasible(high)! };
}
