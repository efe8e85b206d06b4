// Node firmware: one per module (one series element of parallel cells).
// Each tick: measure through the ADC, take part in daisy-chain enumeration until addressed,
// then report the module's measurement to the controller.
import {
  bus_send, bus_filter, gpio_read, gpio_write, fault_report, board_config,
  AdcChannel, GpioPin, ConfigKey, FaultCode,
} from "../hal/abi";
import "../hal/fault";
import { AnalogFrontEnd } from "../hal/sensors";
import { heapTop as runtimeHeapTop } from "../runtime/heap";
import { e2eNextCounter } from "../protocol/e2e";
import {
  makeId, idType, idSource, MessageType, Priority, MeasurementFlag,
  ADDRESS_CONTROLLER, ADDRESS_UNASSIGNED, ADDRESS_BROADCAST, ADDRESS_FIRST_NODE, ADDRESS_LAST_NODE,
  ADDRESS_ASSIGN_LENGTH, ADDRESS_REQUEST_LENGTH, MODULE_MEASUREMENT_LENGTH,
  encodeAddressRequest, encodeModuleMeasurement, serialLowOf, serialHighOf, assignedAddressOf,
  DESTINATION_MASK, destinationFilter,
} from "../protocol/messages";

const FIRMWARE_VERSION: i32 = 1;

/**
 * Plausible range of one module's terminal voltage: 0 to 5.5 V covers every Li-ion chemistry's
 * operating window (LTO 1.5 V to NMC 4.2-4.35 V charge limits) with margin; outside it the
 * reading is a sensor or wiring fault, not a cell state.
 */
const VOLTAGE_PLAUSIBLE_MAX_mV: f32 = 5500;
/** Thermistor plausibility: -40..125 degC, the operating range of common NTC parts (e.g. Murata NCP18 series). */
const TEMPERATURE_PLAUSIBLE_MIN_C: f32 = -40;
const TEMPERATURE_PLAUSIBLE_MAX_C: f32 = 125;
/** Unanswered address requests are repeated after this many ticks. */
const ADDRESS_REQUEST_RETRY_TICKS: i32 = 10;

const FILTER_SLOT_BROADCAST: i32 = 0;
const FILTER_SLOT_OWN_ADDRESS: i32 = 1;

/** Frame buffers live in static data, so receiving and sending never allocate. */
const rxBuffer: usize = memory.data(8, 8);
const txBuffer: usize = memory.data(8, 8);

class NodeState {
  frontEnd: AnalogFrontEnd = new AnalogFrontEnd();
  serialLow: u32 = 0;
  serialHigh: u32 = 0;
  address: i32 = ADDRESS_UNASSIGNED;
  voltage_mV: f32 = NaN;
  current_mA: f32 = NaN;
  temperature_C: f32 = NaN;
  flags: i32 = 0;
  aliveCounter: i32 = 0;
  requestCountdown: i32 = 0;
  framesSent: i32 = 0;
  sendFailures: i32 = 0;
  ticks: i32 = 0;
  lastNow_ms: i64 = 0;
}

let state: NodeState | null = null;
let sealedHeapTop: usize = 0;

export function init(): void {
  const s = new NodeState();
  s.frontEnd.configure(true);
  const low = board_config(ConfigKey.UNIT_SERIAL_LOW);
  const high = board_config(ConfigKey.UNIT_SERIAL_HIGH);
  if (isNaN(low) || isNaN(high)) fault_report(FaultCode.BOARD_CONFIG_MISSING, ConfigKey.UNIT_SERIAL_LOW);
  s.serialLow = isNaN(low) ? 0 : <u32>low;
  s.serialHigh = isNaN(high) ? 0 : <u32>high;
  gpio_write(GpioPin.CHAIN_SELECT_OUT, 0);
  gpio_write(GpioPin.BALANCE_SWITCH, 0);
  // Hardware filters: broadcasts now, frames addressed to this node once it has an address.
  bus_filter(FILTER_SLOT_BROADCAST, destinationFilter(ADDRESS_BROADCAST), DESTINATION_MASK);
  state = s;
  sealedHeapTop = runtimeHeapTop();
}

