import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DriveCycle,
  DriveCycleFormatError,
  listDriveCycles,
  loadDriveCycle,
  parseDriveCycle,
} from "../../../host/plant/drive-cycle.ts";

const MPH_mps = 0.44704; // exact by definition
const MILE_m = 1609.344; // exact by definition

// Published totals. EPA: "Dynamometer Drive Schedules" page and 40 CFR 86 App. I / 600 App. I;
// WLTC: UNECE GTR No. 15, Annex 1 (class 3b). EPA states distances in miles and rounds the
// kilometre figure separately, so both are checked.
const PUBLISHED = {
  udds: { duration_s: 1369, distance_mi: 7.45, distance_km: 11.99, maxSpeed_kmh: 91.2 },
  // EPA quotes 596 s; its us06col.txt runs to 600 s with the car standing from 594 s on.
  us06: { duration_s: 600, distance_mi: 8.01, distance_km: 12.89, maxSpeed_kmh: 129.2 },
  hwfet: { duration_s: 765, distance_mi: 10.26, distance_km: 16.45, maxSpeed_kmh: 96.4 },
  wltc3b: { duration_s: 1800, distance_mi: null, distance_km: 23.266, maxSpeed_kmh: 131.3 },
} as const;

const REQUIRED_METADATA = [
  "id",
  "name",
  "issuer",
  "source_file",
  "source_mirror",
  "source_units",
  "conversion",
  "published",
  "duration_s",
  "distance_m",
  "max_speed_mps",
];

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / expected;
}

function distanceBetween_m(cycle: DriveCycle, from_s: number, to_s: number): number {
  let distance_m = 0;
  for (let i = 1; i < cycle.sampleCount; i++) {
    const t0 = cycle.sampleTime_s(i - 1);
    const t1 = cycle.sampleTime_s(i);
    if (t0 >= from_s && t1 <= to_s) distance_m += 0.5 * (cycle.sampleSpeed_mps(i - 1) + cycle.sampleSpeed_mps(i)) * (t1 - t0);
  }
  return distance_m;
}

function formatError(text: string): DriveCycleFormatError {
  try {
    parseDriveCycle(text, "bad.csv");
  } catch (error) {
    assert.ok(error instanceof DriveCycleFormatError, `expected DriveCycleFormatError, got ${String(error)}`);
    return error;
  }
  assert.fail("malformed cycle was accepted");
}

const HEADER = "# id: tiny\ntime_s,speed_mps\n";

test("the shipped cycles are UDDS, US06, HWFET and WLTC class 3b", () => {
  assert.deepEqual(listDriveCycles(), ["hwfet", "udds", "us06", "wltc3b"]);
});

for (const [id, published] of Object.entries(PUBLISHED)) {
  test(`${id}: duration, distance and top speed match the published totals`, () => {
    const cycle = loadDriveCycle(id);
    assert.equal(cycle.id, id);
    assert.equal(cycle.duration_s, published.duration_s);
    assert.ok(relativeError(cycle.distance_m, published.distance_km * 1000) < 0.005, `${cycle.distance_m} m`);
    if (published.distance_mi !== null) {
      assert.ok(relativeError(cycle.distance_m, published.distance_mi * MILE_m) < 0.005, `${cycle.distance_m} m`);
    }
    // Published to 0.1 km/h; the mph sources are at 0.1 mph.
    assert.ok(Math.abs(cycle.maxSpeed_mps * 3.6 - published.maxSpeed_kmh) <= 0.05 + 1e-9, `${cycle.maxSpeed_mps * 3.6} km/h`);
  });

  test(`${id}: 1 Hz samples that start and end at rest, with the documented metadata`, () => {
    const cycle = loadDriveCycle(id);
    assert.equal(cycle.sampleCount, published.duration_s + 1);
    for (let i = 0; i < cycle.sampleCount; i++) assert.equal(cycle.sampleTime_s(i), i);
    assert.equal(cycle.sampleSpeed_mps(0), 0);
    assert.equal(cycle.sampleSpeed_mps(cycle.sampleCount - 1), 0);
    for (const key of REQUIRED_METADATA) assert.ok(cycle.meta[key], `${id} lacks '# ${key}:'`);
  });
}

