// GPIO: logical pins wired to nets. A net is one electrical node: an output drives it, inputs on
// other devices read it. Outputs also notify listeners, which is how the plant sees a balancing
// switch or a contactor coil; an input can also read a live source (a contactor's auxiliary
// contact), evaluated when the firmware reads it.
import type { Peripheral, HalImport } from "./types.ts";
import { loadAbi } from "../abi.ts";

export class Net {
  level = 0;
  /** Inputs on this net that want to hear of an edge (a pin-change interrupt). */
  readonly watchers: ((level: number) => void)[] = [];
  constructor(readonly name: string) {}

  set(level: number): void {
    if (level === this.level) return;
    this.level = level;
    for (const watcher of this.watchers) watcher(level);
  }
}

export class GpioPeripheral implements Peripheral {
  readonly group = "gpio";
  // Indexed by pin number (small integers from the ABI): gpio_write and gpio_read run every tick
  // on every node, and an array slot is cheaper than a Map lookup.
  private readonly outputs: (Net | undefined)[] = [];
  private readonly inputs: (Net | undefined)[] = [];
  private readonly inputSources: ((() => number) | undefined)[] = [];
  private readonly levels: number[] = [];
  private readonly listeners: (((level: number) => void)[] | undefined)[] = [];
  private readonly forcedOutputs: (number | undefined)[] = [];
  private readonly pinByName: Map<string, number>;
  /** known[pin]: the pin is in the ABI (false or a hole otherwise, negative or huge numbers included). */
  private readonly known: boolean[] = [];
  /** Fault knob: pins whose input reads a forced level (a shorted or open line). */
  readonly forcedInputs = new Map<number, number>();
  writes = 0;

  constructor() {
    this.pinByName = new Map(loadAbi().gpioPins.map((p) => [p.name, p.value]));
    for (const pin of this.pinByName.values()) {
      this.known[pin] = true;
      this.levels[pin] = 0;
    }
  }

  pin(name: string): number {
    const pin = this.pinByName.get(name);
    if (pin === undefined) throw new Error(`'${name}' is not a GPIO pin of the HAL ABI`);
    return pin;
  }

  connectOutput(name: string, net: Net): void {
    this.outputs[this.pin(name)] = net;
  }
  connectInput(name: string, net: Net): void {
    const pin = this.pin(name);
    this.inputs[pin] = net;
    net.watchers.push((level) => this.onInputEdge?.(pin, level));
  }
  /** Called on every level change of a connected input: the board's pin-change interrupt. */
  onInputEdge: ((pin: number, level: number) => void) | null = null;
  /** Wires an input to a live source (0 or 1), read at every gpio_read. */
  connectInputSource(name: string, source: () => number): void {
    this.inputSources[this.pin(name)] = source;
  }
  /** Adds a listener to an output pin; every listener sees every level the pin takes. */
  onOutput(name: string, listener: (level: number) => void): void {
    const pin = this.pin(name);
    const list = this.listeners[pin];
    if (list === undefined) this.listeners[pin] = [listener];
    else list.push(listener);
  }

  /** Last level the firmware wrote to an output pin (0 before any write). */
  outputLevel(name: string): number {
    return this.levels[this.pin(name)] ?? 0;
  }

  /** Level the output pin actually drives: the forced level when a fault forces it, else what the firmware wrote. */
  drivenLevel(name: string): number {
    const pin = this.pin(name);
    return this.forcedOutputs[pin] ?? this.levels[pin] ?? 0;
  }

  /**
   * Fault knob: the output driver is stuck (a shorted or open transistor): the net and the listeners
   * see `level` whatever the firmware writes; null releases it back to the firmware's level.
   */
  forceOutput(name: string, level: number | null): void {
    const pin = this.pin(name);
    this.forcedOutputs[pin] = level === null ? undefined : level !== 0 ? 1 : 0;
    this.drive(pin);
  }

  private drive(pin: number): void {
    const value = this.forcedOutputs[pin] ?? this.levels[pin] ?? 0;
    const net = this.outputs[pin];
    if (net !== undefined) net.set(value);
    const list = this.listeners[pin];
    if (list !== undefined) for (let i = 0; i < list.length; i++) list[i]!(value);
  }

  imports(): Record<string, HalImport> {
    return {
      gpio_write: (pin: number, level: number): void => {
        this.writes++;
        // A pin outside the ABI has no net, no listener and no name to read it back by.
        if (this.known[pin] !== true) return;
        this.levels[pin] = level !== 0 ? 1 : 0;
        this.drive(pin);
      },
      gpio_read: (pin: number): number => {
        if (this.forcedInputs.size !== 0) {
          const forced = this.forcedInputs.get(pin);
          if (forced !== undefined) return forced;
        }
        if (this.known[pin] !== true) return -1;
        const source = this.inputSources[pin];
        if (source !== undefined) return source() !== 0 ? 1 : 0;
        const net = this.inputs[pin];
        if (net !== undefined) return net.level;
        // An unconnected input of a known pin reads low (pull-down); an unknown pin is an error.
        return 0;
      },
    };
  }
}
