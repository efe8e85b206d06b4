// Charge and energy throughput, discharge and charge counted separately, and equivalent full
// cycles: lifetime counters the EU Battery Regulation 2023/1542 Annex VII lists among the state-of-
// health parameters ("number of full equivalent cycles", "energy throughput", "capacity
// throughput"). An equivalent full cycle here is the discharged charge divided by the nominal
// module capacity (the usual definition; the Regulation does not fix one).
//
// Precision: a lifetime sum reaches 10^5 Ah while one 100 ms step adds 10^-4 Ah, beyond what an
// f32 sum can resolve (24-bit mantissa). Each counter keeps whole milli-units (mA s, mW s) in an
// i64 and the remainder below one milli-unit in an f32, so nothing is lost however long it runs.

/** Milli-unit seconds per unit hour: 1 Ah = 3.6e6 mA s. */
const MILLI_SECONDS_PER_UNIT_HOUR: f32 = 3.6e6;

/** An exact running sum of non-negative increments, in milli-unit seconds. */
class Totalizer {
  whole: i64 = 0;
  fraction: f32 = 0;

  add(milliUnitSeconds: f32): void {
    const sum = this.fraction + milliUnitSeconds;
    const carry = Mathf.floor(sum);
    this.whole += <i64>carry;
    this.fraction = sum - carry;
  }

  /** The sum in unit hours (Ah or Wh). */
  hours(): f32 {
    return (<f32>this.whole + this.fraction) / MILLI_SECONDS_PER_UNIT_HOUR;
  }

  set(unitHours: f32): void {
    const total = unitHours * MILLI_SECONDS_PER_UNIT_HOUR;
    const carry = Mathf.floor(total);
    this.whole = <i64>carry;
    this.fraction = total - carry;
  }
}

export class Throughput {
  /** Module nominal capacity for equivalent full cycles, Ah. */
  readonly nominalCapacity_Ah: f32;
  /** Largest |current| counted, A; beyond it the sample is a sensing fault. */
  readonly maxCurrent_A: f32;
  private readonly discharge_Ah: Totalizer = new Totalizer();
  private readonly charge_Ah: Totalizer = new Totalizer();
  private readonly discharge_Wh: Totalizer = new Totalizer();
  private readonly charge_Wh: Totalizer = new Totalizer();

  constructor(nominalCapacity_Ah: f32, maxCurrent_A: f32 = 1000) {
    this.nominalCapacity_Ah = nominalCapacity_Ah;
    this.maxCurrent_A = maxCurrent_A;
  }

  /** Counts one step (current positive = discharge, terminal voltage). Returns false and counts nothing on invalid inputs. */
  step(current_A: f32, voltage_V: f32, dt_s: f32): bool {
    if (!(Mathf.abs(current_A) <= this.maxCurrent_A && voltage_V >= 0 && voltage_V < Infinity && dt_s > 0 && dt_s < Infinity)) return false;
    const charge_mAs = Mathf.abs(current_A) * dt_s * <f32>1000;
    const energy_mWs = charge_mAs * voltage_V;
    if (current_A > 0) {
      this.discharge_Ah.add(charge_mAs);
      this.discharge_Wh.add(energy_mWs);
    } else if (current_A < 0) {
      this.charge_Ah.add(charge_mAs);
      this.charge_Wh.add(energy_mWs);
    }
    return true;
  }

  get dischargedCharge_Ah(): f32 {
    return this.discharge_Ah.hours();
  }
  get chargedCharge_Ah(): f32 {
    return this.charge_Ah.hours();
  }
  get dischargedEnergy_Wh(): f32 {
    return this.discharge_Wh.hours();
  }
  get chargedEnergy_Wh(): f32 {
    return this.charge_Wh.hours();
  }
  /** Discharged charge / nominal capacity. */
  get equivalentFullCycles(): f32 {
    return this.discharge_Ah.hours() / this.nominalCapacity_Ah;
  }
  /** Warm start from persisted totals. Negative or non-finite values count as zero. */
  restore(dischargedCharge_Ah: f32, chargedCharge_Ah: f32, dischargedEnergy_Wh: f32, chargedEnergy_Wh: f32): void {
    this.discharge_Ah.set(dischargedCharge_Ah >= 0 && dischargedCharge_Ah < Infinity ? dischargedCharge_Ah : 0);
    this.charge_Ah.set(chargedCharge_Ah >= 0 && chargedCharge_Ah < Infinity ? chargedCharge_Ah : 0);
    this.discharge_Wh.set(dischargedEnergy_Wh >= 0 && dischargedEnergy_Wh < Infinity ? dischargedEnergy_Wh : 0);
    this.charge_Wh.set(chargedEnergy_Wh >= 0 && chargedEnergy_Wh < Infinity ? chargedEnergy_Wh : 0);
  }
}
