// End to end: `node bin/strata.js regroup` on a temporary folder of passport files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../../host/abi.ts";
import { syntheticPassport, syntheticSerial } from "../../../host/passport/synthetic.ts";
import { ASSIGNMENT_FORMAT } from "../../../host/regroup/report.ts";

function strata(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [join(repoRoot, "bin", "strata.js"), ...args], { cwd: repoRoot, encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface Assignment {
  format: string;
  summary: { inputs: number; packs: number; setAside: Record<string, number> };
  packs: { id: string; positions: { position: number; serials: string[] }[] }[];
  setAside: { serial: string | null; source: string; reason: string; detail: string }[];
}

/** 18 passports as files and one array file, one malformed passport file, one file that is not JSON. */
function passportFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "strata-regroup-"));
  const passport = (k: number, capacitySoh: number) => syntheticPassport({
    serial: syntheticSerial(k), cellId: "lg-inr21700-m50", cellsInParallel: 4, capacitySoh, resistanceSoh: 1 + 2.5 * (1 - capacitySoh),
  });
  for (let k = 1; k <= 12; k++) writeFileSync(join(dir, `module-${k}.json`), JSON.stringify(passport(k, 0.8 + 0.01 * k)));
  writeFileSync(join(dir, "crate-7.json"), JSON.stringify([13, 14, 15, 16, 17, 18].map((k) => passport(k, k === 18 ? 0.55 : 0.8 + 0.01 * k))));
  const malformed = passport(99, 0.9) as unknown as { public: { stateOfHealth: Record<string, unknown> } };
  malformed.public.stateOfHealth.capacitySoh = "high";
  writeFileSync(join(dir, "module-99.json"), JSON.stringify(malformed));
  writeFileSync(join(dir, "scan-notes.json"), "serial 0000000000aa: label damaged");
  return dir;
}

test("strata regroup forms packs from a folder, writes the assignment and sets aside malformed files with the reason", () => {
  const dir = passportFolder();
  try {
    const out = join(dir, "out", "assignment.json");
    const run = strata(["regroup", dir, "--series", "4", "--parallel", "2", "--out", out]);
    assert.equal(run.status, 0, run.stderr);
    const a = JSON.parse(readFileSync(out, "utf8")) as Assignment;
    assert.equal(a.format, ASSIGNMENT_FORMAT);
    assert.equal(a.summary.inputs, 20);
    assert.equal(a.summary.packs, 2);
    for (const pack of a.packs) {
      assert.equal(pack.positions.length, 4);
      for (const position of pack.positions) assert.equal(position.serials.length, 2);
    }
    assert.deepEqual(a.summary.setAside, { "invalid-passport": 2, "capacity-soh-low": 1, leftover: 1 });
    const invalid = a.setAside.filter((m) => m.reason === "invalid-passport");
    assert.deepEqual(invalid.map((m) => m.source).sort(), [join(dir, "module-99.json"), join(dir, "scan-notes.json")]);
    assert.match(invalid.find((m) => m.source.endsWith("module-99.json"))!.detail, /public\.stateOfHealth\.capacitySoh: must be number,null/);
    assert.equal(a.setAside.find((m) => m.reason === "capacity-soh-low")!.source, `${join(dir, "crate-7.json")}[5]`);

    // The report says which files were skipped and why, field by field.
    assert.match(run.stdout, /-> 2 packs of 4S2P/);
    assert.match(run.stdout, /invalid passport: 2/);
    assert.match(run.stdout, /module-99\.json:\n\s+public\.stateOfHealth\.capacitySoh: must be number,null/);
    assert.match(run.stdout, /scan-notes\.json is not valid JSON/);
    assert.match(run.stdout, /capacity SOH too low: 1/);
    assert.match(run.stdout, /objective [\d.]+ vs lower bound [\d.]+/);
    assert.match(run.stderr, /2 invalid passport\(s\) set aside/);

    // Files can also be named one by one.
    const listed = strata(["regroup", join(dir, "module-1.json"), join(dir, "module-2.json"), join(dir, "crate-7.json"), "--series", "8", "--quiet", "--out", out]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.equal(listed.stdout.trim(), out);
    assert.equal((JSON.parse(readFileSync(out, "utf8")) as Assignment).summary.inputs, 8);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("strata regroup --strict stops at the first malformed passport, naming the file and the field", () => {
  const dir = passportFolder();
  try {
    const run = strata(["regroup", dir, "--series", "4", "--strict", "--out", join(dir, "a.json")]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /strata: invalid passport .*module-99\.json:\n\s+public\.stateOfHealth\.capacitySoh: must be number,null/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("strata regroup refuses bad usage with exit code 2", () => {
  for (const [args, message] of [
    [["regroup", "--series", "4"], /needs at least one passport file or folder/],
    [["regroup", "passports"], /needs --series S/],
    [["regroup", "passports", "--series", "0"], /--series takes a whole number >= 1, got '0'/],
    [["regroup", "passports", "--series", "4", "--weights", "1,2"], /--weights takes three numbers/],
    [["regroup", "passports", "--series", "4", "--colour", "red"], /unknown option '--colour'/],
  ] as const) {
    const run = strata([...args]);
    assert.equal(run.status, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
});
