// NOR flash: program-only-clears semantics, durations, wear, power loss mid-operation, retention loss.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FlashPeripheral, PowerLossError, STM32F4_FLASH } from "../../../host/peripherals/flash.ts";
import { loadBoard } from "../../../host/boards.ts";
import { Random } from "../../../host/random.ts";

const board = loadBoard("strata-node-v1"); // 4 sectors of 4096 B, 4-byte program unit
const SECTOR = board.flash.sectorSize_B;

function flash(seed = 1): FlashPeripheral {
  return new FlashPeripheral(board, undefined, { random: new Random(seed) });
}

/** A flash with a recognisable pattern programmed everywhere, so every bit state occurs. */
function patterned(seed = 1): FlashPeripheral {
  const f = flash(seed);
  const random = new Random(seed + 1000);
  const image = new Uint8Array(f.data.length).map(() => random.int(256));
  assert.equal(f.program(0, image), 0);
  return f;
}

test("programming can only clear bits: a program without an erase never sets one, an erase sets them all", () => {
  const f = flash();
  assert.equal(f.program(8, new Uint8Array([0x0f, 0xff, 0x00, 0xaa])), 0);
  assert.equal(f.program(8, new Uint8Array([0xf0, 0x00, 0xff, 0x55])), 0);
  assert.deepEqual([...f.read(8, 4)!], [0x00, 0x00, 0x00, 0x00]);
  assert.equal(f.program(8, new Uint8Array([0xff, 0xff, 0xff, 0xff])), 0);
  assert.deepEqual([...f.read(8, 4)!], [0, 0, 0, 0], "writing ones does not set bits");
  assert.equal(f.erase(0), 0);
  assert.deepEqual([...f.read(8, 4)!], [0xff, 0xff, 0xff, 0xff]);
  assert.equal(f.program(6, new Uint8Array(4)), -2, "misaligned");
  assert.equal(f.program(f.data.length - 4, new Uint8Array(8)), -1, "out of range");
  assert.equal(f.erase(board.flash.sectorCount), -1);
});

test("program and erase durations accumulate as blocking time (STM32F4 x32: 16 µs per word, 250 ms per sector typical)", () => {
  const f = flash();
  const blocked: number[] = [];
  f.busy.listener = (us) => blocked.push(us);
  f.program(0, new Uint8Array(8));
  f.erase(1);
  assert.deepEqual(blocked, [2 * 16, 250_000]);
  assert.equal(f.busy_us, 250_032);
  assert.equal(f.busy.lap_us(), 250_032);
  assert.equal(f.busy.lap_us(), 0);
  f.corner = "maximum";
  f.program(16, new Uint8Array(4));
  f.erase(2);
  assert.equal(f.busy.lap_us(), STM32F4_FLASH.programStep_us.maximum + STM32F4_FLASH.sectorErase_ms.maximum * 1000);
});

test("power loss mid-program: only the bits that operation was clearing are indeterminate; everything else is intact", () => {
  let sawCleared = 0;
  let sawKept = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const f = patterned(seed);
    const before = f.snapshot();
    const address = 512;
    const bytes = new Uint8Array(16).map((_, i) => (i * 37 + seed) & 0xff);
    f.cutPowerDuring(1);
    assert.throws(() => f.program(address, bytes), PowerLossError);
    assert.equal(f.powered, false);
    assert.throws(() => f.read(0, 4), PowerLossError, "a dead device answers nothing");
    f.restorePower();
    const after = f.read(0, f.data.length)!;
    for (let i = 0; i < after.length; i++) {
      const old = before[i]!;
      if (i < address || i >= address + bytes.length) {
        assert.equal(after[i], old, `byte ${i} outside the operation changed`);
        continue;
      }
      const target = old & bytes[i - address]!;
      assert.equal(after[i]! & ~old, 0, "a program never sets a bit");
      assert.equal(after[i]! & target, target, "bits the operation leaves at 0 or 1 keep their value");
      const clearing = old & ~bytes[i - address]! & 0xff;
      for (let b = 0; b < 8; b++) {
        if ((clearing >> b) & 1) (((after[i]! >> b) & 1) === 0 ? sawCleared++ : sawKept++);
      }
    }
  }
  assert.ok(sawCleared > 50 && sawKept > 50, `either value occurs (${sawCleared} cleared, ${sawKept} not)`);
});

test("power loss at a fraction of a program: earlier words are programmed, the word under way is indeterminate, later words untouched", () => {
  const f = flash(5);
  f.cutPowerDuring(2, 0.5);
  assert.equal(f.program(0, new Uint8Array(4)), 0, "the first operation completes");
  const bytes = new Uint8Array(16); // 4 words of zeros, clearing every bit
  assert.throws(() => f.program(64, bytes), PowerLossError);
  f.restorePower();
  assert.deepEqual([...f.read(64, 8)!], new Array(8).fill(0), "words 0 and 1 done");
  const third = [...f.read(72, 4)!];
  assert.ok(third.some((b) => b !== 0 && b !== 0xff) || third.some((b) => b !== third[0]), `word 2 indeterminate: ${third}`);
  assert.deepEqual([...f.read(76, 4)!], [0xff, 0xff, 0xff, 0xff], "word 3 untouched");
  assert.equal(f.busy.total_us, 16 + 4 * 16 * 0.5);
});

