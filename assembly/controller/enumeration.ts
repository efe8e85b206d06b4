// The daisy chain as the controller runs it: the first enumeration after start-up, and the
// re-enumeration after a module was added, removed or swapped, or a serial turned up twice
// (docs/protocol.md, "Re-enumeration"). The module table (modules.ts) classifies each
// ADDRESS_REQUEST and asks for a re-enumeration; this state machine carries it out over ticks:
//
//   COMPLETE --(new serial, duplicate, module gone)--> RESETTING: ADDRESS_RESET, table cleared,
//   CHAIN_SELECT_OUT low --(next tick)--> ENUMERATING: select high, the chain enumerates at bus
//   speed --(every configured module heard at its address, or no request for a while)--> COMPLETE:
//   modules at another position than before are reported, and a pack short of modules.
//
// Protection is never weakened while the table is rebuilt: the modules supervised before the
// reset stay expected, and each one missing from the new table counts as lost once the 500 ms
// module timeout has passed since the reset, exactly as a silent row would.
import { gpio_write, fault_report, GpioPin, FaultCode } from "../hal/abi";
import { ADDRESS_FIRST_NODE, AddressResetReason } from "../protocol/messages";
import { ModuleBus, MAX_MODULES, MODULE_TIMEOUT_ms } from "./modules";

export namespace EnumerationState {
  /** The chain runs: every request gets the next address in chain order. */
  export const ENUMERATING: i32 = 0;
  /** Every configured module was heard at its address, or the chain went quiet. */
  export const COMPLETE: i32 = 1;
  /** ADDRESS_RESET sent and the select output low, for one tick. */
  export const RESETTING: i32 = 2;
}

/**
 * An enumeration that has not found every configured module ends when no ADDRESS_REQUEST came for
 * this long: two retry periods of a node whose request went unanswered (10 ticks of 100 ms,
 * assembly/node/index.ts), so no node whose select input is high is still waiting.
 */
export const ENUMERATION_SETTLE_ms: i64 = 2000;
/**
 * A module silent for this long has left the chain (removed, or its node is dead): the chain is
 * enumerated again so the modules behind it take its place. Ten module timeouts: a node restart
 * (init, flash mount, first report: well under a second) or a bus-off recovery (128 x 11 bit
 * times, 2.8 ms at 500 kbit/s) comes back long before, and the protection has opened the
 * contactors for the lost module after 1.5 s (docs/protection.md) anyway.
 */
export const MODULE_GONE_ms: i64 = 5000;

export class ChainEnumeration {
  state: i32 = EnumerationState.ENUMERATING;
  /** Last answered ADDRESS_REQUEST (or the start of the enumeration). */
  private lastActivity_ms: i64 = -1;
  /** Re-enumerations since start-up, and the reason of the last one (AddressResetReason, -1 none). */
  resets: i32 = 0;
  lastReason: i32 = -1;
  private resetAt_ms: i64 = -1;
  /** Modules supervised before the re-enumerations: each one not back counts as lost. */
  private baseline: i32 = 0;
  private lostAtReset: i32 = 0;
  /** E2E alive counter of ADDRESS_RESET. */
  resetCounter: i32 = 0;
  /** Requests ignored while the select output was low (a node that did not hear the reset). */
  requestsIgnored: i32 = 0;
  /** The serials by position when the chain was last complete. */
  private previousCount: i32 = 0;
  private readonly previousLow: StaticArray<u32> = new StaticArray<u32>(MAX_MODULES);
  private readonly previousHigh: StaticArray<u32> = new StaticArray<u32>(MAX_MODULES);
  private readonly previousKnown: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  /** Row each module of the table had before the last re-enumeration (-1: new, unknown or none). */
  readonly previousIndex: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  /** Of the last completion: modules found at another position, and serials new to the pack. */
  moved: i32 = 0;
  added: i32 = 0;
  /** A completion happened in the last tick() (the caller remaps per-module state). */
  completedNow: bool = false;

  constructor() {
    for (let i = 0; i < MAX_MODULES; i++) unchecked(this.previousIndex[i] = -1);
  }

  /** An ADDRESS_REQUEST was answered. */
  activity(now_ms: i64): void {
    this.lastActivity_ms = now_ms;
  }

  get complete(): bool {
    return this.state == EnumerationState.COMPLETE;
  }

