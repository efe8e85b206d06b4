import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  publicView, readPassports, repurposingReset, validatePassport, type ModulePassport,
} from "../../../host/passport/passport.ts";
import { syntheticPassport } from "../../../host/passport/synthetic.ts";
import { readJsonFile } from "../../../host/validation.ts";

const examplePath = fileURLToPath(new URL("../../../host/passport/example.passport.json", import.meta.url));

function example(): ModulePassport {
  return structuredClone(readJsonFile(examplePath, "passport")) as ModulePassport;
}

/** Asserts that validation fails and that the message contains every expected line. */
function refuses(data: unknown, expected: string[]): void {
  assert.throws(() => validatePassport(data, "bad.json"), (e: Error) => {
    assert.ok(e.message.startsWith("invalid passport bad.json:"), e.message);
    for (const line of expected) assert.ok(e.message.includes(line), `missing '${line}' in:\n${e.message}`);
    return true;
  });
}

test("the shipped example passport (every field filled) validates", () => {
  const passport = validatePassport(example(), examplePath);
  assert.equal(passport.public.identity.serial, "0a3f00c2917e");
  assert.equal(passport.packPrivate?.memberships.length, 1);
  assert.equal(passport.public.usage.temperatureResidency.seconds.length, passport.public.usage.temperatureResidency.edges.length - 1);
});

test("synthetic passports validate, with and without estimates", () => {
  for (const cellId of ["lg-inr21700-m50", "sony-us26650ftc1"]) {
    validatePassport(syntheticPassport({ serial: "000000000001", cellId, cellsInParallel: 4, capacitySoh: 0.83, resistanceSoh: 1.4 }), cellId);
  }
  validatePassport(syntheticPassport({ serial: "000000000002", cellId: "lg-inr21700-m50", cellsInParallel: 1, capacitySoh: null, resistanceSoh: null, socSigma: null }), "no estimates");
});

test("a malformed passport is refused with every problem named by field", () => {
  const bad = example() as unknown as Record<string, Record<string, Record<string, unknown>>>;
  (bad.public!.identity as Record<string, unknown>).serial = "0A3F00C2917";
  delete (bad.public!.identity as Record<string, unknown>).manufacturedOn;
  bad.public!.status = "refurbished" as unknown as Record<string, unknown>;
  bad.public!.stateOfCharge = { value: 1.2, sigma: 0.01 };
  bad.public!.extremeEvents!.overVoltage = { count: -1, lastAt: null };
  (bad.record as Record<string, unknown>).writtenAt = "20 Nov 2026";
  bad.public!.colour = "blue" as unknown as Record<string, unknown>;
  refuses(bad, [
    "public.identity.serial: must match pattern",
    "public.identity: must have required property 'manufacturedOn'",
    "public.status: must be equal to one of the allowed values (original, re-used, repurposed, remanufactured, waste)",
    "public.stateOfCharge.value: must be <= 1",
    "public.extremeEvents.overVoltage.count: must be >= 0",
    "record.writtenAt: must match pattern",
    "public: must NOT have additional properties 'colour'",
  ]);
  refuses([], ["(top level): must be object"]);
});

