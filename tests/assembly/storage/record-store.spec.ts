// The record store's format byte by byte, its API and error codes, the cursor, retention faults
// (a flipped bit in a committed record) and flash it does not recognise (CORRUPT, read-only).
import { RecordStore, RecordCursor, MountStatus, StoreError } from "../../../assembly/storage/record-store";
import {
  recordSpan, sectorHeaderSpan, recordsPerSector, COMMIT_WORD, STORE_FORMAT_VERSION,
} from "../../../assembly/storage/layout";
import { crc32 } from "../../../assembly/storage/crc32";
import { RamFlash } from "./ram-flash";
import { Model, fillPayload, payloadLength, payloadMatches, readVersion, storeMatches, PAYLOAD_BUFFER_BYTES } from "./fixtures";

const payloadBuffer = new StaticArray<u8>(PAYLOAD_BUFFER_BYTES);
const readBackBuffer = new StaticArray<u8>(PAYLOAD_BUFFER_BYTES);
const payload = changetype<usize>(payloadBuffer);
const readBack = changetype<usize>(readBackBuffer);

function writeVersion(store: RecordStore, type: i32, version: i32, length: i32): i32 {
  fillPayload(payload, type, version, length);
  return store.write(type, payload, length);
}

function u32At(device: RamFlash, address: i32): u32 {
  return <u32>device.data[address] | (<u32>device.data[address + 1] << 8)
    | (<u32>device.data[address + 2] << 16) | (<u32>device.data[address + 3] << 24);
}

function u16At(device: RamFlash, address: i32): u32 {
  return <u32>device.data[address] | (<u32>device.data[address + 1] << 8);
}

function crcOfFlash(device: RamFlash, address: i32, length: i32): u32 {
  return crc32(changetype<usize>(device.data) + <usize>address, length);
}

function mountedStore(device: RamFlash, maxTypes: i32 = 8): RecordStore {
  const store = new RecordStore(device, maxTypes);
  store.mount();
  return store;
}

describe("on-flash layout (format version 1)", () => {
  it("sizes records and sectors as docs/flash-store.md says", () => {
    // 12-byte header + payload + 4-byte CRC, padded to the program unit, + one commit unit.
    expect(recordSpan(64, 4)).toBe(84);
    expect(recordSpan(64, 8)).toBe(88);
    expect(recordSpan(64, 1)).toBe(84);
    expect(recordSpan(64, 32)).toBe(128);
    expect(recordSpan(0, 4)).toBe(20);
    expect(sectorHeaderSpan(4)).toBe(20);
    expect(sectorHeaderSpan(8)).toBe(24);
    expect(sectorHeaderSpan(32)).toBe(64);
    // The node board: 4 KiB sectors, 4-byte program unit, 64-byte payloads.
    expect(recordsPerSector(64, 4096, 4)).toBe(48);
    expect(recordsPerSector(64, 4096, 8)).toBe(46);
  });

  it("writes the sector header and a record byte by byte", () => {
    const device = new RamFlash(512, 4, 4);
    const records = mountedStore(device);
    expect(records.status).toBe(MountStatus.EMPTY);
    for (let i = 0; i < 5; i++) store<u8>(payload + <usize>i, <u8>(i + 1));
    expect(records.write(0x0102, payload, 5)).toBe(0);
    // Sector header at offset 0 of sector 0.
    expect(device.data[0]).toBe(0x53); // 'S'
    expect(device.data[1]).toBe(0x54); // 'T'
    expect(device.data[2]).toBe(STORE_FORMAT_VERSION);
    expect(device.data[3]).toBe(0xff);
    expect(u32At(device, 4)).toBe(1); // epoch
    expect(u32At(device, 8)).toBe(0); // erase count
    expect(u32At(device, 12)).toBe(crcOfFlash(device, 0, 12));
    expect(u32At(device, 16)).toBe(COMMIT_WORD);
    expect(device.data[16]).toBe(0x3c); // commit word bytes 3C C3 A5 5A
    expect(device.data[19]).toBe(0x5a);
    // The record at offset 20.
    expect(device.data[20]).toBe(0x52); // 'R'
    expect(device.data[21]).toBe(0x43); // 'C'
    expect(device.data[22]).toBe(STORE_FORMAT_VERSION);
    expect(device.data[23]).toBe(0xff);
    expect(u16At(device, 24)).toBe(0x0102); // type
    expect(u16At(device, 26)).toBe(5); // payload length
    expect(u32At(device, 28)).toBe(1); // sequence
    for (let i = 0; i < 5; i++) expect(device.data[32 + i]).toBe(<u8>(i + 1));
    expect(u32At(device, 37)).toBe(crcOfFlash(device, 20, 12 + 5)); // CRC-32 of header and payload
    for (let i = 41; i < 44; i++) expect(device.data[i]).toBe(0xff); // padding to the program unit
    expect(u32At(device, 44)).toBe(COMMIT_WORD);
    for (let i = 48; i < 512; i++) expect(device.data[i]).toBe(0xff);
    expect(records.appendOffset).toBe(48);
    expect(records.lastSequence).toBe(1);
  });

  it("programs every program unit once between erases (ECC flash words allow no second program)", () => {
    const device = new RamFlash(512, 3, 8);
    const store = mountedStore(device);
    for (let i = 1; i <= 200; i++) expect(writeVersion(store, i % 3 + 1, i, payloadLength(i % 3 + 1, i, 50))).toBe(0);
    expect(device.erases[0]).toBeGreaterThan(2);
    expect(device.reprograms).toBe(0);
  });
});

