// A module's open-circuit voltage as a function of SOC, tabulated on a uniform SOC grid from 0 to
// 1 and linear in between, with its integral: E(z) = integral from 0 to z of OCV(s) ds, so that a
// module of capacity Q (Ah) holds Q * (E(z2) - E(z1)) Wh between SOCs z1 < z2. The integral is
// exact for the piecewise-linear OCV (a quadratic within each segment).
import { clampSoc } from "./modules";

export class OcvCurve {
  readonly points: i32;
  /** SOC step between table points. */
  readonly step: f32;
  private readonly voltage_V: StaticArray<f32>;
  /** E at each table point, V (per unit SOC). */
  private readonly integral_V: StaticArray<f32>;

  /** points >= 2 table entries at SOC = i / (points - 1); fill them with set(), then prepare(). */
  constructor(points: i32) {
    const n = points < 2 ? 2 : points;
    this.voltage_V = new StaticArray<f32>(n);
    this.integral_V = new StaticArray<f32>(n);
    this.points = n;
    this.step = <f32>1.0 / <f32>(n - 1);
  }

  set(index: i32, voltage_V: f32): void {
    if (index >= 0 && index < this.points) unchecked(this.voltage_V[index] = voltage_V);
  }

  /** Recomputes the integral table after the voltages changed (trapezoids, exact for linear segments). */
  prepare(): void {
    unchecked(this.integral_V[0] = 0.0);
    for (let i = 1; i < this.points; i++) {
      const segment = this.step * <f32>0.5 * (unchecked(this.voltage_V[i - 1]) + unchecked(this.voltage_V[i]));
      unchecked(this.integral_V[i] = unchecked(this.integral_V[i - 1]) + segment);
    }
  }

  /** Segment index k with k*step <= soc < (k+1)*step, soc clamped to 0..1. */
  private segment(soc: f32): i32 {
    const position = soc * <f32>(this.points - 1);
    if (!(position > 0)) return 0;
    const k = <i32>position;
    return k > this.points - 2 ? this.points - 2 : k;
  }

  voltage(soc: f32): f32 {
    const z = clampSoc(soc);
    const k = this.segment(z);
    const v0 = unchecked(this.voltage_V[k]);
    const v1 = unchecked(this.voltage_V[k + 1]);
    return v0 + (v1 - v0) * (z - <f32>k * this.step) / this.step;
  }

  /** dOCV/dSOC in V per unit SOC (the slope of the segment holding soc). */
  slope(soc: f32): f32 {
    const k = this.segment(clampSoc(soc));
    return (unchecked(this.voltage_V[k + 1]) - unchecked(this.voltage_V[k])) / this.step;
  }

  /** E(soc) = integral of OCV from SOC 0 to soc, V. */
  integral(soc: f32): f32 {
    const z = clampSoc(soc);
    const k = this.segment(z);
    const v0 = unchecked(this.voltage_V[k]);
    const v1 = unchecked(this.voltage_V[k + 1]);
    const d = z - <f32>k * this.step;
    return unchecked(this.integral_V[k]) + v0 * d + <f32>0.5 * (v1 - v0) / this.step * d * d;
  }
}
