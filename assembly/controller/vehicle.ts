// The controller's side of the vehicle bus: the frames it sends and the VCU frames it takes, with
// the layouts of boards/vehicle/strata-vehicle.dbc (CAN 2.0A, Intel byte order) and the rules of
// docs/vehicle-interface.md. The safety-relevant frames carry the E2E CRC and alive counter of
// docs/protocol.md over the 11-bit identifier zero-extended to 32 bits, so e2eProtect and e2eCheck
// apply unchanged. Pure module: the controller passes the values and sends the bytes.
import { e2eCheck, e2eAccepted, e2eCounterOf, E2eStatus } from "../protocol/e2e";
import { clampRound } from "../protocol/messages";

export namespace VehicleId {
  export const BMS_FAULTS: u32 = 0x100;
  export const VCU_COMMAND: u32 = 0x110;
  export const VCU_TIME: u32 = 0x111;
  export const BMS_PACK_STATUS: u32 = 0x120;
  export const BMS_CONTACTOR_STATUS: u32 = 0x121;
  export const BMS_DISCHARGE_LIMITS: u32 = 0x130;
  export const BMS_CHARGE_LIMITS: u32 = 0x131;
  export const BMS_VOLTAGE_LIMITS: u32 = 0x132;
  export const BMS_CELL_VOLTAGES: u32 = 0x140;
  export const BMS_TEMPERATURES: u32 = 0x141;
  export const BMS_ENERGY_RANGE: u32 = 0x150;
}

/** Every message of the DBC has DLC 8. */
export const VEHICLE_FRAME_LENGTH: i32 = 8;
/** BMS_EnergyRange's GenMsgCycleTime; every other BMS frame goes out each 100 ms tick. */
export const ENERGY_RANGE_PERIOD_ms: i64 = 1000;
/**
 * A VCU_Command older than this counts as an OPEN request: five 100 ms periods, i.e. four frames
 * lost in a row, one more than the E2E max delta (docs/vehicle-interface.md).
 */
export const COMMAND_TIMEOUT_ms: i64 = 500;

/** BmsState of BMS_PackStatus: defined with the bus protocol (CONTROLLER_STATUS carries it to the nodes). */
export { BmsState } from "../protocol/messages";

export namespace ContactorRequest {
  export const OPEN: i32 = 0;
  export const CLOSE: i32 = 1;
}

export namespace ChargeMode {
  export const DRIVE: i32 = 0;
  export const AC_CHARGE: i32 = 1;
  export const DC_CHARGE: i32 = 2;
  export const PARKED: i32 = 3;
}

/** VehicleSpeed: i16, 0.01 km/h per bit. */
const SPEED_km_per_h_PER_BIT: f32 = 0.01;

/** What the vehicle asked for in its last accepted VCU_Command, and the time it gave. */
export class VehicleCommand {
  /** Alive counter of the last accepted command, -1 before the first. */
  counter: i32 = -1;
  /** When the last command was accepted, -1 before the first. */
  accepted_ms: i64 = -1;
  contactorRequest: i32 = ContactorRequest.OPEN;
  chargeMode: i32 = ChargeMode.DRIVE;
  speed_km_per_h: f32 = 0;
  /** FaultResetRequest of the last accepted command. */
  faultReset: bool = false;
  /** A rising edge of FaultResetRequest not yet acted on (the controller's tick clears it). */
  resetPending: bool = false;
  /** ChargeMode turned PARKED and the controller has not acted on it yet. */
  parkedPending: bool = false;
  rejectedLength: i32 = 0;
  rejectedCrc: i32 = 0;
  rejectedCounter: i32 = 0;
  /** Wall-clock time from VCU_Time, s since 1970, and when it arrived; 0 while unknown. */
  unixTime_s: u32 = 0;
  unixTimeAt_ms: i64 = 0;

  /** The vehicle wants the pack connected: CLOSE in a command no older than COMMAND_TIMEOUT_ms. */
  closeRequested(now_ms: i64): bool {
    return this.accepted_ms >= 0 && now_ms - this.accepted_ms <= COMMAND_TIMEOUT_ms
      && this.contactorRequest == ContactorRequest.CLOSE;
  }

  /** Vehicle speed for the range estimate; 0 once the command is stale. */
  speed(now_ms: i64): f32 {
    return this.accepted_ms >= 0 && now_ms - this.accepted_ms <= COMMAND_TIMEOUT_ms ? this.speed_km_per_h : <f32>0.0;
  }

