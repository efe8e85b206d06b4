// The per-module bleed commands a planner hands the controller, which sends each to its node as a
// BALANCE_COMMAND (docs/balancing.md, "Messages"). Every passive strategy fills the same arrays, so
// the controller wires one of them behind one interface (foxBMS keeps bal/voltage, bal/history and
// bal/none side by side the same way) and a benchmark can run two in one pack.
import { MAX_PACK_MODULES } from "../pack/modules";
import { BalanceModules } from "./modules";

/**
 * Largest charge one command carries: a u16 at 0.1 mAh per bit (6553.5 mAh). A longer bleed is
 * simply re-commanded: commands are refreshed every second, long before the node could remove it.
 */
export const BLEED_CHARGE_MAX_Ah: f32 = 6.5535;

export class BleedCommands {
  /** Module i is commanded to bleed. */
  readonly bleed: StaticArray<bool> = new StaticArray<bool>(MAX_PACK_MODULES);
  /** Charge the node is to remove from now on, Ah (0 when not bleeding; at most BLEED_CHARGE_MAX_Ah). */
  readonly charge_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** Largest duty cycle the node may use, 0..1 (its thermal derating can only lower it). */
  readonly duty: StaticArray<f32> = new StaticArray<f32>(MAX_PACK_MODULES);
  /** BalanceStatus bits of the last update. */
  status: i32 = 0;
  /** Modules commanded to bleed in the last update. */
  bleedingCount: i32 = 0;

  /** Turns every command off. */
  stopAll(): void {
    for (let i = 0; i < MAX_PACK_MODULES; i++) {
      unchecked(this.bleed[i] = false);
      unchecked(this.charge_Ah[i] = 0.0);
      unchecked(this.duty[i] = 0.0);
    }
    this.bleedingCount = 0;
  }

  /** Sets one module's command; a non-positive charge or duty turns it off. */
  command(index: i32, charge_Ah: f32, duty: f32): void {
    const on = charge_Ah > 0 && duty > 0;
    unchecked(this.bleed[index] = on);
    unchecked(this.charge_Ah[index] = on ? (charge_Ah < BLEED_CHARGE_MAX_Ah ? charge_Ah : BLEED_CHARGE_MAX_Ah) : <f32>0.0);
    unchecked(this.duty[index] = on ? (duty < 1 ? duty : <f32>1.0) : <f32>0.0);
  }
}

/** A passive balancing strategy: one update per controller tick, commands in the inherited arrays. */
export abstract class BleedStrategy extends BleedCommands {
  /** Re-plans from the module table; returns the BalanceStatus bits. packCurrent_A positive = discharge. */
  abstract update(modules: BalanceModules, packCurrent_A: f32, now_ms: i64): i32;
}
