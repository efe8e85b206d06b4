// The module bus: 29-bit identifiers (CAN 2.0B) and the layouts of the messages both firmware
// images exchange. docs/protocol.md is the human-readable twin of this file.
//
// Identifier: bits 26-28 priority (lower wins arbitration), bits 18-25 message type,
// bits 9-17 destination address, bits 0-8 source address.
import { e2eProtect } from "./e2e";

export const ADDRESS_CONTROLLER: i32 = 0;
export const ADDRESS_FIRST_NODE: i32 = 1;
/** 9-bit address space: 1..509 for nodes (room for 256 modules plus group drivers). */
export const ADDRESS_LAST_NODE: i32 = 509;
export const ADDRESS_UNASSIGNED: i32 = 0x1fe;
export const ADDRESS_BROADCAST: i32 = 0x1ff;

export const PROTOCOL_VERSION: i32 = 1;

export namespace MessageType {
  /** Node to controller, unaddressed: "my select input is high, give me an address". */
  export const ADDRESS_REQUEST: i32 = 0x01;
  /** Controller broadcast: "the node with this serial takes this address". */
  export const ADDRESS_ASSIGN: i32 = 0x02;
  /** Node to controller once after addressing and on request: versions, cell type, capacity. */
  export const NODE_ANNOUNCE: i32 = 0x03;
  /** Controller broadcast: every node drops its address; the chain enumerates again. */
  export const ADDRESS_RESET: i32 = 0x04;
  /** Any controller or service tool to one node: clear pack membership, keep the history. */
  export const REPURPOSE_RESET: i32 = 0x05;
  /** Any controller or service tool to one node: send the passport image from an offset. */
  export const PASSPORT_READ: i32 = 0x06;
  /** Node to the requester: 5 bytes of the passport image per frame. */
  export const PASSPORT_DATA: i32 = 0x13;
  /** Controller broadcast every second: which pack this is. */
  export const PACK_INFO: i32 = 0x21;
  /** Controller to one node: bleed charge and duty (passive) and converter power (active). */
  export const BALANCE_COMMAND: i32 = 0x22;
  /** Node to controller every second while a balancing plan exists: what it did. */
  export const BALANCE_REPORT: i32 = 0x14;
  /** Node to controller every tick: voltage, current, temperature, E2E protected. */
  export const MODULE_MEASUREMENT: i32 = 0x10;
  /** Node to controller every second (staggered by address): SOC and capacity with their bounds. */
  export const MODULE_STATE: i32 = 0x11;
  /** Node to controller every 10 s (staggered): resistance, SOH, throughput. */
  export const MODULE_HEALTH: i32 = 0x12;
  /** Controller broadcast every tick: heartbeat, pack state, wall-clock time, requests. */
  export const CONTROLLER_STATUS: i32 = 0x20;
}

export namespace Priority {
  export const CONTROL: i32 = 2;
  export const NETWORK_MANAGEMENT: i32 = 3;
  export const MEASUREMENT: i32 = 4;
  export const STATE: i32 = 5;
}

export const ADDRESS_REQUEST_LENGTH: i32 = 8;
export const ADDRESS_ASSIGN_LENGTH: i32 = 8;
export const MODULE_MEASUREMENT_LENGTH: i32 = 8;
export const NODE_ANNOUNCE_LENGTH: i32 = 8;
export const MODULE_STATE_LENGTH: i32 = 8;
export const MODULE_HEALTH_LENGTH: i32 = 8;
export const CONTROLLER_STATUS_LENGTH: i32 = 8;
export const ADDRESS_RESET_LENGTH: i32 = 8;
export const REPURPOSE_RESET_LENGTH: i32 = 8;
export const PASSPORT_READ_LENGTH: i32 = 4;
export const PASSPORT_DATA_LENGTH: i32 = 8;
export const PACK_INFO_LENGTH: i32 = 8;
export const BALANCE_COMMAND_LENGTH: i32 = 8;
export const BALANCE_REPORT_LENGTH: i32 = 8;
/** Confirmation pattern in REPURPOSE_RESET bytes 6..7: a repurposing reset is never an accident. */
export const REPURPOSE_CONFIRMATION: u16 = 0x5aa5;

