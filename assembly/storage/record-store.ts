// A log-structured, power-loss-safe record store on NOR flash (docs/flash-store.md).
//
// Records of a few firmware-defined types are appended to the active sector; the newest committed
// record of each type is the current value. When the active sector is full, the newest record of
// every type is copied with the new record into the next sector in round-robin order, and that
// sector is committed last: the store moves from one consistent state to the next at single
// commit-word programs, the way littlefs moves a metadata pair (littlefs DESIGN.md, "Metadata
// pairs"), and sectors wear evenly because they are reused in a fixed cycle.
//
// Memory: every buffer is allocated in the constructor; mount, write, readLatest, format and the
// cursor allocate nothing. Flash is scanned only by mount() (and, after a retention fault is
// found, once to find the previous copy of the damaged type).
import { FlashDevice } from "./flash-device";
import { crc32Continue, CRC32_INITIAL, CRC32_FINAL_XOR } from "./crc32";
import {
  STORE_FORMAT_VERSION, SECTOR_MAGIC, RECORD_MAGIC, RESERVED_BYTE, COMMIT_WORD,
  SECTOR_MAGIC_OFFSET, SECTOR_VERSION_OFFSET, SECTOR_RESERVED_OFFSET, SECTOR_EPOCH_OFFSET,
  SECTOR_ERASE_COUNT_OFFSET, SECTOR_CRC_OFFSET, SECTOR_HEADER_BYTES,
  RECORD_MAGIC_OFFSET, RECORD_VERSION_OFFSET, RECORD_RESERVED_OFFSET, RECORD_TYPE_OFFSET,
  RECORD_LENGTH_OFFSET, RECORD_SEQUENCE_OFFSET, RECORD_HEADER_BYTES, CRC_BYTES,
  RECORD_TYPE_MIN, RECORD_TYPE_MAX, RECORD_LENGTH_MAX,
  alignUp, commitSpan, sectorCommitOffset, sectorHeaderSpan, recordBodySpan, recordSpan,
} from "./layout";

/** What mount() found. Non-negative; errors are negative StoreError values. */
export enum MountStatus {
  /** Every byte the store has written is accounted for. */
  OK = 0,
  /**
   * Something was skipped: a torn (uncommitted) record, a committed record whose CRC fails, an
   * interrupted sector open or erase. The newest valid record of every type is served.
   */
  RECOVERED = 1,
  /** Erased flash: nothing stored yet. Writable. */
  EMPTY = 2,
  /**
   * No valid sector although the flash is not blank (not this format, or damaged beyond the
   * store's own interrupted operations). The store stays read-only and erases nothing until
   * format() is called, so data the store does not understand is never destroyed silently.
   */
  CORRUPT = 3,
}

export enum StoreError {
  /** No valid record of this type. */
  NOT_FOUND = -1,
  /** mount() reported CORRUPT (or TOO_MANY_TYPES): call format() to make the store writable. */
  READ_ONLY = -2,
  NOT_MOUNTED = -3,
  /** Type outside RECORD_TYPE_MIN..RECORD_TYPE_MAX. */
  BAD_TYPE = -4,
  /** Negative length, or a record larger than a sector can hold. */
  BAD_LENGTH = -5,
  /** The newest record of every type plus this one would not fit in one sector, or no sector can be reused. */
  NO_SPACE = -6,
  /** More distinct types than the store was constructed for (at write, or found at mount). */
  TOO_MANY_TYPES = -7,
  /** readLatest: the record is longer than maxLength; nothing was copied. */
  BUFFER_TOO_SMALL = -8,
  /** The device returned an error, or read back something else than was programmed. */
  DEVICE = -9,
  /** The device geometry is unusable (fewer than 2 sectors, program unit not a power of two, ...). */
  BAD_GEOMETRY = -10,
  /** readLatest: the stored copy failed its CRC and no older valid copy exists. */
  CORRUPT_RECORD = -11,
}

/** Largest program unit the store supports (STM32H7 programs 32-byte flash words). */
const PROGRAM_UNIT_MAX: i32 = 256;
/** Bytes streamed per device call when programming, copying and checking; a multiple of the program unit. */
const CHUNK_BYTES: i32 = 64;

// Sector states in RAM.
const SECTOR_DIRTY: u8 = 0; // not valid and not known to be erased: erase before use
const SECTOR_BLANK: u8 = 1; // every byte 0xFF
const SECTOR_VALID: u8 = 2; // committed header

// What a sector's first bytes say (classifySector).
const HEADER_VALID: i32 = 0; // complete header of this format, committed
const HEADER_PENDING: i32 = 1; // complete header, commit word missing or torn: a sector open cut by power loss
const HEADER_PARTIAL: i32 = 2; // a torn header program on an otherwise erased sector
const HEADER_BLANK: i32 = 3; // the whole sector is erased
const HEADER_FOREIGN: i32 = 4; // anything else: not this store's, or damaged

/**
 * Iterates the valid records in flash order (oldest sector first), without closures or allocation.
 * Create one at init; call start(), then next() until it returns false. A write() invalidates it.
 */
export class RecordCursor {
  store: RecordStore;
  /** Type filter (0: every type). */
  filter: i32 = 0;
  /** Skip the copies garbage collection made of records already returned (see docs/flash-store.md). */
  distinct: bool = true;
  // Current record.
  type: i32 = 0;
  length: i32 = 0;
  sequence: u32 = 0;
  address: i32 = -1;
  // Position.
  sector: i32 = -1;
  sectorEpoch: u32 = 0;
  offset: i32 = 0;
  maxSequenceSeen: u32 = 0;
  seenAny: bool = false;

  constructor(store: RecordStore) {
    this.store = store;
  }