  /**
   * One controller tick, after the table's aggregate. Returns the AddressResetReason when a
   * re-enumeration starts now (the caller sends ADDRESS_RESET), else -1.
   */
  tick(m: ModuleBus, expected: i32, now_ms: i64): i32 {
    this.completedNow = false;
    if (this.lastActivity_ms < 0) this.lastActivity_ms = now_ms;
    if (this.state == EnumerationState.RESETTING) {
      gpio_write(GpioPin.CHAIN_SELECT_OUT, 1);
      this.state = EnumerationState.ENUMERATING;
      this.lastActivity_ms = now_ms;
    } else if (this.state == EnumerationState.ENUMERATING) {
      const all = expected > 0 && m.enumerated >= expected && m.count == m.enumerated;
      if (all || now_ms - this.lastActivity_ms >= ENUMERATION_SETTLE_ms) this.finish(m, expected);
    } else if (m.resetRequest < 0) {
      // A new unit asked while the full table still reported and now a module has gone silent: a swap.
      if (m.unknownRequest_ms >= 0 && m.anySilent(now_ms)) m.resetRequest = AddressResetReason.MODULE_ADDED;
      else if (m.silentLongerThan(now_ms, MODULE_GONE_ms)) m.resetRequest = AddressResetReason.MODULE_REMOVED;
    }
    let reason = -1;
    if (m.resetRequest >= 0 && this.state != EnumerationState.RESETTING) {
      reason = m.resetRequest;
      this.restart(m, reason, now_ms);
    }
    m.enumerationComplete = this.state == EnumerationState.COMPLETE;
    return reason;
  }

  private restart(m: ModuleBus, reason: i32, now_ms: i64): void {
    // An enumeration cut short keeps the order of the last complete one for the comparison.
    if (this.state == EnumerationState.COMPLETE) {
      this.previousCount = m.count;
      for (let i = 0; i < m.count; i++) {
        unchecked(this.previousLow[i] = unchecked(m.serialLow[i]));
        unchecked(this.previousHigh[i] = unchecked(m.serialHigh[i]));
        unchecked(this.previousKnown[i] = unchecked(m.serialKnown[i]) && !unchecked(m.duplicate[i]));
      }
    }
    const heard = m.rowsHeard();
    if (heard > this.baseline) this.baseline = heard;
    this.lostAtReset = m.unsupervised;
    m.reset();
    gpio_write(GpioPin.CHAIN_SELECT_OUT, 0);
    this.state = EnumerationState.RESETTING;
    this.resetAt_ms = now_ms;
    this.resets++;
    this.lastReason = reason;
  }

  private finish(m: ModuleBus, expected: i32): void {
    this.state = EnumerationState.COMPLETE;
    this.completedNow = true;
    this.moved = 0;
    this.added = 0;
    for (let i = 0; i < m.count; i++) unchecked(this.previousIndex[i] = -1);
    if (this.resets > 0) {
      for (let i = 0; i < m.count; i++) {
        if (!unchecked(m.serialKnown[i]) || unchecked(m.duplicate[i])) continue;
        const before = this.previousPosition(unchecked(m.serialLow[i]), unchecked(m.serialHigh[i]));
        unchecked(this.previousIndex[i] = before);
        if (before < 0) {
          this.added++;
          fault_report(FaultCode.MODULE_ADDED, i + ADDRESS_FIRST_NODE);
        } else if (before != i) {
          this.moved++;
          fault_report(FaultCode.MODULE_MOVED, i + ADDRESS_FIRST_NODE);
        }
      }
    }
    if (expected > 0 && m.enumerated < expected) fault_report(FaultCode.MODULE_MISSING, m.enumerated);
  }

  private previousPosition(serialLow: u32, serialHigh: u32): i32 {
    for (let p = 0; p < this.previousCount; p++) {
      if (unchecked(this.previousKnown[p]) && unchecked(this.previousLow[p]) == serialLow && unchecked(this.previousHigh[p]) == serialHigh) return p;
    }
    return -1;
  }

  /**
   * Modules the protection is to count as lost (ProtectionInputs.modulesLost): the table's
   * unsupervised rows, and after a re-enumeration every module supervised before it that is not
   * supervised again: during the first module timeout after the reset those lost at the reset,
   * then every one not back.
   */
  lostModules(m: ModuleBus, now_ms: i64): i32 {
    let lost = m.unsupervised;
    if (this.resets == 0) return lost;
    if (now_ms - this.resetAt_ms <= MODULE_TIMEOUT_ms) {
      if (this.lostAtReset > lost) lost = this.lostAtReset;
    } else {
      const missing = this.baseline - m.supervised;
      if (missing > lost) lost = missing;
    }
    return lost;
  }
}
