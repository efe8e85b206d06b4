// Regenerates assembly/hal/abi.ts and the reference tables of docs/hal-abi.md from
// assembly/hal/abi.json.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadAbi, renderAssemblyAbi, renderAbiDocTables, replaceGeneratedSection, repoRoot } from "../abi.ts";

const abi = loadAbi();
const target = join(repoRoot, "assembly", "hal", "abi.ts");
writeFileSync(target, renderAssemblyAbi(abi));
console.log(`wrote ${target}`);
const doc = join(repoRoot, "docs", "hal-abi.md");
writeFileSync(doc, replaceGeneratedSection(readFileSync(doc, "utf8"), renderAbiDocTables(abi)));
console.log(`updated ${doc}`);
