// What a node keeps in its flash between power cycles: the estimator state, written periodically
// and when the controller asks (PERSIST), restored at boot. Record layout: docs/flash-layout.md.
import { RecordStore, MountStatus } from "../storage/record-store";
import { FlashPartition } from "../hal/flash-partition";
import { EkfState } from "../estimation/soc/ekf";
import { NodeEstimation } from "./estimation";
import { LifecycleRecord, LIFECYCLE_LENGTH } from "./lifecycle";

export namespace RecordType {
  export const ESTIMATOR_STATE: i32 = 1;
  export const PASSPORT: i32 = 2;
}

/** Version 2 adds the filter's slow voltage error and its variance; version 1 records (64 B) still restore. */
export const ESTIMATOR_STATE_VERSION: u16 = 2;
export const ESTIMATOR_STATE_LENGTH: i32 = 72;
const ESTIMATOR_STATE_V1_LENGTH: i32 = 64;
/** Record types the node's store holds (estimator state, passport, and room for two more). */
const MAX_RECORD_TYPES: i32 = 4;

export namespace StateOffset {
  export const VERSION: usize = 0;
  export const FLAGS: usize = 2;
  export const SAVED_AT_s: usize = 4;
  export const OPERATING_s: usize = 8;
  export const SOC: usize = 12;
  export const SOC_VARIANCE: usize = 16;
  export const HYSTERESIS: usize = 20;
  export const BIAS_A: usize = 24;
  export const BIAS_VARIANCE: usize = 28;
  export const CAPACITY_Ah: usize = 32;
  export const CAPACITY_VARIANCE: usize = 36;
  export const R0_RATIO: usize = 40;
  export const R0_RATIO_VARIANCE: usize = 44;
  export const DISCHARGED_Ah: usize = 48;
  export const CHARGED_Ah: usize = 52;
  export const DISCHARGED_Wh: usize = 56;
  export const CHARGED_Wh: usize = 60;
  export const VOLTAGE_ERROR_V: usize = 64;
  export const VOLTAGE_ERROR_VARIANCE: usize = 68;
}

export class NodePersistence {
  readonly store: RecordStore;
  readonly buffer: StaticArray<u8> = new StaticArray<u8>(ESTIMATOR_STATE_LENGTH);
  private readonly lifecycleScratch: StaticArray<u8> = new StaticArray<u8>(LIFECYCLE_LENGTH);
  mountStatus: i32 = 0;
  writes: i32 = 0;
  writeFailures: i32 = 0;

  constructor(sectorSize: i32, firstSector: i32, sectorCount: i32, programUnit: i32) {
    this.store = new RecordStore(new FlashPartition(sectorSize, firstSector, sectorCount, programUnit), MAX_RECORD_TYPES);
  }

  mount(): i32 {
    this.mountStatus = this.store.mount();
    return this.mountStatus;
  }

  /** Loads the last estimator state into the estimation's pending restore; false when there is none. */
  loadState(e: NodeEstimation): bool {
    const b = changetype<usize>(this.buffer);
    const length = this.store.readLatest(RecordType.ESTIMATOR_STATE, b, ESTIMATOR_STATE_LENGTH);
    const version = length >= 2 ? load<u16>(b + StateOffset.VERSION) : 0;
    const v1 = version == 1 && length == ESTIMATOR_STATE_V1_LENGTH;
    if (!(v1 || (version == ESTIMATOR_STATE_VERSION && length == ESTIMATOR_STATE_LENGTH))) return false;
    // A version-1 record has no voltage error: it restarts from its prior (NaN variance).
    e.restoreVoltageError_V = v1 ? <f32>0.0 : load<f32>(b + StateOffset.VOLTAGE_ERROR_V);
    e.restoreVoltageErrorVariance = v1 ? NaN : load<f32>(b + StateOffset.VOLTAGE_ERROR_VARIANCE);
    e.pendingRestore = true;
    e.restoreSavedAt_s = load<u32>(b + StateOffset.SAVED_AT_s);
    e.restoreSoc = load<f32>(b + StateOffset.SOC);
    e.restoreSocVariance = load<f32>(b + StateOffset.SOC_VARIANCE);
    e.restoreHysteresis = load<f32>(b + StateOffset.HYSTERESIS);
    e.restoreBias_A = load<f32>(b + StateOffset.BIAS_A);
    e.restoreBiasVariance = load<f32>(b + StateOffset.BIAS_VARIANCE);
    e.restoreCapacity(load<f32>(b + StateOffset.CAPACITY_Ah), load<f32>(b + StateOffset.CAPACITY_VARIANCE));
    e.resistance.restore(load<f32>(b + StateOffset.R0_RATIO), load<f32>(b + StateOffset.R0_RATIO_VARIANCE));
    e.throughput.restore(load<f32>(b + StateOffset.DISCHARGED_Ah), load<f32>(b + StateOffset.CHARGED_Ah), load<f32>(b + StateOffset.DISCHARGED_Wh), load<f32>(b + StateOffset.CHARGED_Wh));
    return true;
  }

