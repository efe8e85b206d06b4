// The `strata` command line.
//   strata sim [--scenario NAME|PATH] [--out DIR] [--log-every N] [--quiet]
//   strata regroup PATH... --series S [options]
//   strata passport --image FILE --serial HEX [--public] [--out FILE]
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { repoRoot } from "../abi.ts";
import { readPassports } from "../passport/passport.ts";
import { DEFAULT_REGROUP_OPTIONS, regroup } from "../regroup/regroup.ts";
import { assignmentDocument, formatReport } from "../regroup/report.ts";
import { loadScenario } from "../scenarios/scenario.ts";
import { Simulation } from "../sim.ts";
import { CsvRecorder, TraceRecorder, moduleViews } from "../recorder.ts";
import { passportFromImage, passportImageOf, passportFromFlashImage, readFlashImage } from "../passport/from-node.ts";
import { publicView } from "../passport/passport.ts";
import { decodeCellBlob } from "../provisioning/cell-blob.ts";
import { IDENTITY_BLOCK_BYTES } from "../provisioning/node.ts";
import { DEFAULT_EPOCH_s } from "../vehicle/vehicle-ecu.ts";

const REGROUP_DEFAULTS = DEFAULT_REGROUP_OPTIONS;

const USAGE = `usage: strata <command> [options]

commands:
  sim        run a scenario through both firmwares on the emulated pack
             --scenario NAME|PATH  scenario (default: default; see host/scenarios/)
             --out DIR             output folder (default: out/<scenario>)
             --log-every N         log one CSV row every N ticks (default: 10)
             --trace-out FILE      also write the plant's measurable values as a trace
                                   (replayable with a scenario whose load is {"type":"trace"})
             --flash-out DIR       at the end, write every node's flash image (<serial>.bin)
                                   and its passport (<serial>.passport.json) into DIR
             --quiet               print only the output folder
  passport   a module's passport from a copy of its node's flash (docs/passport.md)
             strata passport --image FILE --serial HEX [--public] [--out FILE]
             --public              only the state-of-health view (no pack-private data)
  regroup    form second-life packs from module passports (docs/regroup.md)
             strata regroup PATH... --series S [options]
             PATH                    passport files, folders of them, or files holding a JSON array
             --series S              series groups per pack (required)
             --parallel P            modules in parallel per series group (default: ${REGROUP_DEFAULTS.parallel})
             --packs N               packs wanted (default: as many as possible)
             --min-soh X             lowest capacity SOH kept (default: ${REGROUP_DEFAULTS.minCapacitySoh})
             --max-resistance-soh X  highest resistance SOH kept (default: ${REGROUP_DEFAULTS.maxResistanceSoh})
             --max-soc-sigma X       largest SOC 1-sigma kept, as a fraction (default: ${REGROUP_DEFAULTS.maxSocSigma})
             --chemistry NAME        keep only this chemistry (others: "chemistry mismatch")
             --mixed-cells           let cell ids of one chemistry share a pack
             --weights C,R,H         objective weights of capacity, resistance, SOH
                                     (default: ${REGROUP_DEFAULTS.weights.capacity},${REGROUP_DEFAULTS.weights.resistance},${REGROUP_DEFAULTS.weights.soh})
             --max-passes N          swap improvement passes (default: ${REGROUP_DEFAULTS.maxPasses})
             --out FILE              assignment JSON (default: out/regroup/assignment.json)
             --strict                stop at the first invalid passport instead of setting it aside
             --quiet                 print only the assignment path
  help       this text`;

export class UsageError extends Error {}