test("what a schema cannot say is checked too, naming the field", () => {
  const p = example();
  p.public.identity.cellId = "no-such-cell";
  p.public.identity.minVoltage_V = 3.7;
  p.record.writtenAt = "2026-02-30T10:00:00Z";
  p.public.stateOfHealth.capacitySoh = 0.95;
  p.public.stateOfHealth.resistance_mOhm = null;
  p.public.usage.temperatureResidency.seconds.pop();
  p.public.usage.socResidency.edges[3] = 0.15;
  p.public.extremeEvents.deepDischarge = { count: 1, lastAt: null };
  p.packPrivate!.memberships = [
    { packId: "A", position: 1, from: "2020-01-01T00:00:00Z", to: null },
    { packId: "B", position: 2, from: "2021-01-01T00:00:00Z", to: "2020-06-01T00:00:00Z" },
  ];
  refuses(p, [
    "public.identity.cellId: unknown cell 'no-such-cell'",
    "public.identity: needs minVoltage_V < nominalVoltage_V < maxVoltage_V",
    "record.writtenAt: '2026-02-30T10:00:00Z' is not a valid date",
    "public.stateOfHealth.capacitySoh: 0.95 disagrees with capacity_Ah.value / identity.nominalCapacity_Ah = 0.8730",
    "public.stateOfHealth.resistanceSoh: must be null exactly when resistance_mOhm is null",
    "public.usage.temperatureResidency.seconds: must have one entry per bin (edges.length - 1 = 6), got 5",
    "public.usage.socResidency.edges: must be strictly increasing (element 3: 0.15 after 0.2)",
    "public.extremeEvents.deepDischarge.lastAt: must be null exactly when count is 0",
    "packPrivate.memberships[0].to: only the last membership may be open (null)",
    "packPrivate.memberships[1].to: must be after from",
  ]);
  const q = example();
  q.public.usage.socResidency.edges[10] = 1.5;
  refuses(q, ["public.usage.socResidency.edges: must lie within [0, 1]"]);
});

test("passports are read from files, folders and JSON arrays; malformed ones are set aside or, strictly, thrown", () => {
  const dir = mkdtempSync(join(tmpdir(), "strata-passport-"));
  try {
    const good = (serial: string): ModulePassport => syntheticPassport({ serial, cellId: "lg-inr21700-m50", cellsInParallel: 4, capacitySoh: 0.9, resistanceSoh: 1.2 });
    writeFileSync(join(dir, "a.json"), JSON.stringify(good("00000000000a")));
    writeFileSync(join(dir, "fleet.json"), JSON.stringify([good("00000000000b"), { ...good("00000000000c"), record: { formatVersion: 2, sequence: 1, writtenAt: "2026-01-01T00:00:00Z" } }]));
    writeFileSync(join(dir, "broken.json"), "{");
    writeFileSync(join(dir, "notes.txt"), "not a passport");
    const { passports, rejected } = readPassports([dir]);
    assert.deepEqual(passports.map((p) => p.source), [join(dir, "a.json"), `${join(dir, "fleet.json")}[0]`]);
    assert.deepEqual(rejected.map((r) => r.source), [join(dir, "broken.json"), `${join(dir, "fleet.json")}[1]`]);
    assert.match(rejected[0]!.message, /broken\.json is not valid JSON/);
    assert.match(rejected[1]!.message, /invalid passport .*fleet\.json\[1\]:\n {2}record\.formatVersion: must be equal to constant/);
    assert.equal(readPassports([join(dir, "a.json")]).passports.length, 1);
    assert.throws(() => readPassports([dir], { strict: true }), /broken\.json is not valid JSON/);
    assert.throws(() => readPassports([join(dir, "missing")]), /passport path not found: .*missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Art. 14 split: the public view has no pack data; a repurposing reset clears it and keeps the health record", () => {
  const original = validatePassport(example(), "example");
  const view = publicView(original);
  assert.equal(view.packPrivate, undefined);
  assert.deepEqual(view.public, original.public);
  validatePassport(view, "public view");

  const reset = validatePassport(repurposingReset(original, "repurposed", "2026-12-01T09:00:00Z"), "reset");
  assert.deepEqual(reset.packPrivate, { memberships: [], settings: {} });
  assert.equal(reset.public.status, "repurposed");
  assert.equal(reset.record.sequence, original.record.sequence + 1);
  assert.equal(reset.record.writtenAt, "2026-12-01T09:00:00Z");
  assert.deepEqual(reset.public.stateOfHealth, original.public.stateOfHealth);
  assert.deepEqual(reset.public.usage, original.public.usage);
  assert.equal(original.public.status, "original", "the input is not modified");
});
