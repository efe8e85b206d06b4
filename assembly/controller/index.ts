// Controller firmware: enumerates the nodes through the daisy chain, receives their measurements,
// measures pack voltage and current itself, and keeps the pack-level view.
import "../hal/fault";
import {
  bus_send, bus_filter, gpio_write, fault_report, board_config,
  AdcChannel, GpioPin, ConfigKey, FaultCode,
} from "../hal/abi";
import { AnalogFrontEnd } from "../hal/sensors";
import { heapTop as runtimeHeapTop } from "../runtime/heap";
import { e2eCheck, e2eAccepted, e2eCounterOf, E2eStatus } from "../protocol/e2e";
import {
  makeId, idType, idSource, idDestination, MessageType, Priority, MeasurementFlag,
  ADDRESS_CONTROLLER, ADDRESS_UNASSIGNED, ADDRESS_BROADCAST, ADDRESS_FIRST_NODE,
  ADDRESS_REQUEST_LENGTH, ADDRESS_ASSIGN_LENGTH, MODULE_MEASUREMENT_LENGTH,
  encodeAddressAssign, serialLowOf, serialHighOf, DESTINATION_MASK, destinationFilter,
  measurementFlagsOf, measurementVoltage_mV, measurementCurrent_mA, measurementTemperature_C,
} from "../protocol/messages";

const FIRMWARE_VERSION: i32 = 1;
/** Module table size: the largest pack the controller supervises directly (issue: 1 to 256 modules). */
const MAX_MODULES: i32 = 256;
/**
 * A module whose last accepted measurement is older than this is stale: five 100 ms report
 * periods, i.e. four consecutive frames lost, beyond the E2E max-delta of three.
 */
const MODULE_TIMEOUT_ms: i64 = 500;

const rxBuffer: usize = memory.data(8, 8);
const txBuffer: usize = memory.data(8, 8);

class ModuleTable {
  serialLow: StaticArray<u32> = new StaticArray<u32>(MAX_MODULES);
  serialHigh: StaticArray<u32> = new StaticArray<u32>(MAX_MODULES);
  voltage_mV: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  current_mA: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  temperature_C: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  flags: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  lastSeen_ms: StaticArray<i64> = new StaticArray<i64>(MAX_MODULES);
  lastCounter: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  timedOut: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  count: i32 = 0;
}

class ControllerState {
  frontEnd: AnalogFrontEnd = new AnalogFrontEnd();
  modules: ModuleTable = new ModuleTable();
  expectedModules: i32 = 0;
  packVoltage_mV: f32 = NaN;
  packCurrent_mA: f32 = NaN;
  sumModuleVoltage_mV: f32 = NaN;
  minModuleVoltage_mV: f32 = NaN;
  maxModuleVoltage_mV: f32 = NaN;
  minModuleIndex: i32 = -1;
  maxModuleIndex: i32 = -1;
  minTemperature_C: f32 = NaN;
  maxTemperature_C: f32 = NaN;
  freshModules: i32 = 0;
  framesAccepted: i32 = 0;
  rejectedLength: i32 = 0;
  rejectedCrc: i32 = 0;
  rejectedCounter: i32 = 0;
  rejectedSource: i32 = 0;
  framesSent: i32 = 0;
  sendFailures: i32 = 0;
  now_ms: i64 = 0;
}

let state: ControllerState | null = null;
let sealedHeapTop: usize = 0;

export function init(): void {
  const s = new ControllerState();
  for (let i = 0; i < MAX_MODULES; i++) unchecked(s.modules.lastCounter[i] = -1);
  s.frontEnd.configure(false);
  const expected = board_config(ConfigKey.MODULES_IN_SERIES);
  s.expectedModules = expected >= 1 && expected <= <f64>MAX_MODULES ? <i32>expected : 0;
  gpio_write(GpioPin.CONTACTOR_POSITIVE, 0);
  gpio_write(GpioPin.CONTACTOR_NEGATIVE, 0);
  gpio_write(GpioPin.CONTACTOR_PRECHARGE, 0);
  // Hardware filter: only frames addressed to the controller reach busReceive.
  bus_filter(0, destinationFilter(ADDRESS_CONTROLLER), DESTINATION_MASK);
  // Start the daisy chain: the first node may now ask for an address.
  gpio_write(GpioPin.CHAIN_SELECT_OUT, 1);
  state = s;
  sealedHeapTop = runtimeHeapTop();
}