/** Flags in the high nibble of byte 1 of MODULE_STATE. */
export namespace StateFlag {
  /** The node has no valid cell parameters: SOC and capacity fields are meaningless. */
  export const NO_MODEL: i32 = 0x10;
  /** The SOC comes from a cold start or the filter has not converged (sigma above 5 %). */
  export const UNCERTAIN: i32 = 0x20;
}

/** Pack state: BmsState of the vehicle's BMS_PackStatus and bits 4-7 of CONTROLLER_STATUS. */
export namespace BmsState {
  /** Configuration read, modules not all enumerated and reporting yet. */
  export const INIT: i32 = 0;
  /** Contactors open, ready to close. */
  export const STANDBY: i32 = 1;
  /** Closing: negative, precharge, positive. */
  export const PRECHARGE: i32 = 2;
  export const CONNECTED: i32 = 3;
  export const OPENING: i32 = 4;
  /** Protection OPEN latched, sequencer FAULT, or no valid pack configuration. */
  export const FAULT: i32 = 5;
}

/**
 * True when the pack state says the string circuit is open: both mains and the precharge relay
 * are released (INIT and STANDBY are entered only with the sequencer OPEN, all coils off), so no
 * current flows through a module's shunt but for leakage (microamps). Nodes use it to measure their
 * current channel's offset (docs/estimation.md, "Zero-current calibration").
 */
export function packStateStringOpen(packState: i32): bool {
  return packState == BmsState.INIT || packState == BmsState.STANDBY;
}

/** Flags in byte 3 of CONTROLLER_STATUS. */
export namespace StatusFlag {
  /** The controller allows balancing now. */
  export const BALANCING_ALLOWED: i32 = 0x01;
}

/** Requests in byte 2 of CONTROLLER_STATUS. */
export namespace ControllerRequest {
  /** Persist estimator state and lifecycle record now (before a planned power-down). */
  export const PERSIST: i32 = 0x01;
  /** Nodes send NODE_ANNOUNCE again. */
  export const ANNOUNCE: i32 = 0x02;
}

/** Measurement flags in the high nibble of byte 1 of MODULE_MEASUREMENT. */
export namespace MeasurementFlag {
  export const VOLTAGE_INVALID: i32 = 0x10;
  export const CURRENT_INVALID: i32 = 0x20;
  export const TEMPERATURE_INVALID: i32 = 0x40;
  export const BALANCING: i32 = 0x80;
}

/** Voltage resolution on the bus: 0.1 mV per bit, u16 (0 to 6.5535 V). */
export const VOLTAGE_SCALE_PER_mV: f32 = 10.0;
/** Temperature on the bus: 0.5 degC per bit, offset -40 degC, 0xFF invalid (-40 to +87 degC). */
export const TEMPERATURE_RESOLUTION_C: f32 = 0.5;
export const TEMPERATURE_OFFSET_C: f32 = -40.0;
/** Current on the bus: 1 mA per bit, signed 24-bit, positive = discharge. */
export const CURRENT_LIMIT_mA: i32 = 0x7fffff;

export function makeId(priority: i32, type: i32, destination: i32, source: i32): u32 {
  return (<u32>(priority & 0x7) << 26) | (<u32>(type & 0xff) << 18) | (<u32>(destination & 0x1ff) << 9) | <u32>(source & 0x1ff);
}
/** Acceptance-filter mask selecting the destination field, and the filter id for one destination. */
export const DESTINATION_MASK: i32 = 0x1ff << 9;
export function destinationFilter(address: i32): i32 { return (address & 0x1ff) << 9; }

export function idType(id: u32): i32 { return <i32>((id >> 18) & 0xff); }
export function idDestination(id: u32): i32 { return <i32>((id >> 9) & 0x1ff); }
export function idSource(id: u32): i32 { return <i32>(id & 0x1ff); }

/** A 48-bit serial number as two words: low 32 bits and high 16 bits. */
export function storeSerial48(data: usize, serialLow: u32, serialHigh: u32): void {
  store<u32>(data, serialLow);
  store<u16>(data, <u16>(serialHigh & 0xffff), 4);
}
export function serialLowOf(data: usize): u32 { return load<u32>(data); }
export function serialHighOf(data: usize): u32 { return <u32>load<u16>(data, 4); }

