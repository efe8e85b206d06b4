// The controller's view of its nodes: one row per module address (index = address - 1), filled
// from the module bus (docs/protocol.md) and aggregated once per tick into what protection and
// the pack estimators read. Fixed-size arrays, allocated once.
import { fault_report, FaultCode } from "../hal/abi";
import { e2eCheck, e2eAccepted, e2eCounterOf, E2eStatus } from "../protocol/e2e";
import {
  MessageType, MeasurementFlag, StateFlag, PROTOCOL_VERSION, ADDRESS_FIRST_NODE, AddressResetReason,
  ADDRESS_REQUEST_LENGTH, MODULE_MEASUREMENT_LENGTH, NODE_ANNOUNCE_LENGTH, MODULE_STATE_LENGTH, MODULE_HEALTH_LENGTH,
  BALANCE_REPORT_LENGTH, reportBleedState, reportSequence, reportDuty, reportRemoved_mAh, reportEnergy_J,
  idSource, serialLowOf, serialHighOf, requestProtocolVersion,
  measurementFlagsOf, measurementVoltage_mV, measurementCurrent_mA, measurementTemperature_C,
  announceProtocolVersion, announceFirmwareVersion, announceCellHash, announceCapacity_Ah, announceParallelCells, announceModelLoaded,
  stateFlagsOf, stateSoc, stateSocSigma, stateCapacity_Ah, stateCapacitySigma_Ah,
  healthR0_Ohm, healthR0Sigma_Ohm, healthEquivalentFullCycles, healthCapacitySoh,
} from "../protocol/messages";
import { ModuleStates, MAX_PACK_MODULES } from "../pack/modules";

/** Module table size: the largest pack the controller supervises directly (issue: 1 to 256 modules). */
export const MAX_MODULES: i32 = MAX_PACK_MODULES;
/**
 * A module whose last accepted MODULE_MEASUREMENT is older than this is stale: five 100 ms report
 * periods, i.e. four consecutive frames lost, one more than the E2E max delta of three.
 */
export const MODULE_TIMEOUT_ms: i64 = 500;
/** The same rule for MODULE_STATE (1 s period) and MODULE_HEALTH (10 s period): five periods. */
export const STATE_TIMEOUT_ms: i64 = 5000;
export const HEALTH_TIMEOUT_ms: i64 = 50000;
/**
 * Plausible range of a module's resistance relative to the configured model: a reported R0 outside
 * half to ten times the datasheet value is a bad estimate, not an aged module (end of life is
 * usually declared at twice the initial resistance). Values outside are clamped.
 */
const RESISTANCE_SCALE_MIN: f32 = 0.5;
const RESISTANCE_SCALE_MAX: f32 = 10.0;
/**
 * A node that took its address reports at its next tick (100 ms); an offer not answered by a frame
 * from that address within five report periods (the MODULE_TIMEOUT_ms rule) was refused, and its
 * row is free for the next request.
 */
export const OFFER_TIMEOUT_ms: i64 = MODULE_TIMEOUT_ms;
/**
 * A node repeats an unanswered ADDRESS_REQUEST after 10 ticks (1 s, assembly/node/index.ts). A
 * request with the serial of an address offered less than half of that ago cannot be the same
 * unit asking again: it is the next unit of the chain, selected by the first one taking its
 * address, and it carries the same serial.
 */
export const REPEAT_MIN_ms: i64 = 500;
/** BALANCE_REPORT energy counter: 1 J per bit, modulo 2^16 (docs/protocol.md). */
const ENERGY_COUNTER_MODULO: i32 = 65536;

