// Contactor sequencing for a pack with a main negative, a main positive and a precharge contactor
// (precharge resistor in parallel with the main positive), and weld detection. Pure state machine:
// the controller passes request, feedback and voltages each tick and drives the three coils from
// the outputs. docs/protection.md draws the state machine.
//
// Closing: negative first (no current can flow yet, so it closes dry), then precharge, which
// charges the DC-link capacitance through the resistor; the positive closes only once the link is
// within a few percent of the pack, so it too closes nearly dry instead of welding on the inrush.
// Opening: positive first, so one contactor, rated for it, breaks the load current; the negative
// opens a tick later without current and isolates the second pole. Breaking always on the same
// contactor keeps the negative's contacts unpitted, so it stays a reliable second disconnect and
// the weld checks of each contactor mean the same thing every time.

export namespace ContactorState {
  export const OPEN: i32 = 0;
  export const CLOSING_NEGATIVE: i32 = 1;
  export const PRECHARGING: i32 = 2;
  export const CLOSING_POSITIVE: i32 = 3;
  export const CLOSED: i32 = 4;
  export const OPENING_POSITIVE: i32 = 5;
  export const OPENING_NEGATIVE: i32 = 6;
  /** All coils off after a failed close or a weld; leaves only through reset(). */
  export const FAULT: i32 = 7;
}

/** Why the close sequence failed (all reported as fault PRECHARGE_FAILED). */
export namespace SequencerFailure {
  export const NONE: i32 = 0;
  /** The link did not reach prechargeRatio x pack voltage within prechargeTimeout_ms. */
  export const PRECHARGE_TIMEOUT: i32 = 1;
  /** The negative's auxiliary contact did not report closed after the operate time. */
  export const NEGATIVE_DID_NOT_CLOSE: i32 = 2;
  /** The positive's auxiliary contact did not report closed after the operate time. */
  export const POSITIVE_DID_NOT_CLOSE: i32 = 3;
}

/** Bits of ContactorSequencer.weldedMask (reported as fault CONTACTOR_WELDED). */
export namespace WeldedContactor {
  /** Positive auxiliary contact still closed a release time after its coil went off. */
  export const POSITIVE: i32 = 1;
  /** Negative auxiliary contact still closed a release time after its coil went off. */
  export const NEGATIVE: i32 = 2;
  /** Link voltage still at pack voltage linkDischargeTime_ms after both mains opened. */
  export const LINK_VOLTAGE: i32 = 4;
}

export class ContactorTiming {
  /** TE Connectivity KILOVAC EV200 datasheet: operate time 20 ms max (close, including bounce). */
  operateTime_ms: i64 = 20;
  /** TE Connectivity KILOVAC EV200 datasheet: release time 12 ms max (including arcing). */
  releaseTime_ms: i64 = 12;
  /**
   * Longest precharge before giving up: protects the precharge resistor (its pulse energy rating)
   * from a shorted or loaded link. Choose from the resistor and link capacitance: the 95 % point is
   * 3 time constants (-ln 0.05 = 3.0 RC); allow margin above it.
   */
  prechargeTimeout_ms: i64 = 2000;
  /**
   * Precharge is complete when link >= ratio x pack. Application notes put the threshold at 90-95 %
   * of the source voltage (Sensata, "How to design a precharge circuit for hybrid and electric
   * vehicle applications", B. Munari, A. Schneer); 95 % keeps the main positive's closing step to 5 %.
   */
  prechargeRatio: f32 = 0.95;
  /**
   * After both mains open, the link must fall below weldVoltageRatio x pack within this time
   * (the inverter's active or passive discharge; set from its specification).
   */
  linkDischargeTime_ms: i64 = 3000;
  /** "Still at pack voltage": within the measurement tolerance and contact drops of it. */
  weldVoltageRatio: f32 = 0.9;
  /** Contactors with auxiliary (feedback) contacts wired to CONTACTOR_*_AUX. */
  auxFeedback: bool = true;
  /**
   * Voltage-based weld check. Disable where an external source can hold the link up with the
   * mains open (e.g. a DC charger on the link side precharging its own output).
   */
  linkWeldCheck: bool = true;
}

export class ContactorSequencer {
  readonly timing: ContactorTiming;
  state: i32 = ContactorState.OPEN;
  /** Coil outputs: true = energise. */
  positiveCoil: bool = false;
  negativeCoil: bool = false;
  prechargeCoil: bool = false;
  /** WeldedContactor bits found so far; cleared by reset(). */
  weldedMask: i32 = 0;
  /** SequencerFailure of the last failed close; cleared by reset(). */
  failure: i32 = SequencerFailure.NONE;
  /** When the present state was entered. */
  stateSince_ms: i64 = 0;
  /** Deadline of the pending voltage weld check, -1 when none is pending. */
  linkCheckUntil_ms: i64 = -1;
  private lastCloseRequest: bool = false;
  private lastPositiveAux: bool = false;
  private lastNegativeAux: bool = false;
  private lastPackVoltage_V: f32 = NaN;
  private lastLinkVoltage_V: f32 = NaN;

  constructor(timing: ContactorTiming) {
    this.timing = timing;
  }

  get welded(): bool {
    return this.weldedMask != 0;
  }

  get prechargeFailed(): bool {
    return this.failure != SequencerFailure.NONE;
  }