export function encodeAddressRequest(data: usize, serialLow: u32, serialHigh: u32, firmwareVersion: i32): void {
  storeSerial48(data, serialLow, serialHigh);
  store<u8>(data, <u8>PROTOCOL_VERSION, 6);
  store<u8>(data, <u8>firmwareVersion, 7);
}

/** Protocol version a node speaks, from its ADDRESS_REQUEST. */
export function requestProtocolVersion(data: usize): i32 { return <i32>load<u8>(data, 6); }

export function encodeAddressAssign(data: usize, serialLow: u32, serialHigh: u32, address: i32): void {
  storeSerial48(data, serialLow, serialHigh);
  store<u16>(data, <u16>address, 6);
}
export function assignedAddressOf(data: usize): i32 { return <i32>load<u16>(data, 6); }

/** Rounds to the nearest integer and clamps it to lo..hi: the raw value of a scaled field (callers handle NaN). */
export function clampRound(value: f32, lo: i32, hi: i32): i32 {
  const r = Mathf.round(value);
  if (r < <f32>lo) return lo;
  if (r > <f32>hi) return hi;
  return <i32>r;
}

/** Fills a MODULE_MEASUREMENT frame and protects it; values out of range are clamped. */
export function encodeModuleMeasurement(
  id: u32, data: usize, counter: i32, flags: i32,
  voltage_mV: f32, current_mA: f32, temperature_C: f32,
): void {
  store<u8>(data, <u8>(flags & 0xf0), 1);
  const voltage = (flags & MeasurementFlag.VOLTAGE_INVALID) != 0 ? 0 : clampRound(voltage_mV * VOLTAGE_SCALE_PER_mV, 0, 0xffff);
  store<u16>(data, <u16>voltage, 2);
  const current = (flags & MeasurementFlag.CURRENT_INVALID) != 0 ? 0 : clampRound(current_mA, -CURRENT_LIMIT_mA, CURRENT_LIMIT_mA);
  store<u16>(data, <u16>(current & 0xffff), 4);
  store<u8>(data, <u8>((current >> 16) & 0xff), 6);
  const temperature = (flags & MeasurementFlag.TEMPERATURE_INVALID) != 0
    ? 0xff
    : clampRound((temperature_C - TEMPERATURE_OFFSET_C) / TEMPERATURE_RESOLUTION_C, 0, 0xfe);
  store<u8>(data, <u8>temperature, 7);
  e2eProtect(id, data, MODULE_MEASUREMENT_LENGTH, counter);
}

export function measurementFlagsOf(data: usize): i32 { return <i32>(load<u8>(data, 1) & 0xf0); }
export function measurementVoltage_mV(data: usize): f32 { return <f32>load<u16>(data, 2) / VOLTAGE_SCALE_PER_mV; }
export function measurementCurrent_mA(data: usize): f32 {
  const raw = <i32>load<u16>(data, 4) | (<i32>load<u8>(data, 6) << 16);
  return <f32>((raw << 8) >> 8);
}
export function measurementTemperature_C(data: usize): f32 {
  const raw = load<u8>(data, 7);
  if (raw == 0xff) return NaN;
  return <f32>raw * TEMPERATURE_RESOLUTION_C + TEMPERATURE_OFFSET_C;
}

/** SOC on the bus: 0.01 % per bit, u16 (0..100 %). */
export const SOC_SCALE: f32 = 10000.0;
/** SOC 1-sigma: 0.05 % per bit, u8 (0..12.75 %). */
export const SOC_SIGMA_SCALE: f32 = 2000.0;
/** Capacity: 0.01 Ah per bit, u16 (0..655.35 Ah). */
export const CAPACITY_SCALE_PER_Ah: f32 = 100.0;
/** Resistance: 1 uOhm per bit, u16 (0..65.535 mOhm for a module of parallel cells). */
export const RESISTANCE_SCALE_PER_Ohm: f32 = 1.0e6;

