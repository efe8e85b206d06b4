// A pack: N modules in series carrying one string current (positive = discharge), and the
// factory that builds one from a parameter set with seeded cell-to-cell spread.
import { Cell } from "./cell.ts";
import type { CellOptions } from "./cell.ts";
import type { CellParameters } from "./chemistry.ts";
import { Module } from "./module.ts";
import { Random } from "./random.ts";

export class Pack {
  readonly modules: readonly Module[];
  private current = 0;
  private stepLength = 1;
  private ambient = 25;
  private power = 0;
  private requestedPower = 0;
  private limited = false;

  constructor(modules: readonly Module[]) {
    if (modules.length === 0) throw new Error("a pack needs at least one module");
    this.modules = modules;
  }

  /** Advances every module by dt with the string current (positive = discharge). */
  step(current_A: number, dt_s: number, ambient_C: number): void {
    const modules = this.modules;
    for (let k = 0; k < modules.length; k++) modules[k]!.prepare(dt_s);
    this.current = current_A;
    this.stepLength = dt_s;
    this.ambient = ambient_C;
    this.commit();
    this.requestedPower = this.power;
    this.limited = false;
  }

  /**
   * Advances by dt drawing a requested power (positive = discharge). With the pack's Thevenin
   * equivalent V = E - R I for this step, I (E - R I) = P gives I = 2P / (E + sqrt(E^2 - 4RP)),
   * the root that tends to P/E for small R. When P exceeds the maximum deliverable E^2 / 4R the
   * pack delivers that maximum (I = E / 2R) and powerLimited is set.
   */
  stepPower(power_W: number, dt_s: number, ambient_C: number): void {
    let e = 0;
    let r = 0;
    const modules = this.modules;
    for (let k = 0; k < modules.length; k++) {
      const module = modules[k]!;
      module.prepare(dt_s);
      e += module.theveninVoltage_V;
      r += module.theveninResistance_Ohm;
    }
    const discriminant = e * e - 4 * r * power_W;
    const feasible = discriminant >= 0 && e > 0;
    this.current = feasible ? (2 * power_W) / (e + Math.sqrt(discriminant)) : e / (2 * r);
    this.stepLength = dt_s;
    this.ambient = ambient_C;
    this.commit();
    this.requestedPower = power_W;
    this.limited = !feasible;
  }

  /** Commits the prepared modules with the current, step and ambient held in fields (see Cell.commit). */
  private commit(): void {
    const current_A = this.current;
    const dt_s = this.stepLength;
    const ambient_C = this.ambient;
    let v = 0;
    const modules = this.modules;
    for (let k = 0; k < modules.length; k++) {
      const module = modules[k]!;
      module.commit(current_A, dt_s, ambient_C);
      v += module.voltage_V;
    }
    this.power = current_A * v;
  }

  get voltage_V(): number {
    let v = 0;
    for (const module of this.modules) v += module.voltage_V;
    return v;
  }
  get current_A(): number { return this.current; }
  /** Power delivered at the terminals in the last step (positive = discharge). */
  get power_W(): number { return this.power; }
  /** Power requested in the last stepPower (equals power_W after step). */
  get requestedPower_W(): number { return this.requestedPower; }
  /** The last stepPower asked for more than the pack could deliver. */
  get powerLimited(): boolean { return this.limited; }
  /** Mean of the module SOCs. */
  get soc(): number {
    let sum = 0;
    for (const module of this.modules) sum += module.soc;
    return sum / this.modules.length;
  }
  /** Series resistance: sum of the modules' parallel R0. */
  get resistance0_Ohm(): number {
    let r = 0;
    for (const module of this.modules) r += module.resistance0_Ohm;
    return r;
  }
  /** Number of cells. */
  get cellCount(): number {
    let n = 0;
    for (const module of this.modules) n += module.cells.length;
    return n;
  }
}

/** Relative (1-sigma) cell-to-cell spread; soc_abs is absolute in SOC units. */
export interface CellSpread {
  capacity_rel: number;
  resistance_rel: number;
  soc_abs: number;
  selfDischarge_rel: number;
}

export interface PackConfig {
  cell: CellParameters;
  modules: number;
  parallel: number;
  spread: CellSpread;
  seed: number;
  initialSoc: number;
  temperature_C: number;
  /** Options applied to every cell (its spread-drawn fields are overridden). */
  cellOptions?: CellOptions;
  /** Multiplies every cell's capacity and resistance: a plant that differs from its parameter file. */
  parameterScale?: { capacity: number; resistance: number };
  /** Prior ageing of every cell: capacity fade and resistance growth (fractions), as cycle ageing. */
  ageing?: { capacityFade: number; resistanceGrowth: number };
}

/**
 * Builds modules x parallel cells with Gaussian spread drawn from one seeded generator, in a fixed
 * order (module by module, cell by cell: capacity, resistance, SOC, self-discharge), so a seed
 * always gives the same pack. Scale factors are floored at 5 % of nominal so a wide spread cannot
 * produce a non-physical cell; SOC is clamped to [0, 1].
 */
export function createPack(config: PackConfig): Pack {
  const { cell, modules, parallel, spread, seed, initialSoc, temperature_C } = config;
  if (!Number.isInteger(modules) || modules < 1) throw new Error(`modules must be a positive integer (is ${modules})`);
  if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`parallel must be a positive integer (is ${parallel})`);
  const random = new Random(seed);
  const scale = (relative: number): number => Math.max(0.05, 1 + relative * random.gaussian());
  const built: Module[] = [];
  for (let m = 0; m < modules; m++) {
    const cells: Cell[] = [];
    for (let p = 0; p < parallel; p++) {
      const capacityScale = scale(spread.capacity_rel) * (config.parameterScale?.capacity ?? 1);
      const resistanceScale = scale(spread.resistance_rel) * (config.parameterScale?.resistance ?? 1);
      const soc = Math.min(1, Math.max(0, initialSoc + spread.soc_abs * random.gaussian()));
      const selfDischargeScale = Math.max(0, 1 + spread.selfDischarge_rel * random.gaussian());
      const c = new Cell(cell, { ...config.cellOptions, capacityScale, resistanceScale, soc, selfDischargeScale, temperature_C });
      if (config.ageing !== undefined) c.setState({ capacityLossCycle: config.ageing.capacityFade, resistanceGrowthCycle: config.ageing.resistanceGrowth });
      cells.push(c);
    }
    built.push(new Module(cells));
  }
  return new Pack(built);
}
