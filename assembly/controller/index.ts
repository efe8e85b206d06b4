// Controller firmware: enumerates the nodes through the daisy chain, supervises them, measures
// pack voltage and current itself, protects the pack (limits, plausibility, contactors), estimates
// what the vehicle needs (usable SOC, energy, range, state of power) and talks to the vehicle.
//
// One tick, in this order (docs/architecture.md, "Data flow of one tick"): measure -> aggregate the
// module table -> the chain enumeration (a re-enumeration starts here) -> Protection.evaluate ->
// ContactorSequencer.update and the coil outputs, in the same tick (the over-voltage fault-tolerant
// time budget counts on it) -> persist at most one freeze frame -> pack estimation -> balancing
// plan -> CONTROLLER_STATUS -> BALANCE_COMMANDs due -> PACK_INFO (every second) -> vehicle frames.
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
  ADDRESS_ASSIGN_LENGTH, CONTROLLER_STATUS_LENGTH, ADDRESS_RESET_LENGTH, PACK_INFO_LENGTH, BALANCE_COMMAND_LENGTH, PROTOCOL_VERSION,
  encodeAddressAssign, encodeControllerStatus, encodeAddressReset, encodePackInfo, serialLowOf, serialHighOf,
  DESTINATION_MASK, destinationFilter, StatusFlag,
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
import { PackConfig, PACK_CONFIG_MAX_BYTES, BalancingStrategy } from "../pack/config";
import { ModuleBus, MAX_MODULES } from "./modules";
import { ChainEnumeration, EnumerationState } from "./enumeration";
import { ControllerBalancing } from "./balancing";
import { FaultLog, loadPackConfig } from "./flash";
import { StoreError } from "../storage/record-store";
import {
  VehicleCommand, VehicleId, BmsState, ChargeMode, VEHICLE_FRAME_LENGTH, ENERGY_RANGE_PERIOD_ms,
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
/** PACK_INFO period (docs/protocol.md). */
const PACK_INFO_PERIOD_ms: i64 = 1000;
/**
 * Shortest time the pack stays in STANDBY (string open, every module reporting) before a close
 * starts: the nodes' zero-current calibration (docs/estimation.md) averages ten 100 ms samples of
 * their shunt channel, which brings a 0.27 A per-sample noise to 85 mA. Key-on to HV-ready takes
 * about as long in production vehicles anyway (contactor and precharge sequencing).
 */
const ZERO_CURRENT_DWELL_ms: i64 = 1000;
/**
 * The vehicle asking for the contactors open this long (VCU_Command OPEN, or no command at all) is
 * a parking or a shutdown, not a transient reopen: the nodes are asked to persist. Twenty
 * VCU_Command periods (issue: "contactor request OPEN held 2 s").
 */
const SHUTDOWN_OPEN_HOLD_ms: i64 = 2000;
/**
 * PERSIST stays set in this many CONTROLLER_STATUS frames: a node that loses two in a row (the E2E
 * max delta of 3, docs/protocol.md) still sees it.
 */
const PERSIST_REQUEST_FRAMES: i32 = 3;
/** Plausible bleed resistor of the pack's nodes, Ohm (board_config BALANCE_RESISTANCE_Ohm): as the node's own check. */
const BLEED_RESISTANCE_MAX_Ohm: f64 = 1.0e6;
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
  enumeration: ChainEnumeration = new ChainEnumeration();
  balancing: ControllerBalancing;
  limits: SafetyLimits;
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
  /** An OPEN latched before the last controller reset (the flash's latch record), until the vehicle's fault reset. */
  restartLatched: bool = false;
  /** When every module last started reporting with the contactors open (-1: not all reporting). */
  readySince_ms: i64 = -1;
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
  /** Pack id of PACK_INFO: the controller's serial, low 32 bits (not sent while unknown). */
  packId: u32 = 0;
  packIdKnown: bool = false;
  lastPackInfo_ms: i64 = -1;
  /** CONTROLLER_STATUS frames still to carry PERSIST. */
  persistFramesLeft: i32 = 0;
  /** The vehicle asked for the contactors closed since the last shutdown request. */
  closeSeen: bool = false;
  openSince_ms: i64 = -1;
  framesSent: i32 = 0;
  sendFailures: i32 = 0;
  vehicleFramesSent: i32 = 0;
  vehicleSendFailures: i32 = 0;
  vehicleSendFailing: bool = false;
  /** The last fault-log write failed (a new run of failures is reported once). */
  storeFailing: bool = false;
  now_ms: i64 = 0;

  constructor(config: PackConfig, bleedResistance_Ohm: f32) {
    this.config = config;
    const limits = new SafetyLimits(config.cellRatings());
    this.limits = limits;
    this.balancing = new ControllerBalancing(config.valid ? config.balancingStrategy : BalancingStrategy.NONE, limits, bleedResistance_Ohm);
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
  const bleedResistance = board_config(ConfigKey.BALANCE_RESISTANCE_Ohm);
  const s = new ControllerState(configured, bleedResistance > 0 && bleedResistance < BLEED_RESISTANCE_MAX_Ohm ? <f32>bleedResistance : <f32>NaN);
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
  const serialLow = board_config(ConfigKey.UNIT_SERIAL_LOW);
  if (isNaN(serialLow)) fault_report(FaultCode.BOARD_CONFIG_MISSING, ConfigKey.UNIT_SERIAL_LOW);
  else {
    s.packId = <u32>serialLow;
    s.packIdKnown = true;
  }
  for (let h = 0; h < SOP_HORIZON_COUNT; h++) {
    unchecked(s.maxDischarge_A[h] = 0);
    unchecked(s.maxCharge_A[h] = 0);
  }
  if (!isNaN(sectorSize) && !isNaN(sectorCount) && !isNaN(programUnit)) {
    const log = new FaultLog(<i32>sectorSize, <i32>sectorCount, <i32>programUnit);
    const status = log.mount();
    if (FaultLog.failed(status)) fault_report(FaultCode.STORE_CORRUPT, status);
    s.faultLog = log;
    if (log.latchedAtMount) {
      // The contactors were latched open when the controller went down: they stay open until
      // the vehicle's fault reset, as if it had never restarted.
      s.restartLatched = true;
      fault_report(FaultCode.PROTECTION_OPEN, log.latchedCode);
    }
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
  input.modulesLost = s.enumeration.lostModules(m, now_ms);
  input.meanSoc = m.meanSoc;
  // The sequencer's findings of the previous tick.
  input.contactorWelded = s.sequencer.welded;
  input.prechargeFailed = s.sequencer.prechargeFailed;
  const p = s.protection;
  p.evaluate(now_ms);
  if (s.vehicle.resetPending) {
    s.vehicle.resetPending = false;
    // A latch from before a restart is released with the present ones, and only if none remains.
    if (p.requestReset()) s.restartLatched = false;
    s.sequencer.reset();
  }
  const open = p.activeFaultMask(FaultLevel.OPEN);
  const log = s.faultLog;
  if (log !== null) {
    // The code of the lowest OPEN fault type (ctz: the mask's lowest set bit), or the one latched before a restart.
    const code = open != 0 ? diagnosticCode(<i32>ctz(open), FaultLevel.OPEN) : log.latchedCode;
    log.wantLatch(open != 0 || s.restartLatched, code);
  }
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
  if (!ready) s.readySince_ms = -1;
  else if (s.readySince_ms < 0) s.readySince_ms = now_ms;
  // A close starts only with every module reporting, and not before the nodes have seen the open
  // string for ZERO_CURRENT_DWELL_ms (they measure their current offsets meanwhile); once under
  // way, a module lost is the protection's to judge (MODULE_COMMUNICATION_LOST), not a reason to
  // drop the request at once.
  const dwelt = ready && now_ms - s.readySince_ms >= ZERO_CURRENT_DWELL_ms;
  const close = valid && s.vehicle.closeRequested(now_ms) && (seq.state != ContactorState.OPEN || dwelt);
  const forceOpen = !valid || s.protection.openRequested() || s.restartLatched;
  seq.update(close, forceOpen, s.positiveAux, s.negativeAux, s.packVoltage_mV / mV_PER_V, s.linkVoltage_mV / mV_PER_V, now_ms);
  gpio_write(GpioPin.CONTACTOR_POSITIVE, seq.positiveCoil ? 1 : 0);
  gpio_write(GpioPin.CONTACTOR_NEGATIVE, seq.negativeCoil ? 1 : 0);
  gpio_write(GpioPin.CONTACTOR_PRECHARGE, seq.prechargeCoil ? 1 : 0);
  s.bmsState = packState(s, ready);
}

function packState(s: ControllerState, ready: bool): i32 {
  const state = s.sequencer.state;
  if (!s.config.valid || s.protection.openRequested() || s.restartLatched || state == ContactorState.FAULT) return BmsState.FAULT;
  if (state == ContactorState.CLOSED) return BmsState.CONNECTED;
  if (state == ContactorState.OPENING_POSITIVE || state == ContactorState.OPENING_NEGATIVE) return BmsState.OPENING;
  if (state != ContactorState.OPEN) return BmsState.PRECHARGE;
  return ready ? BmsState.STANDBY : BmsState.INIT;
}

function persist(s: ControllerState, now_ms: i64): void {
  const log = s.faultLog;
  if (log === null) return;
  // One record per tick: the latch state first (it decides what a restart does), then freeze frames.
  const result = log.latchDue ? log.persistLatch(s.vehicle.unixNow_s(now_ms)) : log.persistNext(s.protection.log, s.vehicle.unixNow_s(now_ms));
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

/**
 * PERSIST for a few frames when the vehicle parks (ChargeMode turns PARKED) or shuts down (asks for
 * the contactors open, or stops commanding, for SHUTDOWN_OPEN_HOLD_ms after having asked them closed).
 */
function persistRequested(s: ControllerState, now_ms: i64): bool {
  const v = s.vehicle;
  let trigger = false;
  if (v.parkedPending) {
    v.parkedPending = false;
    trigger = true;
  }
  if (v.closeRequested(now_ms)) {
    s.closeSeen = true;
    s.openSince_ms = -1;
  } else if (s.closeSeen) {
    if (s.openSince_ms < 0) s.openSince_ms = now_ms;
    if (now_ms - s.openSince_ms >= SHUTDOWN_OPEN_HOLD_ms) {
      s.closeSeen = false;
      trigger = true;
    }
  }
  if (trigger) s.persistFramesLeft = PERSIST_REQUEST_FRAMES;
  if (s.persistFramesLeft <= 0) return false;
  s.persistFramesLeft--;
  return true;
}

/**
 * Balancing plan and whether the nodes may act on it: a valid configuration, no protection fault at
 * DERATE or above, the chain enumerated with every configured module, and an operating state the
 * strategy allows (assembly/controller/balancing.ts).
 */
function planBalancing(s: ControllerState, now_ms: i64): void {
  const permitted = s.config.valid && !s.protection.derateRequested() && s.enumeration.complete
    && s.expectedModules > 0 && s.modules.enumerated == s.expectedModules;
  const charging = s.vehicle.chargeMode == ChargeMode.AC_CHARGE || s.vehicle.chargeMode == ChargeMode.DC_CHARGE;
  s.balancing.update(s.modules, s.expectedModules, s.packCurrent_mA / mA_PER_A, charging, permitted, now_ms);
}

function sendStatus(s: ControllerState, now_ms: i64): void {
  let requests = 0;
  if (s.modules.announceMissing() && (s.lastAnnounceRequest_ms < 0 || now_ms - s.lastAnnounceRequest_ms >= ANNOUNCE_REQUEST_PERIOD_ms)) {
    requests |= ControllerRequest.ANNOUNCE;
    s.lastAnnounceRequest_ms = now_ms;
  }
  // The vehicle parks or shuts down: nodes store their estimator state before the power goes.
  if (persistRequested(s, now_ms)) requests |= ControllerRequest.PERSIST;
  const id = makeId(Priority.CONTROL, MessageType.CONTROLLER_STATUS, ADDRESS_BROADCAST, ADDRESS_CONTROLLER);
  encodeControllerStatus(id, txBuffer, s.statusCounter, s.bmsState, requests, s.balancing.allowed ? StatusFlag.BALANCING_ALLOWED : 0, s.vehicle.unixNow_s(now_ms));
  s.statusCounter = e2eNextCounter(s.statusCounter);
  send(s, id, CONTROLLER_STATUS_LENGTH);
}

function sendBalanceCommands(s: ControllerState): void {
  let id = s.balancing.nextCommand(s.modules, txBuffer);
  while (id != 0) {
    send(s, id, BALANCE_COMMAND_LENGTH);
    id = s.balancing.nextCommand(s.modules, txBuffer);
  }
}

/** PACK_INFO every second: which pack this is and how many modules it has (nodes record their membership). */
function sendPackInfo(s: ControllerState, now_ms: i64): void {
  if (!s.packIdKnown || (s.lastPackInfo_ms >= 0 && now_ms - s.lastPackInfo_ms < PACK_INFO_PERIOD_ms)) return;
  s.lastPackInfo_ms = now_ms;
  encodePackInfo(txBuffer, s.packId, s.expectedModules);
  send(s, makeId(Priority.STATE, MessageType.PACK_INFO, ADDRESS_BROADCAST, ADDRESS_CONTROLLER), PACK_INFO_LENGTH);
}

/** The chain's tick; a re-enumeration starts with ADDRESS_RESET (the nodes drop their addresses). */
function enumerate(s: ControllerState, now_ms: i64): void {
  const e = s.enumeration;
  const reason = e.tick(s.modules, s.expectedModules, now_ms);
  if (reason >= 0) {
    const id = makeId(Priority.NETWORK_MANAGEMENT, MessageType.ADDRESS_RESET, ADDRESS_BROADCAST, ADDRESS_CONTROLLER);
    encodeAddressReset(id, txBuffer, e.resetCounter, reason);
    e.resetCounter = e2eNextCounter(e.resetCounter);
    send(s, id, ADDRESS_RESET_LENGTH);
    s.balancing.onReset();
  }
  if (e.completedNow) s.balancing.onEnumerated(e.previousIndex, s.modules.count);
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
  enumerate(s, now_ms);
  protect(s, now_ms);
  switchContactors(s, now_ms);
  persist(s, now_ms);
  estimate(s, now_ms);
  planBalancing(s, now_ms);
  sendStatus(s, now_ms);
  sendBalanceCommands(s);
  sendPackInfo(s, now_ms);
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
    // While the select output is low no node can be selected: the request comes from a node that
    // did not hear ADDRESS_RESET and would take an address out of chain order.
    if (s.enumeration.state == EnumerationState.RESETTING) {
      s.enumeration.requestsIgnored++;
      return;
    }
    const address = m.onAddressRequest(rxBuffer, length, now_ms);
    if (address < 0) return;
    s.enumeration.activity(now_ms);
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
  } else if (type == MessageType.BALANCE_REPORT) {
    m.onBalanceReport(frameId, rxBuffer, length, now_ms);
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

/** Modules enumerated: heard from at the address they were given (an offer a node refused is not one). */
export function moduleCount(): i32 { return state === null ? 0 : state!.modules.enumerated; }
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
export function restartLatched(): bool { return state !== null && state!.restartLatched; }
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
// enumeration (chain order, re-enumeration)
/** EnumerationState: 0 enumerating, 1 complete, 2 resetting. */
export function enumerationState(): i32 { return state === null ? EnumerationState.ENUMERATING : state!.enumeration.state; }
export function addressResets(): i32 { return state === null ? 0 : state!.enumeration.resets; }
/** AddressResetReason of the last re-enumeration, -1 none. */
export function lastAddressResetReason(): i32 { return state === null ? -1 : state!.enumeration.lastReason; }
export function modulesMoved(): i32 { return state === null ? 0 : state!.enumeration.moved; }
export function modulesAdded(): i32 { return state === null ? 0 : state!.enumeration.added; }
export function addressRequestsIgnored(): i32 { return state === null ? 0 : state!.enumeration.requestsIgnored; }
export function modulesLost(): i32 { return state === null ? 0 : state!.protection.inputs.modulesLost; }
export function moduleDuplicate(index: i32): bool { return validIndex(index) && unchecked(state!.modules.duplicate[index]); }
export function packId(): u32 { return state === null ? 0 : state!.packId; }
// balancing
export function balancingStrategy(): i32 { return state === null ? BalancingStrategy.NONE : state!.balancing.strategy; }
export function balancingAllowed(): bool { return state !== null && state!.balancing.allowed; }
/** OperatingState: 0 rest, 1 charging, 2 driving. */
export function balancingOperatingState(): i32 { return state === null ? 0 : state!.balancing.operatingState; }
/** BalanceStatus bits of the planner's last update. */
export function balancingStatus(): i32 { return state === null ? 0 : state!.balancing.status; }
export function balancingUsableBefore_Ah(): f32 { return state === null ? NaN : state!.balancing.usableBefore_Ah(); }
export function balancingUsableAfter_Ah(): f32 { return state === null ? NaN : state!.balancing.usableAfter_Ah(); }
export function balancingPlannedTime_s(): f32 { return state === null ? NaN : state!.balancing.plannedTime_s(); }
export function balanceCommandsSent(): i32 { return state === null ? 0 : state!.balancing.commandsSent; }
/** The last BALANCE_COMMAND sent to a module: bleed charge (mAh), duty, converter power (W). */
export function balanceCommandCharge_mAh(index: i32): f32 { return validIndex(index) ? unchecked(state!.balancing.sentCharge_mAh[index]) : NaN; }
export function balanceCommandDuty(index: i32): f32 { return validIndex(index) ? unchecked(state!.balancing.sentDuty[index]) : NaN; }
export function balanceCommandPower_W(index: i32): f32 { return validIndex(index) ? unchecked(state!.balancing.sentPower_W[index]) : NaN; }
/** The node holds a non-zero command. */
export function balanceCommandInForce(index: i32): bool { return validIndex(index) && unchecked(state!.balancing.inForce[index]); }
/** BALANCE_REPORT: BleedState (-1 before the first report), charge removed under the plan in force (mAh), converter energy summed since the first report (J). */
export function balanceReportState(index: i32): i32 { return validIndex(index) ? unchecked(state!.modules.balanceState[index]) : -1; }
export function balanceReportSequence(index: i32): i32 { return validIndex(index) ? unchecked(state!.modules.balanceSequence[index]) : -1; }
export function balanceReportDuty(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.balanceDuty[index]) : NaN; }
export function balanceReportRemoved_mAh(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.balanceRemoved_mAh[index]) : NaN; }
export function balanceReportEnergy_J(index: i32): f32 { return validIndex(index) ? unchecked(state!.modules.balanceEnergy_J[index]) : NaN; }
export function firmwareVersion(): i32 { return FIRMWARE_VERSION; }
export function heapTop(): usize { return runtimeHeapTop(); }
export function heapTopAtInit(): usize { return sealedHeapTop; }
