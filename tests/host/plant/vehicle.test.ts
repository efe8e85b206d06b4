import { test } from "node:test";
import assert from "node:assert/strict";
import { DriveCycle, loadDriveCycle } from "../../../host/plant/drive-cycle.ts";
import {
  GRAVITY_mps2,
  MID_SIZE_EV,
  Vehicle,
  cycleEnergy,
  energyPerDistance_Whpkm,
} from "../../../host/plant/vehicle.ts";

const p = MID_SIZE_EV;
const close = (actual: number, expected: number, tolerance: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);

// A vehicle with nothing but inertia: no drag, no rolling, lossless drivetrain and full regeneration.
const LOSSLESS = {
  dragCoefficient: 0,
  rollingResistanceCoefficient: 0,
  motoringEfficiency: 1,
  generatingEfficiency: 1,
  regenFraction: 1,
  regenPowerLimit_W: Number.MAX_VALUE,
  auxiliaryLoad_W: 0,
};

test("constant speed on the flat: (½ρCdA·v² + Crr·m·g)·v / η_motoring + P_aux", () => {
  const vehicle = new Vehicle();
  for (const v of [5, 13.4, 27.8, 36.5]) {
    const roadLoad_N = 0.5 * p.airDensity_kgpm3 * p.dragCoefficient * p.frontalArea_m2 * v * v + p.rollingResistanceCoefficient * p.mass_kg * GRAVITY_mps2;
    close(vehicle.batteryPower_W(v, 0), (roadLoad_N * v) / p.motoringEfficiency + p.auxiliaryLoad_W, 1e-9, `${v} m/s`);
  }
});

test("a standing car draws only the auxiliary load", () => {
  assert.equal(new Vehicle().batteryPower_W(0, 0), p.auxiliaryLoad_W);
  assert.equal(new Vehicle({ auxiliaryLoad_W: 0 }).batteryPower_W(0, 0), 0);
});

test("grade adds m·g·sin θ and scales rolling by cos θ (θ = atan(grade))", () => {
  const vehicle = new Vehicle({ auxiliaryLoad_W: 0 });
  const v = 20;
  const grade = 0.06;
  const theta = Math.atan(grade);
  const force_N =
    0.5 * p.airDensity_kgpm3 * p.dragCoefficient * p.frontalArea_m2 * v * v +
    p.rollingResistanceCoefficient * p.mass_kg * GRAVITY_mps2 * Math.cos(theta) +
    p.mass_kg * GRAVITY_mps2 * Math.sin(theta);
  close(vehicle.batteryPower_W(v, 0, grade), (force_N * v) / p.motoringEfficiency, 1e-9, "uphill");
  close(new Vehicle({ auxiliaryLoad_W: 0, grade }).batteryPower_W(v, 0), (force_N * v) / p.motoringEfficiency, 1e-9, "grade from params");
  assert.ok(vehicle.batteryPower_W(v, 0, -grade) < 0, "a 6 % descent at 72 km/h regenerates");
});

test("acceleration uses the rotational equivalent mass δ·m", () => {
  const vehicle = new Vehicle(LOSSLESS);
  close(vehicle.tractiveForce_N(10, 2), p.rotationalMassFactor * p.mass_kg * 2, 1e-9, "force");
  close(vehicle.batteryPower_W(10, 2), p.rotationalMassFactor * p.mass_kg * 2 * 10, 1e-6, "power");
});

test("braking regenerates: f_regen·η_generating·P_wheel + P_aux, never below the regen limit", () => {
  const vehicle = new Vehicle();
  const v = 15;
  const a = -0.8;
  const wheel_W = vehicle.wheelPower_W(v, a);
  assert.ok(wheel_W < 0);
  const expected_W = wheel_W * p.regenFraction * p.generatingEfficiency + p.auxiliaryLoad_W;
  assert.ok(expected_W > -p.regenPowerLimit_W, "this stop stays under the limit");
  close(vehicle.batteryPower_W(v, a), expected_W, 1e-9, "moderate braking");

  // 0.8 g from 130 km/h asks for far more than 60 kW: the battery sees exactly the limit.
  assert.equal(vehicle.batteryPower_W(36, -0.8 * GRAVITY_mps2), -p.regenPowerLimit_W);
  for (let v_mps = 0; v_mps <= 40; v_mps += 0.5) {
    for (let a_mps2 = -10; a_mps2 <= 0; a_mps2 += 0.25) {
      assert.ok(vehicle.batteryPower_W(v_mps, a_mps2) >= -p.regenPowerLimit_W, `${v_mps} m/s, ${a_mps2} m/s²`);
    }
  }
  const limited = new Vehicle({ regenPowerLimit_W: 5_000 });
  assert.equal(limited.batteryPower_W(v, a), -5_000);
});

test("without regeneration a braking car still only draws the auxiliary load", () => {
  const vehicle = new Vehicle({ regenFraction: 0 });
  assert.equal(vehicle.batteryPower_W(20, -2), p.auxiliaryLoad_W);
  const udds = loadDriveCycle("udds");
  assert.equal(cycleEnergy(vehicle, udds).charge_Wh, 0);
});

test("invalid parameters are rejected", () => {
  assert.throws(() => new Vehicle({ mass_kg: 0 }), /mass_kg must be > 0/);
  assert.throws(() => new Vehicle({ motoringEfficiency: 1.2 }), /motoringEfficiency must be in \(0, 1\]/);
  assert.throws(() => new Vehicle({ motoringEfficiency: 0 }), /motoringEfficiency/);
  assert.throws(() => new Vehicle({ regenFraction: -0.1 }), /regenFraction/);
  assert.throws(() => new Vehicle({ rotationalMassFactor: 0.9 }), /rotationalMassFactor/);
  assert.throws(() => new Vehicle({ auxiliaryLoad_W: Number.NaN }), /auxiliaryLoad_W/);
  assert.throws(() => new Vehicle().batteryPower_W(-1, 0), /speed must be >= 0/);
});