function send(s: ControllerState, id: u32, length: i32): void {
  const result = bus_send(<i32>id, <i32>txBuffer, length);
  if (result == 0) {
    s.framesSent++;
  } else {
    s.sendFailures++;
    fault_report(FaultCode.BUS_SEND_FAILED, result);
  }
}

function aggregate(s: ControllerState): void {
  const t = s.modules;
  let sum: f32 = 0;
  let minV: f32 = Infinity;
  let maxV: f32 = -Infinity;
  let minT: f32 = Infinity;
  let maxT: f32 = -Infinity;
  let minIndex = -1;
  let maxIndex = -1;
  let fresh = 0;
  for (let i = 0; i < t.count; i++) {
    const age = s.now_ms - unchecked(t.lastSeen_ms[i]);
    const stale = unchecked(t.lastCounter[i]) < 0 || age > MODULE_TIMEOUT_ms;
    if (stale && !unchecked(t.timedOut[i]) && unchecked(t.lastCounter[i]) >= 0) {
      unchecked(t.timedOut[i] = true);
      fault_report(FaultCode.MODULE_TIMEOUT, i + ADDRESS_FIRST_NODE);
    }
    if (stale) continue;
    const flags = unchecked(t.flags[i]);
    if ((flags & MeasurementFlag.VOLTAGE_INVALID) == 0) {
      const v = unchecked(t.voltage_mV[i]);
      sum += v;
      if (v < minV) { minV = v; minIndex = i; }
      if (v > maxV) { maxV = v; maxIndex = i; }
    }
    if ((flags & MeasurementFlag.TEMPERATURE_INVALID) == 0) {
      const temperature = unchecked(t.temperature_C[i]);
      if (temperature < minT) minT = temperature;
      if (temperature > maxT) maxT = temperature;
    }
    fresh++;
  }
  s.freshModules = fresh;
  s.sumModuleVoltage_mV = fresh > 0 ? sum : NaN;
  s.minModuleVoltage_mV = minIndex >= 0 ? minV : NaN;
  s.maxModuleVoltage_mV = maxIndex >= 0 ? maxV : NaN;
  s.minModuleIndex = minIndex;
  s.maxModuleIndex = maxIndex;
  s.minTemperature_C = minT <= maxT ? minT : NaN;
  s.maxTemperature_C = minT <= maxT ? maxT : NaN;
}

export function tick(now_ms: i64): void {
  const s = state;
  if (s === null) return;
  s.now_ms = now_ms;
  s.packVoltage_mV = s.frontEnd.voltage_mV(AdcChannel.PACK_VOLTAGE);
  s.packCurrent_mA = s.frontEnd.current_mA(AdcChannel.PACK_CURRENT);
  aggregate(s);
}

function onAddressRequest(s: ControllerState, length: i32): void {
  if (length != ADDRESS_REQUEST_LENGTH) {
    s.rejectedLength++;
    fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.ADDRESS_REQUEST);
    return;
  }
  const serialLow = serialLowOf(rxBuffer);
  const serialHigh = serialHighOf(rxBuffer);
  const t = s.modules;
  let index = -1;
  for (let i = 0; i < t.count; i++) {
    if (unchecked(t.serialLow[i]) == serialLow && unchecked(t.serialHigh[i]) == serialHigh) { index = i; break; }
  }
  if (index < 0) {
    if (t.count >= MAX_MODULES) {
      fault_report(FaultCode.MODULE_TABLE_FULL, t.count);
      return;
    }
    index = t.count++;
    unchecked(t.serialLow[index] = serialLow);
    unchecked(t.serialHigh[index] = serialHigh);
    unchecked(t.lastCounter[index] = -1);
  }
  s.framesAccepted++;
  encodeAddressAssign(txBuffer, serialLow, serialHigh, index + ADDRESS_FIRST_NODE);
  send(s, makeId(Priority.NETWORK_MANAGEMENT, MessageType.ADDRESS_ASSIGN, ADDRESS_BROADCAST, ADDRESS_CONTROLLER), ADDRESS_ASSIGN_LENGTH);
}