describe("record store API", () => {
  it("returns the newest record of each type, before and after a reboot", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    const model = new Model(4);
    for (let i = 1; i <= 40; i++) {
      const type = i % 4 + 1;
      const length = payloadLength(type, i, 60);
      expect(writeVersion(store, type, i, length)).toBe(0);
      model.set(type, i, length);
      expect(store.lastSequence).toBe(<u32>i);
      expect(store.latestSequence(type)).toBe(<u32>i);
      expect(store.latestLength(type)).toBe(length);
      expect(storeMatches(store, model, readBack)).toBe(true);
    }
    const rebooted = mountedStore(device);
    expect(rebooted.status).toBe(MountStatus.OK);
    expect(rebooted.lastSequence).toBe(40);
    expect(storeMatches(rebooted, model, readBack)).toBe(true);
    expect(rebooted.readLatest(9, readBack, PAYLOAD_BUFFER_BYTES)).toBe(StoreError.NOT_FOUND);
  });

  it("stores an empty payload", () => {
    const device = new RamFlash(512, 2, 4);
    const store = mountedStore(device);
    expect(store.write(7, payload, 0)).toBe(0);
    expect(mountedStore(device).readLatest(7, readBack, 0)).toBe(0);
  });

  it("rejects what it cannot store, with a code", () => {
    const device = new RamFlash(512, 4, 4);
    const unmounted = new RecordStore(device, 2);
    expect(unmounted.write(1, payload, 4)).toBe(StoreError.NOT_MOUNTED);
    expect(unmounted.readLatest(1, readBack, 4)).toBe(StoreError.NOT_MOUNTED);
    const store = mountedStore(device, 2);
    expect(store.write(0, payload, 4)).toBe(StoreError.BAD_TYPE);
    expect(store.write(0xffff, payload, 4)).toBe(StoreError.BAD_TYPE);
    expect(store.write(1, payload, -1)).toBe(StoreError.BAD_LENGTH);
    expect(store.write(1, payload, 512)).toBe(StoreError.BAD_LENGTH);
    expect(store.write(1, payload, 512 - 20 - 20)).toBe(0); // the largest record a 512-byte sector takes
    expect(store.write(1, payload, 30)).toBe(0);
    expect(store.write(2, payload, 30)).toBe(0);
    expect(store.write(3, payload, 30)).toBe(StoreError.TOO_MANY_TYPES);
    expect(store.readLatest(1, readBack, 29)).toBe(StoreError.BUFFER_TOO_SMALL);
    expect(store.readLatest(1, readBack, 30)).toBe(30);
  });

  it("refuses a write when the newest record of every type would not fit in one sector", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    const model = new Model(4);
    // 120-byte payloads take 140 bytes: three fit behind the sector header, four do not.
    for (let t = 1; t <= 3; t++) {
      expect(writeVersion(store, t, 1, 120)).toBe(0);
      model.set(t, 1, 120);
    }
    expect(writeVersion(store, 4, 1, 120)).toBe(StoreError.NO_SPACE);
    expect(device.erases[1]).toBe(0);
    expect(storeMatches(mountedStore(device), model, readBack)).toBe(true);
    // A smaller record still goes in.
    expect(writeVersion(store, 4, 2, 40)).toBe(0);
  });

  it("refuses a device with an unusable geometry", () => {
    expect(new RecordStore(new RamFlash(512, 1, 4), 4).mount()).toBe(StoreError.BAD_GEOMETRY);
    expect(new RecordStore(new RamFlash(510, 2, 3), 4).mount()).toBe(StoreError.BAD_GEOMETRY);
    expect(new RecordStore(new RamFlash(32, 2, 4), 4).mount()).toBe(StoreError.BAD_GEOMETRY);
  });

  it("iterates every surviving record once, oldest first, with a cursor", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    for (let i = 1; i <= 120; i++) {
      const type = i % 3 + 1;
      expect(writeVersion(store, type, i, payloadLength(type, i, 40))).toBe(0);
    }
    const rebooted = mountedStore(device);
    const cursor = new RecordCursor(rebooted);
    cursor.start(0);
    let count = 0;
    let previous: u32 = 0;
    let increasing = true;
    let intact = true;
    while (cursor.next()) {
      count++;
      if (cursor.sequence <= previous) increasing = false;
      previous = cursor.sequence;
      // Written in order on a fresh store: sequence number = version.
      const version = <i32>cursor.sequence;
      const length = cursor.read(readBack, PAYLOAD_BUFFER_BYTES);
      if (length != payloadLength(cursor.type, version, 40) || !payloadMatches(readBack, cursor.type, version, length)) intact = false;
    }
    expect(increasing).toBe(true);
    expect(intact).toBe(true);
    expect(previous).toBe(120);
    // Three sectors behind the active one hold history beyond the newest three records.
    expect(count).toBeGreaterThan(12);
    // Without deduplication the copies garbage collection made show up too.
    cursor.start(0, false);
    let all = 0;
    while (cursor.next()) all++;
    expect(all).toBeGreaterThan(count);
    // One type only.
    cursor.start(2);
    let last: u32 = 0;
    let onlyType2 = true;
    while (cursor.next()) {
      if (cursor.type != 2) onlyType2 = false;
      last = cursor.sequence;
    }
    expect(onlyType2).toBe(true);
    expect(last).toBe(rebooted.latestSequence(2));
  });
});

