// GPIO: logical pins wired to nets. A net is one electrical node: an output drives it, inputs on
// other devices read it. Outputs also notify listeners, which is how the plant sees a balancing
// switch or a contactor coil.
import type { Peripheral, HalImport } from "./types.ts";
import { loadAbi } from "../abi.ts";

export class Net {
  level = 0;
  constructor(readonly name: string) {}
}

export class GpioPeripheral implements Peripheral {
  readonly group = "gpio";
  private readonly outputs = new Map<number, Net>();
  private readonly inputs = new Map<number, Net>();
  private readonly levels = new Map<number, number>();
  private readonly listeners = new Map<number, (level: number) => void>();
  private readonly pinByName: Map<string, number>;
  private readonly knownPins: Set<number>;
  /** Fault knob: pins whose input reads a forced level (a shorted or open line). */
  readonly forcedInputs = new Map<number, number>();
  writes = 0;

  constructor() {
    this.pinByName = new Map(loadAbi().gpioPins.map((p) => [p.name, p.value]));
    this.knownPins = new Set(this.pinByName.values());
  }

  pin(name: string): number {
    const pin = this.pinByName.get(name);
    if (pin === undefined) throw new Error(`'${name}' is not a GPIO pin of the HAL ABI`);
    return pin;
  }

  connectOutput(name: string, net: Net): void {
    this.outputs.set(this.pin(name), net);
  }
  connectInput(name: string, net: Net): void {
    this.inputs.set(this.pin(name), net);
  }
  onOutput(name: string, listener: (level: number) => void): void {
    this.listeners.set(this.pin(name), listener);
  }

  /** Last level the firmware wrote to an output pin (0 before any write). */
  outputLevel(name: string): number {
    return this.levels.get(this.pin(name)) ?? 0;
  }

  imports(): Record<string, HalImport> {
    return {
      gpio_write: (pin: number, level: number): void => {
        const value = level !== 0 ? 1 : 0;
        this.writes++;
        this.levels.set(pin, value);
        const net = this.outputs.get(pin);
        if (net !== undefined) net.level = value;
        this.listeners.get(pin)?.(value);
      },
      gpio_read: (pin: number): number => {
        const forced = this.forcedInputs.get(pin);
        if (forced !== undefined) return forced;
        const net = this.inputs.get(pin);
        if (net !== undefined) return net.level;
        // An unconnected input of a known pin reads low (pull-down); an unknown pin is an error.
        return this.knownPins.has(pin) ? 0 : -1;
      },
    };
  }
}