test("wltc3b: the four phases match GTR 15 (Low 3.095, Medium 4.756, High 7.162, Extra-high 8.254 km)", () => {
  const cycle = loadDriveCycle("wltc3b");
  const phases: [number, number, number][] = [
    [0, 589, 3095],
    [589, 1022, 4756],
    [1022, 1477, 7162],
    [1477, 1800, 8254],
  ];
  for (const [from_s, to_s, distance_m] of phases) {
    assert.equal(cycle.speedAt_mps(to_s), 0, `a phase ends at rest at ${to_s} s`);
    assert.ok(Math.abs(distanceBetween_m(cycle, from_s, to_s) - distance_m) < 1, `phase ending at ${to_s} s`);
  }
});

test("EPA rows are converted exactly (1 mph = 0.44704 m/s)", () => {
  const udds = loadDriveCycle("udds");
  // uddscol.txt: 21 s -> 3.0 mph, 22 s -> 5.9 mph, 240 s -> 56.7 mph (the maximum). The products
  // are exact decimals, written in full (3 × 0.44704 = 1.34112, 5.9 × 0.44704 = 2.637536).
  assert.equal(udds.sampleSpeed_mps(21), 1.34112);
  assert.equal(udds.sampleSpeed_mps(22), 2.637536);
  assert.equal(udds.maxSpeed_mps, 25.347168);
  assert.ok(Math.abs(udds.maxSpeed_mps - 56.7 * MPH_mps) < 1e-12);
});

test("speedAt_mps interpolates linearly and accelerationAt_mps2 is the segment slope", () => {
  const udds = loadDriveCycle("udds");
  const v21 = udds.sampleSpeed_mps(21);
  const v22 = udds.sampleSpeed_mps(22);
  assert.equal(udds.speedAt_mps(21), v21);
  assert.ok(Math.abs(udds.speedAt_mps(21.25) - (0.75 * v21 + 0.25 * v22)) < 1e-12);
  assert.ok(Math.abs(udds.accelerationAt_mps2(21.25) - (v22 - v21)) < 1e-12);
  assert.ok(Math.abs(udds.accelerationAt_mps2(21) - (v22 - v21)) < 1e-12, "taken from the right at a sample");
  assert.equal(udds.accelerationAt_mps2(5), 0);
});

test("outside the cycle the speed is held and the acceleration is 0", () => {
  const cycle = parseDriveCycle(`${HEADER}0,1\n1,2\n2,4\n`, "held.csv");
  assert.equal(cycle.speedAt_mps(-3), 1);
  assert.equal(cycle.speedAt_mps(2), 4);
  assert.equal(cycle.speedAt_mps(99), 4);
  assert.equal(cycle.accelerationAt_mps2(-3), 0);
  assert.equal(cycle.accelerationAt_mps2(1.5), 2);
  assert.equal(cycle.accelerationAt_mps2(2), 0);
  assert.throws(() => cycle.speedAt_mps(Number.NaN), RangeError);
});

test("queries in any order agree with a forward walk (the cursor never goes stale)", () => {
  const wltc = loadDriveCycle("wltc3b");
  const times = Array.from({ length: 4000 }, (_, k) => (k * 0.45) % wltc.duration_s);
  const forward = times.map((t) => [wltc.speedAt_mps(t), wltc.accelerationAt_mps2(t)]);
  const fresh = loadDriveCycle("wltc3b");
  for (let j = 0; j < times.length; j++) {
    const k = (j * 7919) % times.length; // 7919 is prime to 4000: a permutation that jumps around
    assert.equal(fresh.speedAt_mps(times[k]!), forward[k]![0]);
    assert.equal(fresh.accelerationAt_mps2(times[k]!), forward[k]![1]);
  }
});