  /** Rewinds to the oldest record; type 0 visits every type. */
  start(type: i32, distinct: bool = true): void {
    this.filter = type;
    this.distinct = distinct;
    this.sector = -1;
    this.offset = 0;
    this.address = -1;
    this.seenAny = false;
    this.maxSequenceSeen = 0;
  }

  /** Moves to the next valid record; false when there is none. */
  next(): bool {
    return this.store.advance(this);
  }

  /** Copies the current record's payload to ptr; its length, or a negative StoreError. */
  read(ptr: usize, maxLength: i32): i32 {
    return this.store.readPayloadAt(this.address, this.length, ptr, maxLength);
  }
}

export class RecordStore {
  readonly device: FlashDevice;
  readonly sectorSize: i32;
  readonly sectorCount: i32;
  readonly programUnit: i32;
  readonly maxTypes: i32;
  private geometryOk: bool;
  private headerSpan: i32;
  private minRecordSpan: i32;
  private chunkBytes: i32;

  // Buffers (allocated once).
  private chunk: StaticArray<u8>;
  private head: StaticArray<u8>;

  // Newest valid record per type.
  private slotType: StaticArray<i32>;
  private slotSequence: StaticArray<u32>;
  private slotAddress: StaticArray<i32>; // -1: the type is known but no valid copy is left
  private slotLength: StaticArray<i32>;
  private slotCopy: StaticArray<i32>; // address of the copy being made by collect()
  private slots: i32 = 0;

  // Sectors.
  private sectorState: StaticArray<u8>;
  private sectorEpoch: StaticArray<u32>;
  private sectorErases: StaticArray<u32>;
  private sectorErasesKnown: StaticArray<bool>;
  private maxEpoch: u32 = 0;
  // Fields of the last complete sector header classifySector() read.
  private headerEpoch: u32 = 0;
  private headerErases: u32 = 0;

  private scanCursor: RecordCursor | null = null;
  // Result of the last inspect().
  private seenType: i32 = 0;
  private seenLength: i32 = 0;
  private seenSequence: u32 = 0;
  private seenValid: bool = false;
  private scanTailErased: bool = false;
  private readFailed: bool = false;

  /** Result of the last mount() (or format()). */
  status: i32 = StoreError.NOT_MOUNTED;
  mounted: bool = false;
  /** True after mount() reported CORRUPT or TOO_MANY_TYPES, until format(). */
  readOnly: bool = false;
  /** Sequence number of the newest record ever committed (0: none); the next write uses +1. */
  lastSequence: u32 = 0;
  /** Sector records are appended to (-1: none opened yet). */
  activeSector: i32 = -1;
  /** Offset in the active sector where the next record goes. */
  appendOffset: i32 = 0;
  /** False when the active sector's tail is not erased (torn write): the next write opens a new sector. */
  appendable: bool = false;
  // What mount (and later reads) skipped; any of them non-zero makes mount report RECOVERED.
  /** Stretches of programmed bytes that are not a committed record: torn writes. */
  tornRecords: i32 = 0;
  /** Committed records whose CRC fails: retention faults. */
  corruptRecords: i32 = 0;
  /** Sectors that are neither valid nor erased: an interrupted sector open or erase. */
  dirtySectors: i32 = 0;
  /** Sectors opened (garbage collections, the first one included) since mount. */
  collections: i32 = 0;

  /** maxTypes: how many distinct record types the store keeps (e.g. 8). */
  constructor(device: FlashDevice, maxTypes: i32) {
    this.device = device;
    this.sectorSize = device.sectorSize;
    this.sectorCount = device.sectorCount;
    this.programUnit = device.programUnit;
    this.maxTypes = maxTypes;
    const pu = device.programUnit;
    const size = device.sectorSize;
    const count = device.sectorCount;
    this.geometryOk = pu >= 1 && pu <= PROGRAM_UNIT_MAX && (pu & (pu - 1)) == 0
      && count >= 2 && size > 0 && size % pu == 0
      && <i64>size * <i64>count <= <i64>i32.MAX_VALUE
      && size >= sectorHeaderSpan(pu) + recordSpan(0, pu)
      && maxTypes >= 1;
    this.headerSpan = sectorHeaderSpan(pu);
    this.minRecordSpan = recordSpan(0, pu);
    const chunkBytes = max(CHUNK_BYTES, pu);
    this.chunkBytes = chunkBytes;
    this.chunk = new StaticArray<u8>(chunkBytes);
    this.head = new StaticArray<u8>(SECTOR_HEADER_BYTES);
    const types = max(maxTypes, 1);
    this.slotType = new StaticArray<i32>(types);
    this.slotSequence = new StaticArray<u32>(types);
    this.slotAddress = new StaticArray<i32>(types);
    this.slotLength = new StaticArray<i32>(types);
    this.slotCopy = new StaticArray<i32>(types);
    const sectors = max(count, 1);
    this.sectorState = new StaticArray<u8>(sectors);
    this.sectorEpoch = new StaticArray<u32>(sectors);
    this.sectorErases = new StaticArray<u32>(sectors);
    this.sectorErasesKnown = new StaticArray<bool>(sectors);
    this.scanCursor = new RecordCursor(this);
  }

  // ---------------------------------------------------------------------------------------------
  // Public operations

