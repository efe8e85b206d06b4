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
  /** Node to controller every tick: voltage, current, temperature, E2E protected. */
  export const MODULE_MEASUREMENT: i32 = 0x10;
}

export namespace Priority {
  export const NETWORK_MANAGEMENT: i32 = 3;
  export const MEASUREMENT: i32 = 4;
}

export const ADDRESS_REQUEST_LENGTH: i32 = 8;
export const ADDRESS_ASSIGN_LENGTH: i32 = 8;
export const MODULE_MEASUREMENT_LENGTH: i32 = 8;

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

export function encodeAddressAssign(data: usize, serialLow: u32, serialHigh: u32, address: i32): void {
  storeSerial48(data, serialLow, serialHigh);
  store<u16>(data, <u16>address, 6);
}
export function assignedAddressOf(data: usize): i32 { return <i32>load<u16>(data, 6); }

function clampRound(value: f32, lo: i32, hi: i32): i32 {
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
