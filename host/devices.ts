// A device is one firmware instance with its own emulated peripherals: what one MCU on one board
// is on the bench. Nodes and the controller differ only in their exports and wiring.
import type { BoardDefinition } from "./boards.ts";
import { loadFirmwareImage, instantiateFirmware } from "./loader.ts";
import { AdcPeripheral } from "./peripherals/adc.ts";
import { GpioPeripheral } from "./peripherals/gpio.ts";
import { BusPort, VehiclePort, type CanBus } from "./peripherals/bus.ts";
import { FlashPeripheral, PowerLossError } from "./peripherals/flash.ts";
import { ConverterPeripheral } from "./peripherals/energy-bus.ts";
import type { Random } from "./random.ts";
import { ClockPeripheral, type SimClock } from "./peripherals/clock.ts";
import { FaultPeripheral } from "./peripherals/fault.ts";
import { BoardConfigPeripheral } from "./peripherals/board.ts";

/** Exports every Strata firmware image has (checked by the built-artifact check). */
export interface FirmwareExports {
  init(): void;
  tick(now_ms: bigint): void;
  busRxBuffer(): number;
  busReceive(id: number, length: number, now_ms: bigint): void;
  /** Optional: a connected input changed level (pin-change interrupt). */
  gpioChanged?(pin: number, level: number, now_ms: bigint): void;
  /** Controller only: a frame from the vehicle bus, data at busRxBuffer(). */
  vehicleReceive?(id: number, length: number, now_ms: bigint): void;
  framesSent(): number;
  firmwareVersion(): number;
  heapTop(): number;
  heapTopAtInit(): number;
}

export interface NodeExports extends FirmwareExports {
  nodeAddress(): number;
  moduleVoltage_mV(): number;
  moduleCurrent_mA(): number;
  moduleTemperature_C(): number;
  measurementFlags(): number;
  sendFailures(): number;
  cellParametersError(): number;
  cellParametersHash(): number;
  estimatorStart(): number;
  socEstimate(): number;
  socSigma(): number;
  socBaseline(): number;
  currentBias_mA(): number;
  capacityEstimate_Ah(): number;
  capacitySigma_Ah(): number;
  capacityUpdates(): number;
  resistanceEstimate_Ohm(soc: number, temperature_C: number): number;
  resistanceRatio(): number;
  resistanceUpdates(): number;
  equivalentFullCycles(): number;
  dischargedCharge_Ah(): number;
  estimatorRejectedSteps(): number;
  storeMountStatus(): number;
  storeWrites(): number;
  voltageError_mV(): number;
  restoredFromFlash(): number;
}

export interface ControllerExports extends FirmwareExports {
  moduleCount(): number;
  expectedModuleCount(): number;
  freshModuleCount(): number;
  packVoltage_mV(): number;
  packCurrent_mA(): number;
  sumModuleVoltage_mV(): number;
  minModuleVoltage_mV(): number;
  maxModuleVoltage_mV(): number;
  minModuleIndex(): number;
  maxModuleIndex(): number;
  minTemperature_C(): number;
  maxTemperature_C(): number;
  moduleVoltage_mV(index: number): number;
  moduleCurrent_mA(index: number): number;
  moduleTemperature_C(index: number): number;
  moduleFlags(index: number): number;
  moduleSerialLow(index: number): number;
  moduleSerialHigh(index: number): number;
  moduleLastSeen_ms(index: number): bigint;
  framesAccepted(): number;
  framesRejectedLength(): number;
  framesRejectedCrc(): number;
  framesRejectedCounter(): number;
  framesRejectedSource(): number;
}

export interface DeviceOptions {
  name: string;
  imagePath: string;
  board: BoardDefinition;
  clock: SimClock;
  bus: CanBus;
  /** The vehicle bus, for a controller. */
  vehicleBus?: CanBus;
  /** The module's converter on the energy bus (active balancing); without it converter_set answers -1. */
  converter?: ConverterPeripheral;
  /** Unit-specific board_config values (serial number, pack size). */
  unitConfig: Record<string, number>;
  /** Standard-normal generator for sensor noise (from the run's seeded Random). */
  gaussian?: () => number;
  /** The run's seeded generator, for peripherals with random faults (flash power loss, retention). */
  random?: Random;
  flashImage?: Uint8Array;
}

/** The i64 arguments of the firmware entry points, made once per distinct millisecond (BigInt allocates). */
let lastMilliseconds = Number.NaN;
let lastMillisecondsBig = 0n;
function milliseconds(ms: number): bigint {
  if (ms !== lastMilliseconds) {
    lastMilliseconds = ms;
    lastMillisecondsBig = BigInt(ms);
  }
  return lastMillisecondsBig;
}

export class Device<E extends FirmwareExports> {
  readonly name: string;
  readonly board: BoardDefinition;
  readonly adc: AdcPeripheral;
  readonly gpio: GpioPeripheral;
  readonly port: BusPort;
  readonly vehiclePort: VehiclePort | null;
  readonly converter: ConverterPeripheral;
  readonly flash: FlashPeripheral;
  readonly clockPeripheral: ClockPeripheral;
  readonly faults: FaultPeripheral;
  readonly config: BoardConfigPeripheral;
  readonly unit: Readonly<Record<string, number>>;
  exports: E;
  memory: WebAssembly.Memory;
  /** Set when the firmware trapped: the device is halted, as a real MCU would sit in its fault handler. */
  trap: Error | null = null;
  /** Set when the device lost power (a flash operation was cut): it does nothing until rebooted. */
  poweredOff = false;
  ticks = 0;
  boots = 1;
  private readonly imagePath: string;

