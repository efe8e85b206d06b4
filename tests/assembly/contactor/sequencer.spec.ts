import {
  ContactorSequencer, ContactorTiming, ContactorState, SequencerFailure, WeldedContactor,
} from "../../../assembly/contactor/sequencer";

const PACK_V: f32 = 400.0;

/** The plant as the sequencer sees it: aux contacts follow the coils unless stuck. */
class Rig {
  seq: ContactorSequencer = new ContactorSequencer(new ContactorTiming());
  now_ms: i64 = 0;
  close: bool = true;
  force: bool = false;
  link_V: f32 = 0.0;
  positiveStuck: bool = false;
  negativeStuck: bool = false;
  negativeDead: bool = false;

  /** One 100 ms tick with aux feedback reflecting last tick's coil commands. */
  tick(): void {
    const positiveAux = this.seq.positiveCoil || this.positiveStuck;
    const negativeAux = (this.seq.negativeCoil && !this.negativeDead) || this.negativeStuck;
    this.seq.update(this.close, this.force, positiveAux, negativeAux, PACK_V, this.link_V, this.now_ms);
    this.now_ms += 100;
  }

  /** Drives the happy path up to CLOSED (4 ticks). */
  closeNormally(): void {
    this.tick(); // OPEN -> CLOSING_NEGATIVE
    this.tick(); // -> PRECHARGING
    this.link_V = 390.0;
    this.tick(); // -> CLOSING_POSITIVE
    this.tick(); // -> CLOSED
  }
}

describe("contactor sequencer: closing", () => {
  it("closes negative, precharges, closes positive at 95 % and then opens precharge", () => {
    const r = new Rig();
    r.tick();
    expect(r.seq.state).toBe(ContactorState.CLOSING_NEGATIVE);
    expect(r.seq.negativeCoil).toBe(true);
    expect(r.seq.prechargeCoil).toBe(false);
    expect(r.seq.positiveCoil).toBe(false);
    r.tick();
    expect(r.seq.state).toBe(ContactorState.PRECHARGING);
    expect(r.seq.prechargeCoil).toBe(true);
    expect(r.seq.positiveCoil).toBe(false);
    r.link_V = 370.0; // 92.5 %: not yet
    r.tick();
    expect(r.seq.state).toBe(ContactorState.PRECHARGING);
    r.link_V = 381.0; // 95.25 %
    r.tick();
    expect(r.seq.state).toBe(ContactorState.CLOSING_POSITIVE);
    expect(r.seq.positiveCoil).toBe(true);
    expect(r.seq.prechargeCoil).toBe(true);
    r.tick();
    expect(r.seq.state).toBe(ContactorState.CLOSED);
    expect(r.seq.positiveCoil).toBe(true);
    expect(r.seq.negativeCoil).toBe(true);
    expect(r.seq.prechargeCoil).toBe(false);
    expect(r.seq.welded).toBe(false);
    expect(r.seq.prechargeFailed).toBe(false);
  });
  it("does not start while protection forces open", () => {
    const r = new Rig();
    r.force = true;
    for (let k = 0; k < 5; k++) r.tick();
    expect(r.seq.state).toBe(ContactorState.OPEN);
    expect(r.seq.negativeCoil).toBe(false);
  });
  it("fails the precharge when the link does not reach 95 % within the timeout", () => {
    const r = new Rig();
    r.tick(); // t=0 CLOSING_NEGATIVE
    r.tick(); // t=100 PRECHARGING
    r.link_V = 300.0;
    for (let k = 0; k < 19; k++) r.tick(); // t=200..2000: elapsed 1900 ms
    expect(r.seq.state).toBe(ContactorState.PRECHARGING);
    r.tick(); // t=2100: 2000 ms elapsed
    expect(r.seq.failure).toBe(SequencerFailure.PRECHARGE_TIMEOUT);
    expect(r.seq.prechargeFailed).toBe(true);
    expect(r.seq.prechargeCoil).toBe(false);
    expect(r.seq.positiveCoil).toBe(false);
    expect(r.seq.negativeCoil).toBe(true);
    r.link_V = 0.0;
    r.tick();
    expect(r.seq.negativeCoil).toBe(false);
    r.tick();
    expect(r.seq.state).toBe(ContactorState.FAULT);
    // A request still held would retry at once: reset waits until it is withdrawn.
    expect(r.seq.reset()).toBe(false);
    r.close = false;
    r.tick();
    expect(r.seq.reset()).toBe(true);
    expect(r.seq.state).toBe(ContactorState.OPEN);
    expect(r.seq.prechargeFailed).toBe(false);
  });
  it("fails when the negative's feedback does not report closed", () => {
    const r = new Rig();
    r.negativeDead = true;
    r.tick();
    r.tick();
    expect(r.seq.failure).toBe(SequencerFailure.NEGATIVE_DID_NOT_CLOSE);
    expect(r.seq.prechargeCoil).toBe(false);
    r.tick();
    r.tick();
    expect(r.seq.state).toBe(ContactorState.FAULT);
    expect(r.seq.negativeCoil).toBe(false);
  });
});

