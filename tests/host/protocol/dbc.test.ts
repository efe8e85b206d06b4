// Checks the vehicle-facing CAN database (boards/vehicle/strata-vehicle.dbc) with an independent
// DBC parser (candied): layout (signals inside the DLC, no overlap), scalings and ranges, value
// tables, cycle times, E2E fields on every safety-relevant message, and agreement with the
// firmware's enumerations (fault types, contactor states) that the signals carry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Dbc } from "candied";
import type { DbcData, Message, Signal } from "candied/lib/dbc/Dbc.js";
import { repoRoot } from "../../../host/abi.ts";

const dbcPath = join(repoRoot, "boards", "vehicle", "strata-vehicle.dbc");

function load(): DbcData {
  const dbc = new Dbc();
  const data = dbc.load(readFileSync(dbcPath, "utf8"), true);
  assert.equal(dbc.errors.size, 0, `parse errors: ${[...dbc.errors.values()].flat().map((e) => e.message).join("; ")}`);
  return data;
}

const data = load();
const messages = [...data.messages.values()];

/** Messages whose loss or corruption can make the vehicle or the pack act unsafely. */
const SAFETY_MESSAGES = [
  "BMS_Faults", "VCU_Command", "BMS_PackStatus", "BMS_ContactorStatus",
  "BMS_DischargeLimits", "BMS_ChargeLimits", "BMS_VoltageLimits",
];

/** Bit positions (0 = bit 0 of byte 0) a signal occupies, for either byte order. */
function occupiedBits(signal: Signal): number[] {
  const bits: number[] = [];
  let position = signal.startBit;
  for (let i = 0; i < signal.length; i++) {
    bits.push(position);
    if (signal.endian === "Intel") {
      position += 1;
    } else {
      // Motorola: the start bit is the MSB; the next less significant bit is to its right in the
      // DBC's sawtooth numbering, wrapping to the top of the next byte.
      position = position % 8 === 0 ? position + 15 : position - 1;
    }
  }
  return bits;
}

function rawRange(signal: Signal): [number, number] {
  return signal.signed
    ? [-(2 ** (signal.length - 1)), 2 ** (signal.length - 1) - 1]
    : [0, 2 ** signal.length - 1];
}

function attribute(message: Message, name: string): string | null {
  return message.attributes.get(name)?.value ?? null;
}

/** The `export const NAME: i32 = N;` members of one namespace in a firmware source file. */
function firmwareEnum(file: string, namespace: string): Map<string, number> {
  const source = readFileSync(join(repoRoot, file), "utf8");
  const block = new RegExp(`export namespace ${namespace} \\{([\\s\\S]*?)\\n\\}`).exec(source);
  assert.ok(block, `${file} has no namespace ${namespace}`);
  const members = new Map<string, number>();
  for (const m of block[1]!.matchAll(/export const (\w+): i32 = (\d+);/g)) members.set(m[1]!, Number(m[2]));
  return members;
}

function pascal(name: string): string {
  return name.split("_").map((w) => w.charAt(0) + w.slice(1).toLowerCase()).join("");
}

test("the database parses and declares both nodes", () => {
  assert.ok(messages.length >= 10, `only ${messages.length} messages`);
  assert.deepEqual([...data.nodes.keys()].sort(), ["BMS", "VCU"]);
});

test("identifiers and names are unique, 11-bit, and every message has 8 bytes", () => {
  const ids = new Set<number>();
  const names = new Set<string>();
  for (const m of messages) {
    assert.ok(!ids.has(m.id), `identifier 0x${m.id.toString(16)} used twice`);
    assert.ok(!names.has(m.name), `message name ${m.name} used twice`);
    ids.add(m.id);
    names.add(m.name);
    assert.ok(m.id >= 0 && m.id <= 0x7ff, `${m.name}: 0x${m.id.toString(16)} is not an 11-bit identifier`);
    assert.equal(m.dlc, 8, `${m.name}: DLC ${m.dlc}`);
  }
});

