// The run loop: advance the plant, let the peripherals sample it, tick every firmware, deliver the
// bus frames, record. Every device shares one simulated clock; everything random comes from the
// scenario's seed.
import { join, resolve } from "node:path";
import { repoRoot } from "./abi.ts";
import { loadBoard, type BoardDefinition } from "./boards.ts";
import { Random } from "./random.ts";
import { SimClock } from "./peripherals/clock.ts";
import { CanBus } from "./peripherals/bus.ts";
import { Net } from "./peripherals/gpio.ts";
import { Device, type NodeExports, type ControllerExports, type NodeDevice } from "./devices.ts";
import { LinearPack } from "./plant/linear.ts";
import { EcmPack } from "./plant/ecm-pack.ts";
import type { Module } from "./plant/module.ts";
import { TracePlant } from "./plant/trace.ts";
import { loadCell } from "./plant/chemistry.ts";
import type { PackPlant } from "./plant/types.ts";
import type { Scenario } from "./scenarios/scenario.ts";
import { LoadProfile, type LoadSegment } from "./scenarios/load.ts";
import { FaultSchedule } from "./scenarios/faults.ts";
import { ContactorSystem } from "./peripherals/contactor.ts";
import { BalancingSwitch, type BleedTarget } from "./peripherals/balancing.ts";
import { nodeFlashImage } from "./provisioning/node.ts";
import { EnergyBus, ConverterPeripheral } from "./peripherals/energy-bus.ts";
import { controllerFlashImage, packConfigurationFor, type PackConfiguration } from "./provisioning/controller.ts";
import { VehicleEcu } from "./vehicle/vehicle-ecu.ts";
import { STM32F4_ADC, REF5025, type AdcConverterModel } from "./peripherals/adc.ts";
import { INA240A1, type ShuntAmplifierModel } from "./peripherals/current-sensor.ts";
import { MURATA_NCP15XH103F03RC } from "./peripherals/ntc.ts";

export const defaultImages = {
  node: join(repoRoot, "build", "node.wasm"),
  controller: join(repoRoot, "build", "controller.wasm"),
};

/**
 * The controller's telemetry getters beyond what every controller image exports (assembly/controller/index.ts):
 * module states, pack estimation, protection, contactors, fault log, vehicle interface.
 */
export interface ControllerTelemetry extends ControllerExports {
  linkVoltage_mV(): number;
  minTemperatureIndex(): number;
  maxTemperatureIndex(): number;
  unsupervisedModuleCount(): number;
  moduleSoc(index: number): number;
  moduleSocSigma(index: number): number;
  moduleCapacity_Ah(index: number): number;
  moduleCapacitySigma_Ah(index: number): number;
  moduleStateFlags(index: number): number;
  moduleR0_Ohm(index: number): number;
  moduleR0Sigma_Ohm(index: number): number;
  moduleEquivalentFullCycles(index: number): number;
  moduleSoh(index: number): number;
  moduleResistanceScale(index: number): number;
  moduleAnnounced(index: number): number;
  moduleProtocolVersion(index: number): number;
  moduleCellHash(index: number): number;
  moduleCellMismatch(index: number): number;
  moduleIncompatible(index: number): number;
  framesRejectedProtocol(): number;
  protocolVersion(): number;
  configError(): number;
  configValid(): number;
  configCellIdHash(): number;
  configModuleCapacity_Ah(): number;
  packSoc(): number;
  packSocMin(): number;
  packSocMax(): number;
  packSocMean(): number;
  usableCapacity_Ah(): number;
  packSoh(): number;
  remainingEnergy_Wh(): number;
  range_km(): number;
  consumption_Wh_per_km(): number;
  maxDischargeCurrent_A(horizon: number): number;
  maxChargeCurrent_A(horizon: number): number;
  maxPackVoltage_V(): number;
  minPackVoltage_V(): number;
  bmsState(): number;
  faultLevel(fault: number): number;
  highestFaultLevel(): number;
  faultValue(fault: number): number;
  faultThreshold(fault: number, level: number): number;
  freezeFramesRecorded(): number;
  latestFaultCode(): number;
  contactorState(): number;
  contactorWeldedMask(): number;
  sequencerFailure(): number;
  storeMountStatus(): number;
  restartLatched(): number;
  storedFreezeFrames(): number;
  storedFreezeFramesDropped(): number;
  storedFreezeFrameCode(number: number): number;
  storedFreezeFrameValue(number: number): number;
  storedFreezeFrameTime_ms(number: number): bigint;
  storedFreezeFrameUnixTime_s(number: number): number;
  storedFreezeFramePackVoltage_mV(number: number): number;
  vehicleFramesSent(): number;
  vehicleSendFailures(): number;
  vehicleCloseRequested(): number;
  vehicleSpeed_km_per_h(): number;
  vehicleRejectedLength(): number;
  vehicleRejectedCrc(): number;
  vehicleRejectedCounter(): number;
  unixTime_s(): number;
  // chain enumeration and balancing (assembly/controller/enumeration.ts, balancing.ts)
  enumerationState(): number;
  addressResets(): number;
  lastAddressResetReason(): number;
  modulesMoved(): number;
  modulesAdded(): number;
  addressRequestsIgnored(): number;
  modulesLost(): number;
  moduleDuplicate(index: number): number;
  packId(): number;
  balancingStrategy(): number;
  balancingAllowed(): number;
  balancingOperatingState(): number;
  balancingStatus(): number;
  balancingUsableBefore_Ah(): number;
  balancingUsableAfter_Ah(): number;
  balancingPlannedTime_s(): number;
  balanceCommandsSent(): number;
  balanceCommandCharge_mAh(index: number): number;
  balanceCommandDuty(index: number): number;
  balanceCommandPower_W(index: number): number;
  balanceCommandInForce(index: number): number;
  balanceReportState(index: number): number;
  balanceReportSequence(index: number): number;
  balanceReportDuty(index: number): number;
  balanceReportRemoved_mAh(index: number): number;
  balanceReportEnergy_J(index: number): number;
}