export class ModuleBus {
  // identity
  readonly serialLow: StaticArray<u32> = new StaticArray<u32>(MAX_MODULES);
  readonly serialHigh: StaticArray<u32> = new StaticArray<u32>(MAX_MODULES);
  /** False for a row adopted from a frame after a controller reset (the node keeps its address). */
  readonly serialKnown: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  /** A frame came from this address since it was offered or adopted: the module is enumerated. */
  readonly confirmed: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  /** When the address was last offered in an ADDRESS_ASSIGN (-1: adopted, never offered). */
  readonly offered_ms: StaticArray<i64> = new StaticArray<i64>(MAX_MODULES);
  /** A request with this row's serial came while the row was still reporting (-1: none pending). */
  readonly duplicateRequest_ms: StaticArray<i64> = new StaticArray<i64>(MAX_MODULES);
  /** The row reported after such a request: another unit carries its serial. */
  readonly duplicateSeen: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  /** The row was given to a unit whose serial an earlier row already has. */
  readonly duplicate: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  // MODULE_MEASUREMENT
  readonly voltage_mV: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly current_mA: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly temperature_C: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly flags: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly lastSeen_ms: StaticArray<i64> = new StaticArray<i64>(MAX_MODULES);
  readonly measurementCounter: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly timedOut: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  // NODE_ANNOUNCE (or the version of ADDRESS_REQUEST)
  readonly announced: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  readonly protocolVersion: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly firmwareVersion: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly cellHash: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly nominalCapacity_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly parallelCells: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly modelLoaded: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  readonly incompatible: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  readonly cellMismatch: StaticArray<bool> = new StaticArray<bool>(MAX_MODULES);
  // MODULE_STATE
  readonly stateCounter: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly stateFlags: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly soc: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly socSigma: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly capacity_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly capacitySigma_Ah: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly stateSeen_ms: StaticArray<i64> = new StaticArray<i64>(MAX_MODULES);
  // MODULE_HEALTH
  readonly healthCounter: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly r0_Ohm: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly r0Sigma_Ohm: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly equivalentFullCycles: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly capacitySoh: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly healthSeen_ms: StaticArray<i64> = new StaticArray<i64>(MAX_MODULES);
  // BALANCE_REPORT
  readonly reportCounter: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  /** BleedState the node reported (-1: no report yet). */
  readonly balanceState: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly balanceSequence: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  readonly balanceDuty: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  /** Charge removed under the plan in force, mAh (the node's count). */
  readonly balanceRemoved_mAh: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  /** Last energy counter received (0..65535), -1 before the first report. */
  readonly balanceEnergyCounter: StaticArray<i32> = new StaticArray<i32>(MAX_MODULES);
  /** Converter energy summed from the counter's differences since the first report, J (+ = delivered to the bus). */
  readonly balanceEnergy_J: StaticArray<f32> = new StaticArray<f32>(MAX_MODULES);
  readonly balanceSeen_ms: StaticArray<i64> = new StaticArray<i64>(MAX_MODULES);
  /** Rows in use (addresses 1..count), enumerated or offered. */
  count: i32 = 0;
  /** Rows confirmed by a frame from their address: the modules enumerated. */
  enumerated: i32 = 0;
  /**
   * Set by the enumeration: the chain has been enumerated, so a new serial, a duplicate serial or a
   * module gone for good means the chain changed (docs/protocol.md, "Re-enumeration").
   */
  enumerationComplete: bool = false;
  /** After a controller reset, rows are adopted from frames of nodes that kept their address; not after an ADDRESS_RESET. */
  adoption: bool = true;
  /** Re-enumeration the table asks for (AddressResetReason), -1 none; the enumeration acts at its next tick. */
  resetRequest: i32 = -1;
  /** An unknown serial asked while the full table still reported (-1: none): a swap if a row then goes silent. */
  unknownRequest_ms: i64 = -1;
  /** Addresses beyond this are neither assigned nor adopted: the configured module count. */
  limit: i32 = MAX_MODULES;
  /** Cell parameter id hash the nodes must announce, -1 when the configuration asks for no check. */
  expectedCellHash: i32 = -1;

  framesAccepted: i32 = 0;
  rejectedLength: i32 = 0;
  rejectedCrc: i32 = 0;
  rejectedCounter: i32 = 0;
  rejectedSource: i32 = 0;
  /** Frames of nodes with an incompatible protocol version, ignored. */
  rejectedProtocol: i32 = 0;

  // Aggregates of the last aggregate() call, over fresh modules.
  freshModules: i32 = 0;
  /** Modules whose voltage is in the sum. */
  voltageModules: i32 = 0;
  sumVoltage_mV: f32 = NaN;
  minVoltage_mV: f32 = NaN;
  maxVoltage_mV: f32 = NaN;
  minVoltageIndex: i32 = -1;
  maxVoltageIndex: i32 = -1;
  minTemperature_C: f32 = NaN;
  maxTemperature_C: f32 = NaN;
  minTemperatureIndex: i32 = -1;
  maxTemperatureIndex: i32 = -1;
  /** Timed out, incompatible, or reporting without a valid voltage or temperature: not supervised. */
  unsupervised: i32 = 0;
  /** Fresh, compatible and with a valid voltage and temperature: supervised. */
  supervised: i32 = 0;
  /** Mean SOC over every module when all report a confident state, else NaN. */
  meanSoc: f32 = NaN;
  /** Lowest capacity SOH reported (the weakest module's), NaN when none. */
  minSoh: f32 = NaN;

