// The node's estimation: the cell model from the provisioned parameter blob, the SOC filter with
// its baseline beside it (so a benchmark compares both in one run), and the state-of-health
// estimators. docs/estimation.md explains the algorithms; this file decides when they run.
import { CellModel } from "../cell/model";
import { EkfSocEstimator, EkfState } from "../estimation/soc/ekf";
import { CoulombCounter } from "../estimation/soc/coulomb";
import { powerOffSocLoss, powerOffSocVariance } from "../estimation/soc/estimator";
import { ResistanceEstimator } from "../estimation/soh/resistance";
import { CapacityEstimator, CapacityPairBuilder } from "../estimation/soh/capacity";
import { Throughput } from "../estimation/soh/throughput";

/**
 * Prior 1-sigma of a module's capacity before any estimate: 5 % of nominal, the spread of capacity
 * among new cells of one lot plus early fade (Dubarry et al., J. Power Sources 2009, cell-to-cell
 * variation of commercial 18650s; a retired module starts from its persisted estimate instead).
 */
const CAPACITY_PRIOR_SIGMA_REL: f32 = 0.05;
/** Current below which the module is at rest for the cold-start decision, as a C-rate: C/50. */
const REST_C_RATE: f32 = 0.02;
/**
 * SOC 1-sigma at a cold start under load: the RC branches' voltage (tens of mV on a 1C pulse for
 * NMC, Chen et al. 2020) is unknown, which through an OCV slope of about 1 V per unit SOC is a few
 * percent; 10 % leaves the filter free to move.
 */
const COLD_START_UNDER_LOAD_SOC_SIGMA: f32 = 0.1;
/** A capacity estimate is fed back to the SOC filter once its 1-sigma is below 3 % of it. */
const CAPACITY_FEEDBACK_SIGMA_REL: f32 = 0.03;

export class NodeEstimation {
  readonly model: CellModel;
  readonly ekf: EkfSocEstimator;
  readonly baseline: CoulombCounter;
  readonly resistance: ResistanceEstimator;
  readonly capacity: CapacityEstimator;
  readonly pairs: CapacityPairBuilder;
  readonly throughput: Throughput;
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
    this.capacity = new CapacityEstimator(nominal, nominal * CAPACITY_PRIOR_SIGMA_REL);
    this.pairs = new CapacityPairBuilder(model);
    this.throughput = new Throughput(nominal);
  }

  /**
   * One tick of valid measurements (current positive = discharge). With the string known to be open
   * (openStringShunt_A not NaN), current_A is the current the node itself draws from the cells
   * (bleed, converter), known exactly, and openStringShunt_A is what the shunt channel reads of a
   * zero string current: the filter takes it as a measurement of the channel's offset.
   */
  step(current_A: f32, voltage_V: f32, temperature_C: f32, dt_s: f32, openStringShunt_A: f32 = NaN): void {
    if (openStringShunt_A == openStringShunt_A && !(Mathf.abs(openStringShunt_A) <= this.ekf.openStringLimit_A())) {
      // More than any offset: current flows after all (the status was stale or wrong). Count it.
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
      // The filter counts with the capacity estimate (the prior until pairs arrive) and its uncertainty.
      this.ekf.setCapacity_Ah(this.capacity.capacity_Ah, this.capacity.capacityVariance_Ah2);
      this.started = true;
      this.pendingRestore = false;
      this.pairs.start(this.ekf.soc, this.ekf.socVariance);
      return;
    }
    const flags = this.ekf.step(current_A, voltage_V, temperature_C, dt_s, openStringShunt_A);
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
    // Charge for the capacity pairs uses the filter's offset-corrected current (with the string
    // open the current is known and carries no offset).
    const open = openStringShunt_A == openStringShunt_A;
    this.pairs.accumulate(open ? current_A : current_A - this.ekf.state(EkfState.CURRENT_BIAS_A), dt_s);
    if (this.pairs.offer(this.ekf.soc, this.ekf.socVariance, this.capacity, this.ekf.biasVariance_A2)) {
      const sigma = this.capacity.capacitySigma_Ah;
      if (sigma < CAPACITY_FEEDBACK_SIGMA_REL * this.capacity.capacity_Ah) {
        // The baseline keeps the nominal capacity, as the BMSs it stands for do.
        this.ekf.setCapacity_Ah(this.capacity.capacity_Ah, sigma * sigma);
      }
    }
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
