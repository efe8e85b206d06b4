import { CellModel, CellTable } from "../../../assembly/cell/model";
import { ResistanceEstimator } from "../../../assembly/estimation/soh/resistance";
import { CapacityEstimator, CapacityPairBuilder } from "../../../assembly/estimation/soh/capacity";
import { Throughput } from "../../../assembly/estimation/soh/throughput";
import { TestCell } from "../cell/fixture";
import { Gaussian, SimulatedModule, nmcLikeCell, pulseCurrent_A } from "./simulation";

/** R0 = R1 = R2 = 10 mOhm, tau1 = 10 s, tau2 = 100 s, 1 Ah, OCV 3.0..4.0 V. */
function handCell(resistanceScale: f32): TestCell {
  const cell = new TestCell([0, 1], [25]);
  cell.set(CellTable.OCV_V, 0, 0, 3.0);
  cell.set(CellTable.OCV_V, 1, 0, 4.0);
  cell.fill(CellTable.R0_Ohm, <f32>0.01 * resistanceScale);
  cell.fill(CellTable.R1_Ohm, <f32>0.01 * resistanceScale);
  cell.fill(CellTable.TAU1_s, 10);
  cell.fill(CellTable.R2_Ohm, <f32>0.01 * resistanceScale);
  cell.fill(CellTable.TAU2_s, 100);
  cell.capacity_Ah = 1;
  cell.minVoltage_V = 2.8;
  cell.nominalVoltage_V = 3.5;
  cell.maxVoltage_V = 4.1;
  return cell;
}

function load(cell: TestCell): CellModel {
  const model = new CellModel();
  cell.loadInto(model);
  return model;
}

const hand = load(handCell(1));
// One tick of 1 s: R_inst = R0 + R1 (1 - e^-0.1) + R2 (1 - e^-0.01) = 0.01 + 0.000951626 + 0.0000995017 = 0.0110511.
const R_INST: f64 = 0.0110511;

describe("resistance RLS", () => {
  it("recovers the resistance ratio from exact data in one update", () => {
    const rls = new ResistanceEstimator(hand, 0.995, 0.2, 0.007, 1000);
    const theta: f64 = 1.3;
    // v = 3.7 - theta R_inst i: the exact ESC step response when the current was steady before.
    expect(rls.step(0, 3.7, 0.5, 25, 1)).toBe(false);
    expect(rls.step(2, <f32>(3.7 - theta * R_INST * 2.0), 0.5, 25, 1)).toBe(true);
    expect(rls.ratio).toBeCloseTo(1.3, 4);
    expect(rls.r0Module_Ohm(0.5, 25)).toBeCloseTo(0.013, 6);
    expect(rls.updates).toBe(1);
  });
  it("converges on exact data from the prior and shrinks its variance", () => {
    const rls = new ResistanceEstimator(hand);
    const theta: f64 = 0.8;
    const currents: StaticArray<f64> = [0, 2, 0.5, -1, 1.5, 0, 3, -0.5];
    for (let k = 0; k < 400; k++) {
      const i = currents[k % 8];
      rls.step(<f32>i, <f32>(3.7 - theta * R_INST * i), 0.5, 25, 1);
    }
    expect(rls.ratio).toBeCloseTo(0.8, 3);
    // Information per update (dI R_inst / 7 mV)^2 ~ 10 with a memory of 1 / (1 - 0.995) = 200 updates: sigma ~ 0.02.
    expect(rls.ratioSigma).toBeLessThan(0.03);
  });
  it("updates only on current steps above the threshold, and restarts after a bad sample", () => {
    const rls = new ResistanceEstimator(hand);
    expect(rls.step(1, 3.6, 0.5, 25, 1)).toBe(false);
    expect(rls.step(1, 3.6, 0.5, 25, 1)).toBe(false);
    expect(rls.step(1.1, 3.599, 0.5, 25, 1)).toBe(false);
    expect(rls.step(2, 3.59, 0.5, 25, 1)).toBe(true);
    expect(rls.step(NaN, 3.59, 0.5, 25, 1)).toBe(false);
    // The first sample after the break only primes the chain.
    expect(rls.step(0, 3.62, 0.5, 25, 1)).toBe(false);
    expect(rls.updates).toBe(1);
    expect(rls.ratioVariance).toBeLessThan(0.25);
  });
  it("tracks a 25 % resistance increase on a simulated module with noise", () => {
    const aged = load(handCell(1.25));
    const module = new SimulatedModule(aged, 0.8);
    const rls = new ResistanceEstimator(hand);
    const noise = new Gaussian(11);
    for (let t = 0; t < 3600; t++) {
      const current = pulseCurrent_A(t, 1);
      const v = module.step(current, 25, 1);
      rls.step(<f32>(current + 0.002 * noise.next()), <f32>(v + 0.002 * noise.next()), <f32>module.soc, 25, 1);
    }
    log<string>("resistance ratio " + rls.ratio.toString() + " +- " + rls.ratioSigma.toString() + " after " + rls.updates.toString() + " updates");
    expect(Math.abs(<f64>rls.ratio - 1.25)).toBeLessThan(0.05);
    expect(Math.abs(<f64>rls.ratio - 1.25)).toBeLessThan(3.0 * <f64>rls.ratioSigma + 0.02);
  });
});

