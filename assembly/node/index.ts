// Node firmware: one per module (one series element of parallel cells).
// Each tick: measure through the ADC; until addressed, take part in daisy-chain enumeration;
// then estimate the module's state, report it to the controller and keep it in flash.
import "../hal/fault";
import {
  bus_send, bus_filter, gpio_read, gpio_write, fault_report, board_config, flash_read, converter_set,
  AdcChannel, GpioPin, ConfigKey, FaultCode,
} from "../hal/abi";
import { AnalogFrontEnd, requireConfig } from "../hal/sensors";
import { heapTop as runtimeHeapTop } from "../runtime/heap";
import { e2eNextCounter, e2eCheck, e2eAccepted, e2eCounterOf, E2eStatus } from "../protocol/e2e";
import {
  makeId, idType, idSource, MessageType, Priority, MeasurementFlag, StateFlag, ControllerRequest,
  ADDRESS_CONTROLLER, ADDRESS_UNASSIGNED, ADDRESS_BROADCAST, ADDRESS_FIRST_NODE, ADDRESS_LAST_NODE,
  ADDRESS_ASSIGN_LENGTH, ADDRESS_REQUEST_LENGTH, MODULE_MEASUREMENT_LENGTH, NODE_ANNOUNCE_LENGTH,
  MODULE_STATE_LENGTH, MODULE_HEALTH_LENGTH, CONTROLLER_STATUS_LENGTH, ADDRESS_RESET_LENGTH,
  encodeAddressRequest, encodeModuleMeasurement, encodeNodeAnnounce, encodeModuleState, encodeModuleHealth,
  serialLowOf, serialHighOf, assignedAddressOf, statusRequests, statusUnixTime_s,
  PACK_INFO_LENGTH, REPURPOSE_RESET_LENGTH, PASSPORT_READ_LENGTH, PASSPORT_DATA_LENGTH, PASSPORT_BYTES_PER_FRAME,
  packInfoId, repurposeSerial, repurposeConfirmed, passportReadTag, passportReadOffset, passportReadFrames,
  BALANCE_COMMAND_LENGTH, BALANCE_REPORT_LENGTH, encodeBalanceReport,
  balanceSequence, balanceDuty, balanceCharge_mAh, balanceConverter_W, statusFlags,
  DESTINATION_MASK, destinationFilter, StatusFlag, statusPackState, packStateStringOpen,
} from "../protocol/messages";
import { CellModel } from "../cell/model";
import { parseCellBlob, CellBlobOffset } from "../cell/blob";
import { crc32 } from "../storage/crc32";
import { MountStatus } from "../storage/record-store";
import { NodeEstimation } from "./estimation";
import { EkfState } from "../estimation/soc/ekf";
import { NodePersistence } from "./persistence";
import { LifecycleRecord, LIFECYCLE_LENGTH } from "./lifecycle";
import { BleedExecutor, BleedExecutorConfig, BleedState } from "../balancing/bleed";

const FIRMWARE_VERSION: i32 = 2;

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
/** MODULE_STATE every 10 ticks (1 s), MODULE_HEALTH every 100 ticks (10 s), staggered by address. */
const STATE_PERIOD_TICKS: i32 = 10;
const HEALTH_PERIOD_TICKS: i32 = 100;
/**
 * Estimator state is written every 5 minutes of operation and whenever the controller asks:
 * 15 years of 2 h/day driving then stays within the flash endurance (docs/flash-store.md: about
 * 9,500 cycles per sector at one write every 5 minutes around the clock).
 */
const PERSIST_PERIOD_ms: i64 = 300000;
/** A SOC 1-sigma above this is reported as uncertain (StateFlag.UNCERTAIN). */
const SOC_SIGMA_UNCERTAIN: f32 = 0.05;
/** The cell parameter blob lives in flash sector 0; the record store owns the sectors after it. */
const PROVISIONING_SECTOR: i32 = 0;
/**
 * The identity block (manufacturer, chemistry, manufacturing date) sits in the last 256 bytes of
 * the provisioning sector, after the cell blob: docs/flash-layout.md.
 */
const IDENTITY_BLOCK_BYTES: i32 = 256;
/** The lifecycle record is written every hour of operation, on PERSIST and when it changes meaning (pack joined, repurposed). */
const LIFECYCLE_PERIOD_ms: i64 = 3600000;
/** PASSPORT_DATA frames a node sends per tick while answering a read: half its transmit queue. */
const PASSPORT_FRAMES_PER_TICK: i32 = 8;
/**
 * Balancing needs a live controller: CONTROLLER_STATUS older than this (ten periods) counts as a
 * lost link and stops bleeding and the converter (docs/balancing.md).
 */