test("uneven sample spacing and a non-file cycle work the same way", () => {
  const cycle = new DriveCycle("steps", "steps", [0, 0.5, 3], [0, 1, 1]);
  assert.equal(cycle.distance_m, 0.25 + 2.5);
  assert.equal(cycle.speedAt_mps(0.25), 0.5);
  assert.equal(cycle.accelerationAt_mps2(0.25), 2);
  assert.equal(cycle.accelerationAt_mps2(2), 0);
});

test("malformed files are rejected with the line and the reason", () => {
  const cases: [string, number, RegExp][] = [
    [`${HEADER}0,0\n1,abc\n`, 4, /non-numeric speed_mps 'abc'/],
    [`${HEADER}0,0\nx1,2\n`, 4, /non-numeric time_s 'x1'/],
    [`${HEADER}0,0\n1,\n`, 4, /non-numeric speed_mps ''/],
    [`${HEADER}0,0\n1,0x10\n`, 4, /non-numeric speed_mps '0x10'/],
    [`${HEADER}0,0\n2,1\n2,1\n`, 5, /time_s 2 is not strictly increasing/],
    [`${HEADER}0,0\n2,1\n1,1\n`, 5, /time_s 1 is not strictly increasing/],
    [`${HEADER}0,0\n1,-0.5\n`, 4, /negative speed_mps -0.5/],
    [`${HEADER}0,0\n1,2,3\n`, 4, /expected 2 fields/],
    [`${HEADER}1,0\n2,0\n`, 3, /first sample must be at time_s 0/],
    [`# id: tiny\n0,0\n1,1\n`, 2, /missing header row 'time_s,speed_mps' \(found '0,0'\)/],
    [`# id: tiny\ntime,speed\n0,0\n`, 2, /missing header row/],
    [`# id: tiny\n# id: again\ntime_s,speed_mps\n0,0\n1,0\n`, 2, /metadata key 'id' appears twice/],
    [`# id: tiny\n# distance_m: 5.0\ntime_s,speed_mps\n0,0\n1,2\n`, 2, /declared distance_m '5.0' disagrees/],
    [`# duration_s: 3\ntime_s,speed_mps\n0,0\n1,2\n`, 1, /declared duration_s '3' disagrees/],
  ];
  for (const [text, line, reason] of cases) {
    const error = formatError(text);
    assert.equal(error.line, line, `${reason}: ${error.message}`);
    assert.match(error.message, reason);
    assert.match(error.message, new RegExp(`^bad\\.csv:${line}: `));
  }
});

test("files with no header or too few samples are rejected as a whole", () => {
  assert.match(formatError("# only a comment\n\n").message, /^bad\.csv: missing header row/);
  assert.match(formatError("").message, /missing header row/);
  assert.match(formatError(`${HEADER}0,0\n`).message, /needs at least 2 samples, found 1/);
});

test("comments, blank lines, CRLF and spaces around fields are accepted", () => {
  const cycle = parseDriveCycle("# id: ok\r\n# name: A cycle\r\n\r\n time_s , speed_mps \r\n0, 0\r\n# note\r\n1 ,1.5\r\n\r\n", "ok.csv");
  assert.equal(cycle.id, "ok");
  assert.equal(cycle.name, "A cycle");
  assert.equal(cycle.duration_s, 1);
  assert.equal(cycle.distance_m, 0.75);
});

test("loadDriveCycle names the file on disk and the line", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-cycle-"));
  try {
    const path = join(dir, "broken.csv");
    writeFileSync(path, "time_s,speed_mps\n0,0\n1,-2\n");
    assert.throws(
      () => loadDriveCycle(path),
      (error: unknown) =>
        error instanceof DriveCycleFormatError && error.file === path && error.line === 3 && error.message.startsWith(`${path}:3: `),
    );
    const good = join(dir, "mine.csv");
    writeFileSync(good, "time_s,speed_mps\n0,0\n10,10\n");
    assert.equal(loadDriveCycle(good).id, "mine", "id falls back to the file name");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unknown cycle id lists the shipped ones", () => {
  assert.throws(() => loadDriveCycle("nedc"), /cannot read drive cycle 'nedc'.*shipped cycles: hwfet, udds, us06, wltc3b/);
});
