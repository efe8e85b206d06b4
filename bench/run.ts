// Runs the benchmarks and prints markdown sections to paste into BENCHMARKS.md with today's date.
// Usage: npm run bench [-- NAME ...]; names: foundation, pack96, estimation, enumeration,
// protection, balancing, regroup, second-life. Without names, all of them (several minutes).
import { loadavg } from "node:os";
import { runFoundationBench } from "./foundation.ts";
import { runPack96Bench } from "./pack96.ts";
import { runEstimationBench } from "./estimation.ts";
import { runEnumerationBench } from "./enumeration.ts";
import { runProtectionBench } from "./protection.ts";
import { runRegroupBench } from "./regroup.ts";
import { runSecondLifeBench } from "./second-life.ts";
import { runBalancingBench } from "./balancing.ts";

type Bench = { title: string; header?: string; run: () => { rows: string[] } | Promise<{ rows: string[] }> };

const TABLE = "| measurement | figure | notes |\n|---|---|---|";
const benches: Record<string, Bench> = {
  foundation: { title: "Foundation: harness speed and image sizes", header: TABLE, run: runFoundationBench },
  pack96: { title: "96-module pack, harness speed", header: TABLE, run: runPack96Bench },
  estimation: { title: "Estimation accuracy (EKF vs coulomb counting + OCV at rest)", run: runEstimationBench },
  enumeration: { title: "Enumeration time vs module count", run: runEnumerationBench },
  protection: { title: "Fault detection and reaction latency", run: runProtectionBench },
  balancing: { title: "Balancing", run: runBalancingBench },
  regroup: { title: "Regrouping 100,000 module records", run: () => runRegroupBench() },
  "second-life": { title: "Second life: used packs regrouped and started from their records", run: runSecondLifeBench },
};

const names = process.argv.slice(2);
for (const name of names) if (!(name in benches)) throw new Error(`unknown benchmark '${name}' (known: ${Object.keys(benches).join(", ")})`);
const date = new Date().toISOString().slice(0, 10);
for (const name of names.length > 0 ? names : Object.keys(benches)) {
  const bench = benches[name]!;
  const { rows } = await bench.run();
  console.log(`\n## ${bench.title} (${date}, \`npm run bench -- ${name}\`, load average ${loadavg()[0]!.toFixed(1)} on 2 cores)\n`);
  if (bench.header !== undefined) console.log(bench.header);
  for (const row of rows) console.log(row);
}