  /** Writes the estimator state now; false on a flash error (reported by the caller). */
  saveState(e: NodeEstimation, savedAt_s: u32, operating_s: u32): bool {
    if (!e.started || this.store.readOnly) return false;
    const b = changetype<usize>(this.buffer);
    store<u16>(b + StateOffset.VERSION, ESTIMATOR_STATE_VERSION);
    store<u16>(b + StateOffset.FLAGS, 0);
    store<u32>(b + StateOffset.SAVED_AT_s, savedAt_s);
    store<u32>(b + StateOffset.OPERATING_s, operating_s);
    store<f32>(b + StateOffset.SOC, e.ekf.soc);
    store<f32>(b + StateOffset.SOC_VARIANCE, e.ekf.socVariance);
    store<f32>(b + StateOffset.HYSTERESIS, e.ekf.state(EkfState.HYSTERESIS));
    store<f32>(b + StateOffset.BIAS_A, e.ekf.state(EkfState.CURRENT_BIAS_A));
    store<f32>(b + StateOffset.BIAS_VARIANCE, e.ekf.covariance(EkfState.CURRENT_BIAS_A, EkfState.CURRENT_BIAS_A));
    store<f32>(b + StateOffset.CAPACITY_Ah, e.capacity_Ah);
    store<f32>(b + StateOffset.CAPACITY_VARIANCE, e.capacityVariance_Ah2);
    store<f32>(b + StateOffset.R0_RATIO, e.resistance.ratio);
    store<f32>(b + StateOffset.R0_RATIO_VARIANCE, e.resistance.ratioVariance);
    store<f32>(b + StateOffset.DISCHARGED_Ah, e.throughput.dischargedCharge_Ah);
    store<f32>(b + StateOffset.CHARGED_Ah, e.throughput.chargedCharge_Ah);
    store<f32>(b + StateOffset.DISCHARGED_Wh, e.throughput.dischargedEnergy_Wh);
    store<f32>(b + StateOffset.CHARGED_Wh, e.throughput.chargedEnergy_Wh);
    store<f32>(b + StateOffset.VOLTAGE_ERROR_V, e.ekf.state(EkfState.VOLTAGE_ERROR_V));
    store<f32>(b + StateOffset.VOLTAGE_ERROR_VARIANCE, e.ekf.covariance(EkfState.VOLTAGE_ERROR_V, EkfState.VOLTAGE_ERROR_V));
    const result = this.store.write(RecordType.ESTIMATOR_STATE, b, ESTIMATOR_STATE_LENGTH);
    if (result == 0) {
      this.writes++;
      return true;
    }
    this.writeFailures++;
    return false;
  }

  /** Loads the last lifecycle record into record; false when there is none. */
  loadLifecycle(record: LifecycleRecord): bool {
    const scratch = changetype<usize>(this.lifecycleScratch);
    const length = this.store.readLatest(RecordType.PASSPORT, scratch, LIFECYCLE_LENGTH);
    return length == LIFECYCLE_LENGTH && record.load(scratch, length);
  }

  saveLifecycle(record: LifecycleRecord): bool {
    if (this.store.readOnly) return false;
    if (this.store.write(RecordType.PASSPORT, record.ptr, LIFECYCLE_LENGTH) == 0) {
      this.writes++;
      return true;
    }
    this.writeFailures++;
    return false;
  }

  get corrupt(): bool {
    return this.mountStatus == MountStatus.CORRUPT;
  }
}