/** Vehicle bus bit rate: the Baudrate attribute of boards/vehicle/strata-vehicle.dbc. */
export const VEHICLE_BUS_BITRATE_bps = 500000;

/**
 * A node unit's own measurement errors: its converter and reference, its shunt amplifier and shunt,
 * its thermistor's tolerances. They belong to the board, so they travel with it.
 */
export interface NodeSensorErrors {
  converter: AdcConverterModel;
  currentSensor: ShuntAmplifierModel;
  thermistor: { r25Error: number; betaError: number };
}

/** The sensor errors a node was given (drawn from datasheets, or ideal). */
export function nodeSensorErrors(node: NodeDevice): NodeSensorErrors {
  const ntc = node.adc.thermistor("MODULE_TEMPERATURE");
  return {
    converter: { ...node.adc.converter },
    currentSensor: { ...node.adc.currentSensor("MODULE_CURRENT").model },
    thermistor: { r25Error: ntc.r25Error, betaError: ntc.betaError },
  };
}

/** A module that comes with its history: the physical module, its node's flash and serial. */
export interface CarriedModule {
  module: Module;
  flash: Uint8Array;
  serialLow: number;
  serialHigh: number;
  /** The node's sensor errors; without them the node draws new ones as the scenario's sensors say. */
  sensors?: NodeSensorErrors;
}

export interface SimulationOptions {
  nodeImage?: string;
  controllerImage?: string;
  /** Build the pack from these modules (in physical order) instead of new cells: a reassembled pack. */
  carried?: readonly CarriedModule[];
  /** Wall-clock time at simulated time 0, s since 1970 (the vehicle's clock). */
  epoch_s?: number;
}

/** Module capacity (Ah) and pack nominal energy (Wh) the load profile scales C-rates and drive cycles by. */
export function packRating(scenario: Scenario): { capacity_Ah: number; energy_Wh: number } {
  const p = scenario.pack;
  if (p.model === "linear") {
    return { capacity_Ah: p.capacity_Ah, energy_Wh: p.capacity_Ah * p.modules * (p.ocvEmpty_V + p.ocvFull_V) / 2 };
  }
  const cell = loadCell(p.cell);
  const capacity_Ah = cell.electrical.nominalCapacity_Ah * p.parallel;
  return { capacity_Ah, energy_Wh: capacity_Ah * cell.electrical.nominalVoltage_V * p.modules };
}