test("every signal fits in its message's DLC and no two signals overlap", () => {
  for (const m of messages) {
    const owner = new Map<number, string>();
    for (const s of m.signals.values()) {
      assert.ok(s.length >= 1, `${m.name}.${s.name}: length ${s.length}`);
      for (const bit of occupiedBits(s)) {
        assert.ok(bit >= 0 && bit < 8 * m.dlc, `${m.name}.${s.name}: bit ${bit} outside ${m.dlc} bytes`);
        const other = owner.get(bit);
        assert.equal(other, undefined, `${m.name}: ${s.name} overlaps ${other} at bit ${bit}`);
        owner.set(bit, s.name);
      }
    }
  }
});

test("scalings are non-zero and every declared range is representable in the raw field", () => {
  for (const m of messages) {
    for (const s of m.signals.values()) {
      const where = `${m.name}.${s.name}`;
      assert.ok(s.factor > 0, `${where}: factor ${s.factor}`);
      assert.ok(s.min < s.max, `${where}: range [${s.min}|${s.max}] is empty`);
      const [rawLow, rawHigh] = rawRange(s);
      const low = rawLow * s.factor + s.offset;
      const high = rawHigh * s.factor + s.offset;
      const halfStep = s.factor / 2;
      assert.ok(s.min >= low - halfStep && s.max <= high + halfStep,
        `${where}: [${s.min}|${s.max}] does not fit the ${s.length}-bit ${s.signed ? "signed" : "unsigned"} field ([${low}|${high}])`);
      // Range ends land on the raw grid (a value the sender can actually produce).
      for (const end of [s.min, s.max]) {
        const raw = (end - s.offset) / s.factor;
        assert.ok(Math.abs(raw - Math.round(raw)) < 1e-6, `${where}: ${end} is not a multiple of ${s.factor} from ${s.offset}`);
      }
      if (s.factor !== 1 || s.offset !== 0) assert.notEqual(s.unit, "", `${where}: scaled signal without a unit`);
    }
  }
});

test("value tables name raw values the field can hold, and enumerations stay inside their range", () => {
  for (const m of messages) {
    for (const s of m.signals.values()) {
      if (s.valueTable === null) continue;
      const [rawLow, rawHigh] = rawRange(s);
      for (const [raw, label] of s.valueTable) {
        assert.ok(Number.isInteger(raw) && raw >= rawLow && raw <= rawHigh, `${m.name}.${s.name}: value ${raw} (${label}) outside the field`);
        assert.match(label, /^[A-Z][A-Z0-9_]*$/, `${m.name}.${s.name}: label '${label}'`);
      }
    }
  }
});

test("every message has a sender, receivers, a comment and a cycle time", () => {
  const nodes = new Set(data.nodes.keys());
  for (const m of messages) {
    assert.ok(m.sendingNode !== null && nodes.has(m.sendingNode), `${m.name}: sender ${m.sendingNode}`);
    assert.ok((m.description ?? "").length > 10, `${m.name}: no comment`);
    const cycle = Number(attribute(m, "GenMsgCycleTime"));
    assert.ok(cycle >= 10 && cycle <= 10000, `${m.name}: GenMsgCycleTime ${cycle}`);
    for (const s of m.signals.values()) {
      assert.ok(s.receivingNodes.length > 0 && s.receivingNodes.every((n) => nodes.has(n) && n !== m.sendingNode),
        `${m.name}.${s.name}: receivers ${s.receivingNodes.join(",")}`);
      assert.ok((s.description ?? "").length > 0, `${m.name}.${s.name}: no comment`);
    }
  }
});