  /**
   * Scans the whole partition and rebuilds the RAM view: the newest valid record of every type,
   * the active sector and where to append. Returns a MountStatus, or BAD_GEOMETRY, DEVICE (read
   * failed) or TOO_MANY_TYPES (more types on flash than maxTypes; the store is then read-only).
   * Writes nothing.
   */
  mount(): i32 {
    this.resetView();
    if (!this.geometryOk) return this.finish(StoreError.BAD_GEOMETRY);
    let valid = 0;
    let foreign = 0;
    for (let s = 0; s < this.sectorCount; s++) {
      const kind = this.classifySector(s);
      if (kind == HEADER_VALID) {
        valid++;
        unchecked(this.sectorState[s] = SECTOR_VALID);
        unchecked(this.sectorEpoch[s] = this.headerEpoch);
        if (this.headerEpoch > this.maxEpoch) this.maxEpoch = this.headerEpoch;
      } else if (kind == HEADER_BLANK) {
        unchecked(this.sectorState[s] = SECTOR_BLANK);
      } else {
        this.dirtySectors++;
        if (kind == HEADER_FOREIGN) foreign++;
      }
    }
    if (this.readFailed) return this.finish(StoreError.DEVICE);
    this.estimateUnknownErases(valid == 0);
    this.mounted = true;
    if (valid == 0) {
      if (foreign > 0) {
        this.readOnly = true;
        return this.finish(MountStatus.CORRUPT);
      }
      return this.finish(this.dirtySectors > 0 ? MountStatus.RECOVERED : MountStatus.EMPTY);
    }
    // Oldest sector first, so that of two copies with one sequence number (a record and the copy
    // garbage collection made of it) the one in the newer sector is kept.
    let overflow = false;
    let epoch: u32 = 0;
    let sector = -1;
    while (true) {
      sector = this.nextValidSector(epoch, sector);
      if (sector < 0) break;
      epoch = unchecked(this.sectorEpoch[sector]);
      const end = this.scanSector(sector);
      if (end < 0) overflow = true;
      // The last sector scanned has the highest epoch: the active one. Appending is safe only
      // where the rest of it is still erased (a torn record leaves bits cleared that a new record
      // could not be programmed over); otherwise the next write opens a new sector.
      this.activeSector = sector;
      this.appendOffset = end < 0 ? -end : end;
      this.appendable = this.scanTailErased;
    }
    if (this.readFailed) {
      this.mounted = false;
      return this.finish(StoreError.DEVICE);
    }
    if (overflow) {
      this.readOnly = true;
      return this.finish(StoreError.TOO_MANY_TYPES);
    }
    const skipped = this.tornRecords + this.corruptRecords + this.dirtySectors;
    return this.finish(skipped > 0 ? MountStatus.RECOVERED : MountStatus.OK);
  }

  /**
   * Erases every sector and leaves an empty, writable store. The only operation that destroys
   * data the store cannot read; not atomic: after a power cut during format(), call it again.
   */
  format(): i32 {
    this.resetView();
    if (!this.geometryOk) return this.finish(StoreError.BAD_GEOMETRY);
    for (let s = 0; s < this.sectorCount; s++) this.classifySector(s);
    this.estimateUnknownErases(false);
    for (let s = 0; s < this.sectorCount; s++) {
      if (this.device.erase(s) != 0) return this.finish(StoreError.DEVICE);
      unchecked(this.sectorErases[s] = unchecked(this.sectorErases[s]) + 1);
      if (!this.isErased(s * this.sectorSize, this.sectorSize)) return this.finish(StoreError.DEVICE);
      unchecked(this.sectorState[s] = SECTOR_BLANK);
    }
    this.resetCounters();
    this.mounted = true;
    return this.finish(MountStatus.EMPTY);
  }

  /**
   * Appends a record of type with length payload bytes from ptr. 0 once it is committed (it is
   * then what readLatest returns, also after a power cut), or a negative StoreError. On an error
   * the previous record of the type stays the current one.
   */
  write(type: i32, ptr: usize, length: i32): i32 {
    if (!this.mounted) return StoreError.NOT_MOUNTED;
    if (this.readOnly) return StoreError.READ_ONLY;
    if (type < RECORD_TYPE_MIN || type > RECORD_TYPE_MAX) return StoreError.BAD_TYPE;
    const span = this.spanOf(length);
    if (length < 0 || length > RECORD_LENGTH_MAX || this.headerSpan + span > this.sectorSize) return StoreError.BAD_LENGTH;
    let slot = this.findSlot(type);
    if (slot < 0) {
      if (this.slots >= this.maxTypes) return StoreError.TOO_MANY_TYPES;
      slot = this.slots;
    }
    this.readFailed = false;
    if (this.activeSector < 0) {
      const opened = this.openFirstSector();
      if (opened != 0) return opened;
    }
    this.lastSequence++;
    const sequence = this.lastSequence;
    if (this.appendable && this.appendOffset + span <= this.sectorSize) {
      const address = this.activeSector * this.sectorSize + this.appendOffset;
      this.appendOffset += span;
      if (!this.emitRecord(address, type, sequence, ptr, length) || !this.verifyRecord(address, type, length, sequence)) {
        // What the failed program left behind is not erased flash: open a new sector next time.
        this.appendable = false;
        return StoreError.DEVICE;
      }
      this.setSlot(slot, type, sequence, address, length);
      return 0;
    }
    return this.collect(slot, type, sequence, ptr, length);
  }

