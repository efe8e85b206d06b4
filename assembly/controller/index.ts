// Controller firmware: enumerates the nodes through the daisy chain, supervises them, measures
// pack voltage and current itself, protects the pack (limits, plausibility, contactors), estimates
// what the vehicle needs (usable SOC, energy, range, state of power) and talks to the vehicle.
//
// One tick, in this order (docs/protection.md, "Wiring"): measure -> aggregate the module table ->
// Protection.evaluate -> ContactorSequencer.update and the coil outputs, in the same tick (the
// over-voltage fault-tolerant time budget counts on it) -> persist at most one freeze frame ->
// pack estimation -> CONTROLLER_STATUS -> vehicle frames.
import "../hal/fault";
import {
  bus_send, bus_filter, vehicle_send, gpio_write, gpio_read, fault_report, board_config,
  AdcChannel, GpioPin, ConfigKey, FaultCode,
} from "../hal/abi";
import { AnalogFrontEnd, requireConfig } from "../hal/sensors";
import { heapTop as runtimeHeapTop } from "../runtime/heap";
import { e2eProtect, e2eNextCounter, e2eAccepted } from "../protocol/e2e";
import {
  makeId, idType, idSource, idDestination, MessageType, Priority, ControllerRequest,
  ADDRESS_CONTROLLER, ADDRESS_UNASSIGNED, ADDRESS_BROADCAST, ADDRESS_FIRST_NODE,
  ADDRESS_ASSIGN_LENGTH, CONTROLLER_STATUS_LENGTH, PROTOCOL_VERSION,
  encodeAddressAssign, encodeControllerStatus, serialLowOf, serialHighOf, DESTINATION_MASK, destinationFilter,
} from "../protocol/messages";
import { FaultLevel, FaultType, FAULT_TYPE_COUNT, diagnosticCode } from "../protection/faults";
import { SafetyLimits } from "../protection/limits";
import { Protection, ProtectionConfig } from "../protection/protection";
import { ContactorSequencer, ContactorTiming, ContactorState } from "../contactor/sequencer";
import { ModuleStates } from "../pack/modules";
import { PackSoc } from "../pack/soc";
import { PackEnergy } from "../pack/energy";
import { RangeEstimator } from "../pack/range";
import { StateOfPower, SOP_HORIZON_COUNT } from "../pack/sop";
import { PackConfig, PACK_CONFIG_MAX_BYTES } from "../pack/config";
import { ModuleBus, MAX_MODULES } from "./modules";
import { FaultLog, loadPackConfig } from "./flash";
import { StoreError } from "../storage/record-store";
import {
  VehicleCommand, VehicleId, BmsState, VEHICLE_FRAME_LENGTH, ENERGY_RANGE_PERIOD_ms,
  encodeFaults, encodePackStatus, encodeContactorStatus, encodeCurrentLimits, encodeVoltageLimits,
  encodeCellVoltages, encodeTemperatures, encodeEnergyRange,
} from "./vehicle";

const FIRMWARE_VERSION: i32 = 1;
/**
 * At DERATE (the recommended safety limit) the controller halves the current limits it advertises;
 * the protection leaves the factor to the caller (docs/protection.md). Half is an engineering
 * choice: the cell then sees a quarter of the I^2 R heat and its voltage excursion halves.
 */
const DERATE_FACTOR: f32 = 0.5;
/** While a module has not announced itself, ask for NODE_ANNOUNCE once per second (not every tick). */
const ANNOUNCE_REQUEST_PERIOD_ms: i64 = 1000;
const mV_PER_V: f32 = 1000.0;
const mA_PER_A: f32 = 1000.0;

const rxBuffer: usize = memory.data(8, 8);
const txBuffer: usize = memory.data(8, 8);

/** Transmit counters of the E2E-protected vehicle messages. */
namespace VehicleCounter {
  export const FAULTS: i32 = 0;
  export const PACK_STATUS: i32 = 1;
  export const CONTACTORS: i32 = 2;
  export const DISCHARGE_LIMITS: i32 = 3;
  export const CHARGE_LIMITS: i32 = 4;
  export const VOLTAGE_LIMITS: i32 = 5;
  export const COUNT: i32 = 6;
}

