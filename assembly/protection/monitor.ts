// One quantity watched against its three levels, with per-level set and clear debounce and a
// latched OPEN level. Pure state machine: the caller passes the value and the time.
import { FaultLevel } from "./faults";
import { LevelThresholds } from "./limits";

const LEVEL_SLOTS: i32 = 4;
const NEVER: i64 = -1;

export class LevelMonitor {
  /** The monitor's own copy; Protection rewrites it where limits depend on the operating point. */
  readonly thresholds: LevelThresholds;
  /** Indexed by level (WARNING..OPEN); slot 0 unused. */
  readonly setTime_ms: StaticArray<i64> = new StaticArray<i64>(LEVEL_SLOTS);
  /** Indexed by level; the OPEN slot is unused (OPEN is latched). */
  readonly clearTime_ms: StaticArray<i64> = new StaticArray<i64>(LEVEL_SLOTS);
  private readonly violatedSince_ms: StaticArray<i64> = new StaticArray<i64>(LEVEL_SLOTS);
  private readonly insideSince_ms: StaticArray<i64> = new StaticArray<i64>(LEVEL_SLOTS);
  private readonly active: StaticArray<bool> = new StaticArray<bool>(LEVEL_SLOTS);
  /** Debounced level: the highest active one. */
  level: i32 = FaultLevel.NONE;
  /** Last value passed to update (NaN: no evidence). */
  value: f32 = NaN;

  constructor(thresholds: LevelThresholds) {
    this.thresholds = new LevelThresholds(thresholds.warning, thresholds.derate, thresholds.open, thresholds.hysteresis, thresholds.above);
    for (let level = 0; level < LEVEL_SLOTS; level++) {
      unchecked(this.violatedSince_ms[level] = NEVER);
      unchecked(this.insideSince_ms[level] = NEVER);
    }
  }

  /** The value violates a level: at or beyond its threshold. NaN (value or threshold) never does. */
  violates(value: f32, level: i32): bool {
    const threshold = this.thresholds.at(level);
    return this.thresholds.above ? value >= threshold : value <= threshold;
  }

  /** The value is back inside a level by the hysteresis. NaN never is. */
  inside(value: f32, level: i32): bool {
    const t = this.thresholds;
    const threshold = t.at(level);
    return t.above ? value < threshold - t.hysteresis : value > threshold + t.hysteresis;
  }

  /**
   * Advances the debounce with this tick's value and returns the level. A NaN value is no
   * evidence either way: running set and clear timers restart, active levels hold.
   */
  update(value: f32, now_ms: i64): i32 {
    this.value = value;
    for (let level = FaultLevel.WARNING; level <= FaultLevel.OPEN; level++) {
      if (this.violates(value, level)) {
        if (unchecked(this.violatedSince_ms[level]) == NEVER) unchecked(this.violatedSince_ms[level] = now_ms);
      } else {
        unchecked(this.violatedSince_ms[level] = NEVER);
      }
      if (this.inside(value, level)) {
        if (unchecked(this.insideSince_ms[level]) == NEVER) unchecked(this.insideSince_ms[level] = now_ms);
      } else {
        unchecked(this.insideSince_ms[level] = NEVER);
      }
      if (!unchecked(this.active[level])) {
        const since = unchecked(this.violatedSince_ms[level]);
        if (since != NEVER && now_ms - since >= unchecked(this.setTime_ms[level])) unchecked(this.active[level] = true);
      } else if (level != FaultLevel.OPEN) {
        const since = unchecked(this.insideSince_ms[level]);
        if (since != NEVER && now_ms - since >= unchecked(this.clearTime_ms[level])) unchecked(this.active[level] = false);
      }
    }
    this.level = this.highestActive();
    return this.level;
  }

  /**
   * Releases a latched OPEN when the last value is inside the OPEN level (with hysteresis).
   * Returns true when OPEN is no longer latched.
   */
  resetOpen(): bool {
    if (!unchecked(this.active[FaultLevel.OPEN])) return true;
    if (!this.inside(this.value, FaultLevel.OPEN)) return false;
    unchecked(this.active[FaultLevel.OPEN] = false);
    unchecked(this.violatedSince_ms[FaultLevel.OPEN] = NEVER);
    this.level = this.highestActive();
    return true;
  }

  private highestActive(): i32 {
    for (let level = FaultLevel.OPEN; level >= FaultLevel.WARNING; level--) {
      if (unchecked(this.active[level])) return level;
    }
    return FaultLevel.NONE;
  }
}