  /**
   * Copies the payload of the newest valid record of type to ptr. Its length, or NOT_FOUND,
   * BUFFER_TOO_SMALL (nothing copied), CORRUPT_RECORD, DEVICE, NOT_MOUNTED. The record's CRC is
   * checked on every read; a copy that went bad since mount is replaced by the previous one.
   */
  readLatest(type: i32, ptr: usize, maxLength: i32): i32 {
    if (!this.mounted) return StoreError.NOT_MOUNTED;
    const slot = this.findSlot(type);
    if (slot < 0) return StoreError.NOT_FOUND;
    let address = unchecked(this.slotAddress[slot]);
    if (address < 0) return StoreError.CORRUPT_RECORD;
    let length = unchecked(this.slotLength[slot]);
    if (length > maxLength) return StoreError.BUFFER_TOO_SMALL;
    this.readFailed = false;
    const result = this.readPayloadAt(address, length, ptr, maxLength);
    if (result != StoreError.CORRUPT_RECORD) return result;
    this.corruptRecords++;
    if (!this.findPrevious(slot)) return this.readFailed ? StoreError.DEVICE : StoreError.CORRUPT_RECORD;
    address = unchecked(this.slotAddress[slot]);
    length = unchecked(this.slotLength[slot]);
    if (length > maxLength) return StoreError.BUFFER_TOO_SMALL;
    return this.readPayloadAt(address, length, ptr, maxLength);
  }

  /** Sequence number of the newest valid record of type; 0 when there is none. */
  latestSequence(type: i32): u32 {
    const slot = this.findSlot(type);
    return slot < 0 || unchecked(this.slotAddress[slot]) < 0 ? 0 : unchecked(this.slotSequence[slot]);
  }

  /** Payload length of the newest valid record of type, or NOT_FOUND. */
  latestLength(type: i32): i32 {
    const slot = this.findSlot(type);
    return slot < 0 || unchecked(this.slotAddress[slot]) < 0 ? StoreError.NOT_FOUND : unchecked(this.slotLength[slot]);
  }

  /** Flash address of the newest valid record of type, or NOT_FOUND (for diagnostics and tests). */
  latestAddress(type: i32): i32 {
    const slot = this.findSlot(type);
    return slot < 0 || unchecked(this.slotAddress[slot]) < 0 ? StoreError.NOT_FOUND : unchecked(this.slotAddress[slot]);
  }

  /** Erases of a sector as recorded in its header (an estimate for sectors whose header was lost). */
  eraseCount(sector: i32): u32 {
    return sector >= 0 && sector < this.sectorCount ? this.sectorErases[sector] : 0;
  }

  /** Bytes left in the active sector (0 when the next write opens a new sector). */
  freeBytes(): i32 {
    return this.activeSector >= 0 && this.appendable ? this.sectorSize - this.appendOffset : 0;
  }

  /** Flash bytes a record with this payload length occupies. */
  spanOf(length: i32): i32 {
    return recordSpan(length, this.programUnit);
  }

  // ---------------------------------------------------------------------------------------------
  // Cursor support (called by RecordCursor)

  /** Moves cursor to the next valid record in flash order; see RecordCursor. */
  advance(cursor: RecordCursor): bool {
    if (!this.mounted) return false;
    while (true) {
      if (cursor.sector < 0 || cursor.offset + this.minRecordSpan > this.sectorSize) {
        const next = this.nextValidSector(cursor.sector < 0 ? 0 : cursor.sectorEpoch, cursor.sector);
        if (next < 0) {
          cursor.address = -1;
          return false;
        }
        cursor.sector = next;
        cursor.sectorEpoch = unchecked(this.sectorEpoch[next]);
        cursor.offset = this.headerSpan;
        continue;
      }
      const base = cursor.sector * this.sectorSize;
      const address = base + cursor.offset;
      const span = this.inspect(address, this.sectorSize - cursor.offset);
      if (span == 0) {
        cursor.offset = this.nextCandidate(base, cursor.offset);
        continue;
      }
      cursor.offset += span;
      if (!this.seenValid) continue;
      const sequence = this.seenSequence;
      // Garbage collection copies records with their sequence numbers, oldest first; a fresh
      // record always has a higher number than everything before it. So a record not above the
      // highest number seen so far is a copy of one already visited.
      const copy = cursor.seenAny && sequence <= cursor.maxSequenceSeen;
      if (!cursor.seenAny || sequence > cursor.maxSequenceSeen) cursor.maxSequenceSeen = sequence;
      cursor.seenAny = true;
      if (cursor.distinct && copy) continue;
      if (cursor.filter != 0 && this.seenType != cursor.filter) continue;
      cursor.type = this.seenType;
      cursor.length = this.seenLength;
      cursor.sequence = sequence;
      cursor.address = address;
      return true;
    }
  }

  /** Copies the payload of the record at address and checks its CRC; length or a negative StoreError. */
  readPayloadAt(address: i32, length: i32, ptr: usize, maxLength: i32): i32 {
    if (address < 0) return StoreError.NOT_FOUND;
    if (length > maxLength) return StoreError.BUFFER_TOO_SMALL;
    const head = changetype<usize>(this.head);
    this.readFailed = false;
    this.fetch(address, head, RECORD_HEADER_BYTES);
    let crc = crc32Continue(CRC32_INITIAL, head, RECORD_HEADER_BYTES);
    this.fetch(address + RECORD_HEADER_BYTES, ptr, length);
    crc = crc32Continue(crc, ptr, length) ^ CRC32_FINAL_XOR;
    this.fetch(address + RECORD_HEADER_BYTES + length, head, CRC_BYTES);
    if (this.readFailed) return StoreError.DEVICE;
    if (load<u32>(head) != crc) return StoreError.CORRUPT_RECORD;
    return length;
  }

  // ---------------------------------------------------------------------------------------------
  // Garbage collection

