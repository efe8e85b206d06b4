// The timed fault schedule of a scenario: each event turns a knob of a peripheral, the bus or the
// plant at its time. Kinds and parameters are documented in docs/scenarios.md, "Faults".
import type { Simulation } from "../sim.ts";
import type { FaultEvent } from "./scenario.ts";
import type { Device, FirmwareExports } from "../devices.ts";

type Params = Record<string, unknown>;

function num(p: Params, key: string, fallback?: number): number {
  const v = p[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`fault parameter '${key}' must be a number`);
  return v;
}
function str(p: Params, key: string, fallback?: string): string {
  const v = p[key] ?? fallback;
  if (typeof v !== "string") throw new Error(`fault parameter '${key}' must be a string`);
  return v;
}

/** Every fault kind, the targets it applies to, and what it does. */
export const FAULT_KINDS: Record<string, { targets: ("node" | "controller" | "bus" | "module")[]; apply: (sim: Simulation, target: string, p: Params) => void }> = {
  "adc-offset": { targets: ["node", "controller"], apply: (sim, t, p) => { device(sim, t).adc.channelFaults(str(p, "channel")).offset_mV = num(p, "offset_mV"); } },
  "adc-gain": { targets: ["node", "controller"], apply: (sim, t, p) => { device(sim, t).adc.channelFaults(str(p, "channel")).gainError = num(p, "gainError"); } },
  "adc-noise": { targets: ["node", "controller"], apply: (sim, t, p) => { device(sim, t).adc.converter.noise_LSB = num(p, "noise_LSB"); } },
  "adc-stuck": { targets: ["node", "controller"], apply: (sim, t, p) => { device(sim, t).adc.channelFaults(str(p, "channel")).stuckCode = num(p, "code"); } },
  "adc-error": { targets: ["node", "controller"], apply: (sim, t, p) => { device(sim, t).adc.channelFaults(str(p, "channel")).errorCode = num(p, "code", -2); } },
  "adc-heal": {
    targets: ["node", "controller"],
    apply: (sim, t, p) => {
      const f = device(sim, t).adc.channelFaults(str(p, "channel"));
      f.offset_mV = 0; f.gainError = 0; f.noise_LSB = 0; f.stuckCode = null; f.errorCode = null;
    },
  },
  "current-sensor-offset": {
    targets: ["node", "controller"],
    apply: (sim, t, p) => {
      const d = device(sim, t);
      d.adc.currentSensor(t === "controller" ? "PACK_CURRENT" : "MODULE_CURRENT").model.offset_uV = num(p, "offset_uV");
    },
  },
  "thermistor-open": { targets: ["node"], apply: (sim, t) => { device(sim, t).adc.thermistor("MODULE_TEMPERATURE").open = true; } },
  "thermistor-short": { targets: ["node"], apply: (sim, t) => { device(sim, t).adc.thermistor("MODULE_TEMPERATURE").short = true; } },
  "disconnect": { targets: ["node", "controller"], apply: (sim, t) => { device(sim, t).port.connected = false; } },
  "reconnect": { targets: ["node", "controller"], apply: (sim, t) => { device(sim, t).port.connected = true; } },
  "reboot": { targets: ["node", "controller"], apply: (sim, t) => { device(sim, t).reboot(); } },
  "flash-power-loss": { targets: ["node", "controller"], apply: (sim, t, p) => { device(sim, t).flash.cutPowerDuring(num(p, "operation", 0), p["fraction"] as number | undefined); } },
  "flash-retention": { targets: ["node", "controller"], apply: (sim, t, p) => { device(sim, t).flash.flipRetentionBits(num(p, "bits", 1)); } },
  "frame-drop": {
    targets: ["node", "controller"],
    apply: (sim, t, p) => { device(sim, t).port.faults.drop = { probability: num(p, "probability") }; },
  },
  "wire-errors": { targets: ["bus"], apply: (sim, _t, p) => { sim.bus.wireErrors = { probability: num(p, "probability") }; } },
  "payload-corruption": {
    targets: ["bus"],
    apply: (sim, _t, p) => {
      sim.bus.payloadCorruption = {
        probability: num(p, "probability"),
        ...(p["byte"] !== undefined ? { byte: num(p, "byte") } : {}),
        ...(p["bit"] !== undefined ? { bit: num(p, "bit") } : {}),
      };
    },
  },
  "bus-heal": { targets: ["bus"], apply: (sim) => { sim.bus.wireErrors = null; sim.bus.payloadCorruption = null; } },
  "babble": {
    targets: ["node", "controller"],
    apply: (sim, t, p) => {
      const start_us = sim.clock.now_us;
      device(sim, t).port.babble = {
        id: num(p, "id", 0), data: new Uint8Array(8), interval_us: num(p, "interval_us", 0),
        start_us, stop_us: start_us + num(p, "duration_s", 1) * 1e6,
      };
    },
  },
  "balancing-stuck": { targets: ["node"], apply: (sim, t, p) => { sim.balancingSwitch(index(t)).setStuck(str(p, "state") as "open" | "closed"); } },
  "contactor-welded": { targets: ["controller"], apply: (sim, _t, p) => { sim.contactors[str(p, "contactor", "positive") as "positive" | "negative" | "precharge"].welded = true; } },
  "ambient": { targets: ["bus", "controller"], apply: (sim, _t, p) => { sim.ambient_C = num(p, "temperature_C"); } },
};

function index(target: string): number {
  const m = /^(?:node|module):(\d+)$/.exec(target);
  if (m === null) throw new Error(`fault target '${target}' is not a node or module`);
  return Number(m[1]);
}

function device(sim: Simulation, target: string): Device<FirmwareExports> {
  if (target === "controller") return sim.controller as unknown as Device<FirmwareExports>;
  const node = sim.nodes[index(target)];
  if (node === undefined) throw new Error(`fault target '${target}' does not exist`);
  return node as unknown as Device<FirmwareExports>;
}

/** Checks every event's kind and target before the run starts, naming the event. */
export function checkFaultEvents(events: FaultEvent[], source: string): void {
  const problems: string[] = [];
  events.forEach((e, i) => {
    const kind = FAULT_KINDS[e.kind];
    if (kind === undefined) {
      problems.push(`faults[${i}].kind: unknown kind '${e.kind}' (known: ${Object.keys(FAULT_KINDS).join(", ")})`);
      return;
    }
    const targetKind = e.target.split(":")[0] as "node" | "controller" | "bus" | "module";
    if (!kind.targets.includes(targetKind)) problems.push(`faults[${i}].target: '${e.kind}' applies to ${kind.targets.join(" or ")}, not ${targetKind}`);
  });
  if (problems.length > 0) throw new Error(`invalid scenario ${source}:\n${problems.map((s) => `  ${s}`).join("\n")}`);
}

/** Applies events in time order as the run reaches them. */
export class FaultSchedule {
  private readonly events: FaultEvent[];
  private next = 0;
  readonly applied: { time_s: number; event: FaultEvent }[] = [];

  constructor(events: FaultEvent[]) {
    this.events = [...events].sort((a, b) => a.at_s - b.at_s);
  }

  /** Applies every event due at or before time_s. */
  apply(sim: Simulation, time_s: number): void {
    while (this.next < this.events.length && this.events[this.next]!.at_s <= time_s + 1e-9) {
      const event = this.events[this.next++]!;
      FAULT_KINDS[event.kind]!.apply(sim, event.target, event.params ?? {});
      this.applied.push({ time_s, event });
    }
  }
}
