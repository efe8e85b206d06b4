// GPIO nets, live input sources, stuck outputs, and the passive balancing switch driving a plant module.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GpioPeripheral, Net } from "../../../host/peripherals/gpio.ts";
import { BalancingSwitch } from "../../../host/peripherals/balancing.ts";
import { loadBoard } from "../../../host/boards.ts";

type GpioHal = { gpio_write: (pin: number, level: number) => void; gpio_read: (pin: number) => number };
const hal = (gpio: GpioPeripheral): GpioHal => gpio.imports() as unknown as GpioHal;

test("the balancing switch sets the plant module's bleed resistance from BALANCE_SWITCH", () => {
  const board = loadBoard("strata-node-v1");
  const gpio = new GpioPeripheral();
  const module = { bleedResistance_Ohm: 0 }; // stands in for the plant module
  const bleed = new BalancingSwitch(gpio, board.balancing!.resistance_Ohm, module);
  assert.equal(module.bleedResistance_Ohm, Infinity, "open at power-up");
  const pin = gpio.pin("BALANCE_SWITCH");
  hal(gpio).gpio_write(pin, 1);
  assert.equal(module.bleedResistance_Ohm, 33);
  assert.equal(bleed.closed, true);
  hal(gpio).gpio_write(pin, 0);
  assert.equal(module.bleedResistance_Ohm, Infinity);
  bleed.setStuck("closed"); // MOSFET failed short
  assert.equal(module.bleedResistance_Ohm, 33);
  hal(gpio).gpio_write(pin, 0);
  assert.equal(module.bleedResistance_Ohm, 33, "the firmware cannot open a shorted switch");
  bleed.setStuck(null);
  bleed.setResistanceError(0.05);
  hal(gpio).gpio_write(pin, 1);
  assert.ok(Math.abs(module.bleedResistance_Ohm - 34.65) < 1e-9);
});

test("outputs drive nets and every listener; a forced output overrides the firmware", () => {
  const gpio = new GpioPeripheral();
  const net = new Net("chain");
  gpio.connectOutput("CHAIN_SELECT_OUT", net);
  const seen: number[][] = [[], []];
  gpio.onOutput("CHAIN_SELECT_OUT", (l) => seen[0]!.push(l));
  gpio.onOutput("CHAIN_SELECT_OUT", (l) => seen[1]!.push(l));
  const pin = gpio.pin("CHAIN_SELECT_OUT");
  hal(gpio).gpio_write(pin, 5);
  assert.equal(net.level, 1);
  gpio.forceOutput("CHAIN_SELECT_OUT", 0);
  hal(gpio).gpio_write(pin, 1);
  assert.equal(net.level, 0);
  assert.equal(gpio.outputLevel("CHAIN_SELECT_OUT"), 1, "what the firmware wrote");
  assert.equal(gpio.drivenLevel("CHAIN_SELECT_OUT"), 0, "what the pin drives");
  gpio.forceOutput("CHAIN_SELECT_OUT", null);
  assert.equal(net.level, 1);
  assert.deepEqual(seen, [[1, 0, 0, 1], [1, 0, 0, 1]]);
});

test("inputs read a net, a live source, or a forced level; unknown pins read -1", () => {
  const gpio = new GpioPeripheral();
  const net = new Net("select");
  gpio.connectInput("CHAIN_SELECT_IN", net);
  let aux = 0;
  gpio.connectInputSource("CONTACTOR_POSITIVE_AUX", () => aux);
  const h = hal(gpio);
  net.level = 1;
  assert.equal(h.gpio_read(gpio.pin("CHAIN_SELECT_IN")), 1);
  assert.equal(h.gpio_read(gpio.pin("CONTACTOR_POSITIVE_AUX")), 0);
  aux = 1;
  assert.equal(h.gpio_read(gpio.pin("CONTACTOR_POSITIVE_AUX")), 1);
  gpio.forcedInputs.set(gpio.pin("CONTACTOR_POSITIVE_AUX"), 0);
  assert.equal(h.gpio_read(gpio.pin("CONTACTOR_POSITIVE_AUX")), 0);
  assert.equal(h.gpio_read(gpio.pin("CONTACTOR_NEGATIVE_AUX")), 0, "unconnected input is pulled down");
  assert.equal(h.gpio_read(99), -1);
});