const CONTROLLER_STATUS_TIMEOUT_ms: i64 = 1000;
/** A converter command not refreshed within this time is dropped (three 1 s plan periods). */
const CONVERTER_COMMAND_TIMEOUT_ms: i64 = 3000;

/**
 * The string counts as open after this many consecutive CONTROLLER_STATUS frames saying so: the
 * status describes the coils the controller set half a period before it was sent, so two in a row
 * cover the whole period the node's sample belongs to.
 */
const OPEN_STRING_STATUSES: i32 = 2;
/** ... and only while the last of them is at most this old (1.5 periods: one frame late at most). */
const OPEN_STRING_STATUS_AGE_ms: i64 = 150;

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
  measurementCounter: i32 = 0;
  stateCounter: i32 = 0;
  healthCounter: i32 = 0;
  requestCountdown: i32 = 0;
  announcePending: bool = false;
  framesSent: i32 = 0;
  sendFailures: i32 = 0;
  ticks: i32 = 0;
  tickPeriod_ms: i64 = 100;
  lastNow_ms: i64 = -1;
  // cell model and estimation (null when the node has no valid parameter set)
  model: CellModel = new CellModel();
  cellHash: u32 = 0;
  blobError: i32 = 0;
  estimation: NodeEstimation | null = null;
  persistence: NodePersistence | null = null;
  restoredFromFlash: bool = false;
  // controller status
  controllerCounter: i32 = -1;
  resetCounter: i32 = -1;
  addressResets: i32 = 0;
  lastControllerStatus_ms: i64 = -1;
  /** Consecutive accepted CONTROLLER_STATUS frames whose pack state says the string is open. */
  openStringStatuses: i32 = 0;
  /** The last accepted CONTROLLER_STATUS carried PERSIST (the request acts on its rising edge). */
  persistSeen: bool = false;
  unixTime_s: u32 = 0;
  unixTimeAt_ms: i64 = 0;
  lastPersist_ms: i64 = 0;
  operating_ms: i64 = 0;
  persistRequested: bool = false;
  // lifecycle record (module passport)
  lifecycle: LifecycleRecord = new LifecycleRecord();
  identity: StaticArray<u8> = new StaticArray<u8>(IDENTITY_BLOCK_BYTES);
  /** The image being streamed to a reader, frozen when its read starts so the bytes are consistent. */
  passportCopy: StaticArray<u8> = new StaticArray<u8>(IDENTITY_BLOCK_BYTES + LIFECYCLE_LENGTH);
  lastLifecycleWrite_ms: i64 = 0;
  lifecycleDirty: bool = false;
  repurposeCounter: i32 = -1;
  passportTag: i32 = 0;
  passportRequester: i32 = 0;
  passportOffset: i32 = 0;
  passportFramesLeft: i32 = 0;
  // balancing
  bleed: BleedExecutor | null = null;
  bleedResistance_Ohm: f32 = 0;
  boardTemperature_C: f32 = NaN;
  balancingAllowed: bool = false;
  /** Level last written to BALANCE_SWITCH (init writes it low): the pin is written only when it changes. */
  balanceSwitchOn: bool = false;
  balanceCounter: i32 = -1;
  reportCounter: i32 = 0;
  balanceSequence: i32 = 0;
  converterCommand_W: f32 = 0;
  converterCommandAt_ms: i64 = -1;
  converterApplied_W: f32 = 0;
  converterEnergy_J: f32 = 0;
  hasConverter: bool = true;
}

let state: NodeState | null = null;
let sealedHeapTop: usize = 0;

/** Reads the provisioning sector, installs the cell model and returns 0 or the blob parser's error. */
function loadCellModel(s: NodeState, sectorSize: i32): i32 {
  const scratch = new StaticArray<u8>(sectorSize);
  const ptr = changetype<usize>(scratch);
  if (flash_read(PROVISIONING_SECTOR * sectorSize, <i32>ptr, sectorSize) != 0) return -100;
  const result = parseCellBlob(ptr, sectorSize, s.model);
  if (result != 0) return result;
  // Which parameter set the node runs, for the controller's check: the blob's CRC-32, low bits.
  const length = <i32>load<u32>(ptr + <usize>CellBlobOffset.TOTAL_LENGTH);
  s.cellHash = crc32(ptr, length);
  return 0;
}