describe("capacity AWTLS", () => {
  it("recovers Q exactly from noiseless pairs", () => {
    // A vague prior (sigma 100 Ah) so the data decide; pairs of different sizes and signs.
    const estimator = new CapacityEstimator(5, 100);
    const q: f32 = 4.37;
    const dz: StaticArray<f32> = [-0.5, 0.3, -0.25, 0.6, -0.7, 0.4];
    for (let k = 0; k < 6; k++) {
      expect(estimator.update(dz[k], 2.0e-4, q * dz[k], 1.0e-4)).toBe(true);
    }
    expect(estimator.capacity_Ah).toBeCloseTo(4.37, 3);
    expect(estimator.capacityRatio).toBeCloseTo(0.874, 4);
  });
  it("stays within its 1-sigma bound on average with noise on both sides", () => {
    const noise = new Gaussian(21);
    const q: f64 = 4.6;
    const trials = 60;
    let normalisedSquares: f64 = 0;
    let within2Sigma = 0;
    let meanError: f64 = 0;
    for (let trial = 0; trial < trials; trial++) {
      const estimator = new CapacityEstimator(5, 0.5);
      for (let k = 0; k < 40; k++) {
        let x = 0.2 + 0.6 * noise.uniform();
        if ((k & 1) == 1) x = -x;
        const sx = 0.01 * Math.SQRT2;
        const sy = 0.005 + 0.02 * noise.uniform();
        estimator.update(<f32>(x + sx * noise.next()), <f32>(sx * sx), <f32>(q * x + sy * noise.next()), <f32>(sy * sy));
      }
      const error = <f64>estimator.capacity_Ah - q;
      meanError += error / trials;
      normalisedSquares += error * error / <f64>estimator.capacityVariance_Ah2 / trials;
      if (Math.abs(error) < 2.0 * <f64>estimator.capacitySigma_Ah) within2Sigma++;
    }
    log<string>("AWTLS over " + trials.toString() + " trials: mean error " + meanError.toString() + " Ah, mean (error/sigma)^2 "
      + normalisedSquares.toString() + ", within 2 sigma " + within2Sigma.toString());
    expect(normalisedSquares).toBeLessThan(2.0);
    expect(within2Sigma).toBeGreaterThanOrEqual(<i32>(0.85 * <f64>trials));
    expect(Math.abs(meanError)).toBeLessThan(0.02);
  });
  it("keeps the prior until it has data and restores a persisted estimate", () => {
    const estimator = new CapacityEstimator(5, 0.5);
    expect(estimator.capacity_Ah).toBe(<f32>5);
    expect(estimator.capacitySigma_Ah).toBeCloseTo(0.5, 6);
    expect(estimator.update(NaN, 1.0e-4, 1, 1.0e-4)).toBe(false);
    estimator.restore(4.2, 0.01);
    expect(estimator.capacity_Ah).toBeCloseTo(4.2, 6);
    expect(estimator.capacityRatio).toBeCloseTo(0.84, 6);
    estimator.restore(40, 0.01);
    expect(estimator.capacity_Ah).toBeCloseTo(4.2, 6);
  });
  it("weighs the prior as a capacity known to its sigma", () => {
    // Prior 5 +- 0.25 Ah (5 %); one pair saying 4.5 Ah to 5 % (0.5 of SOC +- 0.025, a charge error
    // of 0.1 mAh). Inverse-variance weighting puts the estimate near 4.72 Ah; a prior weighed too
    // lightly would leave it at the pair's 4.5 Ah.
    const estimator = new CapacityEstimator(5, 0.25);
    expect(estimator.update(0.5, 0.025 * 0.025, 2.25, 1.0e-8)).toBe(true);
    log<string>("prior 5 +- 0.25, pair 4.5 +- 5 %: " + estimator.capacity_Ah.toString() + " +- " + estimator.capacitySigma_Ah.toString());
    expect(estimator.capacity_Ah).toBeGreaterThan(4.66);
    expect(estimator.capacity_Ah).toBeLessThan(4.8);
    expect(estimator.capacitySigma_Ah).toBeLessThan(0.25);
  });
  it("leaves out a pair whose SOC change is too uncertain to say anything", () => {
    const estimator = new CapacityEstimator(5, 0.25);
    // 0.1 of SOC known to +-0.03 (30 % of itself), as when a pair starts before the SOC filter converged.
    expect(estimator.update(-0.1, 0.03 * 0.03, -0.45, 1.0e-6)).toBe(false);
    expect(estimator.updates).toBe(0);
    expect(estimator.capacity_Ah).toBe(<f32>5);
    expect(estimator.update(-0.1, 0.01 * 0.01, -0.45, 1.0e-6)).toBe(true);
  });
  it("builds pairs from a running module", () => {
    const cell = nmcLikeCell();
    cell.capacity_Ah = 4.5;
    cell.coulombicEfficiency = 1;
    const aged = load(cell);
    const module = new SimulatedModule(aged, 0.95);
    // A vague prior (5 +- 2.5 Ah): the pairs, not the prior, must find the 4.5 Ah.
    const estimator = new CapacityEstimator(5, 2.5);
    const builder = new CapacityPairBuilder(aged, 0.2, 0.02);
    let pairs = 0;
    for (let t = 0; t < 7000; t++) {
      const current = pulseCurrent_A(t, 5);
      module.step(current, 25, 1);
      builder.accumulate(<f32>current, 1);
      // The SOC estimator's output, here the truth with a 1 % sigma.
      if (builder.offer(<f32>module.soc, 1.0e-4, estimator)) pairs++;
      if (module.soc < 0.1) break;
    }
    log<string>("pairs " + pairs.toString() + ": capacity " + estimator.capacity_Ah.toString() + " +- " + estimator.capacitySigma_Ah.toString());
    expect(pairs).toBeGreaterThanOrEqual(3);
    expect(estimator.capacity_Ah).toBeCloseTo(4.5, 2);
  });
});