  constructor() {
    for (let i = 0; i < MAX_MODULES; i++) this.clear(i);
  }

  private clear(i: i32): void {
    unchecked(this.serialKnown[i] = false);
    unchecked(this.confirmed[i] = false);
    unchecked(this.offered_ms[i] = -1);
    unchecked(this.duplicateRequest_ms[i] = -1);
    unchecked(this.duplicateSeen[i] = false);
    unchecked(this.duplicate[i] = false);
    unchecked(this.reportCounter[i] = -1);
    unchecked(this.balanceState[i] = -1);
    unchecked(this.balanceSequence[i] = -1);
    unchecked(this.balanceDuty[i] = NaN);
    unchecked(this.balanceRemoved_mAh[i] = NaN);
    unchecked(this.balanceEnergyCounter[i] = -1);
    unchecked(this.balanceEnergy_J[i] = 0.0);
    unchecked(this.balanceSeen_ms[i] = -1);
    unchecked(this.voltage_mV[i] = NaN);
    unchecked(this.current_mA[i] = NaN);
    unchecked(this.temperature_C[i] = NaN);
    unchecked(this.lastSeen_ms[i] = -1);
    unchecked(this.timedOut[i] = false);
    unchecked(this.announced[i] = false);
    unchecked(this.incompatible[i] = false);
    unchecked(this.cellMismatch[i] = false);
    this.restartCounters(i);
    unchecked(this.stateSeen_ms[i] = -1);
    unchecked(this.healthSeen_ms[i] = -1);
    unchecked(this.soc[i] = NaN);
    unchecked(this.socSigma[i] = NaN);
    unchecked(this.capacity_Ah[i] = NaN);
    unchecked(this.capacitySigma_Ah[i] = NaN);
    unchecked(this.r0_Ohm[i] = NaN);
    unchecked(this.r0Sigma_Ohm[i] = NaN);
    unchecked(this.equivalentFullCycles[i] = NaN);
    unchecked(this.capacitySoh[i] = NaN);
    unchecked(this.nominalCapacity_Ah[i] = NaN);
    unchecked(this.cellHash[i] = -1);
  }

  /** A node that asks for an address again has restarted: its alive counters begin anew. */
  private restartCounters(i: i32): void {
    unchecked(this.measurementCounter[i] = -1);
    unchecked(this.stateCounter[i] = -1);
    unchecked(this.healthCounter[i] = -1);
  }

  /**
   * The row of a frame's source, or -1 (counted) when the source is not a known module. Any frame
   * from an address proves that a node took it: the row counts as enumerated from then on.
   */
  private rowOf(id: u32): i32 {
    const index = idSource(id) - ADDRESS_FIRST_NODE;
    if (index < 0 || index >= this.count) {
      this.rejectedSource++;
      return -1;
    }
    if (!unchecked(this.confirmed[index])) {
      unchecked(this.confirmed[index] = true);
      this.enumerated++;
    }
    if (unchecked(this.incompatible[index])) {
      this.rejectedProtocol++;
      return -1;
    }
    return index;
  }

  /** Counts a rejected frame by reason and reports it; resynchronises a counter on WRONG_SEQUENCE. */
  private reject(status: i32, counters: StaticArray<i32>, index: i32, data: usize, type: i32): void {
    if (status == E2eStatus.BAD_LENGTH) this.rejectedLength++;
    else if (status == E2eStatus.BAD_CRC) this.rejectedCrc++;
    else {
      this.rejectedCounter++;
      // Resynchronise on the sender's counter so one lost burst does not silence it for good.
      if (status == E2eStatus.WRONG_SEQUENCE) unchecked(counters[index] = e2eCounterOf(data));
    }
    fault_report(FaultCode.BUS_FRAME_REJECTED, type);
  }

  /** E2E-checks a frame against the row's counter of that message; true when accepted. */
  private accept(id: u32, data: usize, length: i32, expected: i32, counters: StaticArray<i32>, index: i32, type: i32): bool {
    const status = e2eCheck(id, data, length, expected, unchecked(counters[index]));
    if (!e2eAccepted(status)) {
      this.reject(status, counters, index, data, type);
      return false;
    }
    unchecked(counters[index] = e2eCounterOf(data));
    this.framesAccepted++;
    return true;
  }

