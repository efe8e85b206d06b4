// Contactors with precharge: RC charging of the DC link, operate/release delays seen on the
// auxiliary contacts, welded contacts, inrush when a main closes onto an uncharged link.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ContactorSystem, TE_EVC135 } from "../../../host/peripherals/contactor.ts";
import { GpioPeripheral } from "../../../host/peripherals/gpio.ts";
import { SimClock } from "../../../host/peripherals/clock.ts";

type GpioHal = { gpio_write: (pin: number, level: number) => void; gpio_read: (pin: number) => number };

function controller(circuit: Partial<ConstructorParameters<typeof ContactorSystem>[1] & object>["circuit"] = {}) {
  const clock = new SimClock();
  let pack_V = 400;
  const contactors = new ContactorSystem({ now_s: () => clock.now_us / 1e6, packVoltage_V: () => pack_V }, { circuit });
  const gpio = new GpioPeripheral();
  contactors.wire(gpio);
  const hal = gpio.imports() as unknown as GpioHal;
  const write = (name: string, level: number): void => hal.gpio_write(gpio.pin(name), level);
  const read = (name: string): number => hal.gpio_read(gpio.pin(name));
  const at_ms = (t: number): void => {
    clock.now_us = t * 1000;
  };
  return { clock, contactors, write, read, at_ms, setPack: (v: number) => (pack_V = v) };
}

test("precharge: the link follows V_pack·(1 − e^(−t/RC)) within 1 % once the precharge and negative contacts close", () => {
  const { contactors, write, at_ms } = controller({ bleedResistance_Ohm: Infinity });
  const { prechargeResistance_Ohm: r, linkCapacitance_F: c } = contactors.circuit;
  const tau_ms = r * c * 1000;
  at_ms(0);
  write("CONTACTOR_NEGATIVE", 1);
  write("CONTACTOR_PRECHARGE", 1);
  at_ms(TE_EVC135.operate_ms - 1);
  assert.equal(contactors.linkVoltage_V(), 0, "contacts still moving");
  for (let k = 0; k <= 50; k++) {
    const t = TE_EVC135.operate_ms + (k * 5 * tau_ms) / 50;
    at_ms(t);
    const expected = 400 * (1 - Math.exp(-(t - TE_EVC135.operate_ms) / tau_ms));
    assert.ok(Math.abs(contactors.linkVoltage_V() - expected) <= 0.01 * 400, `t = ${t} ms: ${contactors.linkVoltage_V()} vs ${expected}`);
  }
});

test("with the default bleed the precharged link settles at V_pack·R_bleed/(R + R_bleed), within 1 % of the pack", () => {
  const { contactors, write, at_ms } = controller();
  write("CONTACTOR_NEGATIVE", 1);
  write("CONTACTOR_PRECHARGE", 1);
  at_ms(2000);
  const { prechargeResistance_Ohm: r, bleedResistance_Ohm: rb } = contactors.circuit;
  assert.ok(Math.abs(contactors.linkVoltage_V() - (400 * rb) / (r + rb)) < 1e-6);
  assert.ok(contactors.linkVoltage_V() > 0.99 * 400);
});

test("auxiliary contacts follow the coils after the datasheet operate and release times", () => {
  const { write, read, at_ms } = controller();
  at_ms(100);
  write("CONTACTOR_POSITIVE", 1);
  at_ms(100 + TE_EVC135.operate_ms - 0.01);
  assert.equal(read("CONTACTOR_POSITIVE_AUX"), 0);
  at_ms(100 + TE_EVC135.operate_ms);
  assert.equal(read("CONTACTOR_POSITIVE_AUX"), 1);
  assert.equal(read("CONTACTOR_NEGATIVE_AUX"), 0);
  at_ms(200);
  write("CONTACTOR_POSITIVE", 0);
  at_ms(200 + TE_EVC135.release_ms - 0.01);
  assert.equal(read("CONTACTOR_POSITIVE_AUX"), 1);
  at_ms(200 + TE_EVC135.release_ms);
  assert.equal(read("CONTACTOR_POSITIVE_AUX"), 0);
  // a pulse shorter than the operate time never closes the contacts
  at_ms(300);
  write("CONTACTOR_NEGATIVE", 1);
  at_ms(310);
  write("CONTACTOR_NEGATIVE", 0);
  at_ms(400);
  assert.equal(read("CONTACTOR_NEGATIVE_AUX"), 0);
});

test("a welded contactor stays closed when its coil is released; its aux contact says so and the link stays up", () => {
  const { contactors, write, read, at_ms } = controller();
  write("CONTACTOR_NEGATIVE", 1);
  write("CONTACTOR_PRECHARGE", 1);
  at_ms(500);
  write("CONTACTOR_POSITIVE", 1);
  at_ms(600);
  write("CONTACTOR_PRECHARGE", 0);
  contactors.positive.welded = true;
  contactors.negative.welded = true;
  at_ms(700);
  write("CONTACTOR_POSITIVE", 0);
  write("CONTACTOR_NEGATIVE", 0);
  at_ms(5000);
  assert.equal(read("CONTACTOR_POSITIVE_AUX"), 1);
  assert.equal(read("CONTACTOR_NEGATIVE_AUX"), 1);
  assert.equal(contactors.positive.closed, true);
  assert.equal(contactors.linkVoltage_V(), 400);
  assert.equal(contactors.mainsClosed(), true);
});

test("closing the mains onto an uncharged link is a damage event; after precharge the inrush is harmless", () => {
  const cold = controller();
  cold.write("CONTACTOR_NEGATIVE", 1);
  cold.write("CONTACTOR_POSITIVE", 1);
  cold.at_ms(100);
  assert.equal(cold.contactors.linkVoltage_V(), 400);
  assert.equal(cold.contactors.damageEvents.length, 1);
  const event = cold.contactors.damageEvents[0]!;
  assert.equal(event.voltageDifference_V, 400);
  assert.equal(event.peakCurrent_A, 400 / cold.contactors.circuit.loopResistance_Ohm);
  assert.ok(Math.abs(event.energy_J - 0.5 * 1e-3 * 400 * 400) < 1e-9);

  const warm = controller();
  warm.write("CONTACTOR_NEGATIVE", 1);
  warm.write("CONTACTOR_PRECHARGE", 1);
  warm.at_ms(400); // > 5 τ
  warm.write("CONTACTOR_POSITIVE", 1);
  warm.at_ms(500);
  assert.equal(warm.contactors.inrushEvents.length, 1);
  assert.equal(warm.contactors.damageEvents.length, 0);
  assert.ok(warm.contactors.inrushEvents[0]!.voltageDifference_V < 0.01 * 400);
});

test("with every contactor open the link bleeds down through the discharge resistor", () => {
  const { contactors, write, at_ms } = controller();
  write("CONTACTOR_NEGATIVE", 1);
  write("CONTACTOR_POSITIVE", 1);
  at_ms(100);
  write("CONTACTOR_NEGATIVE", 0);
  write("CONTACTOR_POSITIVE", 0);
  const open_ms = 100 + TE_EVC135.release_ms;
  const tau_s = contactors.circuit.bleedResistance_Ohm * contactors.circuit.linkCapacitance_F;
  at_ms(open_ms + 10_000);
  assert.ok(Math.abs(contactors.linkVoltage_V() - 400 * Math.exp(-10 / tau_s)) < 1e-6);
});