export function createPlant(scenario: Scenario, seed: number): PackPlant {
  const p = scenario.pack;
  const trace = scenario.load.find((s) => s.type === "trace");
  if (trace !== undefined) {
    const plant = TracePlant.fromFile(resolve(scenario.baseDir, trace.file));
    if (plant.moduleCount !== p.modules) {
      throw new Error(`trace ${trace.file} has ${plant.moduleCount} modules, the scenario's pack has ${p.modules}`);
    }
    return plant;
  }
  if (p.model === "linear") {
    return new LinearPack({
      modules: p.modules,
      capacity_Ah: p.capacity_Ah,
      ocvEmpty_V: p.ocvEmpty_V,
      ocvFull_V: p.ocvFull_V,
      resistance_Ohm: p.resistance_mOhm / 1000,
      initialSoc: p.initialSoc,
      temperature_C: p.temperature_C,
    });
  }
  return new EcmPack({
    cell: loadCell(p.cell),
    modules: p.modules,
    parallel: p.parallel,
    spread: p.spread,
    seed,
    initialSoc: p.initialSoc,
    temperature_C: p.temperature_C,
    ...(p.parameterScale !== undefined ? { parameterScale: p.parameterScale } : {}),
    ...(p.ageing !== undefined ? { ageing: p.ageing } : {}),
    ...(p.convectiveCoefficient_W_per_m2K !== undefined ? { cellOptions: { convectiveCoefficient_W_per_m2K: p.convectiveCoefficient_W_per_m2K } } : {}),
  });
}

export class Simulation {
  readonly clock = new SimClock();
  readonly bus: CanBus;
  readonly random: Random;
  readonly plant: PackPlant;
  readonly nodeBoard: BoardDefinition;
  readonly controllerBoard: BoardDefinition;
  /** nodes[i] sits at physical position i of the series string (0 = next to the controller). */
  readonly nodes: NodeDevice[] = [];
  readonly controller: Device<ControllerTelemetry>;
  /** The vehicle side: a CAN 2.0A bus with the host VCU on it (host/vehicle/vehicle-ecu.ts). */
  readonly vehicleBus: CanBus;
  readonly vehicle: VehicleEcu;
  /** What the controller was provisioned with (flash sector 0). */
  readonly packConfiguration: PackConfiguration;
  private nextVehicleEvent = 0;
  readonly tickPeriod_ms: number;
  /** null when a trace drives the plant. */
  readonly load: LoadProfile | null;
  readonly faults: FaultSchedule;
  readonly contactors: ContactorSystem;
  /** The energy bus of active balancing (null unless the scenario fits converters). */
  readonly energyBus: EnergyBus | null;
  private readonly balancingSwitches: BalancingSwitch[] = [];
  /** The daisy chain's wires: chainNets[0] from the controller's select output to node 0, chainNets[i + 1] from node i to node i + 1. */
  readonly chainNets: Net[] = [];
  private readonly nodeImage: string;
  ambient_C: number;
  readonly duration_s: number;
  steps = 0;