  constructor(options: DeviceOptions) {
    this.name = options.name;
    this.board = options.board;
    this.adc = new AdcPeripheral(options.board, options.gaussian);
    this.gpio = new GpioPeripheral();
    this.port = new BusPort(options.bus, options.name, options.board.bus.txQueueFrames);
    this.converter = options.converter ?? new ConverterPeripheral(null, 0);
    this.vehiclePort = options.vehicleBus === undefined ? null : new VehiclePort(options.vehicleBus, `${options.name}-vehicle`, options.board.bus.txQueueFrames);
    this.flash = new FlashPeripheral(options.board, options.flashImage, options.random !== undefined ? { random: options.random } : {});
    this.clockPeripheral = new ClockPeripheral(options.clock);
    this.faults = new FaultPeripheral(options.clock);
    this.config = new BoardConfigPeripheral(options.board, options.unitConfig);
    this.unit = { ...options.unitConfig };
    this.imagePath = options.imagePath;
    const instance = this.instantiate();
    this.exports = instance.exports;
    this.memory = instance.memory;
    // receive() copies the data into linear memory before the firmware sees it.
    this.port.onReceive((id, data, time_us) => this.receive(id, data, time_us), true);
    this.vehiclePort?.onReceive((id, data, time_us) => this.receiveVehicle(id, data, time_us));
    this.gpio.onInputEdge = (pin, level) => this.guard(() => {
      const handler = this.exports.gpioChanged;
      if (handler !== undefined) handler(pin, level, milliseconds(Math.floor(options.bus.now_us() / 1000)));
    });
  }

  private instantiate(): { exports: E; memory: WebAssembly.Memory } {
    const peripherals = [this.adc, this.gpio, this.port, this.flash, this.clockPeripheral, this.faults, this.config, this.converter];
    if (this.vehiclePort !== null) peripherals.push(this.vehiclePort);
    return instantiateFirmware<E>(loadFirmwareImage(this.imagePath), peripherals);
  }

  /**
   * A reset: a fresh instance of the same image on the same peripherals (flash keeps its content,
   * the bus port its queue state), then init(). What a watchdog, a brown-out or a power cycle does.
   */
  reboot(): void {
    this.flash.restorePower();
    const instance = this.instantiate();
    this.exports = instance.exports;
    this.memory = instance.memory;
    this.trap = null;
    this.poweredOff = false;
    this.rxView = null;
    this.boots++;
    this.init();
  }

  private guard(action: () => void): void {
    if (this.trap !== null || this.poweredOff) return;
    try {
      action();
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) this.trap = new Error(`${this.name} trapped: ${err.message}`);
      else if (err instanceof PowerLossError) this.poweredOff = true;
      else throw err;
    }
  }

  init(): void {
    this.guard(() => this.exports.init());
  }

  private failed(err: unknown): void {
    if (err instanceof WebAssembly.RuntimeError) this.trap = new Error(`${this.name} trapped: ${err.message}`);
    else if (err instanceof PowerLossError) this.poweredOff = true;
    else throw err;
  }

  // tick and receive run for every device on every tick: no closure per call.
  tick(now_ms: number): void {
    this.ticks++;
    if (this.trap !== null || this.poweredOff) return;
    try {
      this.exports.tick(milliseconds(now_ms));
    } catch (err) {
      this.failed(err);
    }
  }

  private rxView: Uint8Array | null = null;

  private receive(id: number, data: Uint8Array, time_us: number): void {
    if (this.trap !== null || this.poweredOff) return;
    try {
      // The view is made again only when the memory grew (which detaches the old buffer and
      // leaves the old view empty) or the device rebooted (reboot() clears it).
      let view = this.rxView;
      if (view === null || view.length === 0) view = this.rxView = new Uint8Array(this.memory.buffer, this.exports.busRxBuffer(), 8);
      // At most 8 bytes: a loop beats TypedArray.prototype.set (a runtime call) at this size.
      if (data.length > 8) view.set(data);
      for (let i = 0; i < data.length; i++) view[i] = data[i]!;
      this.exports.busReceive(id | 0, data.length, milliseconds(Math.floor(time_us / 1000)));
    } catch (err) {
      this.failed(err);
    }
  }

  private receiveVehicle(id: number, data: Uint8Array, time_us: number): void {
    this.guard(() => {
      const handler = this.exports.vehicleReceive;
      if (handler === undefined) return;
      new Uint8Array(this.memory.buffer, this.exports.busRxBuffer(), 8).set(data);
      handler(id | 0, data.length, milliseconds(Math.floor(time_us / 1000)));
    });
  }

  /** The unit's 48-bit serial number as 12 hex digits. */
  serial(): string {
    const high = (this.unit["UNIT_SERIAL_HIGH"] ?? 0) >>> 0;
    const low = (this.unit["UNIT_SERIAL_LOW"] ?? 0) >>> 0;
    return high.toString(16).padStart(4, "0") + low.toString(16).padStart(8, "0");
  }

  /** Bytes allocated since init() sealed the heap; must stay 0. */
  heapGrowthSinceInit(): number {
    return this.exports.heapTop() - this.exports.heapTopAtInit();
  }
}

export type NodeDevice = Device<NodeExports>;
export type ControllerDevice = Device<ControllerExports>;
