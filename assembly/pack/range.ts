// Range from recent consumption: energy and distance, each summed with an exponential forgetting
// over distance (weight exp(-d / window) for what was driven d km ago), give the consumption
//   c = E_w / D_w  (Wh/km),   range = remaining energy / c.
// Forgetting over distance rather than time keeps a long stop from erasing the driving history;
// energy used while standing (heating, cooling) still counts, charged to the next kilometres.
// The sums start as `window` km at a prior consumption, so the estimate begins there and moves to
// the measured value as the vehicle drives (the prior's weight is exp(-driven / window)).

/** ms per hour. */
const ms_PER_h: f32 = 3600000.0;

export class RangeEstimator {
  readonly window_km: f32;
  readonly prior_Wh_per_km: f32;
  /** Floor for the consumption used in the range (a long descent can make the net energy negative). */
  readonly minConsumption_Wh_per_km: f32;
  private energy_Wh: f32;
  private distance_km: f32;
  private last_ms: i64 = -1;
  consumption_Wh_per_km: f32;

  constructor(window_km: f32, prior_Wh_per_km: f32, minConsumption_Wh_per_km: f32) {
    this.window_km = window_km > 0 ? window_km : <f32>1.0;
    this.prior_Wh_per_km = prior_Wh_per_km;
    this.minConsumption_Wh_per_km = minConsumption_Wh_per_km;
    this.energy_Wh = prior_Wh_per_km * this.window_km;
    this.distance_km = this.window_km;
    this.consumption_Wh_per_km = prior_Wh_per_km;
  }

  /**
   * One tick: pack power (V x I, positive = discharge, W) and vehicle speed (km/h) held over the
   * time since the previous call. The first call only starts the clock. NaN inputs add nothing.
   */
  update(packPower_W: f32, speed_km_per_h: f32, now_ms: i64): f32 {
    if (this.last_ms >= 0 && now_ms > this.last_ms) {
      const hours = <f32>(now_ms - this.last_ms) / ms_PER_h;
      const power = isFinite(packPower_W) ? packPower_W : <f32>0.0;
      const speed = isFinite(speed_km_per_h) ? Mathf.abs(speed_km_per_h) : <f32>0.0;
      const driven_km = speed * hours;
      const forget = Mathf.exp(-driven_km / this.window_km);
      this.energy_Wh = this.energy_Wh * forget + power * hours;
      this.distance_km = this.distance_km * forget + driven_km;
      this.consumption_Wh_per_km = this.energy_Wh / this.distance_km;
    }
    this.last_ms = now_ms;
    return this.consumption_Wh_per_km;
  }

  /** km left on remaining_Wh at the recent consumption (floored at minConsumption). */
  range_km(remaining_Wh: f32): f32 {
    if (!isFinite(remaining_Wh)) return NaN;
    const consumption = this.consumption_Wh_per_km > this.minConsumption_Wh_per_km
      ? this.consumption_Wh_per_km : this.minConsumption_Wh_per_km;
    const range = remaining_Wh / consumption;
    return range > 0 ? range : <f32>0.0;
  }
}
