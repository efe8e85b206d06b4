// Wear levelling (round-robin sector reuse keeps erase counts within one of each other) and the
// 15-year erase budget of the node's flash at the expected write rate.
import { RecordStore, MountStatus } from "../../../assembly/storage/record-store";
import { recordSpan, sectorHeaderSpan } from "../../../assembly/storage/layout";
import { RamFlash } from "./ram-flash";
import { fillPayload, payloadLength, PAYLOAD_BUFFER_BYTES } from "./fixtures";

const payloadBuffer = new StaticArray<u8>(PAYLOAD_BUFFER_BYTES);
const payload = changetype<usize>(payloadBuffer);

// Record types as the node is expected to use them (the store itself is generic).
const ESTIMATOR_STATE = 1;
const PASSPORT = 2;
const FAULT_RECORD = 3;
const IDENTITY = 4;

/** The node board's data partition (boards/strata-node-v1.json). */
const SECTOR_SIZE = 4096;
const SECTORS = 4;
const PROGRAM_UNIT = 4;
const PAYLOAD_BYTES = 72;

// Expected use: the estimator state is saved every 60 s of operation, the passport every hour of
// operation and at shutdown; operation is 2 h of driving a day.
const OPERATING_MINUTES_PER_DAY = 120;
const ESTIMATOR_WRITES_PER_DAY = OPERATING_MINUTES_PER_DAY; // one a minute
const PASSPORT_WRITES_PER_DAY = OPERATING_MINUTES_PER_DAY / 60 + 1; // hourly + shutdown
const WRITES_PER_DAY = ESTIMATOR_WRITES_PER_DAY + PASSPORT_WRITES_PER_DAY; // 123
const LIFETIME_YEARS = 15;
/**
 * Endurance to stay within: 10,000 program/erase cycles is the guaranteed minimum of MCU-internal
 * flash (e.g. STM32F4 datasheets, "N_END 10 kcycles"); serial NOR parts such as the Winbond W25Q
 * family guarantee 100,000 (littlefs DESIGN.md quotes the same order for NOR).
 */
const ENDURANCE_CYCLES = 10000;

function write(store: RecordStore, type: i32, version: i32, length: i32): i32 {
  fillPayload(payload, type, version, length);
  return store.write(type, payload, length);
}

/** One day of the expected use; version numbers keep payloads distinct. */
function operateOneDay(store: RecordStore, day: i32): i32 {
  let failures = 0;
  for (let minute = 1; minute <= OPERATING_MINUTES_PER_DAY; minute++) {
    if (write(store, ESTIMATOR_STATE, day * 1000 + minute, PAYLOAD_BYTES) != 0) failures++;
    if (minute % 60 == 0 && write(store, PASSPORT, day * 1000 + minute, PAYLOAD_BYTES) != 0) failures++;
  }
  if (write(store, PASSPORT, day * 1000 + 999, PAYLOAD_BYTES) != 0) failures++;
  return failures;
}

describe("wear levelling", () => {
  it("keeps erase counts within one of each other across reboots (4 x 4 KiB)", () => {
    const device = new RamFlash(SECTOR_SIZE, SECTORS, PROGRAM_UNIT);
    let store = new RecordStore(device, 8);
    expect(store.mount()).toBe(MountStatus.EMPTY);
    for (let i = 1; i <= 6000; i++) {
      const type = i % 7 == 0 ? PASSPORT : i % 101 == 0 ? FAULT_RECORD : i == 1 ? IDENTITY : ESTIMATOR_STATE;
      expect(write(store, type, i, PAYLOAD_BYTES)).toBe(0);
      if (i % 500 == 0) {
        store = new RecordStore(device, 8);
        expect(store.mount()).toBe(MountStatus.OK);
      }
      expect(device.maxErases() - device.minErases()).toBeLessThanOrEqual(1);
    }
    expect(device.minErases()).toBeGreaterThan(20);
    // The counts in the sector headers are the device's counts.
    for (let s = 0; s < SECTORS; s++) expect(store.eraseCount(s)).toBe(<u32>device.erases[s]);
  });

  it("keeps erase counts within one with varying record sizes (3 x 1 KiB, 8-byte program unit)", () => {
    const device = new RamFlash(1024, 3, 8);
    const store = new RecordStore(device, 8);
    store.mount();
    for (let i = 1; i <= 3000; i++) {
      const type = i % 5 + 1;
      expect(write(store, type, i, payloadLength(type, i, 100))).toBe(0);
      expect(device.maxErases() - device.minErases()).toBeLessThanOrEqual(1);
    }
    expect(device.minErases()).toBeGreaterThan(50);
  });
});

describe("15-year erase budget of the node's flash", () => {
  it("stays within 10,000 cycles per sector at 123 writes a day (measured and by formula)", () => {
    // By formula (docs/flash-store.md): erases per sector per year
    //   = records per year x record size / (sector size x sectors)
    const writesPerYear = <f64>(WRITES_PER_DAY * 365);
    const span = recordSpan(PAYLOAD_BYTES, PROGRAM_UNIT);
    expect(WRITES_PER_DAY).toBe(123);
    expect(span).toBe(92);
    const simplePerYear = writesPerYear * <f64>span / <f64>(SECTOR_SIZE * SECTORS);
    expect(simplePerYear * LIFETIME_YEARS).toBeCloseTo(3781.4, 1);
    // With the copies garbage collection makes: each opened sector holds the header, the newest
    // record of the three other types and then new records only.
    const newRecordsPerSector = (SECTOR_SIZE - sectorHeaderSpan(PROGRAM_UNIT) - 3 * span) / span;
    expect(newRecordsPerSector).toBe(41);
    const refinedPerYear = writesPerYear / <f64>newRecordsPerSector / <f64>SECTORS;
    expect(refinedPerYear * LIFETIME_YEARS).toBeCloseTo(4106.25, 2);

    // Measured: 200 days on the emulated node flash, after one warm-up cycle through the sectors.
    const device = new RamFlash(SECTOR_SIZE, SECTORS, PROGRAM_UNIT);
    const store = new RecordStore(device, 8);
    store.mount();
    expect(write(store, IDENTITY, 1, PAYLOAD_BYTES)).toBe(0);
    expect(write(store, FAULT_RECORD, 1, PAYLOAD_BYTES)).toBe(0);
    let day = 0;
    while (device.minErases() < 1) expect(operateOneDay(store, ++day)).toBe(0);
    let erasesBefore = 0;
    for (let s = 0; s < SECTORS; s++) erasesBefore += device.erases[s];
    const measuredDays = 200;
    for (let d = 0; d < measuredDays; d++) expect(operateOneDay(store, ++day)).toBe(0);
    let erases = 0;
    for (let s = 0; s < SECTORS; s++) erases += device.erases[s];
    const measuredPerYear = <f64>(erases - erasesBefore) / <f64>SECTORS / <f64>measuredDays * 365.0;
    const lifetimeCycles = measuredPerYear * LIFETIME_YEARS;
    // 200 days hold 24,600 writes, 546.7 collections by formula; the count is whole.
    expect(Math.abs(lifetimeCycles - refinedPerYear * LIFETIME_YEARS)).toBeLessThan(refinedPerYear * LIFETIME_YEARS * 0.01);
    expect(lifetimeCycles).toBeLessThan(<f64>ENDURANCE_CYCLES);
    expect(device.maxErases() - device.minErases()).toBeLessThanOrEqual(1);
  });
});
