// Simulated time: one clock shared by every device of a simulation, advanced by the run loop.
import type { Peripheral, HalImport } from "./types.ts";

export class SimClock {
  /** Simulated microseconds since the start of the run. */
  now_us = 0;
  get now_ms(): number {
    return Math.floor(this.now_us / 1000);
  }
  advance_us(dt_us: number): void {
    if (!(dt_us >= 0)) throw new Error(`clock cannot advance by ${dt_us} us`);
    this.now_us += dt_us;
  }
}

export class ClockPeripheral implements Peripheral {
  readonly group = "clock";
  /** Fault knob: a constant offset of this device's clock (µs), as a crystal start-up would give. */
  offset_us = 0;
  constructor(private readonly clock: SimClock) {}
  imports(): Record<string, HalImport> {
    return { clock_us: (): bigint => BigInt(Math.floor(this.clock.now_us + this.offset_us)) };
  }
}
