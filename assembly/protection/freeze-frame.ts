// Freeze frames: what the pack looked like when a fault reached a level, kept in a fixed ring
// buffer (the oldest record is overwritten when full). The controller persists new records to
// flash as diagnostic codes; `recorded` tells it how many were ever written.
import { diagnosticCode } from "./faults";

export class FreezeFrame {
  time_ms: i64 = 0;
  fault: i32 = 0;
  level: i32 = 0;
  /** The monitored quantity at that moment (unit of the fault: mV, degC, A, modules, mV or Ah deviation, 1/0). */
  value: f32 = NaN;
  maxModuleVoltage_mV: f32 = NaN;
  maxVoltageModule: i32 = -1;
  minModuleVoltage_mV: f32 = NaN;
  minVoltageModule: i32 = -1;
  maxTemperature_C: f32 = NaN;
  minTemperature_C: f32 = NaN;
  packCurrent_A: f32 = NaN;
  packVoltage_mV: f32 = NaN;
  sumModuleVoltage_mV: f32 = NaN;
  modulesLost: i32 = 0;
  meanSoc: f32 = NaN;

  get code(): i32 {
    return diagnosticCode(this.fault, this.level);
  }
}

export class FreezeFrameLog {
  readonly capacity: i32;
  private readonly frames: StaticArray<FreezeFrame>;
  /** Index of the slot the next record goes to. */
  private next: i32 = 0;
  /** Records held (at most capacity). */
  count: i32 = 0;
  /** Records ever written; record number k (0-based) is held while k >= recorded - count. */
  recorded: u32 = 0;

  constructor(capacity: i32) {
    const slots = capacity < 1 ? 1 : capacity;
    const frames = new StaticArray<FreezeFrame>(slots);
    for (let i = 0; i < slots; i++) unchecked(frames[i] = new FreezeFrame());
    this.capacity = slots;
    this.frames = frames;
  }

  /** The slot the next record goes to; the caller fills it, then calls commit(). */
  slot(): FreezeFrame {
    return unchecked(this.frames[this.next]);
  }

  commit(): void {
    this.next = this.next + 1 >= this.capacity ? 0 : this.next + 1;
    if (this.count < this.capacity) this.count++;
    this.recorded++;
  }

  /** The i-th record held, 0 = oldest, count - 1 = newest. Out of range gives the oldest. */
  at(i: i32): FreezeFrame {
    const index = i < 0 || i >= this.count ? 0 : i;
    let slot = this.next - this.count + index;
    if (slot < 0) slot += this.capacity;
    return unchecked(this.frames[slot]);
  }

  /** The newest record (the oldest slot when empty). */
  newest(): FreezeFrame {
    return this.at(this.count - 1);
  }
}
