// Scenario files: loading, schema validation (errors name the field and the reason), defaults,
// and the checks a schema cannot express.
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { existsSync, readdirSync } from "node:fs";
import { schemaValidator, readJsonFile } from "../validation.ts";
import type { LoadSegment } from "./load.ts";
import { checkFaultEvents } from "./faults.ts";
import { listCells } from "../plant/chemistry.ts";
import { listDriveCycles } from "../plant/drive-cycle.ts";

export const scenariosDir = dirname(fileURLToPath(import.meta.url));

export type TraceSegment = { type: "trace"; file: string };

export interface FaultEvent {
  at_s: number;
  target: string;
  kind: string;
  params?: Record<string, unknown>;
}

/** One change of what the vehicle asks the BMS for (docs/scenarios.md, "Vehicle"). */
export interface VehicleEvent {
  at_s: number;
  contactors?: "close" | "open";
  faultReset?: boolean;
  chargeMode?: "drive" | "ac-charge" | "dc-charge" | "parked";
}

export interface Scenario {
  name: string;
  description?: string;
  seed: number;
  /** Simulated time; undefined means "the load profile's length". */
  duration_s?: number;
  ambient_C: number;
  boards: { node: string; controller: string };
  pack: {
    modules: number;
    model: "ecm" | "linear";
    cell: string;
    parallel: number;
    spread: { capacity_rel: number; resistance_rel: number; soc_abs: number; selfDischarge_rel: number };
    initialSoc: number;
    temperature_C: number;
    convectiveCoefficient_W_per_m2K?: number;
    parameterScale?: { capacity: number; resistance: number };
    ageing?: { capacityFade: number; resistanceGrowth: number };
    capacity_Ah: number;
    ocvEmpty_V: number;
    ocvFull_V: number;
    resistance_mOhm: number;
  };
  load: (LoadSegment | TraceSegment)[];
  faults: FaultEvent[];
  /** "closed": the load is always connected; "controlled": it flows only while the controller has both mains closed. */
  contactors: "closed" | "controlled";
  /**
   * "ignored": the load draws what it asks for; "respected": the inverter and the charger keep the
   * pack current within the BMS's 2-s limits (BMS_DischargeLimits, BMS_ChargeLimits), as
   * docs/vehicle-interface.md requires of them.
   */
  limits: "ignored" | "respected";
  /** The VCU's requests over time, in time order; empty: contactors requested closed from the start. */
  vehicle: VehicleEvent[];
  /** Sensor error model of every node: ideal, or drawn from the parts' datasheet figures. */
  sensors: "ideal" | "datasheet-typical" | "datasheet-maximum";
  /** Modules have converters on an energy bus (active balancing). */
  activeBalancing: boolean;
  /** The balancing planner the controller is provisioned with (docs/balancing.md, "Controller"). */
  balancing: "none" | "voltage" | "soc" | "active";
  /** Folder of the scenario file: relative paths (traces) resolve against it. */
  baseDir: string;
}

const checkSchema = schemaValidator<unknown>(join(scenariosDir, "scenario.schema.json"), "scenario", { discriminator: true });

type RawScenario = Omit<Partial<Scenario>, "pack" | "load" | "boards"> & {
  name: string; seed: number;
  pack: Partial<Scenario["pack"]> & { modules: number; model: "ecm" | "linear"; spread?: Partial<Scenario["pack"]["spread"]> };
  load: (LoadSegment | TraceSegment)[];
  boards?: Partial<Scenario["boards"]>;
};