export function parseOptions(args: string[], known: Record<string, "value" | "flag">): Map<string, string> {
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument '${arg}'`);
    const name = arg.slice(2);
    const kind = known[name];
    if (kind === undefined) throw new UsageError(`unknown option '${arg}'`);
    if (kind === "flag") {
      options.set(name, "true");
    } else {
      const value = args[++i];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`option '${arg}' needs a value`);
      options.set(name, value);
    }
  }
  return options;
}

function fmt(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

async function sim(args: string[]): Promise<void> {
  const options = parseOptions(args, { scenario: "value", out: "value", "log-every": "value", "trace-out": "value", "flash-out": "value", quiet: "flag" });
  const scenario = loadScenario(options.get("scenario") ?? "default");
  const logEvery = Number(options.get("log-every") ?? "10");
  if (!Number.isInteger(logEvery) || logEvery < 1) throw new UsageError(`--log-every takes a whole number >= 1, got '${options.get("log-every")}'`);
  const outDir = resolve(options.get("out") ?? join(repoRoot, "out", scenario.name));
  const quiet = options.has("quiet");

  const wallStart = performance.now();
  const simulation = new Simulation(scenario);
  const recorder = new CsvRecorder(outDir, simulation, logEvery);
  const traceOut = options.get("trace-out");
  const trace = traceOut === undefined ? null : new TraceRecorder(resolve(traceOut), simulation, 1);
  simulation.run(() => {
    recorder.record();
    trace?.record();
  });
  await trace?.close();
  const wall_s = (performance.now() - wallStart) / 1000;

  const c = simulation.controller.exports;
  const modules = moduleViews(simulation);
  const traps = simulation.devices().filter((d) => d.trap !== null).map((d) => d.trap!.message);
  const faults = simulation.devices().map((d) => ({ device: d.name, faults: d.faults.records.length }));
  const summary = {
    scenario: scenario.name,
    simulated_s: simulation.time_s,
    wall_s,
    speedup: simulation.time_s / wall_s,
    pack: {
      plantVoltage_V: simulation.plant.packVoltage_V(),
      plantCurrent_A: simulation.plant.packCurrent_A(),
      controllerVoltage_V: c.packVoltage_mV() / 1000,
      controllerCurrent_A: c.packCurrent_mA() / 1000,
      sumOfModules_V: c.sumModuleVoltage_mV() / 1000,
      modulesEnumerated: c.moduleCount(),
      modulesFresh: c.freshModuleCount(),
      minModule: { position: c.minModuleIndex(), voltage_V: c.minModuleVoltage_mV() / 1000 },
      maxModule: { position: c.maxModuleIndex(), voltage_V: c.maxModuleVoltage_mV() / 1000 },
    },
    bus: {
      frames: simulation.bus.framesDelivered,
      load: simulation.busLoad(),
      accepted: c.framesAccepted(),
      rejected: c.framesRejectedCrc() + c.framesRejectedCounter() + c.framesRejectedLength() + c.framesRejectedSource(),
    },
    modules,
    traps,
    faults: faults.filter((f) => f.faults > 0),
  };
  await recorder.close(summary);
  const flashOut = options.get("flash-out");
  if (flashOut !== undefined) {
    const dir = resolve(flashOut);
    mkdirSync(dir, { recursive: true });
    const exportedAt_s = Math.floor(DEFAULT_EPOCH_s + simulation.time_s);
    for (const node of simulation.nodes) {
      writeFileSync(join(dir, `${node.serial()}.bin`), node.flash.snapshot());
      if (simulation.scenario.pack.model === "ecm") {
        const passport = passportFromImage({
          image: passportImageOf(node as never), blob: decodeCellBlob(node.flash.data.subarray(0, node.flash.sectorSize - IDENTITY_BLOCK_BYTES)),
          serial: node.serial(), exportedAt_s,
        });
        writeFileSync(join(dir, `${node.serial()}.passport.json`), JSON.stringify(passport, null, 2) + "\n");
      }
    }
  }

  if (quiet) {
    console.log(outDir);
    return;
  }
  const lines: string[] = [];
  lines.push(`Strata simulation '${scenario.name}': ${scenario.description ?? ""}`);
  lines.push(`  simulated ${fmt(simulation.time_s, 1)} s in ${fmt(wall_s, 2)} s wall (${fmt(summary.speedup, 0)}x real time), ${simulation.nodes.length} nodes + controller`);
  lines.push(`  pack   plant ${fmt(summary.pack.plantVoltage_V, 3)} V ${fmt(summary.pack.plantCurrent_A, 2)} A | controller ${fmt(summary.pack.controllerVoltage_V, 3)} V ${fmt(summary.pack.controllerCurrent_A, 2)} A | sum of modules ${fmt(summary.pack.sumOfModules_V, 3)} V`);
  lines.push(`  modules enumerated ${c.moduleCount()}/${scenario.pack.modules}, reporting ${c.freshModuleCount()}; min ${fmt(summary.pack.minModule.voltage_V, 4)} V (address ${c.minModuleIndex() + 1}), max ${fmt(summary.pack.maxModule.voltage_V, 4)} V (address ${c.maxModuleIndex() + 1})`);
  lines.push(`  bus    ${summary.bus.frames} frames, load ${fmt(summary.bus.load * 100, 2)} %, controller accepted ${summary.bus.accepted}, rejected ${summary.bus.rejected}`);
  lines.push("");
  lines.push("  pos  serial        addr   plant V   node V  ctrl V    node A  node degC  plant SOC   node SOC (1-sigma)   capacity plant/node Ah");
  for (const m of modules) {
    lines.push(
      `  ${String(m.position).padStart(3)}  ${m.serial}  ${String(m.address).padStart(4)}  ${fmt(m.plantVoltage_V, 4).padStart(8)}  ${fmt(m.nodeVoltage_V, 4).padStart(7)}  ${fmt(m.controllerVoltage_V, 4).padStart(6)}  ${fmt(m.nodeCurrent_A, 2).padStart(8)}  ${fmt(m.nodeTemperature_C, 1).padStart(9)}  ${fmt(m.plantSoc * 100, 2).padStart(8)} %  ${fmt(m.nodeSoc * 100, 2).padStart(7)} % (${fmt(m.nodeSocSigma * 100, 2)} %)  ${fmt(m.plantCapacity_Ah, 2).padStart(7)} / ${fmt(m.nodeCapacity_Ah, 2)}`,
    );
  }
  if (traps.length > 0) lines.push("", "  TRAPS:", ...traps.map((t) => `    ${t}`));
  lines.push("", `  log: ${recorder.path} (${recorder.rows} rows), summary: ${join(outDir, "summary.json")}`);
  console.log(lines.join("\n"));
  if (traps.length > 0) process.exitCode = 1;
}

function regroupCommand(args: string[]): void {
  const firstOption = args.findIndex((a) => a.startsWith("--"));
  const paths = firstOption < 0 ? args : args.slice(0, firstOption);
  const options = parseOptions(firstOption < 0 ? [] : args.slice(firstOption), {
    series: "value", parallel: "value", packs: "value", "min-soh": "value", "max-resistance-soh": "value", "max-soc-sigma": "value",
    chemistry: "value", "mixed-cells": "flag", weights: "value", "max-passes": "value", out: "value", strict: "flag", quiet: "flag",
  });
  if (paths.length === 0) throw new UsageError("regroup needs at least one passport file or folder");
  const whole = (name: string, min: number): number | undefined => {
    const text = options.get(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} takes a whole number >= ${min}, got '${text}'`);
    return value;
  };
  const number = (name: string, fallback: number, positive = false): number => {
    const text = options.get(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value) || value < 0 || (positive && value === 0)) {
      throw new UsageError(`--${name} takes a number ${positive ? ">" : ">="} 0, got '${text}'`);
    }
    return value;
  };
  const series = whole("series", 1);
  if (series === undefined) throw new UsageError("regroup needs --series S");
  const weightsText = options.get("weights");
  let weights = REGROUP_DEFAULTS.weights;
  if (weightsText !== undefined) {
    const parts = weightsText.split(",").map(Number);
    if (parts.length !== 3 || parts.some((w) => !Number.isFinite(w) || w < 0) || parts.every((w) => w === 0)) {
      throw new UsageError(`--weights takes three numbers >= 0, not all 0, as C,R,H, got '${weightsText}'`);
    }
    weights = { capacity: parts[0]!, resistance: parts[1]!, soh: parts[2]! };
  }
  const settings = {
    series,
    parallel: whole("parallel", 1) ?? REGROUP_DEFAULTS.parallel,
    packs: whole("packs", 1) ?? null,
    minCapacitySoh: number("min-soh", REGROUP_DEFAULTS.minCapacitySoh),
    maxResistanceSoh: number("max-resistance-soh", REGROUP_DEFAULTS.maxResistanceSoh, true),
    maxSocSigma: number("max-soc-sigma", REGROUP_DEFAULTS.maxSocSigma),
    chemistry: options.get("chemistry") ?? null,
    matchCell: !options.has("mixed-cells"),
    weights,
    maxPasses: whole("max-passes", 0) ?? REGROUP_DEFAULTS.maxPasses,
  };

  const { passports, rejected } = readPassports(paths, { strict: options.has("strict") });
  const result = regroup(passports, settings, rejected);
  const out = resolve(options.get("out") ?? join(repoRoot, "out", "regroup", "assignment.json"));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(assignmentDocument(result), null, 2)}\n`);
  if (rejected.length > 0) console.error(`strata: ${rejected.length} invalid passport(s) set aside; the report names each file and field`);
  console.log(options.has("quiet") ? out : formatReport(result, out));
}

function passportCommand(args: string[]): void {
  const options = parseOptions(args, { image: "value", serial: "value", public: "flag", out: "value" });
  const imagePath = options.get("image");
  const serial = options.get("serial");
  if (imagePath === undefined || serial === undefined) throw new UsageError("passport needs --image FILE and --serial HEX");
  const passport = passportFromFlashImage(readFlashImage(resolve(imagePath)), serial.toLowerCase(), Math.floor(Date.now() / 1000));
  const text = JSON.stringify(options.has("public") ? publicView(passport) : passport, null, 2) + "\n";
  const out = options.get("out");
  if (out === undefined) process.stdout.write(text);
  else writeFileSync(resolve(out), text);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "sim":
        await sim(rest);
        return process.exitCode === 1 ? 1 : 0;
      case "regroup":
        regroupCommand(rest);
        return 0;
      case "passport":
        passportCommand(rest);
        return 0;
      case undefined:
      case "help":
      case "--help":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`strata: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`strata: ${(err as Error).message}`);
    return 1;
  }
}

