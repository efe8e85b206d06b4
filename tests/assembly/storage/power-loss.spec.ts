// Power cut at every low-level operation of a write (exhaustive) and at random points of long write
// sequences: after the reboot the store must return, for the type being written, the previous
// committed value or the new one and nothing else, and every other type unchanged; and it must
// take the next write.
import { RecordStore, MountStatus } from "../../../assembly/storage/record-store";
import { RamFlash } from "./ram-flash";
import { Model, fillPayload, payloadLength, readVersion, storeMatches, PAYLOAD_BUFFER_BYTES } from "./fixtures";

const TYPES = 4;
const MAX_TYPES = 8;
/** Outcomes of a cut differ with the random choices; each cut point is replayed with this many seeds. */
const SEEDS_PER_CUT = 6;

// Globals keep the buffers alive: the test build's garbage collector does not see a bare pointer.
const payloadBuffer = new StaticArray<u8>(PAYLOAD_BUFFER_BYTES);
const readBackBuffer = new StaticArray<u8>(PAYLOAD_BUFFER_BYTES);
const payload = changetype<usize>(payloadBuffer);
const readBack = changetype<usize>(readBackBuffer);

function writeVersion(store: RecordStore, type: i32, version: i32, length: i32): i32 {
  fillPayload(payload, type, version, length);
  return store.write(type, payload, length);
}

function mountable(status: i32): bool {
  return status == MountStatus.OK || status == MountStatus.RECOVERED || status == MountStatus.EMPTY;
}

/** Operations one write takes from this snapshot, measured on a copy without a cut. */
function operationsOfWrite(snapshot: RamFlash, type: i32, version: i32, length: i32): i32 {
  const device = new RamFlash(snapshot.sectorSize, snapshot.sectorCount, snapshot.programUnit);
  device.copyFrom(snapshot);
  const store = new RecordStore(device, MAX_TYPES);
  store.mount();
  expect(writeVersion(store, type, version, length)).toBe(0);
  return device.operations;
}

class Outcome {
  newValueSeen: i32 = 0;
  oldValueSeen: i32 = 0;
  failures: i32 = 0;
  cases: i32 = 0;
}

/**
 * From snapshot (holding model), writes `version` of `type` with a cut at every operation k (and
 * with no cut, k = operations), reboots, and checks old-or-new, the other types, a further write
 * and a further reboot.
 */
function replayEveryCut(snapshot: RamFlash, model: Model, type: i32, version: i32, length: i32): Outcome {
  const outcome = new Outcome();
  const operations = operationsOfWrite(snapshot, type, version, length);
  const device = new RamFlash(snapshot.sectorSize, snapshot.sectorCount, snapshot.programUnit);
  const expected = new Model(TYPES);
  for (let k = 0; k <= operations; k++) {
    for (let seed = 1; seed <= SEEDS_PER_CUT; seed++) {
      outcome.cases++;
      device.copyFrom(snapshot);
      device.reseed(<u32>(seed * 7919 + k * 104729));
      let store = new RecordStore(device, MAX_TYPES);
      store.mount();
      device.cutAfter(k);
      const result = writeVersion(store, type, version, length);
      if (k < operations && device.powered) outcome.failures++;
      if (k == operations && result != 0) outcome.failures++;
      device.powerOn();

      store = new RecordStore(device, MAX_TYPES);
      if (!mountable(store.mount())) {
        outcome.failures++;
        continue;
      }
      expected.copyFrom(model);
      const seen = readVersion(store, type, readBack, model.versions[type], model.lengths[type], version, length);
      if (seen < 0) {
        outcome.failures++;
        continue;
      }
      if (seen == version) {
        outcome.newValueSeen++;
        expected.set(type, version, length);
      } else {
        outcome.oldValueSeen++;
      }
      if (!storeMatches(store, expected, readBack)) outcome.failures++;
      // The recovered store takes writes, and they survive the next reboot.
      const other = type % TYPES + 1;
      const otherLength = payloadLength(other, 1000 + k, 40);
      if (writeVersion(store, other, 1000 + k, otherLength) != 0) outcome.failures++;
      expected.set(other, 1000 + k, otherLength);
      store = new RecordStore(device, MAX_TYPES);
      if (store.mount() != MountStatus.OK && store.status != MountStatus.RECOVERED) outcome.failures++;
      if (!storeMatches(store, expected, readBack)) outcome.failures++;
      if (device.reprograms != 0) outcome.failures++;
    }
  }
  return outcome;
}