function storeScaled16(data: usize, offset: usize, value: f32, scale: f32): void {
  store<u16>(data + offset, <u16>clampRound(value * scale, 0, 0xffff));
}
function storeScaled8(data: usize, offset: usize, value: f32, scale: f32): void {
  store<u8>(data + offset, <u8>clampRound(value * scale, 0, 0xff));
}

/**
 * NODE_ANNOUNCE: [0..1] protocol version, firmware version; [2..3] cell parameter id hash (u16,
 * the low 16 bits of the cell blob's CRC-32: which parameter set the node runs);
 * [4..5] nominal module capacity (0.01 Ah); [6] cells in parallel; [7] flags (bit 0: parameter
 * set loaded). Not E2E protected: informational, re-sent on request.
 */
export function encodeNodeAnnounce(data: usize, firmwareVersion: i32, cellHash: u32, capacity_Ah: f32, parallelCells: i32, modelLoaded: bool): void {
  store<u8>(data, <u8>PROTOCOL_VERSION, 0);
  store<u8>(data, <u8>firmwareVersion, 1);
  store<u16>(data, <u16>(cellHash & 0xffff), 2);
  storeScaled16(data, 4, capacity_Ah, CAPACITY_SCALE_PER_Ah);
  store<u8>(data, <u8>clampRound(<f32>parallelCells, 0, 255), 6);
  store<u8>(data, modelLoaded ? 1 : 0, 7);
}
export function announceProtocolVersion(data: usize): i32 { return <i32>load<u8>(data, 0); }
export function announceFirmwareVersion(data: usize): i32 { return <i32>load<u8>(data, 1); }
export function announceCellHash(data: usize): i32 { return <i32>load<u16>(data, 2); }
export function announceCapacity_Ah(data: usize): f32 { return <f32>load<u16>(data, 4) / CAPACITY_SCALE_PER_Ah; }
export function announceParallelCells(data: usize): i32 { return <i32>load<u8>(data, 6); }
export function announceModelLoaded(data: usize): bool { return (load<u8>(data, 7) & 1) != 0; }

/**
 * MODULE_STATE (E2E): [0] CRC; [1] counter | flags; [2..3] SOC (0.01 %); [4] SOC 1-sigma
 * (0.05 %); [5..6] capacity estimate (0.01 Ah); [7] capacity 1-sigma (0.1 % of the estimate).
 */
export function encodeModuleState(id: u32, data: usize, counter: i32, flags: i32, soc: f32, socSigma: f32, capacity_Ah: f32, capacitySigma_Ah: f32): void {
  store<u8>(data, <u8>(flags & 0xf0), 1);
  storeScaled16(data, 2, soc, SOC_SCALE);
  storeScaled8(data, 4, socSigma, SOC_SIGMA_SCALE);
  storeScaled16(data, 5, capacity_Ah, CAPACITY_SCALE_PER_Ah);
  store<u8>(data, <u8>clampRound(capacity_Ah > 0 ? capacitySigma_Ah / capacity_Ah * 1000.0 : 255.0, 0, 255), 7);
  e2eProtect(id, data, MODULE_STATE_LENGTH, counter);
}
export function stateFlagsOf(data: usize): i32 { return <i32>(load<u8>(data, 1) & 0xf0); }
export function stateSoc(data: usize): f32 { return <f32>load<u16>(data, 2) / SOC_SCALE; }
export function stateSocSigma(data: usize): f32 { return <f32>load<u8>(data, 4) / SOC_SIGMA_SCALE; }
export function stateCapacity_Ah(data: usize): f32 { return <f32>load<u16>(data, 5) / CAPACITY_SCALE_PER_Ah; }
export function stateCapacitySigma_Ah(data: usize): f32 { return <f32>load<u8>(data, 7) / 1000.0 * stateCapacity_Ah(data); }

/**
 * MODULE_HEALTH (E2E): [0] CRC; [1] counter; [2..3] ohmic resistance R0 at 25 degC (1 uOhm);
 * [4] resistance 1-sigma (0.5 % of the estimate per bit); [5..6] equivalent full cycles (0.1);
 * [7] capacity SOH (0.5 % per bit, 0..127.5 %).
 */