class ControllerState {
  frontEnd: AnalogFrontEnd = new AnalogFrontEnd();
  modules: ModuleBus = new ModuleBus();
  config: PackConfig;
  /** 0, or why there is no valid configuration (PackConfigError, CONFIG_READ_FAILED, or +key of a disagreeing board constant). */
  configError: i32 = 0;
  expectedModules: i32 = 0;
  protection: Protection;
  sequencer: ContactorSequencer;
  states: ModuleStates = new ModuleStates();
  packSoc: PackSoc = new PackSoc();
  energy: PackEnergy;
  range: RangeEstimator;
  sop: StateOfPower;
  faultLog: FaultLog | null = null;
  vehicle: VehicleCommand = new VehicleCommand();
  packVoltage_mV: f32 = NaN;
  packCurrent_mA: f32 = NaN;
  linkVoltage_mV: f32 = NaN;
  positiveAux: bool = false;
  negativeAux: bool = false;
  bmsState: i32 = BmsState.INIT;
  /** Advertised limits (after derating and fault gating), A, per SOP horizon. */
  maxDischarge_A: StaticArray<f32> = new StaticArray<f32>(SOP_HORIZON_COUNT);
  maxCharge_A: StaticArray<f32> = new StaticArray<f32>(SOP_HORIZON_COUNT);
  range_km: f32 = NaN;
  /** Faults at OPEN already reported (bit per FaultType). */
  reportedOpen: u32 = 0;
  statusCounter: i32 = 0;
  vehicleCounters: StaticArray<i32> = new StaticArray<i32>(VehicleCounter.COUNT);
  lastEnergyFrame_ms: i64 = -1;
  lastAnnounceRequest_ms: i64 = -1;
  framesSent: i32 = 0;
  sendFailures: i32 = 0;
  vehicleFramesSent: i32 = 0;
  vehicleSendFailures: i32 = 0;
  vehicleSendFailing: bool = false;
  /** The last fault-log write failed (a new run of failures is reported once). */
  storeFailing: bool = false;
  now_ms: i64 = 0;

  constructor(config: PackConfig) {
    this.config = config;
    const limits = new SafetyLimits(config.cellRatings());
    const protectionConfig = new ProtectionConfig();
    protectionConfig.moduleVoltageAccuracy_mV = config.moduleVoltageAccuracy_mV;
    protectionConfig.packVoltageAccuracy_mV = config.packVoltageAccuracy_mV;
    protectionConfig.interconnectResistance_mOhm = config.valid ? config.interconnectResistance_mOhm : <f32>0.0;
    protectionConfig.moduleCapacity_Ah = config.moduleCapacity_Ah;
    protectionConfig.chargeTolerance_Ah = config.chargeTolerance_Ah;
    if (config.valid) protectionConfig.chargeWindow_ms = config.chargeWindow_ms;
    const protection = new Protection(limits, protectionConfig);
    // A continuous current rating is exceeded when the current stays above it: OPEN after the
    // configured hold time (docs/protection.md, "Current ratings").
    for (let fault = FaultType.OVER_CURRENT_CHARGE; fault <= FaultType.OVER_CURRENT_DISCHARGE; fault++) {
      protection.setDebounce(fault, FaultLevel.OPEN, config.currentOpenDelay_ms, 0);
    }
    this.protection = protection;
    const ocv = config.ocvCurve();
    this.energy = new PackEnergy(ocv);
    this.sop = new StateOfPower(ocv, config.moduleModel(), limits);
    this.range = new RangeEstimator(config.rangeWindow_km, config.consumptionPrior_Wh_per_km, config.consumptionFloor_Wh_per_km);
    // Operate and release times keep the sequencer's defaults (TE EV200 maxima: both resolve to the
    // next tick); the precharge and link-discharge times depend on the pack's HV circuit.
    const timing = new ContactorTiming();
    if (config.valid) {
      timing.prechargeTimeout_ms = config.prechargeTimeout_ms;
      timing.linkDischargeTime_ms = config.linkDischargeTime_ms;
    }
    this.sequencer = new ContactorSequencer(timing);
  }
}

let state: ControllerState | null = null;
let sealedHeapTop: usize = 0;

/** Reads the pack configuration from flash sector 0 and checks it against the board; returns 0 or the reason. */
function readConfiguration(config: PackConfig, sectorSize: f64): i32 {
  if (isNaN(sectorSize)) return ConfigKey.FLASH_SECTOR_SIZE_B;
  const buffer = new StaticArray<u8>(PACK_CONFIG_MAX_BYTES);
  const result = loadPackConfig(config, changetype<usize>(buffer), <i32>sectorSize);
  if (result != 0) return result;
  const boardModules = board_config(ConfigKey.MODULES_IN_SERIES);
  if (boardModules >= 1 && <i32>boardModules != config.modulesInSeries) {
    config.valid = false;
    return ConfigKey.MODULES_IN_SERIES;
  }
  return 0;
}

