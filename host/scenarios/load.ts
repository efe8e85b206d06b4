// Load profiles: a scenario's load is a sequence of segments (rest, constant current, constant
// power, drive cycles through the vehicle model, CC-CV charge). The profile answers, at each
// tick, the pack current the load draws (positive = discharge).
import { loadDriveCycle, type DriveCycle } from "../plant/drive-cycle.ts";
import { Vehicle, type VehicleParams } from "../plant/vehicle.ts";
import type { PackPlant } from "../plant/types.ts";

export type LoadSegment =
  | { type: "rest"; duration_s: number }
  | { type: "current"; duration_s: number; current_A?: number; cRate?: number }
  | { type: "power"; duration_s: number; power_W: number }
  | { type: "drive-cycle"; cycle: string; repeat?: number; vehicle?: Partial<VehicleParams>; vehicleBatteryEnergy_kWh?: number }
  | { type: "cc-cv-charge"; cRate: number; maxModuleVoltage_V: number; cutoffCRate: number; maxDuration_s: number };

/**
 * Usable energy of the default vehicle's battery (Tesla Model 3 SR+, 2019-2020: about 50-54 kWh
 * usable as reported in EPA certification data and owner teardown reports; 54 kWh taken). A drive
 * cycle's battery power is scaled by pack energy / this energy, so a small simulated pack sees the
 * C-rates a full vehicle pack would.
 */
export const DEFAULT_VEHICLE_BATTERY_kWh = 54;

interface ActiveSegment {
  segment: LoadSegment;
  start_s: number;
  end_s: number;
  cycle: DriveCycle | null;
  vehicle: Vehicle | null;
  powerScale: number;
}

export class LoadProfile {
  private readonly segments: ActiveSegment[] = [];
  readonly duration_s: number;
  private index = 0;
  private ccCvCurrent_A = 0;
  private ccCvDone = false;
  private ccCvBelowCutoff_s = 0;
  /** Distance travelled on drive-cycle segments, m (for range estimates and logs). */
  distance_m = 0;
  speed_mps = 0;

  constructor(segments: LoadSegment[], private readonly capacity_Ah: number, private readonly packEnergy_Wh: number) {
    let t = 0;
    for (const segment of segments) {
      let duration: number;
      let cycle: DriveCycle | null = null;
      let vehicle: Vehicle | null = null;
      let powerScale = 1;
      if (segment.type === "drive-cycle") {
        cycle = loadDriveCycle(segment.cycle);
        vehicle = new Vehicle(segment.vehicle ?? {});
        duration = cycle.duration_s * (segment.repeat ?? 1);
        powerScale = packEnergy_Wh / ((segment.vehicleBatteryEnergy_kWh ?? DEFAULT_VEHICLE_BATTERY_kWh) * 1000);
      } else if (segment.type === "cc-cv-charge") {
        duration = segment.maxDuration_s;
      } else {
        duration = segment.duration_s;
      }
      if (!(duration > 0)) throw new Error(`load segment ${this.segments.length} (${segment.type}) has no duration`);
      this.segments.push({ segment, start_s: t, end_s: t + duration, cycle, vehicle, powerScale });
      t += duration;
    }
    this.duration_s = t;
  }

  private segmentAt(t_s: number): ActiveSegment | null {
    while (this.index < this.segments.length && t_s >= this.segments[this.index]!.end_s) {
      this.index++;
      this.ccCvDone = false;
      this.ccCvCurrent_A = 0;
      this.ccCvBelowCutoff_s = 0;
    }
    return this.segments[this.index] ?? null;
  }

  /** The pack current for the interval starting at t_s, given the plant's present state. */
  current_A(t_s: number, dt_s: number, plant: PackPlant): number {
    const active = this.segmentAt(t_s);
    this.speed_mps = 0;
    if (active === null) return 0;
    const s = active.segment;
    switch (s.type) {
      case "rest":
        return 0;
      case "current":
        return s.current_A ?? (s.cRate ?? 0) * this.capacity_Ah;
      case "power":
        return s.power_W / plant.packVoltage_V();
      case "drive-cycle": {
        const cycle = active.cycle!;
        const local = (t_s - active.start_s) % cycle.duration_s;
        const speed = cycle.speedAt_mps(local);
        this.speed_mps = speed;
        this.distance_m += speed * dt_s;
        const power_W = active.vehicle!.batteryPower_W(speed, cycle.accelerationAt_mps2(local)) * active.powerScale;
        return power_W / plant.packVoltage_V();
      }
      case "cc-cv-charge":
        return this.ccCv(s, plant, dt_s);
    }
  }

  /**
   * Constant current until the highest module reaches its limit, then a charger's CV loop: an
   * integral controller whose gain is the inverse of a typical module resistance, R·Q = 0.125
   * Ohm·Ah (an LG M50 cell: about 25 mOhm at 5 Ah, Chen et al. 2020), at half gain, with the change
   * per tick limited to 5 % of the CC current so the loop never rings on the RC branches.
   */
  private ccCv(s: Extract<LoadSegment, { type: "cc-cv-charge" }>, plant: PackPlant, dt_s: number): number {
    if (this.ccCvDone) return 0;
    const cc_A = -s.cRate * this.capacity_Ah;
    let maxV = -Infinity;
    for (let i = 0; i < plant.moduleCount; i++) maxV = Math.max(maxV, plant.moduleVoltage_V(i));
    if (this.ccCvCurrent_A === 0 && this.ccCvBelowCutoff_s === 0) this.ccCvCurrent_A = cc_A;
    const error_V = maxV - s.maxModuleVoltage_V;
    const gain_A_per_V = 0.5 * this.capacity_Ah / 0.125;
    const maxChange_A = 0.05 * -cc_A;
    const change_A = Math.min(maxChange_A, Math.max(-maxChange_A, error_V * gain_A_per_V));
    this.ccCvCurrent_A = Math.min(0, Math.max(cc_A, this.ccCvCurrent_A + change_A));
    // Terminate like a charger: current below the cut-off for 10 s while holding the voltage.
    if (-this.ccCvCurrent_A < s.cutoffCRate * this.capacity_Ah && error_V > -0.01) this.ccCvBelowCutoff_s += dt_s;
    else this.ccCvBelowCutoff_s = 0;
    if (this.ccCvBelowCutoff_s >= 10) {
      this.ccCvDone = true;
      return 0;
    }
    return this.ccCvCurrent_A;
  }
}