export function encodeModuleHealth(id: u32, data: usize, counter: i32, r0_Ohm: f32, r0Sigma_Ohm: f32, equivalentFullCycles: f32, capacitySoh: f32): void {
  store<u8>(data, 0, 1);
  storeScaled16(data, 2, r0_Ohm, RESISTANCE_SCALE_PER_Ohm);
  store<u8>(data, <u8>clampRound(r0_Ohm > 0 ? r0Sigma_Ohm / r0_Ohm * 200.0 : 255.0, 0, 255), 4);
  storeScaled16(data, 5, equivalentFullCycles, 10.0);
  storeScaled8(data, 7, capacitySoh, 200.0);
  e2eProtect(id, data, MODULE_HEALTH_LENGTH, counter);
}
export function healthR0_Ohm(data: usize): f32 { return <f32>load<u16>(data, 2) / RESISTANCE_SCALE_PER_Ohm; }
export function healthR0Sigma_Ohm(data: usize): f32 { return <f32>load<u8>(data, 4) / 200.0 * healthR0_Ohm(data); }
export function healthEquivalentFullCycles(data: usize): f32 { return <f32>load<u16>(data, 5) / 10.0; }
export function healthCapacitySoh(data: usize): f32 { return <f32>load<u8>(data, 7) / 200.0; }

/**
 * CONTROLLER_STATUS (E2E, broadcast every tick): [0] CRC; [1] counter | pack state (high nibble);
 * [2] requests (ControllerRequest bits); [3] flags (bit 0 balancing allowed); [4..7] wall-clock
 * time, s since 1970 (0 = unknown).
 */
export function encodeControllerStatus(id: u32, data: usize, counter: i32, packState: i32, requests: i32, flags: i32, unixTime_s: u32): void {
  store<u8>(data, <u8>((packState & 0x0f) << 4), 1);
  store<u8>(data, <u8>requests, 2);
  store<u8>(data, <u8>flags, 3);
  store<u32>(data, unixTime_s, 4);
  e2eProtect(id, data, CONTROLLER_STATUS_LENGTH, counter);
}
export function statusPackState(data: usize): i32 { return <i32>(load<u8>(data, 1) >> 4); }
export function statusRequests(data: usize): i32 { return <i32>load<u8>(data, 2); }
export function statusFlags(data: usize): i32 { return <i32>load<u8>(data, 3); }
export function statusUnixTime_s(data: usize): u32 { return load<u32>(data, 4); }

/** Why the controller re-enumerates (byte 2 of ADDRESS_RESET). */
export namespace AddressResetReason {
  export const STARTUP: i32 = 0;
  export const MODULE_ADDED: i32 = 1;
  export const MODULE_REMOVED: i32 = 2;
  export const DUPLICATE_SERIAL: i32 = 3;
  export const REQUESTED: i32 = 4;
}

/** ADDRESS_RESET (E2E): [0] CRC; [1] counter; [2] reason; [3..7] zero. */
export function encodeAddressReset(id: u32, data: usize, counter: i32, reason: i32): void {
  store<u64>(data, 0);
  store<u8>(data, <u8>reason, 2);
  e2eProtect(id, data, ADDRESS_RESET_LENGTH, counter);
}
export function addressResetReason(data: usize): i32 { return <i32>load<u8>(data, 2); }

/** PACK_INFO: [0..3] pack id (the controller's serial, low 32 bits); [4..5] modules in series; [6] protocol version; [7] 0. */
export function encodePackInfo(data: usize, packId: u32, modules: i32): void {
  store<u32>(data, packId);
  store<u16>(data, <u16>modules, 4);
  store<u8>(data, <u8>PROTOCOL_VERSION, 6);
  store<u8>(data, 0, 7);
}
export function packInfoId(data: usize): u32 { return load<u32>(data); }
export function packInfoModules(data: usize): i32 { return <i32>load<u16>(data, 4); }