describe("contactor sequencer: opening", () => {
  it("opens positive first, negative one tick later, then checks the link discharges", () => {
    const r = new Rig();
    r.closeNormally();
    r.close = false;
    r.tick();
    expect(r.seq.state).toBe(ContactorState.OPENING_POSITIVE);
    expect(r.seq.positiveCoil).toBe(false);
    expect(r.seq.negativeCoil).toBe(true);
    r.tick();
    expect(r.seq.state).toBe(ContactorState.OPENING_NEGATIVE);
    expect(r.seq.negativeCoil).toBe(false);
    r.tick();
    expect(r.seq.state).toBe(ContactorState.OPEN);
    expect(r.seq.linkCheckUntil_ms).toBeGreaterThan(0);
    r.link_V = 20.0;
    r.tick();
    expect(r.seq.linkCheckUntil_ms).toBe(-1);
    expect(r.seq.welded).toBe(false);
    // And closes again on request.
    r.close = true;
    r.link_V = 0.0;
    r.tick();
    expect(r.seq.state).toBe(ContactorState.CLOSING_NEGATIVE);
  });
  it("opens on a protection OPEN even with the close request held", () => {
    const r = new Rig();
    r.closeNormally();
    r.force = true;
    r.tick();
    expect(r.seq.positiveCoil).toBe(false);
    expect(r.seq.negativeCoil).toBe(true);
    r.tick();
    expect(r.seq.negativeCoil).toBe(false);
  });
  it("aborts a precharge in progress in the same order", () => {
    const r = new Rig();
    r.tick();
    r.tick();
    expect(r.seq.state).toBe(ContactorState.PRECHARGING);
    r.close = false;
    r.tick();
    expect(r.seq.prechargeCoil).toBe(false);
    expect(r.seq.negativeCoil).toBe(true);
    r.tick();
    r.tick();
    expect(r.seq.state).toBe(ContactorState.OPEN);
    expect(r.seq.prechargeFailed).toBe(false);
  });
});

describe("contactor sequencer: weld detection", () => {
  it("finds a welded positive by its auxiliary contact", () => {
    const r = new Rig();
    r.closeNormally();
    r.positiveStuck = true;
    r.close = false;
    r.tick();
    r.tick();
    expect(r.seq.weldedMask).toBe(WeldedContactor.POSITIVE);
    expect(r.seq.welded).toBe(true);
    // The negative still opens to isolate the other pole.
    expect(r.seq.negativeCoil).toBe(false);
    r.tick();
    expect(r.seq.state).toBe(ContactorState.FAULT);
    expect(r.seq.reset()).toBe(false);
  });
  it("finds a welded negative by its auxiliary contact", () => {
    const r = new Rig();
    r.closeNormally();
    r.negativeStuck = true;
    r.close = false;
    r.tick();
    r.tick();
    r.tick();
    expect(r.seq.weldedMask).toBe(WeldedContactor.NEGATIVE);
    expect(r.seq.state).toBe(ContactorState.FAULT);
  });
  it("finds a weld by the link voltage staying at pack voltage with both mains open", () => {
    const r = new Rig();
    r.closeNormally();
    r.close = false;
    r.link_V = 399.0;
    r.tick(); // t=400 OPENING_POSITIVE
    r.tick(); // t=500 OPENING_NEGATIVE
    r.tick(); // t=600 OPEN, check until t=3600
    expect(r.seq.state).toBe(ContactorState.OPEN);
    // A close request waits for the check.
    r.close = true;
    for (let k = 0; k < 29; k++) r.tick(); // t=700..3500
    expect(r.seq.state).toBe(ContactorState.OPEN);
    expect(r.seq.negativeCoil).toBe(false);
    r.tick(); // t=3600
    expect(r.seq.weldedMask).toBe(WeldedContactor.LINK_VOLTAGE);
    expect(r.seq.state).toBe(ContactorState.FAULT);
  });
  it("can skip the voltage check where an external source holds the link", () => {
    const timing = new ContactorTiming();
    timing.linkWeldCheck = false;
    const seq = new ContactorSequencer(timing);
    seq.update(true, false, false, false, PACK_V, 0.0, 0);
    seq.update(true, false, false, true, PACK_V, 0.0, 100);
    seq.update(true, false, false, true, PACK_V, 390.0, 200);
    seq.update(true, false, true, true, PACK_V, 390.0, 300);
    expect(seq.state).toBe(ContactorState.CLOSED);
    seq.update(false, false, true, true, PACK_V, 400.0, 400);
    seq.update(false, false, false, true, PACK_V, 400.0, 500);
    seq.update(false, false, false, false, PACK_V, 400.0, 600);
    expect(seq.state).toBe(ContactorState.OPEN);
    expect(seq.linkCheckUntil_ms).toBe(-1);
    seq.update(false, false, false, false, PACK_V, 400.0, 10000);
    expect(seq.welded).toBe(false);
  });
});