  /** A node speaking another protocol version is reported once and ignored from then on. */
  private checkVersion(index: i32, version: i32): bool {
    unchecked(this.protocolVersion[index] = version);
    if (version == PROTOCOL_VERSION) {
      unchecked(this.incompatible[index] = false);
      return true;
    }
    if (!unchecked(this.incompatible[index])) {
      unchecked(this.incompatible[index] = true);
      fault_report(FaultCode.PROTOCOL_MISMATCH, (index + ADDRESS_FIRST_NODE) * 256 + version);
    }
    return false;
  }

  /**
   * ADDRESS_REQUEST: the address to assign (the caller sends ADDRESS_ASSIGN), or -1 for no answer.
   * While the chain enumerates: the same address again for a unit asking again, a row adopted after
   * a controller reset that has gone silent, else the next address, also for a second unit with a
   * serial already taken (DUPLICATE_SERIAL, so the chain behind it still enumerates in order).
   * Once enumerated (enumerationComplete), only a node that restarted gets its address back (its
   * row silent); a new serial or a duplicate asks for a re-enumeration (resetRequest) instead, as
   * only the chain can tell where the unit sits. A request whose serial's row still reports is
   * answered only once the row has gone silent (a restart) or has reported again (a duplicate).
   * A node with another protocol version still gets its address, so the chain behind it
   * enumerates, but is ignored.
   */
  onAddressRequest(data: usize, length: i32, now_ms: i64): i32 {
    if (length != ADDRESS_REQUEST_LENGTH) {
      this.rejectedLength++;
      fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.ADDRESS_REQUEST);
      return -1;
    }
    const serialLow = serialLowOf(data);
    const serialHigh = serialHighOf(data);
    const version = requestProtocolVersion(data);
    const known = this.findSerial(serialLow, serialHigh);
    if (known >= 0) {
      if (!unchecked(this.confirmed[known])) {
        // Offered, never heard at its address: the same unit asking again after its retry period,
        // or within half of it the next unit of the chain with the same serial.
        if (now_ms - unchecked(this.offered_ms[known]) >= REPEAT_MIN_ms) return this.offer(known, serialLow, serialHigh, version, now_ms);
        return this.duplicateOf(known, serialLow, serialHigh, version, now_ms);
      }
      if (unchecked(this.duplicateSeen[known])) return this.duplicateOf(known, serialLow, serialHigh, version, now_ms);
      // A node that restarted goes silent at its address; a second unit leaves the first one
      // reporting. Until one of the two is seen, no answer (the requester asks again in a second).
      const waiting = unchecked(this.duplicateRequest_ms[known]) >= 0;
      if (this.reporting(known, now_ms) || (!waiting && unchecked(this.lastSeen_ms[known]) < 0)) {
        if (!waiting) unchecked(this.duplicateRequest_ms[known] = now_ms);
        return -1;
      }
      // Silent: the node restarted and takes its address again (its E2E counters restart too).
      return this.offer(known, serialLow, serialHigh, version, now_ms);
    }
    // A row adopted after a controller reset that has gone silent: the node behind it restarted.
    for (let i = 0; i < this.count; i++) {
      if (!unchecked(this.serialKnown[i]) && !this.reporting(i, now_ms)) return this.offer(i, serialLow, serialHigh, version, now_ms);
    }
    if (this.enumerationComplete) {
      // A full pack: a unit beyond the configured count, or one swapped in whose predecessor's row
      // is still fresh. The swap shows within the module timeout (enumeration.ts); a unit that
      // asks again with every row still reporting is one too many.
      if (this.count >= this.limit) {
        if (this.freshCount(now_ms) < this.count) this.requestReset(AddressResetReason.MODULE_ADDED);
        else if (this.unknownRequest_ms >= 0) fault_report(FaultCode.MODULE_TABLE_FULL, this.count + ADDRESS_FIRST_NODE);
        else this.unknownRequest_ms = now_ms;
        return -1;
      }
      this.requestReset(AddressResetReason.MODULE_ADDED);
      return -1;
    }
    return this.newRow(serialLow, serialHigh, version, now_ms, false);
  }

  /** The row holding this serial, searched from the last (a duplicate's own row before its original), or -1. */
  private findSerial(serialLow: u32, serialHigh: u32): i32 {
    for (let i = this.count - 1; i >= 0; i--) {
      if (unchecked(this.serialKnown[i]) && unchecked(this.serialLow[i]) == serialLow && unchecked(this.serialHigh[i]) == serialHigh) return i;
    }
    return -1;
  }

  /** Offers row index to this serial; returns its address. */
  private offer(index: i32, serialLow: u32, serialHigh: u32, version: i32, now_ms: i64): i32 {
    this.restartCounters(index);
    unchecked(this.serialLow[index] = serialLow);
    unchecked(this.serialHigh[index] = serialHigh);
    unchecked(this.serialKnown[index] = true);
    unchecked(this.offered_ms[index] = now_ms);
    unchecked(this.duplicateRequest_ms[index] = -1);
    unchecked(this.duplicateSeen[index] = false);
    this.checkVersion(index, version);
    this.framesAccepted++;
    return index + ADDRESS_FIRST_NODE;
  }

  /**
   * The next address for a new unit, or -1 when the table is full. A new unit asking within
   * REPEAT_MIN_ms of the last offer proves that offer taken: only the node that took its address
   * raises the select input of the next one. Offers older than OFFER_TIMEOUT_ms that no frame
   * confirmed were refused and are dropped.
   */
  private newRow(serialLow: u32, serialHigh: u32, version: i32, now_ms: i64, duplicate: bool): i32 {
    const last = this.count - 1;
    if (last >= 0 && !unchecked(this.confirmed[last]) && unchecked(this.offered_ms[last]) >= 0 && now_ms - unchecked(this.offered_ms[last]) < REPEAT_MIN_ms) {
      unchecked(this.confirmed[last] = true);
      this.enumerated++;
    }
    while (this.count > 0 && !unchecked(this.confirmed[this.count - 1]) && unchecked(this.offered_ms[this.count - 1]) >= 0
      && now_ms - unchecked(this.offered_ms[this.count - 1]) > OFFER_TIMEOUT_ms) {
      this.count--;
      this.clear(this.count);
    }
    if (this.count >= this.limit) {
      fault_report(FaultCode.MODULE_TABLE_FULL, this.count + ADDRESS_FIRST_NODE);
      return -1;
    }
    const index = this.count++;
    this.clear(index);
    unchecked(this.duplicate[index] = duplicate);
    return this.offer(index, serialLow, serialHigh, version, now_ms);
  }

  /** A second unit with the serial of row original. */
  private duplicateOf(original: i32, serialLow: u32, serialHigh: u32, version: i32, now_ms: i64): i32 {
    if (this.enumerationComplete) {
      // Where the second unit sits only the chain can tell: enumerate again.
      this.requestReset(AddressResetReason.DUPLICATE_SERIAL);
      return -1;
    }
    unchecked(this.duplicateSeen[original] = false);
    unchecked(this.duplicateRequest_ms[original] = -1);
    fault_report(FaultCode.DUPLICATE_SERIAL, original + ADDRESS_FIRST_NODE);
    return this.newRow(serialLow, serialHigh, version, now_ms, true);
  }

  private requestReset(reason: i32): void {
    if (this.resetRequest < 0) this.resetRequest = reason;
  }

  /** Empties the table for a re-enumeration (the nodes have dropped their addresses). */
  reset(): void {
    for (let i = 0; i < this.count; i++) this.clear(i);
    this.count = 0;
    this.enumerated = 0;
    this.enumerationComplete = false;
    this.adoption = false;
    this.resetRequest = -1;
    this.unknownRequest_ms = -1;
  }

  /** Some row has stopped reporting (timed out). */
  anySilent(now_ms: i64): bool {
    for (let i = 0; i < this.count; i++) {
      if (unchecked(this.lastSeen_ms[i]) >= 0 && !unchecked(this.incompatible[i]) && !this.reporting(i, now_ms)) return true;
    }
    return false;
  }

  private freshCount(now_ms: i64): i32 {
    let fresh = 0;
    for (let i = 0; i < this.count; i++) if (this.reporting(i, now_ms)) fresh++;
    return fresh;
  }

  /** Rows that have reported at some time: the modules the controller has supervised. */
  rowsHeard(): i32 {
    let heard = 0;
    for (let i = 0; i < this.count; i++) if (unchecked(this.lastSeen_ms[i]) >= 0) heard++;
    return heard;
  }

  /** Some compatible module that reported has been silent for longer than silence_ms. */
  silentLongerThan(now_ms: i64, silence_ms: i64): bool {
    for (let i = 0; i < this.count; i++) {
      const seen = unchecked(this.lastSeen_ms[i]);
      if (seen >= 0 && !unchecked(this.incompatible[i]) && now_ms - seen > silence_ms) return true;
    }
    return false;
  }

  /**
   * After a controller reset the nodes keep their addresses and go on reporting: a measurement
   * from an address the table does not have yet (within the configured count) adds the rows up to
   * it, serials unknown. Address k is still the k-th module of the chain.
   */
  private adopt(id: u32): void {
    const address = idSource(id);
    if (!this.adoption || address - ADDRESS_FIRST_NODE < this.count || address > this.limit) return;
    while (this.count < address) this.clear(this.count++);
  }

  onMeasurement(id: u32, data: usize, length: i32, now_ms: i64): void {
    this.adopt(id);
    const index = this.rowOf(id);
    if (index < 0) return;
    if (!this.accept(id, data, length, MODULE_MEASUREMENT_LENGTH, this.measurementCounter, index, MessageType.MODULE_MEASUREMENT)) return;
    unchecked(this.flags[index] = measurementFlagsOf(data));
    unchecked(this.voltage_mV[index] = measurementVoltage_mV(data));
    unchecked(this.current_mA[index] = measurementCurrent_mA(data));
    unchecked(this.temperature_C[index] = measurementTemperature_C(data));
    unchecked(this.lastSeen_ms[index] = now_ms);
    unchecked(this.timedOut[index] = false);
    // Reporting after a request with its serial came in: another unit carries that serial (a
    // node that restarted sends nothing at its address before it has one again).
    if (unchecked(this.duplicateRequest_ms[index]) >= 0) {
      unchecked(this.duplicateRequest_ms[index] = -1);
      unchecked(this.duplicateSeen[index] = true);
      if (this.enumerationComplete) this.requestReset(AddressResetReason.DUPLICATE_SERIAL);
    }
  }

  /** NODE_ANNOUNCE (not E2E protected: informational): versions, cell parameter set, capacity. */
  onAnnounce(id: u32, data: usize, length: i32): void {
    const index = idSource(id) - ADDRESS_FIRST_NODE;
    if (index < 0 || index >= this.count) {
      this.rejectedSource++;
      return;
    }
    // The node sends it first thing after taking its address.
    if (!unchecked(this.confirmed[index])) {
      unchecked(this.confirmed[index] = true);
      this.enumerated++;
    }
    if (length != NODE_ANNOUNCE_LENGTH) {
      this.rejectedLength++;
      fault_report(FaultCode.BUS_FRAME_REJECTED, MessageType.NODE_ANNOUNCE);
      return;
    }
    this.framesAccepted++;
    unchecked(this.announced[index] = true);
    unchecked(this.firmwareVersion[index] = announceFirmwareVersion(data));
    if (!this.checkVersion(index, announceProtocolVersion(data))) return;
    const hash = announceCellHash(data);
    const loaded = announceModelLoaded(data);
    unchecked(this.cellHash[index] = hash);
    unchecked(this.modelLoaded[index] = loaded);
    unchecked(this.nominalCapacity_Ah[index] = announceCapacity_Ah(data));
    unchecked(this.parallelCells[index] = announceParallelCells(data));
    const mismatch = this.expectedCellHash >= 0 && (!loaded || hash != this.expectedCellHash);
    if (mismatch && !unchecked(this.cellMismatch[index])) fault_report(FaultCode.CELL_MISMATCH, index + ADDRESS_FIRST_NODE);
    unchecked(this.cellMismatch[index] = mismatch);
  }

  onState(id: u32, data: usize, length: i32, now_ms: i64): void {
    const index = this.rowOf(id);
    if (index < 0) return;
    if (!this.accept(id, data, length, MODULE_STATE_LENGTH, this.stateCounter, index, MessageType.MODULE_STATE)) return;
    const flags = stateFlagsOf(data);
    unchecked(this.stateFlags[index] = flags);
    const model = (flags & StateFlag.NO_MODEL) == 0;
    unchecked(this.soc[index] = model ? stateSoc(data) : <f32>NaN);
    unchecked(this.socSigma[index] = model ? stateSocSigma(data) : <f32>NaN);
    unchecked(this.capacity_Ah[index] = model ? stateCapacity_Ah(data) : <f32>NaN);
    unchecked(this.capacitySigma_Ah[index] = model ? stateCapacitySigma_Ah(data) : <f32>NaN);
    unchecked(this.stateSeen_ms[index] = now_ms);
  }

  onHealth(id: u32, data: usize, length: i32, now_ms: i64): void {
    const index = this.rowOf(id);
    if (index < 0) return;
    if (!this.accept(id, data, length, MODULE_HEALTH_LENGTH, this.healthCounter, index, MessageType.MODULE_HEALTH)) return;
    unchecked(this.r0_Ohm[index] = healthR0_Ohm(data));
    unchecked(this.r0Sigma_Ohm[index] = healthR0Sigma_Ohm(data));
    unchecked(this.equivalentFullCycles[index] = healthEquivalentFullCycles(data));
    unchecked(this.capacitySoh[index] = healthCapacitySoh(data));
    unchecked(this.healthSeen_ms[index] = now_ms);
  }

  /**
   * BALANCE_REPORT (E2E): the node's bleed state, the plan it executes, the charge removed under it,
   * and its converter energy counter, summed as differences modulo 2^16.
   */
  onBalanceReport(id: u32, data: usize, length: i32, now_ms: i64): void {
    const index = this.rowOf(id);
    if (index < 0) return;
    if (!this.accept(id, data, length, BALANCE_REPORT_LENGTH, this.reportCounter, index, MessageType.BALANCE_REPORT)) return;
    unchecked(this.balanceState[index] = reportBleedState(data));
    unchecked(this.balanceSequence[index] = reportSequence(data));
    unchecked(this.balanceDuty[index] = reportDuty(data));
    unchecked(this.balanceRemoved_mAh[index] = reportRemoved_mAh(data));
    const counter = reportEnergy_J(data) & (ENERGY_COUNTER_MODULO - 1);
    const previous = unchecked(this.balanceEnergyCounter[index]);
    if (previous >= 0) {
      let step = counter - previous;
      if (step >= ENERGY_COUNTER_MODULO / 2) step -= ENERGY_COUNTER_MODULO;
      else if (step < -ENERGY_COUNTER_MODULO / 2) step += ENERGY_COUNTER_MODULO;
      unchecked(this.balanceEnergy_J[index] += <f32>step);
    }
    unchecked(this.balanceEnergyCounter[index] = counter);
    unchecked(this.balanceSeen_ms[index] = now_ms);
  }

  /** The module's last measurement is fresh. */
  reporting(i: i32, now_ms: i64): bool {
    const seen = unchecked(this.lastSeen_ms[i]);
    return seen >= 0 && now_ms - seen <= MODULE_TIMEOUT_ms;
  }

  /** The module's last MODULE_STATE is fresh and carries an estimate. */
  stateValid(i: i32, now_ms: i64): bool {
    const seen = unchecked(this.stateSeen_ms[i]);
    return seen >= 0 && now_ms - seen <= STATE_TIMEOUT_ms && (unchecked(this.stateFlags[i]) & StateFlag.NO_MODEL) == 0
      && isFinite(unchecked(this.soc[i]));
  }

  private healthValid(i: i32, now_ms: i64): bool {
    const seen = unchecked(this.healthSeen_ms[i]);
    return seen >= 0 && now_ms - seen <= HEALTH_TIMEOUT_ms;
  }

  /** Declares timeouts (MODULE_TIMEOUT once per module) and computes the aggregates over fresh modules. */
  aggregate(now_ms: i64): void {
    let sum: f32 = 0;
    let minV: f32 = Infinity;
    let maxV: f32 = -Infinity;
    let minT: f32 = Infinity;
    let maxT: f32 = -Infinity;
    let minVIndex = -1;
    let maxVIndex = -1;
    let minTIndex = -1;
    let maxTIndex = -1;
    let fresh = 0;
    let voltages = 0;
    let unsupervised = 0;
    let supervised = 0;
    let socSum: f32 = 0;
    let confident = 0;
    let minSoh: f32 = Infinity;
    for (let i = 0; i < this.count; i++) {
      if (unchecked(this.incompatible[i])) {
        unsupervised++;
        continue;
      }
      if (this.healthValid(i, now_ms) && unchecked(this.capacitySoh[i]) < minSoh) minSoh = unchecked(this.capacitySoh[i]);
      const reported = unchecked(this.lastSeen_ms[i]) >= 0;
      if (!this.reporting(i, now_ms)) {
        if (reported && !unchecked(this.timedOut[i])) {
          unchecked(this.timedOut[i] = true);
          fault_report(FaultCode.MODULE_TIMEOUT, i + ADDRESS_FIRST_NODE);
        }
        if (reported) unsupervised++;
        continue;
      }
      fresh++;
      const flags = unchecked(this.flags[i]);
      if ((flags & (MeasurementFlag.VOLTAGE_INVALID | MeasurementFlag.TEMPERATURE_INVALID)) != 0) unsupervised++;
      else supervised++;
      if ((flags & MeasurementFlag.VOLTAGE_INVALID) == 0) {
        const v = unchecked(this.voltage_mV[i]);
        sum += v;
        voltages++;
        if (v < minV) { minV = v; minVIndex = i; }
        if (v > maxV) { maxV = v; maxVIndex = i; }
      }
      const temperature = unchecked(this.temperature_C[i]);
      if ((flags & MeasurementFlag.TEMPERATURE_INVALID) == 0 && isFinite(temperature)) {
        if (temperature < minT) { minT = temperature; minTIndex = i; }
        if (temperature > maxT) { maxT = temperature; maxTIndex = i; }
      }
      if (this.stateValid(i, now_ms) && (unchecked(this.stateFlags[i]) & StateFlag.UNCERTAIN) == 0) {
        socSum += unchecked(this.soc[i]);
        confident++;
      }
    }
    this.freshModules = fresh;
    this.voltageModules = voltages;
    this.unsupervised = unsupervised;
    this.supervised = supervised;
    this.sumVoltage_mV = voltages > 0 ? sum : NaN;
    this.minVoltage_mV = minVIndex >= 0 ? minV : NaN;
    this.maxVoltage_mV = maxVIndex >= 0 ? maxV : NaN;
    this.minVoltageIndex = minVIndex;
    this.maxVoltageIndex = maxVIndex;
    this.minTemperature_C = minTIndex >= 0 ? minT : NaN;
    this.maxTemperature_C = maxTIndex >= 0 ? maxT : NaN;
    this.minTemperatureIndex = minTIndex;
    this.maxTemperatureIndex = maxTIndex;
    // The charge check compares against every module's estimate, so it waits for all of them.
    this.meanSoc = confident > 0 && confident == this.count && fresh == this.count ? socSum / <f32>confident : <f32>NaN;
    this.minSoh = minSoh < Infinity ? minSoh : <f32>NaN;
  }

  /**
   * Fills the pack estimators' input: SOC and capacity from MODULE_STATE (the nominal module
   * capacity while a node has no estimate of its own), temperature from MODULE_MEASUREMENT, and the
   * resistance growth R0 / R0_model from MODULE_HEALTH (1 until the first). A module is valid while
   * its measurement and its state are fresh. Returns the number of valid modules.
   */
  fillStates(states: ModuleStates, nominalCapacity_Ah: f32, modelR0_Ohm: f32, now_ms: i64): i32 {
    states.count = this.count;
    let validModules = 0;
    for (let i = 0; i < this.count; i++) {
      const valid = !unchecked(this.incompatible[i]) && this.reporting(i, now_ms) && this.stateValid(i, now_ms);
      if (valid) validModules++;
      const capacity = unchecked(this.capacity_Ah[i]);
      const temperature = (unchecked(this.flags[i]) & MeasurementFlag.TEMPERATURE_INVALID) == 0 ? unchecked(this.temperature_C[i]) : <f32>NaN;
      states.set(i, unchecked(this.soc[i]), capacity > 0 ? capacity : nominalCapacity_Ah, temperature, valid);
      let scale: f32 = 1.0;
      const r0 = unchecked(this.r0_Ohm[i]);
      if (this.healthValid(i, now_ms) && r0 > 0 && modelR0_Ohm > 0) {
        scale = Mathf.min(Mathf.max(r0 / modelR0_Ohm, RESISTANCE_SCALE_MIN), RESISTANCE_SCALE_MAX);
      }
      unchecked(states.resistanceScale[i] = scale);
    }
    return validModules;
  }

  /** Every configured module is enumerated and reporting. */
  allReporting(expected: i32): bool {
    return expected > 0 && this.count == expected && this.freshModules == expected;
  }

  /** A module has not sent NODE_ANNOUNCE (e.g. the controller was reset after enumeration). */
  announceMissing(): bool {
    for (let i = 0; i < this.count; i++) if (!unchecked(this.announced[i])) return true;
    return false;
  }
}
