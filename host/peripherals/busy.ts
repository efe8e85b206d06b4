// Time a HAL call keeps the firmware blocked (an ADC conversion, a flash program or erase). The
// emulated call returns at once; the peripheral adds what the real part would have taken here, so a
// benchmark can report it per tick and a harness can charge it to the device's time budget.

export class BusyTime {
  /** Blocking time accumulated since the peripheral was created, µs. */
  total_us = 0;
  private lapStart_us = 0;
  /** Called with every blocking duration (µs): the hook for a per-device time budget. */
  listener: ((duration_us: number) => void) | null = null;

  add(duration_us: number): void {
    this.total_us += duration_us;
    this.listener?.(duration_us);
  }

  /** Blocking time since the previous call (call once per tick for a per-tick figure), µs. */
  lap_us(): number {
    const lap = this.total_us - this.lapStart_us;
    this.lapStart_us = this.total_us;
    return lap;
  }
}

/** A datasheet figure given as typical and maximum. */
export interface Limits {
  typical: number;
  maximum: number;
}

/** Which datasheet column a model takes its values from. */
export type Corner = "typical" | "maximum";