describe("commit word", () => {
  it("a record is current only once all of its commit word is programmed, whatever its CRC says", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    expect(writeVersion(store, 1, 1, 30)).toBe(0);
    expect(writeVersion(store, 1, 2, 30)).toBe(0);
    const commit = store.latestAddress(1) + recordSpan(30, 4) - 4;
    // One bit of the commit word still erased: an interrupted commit program.
    device.data[commit + 2] = <u8>(device.data[commit + 2] | 0x10);
    let rebooted = mountedStore(device);
    expect(rebooted.status).toBe(MountStatus.RECOVERED);
    expect(readVersion(rebooted, 1, readBack, 1, 30, 1, 30)).toBe(1);
    // Not programmed at all.
    for (let i = 0; i < 4; i++) device.data[commit + i] = 0xff;
    rebooted = mountedStore(device);
    expect(readVersion(rebooted, 1, readBack, 1, 30, 1, 30)).toBe(1);
    // The torn record's bytes are not erased flash: the next record goes to a new sector.
    expect(rebooted.appendable).toBe(false);
    expect(writeVersion(rebooted, 1, 3, 30)).toBe(0);
    expect(rebooted.latestAddress(1) / 512).toBe(1);
    expect(readVersion(mountedStore(device), 1, readBack, 3, 30, 3, 30)).toBe(3);
  });
});

