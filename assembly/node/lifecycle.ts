// The module's lifecycle record ("module passport", record type 2 in the node's store): usage,
// residency histograms, extreme events, fault history and pack membership, kept by the node
// itself so the module carries its history from pack to pack. Byte layout: docs/flash-layout.md
// ("Lifecycle record"); the host decodes it into the passport JSON (docs/passport.md).
// Only this firmware writes it; the bus offers read access and a repurposing reset.

export const LIFECYCLE_VERSION: u16 = 1;
export const LIFECYCLE_LENGTH: i32 = 324;

export namespace LifecycleOffset {
  export const VERSION: usize = 0;
  export const FLAGS: usize = 2;
  export const WRITTEN_AT_s: usize = 4;
  export const FIRST_SERVICE_s: usize = 8;
  export const OPERATING_s: usize = 12;
  export const CHARGING_s: usize = 16;
  export const SOC: usize = 20;
  export const SOC_SIGMA: usize = 24;
  export const CAPACITY_Ah: usize = 28;
  export const CAPACITY_SIGMA_Ah: usize = 32;
  export const R0_mOhm: usize = 36;
  export const R0_SIGMA_mOhm: usize = 40;
  export const INITIAL_R0_mOhm: usize = 44;
  export const EQUIVALENT_FULL_CYCLES: usize = 48;
  export const CHARGED_Ah: usize = 52;
  export const DISCHARGED_Ah: usize = 56;
  export const CHARGED_Wh: usize = 60;
  export const DISCHARGED_Wh: usize = 64;
  /** 10 x u32 seconds; bin edges TEMPERATURE_EDGES_C. */
  export const TEMPERATURE_HISTOGRAM: usize = 68;
  /** 10 x u32 seconds; bin edges every 10 % SOC. */
  export const SOC_HISTOGRAM: usize = 108;
  /** 5 x { u16 count, u16 reserved, u32 last time (s since 1970) }, in ExtremeEvent order. */
  export const EVENTS: usize = 148;
  /** 8 x { u16 code, u16 detail, u32 time }, a ring; FAULT_COUNT entries valid, FAULT_NEXT the next slot. */
  export const FAULTS: usize = 188;
  export const FAULT_COUNT: usize = 252;
  export const FAULT_NEXT: usize = 254;
  /** 4 x { u32 pack id, u16 position, u16 reserved, u32 from, u32 to (0 = still member) }, a ring. */
  export const MEMBERSHIPS: usize = 256;
  export const MEMBERSHIP_COUNT: usize = 320;
  export const MEMBERSHIP_NEXT: usize = 322;
}

export namespace LifecycleFlag {
  /** The module went through a repurposing reset (passport status "repurposed"). */
  export const REPURPOSED: u16 = 0x0001;
}

export namespace ExtremeEvent {
  export const OVER_VOLTAGE: i32 = 0;
  export const UNDER_VOLTAGE: i32 = 1;
  export const OVER_TEMPERATURE: i32 = 2;
  export const UNDER_TEMPERATURE: i32 = 3;
  export const DEEP_DISCHARGE: i32 = 4;
}
const EVENT_KINDS: i32 = 5;
const HISTOGRAM_BINS: i32 = 10;
const FAULT_SLOTS: i32 = 8;
const MEMBERSHIP_SLOTS: i32 = 4;

/**
 * Temperature bin edges, degC: nine edges, ten bins (below -20 ... 60 and above). They bracket the
 * storage and operating ranges of Li-ion datasheets (e.g. -20..60 degC discharge for the LG M50)
 * and match the EU Battery Regulation's interest in time spent at extreme temperatures (Annex VII
 * part B).
 */
const TEMPERATURE_EDGE_LOW_C: f32 = -20;
const TEMPERATURE_EDGE_STEP_C: f32 = 10;
/** Deep discharge: SOC below 2 %, where copper dissolution starts on many graphite anodes. */
const DEEP_DISCHARGE_SOC: f32 = 0.02;
/** Over-temperature event threshold, degC: the discharge limit of common NMC cells (LG M50: 60 degC). */
const OVER_TEMPERATURE_C: f32 = 60;
/** Under-temperature event threshold, degC: the discharge limit of common NMC cells (LG M50: -20 degC). */
const UNDER_TEMPERATURE_C: f32 = -20;
/** Current below which the module is not charging, A per Ah of capacity (C/50). */
const CHARGING_C_RATE: f32 = 0.02;

export class LifecycleRecord {
  readonly buffer: StaticArray<u8> = new StaticArray<u8>(LIFECYCLE_LENGTH);
  private readonly eventActive: StaticArray<bool> = new StaticArray<bool>(EVENT_KINDS);
  /** Sub-second remainders of the second counters. */
  private operatingFraction_s: f32 = 0;
  private chargingFraction_s: f32 = 0;
  private temperatureFraction_s: f32 = 0;
  private socFraction_s: f32 = 0;
  private temperatureBin: i32 = -1;
  private socBin: i32 = -1;

  constructor() {
    this.clear();
  }

  get ptr(): usize {
    return changetype<usize>(this.buffer);
  }