test("energy conservation: a lossless car ends a cycle that starts and stops at rest with zero net energy", () => {
  const vehicle = new Vehicle(LOSSLESS);
  for (const id of ["udds", "us06"]) {
    const energy = cycleEnergy(vehicle, loadDriveCycle(id));
    assert.ok(energy.discharge_Wh > 100, `${id} does real work`);
    close(energy.net_Wh, 0, 1e-6 * energy.discharge_Wh, `${id} net`);
  }
});

test("rolling resistance alone costs exactly Crr·m·g·distance", () => {
  const vehicle = new Vehicle({ ...LOSSLESS, rollingResistanceCoefficient: p.rollingResistanceCoefficient });
  const udds = loadDriveCycle("udds");
  const expected_Wh = (p.rollingResistanceCoefficient * p.mass_kg * GRAVITY_mps2 * udds.distance_m) / 3600;
  close(cycleEnergy(vehicle, udds).net_Wh, expected_Wh, 1e-6 * expected_Wh, "rolling energy");
});

test("the integration step hardly matters (midpoint rule inside each constant-acceleration interval)", () => {
  const vehicle = new Vehicle();
  const us06 = loadDriveCycle("us06");
  const fine = energyPerDistance_Whpkm(vehicle, us06, 0.01);
  close(energyPerDistance_Whpkm(vehicle, us06, 1), fine, 1e-3 * fine, "1 s step");
  close(energyPerDistance_Whpkm(vehicle, us06, 0.3), fine, 1e-3 * fine, "a step that does not divide 1 s");
});

/**
 * Bounds from the physics of the road load, computed from the cycle samples and the parameters with
 * no use of the model code. Net wheel work over a cycle that starts and ends at rest on the flat equals
 * the rolling plus aerodynamic dissipation E_diss. A lossless drivetrain with full regeneration would
 * draw exactly E_diss + P_aux·T, the least any real car can; a car without regeneration draws at most
 * (E_diss + ΣΔE_kin⁺) / η_motoring + P_aux·T, where ΣΔE_kin⁺ sums ½δm(v²_i+1 − v²_i) over the
 * speeding-up segments (the braking energy it then throws away).
 */
function physicalBounds_Whpkm(cycle: DriveCycle): { lower: number; upper: number } {
  const halfRhoCdA = 0.5 * p.airDensity_kgpm3 * p.dragCoefficient * p.frontalArea_m2;
  let aero_J = 0;
  let kineticGain_J = 0;
  for (let i = 1; i < cycle.sampleCount; i++) {
    const v0 = cycle.sampleSpeed_mps(i - 1);
    const v1 = cycle.sampleSpeed_mps(i);
    const dt = cycle.sampleTime_s(i) - cycle.sampleTime_s(i - 1);
    aero_J += halfRhoCdA * dt * ((v0 + v1) * (v0 * v0 + v1 * v1)) / 4; // ∫v³dt for v linear in t
    kineticGain_J += Math.max(0, 0.5 * p.rotationalMassFactor * p.mass_kg * (v1 * v1 - v0 * v0));
  }
  const rolling_J = p.rollingResistanceCoefficient * p.mass_kg * GRAVITY_mps2 * cycle.distance_m;
  const auxiliary_J = p.auxiliaryLoad_W * cycle.duration_s;
  const km = cycle.distance_m / 1000;
  return {
    lower: (rolling_J + aero_J + auxiliary_J) / 3600 / km,
    upper: ((rolling_J + aero_J + kineticGain_J) / p.motoringEfficiency + auxiliary_J) / 3600 / km,
  };
}

test("UDDS consumption of the default mid-size EV lies between the physical bounds", () => {
  const udds = loadDriveCycle("udds");
  const { lower, upper } = physicalBounds_Whpkm(udds);
  const whpkm = energyPerDistance_Whpkm(new Vehicle(), udds);
  assert.ok(lower < whpkm && whpkm < upper, `${lower.toFixed(1)} < ${whpkm.toFixed(1)} < ${upper.toFixed(1)} Wh/km`);
  // The bounds themselves say a mid-size EV on the UDDS needs tens, not hundreds, of Wh/km.
  assert.ok(lower > 50 && upper < 200, `bounds ${lower.toFixed(1)}..${upper.toFixed(1)} Wh/km`);
});

test("every shipped cycle lies between its physical bounds, and regeneration helps most in town", () => {
  const vehicle = new Vehicle();
  const saved: Record<string, number> = {};
  for (const id of ["udds", "us06", "hwfet", "wltc3b"]) {
    const cycle = loadDriveCycle(id);
    const { lower, upper } = physicalBounds_Whpkm(cycle);
    const energy = cycleEnergy(vehicle, cycle);
    const whpkm = energy.net_Wh / (energy.distance_m / 1000);
    assert.ok(lower < whpkm && whpkm < upper, `${id}: ${lower.toFixed(1)} < ${whpkm.toFixed(1)} < ${upper.toFixed(1)}`);
    saved[id] = energy.charge_Wh / energy.discharge_Wh;
  }
  // Stop-and-go UDDS returns a larger share of its traction energy than the steady HWFET.
  assert.ok(saved.udds! > saved.hwfet!, JSON.stringify(saved));
});
