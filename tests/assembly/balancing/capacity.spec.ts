import { ModuleStates } from "../../../assembly/pack/modules";
import { PackSoc } from "../../../assembly/pack/soc";
import { usableCapacity_Ah, maximumUsableCapacity_Ah } from "../../../assembly/balancing/capacity";

function two(socA: f32, capacityA: f32, socB: f32, capacityB: f32): ModuleStates {
  const m = new ModuleStates();
  m.count = 2;
  m.set(0, socA, capacityA, 25.0, true);
  m.set(1, socB, capacityB, 25.0, true);
  return m;
}

describe("usable capacity", () => {
  it("is D + C by hand, and the same as PackSoc's", () => {
    // A: 10 Ah at 0.9 (q 9, r 1); B: 5 Ah at 0.4 (q 2, r 3): D = 2, C = 1.
    const m = two(0.9, 10.0, 0.4, 5.0);
    expect(usableCapacity_Ah(m)).toBeCloseTo(3.0, 5);
    const p = new PackSoc();
    p.update(m);
    expect(usableCapacity_Ah(m)).toBeCloseTo(p.usableCapacity_Ah, 5);
    expect(maximumUsableCapacity_Ah(m)).toBeCloseTo(5.0, 6);
  });
  it("applies a planned removal, clamped to the module's range", () => {
    const m = two(0.9, 10.0, 0.4, 5.0);
    const removed = new StaticArray<f32>(256);
    removed[0] = 2.0;
    // A: q 7, r 3 -> D = 2, C = 3: the maximum, 5 Ah.
    expect(usableCapacity_Ah(m, removed)).toBeCloseTo(5.0, 5);
    removed[0] = 20.0;
    // A emptied (clamped at 0): D = 0, C = min(10, 3) = 3.
    expect(usableCapacity_Ah(m, removed)).toBeCloseTo(3.0, 5);
  });
  it("skips unusable modules and is NaN without any", () => {
    const m = two(0.9, 10.0, 0.4, 5.0);
    m.valid[1] = false;
    expect(usableCapacity_Ah(m)).toBeCloseTo(10.0, 5);
    m.valid[0] = false;
    expect(isNaN(usableCapacity_Ah(m))).toBe(true);
    expect(isNaN(maximumUsableCapacity_Ah(m))).toBe(true);
  });
});