/** A store with all four types written, then filled so the next write of `length` bytes needs a new sector. */
function fillUntilCollectionDue(device: RamFlash, model: Model, length: i32, wrapped: bool): void {
  const store = new RecordStore(device, MAX_TYPES);
  expect(store.mount()).toBe(MountStatus.EMPTY);
  let version = 1;
  for (let t = 1; t <= TYPES; t++) {
    expect(writeVersion(store, t, version, 32)).toBe(0);
    model.set(t, version, 32);
  }
  // wrapped: every sector has been used once, so the collection must erase its target first.
  while (!(store.freeBytes() < store.spanOf(length) && (!wrapped || store.collections >= device.sectorCount))) {
    version++;
    const t = version % 3 + 2;
    const l = payloadLength(t, version, 48);
    expect(writeVersion(store, t, version, l)).toBe(0);
    model.set(t, version, l);
  }
}

describe("power cut at every operation of one write", () => {
  it("the first write on erased flash", () => {
    const device = new RamFlash(512, 4, 4);
    const model = new Model(TYPES);
    const outcome = replayEveryCut(device, model, 1, 1, 64);
    expect(outcome.failures).toBe(0);
    expect(outcome.newValueSeen).toBeGreaterThan(0);
    expect(outcome.oldValueSeen).toBeGreaterThan(0);
  });

  it("an append into the active sector", () => {
    const device = new RamFlash(512, 4, 4);
    const model = new Model(TYPES);
    const store = new RecordStore(device, MAX_TYPES);
    store.mount();
    for (let t = 1; t <= TYPES; t++) {
      expect(writeVersion(store, t, 1, 20 + t)).toBe(0);
      model.set(t, 1, 20 + t);
    }
    const outcome = replayEveryCut(device, model, 1, 2, 64);
    expect(outcome.failures).toBe(0);
    expect(outcome.cases).toBe((3 + 1) * SEEDS_PER_CUT); // body in two chunks, commit
  });

  it("a write that opens the next sector (garbage collection into an erased sector)", () => {
    const device = new RamFlash(512, 4, 4);
    const model = new Model(TYPES);
    fillUntilCollectionDue(device, model, 64, false);
    const outcome = replayEveryCut(device, model, 1, 5000, 64);
    expect(outcome.failures).toBe(0);
    expect(outcome.newValueSeen).toBeGreaterThan(0);
    expect(outcome.oldValueSeen).toBeGreaterThan(0);
  });

  it("a write that erases a used sector, copies three records and commits it", () => {
    const device = new RamFlash(512, 4, 4);
    const model = new Model(TYPES);
    fillUntilCollectionDue(device, model, 64, true);
    const operations = operationsOfWrite(device, 1, 5000, 64);
    // erase, sector header, three copies of a 32-48 byte record (body + commit each), the new record, sector commit
    expect(operations).toBeGreaterThanOrEqual(1 + 1 + 3 * 2 + 3 + 1);
    const outcome = replayEveryCut(device, model, 1, 5000, 64);
    expect(outcome.failures).toBe(0);
    expect(outcome.newValueSeen).toBeGreaterThan(0);
    expect(outcome.oldValueSeen).toBeGreaterThan(0);
  });

  it("a write after a torn one (the torn tail forces a new sector)", () => {
    const device = new RamFlash(512, 4, 4);
    const model = new Model(TYPES);
    const store = new RecordStore(device, MAX_TYPES);
    store.mount();
    for (let t = 1; t <= TYPES; t++) {
      expect(writeVersion(store, t, 1, 24)).toBe(0);
      model.set(t, 1, 24);
    }
    device.reseed(3);
    device.cutAfter(0);
    writeVersion(store, 2, 2, 40);
    device.powerOn();
    // Whatever the cut left, replaying the next write from it must be safe too.
    const rebooted = new RecordStore(device, MAX_TYPES);
    expect(mountable(rebooted.mount())).toBe(true);
    const seen = readVersion(rebooted, 2, readBack, 1, 24, 2, 40);
    expect(seen == 1 || seen == 2).toBe(true);
    if (seen == 2) model.set(2, 2, 40);
    const outcome = replayEveryCut(device, model, 3, 3, 48);
    expect(outcome.failures).toBe(0);
  });

  it("with an 8-byte program unit (ECC flash words)", () => {
    const device = new RamFlash(512, 3, 8);
    const model = new Model(TYPES);
    fillUntilCollectionDue(device, model, 40, true);
    const outcome = replayEveryCut(device, model, 2, 6000, 40);
    expect(outcome.failures).toBe(0);
  });
});