test("power loss mid-erase: only that sector changes, its bits only rise towards 1, and the erase still counts as wear", () => {
  const f = patterned(7);
  const before = f.snapshot();
  f.cutPowerDuring(1, 0.3);
  assert.throws(() => f.erase(2), (err: unknown) => err instanceof PowerLossError && err.operation === "erase" && err.target === 2);
  f.restorePower();
  const after = f.snapshot();
  let raised = 0;
  let stayed = 0;
  for (let i = 0; i < after.length; i++) {
    if (i < 2 * SECTOR || i >= 3 * SECTOR) {
      assert.equal(after[i], before[i], `byte ${i} outside sector 2`);
      continue;
    }
    assert.equal(after[i]! & before[i]!, before[i], "erase never clears a bit");
    const zeros = ~before[i]! & 0xff;
    for (let b = 0; b < 8; b++) if ((zeros >> b) & 1) (((after[i]! >> b) & 1) === 1 ? raised++ : stayed++);
  }
  const fraction = raised / (raised + stayed);
  assert.ok(Math.abs(fraction - 0.3) < 0.03, `about 30 % of the programmed bits rose (${fraction})`);
  assert.equal(f.eraseCounts[2], 1);
  assert.ok(after.some((b, i) => i >= 2 * SECTOR && i < 3 * SECTOR && b !== 0xff), "the sector is not fully erased");
});

test("retention loss flips exactly N programmed bits from 0 to 1 inside the range, nothing else", () => {
  const f = flash(9);
  f.program(SECTOR, new Uint8Array(SECTOR)); // sector 1 all zeros
  f.program(0, new Uint8Array(64));
  const before = f.snapshot();
  assert.equal(f.flipRetentionBits(100, SECTOR, 2 * SECTOR), 100);
  const after = f.snapshot();
  let flipped = 0;
  for (let i = 0; i < after.length; i++) {
    assert.equal(after[i]! & before[i]!, before[i], "no bit went from 1 to 0");
    const rose = after[i]! & ~before[i]! & 0xff;
    if (rose !== 0) assert.ok(i >= SECTOR && i < 2 * SECTOR, `byte ${i} outside the range`);
    flipped += rose.toString(2).split("1").length - 1;
  }
  assert.equal(flipped, 100);
  assert.equal(f.flipRetentionBits(10, 3 * SECTOR, 4 * SECTOR), 0, "an erased range has no charge to lose");
});

test("wear-out beyond the rated endurance: stuck bits survive erases, erases may fail", () => {
  const f = flash(11);
  f.eraseCounts[0] = STM32F4_FLASH.endurance_cycles;
  assert.equal(f.erase(0), 0);
  assert.equal(f.snapshot().subarray(0, SECTOR).every((b) => b === 0xff), true, "off by default");
  f.wearOut = { eraseFailureProbability: 0, stuckBitsPerErase: 3 };
  assert.equal(f.erase(0), 0);
  const zeros = f.snapshot().subarray(0, SECTOR).reduce((n, b) => n + (8 - (b.toString(2).split("1").length - 1)), 0);
  assert.ok(zeros >= 1 && zeros <= 3, `${zeros} stuck bits`);
  assert.deepEqual(f.wornSectors(), [0]);
  f.wearOut = { eraseFailureProbability: 1, stuckBitsPerErase: 0 };
  assert.equal(f.erase(0), -3);
});

test("a flash image and its wear carry over to another unit", () => {
  const f = patterned(13);
  f.erase(3);
  const copy = new FlashPeripheral(board, f.snapshot(), { eraseCounts: f.eraseCounts });
  assert.deepEqual(copy.snapshot(), f.snapshot());
  assert.deepEqual([...copy.eraseCounts], [...f.eraseCounts]);
  assert.throws(() => new FlashPeripheral(board, new Uint8Array(10)), /flash image is 10 bytes/);
});

test("the HAL call itself throws PowerLossError, so the harness can stop that device", () => {
  const f = flash(17);
  const memory = new Uint8Array(64);
  const hal = f.imports({ bytes: () => memory }) as unknown as Record<string, (...args: number[]) => number>;
  assert.equal(hal["flash_program"]!(0, 0, 8), 0);
  f.cutPowerDuring(1);
  assert.throws(() => hal["flash_erase"]!(1), PowerLossError);
  assert.throws(() => hal["flash_read"]!(0, 0, 4), PowerLossError);
});