describe("retention faults (a bit flipped in a committed record)", () => {
  it("falls back to the previous copy in the same sector and reports it at mount", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    expect(writeVersion(store, 1, 1, 30)).toBe(0);
    expect(writeVersion(store, 1, 2, 30)).toBe(0);
    expect(writeVersion(store, 2, 1, 30)).toBe(0);
    device.flipBit(store.latestAddress(1) + 12 + 7, 3);
    const rebooted = mountedStore(device);
    expect(rebooted.status).toBe(MountStatus.RECOVERED);
    expect(rebooted.corruptRecords).toBe(1);
    expect(readVersion(rebooted, 1, readBack, 1, 30, 1, 30)).toBe(1);
    expect(readVersion(rebooted, 2, readBack, 1, 30, 1, 30)).toBe(1);
  });

  it("notices a flip after mount on read and serves the previous copy", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    expect(writeVersion(store, 1, 1, 30)).toBe(0);
    expect(writeVersion(store, 1, 2, 30)).toBe(0);
    device.flipBit(store.latestAddress(1) + 12, 0);
    expect(readVersion(store, 1, readBack, 1, 30, 1, 30)).toBe(1);
    expect(store.corruptRecords).toBe(1);
  });

  it("keeps finding the records after one whose length field went bad", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    for (let t = 1; t <= 3; t++) expect(writeVersion(store, t, 1, 24)).toBe(0);
    device.flipBit(store.latestAddress(2) + 6, 4); // length 24 -> 8
    const rebooted = mountedStore(device);
    expect(rebooted.status).toBe(MountStatus.RECOVERED);
    expect(readVersion(rebooted, 1, readBack, 1, 24, 1, 24)).toBe(1);
    expect(rebooted.readLatest(2, readBack, PAYLOAD_BUFFER_BYTES)).toBe(StoreError.NOT_FOUND);
    expect(readVersion(rebooted, 3, readBack, 1, 24, 1, 24)).toBe(1);
    // Appending after the last good record is still safe.
    expect(writeVersion(rebooted, 2, 2, 24)).toBe(0);
    expect(readVersion(mountedStore(device), 2, readBack, 2, 24, 2, 24)).toBe(2);
  });

  it("never erases the sector holding the only good copy, through many collections", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    expect(writeVersion(store, 1, 1, 40)).toBe(0);
    const original = store.latestAddress(1);
    let version = 1;
    // Until a collection has copied type 1 into another sector.
    while (store.latestAddress(1) / 512 == original / 512) expect(writeVersion(store, 2, ++version, 40)).toBe(0);
    device.flipBit(store.latestAddress(1) + 12 + 20, 6);
    const rebooted = mountedStore(device);
    expect(rebooted.status).toBe(MountStatus.RECOVERED);
    expect(rebooted.latestAddress(1)).toBe(original);
    for (let i = 0; i < 100; i++) {
      expect(writeVersion(rebooted, 2, ++version, 40)).toBe(0);
      expect(readVersion(rebooted, 1, readBack, 1, 40, 1, 40)).toBe(1);
    }
    expect(rebooted.collections).toBeGreaterThan(8);
    expect(readVersion(mountedStore(device), 1, readBack, 1, 40, 1, 40)).toBe(1);
  });

  it("checks each record before copying it and copies the previous good one instead", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    expect(writeVersion(store, 1, 1, 40)).toBe(0);
    expect(writeVersion(store, 1, 2, 40)).toBe(0);
    // Goes bad after mount: only the next collection reads it again.
    device.flipBit(store.latestAddress(1) + 12 + 5, 2);
    let version = 2;
    for (let i = 0; i < 60; i++) expect(writeVersion(store, 2, ++version, 40)).toBe(0);
    expect(store.collections).toBeGreaterThan(8);
    expect(store.corruptRecords).toBe(1);
    expect(readVersion(store, 1, readBack, 1, 40, 1, 40)).toBe(1);
    expect(readVersion(mountedStore(device), 1, readBack, 1, 40, 1, 40)).toBe(1);
  });

  it("with two sectors, refuses to collect rather than erase the only good copy", () => {
    const device = new RamFlash(512, 2, 4);
    const store = mountedStore(device);
    expect(writeVersion(store, 1, 1, 40)).toBe(0);
    let version = 1;
    while (store.latestAddress(1) < 512) expect(writeVersion(store, 2, ++version, 40)).toBe(0);
    device.flipBit(store.latestAddress(1) + 12 + 20, 6);
    const rebooted = mountedStore(device);
    expect(rebooted.latestAddress(1)).toBeLessThan(512);
    const erases = device.erases[0];
    let result = 0;
    for (let i = 0; i < 20 && result == 0; i++) result = writeVersion(rebooted, 2, ++version, 40);
    expect(result).toBe(StoreError.NO_SPACE);
    expect(device.erases[0]).toBe(erases);
    expect(readVersion(rebooted, 1, readBack, 1, 40, 1, 40)).toBe(1);
  });
});

