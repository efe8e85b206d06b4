// JSON Schema validation shared by every data format of the harness (boards, scenarios, cells):
// one place that turns ajv's errors into messages naming the file, the field and the reason.
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";

function describe(e: ErrorObject): string {
  const field = e.instancePath === "" ? "(top level)" : e.instancePath.slice(1).replace(/\/(\d+)(?=\/|$)/g, "[$1]").replace(/\//g, ".");
  if (e.keyword === "discriminator") {
    const params = e.params as { tag: string; tagValue: unknown };
    return `  ${field}.${params.tag}: unknown ${params.tag} ${JSON.stringify(params.tagValue)}`;
  }
  let extra = "";
  if (e.keyword === "additionalProperties") extra = ` '${(e.params as { additionalProperty: string }).additionalProperty}'`;
  else if (e.keyword === "enum") extra = ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")})`;
  return `  ${field}: ${e.message ?? "invalid"}${extra}`;
}

/**
 * Compiles the schema at schemaPath once; the returned function throws
 * `invalid <kind> <source>:` followed by one line per problem.
 */
export function schemaValidator<T>(schemaPath: string, kind: string, options: { useDefaults?: boolean; discriminator?: boolean } = {}): (data: unknown, source: string) => T {
  let validate: ReturnType<Ajv["compile"]> | undefined;
  return (data: unknown, source: string): T => {
    if (validate === undefined) {
      const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: options.useDefaults ?? false, discriminator: options.discriminator ?? false });
      validate = ajv.compile(JSON.parse(readFileSync(schemaPath, "utf8")) as object);
    }
    if (!validate(data)) {
      throw new Error(`invalid ${kind} ${source}:\n${(validate.errors ?? []).map(describe).join("\n")}`);
    }
    return data as T;
  };
}

/** Reads and parses a JSON file with errors that name the file. */
export function readJsonFile(path: string, kind: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(`${kind} not found: ${path}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${kind} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}