export function init(): void {
  const s = new NodeState();
  s.frontEnd.configure(true);
  memory.fill(changetype<usize>(s.identity), 0xff, IDENTITY_BLOCK_BYTES);
  const low = board_config(ConfigKey.UNIT_SERIAL_LOW);
  const high = board_config(ConfigKey.UNIT_SERIAL_HIGH);
  if (isNaN(low) || isNaN(high)) fault_report(FaultCode.BOARD_CONFIG_MISSING, ConfigKey.UNIT_SERIAL_LOW);
  s.serialLow = isNaN(low) ? 0 : <u32>low;
  s.serialHigh = isNaN(high) ? 0 : <u32>high;
  const period = requireConfig(ConfigKey.TICK_PERIOD_ms, 1, 10000);
  if (!isNaN(period)) s.tickPeriod_ms = <i64>period;

  const sectorSize = requireConfig(ConfigKey.FLASH_SECTOR_SIZE_B, 256, 65536);
  const sectorCount = requireConfig(ConfigKey.FLASH_SECTOR_COUNT, 3, 4096);
  const programUnit = requireConfig(ConfigKey.FLASH_PROGRAM_UNIT_B, 1, 16);
  if (!isNaN(sectorSize) && !isNaN(sectorCount) && !isNaN(programUnit)) {
    s.blobError = loadCellModel(s, <i32>sectorSize);
    flash_read(PROVISIONING_SECTOR * <i32>sectorSize + <i32>sectorSize - IDENTITY_BLOCK_BYTES, <i32>changetype<usize>(s.identity), IDENTITY_BLOCK_BYTES);
    if (s.blobError != 0) {
      fault_report(FaultCode.CELL_PARAMETERS_INVALID, s.blobError);
    } else {
      const estimation = new NodeEstimation(s.model);
      s.estimation = estimation;
      const persistence = new NodePersistence(<i32>sectorSize, PROVISIONING_SECTOR + 1, <i32>sectorCount - 1, <i32>programUnit);
      s.persistence = persistence;
      const status = persistence.mount();
      if (status == MountStatus.CORRUPT || status < 0) fault_report(FaultCode.STORE_CORRUPT, status);
      else {
        s.restoredFromFlash = persistence.loadState(estimation);
        persistence.loadLifecycle(s.lifecycle);
      }
    }
  }
  const bleedResistance = board_config(ConfigKey.BALANCE_RESISTANCE_Ohm);
  if (bleedResistance > 0 && bleedResistance < 1.0e6) {
    s.bleedResistance_Ohm = <f32>bleedResistance;
    s.bleed = new BleedExecutor(<f32>bleedResistance, new BleedExecutorConfig());
  }
  s.hasConverter = converter_set(0) == 0;
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
  s.boardTemperature_C = s.bleed === null ? NaN : fe.temperature_C(AdcChannel.BOARD_TEMPERATURE);
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

function estimate(s: NodeState, dt_s: f32): void {
  const e = s.estimation;
  if (e === null) return;
  // Bad readings never reach the filter: they are flagged above and the step is skipped.
  if ((s.flags & (MeasurementFlag.VOLTAGE_INVALID | MeasurementFlag.CURRENT_INVALID | MeasurementFlag.TEMPERATURE_INVALID)) != 0) {
    e.stepsRejected++;
    return;
  }
  // The shunt sees the string current only: what the bleed resistor and the converter draw from
  // the cells must be added, or the SOC would not move while balancing (docs/balancing.md).
  const voltage_V = s.voltage_mV / 1000;
  const bleed = s.bleed;
  const shunt_A = s.current_mA / 1000;
  let known_A: f32 = 0;
  if (bleed !== null) known_A += bleed.lastBleedCurrent_A;
  if (voltage_V > 0) known_A += s.converterApplied_W / voltage_V;
  // With the string open (the controller's last two statuses, the latest fresh) no current flows
  // through the shunt: the cells carry only the known bleed and converter currents, and the shunt's
  // reading is its channel's offset (docs/estimation.md, "Zero-current calibration").
  const stringOpen = s.openStringStatuses >= OPEN_STRING_STATUSES && s.lastControllerStatus_ms >= 0
    && s.lastNow_ms - s.lastControllerStatus_ms <= OPEN_STRING_STATUS_AGE_ms;
  if (stringOpen) e.step(known_A, voltage_V, s.temperature_C, dt_s, shunt_A);
  else e.step(shunt_A + known_A, voltage_V, s.temperature_C, dt_s, NaN, known_A);
  if (e.started) {
    s.lifecycle.account(dt_s, s.voltage_mV / 1000, s.current_mA / 1000, s.temperature_C, e.ekf.soc, s.model.moduleCapacity_Ah(),
      s.model.minVoltage_V, s.model.maxVoltage_V, unixNow_s(s, s.lastNow_ms));
  }
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

function requestAddress(s: NodeState): void {
  encodeAddressRequest(txBuffer, s.serialLow, s.serialHigh, FIRMWARE_VERSION);
  send(s, makeId(Priority.NETWORK_MANAGEMENT, MessageType.ADDRESS_REQUEST, ADDRESS_CONTROLLER, ADDRESS_UNASSIGNED), ADDRESS_REQUEST_LENGTH);
  s.requestCountdown = ADDRESS_REQUEST_RETRY_TICKS;
}

/** Polled each tick: asks again if a request went unanswered (the edge interrupt asks first). */
function enumerate(s: NodeState): void {
  if (gpio_read(GpioPin.CHAIN_SELECT_IN) != 1) return;
  if (s.requestCountdown > 0) {
    s.requestCountdown--;
    return;
  }
  requestAddress(s);
}

/**
 * Pin-change interrupt: the select input rising means the upstream neighbour has its address, so
 * this node asks at once instead of at its next tick; enumeration then runs at bus speed.
 */
export function gpioChanged(pin: i32, level: i32, now_ms: i64): void {
  const s = state;
  if (s === null || pin != GpioPin.CHAIN_SELECT_IN || level != 1 || s.address != ADDRESS_UNASSIGNED) return;
  requestAddress(s);
}

function report(s: NodeState): void {
  const id = makeId(Priority.MEASUREMENT, MessageType.MODULE_MEASUREMENT, ADDRESS_CONTROLLER, s.address);
  encodeModuleMeasurement(id, txBuffer, s.measurementCounter, s.flags, s.voltage_mV, s.current_mA, s.temperature_C);
  s.measurementCounter = e2eNextCounter(s.measurementCounter);
  send(s, id, MODULE_MEASUREMENT_LENGTH);

  if (s.announcePending) {
    s.announcePending = false;
    encodeNodeAnnounce(txBuffer, FIRMWARE_VERSION, s.cellHash, s.model.moduleCapacity_Ah(), s.model.parallelCells, s.estimation !== null);
    send(s, makeId(Priority.NETWORK_MANAGEMENT, MessageType.NODE_ANNOUNCE, ADDRESS_CONTROLLER, s.address), NODE_ANNOUNCE_LENGTH);
  }
  const e = s.estimation;
  if ((s.ticks + s.address) % STATE_PERIOD_TICKS == 0) {
    const stateId = makeId(Priority.STATE, MessageType.MODULE_STATE, ADDRESS_CONTROLLER, s.address);
    if (e !== null && e.started) {
      const flags = e.ekf.socSigma > SOC_SIGMA_UNCERTAIN ? StateFlag.UNCERTAIN : 0;
      encodeModuleState(stateId, txBuffer, s.stateCounter, flags, e.ekf.soc, e.ekf.socSigma, e.capacity_Ah, e.capacitySigma_Ah);
    } else {
      encodeModuleState(stateId, txBuffer, s.stateCounter, StateFlag.NO_MODEL, 0, 0, 0, 0);
    }
    s.stateCounter = e2eNextCounter(s.stateCounter);
    send(s, stateId, MODULE_STATE_LENGTH);
  }
  if (e !== null && e.started && (s.ticks + s.address) % HEALTH_PERIOD_TICKS == 0) {
    const healthId = makeId(Priority.STATE, MessageType.MODULE_HEALTH, ADDRESS_CONTROLLER, s.address);
    // R0 is reported at 25 degC and 50 % SOC so modules compare whatever their temperature.
    const r0 = e.resistance.r0Module_Ohm(0.5, 25);
    encodeModuleHealth(healthId, txBuffer, s.healthCounter, r0, e.resistance.ratioSigma * s.model.r0Module_Ohm(0.5, 25),
      e.throughput.equivalentFullCycles, e.capacityRatio);
    s.healthCounter = e2eNextCounter(s.healthCounter);
    send(s, healthId, MODULE_HEALTH_LENGTH);
  }
}

/** Wall-clock seconds now, from the controller's last time broadcast (0 while unknown). */
function unixNow_s(s: NodeState, now_ms: i64): u32 {
  if (s.unixTime_s == 0) return 0;
  return s.unixTime_s + <u32>((now_ms - s.unixTimeAt_ms) / 1000);
}

/**
 * Passive bleed and active converter, from the controller's commands. Everything stops on a lost
 * link, a stale command or a controller that disallows balancing.
 */
function balance(s: NodeState, now_ms: i64, dt_ms: i64): void {
  const linkUp = s.balancingAllowed && s.lastControllerStatus_ms >= 0 && now_ms - s.lastControllerStatus_ms <= CONTROLLER_STATUS_TIMEOUT_ms;
  const bleed = s.bleed;
  if (bleed !== null) {
    const on = bleed.tick(now_ms, s.voltage_mV / 1000, s.boardTemperature_C, linkUp);
    // An output keeps its level: a write per tick would only repeat it (and costs a HAL call).
    if (on != s.balanceSwitchOn) {
      gpio_write(GpioPin.BALANCE_SWITCH, on ? 1 : 0);
      s.balanceSwitchOn = on;
    }
  }
  if (!s.hasConverter) return;
  let power_W: f32 = 0;
  if (linkUp && s.converterCommandAt_ms >= 0 && now_ms - s.converterCommandAt_ms <= CONVERTER_COMMAND_TIMEOUT_ms) power_W = s.converterCommand_W;
  if (power_W != s.converterApplied_W) {
    converter_set(<i32>Mathf.round(power_W * 1000));
    s.converterApplied_W = power_W;
  }
  s.converterEnergy_J += power_W * <f32>dt_ms / 1000;
}

function reportBalance(s: NodeState): void {
  const bleed = s.bleed;
  if (bleed === null && !s.hasConverter) return;
  if ((s.ticks + s.address) % STATE_PERIOD_TICKS != 5) return;
  if (bleed !== null && bleed.state == BleedState.IDLE && s.converterApplied_W == 0 && s.balanceCounter < 0) return;
  const id = makeId(Priority.STATE, MessageType.BALANCE_REPORT, ADDRESS_CONTROLLER, s.address);
  encodeBalanceReport(id, txBuffer, s.reportCounter, bleed === null ? 0 : bleed.state, s.balanceSequence,
    bleed === null ? 0 : bleed.duty, bleed === null ? 0 : bleed.planRemoved_mAh, s.converterEnergy_J);
  s.reportCounter = e2eNextCounter(s.reportCounter);
  send(s, id, BALANCE_REPORT_LENGTH);
}

/** Copies the estimators' present values into the lifecycle record (before a write or a read). */
function snapshotLifecycle(s: NodeState, now_ms: i64): void {
  const e = s.estimation;
  if (e === null || !e.started) return;
  const r0Nominal = s.model.r0Module_Ohm(0.5, 25);
  s.lifecycle.snapshot(unixNow_s(s, now_ms), e.ekf.soc, e.ekf.socSigma, e.capacity_Ah, e.capacitySigma_Ah,
    e.resistance.r0Module_Ohm(0.5, 25), e.resistance.ratioSigma * r0Nominal, r0Nominal,
    e.throughput.equivalentFullCycles, e.throughput.chargedCharge_Ah, e.throughput.dischargedCharge_Ah,
    e.throughput.chargedEnergy_Wh, e.throughput.dischargedEnergy_Wh);
}

function saveLifecycle(s: NodeState, p: NodePersistence, e: NodeEstimation, now_ms: i64): void {
  snapshotLifecycle(s, now_ms);
  if (!p.saveLifecycle(s.lifecycle) && !p.store.readOnly) fault_report(FaultCode.STORE_WRITE_FAILED, p.writeFailures);
  s.lifecycleDirty = false;
  s.lastLifecycleWrite_ms = s.operating_ms;
}

/**
 * At most one record write per tick: the estimator state when due or requested, else the
 * lifecycle record when due, requested or changed.
 */
function persist(s: NodeState, now_ms: i64): void {
  const p = s.persistence;
  const e = s.estimation;
  if (p === null || e === null || !e.started) return;
  const stateDue = s.operating_ms - s.lastPersist_ms >= PERSIST_PERIOD_ms;
  if (stateDue || s.persistRequested) {
    s.lastPersist_ms = s.operating_ms;
    if (s.persistRequested) s.lifecycleDirty = true;
    s.persistRequested = false;
    if (!p.saveState(e, unixNow_s(s, now_ms), <u32>(s.operating_ms / 1000)) && !p.store.readOnly) {
      fault_report(FaultCode.STORE_WRITE_FAILED, p.writeFailures);
    }
    return;
  }
  if (s.lifecycleDirty || s.operating_ms - s.lastLifecycleWrite_ms >= LIFECYCLE_PERIOD_ms) saveLifecycle(s, p, e, now_ms);
}

/** One passport image byte: the identity block, then the lifecycle record (docs/flash-layout.md). */
function passportByte(s: NodeState, offset: i32): u8 {
  if (offset < IDENTITY_BLOCK_BYTES) return unchecked(s.identity[offset]);
  const o = offset - IDENTITY_BLOCK_BYTES;
  return o < LIFECYCLE_LENGTH ? load<u8>(s.lifecycle.ptr + <usize>o) : 0xff;
}

/** Streams the passport image to a reader, a few frames per tick. */
function answerPassportRead(s: NodeState): void {
  let frames = PASSPORT_FRAMES_PER_TICK;
  while (s.passportFramesLeft > 0 && frames > 0) {
    store<u8>(txBuffer, <u8>s.passportTag, 0);
    store<u16>(txBuffer, <u16>s.passportOffset, 1);
    for (let i = 0; i < PASSPORT_BYTES_PER_FRAME; i++) {
      const o = s.passportOffset + i;
      store<u8>(txBuffer + <usize>(3 + i), o >= 0 && o < IDENTITY_BLOCK_BYTES + LIFECYCLE_LENGTH ? unchecked(s.passportCopy[o]) : <u8>0xff);
    }
    send(s, makeId(Priority.STATE, MessageType.PASSPORT_DATA, s.passportRequester, s.address), PASSPORT_DATA_LENGTH);
    s.passportOffset += PASSPORT_BYTES_PER_FRAME;
    s.passportFramesLeft--;
    frames--;
  }
}

export function tick(now_ms: i64): void {
  const s = state;
  if (s === null) return;
  const dt_ms = s.lastNow_ms < 0 ? s.tickPeriod_ms : now_ms - s.lastNow_ms;
  s.lastNow_ms = now_ms;
  s.ticks++;
  s.operating_ms += dt_ms;
  measure(s);
  estimate(s, <f32>dt_ms / 1000);
  if (s.address == ADDRESS_UNASSIGNED) enumerate(s);
  else {
    report(s);
    reportBalance(s);
    answerPassportRead(s);
  }
  balance(s, now_ms, dt_ms);
  persist(s, now_ms);
}

/** Address of the 8-byte buffer the board copies a received frame's data into before busReceive. */
export function busRxBuffer(): usize {
  return rxBuffer;
}

function onAddressAssign(s: NodeState, length: i32): void {
  if (length != ADDRESS_ASSIGN_LENGTH) {
    fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.ADDRESS_ASSIGN);
    return;
  }
  // Only the node whose select input is high may take an address: with a duplicated serial, the
  // other unit (further down the chain) stays unaddressed and the controller sees its request.
  if (s.address != ADDRESS_UNASSIGNED || gpio_read(GpioPin.CHAIN_SELECT_IN) != 1) return;
  if (serialLowOf(rxBuffer) != s.serialLow || serialHighOf(rxBuffer) != (s.serialHigh & 0xffff)) return;
  const address = assignedAddressOf(rxBuffer);
  if (address < ADDRESS_FIRST_NODE || address > ADDRESS_LAST_NODE) {
    fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.ADDRESS_ASSIGN);
    return;
  }
  s.address = address;
  s.announcePending = true;
  bus_filter(FILTER_SLOT_OWN_ADDRESS, destinationFilter(address), DESTINATION_MASK);
  gpio_write(GpioPin.CHAIN_SELECT_OUT, 1);
}

