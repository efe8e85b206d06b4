// Active equalisation over a shared energy bus: one bidirectional isolated converter per module,
// each with an efficiency and a power limit. The bus stores nothing, so what the delivering
// converters put on it must equal what the absorbing ones take off; when the commands do not
// balance, the side in excess is scaled down and the shortfall reported. A node's firmware commands
// its converter through converter_set (HAL group "power", ConverterPeripheral below).
//
// Power is counted at the module terminals, positive when the module delivers to the bus. A module
// delivering P puts η·P on the bus; a module absorbing P (P < 0) takes |P|/η off it.
import type { Peripheral, HalImport } from "./types.ts";

export interface ConverterPart {
  name: string;
  source: string;
  /** Efficiency of one conversion (module to bus, or bus to module). */
  efficiency: number;
  /** Largest power one converter handles at the module terminals, W. */
  powerLimit_W: number;
}

/**
 * ADI (Linear Technology) LTC3300-1 bidirectional flyback balancer, datasheet front page: "up to 92 %
 * charge transfer efficiency", "up to 10 A balancing current (set by externals)". The power limit is
 * that current at a 3.6 V nominal Li-ion module.
 */
export const LTC3300_1: ConverterPart = {
  name: "ADI LTC3300-1",
  source: "LTC3300-1 datasheet, Features: up to 92 % charge transfer efficiency, up to 10 A balancing current",
  efficiency: 0.92,
  powerLimit_W: 10 * 3.6,
};

/** What the plant exposes for one module's converter. */
export interface ConverterTarget {
  converterPower_W: number;
}

export interface EnergyBusBalance {
  /** Power the delivering converters put on the bus, W. */
  intoBus_W: number;
  /** Power the absorbing converters take off the bus, W (equals intoBus_W). */
  outOfBus_W: number;
  /** Conversion losses, W: the sum of the module-terminal powers. */
  losses_W: number;
  /** Which side was scaled down to balance the bus. */
  scaledSide: "none" | "delivering" | "absorbing";
  /** Factor applied to that side (1 when none). */
  scale: number;
  /** Module-terminal power commanded but not delivered because of the balance, W (≥ 0). */
  curtailed_W: number;
}

export class EnergyBus {
  efficiency: number;
  powerLimit_W: number;
  /** Fault knob: failed converters transfer nothing, whatever they are commanded. */
  readonly failed = new Set<number>();
  private readonly commanded: Float64Array;
  private readonly actual: Float64Array;
  private readonly targets: Array<ConverterTarget | null>;
  private last: EnergyBusBalance = { intoBus_W: 0, outOfBus_W: 0, losses_W: 0, scaledSide: "none", scale: 1, curtailed_W: 0 };
  /** Energy delivered by modules, absorbed by modules, and lost, since the start, J. */
  energyDelivered_J = 0;
  energyAbsorbed_J = 0;
  energyLost_J = 0;

  constructor(readonly moduleCount: number, part: ConverterPart = LTC3300_1) {
    if (!(part.efficiency > 0 && part.efficiency <= 1)) throw new Error(`converter efficiency must be in (0, 1], got ${part.efficiency}`);
    this.efficiency = part.efficiency;
    this.powerLimit_W = part.powerLimit_W;
    this.commanded = new Float64Array(moduleCount);
    this.actual = new Float64Array(moduleCount);
    this.targets = new Array<ConverterTarget | null>(moduleCount).fill(null);
  }

  private check(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.moduleCount) throw new Error(`no converter ${index} on an energy bus of ${this.moduleCount}`);
  }

  /** Feeds a module's actual converter power to the plant (module.converterPower_W). */
  attach(index: number, target: ConverterTarget): void {
    this.check(index);
    this.targets[index] = target;
    target.converterPower_W = this.actual[index]!;
  }

  /** Commands one converter (W, positive = module delivers to the bus); clamps to the limit and rebalances. Returns the clamped command. */
  setPower_W(index: number, watts: number): number {
    this.check(index);
    const clamped = Math.max(-this.powerLimit_W, Math.min(this.powerLimit_W, Number.isFinite(watts) ? watts : 0));
    this.commanded[index] = clamped;
    this.resolve();
    return clamped;
  }

  /** Commanded power after clamping, W. */
  commanded_W(index: number): number {
    this.check(index);
    return this.commanded[index]!;
  }

  /** Power actually transferred at the module's terminals after balancing, W. */
  power_W(index: number): number {
    this.check(index);
    return this.actual[index]!;
  }

  balance(): EnergyBusBalance {
    return { ...this.last };
  }

  /** Accumulates energy over dt_s with the current powers held. */
  advance(dt_s: number): void {
    for (const p of this.actual) {
      if (p > 0) this.energyDelivered_J += p * dt_s;
      else this.energyAbsorbed_J -= p * dt_s;
    }
    this.energyLost_J += this.last.losses_W * dt_s;
  }

  /** Re-applies the knobs (efficiency, limit, failures) to the current commands. */
  resolve(): void {
    const eta = this.efficiency;
    let intoBus = 0;
    let outOfBus = 0;
    let commandedTotal = 0;
    for (let i = 0; i < this.moduleCount; i++) {
      const c = this.failed.has(i) ? 0 : Math.max(-this.powerLimit_W, Math.min(this.powerLimit_W, this.commanded[i]!));
      this.actual[i] = c;
      commandedTotal += Math.abs(this.commanded[i]!);
      if (c > 0) intoBus += eta * c;
      else outOfBus += -c / eta;
    }
    let scaledSide: EnergyBusBalance["scaledSide"] = "none";
    let scale = 1;
    const tolerance = 1e-12 * Math.max(intoBus, outOfBus);
    if (intoBus > outOfBus + tolerance) {
      scaledSide = "delivering";
      scale = intoBus > 0 ? outOfBus / intoBus : 0;
    } else if (outOfBus > intoBus + tolerance) {
      scaledSide = "absorbing";
      scale = outOfBus > 0 ? intoBus / outOfBus : 0;
    }
    let losses = 0;
    let transferred = 0;
    for (let i = 0; i < this.moduleCount; i++) {
      let p = this.actual[i]!;
      if ((scaledSide === "delivering" && p > 0) || (scaledSide === "absorbing" && p < 0)) p *= scale;
      this.actual[i] = p;
      losses += p;
      transferred += Math.abs(p);
    }
    const bus = scaledSide === "delivering" ? outOfBus : intoBus;
    this.last = { intoBus_W: bus, outOfBus_W: bus, losses_W: losses, scaledSide, scale, curtailed_W: commandedTotal - transferred };
    for (let i = 0; i < this.moduleCount; i++) {
      const target = this.targets[i];
      if (target !== null && target !== undefined) target.converterPower_W = this.actual[i]!;
    }
  }
}

/**
 * The HAL side of one module's converter: converter_set (group "power") commands converter
 * `index` of the energy bus. A board without a converter links the same import to `null`:
 * converter_set then answers -1, as the ABI says.
 */
export class ConverterPeripheral implements Peripheral {
  readonly group = "power";
  commands = 0;

  constructor(private readonly bus: EnergyBus | null, private readonly index: number) {}

  imports(): Record<string, HalImport> {
    return {
      converter_set: (power_mW: number): number => {
        if (this.bus === null) return -1;
        this.commands++;
        this.bus.setPower_W(this.index, power_mW / 1000);
        return 0;
      },
    };
  }
}