  clear(): void {
    memory.fill(this.ptr, 0, LIFECYCLE_LENGTH);
    store<u16>(this.ptr + LifecycleOffset.VERSION, LIFECYCLE_VERSION);
  }

  /** Adopts a record read from flash; false (and the record unchanged) if it is not a known version. */
  load(source: usize, length: i32): bool {
    if (length != LIFECYCLE_LENGTH || load<u16>(source + LifecycleOffset.VERSION) != LIFECYCLE_VERSION) return false;
    memory.copy(this.ptr, source, LIFECYCLE_LENGTH);
    return true;
  }

  private addSeconds(offset: usize, seconds: f32): f32 {
    // Whole seconds go to the u32 counter; the remainder is returned to carry.
    const whole = <u32>seconds;
    if (whole > 0) store<u32>(this.ptr + offset, load<u32>(this.ptr + offset) + whole);
    return seconds - <f32>whole;
  }

  /** One tick of valid measurements. now_s is the wall-clock time (0 when unknown). */
  account(dt_s: f32, voltage_V: f32, current_A: f32, temperature_C: f32, soc: f32, capacity_Ah: f32, minVoltage_V: f32, maxVoltage_V: f32, now_s: u32): void {
    const p = this.ptr;
    this.operatingFraction_s = this.addSeconds(LifecycleOffset.OPERATING_s, this.operatingFraction_s + dt_s);
    if (current_A < -CHARGING_C_RATE * capacity_Ah) this.chargingFraction_s = this.addSeconds(LifecycleOffset.CHARGING_s, this.chargingFraction_s + dt_s);
    if (load<u32>(p + LifecycleOffset.FIRST_SERVICE_s) == 0 && now_s != 0) store<u32>(p + LifecycleOffset.FIRST_SERVICE_s, now_s);

    let tBin = <i32>Mathf.floor((temperature_C - TEMPERATURE_EDGE_LOW_C) / TEMPERATURE_EDGE_STEP_C) + 1;
    tBin = tBin < 0 ? 0 : tBin >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : tBin;
    if (tBin != this.temperatureBin) this.temperatureFraction_s = 0;
    this.temperatureBin = tBin;
    this.temperatureFraction_s = this.addSeconds(LifecycleOffset.TEMPERATURE_HISTOGRAM + <usize>(tBin * 4), this.temperatureFraction_s + dt_s);

    if (soc >= 0 && soc <= 1) {
      let sBin = <i32>Mathf.floor(soc * <f32>HISTOGRAM_BINS);
      sBin = sBin < 0 ? 0 : sBin >= HISTOGRAM_BINS ? HISTOGRAM_BINS - 1 : sBin;
      if (sBin != this.socBin) this.socFraction_s = 0;
      this.socBin = sBin;
      this.socFraction_s = this.addSeconds(LifecycleOffset.SOC_HISTOGRAM + <usize>(sBin * 4), this.socFraction_s + dt_s);
    }

    this.event(ExtremeEvent.OVER_VOLTAGE, voltage_V > maxVoltage_V, now_s);
    this.event(ExtremeEvent.UNDER_VOLTAGE, voltage_V < minVoltage_V, now_s);
    this.event(ExtremeEvent.OVER_TEMPERATURE, temperature_C > OVER_TEMPERATURE_C, now_s);
    this.event(ExtremeEvent.UNDER_TEMPERATURE, temperature_C < UNDER_TEMPERATURE_C, now_s);
    this.event(ExtremeEvent.DEEP_DISCHARGE, soc >= 0 && soc < DEEP_DISCHARGE_SOC, now_s);
  }

  /** Counts an event when its condition starts (a rising edge), with the time. */
  private event(kind: i32, active: bool, now_s: u32): void {
    const was = unchecked(this.eventActive[kind]);
    unchecked(this.eventActive[kind] = active);
    if (!active || was) return;
    const slot = this.ptr + LifecycleOffset.EVENTS + <usize>(kind * 8);
    const count = load<u16>(slot);
    if (count < 0xffff) store<u16>(slot, count + 1);
    store<u32>(slot, now_s, 4);
  }

  eventCount(kind: i32): i32 {
    if (kind < 0 || kind >= EVENT_KINDS) return 0;
    return <i32>load<u16>(this.ptr + LifecycleOffset.EVENTS + <usize>(kind * 8));
  }

  /** Appends a diagnostic code to the fault ring. */
  addFault(code: i32, detail: i32, now_s: u32): void {
    const p = this.ptr;
    const next = <i32>load<u16>(p + LifecycleOffset.FAULT_NEXT) % FAULT_SLOTS;
    const slot = p + LifecycleOffset.FAULTS + <usize>(next * 8);
    store<u16>(slot, <u16>code);
    store<u16>(slot, <u16>detail, 2);
    store<u32>(slot, now_s, 4);
    store<u16>(p + LifecycleOffset.FAULT_NEXT, <u16>((next + 1) % FAULT_SLOTS));
    const count = load<u16>(p + LifecycleOffset.FAULT_COUNT);
    if (<i32>count < FAULT_SLOTS) store<u16>(p + LifecycleOffset.FAULT_COUNT, count + 1);
  }

