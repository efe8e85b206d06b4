// Contactors and precharge: the controller's coil outputs (CONTACTOR_POSITIVE, _NEGATIVE,
// _PRECHARGE) move contacts after the part's operate and release times; auxiliary contacts report
// the contact position on CONTACTOR_POSITIVE_AUX / _NEGATIVE_AUX; the DC link behind the contactors
// is a capacitor charged from the pack through the precharge resistor, tied to the pack when both
// mains are closed, and bled down when the link is cut off. LINK_VOLTAGE samples it.
//
// pack+ --[positive]------------------+-- link+
//       \-[precharge]--R_precharge---/     |  C_link || R_bleed
// pack- --[negative]----------------------- link-
//
// Between contact movements the circuit is linear with a fixed topology, so the link voltage is
// advanced with the exact exponential solution, whatever the harness's step.
import type { GpioPeripheral } from "./gpio.ts";

const TIME_EPSILON_s = 1e-9;

export interface ContactorPart {
  name: string;
  source: string;
  /** Coil energised to contacts closed, bounce included, ms. */
  operate_ms: number;
  /** Coil released to contacts open, ms. */
  release_ms: number;
}

/**
 * TE EVC135 EV contactor, "Performance Data": operate time 25 ms max at rated coil voltage
 * (bounce, 5 ms max, included), release time 10 ms max. The datasheet gives maxima only.
 */
export const TE_EVC135: ContactorPart = {
  name: "TE EVC135",
  source: "TE EVC135 Contactor datasheet, Performance Data: operate 25 ms max, release 10 ms max",
  operate_ms: 25,
  release_ms: 10,
};

export class Contactor {
  /** Coil state as last commanded. */
  coil = false;
  /** Fault knob: the contacts are welded: once closed they never open. */
  welded = false;
  /** Fault knob: open coil (or broken driver): the contacts never close. */
  coilOpen = false;
  /** Fault knob: the auxiliary contact reads this level whatever the main contacts do. */
  auxStuck: 0 | 1 | null = null;
  operations = 0;
  private contactsClosed = false;
  private pending: { at_s: number; closed: boolean } | null = null;

  constructor(readonly name: string, public operate_ms: number, public release_ms: number) {}

  get closed(): boolean {
    return this.contactsClosed;
  }

  /** Level on the auxiliary (feedback) contact: 1 when the main contacts are closed. */
  auxLevel(): number {
    return this.auxStuck ?? (this.contactsClosed ? 1 : 0);
  }

  /** @internal energises or releases the coil at a time. */
  setCoil(on: boolean, now_s: number): void {
    if (on === this.coil) return;
    this.coil = on;
    const target = on && !this.coilOpen;
    if (target === this.contactsClosed) {
      this.pending = null;
      return;
    }
    this.pending = { at_s: now_s + (target ? this.operate_ms : this.release_ms) / 1000, closed: target };
  }

  /** @internal time of the next contact movement (Infinity when none). */
  nextMove_s(): number {
    return this.pending?.at_s ?? Infinity;
  }

  /** @internal completes the pending movement; returns true when the contacts changed. */
  move(): boolean {
    const p = this.pending;
    this.pending = null;
    if (p === null) return false;
    if (!p.closed && this.welded) return false;
    if (p.closed === this.contactsClosed) return false;
    this.contactsClosed = p.closed;
    this.operations++;
    return true;
  }
}

export interface PrechargeCircuit {
  /** DC-link capacitance on the load side, F. */
  linkCapacitance_F: number;
  /** Precharge resistor, Ω. */
  prechargeResistance_Ohm: number;
  /** Passive discharge resistor across the link, Ω (Infinity: none). */
  bleedResistance_Ohm: number;
  /** Pack, cabling and contact resistance in the inrush loop when a main contactor closes onto the link, Ω. */
  loopResistance_Ohm: number;
  /** Peak inrush current above which a closing is a damage event, A. */
  makeCurrentLimit_A: number;
}

/**
 * A 400 V-class traction DC link: 1 mF link capacitance, 47 Ω precharge resistor (τ = 47 ms),
 * 47 kΩ passive bleed (τ = 47 s), 0.1 Ω inrush loop. Board-design choices, not datasheet figures:
 * change them with the board. The make-current limit is TE EVC135's 1250 A pulsed capacitive-load
 * figure from the same Performance Data table.
 */
export const DEFAULT_PRECHARGE_CIRCUIT: Readonly<PrechargeCircuit> = {
  linkCapacitance_F: 1e-3,
  prechargeResistance_Ohm: 47,
  bleedResistance_Ohm: 47e3,
  loopResistance_Ohm: 0.1,
  makeCurrentLimit_A: 1250,
};

export interface InrushEvent {
  time_s: number;
  /** The contactor whose closing connected the link straight to the pack. */
  contactor: string;
  voltageDifference_V: number;
  /** ΔV over the loop resistance, A. */
  peakCurrent_A: number;
  /** Energy dissipated in the loop while the link charges, ½CΔV², J. */
  energy_J: number;
  /** Peak current above the make-current limit. */
  damaging: boolean;
}

export interface ContactorSources {
  /** Simulated time, s (e.g. clock.now_us / 1e6). */
  now_s: () => number;
  /** Pack voltage on the battery side of the contactors, V. */
  packVoltage_V: () => number;
}

