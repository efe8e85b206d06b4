// Runs every benchmark and prints the rows to paste into BENCHMARKS.md with today's date.
import { runFoundationBench } from "./foundation.ts";

const date = new Date().toISOString().slice(0, 10);
console.log(`## Foundation (${date}, \`npm run bench\`)\n`);
console.log("| measurement | figure | notes |\n|---|---|---|");
for (const row of runFoundationBench().rows) console.log(row);