function measure(s: NodeState): void {
  const fe = s.frontEnd;
  let flags = 0;
  const voltage = fe.voltage_mV(AdcChannel.MODULE_VOLTAGE);
  if (!(voltage >= 0 && voltage <= VOLTAGE_PLAUSIBLE_MAX_mV)) {
    if ((s.flags & MeasurementFlag.VOLTAGE_INVALID) == 0 && !isNaN(voltage)) fault_report(FaultCode.ADC_OUT_OF_RANGE, AdcChannel.MODULE_VOLTAGE);
    flags |= MeasurementFlag.VOLTAGE_INVALID;
  }
  const current = fe.current_mA(AdcChannel.MODULE_CURRENT);
  if (isNaN(current)) flags |= MeasurementFlag.CURRENT_INVALID;
  const temperature = fe.temperature_C(AdcChannel.MODULE_TEMPERATURE);
  if (!(temperature >= TEMPERATURE_PLAUSIBLE_MIN_C && temperature <= TEMPERATURE_PLAUSIBLE_MAX_C)) {
    if ((s.flags & MeasurementFlag.TEMPERATURE_INVALID) == 0) fault_report(FaultCode.ADC_OUT_OF_RANGE, AdcChannel.MODULE_TEMPERATURE);
    flags |= MeasurementFlag.TEMPERATURE_INVALID;
  }
  if (!fe.configured) flags |= MeasurementFlag.VOLTAGE_INVALID | MeasurementFlag.CURRENT_INVALID | MeasurementFlag.TEMPERATURE_INVALID;
  s.voltage_mV = voltage;
  s.current_mA = current;
  s.temperature_C = temperature;
  s.flags = flags;
}

function send(s: NodeState, id: u32, length: i32): void {
  const result = bus_send(<i32>id, <i32>txBuffer, length);
  if (result == 0) {
    s.framesSent++;
  } else {
    s.sendFailures++;
    fault_report(FaultCode.BUS_SEND_FAILED, result);
  }
}

function enumerate(s: NodeState): void {
  if (gpio_read(GpioPin.CHAIN_SELECT_IN) != 1) return;
  if (s.requestCountdown > 0) {
    s.requestCountdown--;
    return;
  }
  encodeAddressRequest(txBuffer, s.serialLow, s.serialHigh, FIRMWARE_VERSION);
  send(s, makeId(Priority.NETWORK_MANAGEMENT, MessageType.ADDRESS_REQUEST, ADDRESS_CONTROLLER, ADDRESS_UNASSIGNED), ADDRESS_REQUEST_LENGTH);
  s.requestCountdown = ADDRESS_REQUEST_RETRY_TICKS;
}

function report(s: NodeState): void {
  const id = makeId(Priority.MEASUREMENT, MessageType.MODULE_MEASUREMENT, ADDRESS_CONTROLLER, s.address);
  encodeModuleMeasurement(id, txBuffer, s.aliveCounter, s.flags, s.voltage_mV, s.current_mA, s.temperature_C);
  s.aliveCounter = e2eNextCounter(s.aliveCounter);
  send(s, id, MODULE_MEASUREMENT_LENGTH);
}

export function tick(now_ms: i64): void {
  const s = state;
  if (s === null) return;
  s.ticks++;
  s.lastNow_ms = now_ms;
  measure(s);
  if (s.address == ADDRESS_UNASSIGNED) enumerate(s);
  else report(s);
}

/** Address of the 8-byte buffer the board copies a received frame's data into before busReceive. */
export function busRxBuffer(): usize {
  return rxBuffer;
}

/** A frame arrived: id is the 29-bit identifier, its length bytes of data are at busRxBuffer(). */
export function busReceive(id: i32, length: i32, now_ms: i64): void {
  const s = state;
  if (s === null) return;
  const frameId = <u32>id;
  if (idType(frameId) == MessageType.ADDRESS_ASSIGN && idSource(frameId) == ADDRESS_CONTROLLER) {
    if (length != ADDRESS_ASSIGN_LENGTH) {
      fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.ADDRESS_ASSIGN);
      return;
    }
    if (s.address != ADDRESS_UNASSIGNED) return;
    if (serialLowOf(rxBuffer) != s.serialLow || serialHighOf(rxBuffer) != (s.serialHigh & 0xffff)) return;
    const address = assignedAddressOf(rxBuffer);
    if (address < ADDRESS_FIRST_NODE || address > ADDRESS_LAST_NODE) {
      fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.ADDRESS_ASSIGN);
      return;
    }
    s.address = address;
    bus_filter(FILTER_SLOT_OWN_ADDRESS, destinationFilter(address), DESTINATION_MASK);
    gpio_write(GpioPin.CHAIN_SELECT_OUT, 1);
  }
}

// --- read-only state for tests and telemetry ---
export function nodeAddress(): i32 { return state === null ? ADDRESS_UNASSIGNED : state!.address; }
export function moduleVoltage_mV(): f32 { return state === null ? NaN : state!.voltage_mV; }
export function moduleCurrent_mA(): f32 { return state === null ? NaN : state!.current_mA; }
export function moduleTemperature_C(): f32 { return state === null ? NaN : state!.temperature_C; }
export function measurementFlags(): i32 { return state === null ? 0 : state!.flags; }
export function framesSent(): i32 { return state === null ? 0 : state!.framesSent; }
export function sendFailures(): i32 { return state === null ? 0 : state!.sendFailures; }
export function firmwareVersion(): i32 { return FIRMWARE_VERSION; }
/** Heap top now and as sealed at the end of init(): they differ only if something allocated after init. */
export function heapTop(): usize { return runtimeHeapTop(); }
export function heapTopAtInit(): usize { return sealedHeapTop; }
