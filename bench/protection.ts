// Fault-latency benchmark: every protection fault the controller opens the contactors for,
// provoked in simulation by a scenario fault (the plant crossing a limit, a broken sensor, a
// silent node, a welded contactor), with the time from the first sample that shows it to the
// protection's OPEN and to the contactor model breaking the current. The rows go into
// BENCHMARKS.md; tests/host/controller/protection.test.ts asserts the same cases against their
// budgets.
//
// Times: the plant is sampled at the end of each 100 ms step (time t, the nodes' tick); the
// controller ticks at t + 50 ms. t0 is the first step whose sample shows the fault; "detected" is
// the controller tick whose protection reached OPEN; "open" is the first main contactor's coil
// release plus its release time in the contactor model (host/peripherals/contactor.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { validateScenario, type Scenario } from "../host/scenarios/scenario.ts";
import { Simulation } from "../host/sim.ts";
import { repoRoot } from "../host/abi.ts";

/** The `export const NAME: i32 = N;` members of a namespace of assembly/protection/faults.ts, the one source of the numbers. */
function faultsEnum(namespace: string): Record<string, number> {
  const source = readFileSync(join(repoRoot, "assembly", "protection", "faults.ts"), "utf8");
  const block = new RegExp(`export namespace ${namespace} \\{([\\s\\S]*?)\\n\\}`).exec(source);
  if (block === null) throw new Error(`assembly/protection/faults.ts has no namespace ${namespace}`);
  return Object.fromEntries([...block[1]!.matchAll(/export const (\w+): i32 = (\d+);/g)].map((m) => [m[1]!, Number(m[2])]));
}

function member(values: Record<string, number>, name: string): number {
  const value = values[name];
  if (value === undefined) throw new Error(`assembly/protection/faults.ts: no ${name}`);
  return value;
}

const faultTypes = faultsEnum("FaultType");
export const FaultType = {
  OVER_VOLTAGE: member(faultTypes, "OVER_VOLTAGE"),
  UNDER_VOLTAGE: member(faultTypes, "UNDER_VOLTAGE"),
  OVER_TEMPERATURE: member(faultTypes, "OVER_TEMPERATURE"),
  OVER_CURRENT_DISCHARGE: member(faultTypes, "OVER_CURRENT_DISCHARGE"),
  MODULE_COMMUNICATION_LOST: member(faultTypes, "MODULE_COMMUNICATION_LOST"),
  VOLTAGE_PLAUSIBILITY: member(faultTypes, "VOLTAGE_PLAUSIBILITY"),
  CONTACTOR_WELDED: member(faultTypes, "CONTACTOR_WELDED"),
};
export const OPEN_LEVEL = member(faultsEnum("FaultLevel"), "OPEN");

/** Diagnostic code 0x1FL of assembly/protection/faults.ts. */
export function diagnosticCode(fault: number, level: number): number {
  return 0x100 | ((fault & 0xf) << 4) | (level & 0xf);
}

export interface FaultCase {
  name: string;
  fault: number;
  /** What provokes it. */
  cause: string;
  /** Largest acceptable time from t0 to the contactors breaking the current, ms, and where it comes from. */
  budget_ms: number;
  budgetSource: string;
  /** Scenario fields beyond the common base. */
  scenario: Record<string, unknown>;
  duration_s: number;
  /** True once the fault shows in the sample of this step. */
  shows(sim: Simulation): boolean;
}

/** 6 modules of 2 LG M50 cells, contactors controlled by the BMS, the VCU asking them closed. */
function base(initialSoc: number): Record<string, unknown> {
  return {
    seed: 41, contactors: "controlled",
    pack: { modules: 6, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc },
  };
}

const TICK_ms = 100;
const plantMax = (sim: Simulation): number => Math.max(...sim.nodes.map((_, i) => sim.plant.moduleVoltage_V(i)));
const plantMin = (sim: Simulation): number => Math.min(...sim.nodes.map((_, i) => sim.plant.moduleVoltage_V(i)));