  /** Wall-clock seconds now, 0 while the vehicle has not told the time. */
  unixNow_s(now_ms: i64): u32 {
    if (this.unixTime_s == 0) return 0;
    return this.unixTime_s + <u32>((now_ms - this.unixTimeAt_ms) / 1000);
  }

  /**
   * A VCU_Command frame (data at data): E2E check, then the fields. Returns the E2eStatus; a
   * rejected frame changes nothing but the counters (a WRONG_SEQUENCE resynchronises on the
   * sender's counter, as on the module bus).
   */
  receiveCommand(data: usize, length: i32, now_ms: i64): i32 {
    const status = e2eCheck(VehicleId.VCU_COMMAND, data, length, VEHICLE_FRAME_LENGTH, this.counter);
    if (!e2eAccepted(status)) {
      if (status == E2eStatus.BAD_LENGTH) this.rejectedLength++;
      else if (status == E2eStatus.BAD_CRC) this.rejectedCrc++;
      else {
        this.rejectedCounter++;
        if (status == E2eStatus.WRONG_SEQUENCE) this.counter = e2eCounterOf(data);
      }
      return status;
    }
    this.counter = e2eCounterOf(data);
    this.accepted_ms = now_ms;
    const b1 = <i32>load<u8>(data, 1);
    // ContactorRequest 2 and 3 are reserved: treated as OPEN.
    this.contactorRequest = ((b1 >> 4) & 3) == ContactorRequest.CLOSE ? ContactorRequest.CLOSE : ContactorRequest.OPEN;
    const reset = (b1 & 0x40) != 0;
    if (reset && !this.faultReset) this.resetPending = true;
    this.faultReset = reset;
    const mode = <i32>load<u8>(data, 2) & 3;
    if (mode == ChargeMode.PARKED && this.chargeMode != ChargeMode.PARKED) this.parkedPending = true;
    this.chargeMode = mode;
    this.speed_km_per_h = <f32>load<i16>(data, 3) * SPEED_km_per_h_PER_BIT;
    return status;
  }

  /** A VCU_Time frame: u32 seconds since 1970 in bytes 0..3 (0 = the vehicle does not know). */
  receiveTime(data: usize, length: i32, now_ms: i64): bool {
    if (length != VEHICLE_FRAME_LENGTH) {
      this.rejectedLength++;
      return false;
    }
    const time = load<u32>(data);
    if (time != 0) {
      this.unixTime_s = time;
      this.unixTimeAt_ms = now_ms;
    }
    return true;
  }
}

// --- BMS frames: each encoder fills bytes 1..7 (byte 1's low nibble is the E2E counter's, set by
// e2eProtect afterwards) or bytes 0..7 for the unprotected ones. NaN is encoded as the DBC's
// invalid value where it has one, otherwise as 0 (for the limits: nothing allowed).

function raw(value: f32, scale: f32, lo: i32, hi: i32): i32 {
  return isFinite(value) ? clampRound(value * scale, lo, hi) : 0;
}

/** Temperature byte: 0.5 degC per bit, offset -40 degC, 255 invalid. */
function temperatureRaw(temperature_C: f32): i32 {
  return isFinite(temperature_C) ? clampRound((temperature_C + 40.0) * 2.0, 0, 254) : 255;
}

/** BMS_Faults: levels packed 2 bits per FaultType from bit 16, newest diagnostic code, freeze frames. */
export function encodeFaults(data: usize, highestLevel: i32, packedLevels: u32, latestCode: i32, freezeFrames: u32): void {
  store<u8>(data, <u8>((highestLevel & 3) << 4), 1);
  store<u8>(data, <u8>(packedLevels & 0xff), 2);
  store<u8>(data, <u8>((packedLevels >> 8) & 0xff), 3);
  store<u8>(data, <u8>((packedLevels >> 16) & 0x3f), 4);
  const code = <u32>latestCode & 0xfff;
  const count = freezeFrames & 0xfff;
  store<u8>(data, <u8>(code & 0xff), 5);
  store<u8>(data, <u8>((code >> 8) | ((count & 0xf) << 4)), 6);
  store<u8>(data, <u8>(count >> 4), 7);
}