  constructor(readonly scenario: Scenario, options: SimulationOptions = {}) {
    this.nodeImage = options.nodeImage ?? defaultImages.node;
    this.random = new Random(scenario.seed);
    this.nodeBoard = loadBoard(scenario.boards.node);
    this.controllerBoard = loadBoard(scenario.boards.controller);
    if (this.nodeBoard.role !== "node") throw new Error(`board ${this.nodeBoard.name} is a ${this.nodeBoard.role} board, not a node board`);
    if (this.controllerBoard.role !== "controller") throw new Error(`board ${this.controllerBoard.name} is not a controller board`);
    if (this.nodeBoard.bus.bitrate_bps !== this.controllerBoard.bus.bitrate_bps) {
      throw new Error(`node and controller boards disagree on the bus bit rate (${this.nodeBoard.bus.bitrate_bps} vs ${this.controllerBoard.bus.bitrate_bps})`);
    }
    this.tickPeriod_ms = this.nodeBoard.tickPeriod_ms;
    this.bus = new CanBus(this.nodeBoard.bus.bitrate_bps, this.clock, this.random);
    this.ambient_C = scenario.ambient_C;
    this.faults = new FaultSchedule(scenario.faults);
    const plantSeed = this.random.nextUint32();
    if (options.carried !== undefined && options.carried.length !== scenario.pack.modules) {
      throw new Error(`${options.carried.length} carried modules for a pack of ${scenario.pack.modules}`);
    }
    this.plant = options.carried !== undefined ? new EcmPack(options.carried.map((c) => c.module)) : createPlant(scenario, plantSeed);
    const rating = packRating(scenario);
    const segments = scenario.load.filter((s): s is LoadSegment => s.type !== "trace");
    this.load = segments.length > 0 ? new LoadProfile(segments, rating.capacity_Ah, rating.energy_Wh) : null;
    this.duration_s = scenario.duration_s ?? this.load?.duration_s ?? (this.plant as TracePlant).duration_s;
    const gaussian = (): number => this.random.gaussian();

    // The controller, provisioned with the scenario's pack configuration, on both buses; the VCU
    // asks for the contactors closed from the start unless the scenario's vehicle events say otherwise.
    this.vehicleBus = new CanBus(VEHICLE_BUS_BITRATE_bps, this.clock, this.random, false);
    this.packConfiguration = packConfigurationFor(scenario, this.nodeBoard, this.controllerBoard);
    this.controller = new Device<ControllerTelemetry>({
      name: "controller",
      imagePath: options.controllerImage ?? defaultImages.controller,
      board: this.controllerBoard,
      clock: this.clock,
      bus: this.bus,
      vehicleBus: this.vehicleBus,
      unitConfig: {
        UNIT_SERIAL_LOW: this.random.nextUint32(), UNIT_SERIAL_HIGH: this.random.nextUint32() & 0xffff, MODULES_IN_SERIES: scenario.pack.modules,
        // The pack's nodes' bleed resistor, for the controller's balancing plan (provisioned with the unit).
        ...(this.nodeBoard.balancing !== undefined ? { BALANCE_RESISTANCE_Ohm: this.nodeBoard.balancing.resistance_Ohm } : {}),
      },
      gaussian,
      random: this.random,
      flashImage: controllerFlashImage(this.controllerBoard, this.packConfiguration),
    });
    this.vehicle = new VehicleEcu(this.vehicleBus, options.epoch_s);
    this.vehicle.contactorRequest = "close";
    const plant = this.plant;
    this.contactors = new ContactorSystem({ now_s: () => this.clock.now_us / 1e6, packVoltage_V: () => plant.packVoltage_V() });
    this.contactors.wire(this.controller.gpio);
    this.controller.adc.connect("PACK_VOLTAGE", () => plant.packVoltage_V());
    this.controller.adc.connect("LINK_VOLTAGE", () => this.contactors.linkVoltage_V());
    this.controller.adc.connect("PACK_CURRENT", () => plant.packCurrent_A());

    // The daisy chain: controller select-out -> node 0 select-in, node i select-out -> node i+1 select-in.
    this.chainNets.push(new Net("chain-0"));
    this.controller.gpio.connectOutput("CHAIN_SELECT_OUT", this.chainNets[0]!);
    // Every node is provisioned with the nominal parameter set of the scenario's cell: the plant's
    // cells differ from it by their spread (and by whatever a scenario changes), as real cells do.
    this.energyBus = scenario.activeBalancing && this.plant instanceof EcmPack ? new EnergyBus(scenario.pack.modules) : null;
    const nodeFlash = scenario.pack.model === "ecm" ? nodeFlashImage(this.nodeBoard, loadCell(scenario.pack.cell), scenario.pack.parallel) : undefined;
    const usedSerials = new Set<number>();
    for (let i = 0; i < scenario.pack.modules; i++) {
      const carried = options.carried?.[i];
      let serialLow: number;
      do serialLow = carried?.serialLow ?? this.random.nextUint32(); while (carried === undefined && usedSerials.has(serialLow));
      usedSerials.add(serialLow);
      const serialHigh = carried?.serialHigh ?? this.random.nextUint32() & 0xffff;
      const flashImage = carried?.flash.slice() ?? nodeFlash;
      this.nodes.push(this.wireNode(i, serialLow, serialHigh, flashImage, carried?.sensors));
    }
    this.controller.init();
    for (const node of this.nodes) node.init();
  }


