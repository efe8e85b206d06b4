// Longitudinal vehicle model: turns a speed trace into the power the battery must deliver.
// Road-load equation as in M. Ehsani et al., "Modern Electric, Hybrid Electric, and Fuel Cell
// Vehicles" (CRC Press), ch. 2, and T. D. Gillespie, "Fundamentals of Vehicle Dynamics" (SAE), ch. 4.
// Equations and the sources of the default parameters: docs/drive-cycles.md.
import type { DriveCycle } from "./drive-cycle.ts";

/** Standard gravity (CGPM 1901), m/s². */
export const GRAVITY_mps2 = 9.80665;

export interface VehicleParams {
  readonly name: string;
  /** Test mass: curb mass plus load. */
  readonly mass_kg: number;
  /** Equivalent-mass factor δ ≥ 1 for the rotating parts (wheels, rotor, gears): F = δ·m·a. */
  readonly rotationalMassFactor: number;
  readonly dragCoefficient: number;
  readonly frontalArea_m2: number;
  readonly airDensity_kgpm3: number;
  readonly rollingResistanceCoefficient: number;
  /** Road grade as rise over run (0.05 = 5 % uphill); used when a call gives none. */
  readonly grade: number;
  /** Battery terminals → wheel (inverter, motor, reduction gear) while driving. */
  readonly motoringEfficiency: number;
  /** Wheel → battery terminals while regenerating. */
  readonly generatingEfficiency: number;
  /** Share of the braking power at the wheels that goes to the motor; friction brakes take the rest. */
  readonly regenFraction: number;
  /** Largest charge power accepted at the battery terminals (auxiliary load included). */
  readonly regenPowerLimit_W: number;
  /** Constant electrical load besides traction (12 V system, pumps, controllers; no HVAC). */
  readonly auxiliaryLoad_W: number;
}

/**
 * A Tesla Model 3 Standard Range Plus (RWD, 2019–2020), an EPA mid-size car. Sources per line:
 * docs/drive-cycles.md, "Default vehicle".
 */
export const MID_SIZE_EV: VehicleParams = {
  name: "Tesla Model 3 Standard Range Plus (RWD), representative",
  mass_kg: 1611 + 136, // curb 1611 kg (3552 lb) + 136 kg (300 lb) EPA test load = equivalent test weight
  rotationalMassFactor: 1.05, // representative for a single-speed EV
  dragCoefficient: 0.23, // Tesla's stated value
  frontalArea_m2: 2.22, // representative: 0.83 × width 1.849 m × height 1.443 m (not published by Tesla)
  airDensity_kgpm3: 1.2, // dry air at 20 °C, 101.325 kPa is 1.204 kg/m³
  rollingResistanceCoefficient: 0.008, // representative low-rolling-resistance EV tyre
  grade: 0,
  motoringEfficiency: 0.9, // representative cycle average for inverter + PMSM + single reduction
  generatingEfficiency: 0.85, // representative
  regenFraction: 0.9, // representative: rear-drive car, most service braking by the motor
  regenPowerLimit_W: 60_000, // representative charge-power limit at moderate SOC and temperature
  auxiliaryLoad_W: 300, // representative 12 V load, no cabin heating or cooling (as in the UDDS/HWFET tests)
};

/** Net battery energy of a vehicle over a drive cycle. */
export interface CycleEnergy {
  readonly distance_m: number;
  readonly duration_s: number;
  /** Energy drawn from the battery (periods of positive battery power), Wh ≥ 0. */
  readonly discharge_Wh: number;
  /** Energy returned to the battery by regeneration, Wh ≥ 0. */
  readonly charge_Wh: number;
  /** discharge_Wh − charge_Wh. */
  readonly net_Wh: number;
}

export class Vehicle {
  readonly params: VehicleParams;
  private readonly effectiveMass_kg: number;
  private readonly halfRhoCdA_kgpm: number;

  constructor(overrides: Partial<VehicleParams> = {}) {
    const p: VehicleParams = { ...MID_SIZE_EV, ...overrides };
    positive(p, "mass_kg");
    positive(p, "frontalArea_m2");
    positive(p, "airDensity_kgpm3");
    nonNegative(p, "dragCoefficient");
    nonNegative(p, "rollingResistanceCoefficient");
    nonNegative(p, "regenPowerLimit_W");
    nonNegative(p, "auxiliaryLoad_W");
    fraction(p, "motoringEfficiency", false);
    fraction(p, "generatingEfficiency", true);
    fraction(p, "regenFraction", true);
    if (!(p.rotationalMassFactor >= 1)) throw new RangeError(`vehicle ${p.name}: rotationalMassFactor must be >= 1`);
    if (!Number.isFinite(p.grade)) throw new RangeError(`vehicle ${p.name}: grade must be finite`);
    this.params = Object.freeze(p);
    this.effectiveMass_kg = p.mass_kg * p.rotationalMassFactor;
    this.halfRhoCdA_kgpm = 0.5 * p.airDensity_kgpm3 * p.dragCoefficient * p.frontalArea_m2;
  }

