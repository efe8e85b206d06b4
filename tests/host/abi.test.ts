import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { loadAbi, renderAssemblyAbi, renderAbiDocTables, repoRoot, wasm3Signature, abiPath } from "../../host/abi.ts";
import { linkHal } from "../../host/loader.ts";
import { SimClock, ClockPeripheral } from "../../host/peripherals/clock.ts";
import { AdcPeripheral } from "../../host/peripherals/adc.ts";
import { GpioPeripheral } from "../../host/peripherals/gpio.ts";
import { CanBus, BusPort, VehiclePort } from "../../host/peripherals/bus.ts";
import { ConverterPeripheral } from "../../host/peripherals/energy-bus.ts";
import { FlashPeripheral } from "../../host/peripherals/flash.ts";
import { FaultPeripheral } from "../../host/peripherals/fault.ts";
import { BoardConfigPeripheral } from "../../host/peripherals/board.ts";
import { loadBoard } from "../../host/boards.ts";

test("assembly/hal/abi.ts is exactly what abi.json generates", () => {
  const committed = readFileSync(join(repoRoot, "assembly", "hal", "abi.ts"), "utf8");
  assert.equal(committed, renderAssemblyAbi(loadAbi()), "run `npm run gen:hal` after editing assembly/hal/abi.json");
});

test("wasm3 signatures use wasm3's type letters", () => {
  const abi = loadAbi();
  const sig = (name: string): string => wasm3Signature(abi.functions.find((f) => f.name === name)!);
  assert.equal(sig("adc_read"), "i(i)");
  assert.equal(sig("bus_send"), "i(iii)");
  assert.equal(sig("clock_us"), "I()");
  assert.equal(sig("board_config"), "F(i)");
  assert.equal(sig("fault_abort"), "v(iii)");
});

test("the ABI rejects a non-scalar parameter and a duplicated value", () => {
  const abi = JSON.parse(readFileSync(abiPath, "utf8")) as { functions: { params: [string, string][] }[]; gpioPins: { value: number }[] };
  const dir = mkdtempSync(join(tmpdir(), "strata-abi-"));
  const badType = structuredClone(abi);
  badType.functions[0]!.params = [["buffer", "externref"]];
  writeFileSync(join(dir, "a.json"), JSON.stringify(badType));
  assert.throws(() => loadAbi(join(dir, "a.json")), /non-scalar type 'externref'/);
  const dup = structuredClone(abi);
  dup.gpioPins[1]!.value = dup.gpioPins[0]!.value;
  writeFileSync(join(dir, "b.json"), JSON.stringify(dup));
  assert.throws(() => loadAbi(join(dir, "b.json")), /gpioPins .* reuses value/);
});

test("the emulated peripherals provide every ABI function with its arity", () => {
  const node = loadBoard("strata-node-v1");
  const clock = new SimClock();
  const bus = new CanBus(500000, clock);
  const peripherals = [
    new AdcPeripheral(node), new GpioPeripheral(), new BusPort(bus, "n", 4), new FlashPeripheral(node),
    new ClockPeripheral(clock), new FaultPeripheral(clock), new BoardConfigPeripheral(node),
    new VehiclePort(new CanBus(500000, clock, null, false), "v", 4), new ConverterPeripheral(null, 0),
  ];
  const memory = { bytes: () => new Uint8Array(65536) };
  const hal = linkHal(loadAbi(), peripherals, memory);
  assert.deepEqual(Object.keys(hal).sort(), loadAbi().functions.map((f) => f.name).sort());
  assert.throws(() => linkHal(loadAbi(), peripherals.filter((p) => p.group !== "flash"), memory), /no peripheral provides hal\.flash_read/);
});

test("docs/hal-abi.md carries the tables abi.json generates", () => {
  const doc = readFileSync(join(repoRoot, "docs", "hal-abi.md"), "utf8");
  assert.ok(doc.includes(renderAbiDocTables(loadAbi())), "run `npm run gen:hal` after editing assembly/hal/abi.json");
});