  /**
   * One tick. closeRequest: the vehicle wants the pack connected; forceOpen: protection demands
   * OPEN (wins over closeRequest); aux inputs: true = feedback contact reports closed.
   */
  update(
    closeRequest: bool, forceOpen: bool, positiveAuxClosed: bool, negativeAuxClosed: bool,
    packVoltage_V: f32, linkVoltage_V: f32, now_ms: i64,
  ): void {
    this.lastCloseRequest = closeRequest;
    this.lastPositiveAux = positiveAuxClosed;
    this.lastNegativeAux = negativeAuxClosed;
    this.lastPackVoltage_V = packVoltage_V;
    this.lastLinkVoltage_V = linkVoltage_V;
    const t = this.timing;
    const abort = forceOpen || !closeRequest;
    const elapsed_ms = now_ms - this.stateSince_ms;
    const state = this.state;
    if (state == ContactorState.OPEN) {
      if (this.linkCheckUntil_ms >= 0) {
        if (linkVoltage_V < t.weldVoltageRatio * packVoltage_V) {
          this.linkCheckUntil_ms = -1;
        } else if (now_ms >= this.linkCheckUntil_ms) {
          this.linkCheckUntil_ms = -1;
          this.weldedMask |= WeldedContactor.LINK_VOLTAGE;
          this.enter(ContactorState.FAULT, now_ms);
          return;
        }
      }
      // A close waits for the pending weld check: closing on a welded contactor would hide it.
      if (!abort && this.linkCheckUntil_ms < 0) {
        this.negativeCoil = true;
        this.enter(ContactorState.CLOSING_NEGATIVE, now_ms);
      }
    } else if (state == ContactorState.CLOSING_NEGATIVE) {
      if (abort) {
        this.beginOpening(now_ms);
      } else if (elapsed_ms >= t.operateTime_ms) {
        if (t.auxFeedback && !negativeAuxClosed) {
          this.fail(SequencerFailure.NEGATIVE_DID_NOT_CLOSE, now_ms);
        } else {
          this.prechargeCoil = true;
          this.enter(ContactorState.PRECHARGING, now_ms);
        }
      }
    } else if (state == ContactorState.PRECHARGING) {
      if (abort) {
        this.beginOpening(now_ms);
      } else if (packVoltage_V > 0 && linkVoltage_V >= t.prechargeRatio * packVoltage_V) {
        this.positiveCoil = true;
        this.enter(ContactorState.CLOSING_POSITIVE, now_ms);
      } else if (elapsed_ms >= t.prechargeTimeout_ms) {
        this.fail(SequencerFailure.PRECHARGE_TIMEOUT, now_ms);
      }
    } else if (state == ContactorState.CLOSING_POSITIVE) {
      if (abort) {
        this.beginOpening(now_ms);
      } else if (elapsed_ms >= t.operateTime_ms) {
        if (t.auxFeedback && !positiveAuxClosed) {
          this.fail(SequencerFailure.POSITIVE_DID_NOT_CLOSE, now_ms);
        } else {
          this.prechargeCoil = false;
          this.enter(ContactorState.CLOSED, now_ms);
        }
      }
    } else if (state == ContactorState.CLOSED) {
      if (abort) this.beginOpening(now_ms);
    } else if (state == ContactorState.OPENING_POSITIVE) {
      if (elapsed_ms >= t.releaseTime_ms) {
        if (t.auxFeedback && positiveAuxClosed) this.weldedMask |= WeldedContactor.POSITIVE;
        this.negativeCoil = false;
        this.enter(ContactorState.OPENING_NEGATIVE, now_ms);
      }
    } else if (state == ContactorState.OPENING_NEGATIVE) {
      if (elapsed_ms >= t.releaseTime_ms) {
        if (t.auxFeedback && negativeAuxClosed) this.weldedMask |= WeldedContactor.NEGATIVE;
        if (this.weldedMask != 0 || this.failure != SequencerFailure.NONE) {
          this.enter(ContactorState.FAULT, now_ms);
        } else {
          this.enter(ContactorState.OPEN, now_ms);
          this.linkCheckUntil_ms = t.linkWeldCheck ? now_ms + t.linkDischargeTime_ms : -1;
        }
      }
    }
  }

  /**
   * Leaves FAULT once it is safe to try again: the close request has been withdrawn (a held request
   * would retry at once and overheat the precharge resistor), both feedback contacts read open and
   * the link is no longer at pack voltage, as of the last update(). Returns true when not in FAULT
   * afterwards.
   */
  reset(): bool {
    if (this.state != ContactorState.FAULT) return true;
    const t = this.timing;
    if (this.lastCloseRequest) return false;
    if (t.auxFeedback && (this.lastPositiveAux || this.lastNegativeAux)) return false;
    if (t.linkWeldCheck && !(this.lastLinkVoltage_V < t.weldVoltageRatio * this.lastPackVoltage_V)) return false;
    this.weldedMask = 0;
    this.failure = SequencerFailure.NONE;
    this.linkCheckUntil_ms = -1;
    // OPEN times nothing, so the entry time can stay the last one seen.
    this.enter(ContactorState.OPEN, this.stateSince_ms);
    return true;
  }

  private fail(reason: i32, now_ms: i64): void {
    this.failure = reason;
    this.beginOpening(now_ms);
  }

  /** Positive (and precharge) off now; the negative follows one release time later. */
  private beginOpening(now_ms: i64): void {
    this.positiveCoil = false;
    this.prechargeCoil = false;
    this.enter(ContactorState.OPENING_POSITIVE, now_ms);
  }

  private enter(state: i32, now_ms: i64): void {
    this.state = state;
    this.stateSince_ms = now_ms;
    if (state == ContactorState.FAULT) {
      this.positiveCoil = false;
      this.prechargeCoil = false;
      this.negativeCoil = false;
    }
  }
}