/** BMS_PackStatus: state, pack voltage (0.1 V), current (0.1 A, discharge positive), SOC and SOH (0.5 %). */
export function encodePackStatus(data: usize, bmsState: i32, packVoltage_V: f32, packCurrent_A: f32, soc: f32, soh: f32): void {
  store<u8>(data, <u8>((bmsState & 0xf) << 4), 1);
  store<u16>(data, <u16>raw(packVoltage_V, 10.0, 0, 0xffff), 2);
  store<i16>(data, <i16>raw(packCurrent_A, 10.0, -32768, 32767), 4);
  store<u8>(data, <u8>raw(soc, 200.0, 0, 200), 6);
  store<u8>(data, <u8>raw(soh, 200.0, 0, 200), 7);
}

/**
 * BMS_ContactorStatus: sequencer state; coils (bit 0 positive, 1 negative, 2 precharge) and aux
 * feedback (bit 0 positive, 1 negative) as bits 16..20; weld flags (WeldedContactor bits) as
 * bits 21..23; failure; link voltage (0.1 V).
 */
export function encodeContactorStatus(data: usize, state: i32, coils: i32, aux: i32, welded: i32, failure: i32, linkVoltage_V: f32): void {
  store<u8>(data, <u8>((state & 0xf) << 4), 1);
  store<u8>(data, <u8>((coils & 7) | ((aux & 3) << 3) | ((welded & 7) << 5)), 2);
  store<u8>(data, <u8>(failure & 0xf), 3);
  store<u16>(data, <u16>raw(linkVoltage_V, 10.0, 0, 0xffff), 4);
  store<u16>(data, 0, 6);
}

/** BMS_DischargeLimits / BMS_ChargeLimits: limits for 2, 10 and 30 s, 0.1 A, positive magnitudes. */
export function encodeCurrentLimits(data: usize, limit2s_A: f32, limit10s_A: f32, limit30s_A: f32): void {
  store<u8>(data, 0, 1);
  store<u16>(data, <u16>raw(limit2s_A, 10.0, 0, 0xffff), 2);
  store<u16>(data, <u16>raw(limit10s_A, 10.0, 0, 0xffff), 4);
  store<u16>(data, <u16>raw(limit30s_A, 10.0, 0, 0xffff), 6);
}

/** BMS_VoltageLimits: pack voltage window, 0.1 V. */
export function encodeVoltageLimits(data: usize, max_V: f32, min_V: f32): void {
  store<u8>(data, 0, 1);
  store<u16>(data, <u16>raw(max_V, 10.0, 0, 0xffff), 2);
  store<u16>(data, <u16>raw(min_V, 10.0, 0, 0xffff), 4);
  store<u16>(data, 0, 6);
}

/** BMS_CellVoltages: highest and lowest module voltage (0.1 mV) with their addresses (0 = none). */
export function encodeCellVoltages(data: usize, max_mV: f32, maxAddress: i32, min_mV: f32, minAddress: i32): void {
  store<u16>(data, <u16>raw(max_mV, 10.0, 0, 0xffff), 0);
  store<u16>(data, <u16>(isFinite(max_mV) ? maxAddress : 0), 2);
  store<u16>(data, <u16>raw(min_mV, 10.0, 0, 0xffff), 4);
  store<u16>(data, <u16>(isFinite(min_mV) ? minAddress : 0), 6);
}

/** BMS_Temperatures: highest and lowest module temperature (0.5 degC, -40 offset, 255 invalid) and their addresses. */
export function encodeTemperatures(data: usize, max_C: f32, maxAddress: i32, min_C: f32, minAddress: i32): void {
  store<u8>(data, <u8>temperatureRaw(max_C), 0);
  store<u8>(data, <u8>temperatureRaw(min_C), 1);
  store<u16>(data, <u16>(isFinite(max_C) ? maxAddress : 0), 2);
  store<u16>(data, <u16>(isFinite(min_C) ? minAddress : 0), 4);
  store<u16>(data, 0, 6);
}

/** BMS_EnergyRange: remaining energy (0.01 kWh), range (0.1 km), consumption (0.1 Wh/km, signed), usable capacity (0.01 Ah). */
export function encodeEnergyRange(data: usize, remaining_Wh: f32, range_km: f32, consumption_Wh_per_km: f32, usableCapacity_Ah: f32): void {
  store<u16>(data, <u16>raw(remaining_Wh, 0.1, 0, 0xffff), 0);
  store<u16>(data, <u16>raw(range_km, 10.0, 0, 0xffff), 2);
  store<i16>(data, <i16>raw(consumption_Wh_per_km, 10.0, -32768, 32767), 4);
  store<u16>(data, <u16>raw(usableCapacity_Ah, 100.0, 0, 0xffff), 6);
}
