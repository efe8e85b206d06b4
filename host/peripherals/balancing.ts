// Passive balancing switch: the node's BALANCE_SWITCH output closes a MOSFET that puts the bleed
// resistor across the module. The switch sets the plant module's bleed resistance; Infinity means
// no bleed path. Faults: the MOSFET failed short (stuck closed) or open, and resistor tolerance.
import type { GpioPeripheral } from "./gpio.ts";

/** What the plant exposes for one module's bleed path. */
export interface BleedTarget {
  bleedResistance_Ohm: number;
}

export class BalancingSwitch {
  private commanded = 0;
  private stuckState: "open" | "closed" | null = null;
  private error = 0;

  /** resistance_Ohm: the board's bleed resistor (board.balancing.resistance_Ohm). */
  constructor(gpio: GpioPeripheral, readonly resistance_Ohm: number, private readonly target: BleedTarget) {
    gpio.onOutput("BALANCE_SWITCH", (level) => {
      this.commanded = level;
      this.apply();
    });
    this.apply();
  }

  /** True when the bleed resistor is across the module. */
  get closed(): boolean {
    return this.stuckState === null ? this.commanded !== 0 : this.stuckState === "closed";
  }

  /** Fault knob: the switch stays open or closed whatever the firmware commands; null heals it. */
  setStuck(state: "open" | "closed" | null): void {
    this.stuckState = state;
    this.apply();
  }

  /** Fault knob: relative error of the bleed resistor (0.05 = 5 % high). */
  setResistanceError(relative: number): void {
    this.error = relative;
    this.apply();
  }

  private apply(): void {
    this.target.bleedResistance_Ohm = this.closed ? this.resistance_Ohm * (1 + this.error) : Infinity;
  }
}