test("every safety-relevant message, and only those, carries the E2E CRC and alive counter", () => {
  for (const m of messages) {
    const safety = SAFETY_MESSAGES.includes(m.name);
    // ENUM attribute values are indices into ["No", "Yes"].
    assert.equal(attribute(m, "E2EProtected"), safety ? "1" : "0", `${m.name}: E2EProtected`);
    const signals = [...m.signals.values()];
    const crc = signals.find((s) => s.name.endsWith("_CRC"));
    const counter = signals.find((s) => s.name.endsWith("_Counter"));
    if (!safety) {
      assert.equal(crc, undefined, `${m.name}: CRC on a message not declared safety-relevant`);
      continue;
    }
    // docs/protocol.md: byte 0 = CRC-8, low nibble of byte 1 = counter 0..14.
    assert.ok(crc, `${m.name}: no CRC signal`);
    assert.ok(counter, `${m.name}: no alive counter signal`);
    assert.deepEqual([crc.startBit, crc.length, crc.endian, crc.signed, crc.factor, crc.offset, crc.min, crc.max],
      [0, 8, "Intel", false, 1, 0, 0, 255], `${m.name}: CRC layout`);
    assert.deepEqual([counter.startBit, counter.length, counter.endian, counter.signed, counter.factor, counter.offset, counter.min, counter.max],
      [8, 4, "Intel", false, 1, 0, 0, 14], `${m.name}: counter layout`);
    const cycle = Number(attribute(m, "GenMsgCycleTime"));
    assert.ok(cycle <= 100, `${m.name}: safety message every ${cycle} ms`);
  }
  for (const name of SAFETY_MESSAGES) assert.ok(data.messages.has(name), `missing ${name}`);
});

test("BMS_Faults carries one 2-bit level per firmware fault type, in FaultType order", () => {
  const faults = firmwareEnum("assembly/protection/faults.ts", "FaultType");
  const levels = firmwareEnum("assembly/protection/faults.ts", "FaultLevel");
  const message = data.messages.get("BMS_Faults");
  assert.ok(message);
  assert.equal(faults.size, 11);
  for (const [name, index] of faults) {
    const signal = message.signals.get(`Level_${pascal(name)}`);
    assert.ok(signal, `no Level_${pascal(name)}`);
    // Protection.packedLevels(): fault k in bits 2k..2k+1, written from byte 2 on.
    assert.equal(signal.startBit, 16 + 2 * index, `Level_${pascal(name)} start bit`);
    assert.equal(signal.length, 2);
    for (const [level, value] of levels) assert.equal(signal.valueTable?.get(value), level, `Level_${pascal(name)} value ${value}`);
  }
});

test("BMS_ContactorStatus enumerations match the sequencer's", () => {
  const message = data.messages.get("BMS_ContactorStatus");
  assert.ok(message);
  const pairs: [string, string][] = [["ContactorState", "ContactorState"], ["SequencerFailure", "SequencerFailure"]];
  for (const [signalName, namespace] of pairs) {
    const members = firmwareEnum("assembly/contactor/sequencer.ts", namespace);
    const table: Map<number, string> | null | undefined = message.signals.get(signalName)?.valueTable;
    assert.ok(table, `${signalName} has no value table`);
    assert.equal(table.size, members.size, `${signalName}: ${table.size} values, firmware has ${members.size}`);
    for (const [name, value] of members) assert.equal(table.get(value), name, `${signalName} ${value}`);
  }
  // Weld flags in the order of WeldedContactor's bits.
  const welded = firmwareEnum("assembly/contactor/sequencer.ts", "WeldedContactor");
  const flags: [string, string][] = [["POSITIVE", "WeldedPositive"], ["NEGATIVE", "WeldedNegative"], ["LINK_VOLTAGE", "WeldedLinkVoltage"]];
  for (const [bit, signalName] of flags) {
    assert.equal(message.signals.get(signalName)?.startBit, 21 + Math.log2(welded.get(bit)!), signalName);
  }
});

test("the database loads the 500 kbit/s bus lightly (worst-case stuffed 11-bit frames)", () => {
  // Davis, Burns, Bril, Lukkien 2007: C = g + 8n + 13 + floor((g + 8n - 1) / 4), g = 34 for 11-bit identifiers.
  let bitsPerSecond = 0;
  for (const m of messages) {
    const payload = 8 * m.dlc;
    const frameBits = 34 + payload + 13 + Math.floor((34 + payload - 1) / 4);
    bitsPerSecond += frameBits * (1000 / Number(attribute(m, "GenMsgCycleTime")));
  }
  const load = bitsPerSecond / 500000;
  assert.ok(load < 0.05, `bus load ${(100 * load).toFixed(1)} %`);
});