function onModuleMeasurement(s: ControllerState, id: u32, length: i32, now_ms: i64): void {
  const index = idSource(id) - ADDRESS_FIRST_NODE;
  const t = s.modules;
  if (index < 0 || index >= t.count) {
    s.rejectedSource++;
    return;
  }
  const status = e2eCheck(id, rxBuffer, length, MODULE_MEASUREMENT_LENGTH, unchecked(t.lastCounter[index]));
  if (!e2eAccepted(status)) {
    if (status == E2eStatus.BAD_LENGTH) s.rejectedLength++;
    else if (status == E2eStatus.BAD_CRC) s.rejectedCrc++;
    else {
      s.rejectedCounter++;
      // Resynchronise on the sender's counter so one lost burst does not silence it for good.
      if (status == E2eStatus.WRONG_SEQUENCE) unchecked(t.lastCounter[index] = e2eCounterOf(rxBuffer));
    }
    fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.MODULE_MEASUREMENT);
    return;
  }
  unchecked(t.lastCounter[index] = e2eCounterOf(rxBuffer));
  unchecked(t.flags[index] = measurementFlagsOf(rxBuffer));
  unchecked(t.voltage_mV[index] = measurementVoltage_mV(rxBuffer));
  unchecked(t.current_mA[index] = measurementCurrent_mA(rxBuffer));
  unchecked(t.temperature_C[index] = measurementTemperature_C(rxBuffer));
  unchecked(t.lastSeen_ms[index] = now_ms);
  unchecked(t.timedOut[index] = false);
  s.framesAccepted++;
}

export function busRxBuffer(): usize {
  return rxBuffer;
}

export function busReceive(id: i32, length: i32, now_ms: i64): void {
  const s = state;
  if (s === null) return;
  const frameId = <u32>id;
  const destination = idDestination(frameId);
  if (destination != ADDRESS_CONTROLLER && destination != ADDRESS_BROADCAST) return;
  const type = idType(frameId);
  if (type == MessageType.ADDRESS_REQUEST && idSource(frameId) == ADDRESS_UNASSIGNED) onAddressRequest(s, length);
  else if (type == MessageType.MODULE_MEASUREMENT) onModuleMeasurement(s, frameId, length, now_ms);
}

// --- read-only state for tests and telemetry ---
function validIndex(index: i32): bool { return state !== null && index >= 0 && index < state!.modules.count; }

export function moduleCount(): i32 { return state === null ? 0 : state!.modules.count; }
export function expectedModuleCount(): i32 { return state === null ? 0 : state!.expectedModules; }
export function freshModuleCount(): i32 { return state === null ? 0 : state!.freshModules; }
export function packVoltage_mV(): f32 { return state === null ? NaN : state!.packVoltage_mV; }
export function packCurrent_mA(): f32 { return state === null ? NaN : state!.packCurrent_mA; }
export function sumModuleVoltage_mV(): f32 { return state === null ? NaN : state!.sumModuleVoltage_mV; }
export function minModuleVoltage_mV(): f32 { return state === null ? NaN : state!.minModuleVoltage_mV; }
export function maxModuleVoltage_mV(): f32 { return state === null ? NaN : state!.maxModuleVoltage_mV; }
export function minModuleIndex(): i32 { return state === null ? -1 : state!.minModuleIndex; }
export function maxModuleIndex(): i32 { return state === null ? -1 : state!.maxModuleIndex; }
export function minTemperature_C(): f32 { return state === null ? NaN : state!.minTemperature_C; }
export function maxTemperature_C(): f32 { return state === null ? NaN : state!.maxTemperature_C; }
export function moduleVoltage_mV(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.voltage_mV[index]) : NaN; }
export function moduleCurrent_mA(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.current_mA[index]) : NaN; }
export function moduleTemperature_C(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.temperature_C[index]) : NaN; }
export function moduleFlags(index: i32): i32 { return validIndex(index) ? unchecked(state!.modules.flags[index]) : 0; }
export function moduleSerialLow(index: i32): u32 { return validIndex(index) ? unchecked(state!.modules.serialLow[index]) : 0; }
export function moduleSerialHigh(index: i32): u32 { return validIndex(index) ? unchecked(state!.modules.serialHigh[index]) : 0; }
export function moduleLastSeen_ms(index: i32): i64 { return validIndex(index) ? unchecked(state!.modules.lastSeen_ms[index]) : -1; }
export function framesAccepted(): i32 { return state === null ? 0 : state!.framesAccepted; }
export function framesRejectedLength(): i32 { return state === null ? 0 : state!.rejectedLength; }
export function framesRejectedCrc(): i32 { return state === null ? 0 : state!.rejectedCrc; }
export function framesRejectedCounter(): i32 { return state === null ? 0 : state!.rejectedCounter; }
export function framesRejectedSource(): i32 { return state === null ? 0 : state!.rejectedSource; }
export function framesSent(): i32 { return state === null ? 0 : state!.framesSent; }
export function firmwareVersion(): i32 { return FIRMWARE_VERSION; }
export function heapTop(): usize { return runtimeHeapTop(); }
export function heapTopAtInit(): usize { return sealedHeapTop; }