  /**
   * Opens the next sector with the newest record of every other type and the new record, and
   * commits it last. Until that commit the active sector is untouched, so a power cut leaves the
   * previous state; the opened sector then reads as uncommitted and is erased on the next try.
   */
  private collect(slot: i32, type: i32, sequence: u32, ptr: usize, length: i32): i32 {
    // The copies must be good before the sector that holds a previous copy is chosen for erasure.
    let need = this.headerSpan + this.spanOf(length);
    for (let i = 0; i < this.slots; i++) {
      if (i == slot || unchecked(this.slotAddress[i]) < 0) continue;
      if (!this.verifyRecord(unchecked(this.slotAddress[i]), unchecked(this.slotType[i]), unchecked(this.slotLength[i]), unchecked(this.slotSequence[i]))) {
        if (this.readFailed) return StoreError.DEVICE;
        this.corruptRecords++;
        this.findPrevious(i);
        if (this.readFailed) return StoreError.DEVICE;
        if (unchecked(this.slotAddress[i]) < 0) continue;
      }
      need += this.spanOf(unchecked(this.slotLength[i]));
    }
    if (need > this.sectorSize) return StoreError.NO_SPACE;
    const target = this.chooseTarget();
    if (target < 0) return StoreError.NO_SPACE;
    const base = target * this.sectorSize;
    const prepared = this.prepareSector(target);
    if (prepared != 0) return prepared;
    const epoch = this.maxEpoch + 1;
    if (!this.programSectorHeader(base, epoch, unchecked(this.sectorErases[target]))) return StoreError.DEVICE;

    // Copies in ascending sequence order (what RecordCursor's distinct mode relies on).
    let offset = this.headerSpan;
    let previous: u32 = 0;
    let first = true;
    while (true) {
      let pick = -1;
      for (let i = 0; i < this.slots; i++) {
        if (i == slot || unchecked(this.slotAddress[i]) < 0) continue;
        const s = unchecked(this.slotSequence[i]);
        if (!first && s <= previous) continue;
        if (pick < 0 || s < unchecked(this.slotSequence[pick])) pick = i;
      }
      if (pick < 0) break;
      previous = unchecked(this.slotSequence[pick]);
      first = false;
      const copyAddress = base + offset;
      if (!this.copyRecord(unchecked(this.slotAddress[pick]), copyAddress, unchecked(this.slotLength[pick]))) return StoreError.DEVICE;
      if (!this.verifyRecord(copyAddress, unchecked(this.slotType[pick]), unchecked(this.slotLength[pick]), previous)) return StoreError.DEVICE;
      unchecked(this.slotCopy[pick] = copyAddress);
      offset += this.spanOf(unchecked(this.slotLength[pick]));
    }
    const address = base + offset;
    if (!this.emitRecord(address, type, sequence, ptr, length)) return StoreError.DEVICE;
    if (!this.verifyRecord(address, type, length, sequence)) return StoreError.DEVICE;
    offset += this.spanOf(length);

    // The commit point of the whole collection.
    if (!this.programCommit(base + sectorCommitOffset(this.programUnit))) return StoreError.DEVICE;
    if (!this.sectorCommitted(target, epoch)) return StoreError.DEVICE;

    for (let i = 0; i < this.slots; i++) {
      if (i == slot || unchecked(this.slotAddress[i]) < 0) continue;
      unchecked(this.slotAddress[i] = unchecked(this.slotCopy[i]));
    }
    this.setSlot(slot, type, sequence, address, length);
    this.activate(target, epoch, offset);
    return 0;
  }

  /**
   * Opens a sector with no records while none is committed (erased flash, after format()): header,
   * commit, and only then records. Until a sector is committed the flash therefore holds nothing
   * but header bytes, and whatever a power cut leaves of them (even of an erase) reads as a torn
   * header on an erased sector: the store's own, not CORRUPT.
   */
  private openFirstSector(): i32 {
    const target = this.chooseTarget();
    if (target < 0) return StoreError.NO_SPACE;
    const prepared = this.prepareSector(target);
    if (prepared != 0) return prepared;
    const epoch = this.maxEpoch + 1;
    const base = target * this.sectorSize;
    if (!this.programSectorHeader(base, epoch, unchecked(this.sectorErases[target]))) return StoreError.DEVICE;
    if (!this.programCommit(base + sectorCommitOffset(this.programUnit))) return StoreError.DEVICE;
    if (!this.sectorCommitted(target, epoch)) return StoreError.DEVICE;
    this.activate(target, epoch, this.headerSpan);
    return 0;
  }

  /** Erases the sector unless it is known to be erased, and checks the erase; leaves it marked dirty (about to be programmed). */
  private prepareSector(target: i32): i32 {
    if (unchecked(this.sectorState[target]) != SECTOR_BLANK) {
      unchecked(this.sectorState[target] = SECTOR_DIRTY);
      if (this.device.erase(target) != 0) return StoreError.DEVICE;
      unchecked(this.sectorErases[target] = unchecked(this.sectorErases[target]) + 1);
      if (!this.isErased(target * this.sectorSize, this.sectorSize)) return StoreError.DEVICE;
    }
    unchecked(this.sectorState[target] = SECTOR_DIRTY);
    return 0;
  }

  private activate(sector: i32, epoch: u32, appendOffset: i32): void {
    unchecked(this.sectorState[sector] = SECTOR_VALID);
    unchecked(this.sectorEpoch[sector] = epoch);
    this.maxEpoch = epoch;
    this.activeSector = sector;
    this.appendOffset = appendOffset;
    this.appendable = true;
    this.collections++;
  }

  /**
   * The sector after the active one in round-robin order, so every sector is erased once per
   * cycle (erase counts stay within one of each other). A sector still holding the newest valid
   * record of a type (only after a retention fault made an older copy the current one) is skipped:
   * it is never erased while it holds the only copy.
   */
  private chooseTarget(): i32 {
    const count = this.sectorCount;
    const start = this.activeSector >= 0 ? (this.activeSector + 1) % count : 0;
    for (let i = 0; i < count; i++) {
      const s = (start + i) % count;
      if (s == this.activeSector) continue;
      let holdsCurrent = false;
      for (let j = 0; j < this.slots; j++) {
        const a = unchecked(this.slotAddress[j]);
        if (a >= 0 && a / this.sectorSize == s) holdsCurrent = true;
      }
      if (!holdsCurrent) return s;
    }
    return -1;
  }