/** REPURPOSE_RESET (E2E): [0] CRC; [1] counter; [2..5] the node's serial, low 32 bits; [6..7] REPURPOSE_CONFIRMATION. */
export function encodeRepurposeReset(id: u32, data: usize, counter: i32, serialLow: u32): void {
  store<u8>(data, 0, 1);
  store<u32>(data, serialLow, 2);
  store<u16>(data, REPURPOSE_CONFIRMATION, 6);
  e2eProtect(id, data, REPURPOSE_RESET_LENGTH, counter);
}
export function repurposeSerial(data: usize): u32 { return load<u32>(data, 2); }
export function repurposeConfirmed(data: usize): bool { return load<u16>(data, 6) == REPURPOSE_CONFIRMATION; }

/** PASSPORT_READ: [0] request tag; [1..2] offset into the passport image; [3] frames wanted (1..255). */
export function passportReadTag(data: usize): i32 { return <i32>load<u8>(data, 0); }
export function passportReadOffset(data: usize): i32 { return <i32>load<u16>(data, 1); }
export function passportReadFrames(data: usize): i32 { return <i32>load<u8>(data, 3); }

/** PASSPORT_DATA: [0] request tag; [1..2] offset of the first data byte; [3..7] up to 5 bytes (beyond the image: 0xFF). */
export const PASSPORT_BYTES_PER_FRAME: i32 = 5;

/**
 * BALANCE_COMMAND (E2E): [0] CRC; [1] counter; [2] plan sequence (a new value restarts the node's
 * count); [3] duty (1/255 per bit); [4..5] charge to bleed, 0.1 mAh/bit; [6..7] converter power,
 * i16, 0.01 W/bit, positive = the module delivers to the energy bus.
 */
export function encodeBalanceCommand(id: u32, data: usize, counter: i32, sequence: i32, duty: f32, charge_mAh: f32, converter_W: f32): void {
  store<u8>(data, 0, 1);
  store<u8>(data, <u8>(sequence & 0xff), 2);
  store<u8>(data, <u8>clampRound(duty * 255.0, 0, 255), 3);
  store<u16>(data, <u16>clampRound(charge_mAh * 10.0, 0, 0xffff), 4);
  store<i16>(data, <i16>clampRound(converter_W * 100.0, -32768, 32767), 6);
  e2eProtect(id, data, BALANCE_COMMAND_LENGTH, counter);
}
export function balanceSequence(data: usize): i32 { return <i32>load<u8>(data, 2); }
export function balanceDuty(data: usize): f32 { return <f32>load<u8>(data, 3) / 255.0; }
export function balanceCharge_mAh(data: usize): f32 { return <f32>load<u16>(data, 4) / 10.0; }
export function balanceConverter_W(data: usize): f32 { return <f32>load<i16>(data, 6) / 100.0; }

/**
 * BALANCE_REPORT (E2E): [0] CRC; [1] counter | bleed state (high nibble); [2] plan sequence
 * echoed; [3] applied duty (1/255); [4..5] charge removed under the plan, 0.1 mAh/bit;
 * [6..7] energy moved through the converter since boot, 1 J/bit, modulo 65536 (signed sense:
 * delivered minus absorbed).
 */
export function encodeBalanceReport(id: u32, data: usize, counter: i32, state: i32, sequence: i32, duty: f32, removed_mAh: f32, energy_J: f32): void {
  store<u8>(data, <u8>((state & 0x0f) << 4), 1);
  store<u8>(data, <u8>(sequence & 0xff), 2);
  store<u8>(data, <u8>clampRound(duty * 255.0, 0, 255), 3);
  store<u16>(data, <u16>clampRound(removed_mAh * 10.0, 0, 0xffff), 4);
  store<u16>(data, <u16>(<i32>Mathf.round(energy_J) & 0xffff), 6);
  e2eProtect(id, data, BALANCE_REPORT_LENGTH, counter);
}
export function reportBleedState(data: usize): i32 { return <i32>(load<u8>(data, 1) >> 4); }
export function reportSequence(data: usize): i32 { return <i32>load<u8>(data, 2); }
export function reportDuty(data: usize): f32 { return <f32>load<u8>(data, 3) / 255.0; }
export function reportRemoved_mAh(data: usize): f32 { return <f32>load<u16>(data, 4) / 10.0; }
export function reportEnergy_J(data: usize): i32 { return <i32>load<i16>(data, 6); }