function onControllerStatus(s: NodeState, id: u32, length: i32, now_ms: i64): void {
  const status = e2eCheck(id, rxBuffer, length, CONTROLLER_STATUS_LENGTH, s.controllerCounter);
  if (!e2eAccepted(status)) {
    // A rebooted controller restarts its counter: resynchronise on it (the frame itself is still
    // dropped), so one reboot costs one frame, not a burst of rejections.
    if (status == E2eStatus.WRONG_SEQUENCE) s.controllerCounter = e2eCounterOf(rxBuffer);
    fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.CONTROLLER_STATUS);
    return;
  }
  s.controllerCounter = e2eCounterOf(rxBuffer);
  s.lastControllerStatus_ms = now_ms;
  s.balancingAllowed = (statusFlags(rxBuffer) & StatusFlag.BALANCING_ALLOWED) != 0;
  const time = statusUnixTime_s(rxBuffer);
  if (time != 0) {
    s.unixTime_s = time;
    s.unixTimeAt_ms = now_ms;
    const e = s.estimation;
    if (e !== null) e.applyOffTime(time);
  }
  if (packStateStringOpen(statusPackState(rxBuffer))) {
    if (s.openStringStatuses < OPEN_STRING_STATUSES) s.openStringStatuses++;
  } else {
    s.openStringStatuses = 0;
  }
  const requests = statusRequests(rxBuffer);
  // PERSIST comes in three consecutive frames so that a node losing two still sees it; one write
  // per request: act on the first frame that carries it.
  const persist = (requests & ControllerRequest.PERSIST) != 0;
  if (persist && !s.persistSeen) s.persistRequested = true;
  s.persistSeen = persist;
  if ((requests & ControllerRequest.ANNOUNCE) != 0 && s.address != ADDRESS_UNASSIGNED) s.announcePending = true;
}