export function init(): void {
  const configured = new PackConfig();
  const sectorSize = requireConfig(ConfigKey.FLASH_SECTOR_SIZE_B, 256, 65536);
  const sectorCount = requireConfig(ConfigKey.FLASH_SECTOR_COUNT, 3, 4096);
  const programUnit = requireConfig(ConfigKey.FLASH_PROGRAM_UNIT_B, 1, 256);
  const configError = readConfiguration(configured, sectorSize);
  const s = new ControllerState(configured);
  s.configError = configError;
  if (configError != 0) fault_report(FaultCode.PACK_CONFIG_INVALID, configError);
  s.frontEnd.configure(false);
  if (configured.valid) {
    s.expectedModules = configured.modulesInSeries;
  } else {
    const expected = board_config(ConfigKey.MODULES_IN_SERIES);
    s.expectedModules = expected >= 1 && expected <= <f64>MAX_MODULES ? <i32>expected : 0;
  }
  if (s.expectedModules > 0) s.modules.limit = s.expectedModules;
  s.modules.expectedCellHash = configured.valid && configured.checkCellId ? configured.cellIdHash : -1;
  for (let h = 0; h < SOP_HORIZON_COUNT; h++) {
    unchecked(s.maxDischarge_A[h] = 0);
    unchecked(s.maxCharge_A[h] = 0);
  }
  if (!isNaN(sectorSize) && !isNaN(sectorCount) && !isNaN(programUnit)) {
    const log = new FaultLog(<i32>sectorSize, <i32>sectorCount, <i32>programUnit);
    const status = log.mount();
    if (FaultLog.failed(status)) fault_report(FaultCode.STORE_CORRUPT, status);
    s.faultLog = log;
  }
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

/** Sends txBuffer on the vehicle bus, E2E-protected with counter slot `counter` (-1: unprotected). */
function sendVehicle(s: ControllerState, id: u32, counter: i32): void {
  if (counter >= 0) {
    e2eProtect(id, txBuffer, VEHICLE_FRAME_LENGTH, unchecked(s.vehicleCounters[counter]));
    unchecked(s.vehicleCounters[counter] = e2eNextCounter(unchecked(s.vehicleCounters[counter])));
  }
  const result = vehicle_send(<i32>id, <i32>txBuffer, VEHICLE_FRAME_LENGTH);
  if (result == 0) {
    s.vehicleFramesSent++;
    s.vehicleSendFailing = false;
    return;
  }
  s.vehicleSendFailures++;
  // Reported once per run of failures: a vehicle bus without a receiver refuses every frame.
  if (!s.vehicleSendFailing) fault_report(FaultCode.BUS_SEND_FAILED, result);
  s.vehicleSendFailing = true;
}

function measure(s: ControllerState): void {
  const fe = s.frontEnd;
  s.packVoltage_mV = fe.voltage_mV(AdcChannel.PACK_VOLTAGE);
  s.packCurrent_mA = fe.current_mA(AdcChannel.PACK_CURRENT);
  s.linkVoltage_mV = fe.voltage_mV(AdcChannel.LINK_VOLTAGE);
  s.positiveAux = gpio_read(GpioPin.CONTACTOR_POSITIVE_AUX) == 1;
  s.negativeAux = gpio_read(GpioPin.CONTACTOR_NEGATIVE_AUX) == 1;
}

function protect(s: ControllerState, now_ms: i64): void {
  const m = s.modules;
  const input = s.protection.inputs;
  input.maxModuleVoltage_mV = m.maxVoltage_mV;
  input.maxVoltageModule = m.maxVoltageIndex;
  input.minModuleVoltage_mV = m.minVoltage_mV;
  input.minVoltageModule = m.minVoltageIndex;
  input.maxTemperature_C = m.maxTemperature_C;
  input.minTemperature_C = m.minTemperature_C;
  input.packCurrent_A = s.packCurrent_mA / mA_PER_A;
  input.packVoltage_mV = s.packVoltage_mV;
  input.sumModuleVoltage_mV = m.sumVoltage_mV;
  input.modulesReporting = m.voltageModules;
  input.modulesLost = m.unsupervised;
  input.meanSoc = m.meanSoc;
  // The sequencer's findings of the previous tick.
  input.contactorWelded = s.sequencer.welded;
  input.prechargeFailed = s.sequencer.prechargeFailed;
  const p = s.protection;
  p.evaluate(now_ms);
  if (s.vehicle.resetPending) {
    s.vehicle.resetPending = false;
    p.requestReset();
    s.sequencer.reset();
  }
  const open = p.activeFaultMask(FaultLevel.OPEN);
  const rising = open & ~s.reportedOpen;
  if (rising != 0) {
    for (let fault = 0; fault < FAULT_TYPE_COUNT; fault++) {
      if ((rising & (<u32>1 << <u32>fault)) != 0) fault_report(FaultCode.PROTECTION_OPEN, diagnosticCode(fault, FaultLevel.OPEN));
    }
  }
  s.reportedOpen = open;
}

/** Sequencer and coils, in the tick that found the fault. */
function switchContactors(s: ControllerState, now_ms: i64): void {
  const seq = s.sequencer;
  const valid = s.config.valid;
  const ready = valid && s.modules.allReporting(s.expectedModules);
  // A close starts only with every module reporting; once under way, a module lost is the
  // protection's to judge (MODULE_COMMUNICATION_LOST), not a reason to drop the request at once.
  const close = valid && s.vehicle.closeRequested(now_ms) && (seq.state != ContactorState.OPEN || ready);
  const forceOpen = !valid || s.protection.openRequested();
  seq.update(close, forceOpen, s.positiveAux, s.negativeAux, s.packVoltage_mV / mV_PER_V, s.linkVoltage_mV / mV_PER_V, now_ms);
  gpio_write(GpioPin.CONTACTOR_POSITIVE, seq.positiveCoil ? 1 : 0);
  gpio_write(GpioPin.CONTACTOR_NEGATIVE, seq.negativeCoil ? 1 : 0);
  gpio_write(GpioPin.CONTACTOR_PRECHARGE, seq.prechargeCoil ? 1 : 0);
  s.bmsState = packState(s, ready);
}

function packState(s: ControllerState, ready: bool): i32 {
  const state = s.sequencer.state;
  if (!s.config.valid || s.protection.openRequested() || state == ContactorState.FAULT) return BmsState.FAULT;
  if (state == ContactorState.CLOSED) return BmsState.CONNECTED;
  if (state == ContactorState.OPENING_POSITIVE || state == ContactorState.OPENING_NEGATIVE) return BmsState.OPENING;
  if (state != ContactorState.OPEN) return BmsState.PRECHARGE;
  return ready ? BmsState.STANDBY : BmsState.INIT;
}

function persist(s: ControllerState, now_ms: i64): void {
  const log = s.faultLog;
  if (log === null) return;
  const result = log.persistNext(s.protection.log, s.vehicle.unixNow_s(now_ms));
  // Reported when a run of failures starts; a read-only store was reported at mount.
  const failing = result != 0 && result != StoreError.READ_ONLY;
  if (failing && !s.storeFailing) fault_report(FaultCode.STORE_WRITE_FAILED, result);
  s.storeFailing = failing;
}

function estimate(s: ControllerState, now_ms: i64): void {
  const config = s.config;
  if (!config.valid) return;
  // The pack is as good as its weakest module: without every module's state the estimates are
  // unknown (NaN, sent as 0) and the limits zero, rather than computed over the modules that report.
  const valid = s.modules.fillStates(s.states, config.moduleCapacity_Ah, config.moduleR0_Ohm, now_ms);
  if (valid != s.expectedModules) s.states.count = 0;
  const soc = s.packSoc;
  soc.update(s.states);
  s.energy.update(s.states, soc.dischargeable_Ah);
  const power_W = (s.packVoltage_mV / mV_PER_V) * (s.packCurrent_mA / mA_PER_A);
  s.range.update(power_W, s.vehicle.speed(now_ms), now_ms);
  s.range_km = s.range.range_km(s.energy.remaining_Wh);
  const sop = s.sop;
  sop.update(s.states);
  // Nothing may flow while a fault holds the contactors open; half at DERATE.
  const p = s.protection;
  const factor: f32 = p.openRequested() || s.sequencer.state == ContactorState.FAULT ? 0.0 : p.derateRequested() ? DERATE_FACTOR : 1.0;
  for (let h = 0; h < SOP_HORIZON_COUNT; h++) {
    unchecked(s.maxDischarge_A[h] = factor * sop.maxDischargeCurrent_A(h));
    unchecked(s.maxCharge_A[h] = factor * sop.maxChargeCurrent_A(h));
  }
}

function sendStatus(s: ControllerState, now_ms: i64): void {
  let requests = 0;
  if (s.modules.announceMissing() && (s.lastAnnounceRequest_ms < 0 || now_ms - s.lastAnnounceRequest_ms >= ANNOUNCE_REQUEST_PERIOD_ms)) {
    requests |= ControllerRequest.ANNOUNCE;
    s.lastAnnounceRequest_ms = now_ms;
  }
  // The vehicle parks: nodes store their estimator state before the power goes.
  if (s.vehicle.parkedPending) {
    s.vehicle.parkedPending = false;
    requests |= ControllerRequest.PERSIST;
  }
  const balancingAllowed = s.config.valid && !s.protection.derateRequested();
  const id = makeId(Priority.CONTROL, MessageType.CONTROLLER_STATUS, ADDRESS_BROADCAST, ADDRESS_CONTROLLER);
  encodeControllerStatus(id, txBuffer, s.statusCounter, s.bmsState, requests, balancingAllowed ? 1 : 0, s.vehicle.unixNow_s(now_ms));
  s.statusCounter = e2eNextCounter(s.statusCounter);
  send(s, id, CONTROLLER_STATUS_LENGTH);
}

function addressOf(index: i32): i32 {
  return index >= 0 ? index + ADDRESS_FIRST_NODE : 0;
}

function sendVehicleFrames(s: ControllerState, now_ms: i64): void {
  const p = s.protection;
  const m = s.modules;
  const seq = s.sequencer;
  const log = p.log;
  encodeFaults(txBuffer, p.highestLevel, p.packedLevels(), log.count > 0 ? log.newest().code : 0, log.recorded);
  sendVehicle(s, VehicleId.BMS_FAULTS, VehicleCounter.FAULTS);
  encodePackStatus(txBuffer, s.bmsState, s.packVoltage_mV / mV_PER_V, s.packCurrent_mA / mA_PER_A, s.packSoc.soc, m.minSoh);
  sendVehicle(s, VehicleId.BMS_PACK_STATUS, VehicleCounter.PACK_STATUS);
  const coils = (seq.positiveCoil ? 1 : 0) | (seq.negativeCoil ? 2 : 0) | (seq.prechargeCoil ? 4 : 0);
  const aux = (s.positiveAux ? 1 : 0) | (s.negativeAux ? 2 : 0);
  encodeContactorStatus(txBuffer, seq.state, coils, aux, seq.weldedMask, seq.failure, s.linkVoltage_mV / mV_PER_V);
  sendVehicle(s, VehicleId.BMS_CONTACTOR_STATUS, VehicleCounter.CONTACTORS);
  encodeCurrentLimits(txBuffer, unchecked(s.maxDischarge_A[0]), unchecked(s.maxDischarge_A[1]), unchecked(s.maxDischarge_A[2]));
  sendVehicle(s, VehicleId.BMS_DISCHARGE_LIMITS, VehicleCounter.DISCHARGE_LIMITS);
  encodeCurrentLimits(txBuffer, unchecked(s.maxCharge_A[0]), unchecked(s.maxCharge_A[1]), unchecked(s.maxCharge_A[2]));
  sendVehicle(s, VehicleId.BMS_CHARGE_LIMITS, VehicleCounter.CHARGE_LIMITS);
  encodeVoltageLimits(txBuffer, maxPackVoltage_V(), minPackVoltage_V());
  sendVehicle(s, VehicleId.BMS_VOLTAGE_LIMITS, VehicleCounter.VOLTAGE_LIMITS);
  encodeCellVoltages(txBuffer, m.maxVoltage_mV, addressOf(m.maxVoltageIndex), m.minVoltage_mV, addressOf(m.minVoltageIndex));
  sendVehicle(s, VehicleId.BMS_CELL_VOLTAGES, -1);
  encodeTemperatures(txBuffer, m.maxTemperature_C, addressOf(m.maxTemperatureIndex), m.minTemperature_C, addressOf(m.minTemperatureIndex));
  sendVehicle(s, VehicleId.BMS_TEMPERATURES, -1);
  if (s.lastEnergyFrame_ms < 0 || now_ms - s.lastEnergyFrame_ms >= ENERGY_RANGE_PERIOD_ms) {
    s.lastEnergyFrame_ms = now_ms;
    encodeEnergyRange(txBuffer, s.energy.remaining_Wh, s.range_km, s.range.consumption_Wh_per_km, s.packSoc.usableCapacity_Ah);
    sendVehicle(s, VehicleId.BMS_ENERGY_RANGE, -1);
  }
}

export function tick(now_ms: i64): void {
  const s = state;
  if (s === null) return;
  s.now_ms = now_ms;
  measure(s);
  s.modules.aggregate(now_ms);
  protect(s, now_ms);
  switchContactors(s, now_ms);
  persist(s, now_ms);
  estimate(s, now_ms);
  sendStatus(s, now_ms);
  sendVehicleFrames(s, now_ms);
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
  const m = s.modules;
  if (type == MessageType.ADDRESS_REQUEST) {
    if (idSource(frameId) != ADDRESS_UNASSIGNED) return;
    const address = m.onAddressRequest(rxBuffer, length, now_ms);
    if (address < 0) return;
    encodeAddressAssign(txBuffer, serialLowOf(rxBuffer), serialHighOf(rxBuffer), address);
    send(s, makeId(Priority.NETWORK_MANAGEMENT, MessageType.ADDRESS_ASSIGN, ADDRESS_BROADCAST, ADDRESS_CONTROLLER), ADDRESS_ASSIGN_LENGTH);
  } else if (type == MessageType.MODULE_MEASUREMENT) {
    m.onMeasurement(frameId, rxBuffer, length, now_ms);
  } else if (type == MessageType.NODE_ANNOUNCE) {
    m.onAnnounce(frameId, rxBuffer, length);
  } else if (type == MessageType.MODULE_STATE) {
    m.onState(frameId, rxBuffer, length, now_ms);
  } else if (type == MessageType.MODULE_HEALTH) {
    m.onHealth(frameId, rxBuffer, length, now_ms);
  }
}

/** A frame from the vehicle bus (11-bit id), its data at busRxBuffer(). */
export function vehicleReceive(id: i32, length: i32, now_ms: i64): void {
  const s = state;
  if (s === null) return;
  const frameId = <u32>id;
  if (frameId == VehicleId.VCU_COMMAND) {
    if (!e2eAccepted(s.vehicle.receiveCommand(rxBuffer, length, now_ms))) fault_report(FaultCode.BUS_FRAME_REJECTED, id);
  } else if (frameId == VehicleId.VCU_TIME) {
    if (!s.vehicle.receiveTime(rxBuffer, length, now_ms)) fault_report(FaultCode.BUS_FRAME_REJECTED, id);
  }
}

// --- read-only state for tests and telemetry ---
function validIndex(index: i32): bool { return state !== null && index >= 0 && index < state!.modules.count; }

export function moduleCount(): i32 { return state === null ? 0 : state!.modules.count; }
export function expectedModuleCount(): i32 { return state === null ? 0 : state!.expectedModules; }
export function freshModuleCount(): i32 { return state === null ? 0 : state!.modules.freshModules; }
export function packVoltage_mV(): f32 { return state === null ? NaN : state!.packVoltage_mV; }
export function packCurrent_mA(): f32 { return state === null ? NaN : state!.packCurrent_mA; }
export function linkVoltage_mV(): f32 { return state === null ? NaN : state!.linkVoltage_mV; }
export function sumModuleVoltage_mV(): f32 { return state === null ? NaN : state!.modules.sumVoltage_mV; }
export function minModuleVoltage_mV(): f32 { return state === null ? NaN : state!.modules.minVoltage_mV; }
export function maxModuleVoltage_mV(): f32 { return state === null ? NaN : state!.modules.maxVoltage_mV; }
export function minModuleIndex(): i32 { return state === null ? -1 : state!.modules.minVoltageIndex; }
export function maxModuleIndex(): i32 { return state === null ? -1 : state!.modules.maxVoltageIndex; }
export function minTemperature_C(): f32 { return state === null ? NaN : state!.modules.minTemperature_C; }
export function maxTemperature_C(): f32 { return state === null ? NaN : state!.modules.maxTemperature_C; }
export function minTemperatureIndex(): i32 { return state === null ? -1 : state!.modules.minTemperatureIndex; }
export function maxTemperatureIndex(): i32 { return state === null ? -1 : state!.modules.maxTemperatureIndex; }
export function unsupervisedModuleCount(): i32 { return state === null ? 0 : state!.modules.unsupervised; }
export function moduleVoltage_mV(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.voltage_mV[index]) : NaN; }
export function moduleCurrent_mA(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.current_mA[index]) : NaN; }
export function moduleTemperature_C(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.temperature_C[index]) : NaN; }
export function moduleFlags(index: i32): i32 { return validIndex(index) ? unchecked(state!.modules.flags[index]) : 0; }
export function moduleSerialLow(index: i32): u32 { return validIndex(index) ? unchecked(state!.modules.serialLow[index]) : 0; }
export function moduleSerialHigh(index: i32): u32 { return validIndex(index) ? unchecked(state!.modules.serialHigh[index]) : 0; }
export function moduleLastSeen_ms(index: i32): i64 { return validIndex(index) ? unchecked(state!.modules.lastSeen_ms[index]) : -1; }
export function moduleSoc(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.soc[index]) : NaN; }
export function moduleSocSigma(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.socSigma[index]) : NaN; }
export function moduleCapacity_Ah(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.capacity_Ah[index]) : NaN; }
export function moduleCapacitySigma_Ah(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.capacitySigma_Ah[index]) : NaN; }
export function moduleStateFlags(index: i32): i32 { return validIndex(index) ? unchecked(state!.modules.stateFlags[index]) : 0; }
export function moduleR0_Ohm(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.r0_Ohm[index]) : NaN; }
export function moduleR0Sigma_Ohm(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.r0Sigma_Ohm[index]) : NaN; }
export function moduleEquivalentFullCycles(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.equivalentFullCycles[index]) : NaN; }
export function moduleSoh(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.capacitySoh[index]) : NaN; }
export function moduleResistanceScale(index: i32): f32 { return validIndex(index) ? unchecked(state!.states.resistanceScale[index]) : NaN; }
export function moduleAnnounced(index: i32): bool { return validIndex(index) && unchecked(state!.modules.announced[index]); }
export function moduleProtocolVersion(index: i32): i32 { return validIndex(index) ? unchecked(state!.modules.protocolVersion[index]) : -1; }
export function moduleCellHash(index: i32): i32 { return validIndex(index) ? unchecked(state!.modules.cellHash[index]) : -1; }
export function moduleCellMismatch(index: i32): bool { return validIndex(index) && unchecked(state!.modules.cellMismatch[index]); }
export function moduleIncompatible(index: i32): bool { return validIndex(index) && unchecked(state!.modules.incompatible[index]); }
export function framesAccepted(): i32 { return state === null ? 0 : state!.modules.framesAccepted; }
export function framesRejectedLength(): i32 { return state === null ? 0 : state!.modules.rejectedLength; }
export function framesRejectedCrc(): i32 { return state === null ? 0 : state!.modules.rejectedCrc; }
export function framesRejectedCounter(): i32 { return state === null ? 0 : state!.modules.rejectedCounter; }
export function framesRejectedSource(): i32 { return state === null ? 0 : state!.modules.rejectedSource; }
export function framesRejectedProtocol(): i32 { return state === null ? 0 : state!.modules.rejectedProtocol; }
export function framesSent(): i32 { return state === null ? 0 : state!.framesSent; }
export function protocolVersion(): i32 { return PROTOCOL_VERSION; }
// pack configuration
export function configError(): i32 { return state === null ? 0 : state!.configError; }
export function configValid(): bool { return state !== null && state!.config.valid; }
export function configCellIdHash(): i32 { return state === null ? -1 : state!.config.cellIdHash; }
export function configModuleCapacity_Ah(): f32 { return state === null ? NaN : state!.config.moduleCapacity_Ah; }
// pack estimation
export function packSoc(): f32 { return state === null ? NaN : state!.packSoc.soc; }
export function packSocMin(): f32 { return state === null ? NaN : state!.packSoc.socMin; }
export function packSocMax(): f32 { return state === null ? NaN : state!.packSoc.socMax; }
export function packSocMean(): f32 { return state === null ? NaN : state!.packSoc.socMean; }
export function usableCapacity_Ah(): f32 { return state === null ? NaN : state!.packSoc.usableCapacity_Ah; }
export function packSoh(): f32 { return state === null ? NaN : state!.modules.minSoh; }
export function remainingEnergy_Wh(): f32 { return state === null ? NaN : state!.energy.remaining_Wh; }
export function range_km(): f32 { return state === null ? NaN : state!.range_km; }
export function consumption_Wh_per_km(): f32 { return state === null ? NaN : state!.range.consumption_Wh_per_km; }
/** Advertised limits (after derating and fault gating), horizon 0 = 2 s, 1 = 10 s, 2 = 30 s. */
export function maxDischargeCurrent_A(horizon: i32): f32 { return state === null || horizon < 0 || horizon >= SOP_HORIZON_COUNT ? NaN : unchecked(state!.maxDischarge_A[horizon]); }
export function maxChargeCurrent_A(horizon: i32): f32 { return state === null || horizon < 0 || horizon >= SOP_HORIZON_COUNT ? NaN : unchecked(state!.maxCharge_A[horizon]); }
export function maxPackVoltage_V(): f32 { return state === null || !state!.config.valid ? NaN : state!.sop.maxPackVoltage_V(state!.config.modulesInSeries); }
export function minPackVoltage_V(): f32 { return state === null || !state!.config.valid ? NaN : state!.sop.minPackVoltage_V(state!.config.modulesInSeries); }
// protection and contactors
export function bmsState(): i32 { return state === null ? BmsState.INIT : state!.bmsState; }
export function faultLevel(fault: i32): i32 { return state === null ? 0 : state!.protection.level(fault); }
export function highestFaultLevel(): i32 { return state === null ? 0 : state!.protection.highestLevel; }
export function faultValue(fault: i32): f32 { return state === null ? NaN : state!.protection.monitoredValue(fault); }
export function faultThreshold(fault: i32, level: i32): f32 { return state === null ? NaN : state!.protection.threshold(fault, level); }
export function freezeFramesRecorded(): u32 { return state === null ? 0 : state!.protection.log.recorded; }
export function latestFaultCode(): i32 { return state === null || state!.protection.log.count == 0 ? 0 : state!.protection.log.newest().code; }
export function contactorState(): i32 { return state === null ? ContactorState.OPEN : state!.sequencer.state; }
export function contactorWeldedMask(): i32 { return state === null ? 0 : state!.sequencer.weldedMask; }
export function sequencerFailure(): i32 { return state === null ? 0 : state!.sequencer.failure; }
// fault log in flash
export function storeMountStatus(): i32 { return state === null || state!.faultLog === null ? StoreError.NOT_MOUNTED : state!.faultLog!.mountStatus; }
/** Freeze frames persisted over the controller's life (across reboots). */
export function storedFreezeFrames(): u32 { return state === null || state!.faultLog === null ? 0 : state!.faultLog!.nextNumber; }
export function storedFreezeFramesDropped(): u32 { return state === null || state!.faultLog === null ? 0 : state!.faultLog!.dropped; }
/** The fault log with persisted freeze frame `number` loaded (reads flash), null when it is not held. */
function storedFrame(number: u32): FaultLog | null {
  const s = state;
  if (s === null) return null;
  const log = s.faultLog;
  if (log === null || !log.load(number)) return null;
  return log;
}
/** Diagnostic code of persisted freeze frame `number`, -1 when it is not held. */
export function storedFreezeFrameCode(number: u32): i32 {
  const log = storedFrame(number);
  return log === null ? -1 : log.loadedCode();
}
export function storedFreezeFrameValue(number: u32): f32 {
  const log = storedFrame(number);
  return log === null ? NaN : log.loadedValue();
}
export function storedFreezeFrameTime_ms(number: u32): i64 {
  const log = storedFrame(number);
  return log === null ? -1 : log.loadedTime_ms();
}
export function storedFreezeFrameUnixTime_s(number: u32): u32 {
  const log = storedFrame(number);
  return log === null ? 0 : log.loadedUnixTime_s();
}
export function storedFreezeFramePackVoltage_mV(number: u32): f32 {
  const log = storedFrame(number);
  return log === null ? NaN : log.loadedPackVoltage_mV();
}
// vehicle
export function vehicleFramesSent(): i32 { return state === null ? 0 : state!.vehicleFramesSent; }
export function vehicleSendFailures(): i32 { return state === null ? 0 : state!.vehicleSendFailures; }
export function vehicleCloseRequested(): bool { return state !== null && state!.vehicle.closeRequested(state!.now_ms); }
export function vehicleSpeed_km_per_h(): f32 { return state === null ? NaN : state!.vehicle.speed(state!.now_ms); }
export function vehicleRejectedLength(): i32 { return state === null ? 0 : state!.vehicle.rejectedLength; }
export function vehicleRejectedCrc(): i32 { return state === null ? 0 : state!.vehicle.rejectedCrc; }
export function vehicleRejectedCounter(): i32 { return state === null ? 0 : state!.vehicle.rejectedCounter; }
export function unixTime_s(): u32 { return state === null ? 0 : state!.vehicle.unixNow_s(state!.now_ms); }
export function firmwareVersion(): i32 { return FIRMWARE_VERSION; }
export function heapTop(): usize { return runtimeHeapTop(); }
export function heapTopAtInit(): usize { return sealedHeapTop; }