let cutsMade = 0;

describe("power cuts while the first sector is opened", () => {
  it("repeated cuts during the first write never leave flash the store calls CORRUPT", () => {
    for (let seed: u32 = 1; seed <= 40; seed++) {
      const device = new RamFlash(512, 2, 4, seed);
      let attempts = 0;
      let done = false;
      while (!done && attempts < 12) {
        attempts++;
        const store = new RecordStore(device, MAX_TYPES);
        expect(mountable(store.mount())).toBe(true);
        if (readVersion(store, 1, readBack, 0, 0, 1, 16) == 1) break;
        // The first write takes four operations (sector header, sector commit, record body,
        // record commit), plus an erase when no erased sector is left: cut at one of them.
        device.cutAfter(<i32>(device.random() % 5));
        done = writeVersion(store, 1, 1, 16) == 0;
        device.powerOn();
      }
      const store = new RecordStore(device, MAX_TYPES);
      expect(mountable(store.mount())).toBe(true);
      expect(readVersion(store, 1, readBack, 0, 0, 1, 16)).toBeGreaterThanOrEqual(0);
      expect(writeVersion(store, 2, 1, 16)).toBe(0);
    }
  });
});

/** Writes `writes` records with a power cut before about one write in three, rebooting after each cut. */
function randomCuts(sectorSize: i32, sectorCount: i32, programUnit: i32, seed: u32, writes: i32): i32 {
  const device = new RamFlash(sectorSize, sectorCount, programUnit, seed);
  let store = new RecordStore(device, MAX_TYPES);
  let failures = 0;
  if (store.mount() != MountStatus.EMPTY) failures++;
  const model = new Model(TYPES);
  let cuts = 0;
  for (let i = 1; i <= writes; i++) {
    const type = <i32>(device.random() % TYPES) + 1;
    const length = payloadLength(type, i, 60);
    const cut = device.random() % 3 == 0;
    // An append takes 2-4 operations, opening a sector up to about 16: aim at both.
    if (cut) device.cutAfter(<i32>(device.random() % (device.random() % 2 == 0 ? 4 : 16)));
    const result = writeVersion(store, type, i, length);
    if (device.powered) {
      device.cutAt = -1;
      if (result != 0) failures++;
      else model.set(type, i, length);
    } else {
      cuts++;
      device.powerOn();
      store = new RecordStore(device, MAX_TYPES);
      if (!mountable(store.mount())) failures++;
      const seen = readVersion(store, type, readBack, model.versions[type], model.lengths[type], i, length);
      if (seen < 0) failures++;
      if (seen == i) model.set(type, i, length);
    }
    if (!storeMatches(store, model, readBack)) failures++;
    if (i % 50 == 0) {
      store = new RecordStore(device, MAX_TYPES);
      if (!mountable(store.mount())) failures++;
      if (!storeMatches(store, model, readBack)) failures++;
    }
  }
  if (device.reprograms != 0) failures++;
  cutsMade += cuts;
  return failures;
}

describe("power cuts at random points of 300 writes", () => {
  it("4 x 512 B sectors, 4-byte program unit, five seeds", () => {
    cutsMade = 0;
    for (let seed: u32 = 1; seed <= 5; seed++) expect(randomCuts(512, 4, 4, seed * 2654435761, 300)).toBe(0);
    // About one write in five is cut before it completes.
    expect(cutsMade).toBeGreaterThan(5 * 300 / 8);
  });
  it("2 x 512 B sectors (the minimum), 4-byte program unit", () => {
    for (let seed: u32 = 11; seed <= 13; seed++) expect(randomCuts(512, 2, 4, seed, 300)).toBe(0);
  });
  it("3 x 1 KiB sectors, byte-programmable, and 8-byte program unit", () => {
    expect(randomCuts(1024, 3, 1, 77, 300)).toBe(0);
    expect(randomCuts(1024, 3, 8, 78, 300)).toBe(0);
  });
  it("the node's flash: 4 x 4 KiB sectors", () => {
    expect(randomCuts(4096, 4, 4, 4242, 300)).toBe(0);
  });
});
