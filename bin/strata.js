#!/usr/bin/env node
// Entry point of the `strata` command: registers tsx so the TypeScript harness runs as is.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../host/cli/strata.ts");
process.exitCode = await main(process.argv.slice(2));
