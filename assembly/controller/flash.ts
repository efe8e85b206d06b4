// The controller's flash: sector 0 holds the pack configuration record the host provisions
// (assembly/pack/config.ts), sectors 1..N-1 a record store (assembly/storage/record-store.ts, over
// the HAL through FlashPartition) that keeps the freeze frames of the protection as a fault log.
// docs/protection.md ("Fault log in flash") describes the records.
//
// Fault log: a ring of FAULT_LOG_SLOTS record types. Freeze frame number k (counted over the
// controller's life, across reboots) is stored as record type FAULT_LOG_TYPE_FIRST + k mod
// FAULT_LOG_SLOTS, so the store keeps the newest FAULT_LOG_SLOTS frames and a garbage collection
// copies at most that many live records. The number travels in the payload; after a reboot the
// highest number found continues the count.
import { flash_read } from "../hal/abi";
import { FlashPartition } from "../hal/flash-partition";
import { RecordStore, MountStatus, StoreError } from "../storage/record-store";
import { FreezeFrame, FreezeFrameLog } from "../protection/freeze-frame";
import { diagnosticCode } from "../protection/faults";
import { PackConfig, parsePackConfig, PACK_CONFIG_MAX_BYTES } from "../pack/config";

/** Sector holding the pack configuration record; the record store never touches it. */
export const PROVISIONING_SECTOR: i32 = 0;
/** Freeze frames kept in flash: as many as Protection keeps in RAM (its default ring of 16). */
export const FAULT_LOG_SLOTS: i32 = 16;
export const FAULT_LOG_TYPE_FIRST: i32 = 0x100;
/**
 * Record type of the OPEN latch: whether the protection had the contactors latched open when last
 * written, so that a controller reset (a watchdog, a brown-out, a power cycle) does not release a
 * latched fault without the vehicle's fault reset (docs/protection.md, "OPEN latch across resets").
 */
export const LATCH_RECORD_TYPE: i32 = FAULT_LOG_TYPE_FIRST + FAULT_LOG_SLOTS;
/** Payload of the latch record: [0] u8 1 latched / 0 released, [1] u8 reserved, [2..3] u16 diagnostic code, [4..7] u32 wall clock. */
export const LATCH_RECORD_BYTES: i32 = 8;
/** Payload bytes of one persisted freeze frame (layout below and in docs/protection.md). */
export const FAULT_LOG_RECORD_BYTES: i32 = 64;
/** The flash read of the provisioning sector failed (beside the parser's PackConfigError codes). */
export const CONFIG_READ_FAILED: i32 = -100;

export namespace FaultLogOffset {
  export const NUMBER: i32 = 0; // u32, freeze frames persisted before this one
  export const UNIX_TIME_s: i32 = 4; // u32, wall clock from the vehicle, 0 unknown
  export const TIME_ms: i32 = 8; // i64, controller uptime at the fault
  export const FAULT: i32 = 16; // u8 FaultType
  export const LEVEL: i32 = 17; // u8 FaultLevel
  export const CODE: i32 = 18; // u16 diagnostic code 0x1FL
  export const VALUE: i32 = 20; // f32, the monitored quantity
  export const MAX_MODULE_VOLTAGE_mV: i32 = 24; // f32
  export const MIN_MODULE_VOLTAGE_mV: i32 = 28; // f32
  export const MAX_VOLTAGE_MODULE: i32 = 32; // i16 module index, -1 none
  export const MIN_VOLTAGE_MODULE: i32 = 34; // i16
  export const MAX_TEMPERATURE_C: i32 = 36; // f32
  export const MIN_TEMPERATURE_C: i32 = 40; // f32
  export const PACK_CURRENT_A: i32 = 44; // f32, discharge positive
  export const PACK_VOLTAGE_mV: i32 = 48; // f32
  export const SUM_MODULE_VOLTAGE_mV: i32 = 52; // f32
  export const MODULES_LOST: i32 = 56; // u16
  export const RESERVED: i32 = 58; // u16, 0xFFFF
  export const MEAN_SOC: i32 = 60; // f32
}

/**
 * Reads the provisioning sector into buffer (PACK_CONFIG_MAX_BYTES) and parses it into config.
 * Returns 0 or a negative PackConfigError / CONFIG_READ_FAILED.
 */
export function loadPackConfig(config: PackConfig, buffer: usize, sectorSize: i32): i32 {
  const length = sectorSize < PACK_CONFIG_MAX_BYTES ? sectorSize : PACK_CONFIG_MAX_BYTES;
  if (flash_read(PROVISIONING_SECTOR * sectorSize, <i32>buffer, length) != 0) return CONFIG_READ_FAILED;
  return parsePackConfig(buffer, length, config);
}