  /**
   * After the copy of a type's current record failed its CRC: the newest valid older copy
   * anywhere in the valid sectors (one scan), or slotAddress -1 when none is left.
   */
  private findPrevious(slot: i32): bool {
    const type = unchecked(this.slotType[slot]);
    const bad = unchecked(this.slotAddress[slot]);
    const cursor = this.scanCursor!;
    cursor.start(type, false);
    let found = false;
    let bestSequence: u32 = 0;
    let bestAddress = -1;
    let bestLength = 0;
    while (cursor.next()) {
      if (cursor.address == bad) continue;
      if (!found || cursor.sequence >= bestSequence) {
        found = true;
        bestSequence = cursor.sequence;
        bestAddress = cursor.address;
        bestLength = cursor.length;
      }
    }
    unchecked(this.slotAddress[slot] = bestAddress);
    if (found) {
      unchecked(this.slotSequence[slot] = bestSequence);
      unchecked(this.slotLength[slot] = bestLength);
    }
    return found;
  }

  // ---------------------------------------------------------------------------------------------
  // Scanning

  /**
   * What a sector holds, from its header (one HEADER_* value); a complete header's epoch and erase
   * count are left in headerEpoch/headerErases and the erase count in sectorErases. A torn header
   * program leaves every 1-bit of the magic, version and reserved byte set (a cut program clears
   * only some of the bits it was clearing) and, since the header is the first thing programmed on
   * an erased sector, the rest of the sector erased; that is recognisably the store's own work.
   */
  private classifySector(s: i32): i32 {
    const base = s * this.sectorSize;
    const head = changetype<usize>(this.head);
    unchecked(this.sectorErasesKnown[s] = false);
    unchecked(this.sectorErases[s] = 0);
    this.fetch(base, head, SECTOR_HEADER_BYTES);
    const magic = <u32>load<u16>(head, SECTOR_MAGIC_OFFSET);
    const version = <u32>load<u8>(head, SECTOR_VERSION_OFFSET);
    const reserved = <u32>load<u8>(head, SECTOR_RESERVED_OFFSET);
    const crcOk = (crc32Continue(CRC32_INITIAL, head, SECTOR_CRC_OFFSET) ^ CRC32_FINAL_XOR) == load<u32>(head, SECTOR_CRC_OFFSET);
    const ours = magic == SECTOR_MAGIC && version == STORE_FORMAT_VERSION && reserved == RESERVED_BYTE;
    if (crcOk) {
      // A complete header of another format version is somebody else's data.
      if (!ours) return HEADER_FOREIGN;
      this.headerEpoch = load<u32>(head, SECTOR_EPOCH_OFFSET);
      this.headerErases = load<u32>(head, SECTOR_ERASE_COUNT_OFFSET);
      unchecked(this.sectorErases[s] = this.headerErases);
      unchecked(this.sectorErasesKnown[s] = true);
      return this.commitAt(base + sectorCommitOffset(this.programUnit)) ? HEADER_VALID : HEADER_PENDING;
    }
    if (this.isErased(base, this.sectorSize)) return HEADER_BLANK;
    const rest = sectorCommitOffset(this.programUnit);
    const torn = (magic & SECTOR_MAGIC) == SECTOR_MAGIC && (version & STORE_FORMAT_VERSION) == STORE_FORMAT_VERSION
      && reserved == RESERVED_BYTE && this.isErased(base + rest, this.sectorSize - rest);
    return torn ? HEADER_PARTIAL : HEADER_FOREIGN;
  }

  /**
   * A sector whose header is gone has lost its erase count; assume the highest known one (the
   * round-robin cycle keeps the counts within one of each other). freshFlash: nothing is valid,
   * so erased sectors have never been used.
   */
  private estimateUnknownErases(freshFlash: bool): void {
    let highest: u32 = 0;
    for (let s = 0; s < this.sectorCount; s++) {
      if (unchecked(this.sectorErasesKnown[s]) && unchecked(this.sectorErases[s]) > highest) highest = unchecked(this.sectorErases[s]);
    }
    for (let s = 0; s < this.sectorCount; s++) {
      if (unchecked(this.sectorErasesKnown[s])) continue;
      if (freshFlash && unchecked(this.sectorState[s]) == SECTOR_BLANK) continue;
      unchecked(this.sectorErases[s] = highest);
    }
  }

  /** The valid sector after (epoch, sector) in ascending (epoch, index) order; -1 when none. */
  private nextValidSector(epoch: u32, sector: i32): i32 {
    let best = -1;
    let bestEpoch: u32 = 0;
    for (let s = 0; s < this.sectorCount; s++) {
      if (unchecked(this.sectorState[s]) != SECTOR_VALID) continue;
      const e = unchecked(this.sectorEpoch[s]);
      const after = sector < 0 ? true : e > epoch || (e == epoch && s > sector);
      if (!after) continue;
      if (best < 0 || e < bestEpoch) {
        best = s;
        bestEpoch = e;
      }
    }
    return best;
  }

