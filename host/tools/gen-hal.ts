// Regenerates assembly/hal/abi.ts from assembly/hal/abi.json.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadAbi, renderAssemblyAbi, repoRoot } from "../abi.ts";

const target = join(repoRoot, "assembly", "hal", "abi.ts");
writeFileSync(target, renderAssemblyAbi(loadAbi()));
console.log(`wrote ${target}`);