export class FaultLog {
  readonly store: RecordStore;
  private readonly record: StaticArray<u8> = new StaticArray<u8>(FAULT_LOG_RECORD_BYTES);
  mountStatus: i32 = StoreError.NOT_MOUNTED;
  /** Number the next persisted freeze frame gets: frames persisted over the controller's life. */
  nextNumber: u32 = 0;
  /** Index in Protection.log (log.recorded counts) of the next frame of this boot to persist. */
  pending: u32 = 0;
  /** Frames overwritten in the RAM ring before they could be written (more than one per tick). */
  dropped: u32 = 0;
  writeFailures: i32 = 0;
  lastError: i32 = 0;
  /** The latch record found at mount said latched; its diagnostic code. */
  latchedAtMount: bool = false;
  latchedCode: i32 = 0;
  /** Latch state in flash: -1 no record, 0 released, 1 latched. */
  private latchInFlash: i32 = -1;
  /** Latch state the controller wants in flash (-1: nothing to write). */
  private latchWanted: i32 = -1;
  private latchCode: i32 = 0;
  private readonly latchRecord: StaticArray<u8> = new StaticArray<u8>(LATCH_RECORD_BYTES);

  /** sectorSize, sectorCount, programUnit: the board's flash; the log gets every sector after the provisioning one. */
  constructor(sectorSize: i32, sectorCount: i32, programUnit: i32) {
    const partition = new FlashPartition(sectorSize, PROVISIONING_SECTOR + 1, sectorCount - PROVISIONING_SECTOR - 1, programUnit);
    // The ring of freeze frames and the latch record.
    this.store = new RecordStore(partition, FAULT_LOG_SLOTS + 1);
  }

  /** Mounts the store and continues the numbering after the newest frame found. Returns the mount status. */
  mount(): i32 {
    const status = this.store.mount();
    this.mountStatus = status;
    let next: u32 = 0;
    for (let slot = 0; slot < FAULT_LOG_SLOTS; slot++) {
      if (this.readSlot(slot) < 0) continue;
      const number = load<u32>(changetype<usize>(this.record) + <usize>FaultLogOffset.NUMBER);
      if (number + 1 > next) next = number + 1;
    }
    this.nextNumber = next;
    const latch = changetype<usize>(this.latchRecord);
    if (this.store.readLatest(LATCH_RECORD_TYPE, latch, LATCH_RECORD_BYTES) == LATCH_RECORD_BYTES) {
      this.latchedAtMount = load<u8>(latch) == 1;
      this.latchedCode = <i32>load<u16>(latch + 2);
      this.latchInFlash = this.latchedAtMount ? 1 : 0;
    }
    return status;
  }

  /** Asks for the latch state in flash to become latched (with the fault's diagnostic code) or released. */
  wantLatch(latched: bool, code: i32): void {
    const wanted = latched ? 1 : 0;
    if (wanted == this.latchInFlash) {
      this.latchWanted = -1;
      return;
    }
    this.latchWanted = wanted;
    if (latched) this.latchCode = code;
  }

  /** True when a latch record waits to be written (persistNext writes it before any freeze frame). */
  get latchDue(): bool {
    return this.latchWanted >= 0;
  }

  /** Writes the wanted latch state; 0 when done or nothing was due, else the StoreError (kept due). */
  persistLatch(unixTime_s: u32): i32 {
    if (this.latchWanted < 0) return 0;
    if (!this.writable) return StoreError.READ_ONLY;
    const p = changetype<usize>(this.latchRecord);
    store<u8>(p, <u8>this.latchWanted);
    store<u8>(p + 1, 0xff);
    store<u16>(p + 2, <u16>(this.latchWanted == 1 ? this.latchCode : 0));
    store<u32>(p + 4, unixTime_s);
    const result = this.store.write(LATCH_RECORD_TYPE, p, LATCH_RECORD_BYTES);
    if (result != 0) {
      this.writeFailures++;
      this.lastError = result;
      return result;
    }
    this.latchInFlash = this.latchWanted;
    this.latchWanted = -1;
    return 0;
  }

  get writable(): bool {
    return this.store.mounted && !this.store.readOnly;
  }

  /**
   * Writes the oldest freeze frame of log not yet persisted (at most one per call, so one tick
   * blocks for at most one record write and, when a sector is full, one collection). Returns 0
   * when nothing was due or the write succeeded, else the StoreError.
   */
  persistNext(log: FreezeFrameLog, unixTime_s: u32): i32 {
    if (this.pending >= log.recorded) return 0;
    const oldestHeld = log.recorded - <u32>log.count;
    if (this.pending < oldestHeld) {
      this.dropped += oldestHeld - this.pending;
      this.pending = oldestHeld;
    }
    if (!this.writable) return StoreError.READ_ONLY;
    const frame = log.at(<i32>(this.pending - oldestHeld));
    const number = this.nextNumber;
    this.encode(frame, number, unixTime_s);
    const result = this.store.write(FAULT_LOG_TYPE_FIRST + <i32>(number % <u32>FAULT_LOG_SLOTS), changetype<usize>(this.record), FAULT_LOG_RECORD_BYTES);
    if (result != 0) {
      // Kept pending: the next tick tries again (the store opens a fresh sector after a torn write).
      this.writeFailures++;
      this.lastError = result;
      return result;
    }
    this.nextNumber = number + 1;
    this.pending++;
    return 0;
  }