describe("flash the store does not recognise", () => {
  it("all 0x00: CORRUPT, read-only, nothing erased until format()", () => {
    const device = new RamFlash(512, 4, 4);
    device.fillAll(0x00);
    const store = new RecordStore(device, 8);
    expect(store.mount()).toBe(MountStatus.CORRUPT);
    expect(store.readOnly).toBe(true);
    expect(store.write(1, payload, 8)).toBe(StoreError.READ_ONLY);
    expect(store.readLatest(1, readBack, 8)).toBe(StoreError.NOT_FOUND);
    expect(device.operations).toBe(0);
    expect(device.data[100]).toBe(0x00);
    expect(store.format()).toBe(MountStatus.EMPTY);
    for (let s = 0; s < 4; s++) expect(device.erases[s]).toBe(1);
    expect(writeVersion(store, 1, 1, 8)).toBe(0);
    const rebooted = mountedStore(device);
    expect(rebooted.status).toBe(MountStatus.OK);
    expect(readVersion(rebooted, 1, readBack, 1, 8, 1, 8)).toBe(1);
  });

  it("random bytes: CORRUPT, read-only", () => {
    const device = new RamFlash(512, 4, 4, 12345);
    device.fillRandom();
    const store = new RecordStore(device, 8);
    expect(store.mount()).toBe(MountStatus.CORRUPT);
    expect(store.write(1, payload, 8)).toBe(StoreError.READ_ONLY);
    expect(device.operations).toBe(0);
  });

  it("a damaged header on the only sector that holds records: CORRUPT, nothing erased", () => {
    const device = new RamFlash(512, 2, 4);
    const store = mountedStore(device);
    for (let i = 1; i <= 3; i++) expect(writeVersion(store, 1, i, 30)).toBe(0);
    device.flipBit(5, 1); // the epoch: the header CRC fails
    const operations = device.operations;
    const rebooted = new RecordStore(device, 8);
    expect(rebooted.mount()).toBe(MountStatus.CORRUPT);
    expect(rebooted.write(1, payload, 8)).toBe(StoreError.READ_ONLY);
    expect(device.operations).toBe(operations);
  });

  it("a sector of another format version: CORRUPT", () => {
    const device = new RamFlash(512, 2, 4);
    mountedStore(device).write(1, payload, 8);
    device.data[2] = 2; // format version 2, with a CRC that matches it
    const crc = crcOfFlash(device, 0, 12);
    for (let i = 0; i < 4; i++) device.data[12 + i] = <u8>(crc >>> (8 * i));
    expect(new RecordStore(device, 8).mount()).toBe(MountStatus.CORRUPT);
  });

  it("format() wipes a healthy store and keeps counting erases", () => {
    const device = new RamFlash(512, 4, 4);
    const store = mountedStore(device);
    for (let i = 1; i <= 60; i++) expect(writeVersion(store, 1, i, 40)).toBe(0);
    expect(store.format()).toBe(MountStatus.EMPTY);
    for (let s = 0; s < 4; s++) expect(store.eraseCount(s)).toBe(<u32>device.erases[s]);
    expect(store.readLatest(1, readBack, PAYLOAD_BUFFER_BYTES)).toBe(StoreError.NOT_FOUND);
    const rebooted = mountedStore(device);
    expect(rebooted.status).toBe(MountStatus.EMPTY);
    expect(rebooted.lastSequence).toBe(0);
  });
});