  /**
   * Walks a valid sector's records into the type table. Past anything that is not a committed
   * record it searches on (nextCandidate), so records after a torn one or after one whose length
   * field went bad are still found. Returns the offset after the last committed record, negated when
   * the table overflowed; scanTailErased says whether everything after that offset is erased.
   */
  private scanSector(s: i32): i32 {
    const base = s * this.sectorSize;
    let offset = this.headerSpan;
    let end = offset;
    let garbage = false;
    let overflow = false;
    while (offset + this.minRecordSpan <= this.sectorSize) {
      const span = this.inspect(base + offset, this.sectorSize - offset);
      if (span == 0) {
        // Programmed bytes here that are not a committed record: a torn write.
        if (!this.isErased(base + offset, this.programUnit)) garbage = true;
        offset = this.nextCandidate(base, offset);
        continue;
      }
      if (this.seenValid) {
        if (!this.offer(this.seenType, this.seenSequence, base + offset, this.seenLength)) overflow = true;
        if (this.seenSequence > this.lastSequence) this.lastSequence = this.seenSequence;
      } else {
        this.corruptRecords++;
      }
      if (garbage) this.tornRecords++;
      garbage = false;
      offset += span;
      end = offset;
    }
    this.scanTailErased = this.isErased(base + end, this.sectorSize - end);
    if (!this.scanTailErased) this.tornRecords++;
    return overflow ? -end : end;
  }

  /**
   * Where a record could start after an offset where none does: a record's first byte (the
   * magic) is never 0xFF, so a run of erased bytes is skipped whole; inside programmed bytes
   * that are not a record the search steps one program unit. sectorSize when the rest is erased.
   */
  private nextCandidate(base: i32, offset: i32): i32 {
    const rest = this.sectorSize - offset;
    const erased = this.erasedRun(base + offset, rest);
    if (erased >= rest) return this.sectorSize;
    const skip = erased & ~(this.programUnit - 1);
    return offset + (skip > 0 ? skip : this.programUnit);
  }

  /**
   * Looks for a record at address with available bytes left in its sector. Returns its span when
   * its header is sane and its commit word is complete (seenValid then says whether the CRC
   * matches too), 0 otherwise.
   */
  private inspect(address: i32, available: i32): i32 {
    const head = changetype<usize>(this.head);
    this.seenValid = false;
    if (!this.fetch(address, head, RECORD_HEADER_BYTES)) return 0;
    if (load<u16>(head, RECORD_MAGIC_OFFSET) != RECORD_MAGIC
      || load<u8>(head, RECORD_VERSION_OFFSET) != STORE_FORMAT_VERSION
      || load<u8>(head, RECORD_RESERVED_OFFSET) != RESERVED_BYTE) return 0;
    const type = <i32>load<u16>(head, RECORD_TYPE_OFFSET);
    const length = <i32>load<u16>(head, RECORD_LENGTH_OFFSET);
    const sequence = load<u32>(head, RECORD_SEQUENCE_OFFSET);
    if (type < RECORD_TYPE_MIN || type > RECORD_TYPE_MAX) return 0;
    const span = this.spanOf(length);
    if (span > available) return 0;
    if (!this.commitAt(address + recordBodySpan(length, this.programUnit))) return 0;
    this.seenType = type;
    this.seenLength = length;
    this.seenSequence = sequence;
    this.seenValid = this.crcMatches(address, length);
    return span;
  }

  /** CRC-32 of header and payload in flash equals the stored one. */
  private crcMatches(address: i32, length: i32): bool {
    const buffer = changetype<usize>(this.chunk);
    let crc = CRC32_INITIAL;
    let done = 0;
    const total = RECORD_HEADER_BYTES + length;
    while (done < total) {
      const n = min(this.chunkBytes, total - done);
      if (!this.fetch(address + done, buffer, n)) return false;
      crc = crc32Continue(crc, buffer, n);
      done += n;
    }
    if (!this.fetch(address + total, buffer, CRC_BYTES)) return false;
    return load<u32>(buffer) == (crc ^ CRC32_FINAL_XOR);
  }

  /** The record at address is committed, has this type, length and sequence, and its CRC matches. */
  private verifyRecord(address: i32, type: i32, length: i32, sequence: u32): bool {
    const span = this.inspect(address, this.spanOf(length));
    return span > 0 && this.seenValid && this.seenType == type && this.seenLength == length && this.seenSequence == sequence;
  }

  private sectorCommitted(sector: i32, epoch: u32): bool {
    return this.classifySector(sector) == HEADER_VALID && this.headerEpoch == epoch;
  }

  private commitAt(address: i32): bool {
    const head = changetype<usize>(this.head);
    if (!this.fetch(address, head, 4)) return false;
    return load<u32>(head) == COMMIT_WORD;
  }

  /** Every byte in [address, address + length) reads 0xFF. */
  private isErased(address: i32, length: i32): bool {
    return this.erasedRun(address, length) >= length;
  }

  /** How many bytes from address (up to length) read 0xFF before the first one that does not. */
  private erasedRun(address: i32, length: i32): i32 {
    const buffer = changetype<usize>(this.chunk);
    let done = 0;
    while (done < length) {
      const n = min(this.chunkBytes, length - done);
      if (!this.fetch(address + done, buffer, n)) return done;
      let i = 0;
      while (i + 4 <= n && load<u32>(buffer + <usize>i) == 0xffffffff) i += 4;
      while (i < n && load<u8>(buffer + <usize>i) == 0xff) i++;
      if (i < n) return done + i;
      done += n;
    }
    return length;
  }

  // ---------------------------------------------------------------------------------------------
  // Programming

