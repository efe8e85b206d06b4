// The node's estimation: the cell model from the provisioned parameter blob, the SOC filter with
// its baseline beside it (so a benchmark compares both in one run), and the state-of-health
// estimators. docs/estimation.md explains the algorithms; this file decides when they run.
import { CellModel } from "../cell/model";
import { EkfSocEstimator, EkfState } from "../estimation/soc/ekf";
import { CoulombCounter } from "../estimation/soc/coulomb";
import { powerOffSocLoss, powerOffSocVariance } from "../estimation/soc/estimator";
import { ResistanceEstimator } from "../estimation/soh/resistance";
import { Throughput } from "../estimation/soh/throughput";

/**
 * Prior 1-sigma of a module's capacity when the node has no record of it: 15 % of nominal. A node
 * new to its module cannot tell a new module (within a few percent of nominal: Dubarry et al.,
 * J. Power Sources 2009, cell-to-cell variation of commercial 18650s) from one near the end of its
 * first life (70-80 %, the usual automotive end-of-life criterion); 15 % puts both inside 2 sigma.
 * A module the node has lived with starts from its persisted estimate instead.
 */
const UNKNOWN_MODULE_CAPACITY_SIGMA_REL: f32 = 0.15;
/** A persisted capacity is taken if it is within the filter's limits: 0.5-2 times nominal. */
const CAPACITY_RATIO_MIN: f32 = 0.5;
const CAPACITY_RATIO_MAX: f32 = 2.0;
/** Current below which the module is at rest for the cold-start decision, as a C-rate: C/50. */
const REST_C_RATE: f32 = 0.02;
/**
 * SOC 1-sigma at a cold start under load: the RC branches' voltage (tens of mV on a 1C pulse for
 * NMC, Chen et al. 2020) is unknown, which through an OCV slope of about 1 V per unit SOC is a few
 * percent; 10 % leaves the filter free to move.
 */
const COLD_START_UNDER_LOAD_SOC_SIGMA: f32 = 0.1;

export class NodeEstimation {
  readonly model: CellModel;
  readonly ekf: EkfSocEstimator;
  readonly baseline: CoulombCounter;
  readonly resistance: ResistanceEstimator;
  readonly throughput: Throughput;
  /**
   * The module's capacity before the filter starts (persisted, or nominal with the unknown-module
   * prior) and its variance; once started, the filter's capacity state carries it (see capacity_Ah).
   */
  startCapacity_Ah: f32;
  startCapacityVariance_Ah2: f32;
  started: bool = false;
  /** How the filter started: 0 not yet, 1 cold (OCV), 2 warm (persisted state). */
  startKind: i32 = 0;
  /** Persisted state waiting to be applied at the first valid measurement. */
  pendingRestore: bool = false;
  restoreSoc: f32 = 0;
  restoreSocVariance: f32 = 0;
  restoreHysteresis: f32 = 0;
  restoreBias_A: f32 = 0;
  restoreBiasVariance: f32 = 0;
  /** Persisted slow voltage error and its variance (NaN: not persisted, restart from the prior). */
  restoreVoltageError_V: f32 = 0;
  restoreVoltageErrorVariance: f32 = NaN;
  /** Wall-clock time of the persisted state (0 unknown): the off time is applied when the controller tells the time. */
  restoreSavedAt_s: u32 = 0;
  offTimeApplied: bool = false;
  stepsRejected: i32 = 0;

  constructor(model: CellModel) {
    this.model = model;
    this.ekf = new EkfSocEstimator(model);
    this.baseline = new CoulombCounter(model);
    this.resistance = new ResistanceEstimator(model);
    const nominal = model.moduleCapacity_Ah();
    this.startCapacity_Ah = nominal;
    this.startCapacityVariance_Ah2 = UNKNOWN_MODULE_CAPACITY_SIGMA_REL * UNKNOWN_MODULE_CAPACITY_SIGMA_REL * nominal * nominal;
    this.throughput = new Throughput(nominal);
  }

  /**
   * The module's total capacity, Ah: the SOC filter's joint estimate (its capacity state, learned
   * where the voltage corrects a count; docs/estimation.md), or the start value before it runs.
   */
  get capacity_Ah(): f32 {
    return this.started ? this.ekf.capacity_Ah : this.startCapacity_Ah;
  }
  get capacityVariance_Ah2(): f32 {
    return this.started ? this.ekf.capacityVariance_Ah2 : this.startCapacityVariance_Ah2;
  }
  get capacitySigma_Ah(): f32 {
    return Mathf.sqrt(this.capacityVariance_Ah2);
  }
  /** Capacity SOH: capacity over the parameter set's nominal module capacity. */
  get capacityRatio(): f32 {
    return this.capacity_Ah / this.model.moduleCapacity_Ah();
  }
  /** Filter updates that moved the capacity state. */
  get capacityUpdates(): i32 {
    return this.ekf.capacityLearningUpdates;
  }

  /** Warm start of the capacity (persisted estimate); ignored unless plausible. */
  restoreCapacity(capacity_Ah: f32, variance_Ah2: f32): void {
    const nominal = this.model.moduleCapacity_Ah();
    if (capacity_Ah > CAPACITY_RATIO_MIN * nominal && capacity_Ah < CAPACITY_RATIO_MAX * nominal && variance_Ah2 > 0 && variance_Ah2 < Infinity) {
      this.startCapacity_Ah = capacity_Ah;
      this.startCapacityVariance_Ah2 = variance_Ah2;
    }
  }

