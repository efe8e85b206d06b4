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
import { Device, type NodeExports, type ControllerExports, type NodeDevice, type ControllerDevice } from "./devices.ts";
import { LinearPack } from "./plant/linear.ts";
import { EcmPack } from "./plant/ecm-pack.ts";
import { TracePlant } from "./plant/trace.ts";
import { loadCell } from "./plant/chemistry.ts";
import type { PackPlant } from "./plant/types.ts";
import type { Scenario } from "./scenarios/scenario.ts";
import { LoadProfile, type LoadSegment } from "./scenarios/load.ts";
import { FaultSchedule } from "./scenarios/faults.ts";
import { ContactorSystem } from "./peripherals/contactor.ts";
import { BalancingSwitch, type BleedTarget } from "./peripherals/balancing.ts";
import { nodeFlashImage } from "./provisioning/node.ts";
import { STM32F4_ADC, REF5025 } from "./peripherals/adc.ts";
import { INA240A1 } from "./peripherals/current-sensor.ts";
import { MURATA_NCP15XH103F03RC } from "./peripherals/ntc.ts";

export const defaultImages = {
  node: join(repoRoot, "build", "node.wasm"),
  controller: join(repoRoot, "build", "controller.wasm"),
};

export interface SimulationOptions {
  nodeImage?: string;
  controllerImage?: string;
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
  readonly controller: ControllerDevice;
  readonly tickPeriod_ms: number;
  /** null when a trace drives the plant. */
  readonly load: LoadProfile | null;
  readonly faults: FaultSchedule;
  readonly contactors: ContactorSystem;
  private readonly balancingSwitches: BalancingSwitch[] = [];
  ambient_C: number;
  readonly duration_s: number;
  steps = 0;

  constructor(readonly scenario: Scenario, options: SimulationOptions = {}) {
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
    this.plant = createPlant(scenario, this.random.nextUint32());
    const rating = packRating(scenario);
    const segments = scenario.load.filter((s): s is LoadSegment => s.type !== "trace");
    this.load = segments.length > 0 ? new LoadProfile(segments, rating.capacity_Ah, rating.energy_Wh) : null;
    this.duration_s = scenario.duration_s ?? this.load?.duration_s ?? (this.plant as TracePlant).duration_s;
    const gaussian = (): number => this.random.gaussian();

    this.controller = new Device<ControllerExports>({
      name: "controller",
      imagePath: options.controllerImage ?? defaultImages.controller,
      board: this.controllerBoard,
      clock: this.clock,
      bus: this.bus,
      unitConfig: { UNIT_SERIAL_LOW: this.random.nextUint32(), UNIT_SERIAL_HIGH: this.random.nextUint32() & 0xffff, MODULES_IN_SERIES: scenario.pack.modules },
      gaussian,
      random: this.random,
    });
    const plant = this.plant;
    this.contactors = new ContactorSystem({ now_s: () => this.clock.now_us / 1e6, packVoltage_V: () => plant.packVoltage_V() });
    this.contactors.wire(this.controller.gpio);
    this.controller.adc.connect("PACK_VOLTAGE", () => plant.packVoltage_V());
    this.controller.adc.connect("LINK_VOLTAGE", () => this.contactors.linkVoltage_V());
    this.controller.adc.connect("PACK_CURRENT", () => plant.packCurrent_A());

    // The daisy chain: controller select-out -> node 0 select-in, node i select-out -> node i+1 select-in.
    let upstream = new Net("chain-0");
    this.controller.gpio.connectOutput("CHAIN_SELECT_OUT", upstream);
    // Every node is provisioned with the nominal parameter set of the scenario's cell: the plant's
    // cells differ from it by their spread (and by whatever a scenario changes), as real cells do.
    const nodeFlash = scenario.pack.model === "ecm" ? nodeFlashImage(this.nodeBoard, loadCell(scenario.pack.cell), scenario.pack.parallel) : undefined;
    const usedSerials = new Set<number>();
    for (let i = 0; i < scenario.pack.modules; i++) {
      let serialLow: number;
      do serialLow = this.random.nextUint32(); while (usedSerials.has(serialLow));
      usedSerials.add(serialLow);
      const node = new Device<NodeExports>({
        name: `node-${i}`,
        imagePath: options.nodeImage ?? defaultImages.node,
        board: this.nodeBoard,
        clock: this.clock,
        bus: this.bus,
        unitConfig: { UNIT_SERIAL_LOW: serialLow, UNIT_SERIAL_HIGH: this.random.nextUint32() & 0xffff },
        gaussian,
        random: this.random,
        ...(nodeFlash !== undefined ? { flashImage: nodeFlash } : {}),
      });
      node.adc.temperature_C = () => plant.moduleTemperature_C(i);
      if (scenario.sensors !== "ideal") this.useDatasheetSensors(node, scenario.sensors === "datasheet-typical" ? "typical" : "maximum");
      const bleed = this.bleedTarget(i);
      if (bleed !== null && this.nodeBoard.balancing !== undefined) {
        this.balancingSwitches.push(new BalancingSwitch(node.gpio, this.nodeBoard.balancing.resistance_Ohm, bleed));
      }
      node.adc.connect("MODULE_VOLTAGE", () => plant.moduleVoltage_V(i));
      node.adc.connect("MODULE_CURRENT", () => plant.moduleCurrent_A(i));
      node.adc.connect("MODULE_TEMPERATURE", () => plant.moduleTemperature_C(i));
      node.adc.connect("BOARD_TEMPERATURE", () => plant.moduleTemperature_C(i));
      node.gpio.connectInput("CHAIN_SELECT_IN", upstream);
      upstream = new Net(`chain-${i + 1}`);
      node.gpio.connectOutput("CHAIN_SELECT_OUT", upstream);
      this.nodes.push(node);
    }
    this.controller.init();
    for (const node of this.nodes) node.init();
  }


  /**
   * Gives a node's sensors errors drawn from its parts' datasheets (each unit draws its own, as a
   * production lot would): the STM32F4 ADC, the INA240A1 current amplifier, the Murata NTC.
   */
  private useDatasheetSensors(node: NodeDevice, corner: "typical" | "maximum"): void {
    node.adc.usePart(STM32F4_ADC, corner, this.random, REF5025);
    node.adc.currentSensor("MODULE_CURRENT").usePart(INA240A1[corner], this.random);
    node.adc.thermistor("MODULE_TEMPERATURE").drawTolerances(MURATA_NCP15XH103F03RC, this.random);
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
    this.plant.step(current_A, dt_ms / 1000, this.ambient_C);
    this.clock.advance_us(dt_ms * 1000);
    const start_us = this.clock.now_us;
    const now_ms = this.clock.now_ms;
    for (const node of this.nodes) node.tick(now_ms);
    this.bus.run(start_us + (dt_ms * 1000) / 2);
    this.clock.advance_us((dt_ms * 1000) / 2);
    this.controller.tick(this.clock.now_ms);
    this.bus.run(start_us + dt_ms * 1000);
    this.clock.now_us = start_us;
    this.steps++;
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