  private membershipSlot(index: i32): usize {
    return this.ptr + LifecycleOffset.MEMBERSHIPS + <usize>(index * 16);
  }

  /** The pack the module is in now (0 = none known). */
  currentPack(): u32 {
    const p = this.ptr;
    if (load<u16>(p + LifecycleOffset.MEMBERSHIP_COUNT) == 0) return 0;
    const last = (<i32>load<u16>(p + LifecycleOffset.MEMBERSHIP_NEXT) + MEMBERSHIP_SLOTS - 1) % MEMBERSHIP_SLOTS;
    const slot = this.membershipSlot(last);
    return load<u32>(slot, 12) == 0 ? load<u32>(slot) : 0;
  }

  currentPosition(): i32 {
    const p = this.ptr;
    if (this.currentPack() == 0) return 0;
    const last = (<i32>load<u16>(p + LifecycleOffset.MEMBERSHIP_NEXT) + MEMBERSHIP_SLOTS - 1) % MEMBERSHIP_SLOTS;
    return <i32>load<u16>(this.membershipSlot(last), 4);
  }

  /**
   * The module serves in pack packId at position: a new membership entry when the pack or the
   * position changed (the previous one is closed at now_s). Returns true when the record changed.
   */
  joinPack(packId: u32, position: i32, now_s: u32): bool {
    if (packId == 0) return false;
    if (this.currentPack() == packId && this.currentPosition() == position) return false;
    this.leavePack(now_s);
    const p = this.ptr;
    const next = <i32>load<u16>(p + LifecycleOffset.MEMBERSHIP_NEXT) % MEMBERSHIP_SLOTS;
    const slot = this.membershipSlot(next);
    store<u32>(slot, packId);
    store<u16>(slot, <u16>position, 4);
    store<u16>(slot, 0, 6);
    store<u32>(slot, now_s, 8);
    store<u32>(slot, 0, 12);
    store<u16>(p + LifecycleOffset.MEMBERSHIP_NEXT, <u16>((next + 1) % MEMBERSHIP_SLOTS));
    const count = load<u16>(p + LifecycleOffset.MEMBERSHIP_COUNT);
    if (<i32>count < MEMBERSHIP_SLOTS) store<u16>(p + LifecycleOffset.MEMBERSHIP_COUNT, count + 1);
    return true;
  }

  /** Closes the open membership, if any. */
  leavePack(now_s: u32): void {
    const p = this.ptr;
    if (this.currentPack() == 0) return;
    const last = (<i32>load<u16>(p + LifecycleOffset.MEMBERSHIP_NEXT) + MEMBERSHIP_SLOTS - 1) % MEMBERSHIP_SLOTS;
    store<u32>(this.membershipSlot(last), now_s == 0 ? 1 : now_s, 12);
  }

  /**
   * Repurposing reset (EU Regulation 2023/1542 Art. 14): pack membership and pack settings are
   * cleared, the module's own history (usage, histograms, events, faults, SOH) is kept.
   */
  repurpose(): void {
    const p = this.ptr;
    memory.fill(p + LifecycleOffset.MEMBERSHIPS, 0, LIFECYCLE_LENGTH - <i32>LifecycleOffset.MEMBERSHIPS);
    store<u16>(p + LifecycleOffset.FLAGS, load<u16>(p + LifecycleOffset.FLAGS) | LifecycleFlag.REPURPOSED);
  }

  /** Copies the estimators' present values into the record before it is written. */
  snapshot(nowS: u32, soc: f32, socSigma: f32, capacity_Ah: f32, capacitySigma_Ah: f32, r0_Ohm: f32, r0Sigma_Ohm: f32, initialR0_Ohm: f32,
    efc: f32, charged_Ah: f32, discharged_Ah: f32, charged_Wh: f32, discharged_Wh: f32): void {
    const p = this.ptr;
    store<u32>(p + LifecycleOffset.WRITTEN_AT_s, nowS);
    store<f32>(p + LifecycleOffset.SOC, soc);
    store<f32>(p + LifecycleOffset.SOC_SIGMA, socSigma);
    store<f32>(p + LifecycleOffset.CAPACITY_Ah, capacity_Ah);
    store<f32>(p + LifecycleOffset.CAPACITY_SIGMA_Ah, capacitySigma_Ah);
    store<f32>(p + LifecycleOffset.R0_mOhm, r0_Ohm * 1000);
    store<f32>(p + LifecycleOffset.R0_SIGMA_mOhm, r0Sigma_Ohm * 1000);
    store<f32>(p + LifecycleOffset.INITIAL_R0_mOhm, initialR0_Ohm * 1000);
    store<f32>(p + LifecycleOffset.EQUIVALENT_FULL_CYCLES, efc);
    store<f32>(p + LifecycleOffset.CHARGED_Ah, charged_Ah);
    store<f32>(p + LifecycleOffset.DISCHARGED_Ah, discharged_Ah);
    store<f32>(p + LifecycleOffset.CHARGED_Wh, charged_Wh);
    store<f32>(p + LifecycleOffset.DISCHARGED_Wh, discharged_Wh);
  }
}
