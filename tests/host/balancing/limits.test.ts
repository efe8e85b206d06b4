// Physical minima of equalisation (bench/balancing-limits.ts), checked against hand calculations.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  activeMinimumTime_s, maximumUsableCapacity_Ah, passiveExcess_Ah, passiveMinimumDissipation_J,
  passiveMinimumTime_s, usableCapacity_Ah, usableCapacityGain_Ah, type BalanceModuleState,
} from "../../../bench/balancing-limits.ts";

const close = (actual: number, expected: number, tolerance: number): void =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

const module = (soc: number, capacity_Ah: number, voltage_V = 3.7): BalanceModuleState => ({ soc, capacity_Ah, voltage_V });
const LTC3300 = { efficiency: 0.92, powerLimit_W: 36 };

test("usable capacity is D + C, at most the smallest capacity", () => {
  // A: 10 Ah holding 9 (room 1); B: 5 Ah holding 2 (room 3): D = 2, C = 1.
  const pack = [module(0.9, 10), module(0.4, 5)];
  close(usableCapacity_Ah(pack), 3, 1e-12);
  close(maximumUsableCapacity_Ah(pack), 5, 1e-12);
  close(usableCapacityGain_Ah(pack), 2, 1e-12);
  // Mixed capacities that already give the maximum, at different SOCs.
  close(usableCapacityGain_Ah([module(0.5, 10), module(0.4, 5)]), 0, 1e-12);
  assert.throws(() => usableCapacity_Ah([]), /at least one module/);
  assert.throws(() => usableCapacity_Ah([module(0.5, 0)]), /capacity > 0/);
});

test("passive minimum: the least bleed, its time at V/R and its heat", () => {
  const pack = [module(0.9, 10), module(0.4, 5)];
  const excess = passiveExcess_Ah(pack);
  close(excess[0]!, 2, 1e-12);
  close(excess[1]!, 0, 1e-12);
  // 2 Ah at 3.7 V / 33 ohm = 0.11212 A: 64 216 s; 2 Ah x 3.7 V = 26 640 J.
  close(passiveMinimumTime_s(pack, 33), (2 * 3600 * 33) / 3.7, 1e-6);
  close(passiveMinimumDissipation_J(pack), 2 * 3600 * 3.7, 1e-6);
  // Equal capacities: bottom balancing, every module down to the emptiest one.
  const equal = [module(0.6, 5), module(0.5, 5, 3.6), module(0.4, 5)];
  assert.deepEqual(passiveExcess_Ah(equal).map((b) => Math.round(b * 1e9) / 1e9), [1, 0.5, 0]);
  close(passiveMinimumTime_s(equal, 33), (1 * 3600 * 33) / 3.7, 1e-6);
  close(passiveMinimumDissipation_J(equal), 3600 * (1 * 3.7 + 0.5 * 3.6), 1e-6);
  assert.throws(() => passiveMinimumTime_s(equal, 0), /bleed resistance/);
});

test("active minimum, equal capacities: the level balances eta^2 x given = taken", () => {
  // q = 3, 2.5, 2.5, 2 Ah: 0.8464 (8 - 3d) = d - 2, d = 2.47830; T = (3 - d) x 3600 x 3.7 / 36.
  const pack = [module(0.6, 5), module(0.5, 5), module(0.5, 5), module(0.4, 5)];
  const eta2 = 0.92 * 0.92;
  const level = (8 * eta2 + 2) / (1 + 3 * eta2);
  const result = activeMinimumTime_s(pack, LTC3300);
  close(result.level_Ah, level, 1e-6);
  close(result.time_s, ((3 - level) * 3600 * 3.7) / 36, 1e-6);
  close(result.time_s, 193.03, 0.01);
  // Lossless converters, two modules: they meet halfway.
  const two = activeMinimumTime_s([module(0.6, 5), module(0.4, 5)], { efficiency: 1, powerLimit_W: 36 });
  close(two.time_s, (0.5 * 3600 * 3.7) / 36, 1e-6);
  close(two.level_Ah, 2.5, 1e-9);
});

test("active minimum, mixed capacities: only what the usable capacity needs", () => {
  // A (10 Ah, 9 Ah in it) gives a, B (5 Ah, 2 Ah) gets eta^2 a; A must end <= d + 5:
  // a >= 2 / (1 + eta^2); A's converter binds: T = 2 / (1 + eta^2) x 3600 x 3.7 / 36 = 400.78 s.
  const pack = [module(0.9, 10), module(0.4, 5)];
  const result = activeMinimumTime_s(pack, LTC3300);
  close(result.time_s, (2 / (1 + 0.92 * 0.92)) * 370, 1e-6);
  close(result.time_s, 400.78, 0.01);
  // Already at the maximum: nothing to do.
  assert.equal(activeMinimumTime_s([module(0.5, 10), module(0.4, 5)], LTC3300).time_s, 0);
});

test("active minimum with the bleeds and per-module limits", () => {
  const pack = [module(0.9, 10), module(0.4, 5)];
  const converters = activeMinimumTime_s(pack, LTC3300).time_s;
  const combined = activeMinimumTime_s(pack, { ...LTC3300, bleedResistance_Ohm: 33 }).time_s;
  assert.ok(combined < converters, `${combined} < ${converters}`);
  // The bleed adds V^2 / R = 0.415 W to the 36 W A sheds through its converter: at most 1.2 % faster.
  assert.ok(combined > converters / 1.012);
  // No converter on the donor: the bleed alone, as the passive minimum.
  const bleedOnly = activeMinimumTime_s(pack, { efficiency: 0.92, powerLimit_W: [0, 36], bleedResistance_Ohm: 33 });
  close(bleedOnly.time_s, passiveMinimumTime_s(pack, 33), 1e-6 * bleedOnly.time_s);
  assert.throws(() => activeMinimumTime_s(pack, { efficiency: 0.92, powerLimit_W: [0, 36] }), /no schedule/);
  // Twice the converter power: half the time.
  close(activeMinimumTime_s(pack, { efficiency: 0.92, powerLimit_W: 72 }).time_s, converters / 2, 1e-6);
  assert.ok(activeMinimumTime_s(pack, LTC3300).time_s < passiveMinimumTime_s(pack, 33));
  assert.throws(() => activeMinimumTime_s(pack, { efficiency: 1.2, powerLimit_W: 36 }), /efficiency/);
});