/**
 * Re-enumeration (a module was swapped, added or removed): drop the address, release the chain
 * below this node, and ask again when the select input rises. Estimation goes on untouched.
 */
function onAddressReset(s: NodeState, id: u32, length: i32): void {
  const status = e2eCheck(id, rxBuffer, length, ADDRESS_RESET_LENGTH, s.resetCounter);
  if (!e2eAccepted(status)) {
    fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.ADDRESS_RESET);
    return;
  }
  s.resetCounter = e2eCounterOf(rxBuffer);
  s.addressResets++;
  s.address = ADDRESS_UNASSIGNED;
  s.requestCountdown = 0;
  bus_filter(FILTER_SLOT_OWN_ADDRESS, -1, 0);
  gpio_write(GpioPin.CHAIN_SELECT_OUT, 0);
}

function onPackInfo(s: NodeState, length: i32, now_ms: i64): void {
  if (length != PACK_INFO_LENGTH || s.address == ADDRESS_UNASSIGNED) return;
  if (s.lifecycle.joinPack(packInfoId(rxBuffer), s.address, unixNow_s(s, now_ms))) s.lifecycleDirty = true;
}

/** Repurposing reset: addressed to this node, E2E protected, carrying its serial and the confirmation pattern. */
function onRepurposeReset(s: NodeState, id: u32, length: i32, now_ms: i64): void {
  const status = e2eCheck(id, rxBuffer, length, REPURPOSE_RESET_LENGTH, s.repurposeCounter);
  if (!e2eAccepted(status) || repurposeSerial(rxBuffer) != s.serialLow || !repurposeConfirmed(rxBuffer)) {
    fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.REPURPOSE_RESET);
    return;
  }
  s.repurposeCounter = e2eCounterOf(rxBuffer);
  s.lifecycle.leavePack(unixNow_s(s, now_ms));
  s.lifecycle.repurpose();
  s.lifecycleDirty = true;
}