describe("capacity pairs", () => {
  it("end at a rest after a smaller move, and carry the offset's uncertainty over the interval", () => {
    const estimator = new CapacityEstimator(1, 0.05);
    // Defaults: 0.4 of SOC while moving, a quarter of that after 300 s of rest.
    const builder = new CapacityPairBuilder(hand);
    let soc: f32 = 0.9;
    builder.offer(soc, 1.0e-4, estimator, 0.01);
    let closedAt = -1;
    for (let t = 0; t < 2000; t++) {
      const current: f32 = t < 540 ? <f32>1.0 : <f32>0.0;
      soc -= current / <f32>3600;
      builder.accumulate(current, 1);
      if (builder.offer(soc, 1.0e-4, estimator, 0.01) && closedAt < 0) closedAt = t;
    }
    // 0.15 of SOC is below 0.4: the pair closes once the current averaged over 10 s has fallen
    // below C/50 (about 40 s) and stayed there for 300 s.
    expect(closedAt).toBeGreaterThanOrEqual(840);
    expect(closedAt).toBeLessThan(900);
    expect(estimator.updates).toBe(1);
    // The pair's charge variance includes (0.1 A x 0.24 h)^2: with a 5 % prior the estimate barely moves from 1 Ah.
    expect(estimator.capacity_Ah).toBeCloseTo(1.0, 2);
  });
});