export function validateScenario(data: unknown, source: string, baseDir: string = scenariosDir): Scenario {
  checkSchema(data, source);
  const raw = data as RawScenario;
  const problems: string[] = [];
  const p = raw.pack;
  const load = raw.load;
  if (p.model === "ecm") {
    if (p.cell === undefined) problems.push("pack.cell: required for the ecm model");
    else if (!p.cell.endsWith(".json") && !listCells().includes(p.cell)) problems.push(`pack.cell: unknown cell '${p.cell}' (known: ${listCells().join(", ")})`);
  }
  if (p.model === "linear" && p.ocvFull_V !== undefined && p.ocvEmpty_V !== undefined && p.ocvFull_V <= p.ocvEmpty_V) {
    problems.push("pack.ocvFull_V: must be above pack.ocvEmpty_V");
  }
  load.forEach((segment, i) => {
    if (segment.type === "drive-cycle" && !segment.cycle.endsWith(".csv") && !listDriveCycles().includes(segment.cycle)) {
      problems.push(`load[${i}].cycle: unknown drive cycle '${segment.cycle}' (known: ${listDriveCycles().join(", ")})`);
    }
    if (segment.type === "current" && segment.current_A === undefined && segment.cRate === undefined) {
      problems.push(`load[${i}]: a current segment needs current_A or cRate`);
    }
    if (segment.type === "trace") {
      if (load.length !== 1) problems.push(`load[${i}]: a trace replaces the plant and must be the only load segment`);
      if (!existsSync(resolve(baseDir, segment.file))) problems.push(`load[${i}].file: trace file not found: ${resolve(baseDir, segment.file)}`);
    }
  });
  for (const [i, f] of (raw.faults ?? []).entries()) {
    const m = /^(node|module):(\d+)$/.exec(f.target);
    if (m !== null && Number(m[2]) >= p.modules) problems.push(`faults[${i}].target: ${f.target} but the pack has ${p.modules} modules`);
  }
  if (raw.balancing === "active" && raw.activeBalancing !== true) {
    problems.push("balancing: \"active\" needs activeBalancing: true (the modules' converters on an energy bus)");
  }
  if (problems.length > 0) throw new Error(`invalid scenario ${source}:\n${problems.map((s) => `  ${s}`).join("\n")}`);
  checkFaultEvents(raw.faults ?? [], source);

  const scenario: Scenario = {
    name: raw.name,
    seed: raw.seed,
    ambient_C: raw.ambient_C ?? 25,
    boards: { node: raw.boards?.node ?? "strata-node-v1", controller: raw.boards?.controller ?? "strata-controller-v1" },
    pack: {
      modules: p.modules,
      model: p.model,
      cell: p.cell ?? "",
      parallel: p.parallel ?? 1,
      spread: {
        capacity_rel: p.spread?.capacity_rel ?? 0,
        resistance_rel: p.spread?.resistance_rel ?? 0,
        soc_abs: p.spread?.soc_abs ?? 0,
        selfDischarge_rel: p.spread?.selfDischarge_rel ?? 0,
      },
      initialSoc: p.initialSoc ?? 0.9,
      temperature_C: p.temperature_C ?? raw.ambient_C ?? 25,
      capacity_Ah: p.capacity_Ah ?? 50,
      ocvEmpty_V: p.ocvEmpty_V ?? 3.0,
      ocvFull_V: p.ocvFull_V ?? 4.2,
      resistance_mOhm: p.resistance_mOhm ?? 1.0,
    },
    load,
    faults: raw.faults ?? [],
    contactors: raw.contactors ?? "closed",
    limits: raw.limits ?? "ignored",
    vehicle: [...(raw.vehicle ?? [])].sort((a, b) => a.at_s - b.at_s),
    sensors: raw.sensors ?? "ideal",
    activeBalancing: raw.activeBalancing ?? false,
    balancing: raw.balancing ?? "soc",
    baseDir,
  };
  if (p.convectiveCoefficient_W_per_m2K !== undefined) scenario.pack.convectiveCoefficient_W_per_m2K = p.convectiveCoefficient_W_per_m2K;
  if (p.parameterScale !== undefined) scenario.pack.parameterScale = p.parameterScale;
  if (p.ageing !== undefined) scenario.pack.ageing = p.ageing;
  if (raw.duration_s !== undefined) scenario.duration_s = raw.duration_s;
  if (raw.description !== undefined) scenario.description = raw.description;
  return scenario;
}

/** Loads host/scenarios/<name>.json or a path to a scenario file. */
export function loadScenario(nameOrPath: string): Scenario {
  const path = nameOrPath.endsWith(".json") ? resolve(nameOrPath) : join(scenariosDir, `${nameOrPath}.json`);
  const data = readJsonFile(path, "scenario");
  return validateScenario(data, path, dirname(path));
}

/** Names of the scenarios shipped in host/scenarios/. */
export function listScenarios(): string[] {
  return readdirSync(scenariosDir)
    .filter((f) => f.endsWith(".json") && !f.endsWith(".schema.json"))
    .map((f) => f.slice(0, -5))
    .sort();
}