function onBalanceCommand(s: NodeState, id: u32, length: i32, now_ms: i64): void {
  const status = e2eCheck(id, rxBuffer, length, BALANCE_COMMAND_LENGTH, s.balanceCounter);
  if (!e2eAccepted(status)) {
    fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.BALANCE_COMMAND);
    return;
  }
  s.balanceCounter = e2eCounterOf(rxBuffer);
  s.balanceSequence = balanceSequence(rxBuffer);
  const bleed = s.bleed;
  if (bleed !== null) bleed.command(balanceCharge_mAh(rxBuffer), balanceDuty(rxBuffer), s.balanceSequence, now_ms);
  s.converterCommand_W = balanceConverter_W(rxBuffer);
  s.converterCommandAt_ms = now_ms;
}

function onPassportRead(s: NodeState, id: u32, length: i32): void {
  if (length != PASSPORT_READ_LENGTH) {
    fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.PASSPORT_READ);
    return;
  }
  if (passportReadOffset(rxBuffer) == 0) {
    snapshotLifecycle(s, s.lastNow_ms);
    for (let i = 0; i < IDENTITY_BLOCK_BYTES + LIFECYCLE_LENGTH; i++) unchecked(s.passportCopy[i] = passportByte(s, i));
  }
  s.passportTag = passportReadTag(rxBuffer);
  s.passportOffset = passportReadOffset(rxBuffer);
  s.passportFramesLeft = passportReadFrames(rxBuffer);
  s.passportRequester = idSource(id);
}