  /**
   * Tractive force at the wheels, N: δ·m·a + ½·ρ·Cd·A·v² + Crr·m·g·cos θ + m·g·sin θ, θ = atan(grade).
   * Rolling resistance acts only while the car moves (a standing car has no rolling loss).
   */
  tractiveForce_N(speed_mps: number, accel_mps2: number, grade: number = this.params.grade): number {
    const p = this.params;
    const theta = Math.atan(grade);
    const rolling_N = speed_mps > 0 ? p.rollingResistanceCoefficient * p.mass_kg * GRAVITY_mps2 * Math.cos(theta) : 0;
    return (
      this.effectiveMass_kg * accel_mps2 +
      this.halfRhoCdA_kgpm * speed_mps * speed_mps +
      rolling_N +
      p.mass_kg * GRAVITY_mps2 * Math.sin(theta)
    );
  }

  /** Mechanical power at the wheels, W; negative while the road load cannot absorb the braking. */
  wheelPower_W(speed_mps: number, accel_mps2: number, grade: number = this.params.grade): number {
    return this.tractiveForce_N(speed_mps, accel_mps2, grade) * speed_mps;
  }

  /**
   * Power at the battery terminals, W, positive = discharge. Driving: P_wheel / η_motoring + P_aux.
   * Braking: f_regen · P_wheel · η_generating + P_aux, never below −regenPowerLimit_W.
   */
  batteryPower_W(speed_mps: number, accel_mps2: number, grade: number = this.params.grade): number {
    if (!(speed_mps >= 0)) throw new RangeError(`vehicle ${this.params.name}: speed must be >= 0, got ${speed_mps}`);
    const p = this.params;
    const wheel_W = this.wheelPower_W(speed_mps, accel_mps2, grade);
    if (wheel_W >= 0) return wheel_W / p.motoringEfficiency + p.auxiliaryLoad_W;
    const regen_W = wheel_W * p.regenFraction * p.generatingEfficiency + p.auxiliaryLoad_W;
    return Math.max(regen_W, -p.regenPowerLimit_W);
  }
}

/**
 * Integrates batteryPower_W over a whole cycle: each sample interval is cut into equal sub-steps of at
 * most step_s, evaluated at their midpoints. Inside an interval the acceleration is constant and the
 * speed linear, so the midpoint rule integrates the inertial and rolling terms exactly and only the
 * v³ drag term (and the switch between driving and braking) carries an O(step²) error.
 */
export function cycleEnergy(vehicle: Vehicle, cycle: DriveCycle, step_s = 0.1): CycleEnergy {
  if (!(step_s > 0)) throw new RangeError(`cycleEnergy: step_s must be > 0, got ${step_s}`);
  let discharge_J = 0;
  let charge_J = 0;
  for (let i = 1; i < cycle.sampleCount; i++) {
    const start_s = cycle.sampleTime_s(i - 1);
    const interval_s = cycle.sampleTime_s(i) - start_s;
    const steps = Math.ceil(interval_s / step_s - 1e-9);
    const dt_s = interval_s / steps;
    for (let k = 0; k < steps; k++) {
      const mid_s = start_s + (k + 0.5) * dt_s;
      const power_W = vehicle.batteryPower_W(cycle.speedAt_mps(mid_s), cycle.accelerationAt_mps2(mid_s));
      if (power_W >= 0) discharge_J += power_W * dt_s;
      else charge_J -= power_W * dt_s;
    }
  }
  const discharge_Wh = discharge_J / 3600;
  const charge_Wh = charge_J / 3600;
  return {
    distance_m: cycle.distance_m,
    duration_s: cycle.duration_s,
    discharge_Wh,
    charge_Wh,
    net_Wh: discharge_Wh - charge_Wh,
  };
}

/** Net battery energy per distance over a cycle, Wh/km. */
export function energyPerDistance_Whpkm(vehicle: Vehicle, cycle: DriveCycle, step_s = 0.1): number {
  const energy = cycleEnergy(vehicle, cycle, step_s);
  return energy.net_Wh / (energy.distance_m / 1000);
}

type NumericKey = { [K in keyof VehicleParams]: VehicleParams[K] extends number ? K : never }[keyof VehicleParams];

function positive(p: VehicleParams, key: NumericKey): void {
  if (!(p[key] > 0) || !Number.isFinite(p[key])) throw new RangeError(`vehicle ${p.name}: ${key} must be > 0, got ${p[key]}`);
}

function nonNegative(p: VehicleParams, key: NumericKey): void {
  if (!(p[key] >= 0) || !Number.isFinite(p[key])) throw new RangeError(`vehicle ${p.name}: ${key} must be >= 0, got ${p[key]}`);
}

function fraction(p: VehicleParams, key: NumericKey, zeroAllowed: boolean): void {
  const value = p[key];
  const ok = (zeroAllowed ? value >= 0 : value > 0) && value <= 1;
  if (!ok) throw new RangeError(`vehicle ${p.name}: ${key} must be in ${zeroAllowed ? "[0, 1]" : "(0, 1]"}, got ${value}`);
}
