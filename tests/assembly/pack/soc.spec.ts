import { ModuleStates } from "../../../assembly/pack/modules";
import { PackSoc, packSocFromExtremes } from "../../../assembly/pack/soc";

function pack(count: i32, soc: f32, capacity_Ah: f32): ModuleStates {
  const m = new ModuleStates();
  m.count = count;
  for (let i = 0; i < count; i++) m.set(i, soc, capacity_Ah, 25.0, true);
  return m;
}

describe("pack SOC from the extreme modules", () => {
  it("equals the module SOC when all modules agree", () => {
    expect(packSocFromExtremes(0.5, 0.5)).toBeCloseTo(0.5, 6);
    expect(packSocFromExtremes(0.0, 0.0)).toBe(0.0);
    expect(packSocFromExtremes(1.0, 1.0)).toBe(1.0);
    const p = new PackSoc();
    expect(p.update(pack(12, 0.7, 5.0))).toBeCloseTo(0.7, 6);
    expect(p.socMean).toBeCloseTo(0.7, 6);
    expect(p.usableCapacity_Ah).toBeCloseTo(5.0, 5);
  });
  it("follows SOC_min / (SOC_min + 1 - SOC_max) by hand", () => {
    // 0.2 / (0.2 + 0.2) = 0.5; 0.1 / (0.1 + 0.4) = 0.2
    expect(packSocFromExtremes(0.2, 0.8)).toBeCloseTo(0.5, 6);
    expect(packSocFromExtremes(0.1, 0.6)).toBeCloseTo(0.2, 6);
    // Nothing can flow either way: report empty.
    expect(packSocFromExtremes(0.0, 1.0)).toBe(0.0);
  });
  it("lets one weak module dominate on discharge", () => {
    const m = pack(10, 0.6, 5.0);
    m.soc[3] = 0.05;
    const p = new PackSoc();
    // D = 0.05 x 5 = 0.25 Ah, C = 0.4 x 5 = 2 Ah: 0.25 / 2.25 = 0.1111
    expect(p.update(m)).toBeCloseTo(0.25 / 2.25, 5);
    expect(p.minModule).toBe(3);
    expect(p.dischargeable_Ah).toBeCloseTo(0.25, 5);
    expect(p.chargeable_Ah).toBeCloseTo(2.0, 5);
    // The mean says 54.5 %: the pack could deliver only 0.25 Ah.
    expect(p.socMean).toBeCloseTo(0.545, 4);
  });
  it("lets one full module dominate on charge", () => {
    const m = pack(10, 0.5, 5.0);
    m.soc[8] = 0.98;
    const p = new PackSoc();
    // D = 2.5 Ah, C = 0.02 x 5 = 0.1 Ah: 2.5 / 2.6
    expect(p.update(m)).toBeCloseTo(2.5 / 2.6, 5);
    expect(p.maxModule).toBe(8);
  });
  it("weights by each module's capacity", () => {
    const m = new ModuleStates();
    m.count = 2;
    m.set(0, 0.5, 10.0, 25.0, true);
    m.set(1, 0.6, 5.0, 25.0, true);
    const p = new PackSoc();
    // D = min(5, 3) = 3 Ah, C = min(5, 2) = 2 Ah
    expect(p.update(m)).toBeCloseTo(0.6, 5);
    expect(p.usableCapacity_Ah).toBeCloseTo(5.0, 5);
  });
  it("skips modules that are not valid and reports NaN with none left", () => {
    const m = pack(3, 0.5, 5.0);
    m.soc[1] = 0.0;
    m.valid[1] = false;
    const p = new PackSoc();
    expect(p.update(m)).toBeCloseTo(0.5, 6);
    m.valid[0] = false;
    m.valid[2] = false;
    expect(isNaN(p.update(m))).toBe(true);
  });
});
