// Scenario files: loading, schema validation (errors name the field and the reason), defaults.
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { schemaValidator, readJsonFile } from "../validation.ts";

export const scenariosDir = dirname(fileURLToPath(import.meta.url));

export interface Scenario {
  name: string;
  description?: string;
  seed: number;
  duration_s: number;
  ambient_C: number;
  boards: { node: string; controller: string };
  pack: {
    modules: number;
    model: "linear";
    capacity_Ah: number;
    ocvEmpty_V: number;
    ocvFull_V: number;
    resistance_mOhm: number;
    initialSoc: number;
    temperature_C: number;
  };
  load: { type: "constant-current"; cRate: number };
}

const checkSchema = schemaValidator<unknown>(join(scenariosDir, "scenario.schema.json"), "scenario", { useDefaults: true });

export function validateScenario(data: unknown, source: string): Scenario {
  checkSchema(data, source);
  const raw = data as Partial<Scenario> & Pick<Scenario, "name" | "seed" | "duration_s" | "pack" | "load">;
  const pack = raw.pack;
  const scenario: Scenario = {
    name: raw.name,
    seed: raw.seed,
    duration_s: raw.duration_s,
    ambient_C: raw.ambient_C ?? 25,
    boards: { node: raw.boards?.node ?? "strata-node-v1", controller: raw.boards?.controller ?? "strata-controller-v1" },
    pack: {
      modules: pack.modules,
      model: pack.model,
      capacity_Ah: pack.capacity_Ah ?? 50,
      ocvEmpty_V: pack.ocvEmpty_V ?? 3.0,
      ocvFull_V: pack.ocvFull_V ?? 4.2,
      resistance_mOhm: pack.resistance_mOhm ?? 1.0,
      initialSoc: pack.initialSoc ?? 0.9,
      temperature_C: pack.temperature_C ?? raw.ambient_C ?? 25,
    },
    load: raw.load,
  };
  if (raw.description !== undefined) scenario.description = raw.description;
  if (scenario.pack.ocvFull_V <= scenario.pack.ocvEmpty_V) {
    throw new Error(`invalid scenario ${source}:\n  pack.ocvFull_V: must be above pack.ocvEmpty_V`);
  }
  return scenario;
}

/** Loads host/scenarios/<name>.json or a path to a scenario file. */
export function loadScenario(nameOrPath: string): Scenario {
  const path = nameOrPath.endsWith(".json") ? nameOrPath : join(scenariosDir, `${nameOrPath}.json`);
  const data = readJsonFile(path, "scenario");
  return validateScenario(data, path);
}
