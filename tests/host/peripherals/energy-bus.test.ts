// Energy bus for active equalisation: clamping, balance of a storage-less bus, losses, plant hook.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EnergyBus, LTC3300_1 } from "../../../host/peripherals/energy-bus.ts";

const close = (a: number, b: number, tol = 1e-9): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));

function busSide(bus: EnergyBus): { into: number; out: number; sum: number } {
  let into = 0;
  let out = 0;
  let sum = 0;
  for (let i = 0; i < bus.moduleCount; i++) {
    const p = bus.power_W(i);
    sum += p;
    if (p > 0) into += bus.efficiency * p;
    else out += -p / bus.efficiency;
  }
  return { into, out, sum };
}

test("what the delivering converters put on the bus equals what the absorbing ones take off; the rest is loss", () => {
  const bus = new EnergyBus(4);
  bus.setPower_W(0, 20);
  bus.setPower_W(1, -10);
  bus.setPower_W(2, -8);
  const { into, out, sum } = busSide(bus);
  assert.ok(close(into, out), `${into} on, ${out} off`);
  const balance = bus.balance();
  assert.ok(close(balance.losses_W, sum));
  assert.ok(balance.losses_W > 0);
  assert.ok(close(balance.intoBus_W, into));
  // energy over time: delivered − absorbed = lost
  bus.advance(3600);
  assert.ok(close(bus.energyDelivered_J - bus.energyAbsorbed_J, bus.energyLost_J));
});

test("commands are clamped to the converter's power limit (LTC3300-1: 10 A at 3.6 V)", () => {
  const bus = new EnergyBus(2);
  assert.equal(bus.setPower_W(0, 100), LTC3300_1.powerLimit_W);
  assert.equal(bus.setPower_W(1, -1000), -LTC3300_1.powerLimit_W);
  assert.equal(bus.commanded_W(1), -36);
  assert.equal(bus.setPower_W(0, Number.NaN), 0);
});

test("unbalanced commands: the side in excess is scaled down and the shortfall reported", () => {
  const bus = new EnergyBus(3);
  bus.setPower_W(0, 30);
  bus.setPower_W(1, -5);
  let b = bus.balance();
  assert.equal(b.scaledSide, "delivering");
  assert.ok(close(bus.power_W(0) * 0.92, 5 / 0.92));
  assert.equal(bus.power_W(1), -5);
  assert.ok(close(b.curtailed_W, 30 - bus.power_W(0)));
  bus.setPower_W(0, 2);
  bus.setPower_W(2, -20);
  b = bus.balance();
  assert.equal(b.scaledSide, "absorbing");
  assert.ok(close(busSide(bus).into, busSide(bus).out));
  assert.equal(bus.power_W(0), 2);
  assert.ok(close(bus.power_W(1) / bus.power_W(2), 5 / 20), "absorbers scaled in proportion");
  bus.setPower_W(0, 0);
  assert.deepEqual([0, 1, 2].map((i) => Math.abs(bus.power_W(i))), [0, 0, 0], "nothing to absorb from");
  assert.equal(bus.balance().scale, 0);
});

test("a failed converter transfers nothing and the plant hook sees actual powers", () => {
  const bus = new EnergyBus(2);
  const modules = [{ converterPower_W: 99 }, { converterPower_W: 99 }];
  bus.attach(0, modules[0]!);
  bus.attach(1, modules[1]!);
  assert.deepEqual(modules.map((m) => m.converterPower_W), [0, 0]);
  bus.setPower_W(0, 10);
  bus.setPower_W(1, -9.2 * 0.92);
  assert.ok(close(modules[0]!.converterPower_W, 10));
  assert.ok(close(modules[1]!.converterPower_W, -9.2 * 0.92));
  bus.failed.add(0);
  bus.resolve();
  assert.deepEqual(modules.map((m) => Math.abs(m.converterPower_W)), [0, 0]);
});