/** A frame arrived: id is the 29-bit identifier, its length bytes of data are at busRxBuffer(). */
export function busReceive(id: i32, length: i32, now_ms: i64): void {
  const s = state;
  if (s === null) return;
  const frameId = <u32>id;
  const type = idType(frameId);
  // Read access and the repurposing reset are open to any requester (a service tool, another
  // pack's controller); everything else must come from this pack's controller.
  if (type == MessageType.PASSPORT_READ) {
    onPassportRead(s, frameId, length);
    return;
  }
  if (type == MessageType.REPURPOSE_RESET) {
    onRepurposeReset(s, frameId, length, now_ms);
    return;
  }
  if (idSource(frameId) != ADDRESS_CONTROLLER) return;
  if (type == MessageType.ADDRESS_ASSIGN) onAddressAssign(s, length);
  else if (type == MessageType.CONTROLLER_STATUS) onControllerStatus(s, frameId, length, now_ms);
  else if (type == MessageType.ADDRESS_RESET) onAddressReset(s, frameId, length);
  else if (type == MessageType.PACK_INFO) onPackInfo(s, length, now_ms);
  else if (type == MessageType.BALANCE_COMMAND) onBalanceCommand(s, frameId, length, now_ms);
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
/** The passport image (identity block then lifecycle record) as the bus serves it: for tests and the host's export. */
export function passportImageLength(): i32 { return IDENTITY_BLOCK_BYTES + LIFECYCLE_LENGTH; }
/** Brings the lifecycle record's estimates up to date before a reader copies the image (a PASSPORT_READ at offset 0 does the same). */
export function preparePassport(): void { if (state !== null) snapshotLifecycle(state!, state!.lastNow_ms); }
export function passportImageByte(offset: i32): i32 { return state === null ? -1 : <i32>passportByte(state!, offset); }
export function lifecycleEventCount(kind: i32): i32 { return state === null ? 0 : state!.lifecycle.eventCount(kind); }
export function currentPack(): u32 { return state === null ? 0 : state!.lifecycle.currentPack(); }
export function bleedState(): i32 { return state === null || state!.bleed === null ? -1 : state!.bleed!.state; }
export function bleedRemoved_mAh(): f32 { return state === null || state!.bleed === null ? NaN : state!.bleed!.totalRemoved_mAh; }
export function converterPower_W(): f32 { return state === null ? NaN : state!.converterApplied_W; }
export function converterEnergy_J(): f32 { return state === null ? NaN : state!.converterEnergy_J; }
export function boardTemperature_C(): f32 { return state === null ? NaN : state!.boardTemperature_C; }
export function addressResets(): i32 { return state === null ? 0 : state!.addressResets; }
export function cellParametersError(): i32 { return state === null ? -1 : state!.blobError; }
export function cellParametersHash(): u32 { return state === null ? 0 : state!.cellHash; }
function estimation(): NodeEstimation | null { return state === null ? null : state!.estimation; }
/** 0 not started, 1 cold start at rest, 2 warm start from flash, 3 cold start under load. */
export function estimatorStart(): i32 { const e = estimation(); return e === null ? 0 : e.startKind; }
export function socEstimate(): f32 { const e = estimation(); return e === null || !e.started ? NaN : e.ekf.soc; }
export function socSigma(): f32 { const e = estimation(); return e === null || !e.started ? NaN : e.ekf.socSigma; }
export function socBaseline(): f32 { const e = estimation(); return e === null || !e.started ? NaN : e.baseline.soc; }
export function voltageError_mV(): f32 { const e = estimation(); return e === null || !e.started ? NaN : e.ekf.state(EkfState.VOLTAGE_ERROR_V) * 1000; }
export function currentBias_mA(): f32 { const e = estimation(); return e === null || !e.started ? NaN : e.ekf.state(4) * 1000; }
export function capacityEstimate_Ah(): f32 { const e = estimation(); return e === null ? NaN : e.capacity_Ah; }
export function capacitySigma_Ah(): f32 { const e = estimation(); return e === null ? NaN : e.capacitySigma_Ah; }
export function capacityUpdates(): i32 { const e = estimation(); return e === null ? 0 : e.capacityUpdates; }
export function resistanceEstimate_Ohm(soc: f32, temperature_C: f32): f32 { const e = estimation(); return e === null ? NaN : e.resistance.r0Module_Ohm(soc, temperature_C); }
export function resistanceRatio(): f32 { const e = estimation(); return e === null ? NaN : e.resistance.ratio; }
export function resistanceUpdates(): i32 { const e = estimation(); return e === null ? 0 : e.resistance.updates; }
export function equivalentFullCycles(): f32 { const e = estimation(); return e === null ? NaN : e.throughput.equivalentFullCycles; }
export function dischargedCharge_Ah(): f32 { const e = estimation(); return e === null ? NaN : e.throughput.dischargedCharge_Ah; }
export function estimatorRejectedSteps(): i32 { const e = estimation(); return e === null ? 0 : e.stepsRejected + e.ekf.rejectedSteps; }
export function storeMountStatus(): i32 { return state === null || state!.persistence === null ? -1 : state!.persistence!.mountStatus; }
export function storeWrites(): i32 { return state === null || state!.persistence === null ? 0 : state!.persistence!.writes; }
export function restoredFromFlash(): bool { return state !== null && state!.restoredFromFlash; }
/** Heap top now and as sealed at the end of init(): they differ only if something allocated after init. */
export function heapTop(): usize { return runtimeHeapTop(); }
export function heapTopAtInit(): usize { return sealedHeapTop; }