  private encode(frame: FreezeFrame, number: u32, unixTime_s: u32): void {
    const p = changetype<usize>(this.record);
    store<u32>(p + <usize>FaultLogOffset.NUMBER, number);
    store<u32>(p + <usize>FaultLogOffset.UNIX_TIME_s, unixTime_s);
    store<i64>(p + <usize>FaultLogOffset.TIME_ms, frame.time_ms);
    store<u8>(p + <usize>FaultLogOffset.FAULT, <u8>frame.fault);
    store<u8>(p + <usize>FaultLogOffset.LEVEL, <u8>frame.level);
    store<u16>(p + <usize>FaultLogOffset.CODE, <u16>diagnosticCode(frame.fault, frame.level));
    store<f32>(p + <usize>FaultLogOffset.VALUE, frame.value);
    store<f32>(p + <usize>FaultLogOffset.MAX_MODULE_VOLTAGE_mV, frame.maxModuleVoltage_mV);
    store<f32>(p + <usize>FaultLogOffset.MIN_MODULE_VOLTAGE_mV, frame.minModuleVoltage_mV);
    store<i16>(p + <usize>FaultLogOffset.MAX_VOLTAGE_MODULE, <i16>frame.maxVoltageModule);
    store<i16>(p + <usize>FaultLogOffset.MIN_VOLTAGE_MODULE, <i16>frame.minVoltageModule);
    store<f32>(p + <usize>FaultLogOffset.MAX_TEMPERATURE_C, frame.maxTemperature_C);
    store<f32>(p + <usize>FaultLogOffset.MIN_TEMPERATURE_C, frame.minTemperature_C);
    store<f32>(p + <usize>FaultLogOffset.PACK_CURRENT_A, frame.packCurrent_A);
    store<f32>(p + <usize>FaultLogOffset.PACK_VOLTAGE_mV, frame.packVoltage_mV);
    store<f32>(p + <usize>FaultLogOffset.SUM_MODULE_VOLTAGE_mV, frame.sumModuleVoltage_mV);
    store<u16>(p + <usize>FaultLogOffset.MODULES_LOST, <u16>frame.modulesLost);
    store<u16>(p + <usize>FaultLogOffset.RESERVED, 0xffff);
    store<f32>(p + <usize>FaultLogOffset.MEAN_SOC, frame.meanSoc);
  }

  /** Reads the newest record of one ring slot into the record buffer; its length or a StoreError. */
  private readSlot(slot: i32): i32 {
    const length = this.store.readLatest(FAULT_LOG_TYPE_FIRST + slot, changetype<usize>(this.record), FAULT_LOG_RECORD_BYTES);
    return length == FAULT_LOG_RECORD_BYTES ? length : (length < 0 ? length : StoreError.BAD_LENGTH);
  }

  /**
   * Loads persisted freeze frame `number` into the record buffer for the getters below; false when
   * it is no longer (or not yet) in flash. Reads flash: for diagnostics and tests, not the tick.
   */
  load(number: u32): bool {
    if (number >= this.nextNumber || !this.store.mounted) return false;
    if (this.readSlot(<i32>(number % <u32>FAULT_LOG_SLOTS)) < 0) return false;
    return load<u32>(changetype<usize>(this.record) + <usize>FaultLogOffset.NUMBER) == number;
  }

  /** Fields of the frame last load()ed. */
  loadedCode(): i32 { return <i32>load<u16>(changetype<usize>(this.record) + <usize>FaultLogOffset.CODE); }
  loadedValue(): f32 { return load<f32>(changetype<usize>(this.record) + <usize>FaultLogOffset.VALUE); }
  loadedTime_ms(): i64 { return load<i64>(changetype<usize>(this.record) + <usize>FaultLogOffset.TIME_ms); }
  loadedUnixTime_s(): u32 { return load<u32>(changetype<usize>(this.record) + <usize>FaultLogOffset.UNIX_TIME_s); }
  loadedPackVoltage_mV(): f32 { return load<f32>(changetype<usize>(this.record) + <usize>FaultLogOffset.PACK_VOLTAGE_mV); }

  /** A mount status that leaves the store unusable for writing. */
  static failed(status: i32): bool {
    return status < 0 || status == MountStatus.CORRUPT;
  }
}
