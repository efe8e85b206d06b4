// Shared pieces of the controller tests (not a test file itself): scenarios, fault codes, frame
// capture on either bus.
import { validateScenario, type Scenario } from "../../../host/scenarios/scenario.ts";
import { loadAbi } from "../../../host/abi.ts";
import type { CanBus, Frame } from "../../../host/peripherals/bus.ts";
import type { Simulation } from "../../../host/sim.ts";

export const faultCode = (name: string): number => {
  const code = loadAbi().faultCodes.find((f) => f.name === name);
  if (code === undefined) throw new Error(`no fault code ${name}`);
  return code.value;
};

/** Controller fault reports with this code. */
export function controllerFaults(sim: Simulation, name: string): { time_ms: number; detail: number }[] {
  const code = faultCode(name);
  return sim.controller.faults.records.filter((r) => r.code === code);
}

/** An LG M50 pack of `modules` x 2 cells whose contactors the BMS controls, resting unless told otherwise. */
export function packScenario(overrides: Record<string, unknown> = {}): Scenario {
  return validateScenario({
    name: "controller", seed: 17, duration_s: 10, contactors: "controlled",
    pack: { modules: 4, model: "ecm", cell: "lg-inr21700-m50", parallel: 2, initialSoc: 0.6 },
    load: [{ type: "rest", duration_s: 10 }],
    ...overrides,
  }, "controller");
}

/** Message type of a module-bus identifier (docs/protocol.md). */
export const typeOf = (id: number): number => (id >>> 18) & 0xff;
export const sourceOf = (id: number): number => id & 0x1ff;

/** Records every completed frame of a bus (after any earlier tamper). */
export function captureFrames(bus: CanBus): Frame[] {
  const frames: Frame[] = [];
  const previous = bus.tamper;
  bus.tamper = (frame, end_us) => {
    const out = previous === null ? frame : previous(frame, end_us);
    if (out !== null) frames.push({ ...out, data: out.data.slice() });
    return out;
  };
  return frames;
}