  /**
   * One tick of valid measurements (current positive = discharge). With the string known to be open
   * (openStringShunt_A not NaN), current_A is the current the node itself draws from the cells
   * (bleed, converter), known exactly, and openStringShunt_A is what the shunt channel reads of a
   * zero string current: the filter takes it as a measurement of the channel's offset. With the string
   * closed, ownCurrent_A is the part of current_A the node draws itself (known exactly).
   */
  step(current_A: f32, voltage_V: f32, temperature_C: f32, dt_s: f32, openStringShunt_A: f32 = NaN, ownCurrent_A: f32 = 0): void {
    if (openStringShunt_A == openStringShunt_A && !(Mathf.abs(openStringShunt_A) <= this.ekf.openStringLimit_A())) {
      // More than any offset: current flows after all (the status was stale or wrong). Count it.
      ownCurrent_A = current_A;
      current_A += openStringShunt_A;
      openStringShunt_A = NaN;
    }
    if (!this.started) {
      if (this.pendingRestore) {
        this.ekf.restore(this.restoreSoc, this.restoreSocVariance, this.restoreHysteresis, this.restoreBias_A, this.restoreBiasVariance, 0,
          this.restoreVoltageError_V, this.restoreVoltageErrorVariance);
        this.baseline.restore(this.restoreSoc, this.restoreSocVariance, 0, 0, 0, 0);
        this.startKind = 2;
      } else {
        // Cold start: the module's SOC from its voltage. After a rest this is the best there is.
        // Under load the voltage carries the ohmic drop (and RC drops the filter cannot see yet):
        // take the OCV as V + I R0 and start with a wide SOC uncertainty so the filter converges.
        // A current the sensor's offset could explain (three prior sigmas) counts as rest: a node
        // powers up with the contactors open, and an offset read as load would put the IR drop
        // of a current that is not flowing into the SOC.
        const offsetBand = <f32>3.0 * this.ekf.tuning.initialBiasSigma_A;
        const resting = Mathf.abs(current_A) <= REST_C_RATE * this.model.moduleCapacity_Ah() + offsetBand;
        if (resting) {
          if (!this.ekf.resetFromOcv(voltage_V, temperature_C)) return;
          this.baseline.resetFromOcv(voltage_V, temperature_C);
          this.startKind = 1;
        } else {
          const r0 = this.model.r0Module_Ohm(<f32>0.5, temperature_C);
          const ocv = voltage_V + current_A * r0;
          if (!this.ekf.resetFromOcv(ocv, temperature_C)) return;
          this.baseline.resetFromOcv(ocv, temperature_C);
          const variance = this.ekf.covariance(EkfState.SOC, EkfState.SOC);
          if (variance < COLD_START_UNDER_LOAD_SOC_SIGMA * COLD_START_UNDER_LOAD_SOC_SIGMA) {
            this.ekf.setCovariance(EkfState.SOC, EkfState.SOC, COLD_START_UNDER_LOAD_SOC_SIGMA * COLD_START_UNDER_LOAD_SOC_SIGMA);
          }
          this.startKind = 3;
        }
      }
      this.ekf.setResistanceScale(this.resistance.ratio, this.resistance.ratioVariance);
      // The filter counts with the capacity the node knows (persisted, or nominal with the
      // unknown-module prior) and learns it from there.
      this.ekf.setCapacity_Ah(this.startCapacity_Ah, this.startCapacityVariance_Ah2);
      this.started = true;
      this.pendingRestore = false;
      return;
    }
    const flags = this.ekf.step(current_A, voltage_V, temperature_C, dt_s, openStringShunt_A, ownCurrent_A);
    if (flags != 0) {
      this.stepsRejected++;
      return;
    }
    this.baseline.step(current_A, voltage_V, temperature_C, dt_s);
    if (this.resistance.step(current_A, voltage_V, this.ekf.soc, temperature_C, dt_s)) {
      // The SOC filter's resistances follow the SOH estimate, with its uncertainty (Plett 2004
      // part 3, dual estimation): an aged module's larger IR drop is not read as lost charge.
      this.ekf.setResistanceScale(this.resistance.ratio, this.resistance.ratioVariance);
    }
    this.throughput.step(current_A, voltage_V, dt_s);
  }

  /**
   * The controller told the wall-clock time: when the filter was warm-started from a state saved at
   * a known time, apply the self-discharge and its uncertainty for the time the node was off.
   */
  applyOffTime(now_s: u32): void {
    if (this.offTimeApplied || this.startKind != 2 || this.restoreSavedAt_s == 0 || now_s <= this.restoreSavedAt_s) return;
    this.offTimeApplied = true;
    const off_s = <f32>(now_s - this.restoreSavedAt_s);
    const soc = this.ekf.state(EkfState.SOC) - powerOffSocLoss(this.model, off_s);
    this.ekf.setState(EkfState.SOC, soc);
    this.ekf.setCovariance(EkfState.SOC, EkfState.SOC, this.ekf.covariance(EkfState.SOC, EkfState.SOC) + powerOffSocVariance(this.model, off_s));
    // The persisted slow voltage error drifted meanwhile.
    this.ekf.driftVoltageError(off_s);
  }
}
