// Enumeration benchmark (issue "Bus protocol, self-ordering"): time for the daisy chain to give
// every module its address, against the lower bound the bus sets (each node needs one
// ADDRESS_REQUEST and one ADDRESS_ASSIGN on the wire, nothing can overlap on one CAN bus).
import { validateScenario } from "../host/scenarios/scenario.ts";
import { Simulation } from "../host/sim.ts";
import { worstCaseFrameBits } from "../host/peripherals/bus.ts";

const ADDRESS_REQUEST = 0x01;
const ADDRESS_ASSIGN = 0x02;

export function enumerationTime(modules: number, seed: number): { time_ms: number; bound_ms: number; ok: boolean } {
  const sim = new Simulation(validateScenario({
    name: "enum-bench", seed, duration_s: 5,
    pack: { modules, model: "linear", capacity_Ah: 50 },
    load: [{ type: "rest", duration_s: 5 }],
  }, "enumeration bench"));
  let first_us = Number.NaN;
  let last_us = Number.NaN;
  let assigns = 0;
  sim.bus.tamper = (frame, end_us) => {
    const type = (frame.id >>> 18) & 0xff;
    if (type === ADDRESS_REQUEST && Number.isNaN(first_us)) first_us = frame.queued_us;
    if (type === ADDRESS_ASSIGN) {
      assigns++;
      last_us = end_us;
    }
    return frame;
  };
  for (let i = 0; i < 50 && sim.controller.exports.moduleCount() < modules; i++) sim.step();
  const ok = sim.nodes.every((n, i) => n.exports.nodeAddress() === i + 1) && assigns >= modules;
  const bitTime_us = 1e6 / sim.bus.bitrate_bps;
  const bound_ms = (modules * 2 * worstCaseFrameBits(8) * bitTime_us) / 1000;
  return { time_ms: (last_us - first_us) / 1000, bound_ms, ok };
}

export function runEnumerationBench(): { rows: string[] } {
  const rows: string[] = [
    "| modules | enumeration time (first request to last assignment) | bus lower bound (2 worst-case frames per node at 500 kbit/s) | ratio | order correct |",
    "|---|---|---|---|---|",
  ];
  for (const modules of [1, 12, 48, 96, 192, 256]) {
    const r = enumerationTime(modules, 1000 + modules);
    rows.push(`| ${modules} | ${r.time_ms.toFixed(2)} ms | ${r.bound_ms.toFixed(2)} ms | ${(r.time_ms / r.bound_ms).toFixed(2)} | ${r.ok ? "yes" : "NO"} |`);
  }
  return { rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of runEnumerationBench().rows) console.log(row);
}