describe("SOH estimators", () => {
  it("do not allocate per step, AWTLS solves included", () => {
    const rls = new ResistanceEstimator(hand);
    const capacity = new CapacityEstimator(1, 0.1);
    const builder = new CapacityPairBuilder(hand, 0.05, 0.02);
    const counter = new Throughput(1);
    const before = heap.alloc(0);
    heap.free(before);
    let soc: f32 = 0.9;
    for (let k = 0; k < 3000; k++) {
      const i: f32 = k % 60 < 30 ? <f32>1.0 : <f32>-0.2;
      soc -= i / <f32>3600;
      rls.step(i, <f32>3.7 - <f32>0.011 * i, soc, 25, 1);
      builder.accumulate(i, 1);
      builder.offer(soc, 2.5e-5, capacity);
      counter.step(i, 3.7, 1);
    }
    const after = heap.alloc(0);
    heap.free(after);
    expect(after).toBe(before);
    expect(capacity.updates).toBeGreaterThan(3);
  });
});

describe("throughput", () => {
  it("counts charge and energy separately and equivalent full cycles", () => {
    const counter = new Throughput(2);
    for (let k = 0; k < 3600; k++) counter.step(1, 3.7, 1);
    for (let k = 0; k < 1800; k++) counter.step(-2, 4.0, 1);
    expect(counter.dischargedCharge_Ah).toBeCloseTo(1, 5);
    expect(counter.dischargedEnergy_Wh).toBeCloseTo(3.7, 4);
    expect(counter.chargedCharge_Ah).toBeCloseTo(1, 5);
    expect(counter.chargedEnergy_Wh).toBeCloseTo(4.0, 4);
    expect(counter.equivalentFullCycles).toBeCloseTo(0.5, 5);
  });
  it("loses nothing to f32 rounding over a million small steps", () => {
    const counter = new Throughput(1);
    // 10 mA for 0.1 s, 10^6 times: 1000 A s = 0.2777778 Ah. A plain f32 sum of 2.78e-7 Ah steps stalls far below.
    for (let k = 0; k < 1000000; k++) counter.step(0.01, 3.3, 0.1);
    expect(counter.dischargedCharge_Ah).toBeCloseTo(0.2777778, 6);
    counter.restore(100000, 0, 0, 0);
    for (let k = 0; k < 1000; k++) counter.step(1, 3.3, 0.36);
    expect(counter.dischargedCharge_Ah).toBeCloseTo(100000.1, 1);
  });
  it("skips invalid samples", () => {
    const counter = new Throughput(1);
    expect(counter.step(NaN, 3.3, 1)).toBe(false);
    expect(counter.step(1, NaN, 1)).toBe(false);
    expect(counter.step(1, 3.3, -1)).toBe(false);
    expect(counter.step(5000, 3.3, 1)).toBe(false);
    expect(counter.dischargedCharge_Ah).toBe(0);
  });
});