  /** The node at physical position i: a device on module i's sensors, bleed switch and converter, between chain wires i and i + 1. */
  private wireNode(i: number, serialLow: number, serialHigh: number, flashImage: Uint8Array | undefined, sensors?: NodeSensorErrors): NodeDevice {
    const plant = this.plant;
    const node = new Device<NodeExports>({
      name: `node-${i}`,
      imagePath: this.nodeImage,
      board: this.nodeBoard,
      clock: this.clock,
      bus: this.bus,
      unitConfig: { UNIT_SERIAL_LOW: serialLow, UNIT_SERIAL_HIGH: serialHigh },
      gaussian: () => this.random.gaussian(),
      random: this.random,
      ...(flashImage !== undefined ? { flashImage } : {}),
      ...(this.energyBus !== null ? { converter: new ConverterPeripheral(this.energyBus, i) } : {}),
    });
    if (sensors !== undefined) {
      node.adc.converter = { ...sensors.converter };
      node.adc.currentSensor("MODULE_CURRENT").model = { ...sensors.currentSensor };
      Object.assign(node.adc.thermistor("MODULE_TEMPERATURE"), sensors.thermistor);
    } else if (this.scenario.sensors !== "ideal") {
      this.useDatasheetSensors(node, this.scenario.sensors === "datasheet-typical" ? "typical" : "maximum", serialLow, serialHigh);
    }
    if (this.energyBus !== null && this.plant instanceof EcmPack) this.energyBus.attach(i, this.plant.pack.modules[i]!);
    const bleed = this.bleedTarget(i);
    if (bleed !== null && this.nodeBoard.balancing !== undefined) {
      this.balancingSwitches[i] = new BalancingSwitch(node.gpio, this.nodeBoard.balancing.resistance_Ohm, bleed);
    }
    if (plant instanceof EcmPack) {
      // What EcmPack's module accessors return, read straight from the module and the pack (four
      // reads per node per tick: one object fewer to reach each time).
      const module = plant.pack.modules[i]!;
      const pack = plant.pack;
      node.adc.temperature_C = () => module.temperature_C;
      node.adc.connect("MODULE_VOLTAGE", () => module.voltage_V);
      node.adc.connect("MODULE_CURRENT", () => pack.current_A);
      node.adc.connect("MODULE_TEMPERATURE", () => module.temperature_C);
      node.adc.connect("BOARD_TEMPERATURE", () => module.temperature_C);
    } else {
      node.adc.temperature_C = () => plant.moduleTemperature_C(i);
      node.adc.connect("MODULE_VOLTAGE", () => plant.moduleVoltage_V(i));
      node.adc.connect("MODULE_CURRENT", () => plant.moduleCurrent_A(i));
      node.adc.connect("MODULE_TEMPERATURE", () => plant.moduleTemperature_C(i));
      node.adc.connect("BOARD_TEMPERATURE", () => plant.moduleTemperature_C(i));
    }
    while (this.chainNets.length < i + 2) this.chainNets.push(new Net(`chain-${this.chainNets.length}`));
    node.gpio.connectInput("CHAIN_SELECT_IN", this.chainNets[i]!);
    node.gpio.connectOutput("CHAIN_SELECT_OUT", this.chainNets[i + 1]!);
    return node;
  }

  /**
   * Hot-swap, taking a node out: the unit at position i is unplugged (off the bus, unpowered, its
   * bleed switch and converter off, its select output released). With bypass the chain is jumpered
   * past the empty place, as when a module is removed for good: wire i then drives wire i + 1.
   * The plant module stays in the string.
   */
  removeNode(i: number, options: { bypass?: boolean } = {}): void {
    const node = this.nodes[i];
    if (node === undefined) throw new Error(`no node at position ${i}`);
    node.port.connected = false;
    node.poweredOff = true;
    this.balancingSwitches[i]?.setStuck("open");
    this.energyBus?.setPower_W(i, 0);
    const from = this.chainNets[i]!;
    const to = this.chainNets[i + 1]!;
    if (options.bypass === true) {
      from.watchers.push((level) => to.set(level));
      to.set(from.level);
    } else {
      to.set(0);
    }
  }

  /**
   * Hot-swap, putting a node in: a new unit with this serial and freshly provisioned flash at
   * position i, on module i and the chain wires of that place; it boots at once.
   */
  insertNode(i: number, serialLow: number, serialHigh: number): NodeDevice {
    if (i < 0 || i >= this.scenario.pack.modules) throw new Error(`no position ${i} in a pack of ${this.scenario.pack.modules}`);
    const p = this.scenario.pack;
    const flash = p.model === "ecm" ? nodeFlashImage(this.nodeBoard, loadCell(p.cell), p.parallel) : undefined;
    const node = this.wireNode(i, serialLow >>> 0, serialHigh & 0xffff, flash);
    this.nodes[i] = node;
    node.init();
    return node;
  }