export interface ContactorOptions {
  part?: ContactorPart;
  circuit?: Partial<PrechargeCircuit>;
  initialLinkVoltage_V?: number;
}

export class ContactorSystem {
  readonly positive: Contactor;
  readonly negative: Contactor;
  readonly precharge: Contactor;
  readonly circuit: PrechargeCircuit;
  private readonly events: InrushEvent[] = [];
  private link_V: number;
  private time_s: number;

  constructor(private readonly sources: ContactorSources, options: ContactorOptions = {}) {
    const part = options.part ?? TE_EVC135;
    this.positive = new Contactor("positive", part.operate_ms, part.release_ms);
    this.negative = new Contactor("negative", part.operate_ms, part.release_ms);
    this.precharge = new Contactor("precharge", part.operate_ms, part.release_ms);
    this.circuit = { ...DEFAULT_PRECHARGE_CIRCUIT, ...options.circuit };
    this.link_V = options.initialLinkVoltage_V ?? 0;
    this.time_s = sources.now_s();
  }

  /** Every closing up to now that tied the link straight to the pack, with its inrush. */
  get inrushEvents(): readonly InrushEvent[] {
    this.advance();
    return this.events;
  }

  /** Closings up to now whose inrush exceeded the make-current limit. */
  get damageEvents(): InrushEvent[] {
    return this.inrushEvents.filter((e) => e.damaging);
  }

  /** Drives the contactors from a controller's coil outputs and feeds its auxiliary inputs. */
  wire(gpio: GpioPeripheral): void {
    const coil = (contactor: Contactor) => (level: number): void => this.command(contactor, level !== 0);
    gpio.onOutput("CONTACTOR_POSITIVE", coil(this.positive));
    gpio.onOutput("CONTACTOR_NEGATIVE", coil(this.negative));
    gpio.onOutput("CONTACTOR_PRECHARGE", coil(this.precharge));
    gpio.connectInputSource("CONTACTOR_POSITIVE_AUX", () => this.aux(this.positive));
    gpio.connectInputSource("CONTACTOR_NEGATIVE_AUX", () => this.aux(this.negative));
  }

  /** Energises or releases one coil now. */
  command(contactor: Contactor, on: boolean): void {
    this.advance();
    contactor.setCoil(on, this.time_s);
  }

  /** Auxiliary contact level of a contactor now. */
  aux(contactor: Contactor): number {
    this.advance();
    return contactor.auxLevel();
  }

  /** DC-link voltage now, V: the source for the controller's LINK_VOLTAGE channel. */
  linkVoltage_V(): number {
    this.advance();
    return this.link_V;
  }

  /** True when both mains are closed: the load sees the pack. */
  mainsClosed(): boolean {
    this.advance();
    return this.positive.closed && this.negative.closed;
  }

  /** Brings contacts and link voltage up to the current simulated time (never backwards). */
  advance(): void {
    const target = this.sources.now_s();
    if (target < this.time_s) return;
    for (;;) {
      const next = Math.min(this.positive.nextMove_s(), this.negative.nextMove_s(), this.precharge.nextMove_s());
      // A movement due within a nanosecond of now has happened (delays add in floating point).
      if (next > target + TIME_EPSILON_s) {
        this.evolve(target - this.time_s);
        this.time_s = target;
        return;
      }
      const stop = Math.max(this.time_s, Math.min(next, target));
      this.evolve(stop - this.time_s);
      this.time_s = stop;
      for (const c of [this.negative, this.precharge, this.positive]) {
        if (c.nextMove_s() <= next) {
          const wasDirect = this.direct();
          if (c.move() && !wasDirect && this.direct()) this.inrush(c);
        }
      }
    }
  }

  private direct(): boolean {
    return this.positive.closed && this.negative.closed;
  }

  private inrush(contactor: Contactor): void {
    const dv = this.sources.packVoltage_V() - this.link_V;
    const peak = Math.abs(dv) / this.circuit.loopResistance_Ohm;
    this.events.push({
      time_s: this.time_s,
      contactor: contactor.name,
      voltageDifference_V: dv,
      peakCurrent_A: peak,
      energy_J: 0.5 * this.circuit.linkCapacitance_F * dv * dv,
      damaging: peak > this.circuit.makeCurrentLimit_A,
    });
  }

  private evolve(dt_s: number): void {
    const pack = this.sources.packVoltage_V();
    const { linkCapacitance_F: c, prechargeResistance_Ohm: r, bleedResistance_Ohm: rb } = this.circuit;
    if (this.direct()) {
      this.link_V = pack;
      return;
    }
    if (dt_s <= 0) return;
    if (this.negative.closed && this.precharge.closed) {
      // Thevenin of the pack through R with the bleed across the link: V∞ = Vpack·Rb/(R+Rb), τ = C·(R‖Rb).
      const ratio = rb === Infinity ? 1 : rb / (r + rb);
      const parallel = rb === Infinity ? r : (r * rb) / (r + rb);
      const target = pack * ratio;
      this.link_V = target + (this.link_V - target) * Math.exp(-dt_s / (c * parallel));
      return;
    }
    if (rb !== Infinity) this.link_V *= Math.exp(-dt_s / (c * rb));
  }
}