export const FAULT_CASES: readonly FaultCase[] = [
  {
    name: "over-voltage", fault: FaultType.OVER_VOLTAGE,
    cause: "0.6C charge step on a 99 % pack: the ohmic rise takes the modules past 4.20 V",
    budget_ms: 100, budgetSource: "fault-tolerant time, docs/protection.md",
    scenario: { ...base(0.99), load: [{ type: "rest", duration_s: 2 }, { type: "current", current_A: -6, duration_s: 3 }] },
    duration_s: 5,
    shows: (sim) => plantMax(sim) >= 4.2,
  },
  {
    name: "under-voltage", fault: FaultType.UNDER_VOLTAGE,
    cause: "1C discharge step on a 0.2 % pack: the ohmic drop takes the modules below 2.50 V",
    budget_ms: 100, budgetSource: "same path and 0 ms OPEN debounce as over-voltage",
    scenario: { ...base(0.002), load: [{ type: "rest", duration_s: 2 }, { type: "current", current_A: 10, duration_s: 3 }] },
    duration_s: 5,
    shows: (sim) => plantMin(sim) <= 2.5,
  },
  {
    name: "over-temperature", fault: FaultType.OVER_TEMPERATURE,
    cause: "thermistor fault: -750 mV at node 1's MODULE_TEMPERATURE input reads about 65 °C",
    budget_ms: 100, budgetSource: "0 ms OPEN debounce, first sample",
    scenario: {
      ...base(0.7), load: [{ type: "rest", duration_s: 4 }],
      faults: [{ at_s: 2, target: "node:1", kind: "adc-offset", params: { channel: "MODULE_TEMPERATURE", offset_mV: -750 } }],
    },
    duration_s: 4,
    shows: (sim) => sim.nodes[1]!.exports.moduleTemperature_C() >= 60,
  },
  {
    name: "over-current (discharge)", fault: FaultType.OVER_CURRENT_DISCHARGE,
    cause: "20 A on 2 parallel cells: 10 A per cell against the 7.275 A continuous rating",
    budget_ms: 5100, budgetSource: "5 s above the continuous rating (pack configuration) + one tick",
    scenario: { ...base(0.7), load: [{ type: "rest", duration_s: 2 }, { type: "current", current_A: 20, duration_s: 8 }] },
    duration_s: 10,
    shows: (sim) => sim.plant.packCurrent_A() >= 2 * 7.275,
  },
  {
    name: "module communication lost", fault: FaultType.MODULE_COMMUNICATION_LOST,
    cause: "node 2 disconnected from the bus",
    budget_ms: 1600, budgetSource: "500 ms timeout + 1 s OPEN debounce + one tick",
    scenario: { ...base(0.7), load: [{ type: "rest", duration_s: 5 }], faults: [{ at_s: 2, target: "node:2", kind: "disconnect" }] },
    duration_s: 5,
    shows: (sim) => !sim.nodes[2]!.port.connected,
  },
  {
    name: "voltage plausibility", fault: FaultType.VOLTAGE_PLAUSIBILITY,
    cause: "+25 % gain error on the controller's PACK_VOLTAGE channel",
    budget_ms: 2100, budgetSource: "2 s OPEN debounce + one tick",
    scenario: {
      ...base(0.7), load: [{ type: "rest", duration_s: 6 }],
      faults: [{ at_s: 2, target: "controller", kind: "adc-gain", params: { channel: "PACK_VOLTAGE", gainError: 0.25 } }],
    },
    duration_s: 6,
    shows: (sim) => sim.controller.adc.channelFaults("PACK_VOLTAGE").gainError !== 0,
  },
  {
    name: "welded contactor", fault: FaultType.CONTACTOR_WELDED,
    cause: "main positive welded, then the vehicle requests open: the negative isolates the pack",
    budget_ms: 300, budgetSource: "aux check one release time after the coil drops (next tick), negative opens a tick later",
    scenario: {
      ...base(0.7), load: [{ type: "rest", duration_s: 5 }],
      faults: [{ at_s: 2, target: "controller", kind: "contactor-welded", params: { contactor: "positive" } }],
      vehicle: [{ at_s: 3, contactors: "open" }],
    },
    duration_s: 5,
    shows: (sim) => sim.vehicle.contactorRequest === "open",
  },
];

export interface FaultRun {
  case: FaultCase;
  sim: Simulation;
  /** First step whose sample shows the fault, ms. */
  t0_ms: number;
  /** Controller tick at which the fault reached OPEN, ms (NaN: never). */
  detected_ms: number;
  /** The first main contactor breaking the current, ms (NaN: never). */
  opened_ms: number;
  /** Main contactors closed before the fault showed (the case started from a connected pack). */
  connectedBefore: boolean;
}

export function faultScenario(c: FaultCase): Scenario {
  return validateScenario({ name: c.name.replace(/[^a-z0-9]+/g, "-"), duration_s: c.duration_s, ...c.scenario }, c.name);
}

/** Runs one case and times it. */
export function runFaultCase(c: FaultCase): FaultRun {
  const sim = new Simulation(faultScenario(c));
  const coilOff_ms: Record<"positive" | "negative", number> = { positive: NaN, negative: NaN };
  const watch = (pin: string, which: "positive" | "negative"): void => {
    sim.controller.gpio.onOutput(pin, (level) => {
      if (level === 0 && Number.isNaN(coilOff_ms[which]) && sim.contactors[which].closed) coilOff_ms[which] = sim.clock.now_us / 1000;
    });
  };
  watch("CONTACTOR_POSITIVE", "positive");
  watch("CONTACTOR_NEGATIVE", "negative");
  let t0_ms = NaN;
  let detected_ms = NaN;
  let connectedBefore = false;
  sim.run((s) => {
    const t_ms = s.clock.now_us / 1000;
    if (Number.isNaN(t0_ms)) {
      if (c.shows(s)) t0_ms = t_ms;
      else connectedBefore = s.contactors.mainsClosed();
    }
    if (Number.isNaN(detected_ms) && s.controller.exports.faultLevel(c.fault) === OPEN_LEVEL) detected_ms = t_ms + TICK_ms / 2;
  });
  const opened = (["positive", "negative"] as const)
    .filter((k) => !Number.isNaN(coilOff_ms[k]) && !sim.contactors[k].welded && !sim.contactors[k].closed)
    .map((k) => coilOff_ms[k] + sim.contactors[k].release_ms);
  return { case: c, sim, t0_ms, detected_ms, opened_ms: opened.length > 0 ? Math.min(...opened) : NaN, connectedBefore };
}

export function runProtectionBench(): { rows: string[] } {
  const rows = [
    "| fault | provoked by | detected (OPEN) after | contactors open after | budget |",
    "|---|---|---|---|---|",
  ];
  for (const c of FAULT_CASES) {
    const r = runFaultCase(c);
    const ms = (v: number): string => (Number.isNaN(v) ? "never" : `${(v - r.t0_ms).toFixed(0)} ms`);
    rows.push(`| ${c.name} | ${c.cause} | ${ms(r.detected_ms)} | ${ms(r.opened_ms)} | ${c.budget_ms} ms (${c.budgetSource}) |`);
  }
  return { rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of runProtectionBench().rows) console.log(row);
}
