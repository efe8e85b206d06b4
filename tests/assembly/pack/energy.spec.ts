import { ModuleStates } from "../../../assembly/pack/modules";
import { OcvCurve } from "../../../assembly/pack/ocv";
import { PackSoc } from "../../../assembly/pack/soc";
import { PackEnergy } from "../../../assembly/pack/energy";

/** OCV = 3.0 + 1.2 z on 11 points: F(z) = 3 z + 0.6 z^2. */
function linearOcv(): OcvCurve {
  const ocv = new OcvCurve(11);
  for (let i = 0; i < 11; i++) ocv.set(i, <f32>3.0 + <f32>1.2 * <f32>i / <f32>10.0);
  ocv.prepare();
  return ocv;
}

describe("OCV curve", () => {
  it("interpolates, gives the segment slope and integrates exactly", () => {
    const ocv = linearOcv();
    expect(ocv.voltage(0.0)).toBeCloseTo(3.0, 5);
    expect(ocv.voltage(0.55)).toBeCloseTo(3.66, 5);
    expect(ocv.voltage(1.2)).toBeCloseTo(4.2, 5);
    expect(ocv.slope(0.37)).toBeCloseTo(1.2, 4);
    expect(ocv.integral(0.5)).toBeCloseTo(1.65, 5);
    expect(ocv.integral(0.37)).toBeCloseTo(3.0 * 0.37 + 0.6 * 0.37 * 0.37, 5);
    expect(ocv.integral(1.0)).toBeCloseTo(3.6, 5);
  });
  it("integrates a curved table segment by segment", () => {
    const ocv = new OcvCurve(3);
    ocv.set(0, 3.0);
    ocv.set(1, 3.6);
    ocv.set(2, 4.0);
    ocv.prepare();
    // 0.5 x (3.0 + 3.6) / 2 + 0.5 x (3.6 + 4.0) / 2 = 1.65 + 1.9
    expect(ocv.integral(1.0)).toBeCloseTo(3.55, 5);
    expect(ocv.slope(0.75)).toBeCloseTo(0.8, 4);
  });
});

describe("remaining energy", () => {
  it("is capacity x the OCV integral for one module", () => {
    const m = new ModuleStates();
    m.count = 1;
    m.set(0, 0.5, 5.0, 25.0, true);
    const soc = new PackSoc();
    soc.update(m);
    const energy = new PackEnergy(linearOcv());
    // 5 Ah x F(0.5) = 5 x 1.65 = 8.25 Wh
    expect(energy.update(m, soc.dischargeable_Ah)).toBeCloseTo(8.25, 4);
  });
  it("stops every module where the weakest is empty", () => {
    const m = new ModuleStates();
    m.count = 2;
    m.set(0, 0.5, 5.0, 25.0, true);
    m.set(1, 0.8, 5.0, 25.0, true);
    const soc = new PackSoc();
    soc.update(m);
    const energy = new PackEnergy(linearOcv());
    // D = 2.5 Ah: module 0 from 0.5 to 0 (1.65 V), module 1 from 0.8 to 0.3:
    // F(0.8) - F(0.3) = 2.784 - 0.954 = 1.83 V; 5 x (1.65 + 1.83) = 17.4 Wh
    expect(energy.update(m, soc.dischargeable_Ah)).toBeCloseTo(17.4, 3);
  });
  it("is N x V x D for a flat OCV", () => {
    const ocv = new OcvCurve(2);
    ocv.set(0, 3.6);
    ocv.set(1, 3.6);
    ocv.prepare();
    const m = new ModuleStates();
    m.count = 100;
    for (let i = 0; i < 100; i++) m.set(i, <f32>0.4 + <f32>0.002 * <f32>i, 50.0, 25.0, true);
    const soc = new PackSoc();
    soc.update(m);
    expect(soc.dischargeable_Ah).toBeCloseTo(20.0, 3);
    expect(new PackEnergy(ocv).update(m, soc.dischargeable_Ah)).toBeCloseTo(100.0 * 3.6 * 20.0, 0);
  });
  it("is NaN without usable modules", () => {
    const m = new ModuleStates();
    m.count = 1;
    const soc = new PackSoc();
    soc.update(m);
    expect(isNaN(new PackEnergy(linearOcv()).update(m, soc.dischargeable_Ah))).toBe(true);
  });
});