  /**
   * Gives a node's sensors errors drawn from its parts' datasheets (each unit draws its own, as a
   * production lot would): the STM32F4 ADC, the INA240A1 current amplifier, the Murata NTC. The
   * errors belong to the board, so they are drawn from a generator seeded by the unit's serial: a
   * board has the same errors in every run its serial appears in, and the draws do not depend on
   * what else the run drew. (A node carried into another run brings its sensor record along,
   * CarriedModule.sensors, which also keeps faults injected into it.)
   */
  private useDatasheetSensors(node: NodeDevice, corner: "typical" | "maximum", serialLow: number, serialHigh: number): void {
    const board = new Random((serialLow ^ Math.imul(serialHigh + 1, 0x9e3779b1)) >>> 0);
    node.adc.usePart(STM32F4_ADC, corner, board, REF5025);
    node.adc.currentSensor("MODULE_CURRENT").usePart(INA240A1[corner], board);
    node.adc.thermistor("MODULE_TEMPERATURE").drawTolerances(MURATA_NCP15XH103F03RC, board);
  }

  /** The plant module a node's bleed resistor acts on (null for plants without a bleed path). */
  private bleedTarget(index: number): BleedTarget | null {
    return this.plant instanceof EcmPack ? this.plant.pack.modules[index]! : null;
  }

  balancingSwitch(index: number): BalancingSwitch {
    const sw = this.balancingSwitches[index];
    if (sw === undefined) throw new Error(`module ${index} has no balancing switch (the plant has no bleed path)`);
    return sw;
  }

  /**
   * One tick period: the plant advances with the load held over the period; at its end every node
   * samples and ticks; their frames cross the bus; the controller ticks half a period later (its
   * collection window), then the bus carries what the controller sent.
   */
  step(): void {
    const dt_ms = this.tickPeriod_ms;
    this.faults.apply(this, this.time_s);
    let current_A = this.load === null ? 0 : this.load.current_A(this.time_s, dt_ms / 1000, this.plant);
    if (this.scenario.contactors === "controlled" && !this.contactors.mainsClosed()) current_A = 0;
    if (this.scenario.limits === "respected") current_A = this.vehicle.limitedCurrent_A(current_A, this.time_s);
    this.plant.step(current_A, dt_ms / 1000, this.ambient_C);
    this.energyBus?.advance(dt_ms / 1000);
    this.clock.advance_us(dt_ms * 1000);
    const start_us = this.clock.now_us;
    const now_ms = this.clock.now_ms;
    for (const node of this.nodes) node.tick(now_ms);
    this.driveVehicle(now_ms);
    this.bus.run(start_us + (dt_ms * 1000) / 2);
    this.vehicleBus.run(start_us + (dt_ms * 1000) / 2);
    this.clock.advance_us((dt_ms * 1000) / 2);
    this.controller.tick(this.clock.now_ms);
    this.bus.run(start_us + dt_ms * 1000);
    this.vehicleBus.run(start_us + dt_ms * 1000);
    this.clock.now_us = start_us;
    this.steps++;
  }

  /**
   * The VCU's tick, with the node ticks: the scenario's vehicle events as they fall due, the speed
   * of the load profile's drive cycle (0 otherwise), then VCU_Command / VCU_Time when due.
   */
  private driveVehicle(now_ms: number): void {
    const events = this.scenario.vehicle;
    while (this.nextVehicleEvent < events.length && events[this.nextVehicleEvent]!.at_s <= this.time_s + 1e-9) {
      const event = events[this.nextVehicleEvent++]!;
      if (event.contactors !== undefined) this.vehicle.contactorRequest = event.contactors;
      if (event.faultReset !== undefined) this.vehicle.faultReset = event.faultReset;
      if (event.chargeMode !== undefined) this.vehicle.chargeMode = event.chargeMode;
    }
    this.vehicle.speed_kmh = (this.load?.speed_mps ?? 0) * 3.6;
    this.vehicle.tick(now_ms);
  }

  get time_s(): number {
    return this.clock.now_us / 1e6;
  }

  /** Steps until the scenario's duration, calling onStep after each step. */
  run(onStep?: (sim: Simulation) => void): void {
    const total = Math.round((this.duration_s * 1000) / this.tickPeriod_ms);
    while (this.steps < total) {
      this.step();
      onStep?.(this);
    }
  }

  busLoad(): number {
    return this.clock.now_us > 0 ? this.bus.busy_us / this.clock.now_us : 0;
  }

  /** Controller module index that reports a node's address (address 1 is index 0). */
  controllerIndexOf(node: NodeDevice): number {
    return node.exports.nodeAddress() - 1;
  }

  devices(): Device<NodeExports | ControllerExports>[] {
    return [this.controller as Device<NodeExports | ControllerExports>, ...this.nodes];
  }
}