  /** Header, payload and CRC in chunks of whole program units, then the commit word in an operation of its own. */
  private emitRecord(address: i32, type: i32, sequence: u32, ptr: usize, length: i32): bool {
    const buffer = changetype<usize>(this.chunk);
    const capacity = this.chunkBytes;
    store<u16>(buffer, RECORD_MAGIC, RECORD_MAGIC_OFFSET);
    store<u8>(buffer, STORE_FORMAT_VERSION, RECORD_VERSION_OFFSET);
    store<u8>(buffer, RESERVED_BYTE, RECORD_RESERVED_OFFSET);
    store<u16>(buffer, <u16>type, RECORD_TYPE_OFFSET);
    store<u16>(buffer, <u16>length, RECORD_LENGTH_OFFSET);
    store<u32>(buffer, sequence, RECORD_SEQUENCE_OFFSET);
    let crc = crc32Continue(CRC32_INITIAL, buffer, RECORD_HEADER_BYTES);
    crc = crc32Continue(crc, ptr, length) ^ CRC32_FINAL_XOR;
    let fill = RECORD_HEADER_BYTES;
    let written = 0;
    let source = 0;
    while (source < length) {
      const n = min(capacity - fill, length - source);
      memory.copy(buffer + <usize>fill, ptr + <usize>source, <usize>n);
      fill += n;
      source += n;
      if (fill == capacity) {
        if (this.device.program(address + written, buffer, capacity) != 0) return false;
        written += capacity;
        fill = 0;
      }
    }
    for (let b = 0; b < CRC_BYTES; b++) {
      if (fill == capacity) {
        if (this.device.program(address + written, buffer, capacity) != 0) return false;
        written += capacity;
        fill = 0;
      }
      store<u8>(buffer + <usize>fill, <u8>(crc >>> (<u32>b * 8)));
      fill++;
    }
    const padded = alignUp(fill, this.programUnit);
    memory.fill(buffer + <usize>fill, 0xff, <usize>(padded - fill));
    if (this.device.program(address + written, buffer, padded) != 0) return false;
    return this.programCommit(address + written + padded);
  }

  /** Copies a verified record's body unchanged (same sequence number), then commits the copy. */
  private copyRecord(from: i32, to: i32, length: i32): bool {
    const buffer = changetype<usize>(this.chunk);
    const body = recordBodySpan(length, this.programUnit);
    let done = 0;
    while (done < body) {
      const n = min(this.chunkBytes, body - done);
      if (!this.fetch(from + done, buffer, n)) return false;
      if (this.device.program(to + done, buffer, n) != 0) return false;
      done += n;
    }
    return this.programCommit(to + body);
  }

  private programSectorHeader(base: i32, epoch: u32, erases: u32): bool {
    const buffer = changetype<usize>(this.chunk);
    const span = sectorCommitOffset(this.programUnit);
    memory.fill(buffer, 0xff, <usize>span);
    store<u16>(buffer, SECTOR_MAGIC, SECTOR_MAGIC_OFFSET);
    store<u8>(buffer, STORE_FORMAT_VERSION, SECTOR_VERSION_OFFSET);
    store<u8>(buffer, RESERVED_BYTE, SECTOR_RESERVED_OFFSET);
    store<u32>(buffer, epoch, SECTOR_EPOCH_OFFSET);
    store<u32>(buffer, erases, SECTOR_ERASE_COUNT_OFFSET);
    store<u32>(buffer, crc32Continue(CRC32_INITIAL, buffer, SECTOR_CRC_OFFSET) ^ CRC32_FINAL_XOR, SECTOR_CRC_OFFSET);
    return this.device.program(base, buffer, span) == 0;
  }

  private programCommit(address: i32): bool {
    const buffer = changetype<usize>(this.chunk);
    const span = commitSpan(this.programUnit);
    memory.fill(buffer, 0xff, <usize>span);
    store<u32>(buffer, COMMIT_WORD);
    return this.device.program(address, buffer, span) == 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Bookkeeping

  /** Reads from the device; on an error notes it and fills the buffer with 0x00 (never a valid header). */
  private fetch(address: i32, ptr: usize, length: i32): bool {
    if (this.device.read(address, ptr, length) == 0) return true;
    this.readFailed = true;
    memory.fill(ptr, 0, <usize>length);
    return false;
  }

  private findSlot(type: i32): i32 {
    for (let i = 0; i < this.slots; i++) if (unchecked(this.slotType[i]) == type) return i;
    return -1;
  }

  private setSlot(slot: i32, type: i32, sequence: u32, address: i32, length: i32): void {
    unchecked(this.slotType[slot] = type);
    unchecked(this.slotSequence[slot] = sequence);
    unchecked(this.slotAddress[slot] = address);
    unchecked(this.slotLength[slot] = length);
    if (slot == this.slots) this.slots++;
  }

  /** Mount: keeps the record if it is the newest of its type so far (ties: the later-scanned, newer sector). */
  private offer(type: i32, sequence: u32, address: i32, length: i32): bool {
    const slot = this.findSlot(type);
    if (slot >= 0) {
      if (sequence >= unchecked(this.slotSequence[slot])) this.setSlot(slot, type, sequence, address, length);
      return true;
    }
    if (this.slots >= this.maxTypes) return false;
    this.setSlot(this.slots, type, sequence, address, length);
    return true;
  }

  private resetCounters(): void {
    this.slots = 0;
    this.lastSequence = 0;
    this.activeSector = -1;
    this.appendOffset = 0;
    this.appendable = false;
    this.maxEpoch = 0;
    this.tornRecords = 0;
    this.corruptRecords = 0;
    this.dirtySectors = 0;
    this.collections = 0;
  }

  private resetView(): void {
    this.resetCounters();
    this.mounted = false;
    this.readOnly = false;
    this.readFailed = false;
    for (let s = 0; s < this.sectorCount; s++) {
      unchecked(this.sectorState[s] = SECTOR_DIRTY);
      unchecked(this.sectorEpoch[s] = 0);
    }
  }

  private finish(status: i32): i32 {
    this.status = status;
    return status;
  }
}
