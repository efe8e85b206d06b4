// The run log: one CSV row per recorded step with the plant's truth beside what the firmware
// reports, plus a JSON summary at the end. Columns are documented in docs/scenarios.md.
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import type { Simulation } from "./sim.ts";

export interface ModuleView {
  position: number;
  serial: string;
  address: number;
  plantVoltage_V: number;
  plantSoc: number;
  plantTemperature_C: number;
  nodeVoltage_V: number;
  nodeCurrent_A: number;
  nodeTemperature_C: number;
  nodeSoc: number;
  nodeSocSigma: number;
  nodeCapacity_Ah: number;
  plantCapacity_Ah: number;
  controllerVoltage_V: number;
  controllerTemperature_C: number;
}

export function moduleViews(sim: Simulation): ModuleView[] {
  const c = sim.controller.exports;
  return sim.nodes.map((node, i) => {
    const index = sim.controllerIndexOf(node);
    return {
      position: i,
      serial: node.serial(),
      address: node.exports.nodeAddress(),
      plantVoltage_V: sim.plant.moduleVoltage_V(i),
      plantSoc: sim.plant.moduleSoc(i),
      plantTemperature_C: sim.plant.moduleTemperature_C(i),
      nodeVoltage_V: node.exports.moduleVoltage_mV() / 1000,
      nodeCurrent_A: node.exports.moduleCurrent_mA() / 1000,
      nodeTemperature_C: node.exports.moduleTemperature_C(),
      nodeSoc: node.exports.socEstimate(),
      nodeSocSigma: node.exports.socSigma(),
      nodeCapacity_Ah: node.exports.capacityEstimate_Ah(),
      plantCapacity_Ah: sim.plant.moduleCapacity_Ah(i),
      controllerVoltage_V: c.moduleVoltage_mV(index) / 1000,
      controllerTemperature_C: c.moduleTemperature_C(index),
    };
  });
}

export class CsvRecorder {
  private readonly stream: WriteStream;
  readonly path: string;
  rows = 0;

  constructor(readonly outDir: string, private readonly sim: Simulation, private readonly every: number) {
    mkdirSync(outDir, { recursive: true });
    this.path = join(outDir, "run.csv");
    this.stream = createWriteStream(this.path);
    const header = [
      "time_s", "plant_pack_current_A", "plant_pack_voltage_V",
      "ctrl_pack_current_A", "ctrl_pack_voltage_V", "ctrl_sum_module_voltage_V",
      "ctrl_min_module_voltage_V", "ctrl_max_module_voltage_V", "ctrl_fresh_modules", "bus_load",
    ];
    for (let i = 0; i < sim.plant.moduleCount; i++) {
      header.push(
        `plant_soc_${i}`, `plant_voltage_V_${i}`, `plant_temperature_C_${i}`, `plant_capacity_Ah_${i}`, `plant_r0_mOhm_${i}`,
        `ctrl_voltage_V_${i}`, `ctrl_temperature_C_${i}`,
        `node_soc_${i}`, `node_soc_sigma_${i}`, `node_soc_baseline_${i}`, `node_capacity_Ah_${i}`, `node_r0_mOhm_${i}`,
      );
    }
    this.stream.write(header.join(",") + "\n");
  }

  record(): void {
    const sim = this.sim;
    if (sim.steps % this.every !== 0) return;
    const c = sim.controller.exports;
    const row: (number | string)[] = [
      sim.time_s.toFixed(3),
      sim.plant.packCurrent_A().toFixed(4),
      sim.plant.packVoltage_V().toFixed(5),
      (c.packCurrent_mA() / 1000).toFixed(4),
      (c.packVoltage_mV() / 1000).toFixed(5),
      (c.sumModuleVoltage_mV() / 1000).toFixed(5),
      (c.minModuleVoltage_mV() / 1000).toFixed(5),
      (c.maxModuleVoltage_mV() / 1000).toFixed(5),
      c.freshModuleCount(),
      sim.busLoad().toFixed(5),
    ];
    for (let i = 0; i < sim.nodes.length; i++) {
      const index = sim.controllerIndexOf(sim.nodes[i]!);
      row.push(
        sim.plant.moduleSoc(i).toFixed(6),
        sim.plant.moduleVoltage_V(i).toFixed(5),
        sim.plant.moduleTemperature_C(i).toFixed(3),
        sim.plant.moduleCapacity_Ah(i).toFixed(4),
        (sim.plant.moduleResistance0_Ohm(i) * 1000).toFixed(4),
        (c.moduleVoltage_mV(index) / 1000).toFixed(5),
        c.moduleTemperature_C(index).toFixed(2),
      );
      const n = sim.nodes[i]!.exports;
      row.push(
        n.socEstimate().toFixed(5), n.socSigma().toFixed(5), n.socBaseline().toFixed(5), n.capacityEstimate_Ah().toFixed(3),
        (n.resistanceEstimate_Ohm(sim.plant.moduleSoc(i), sim.plant.moduleTemperature_C(i)) * 1000).toFixed(4),
      );
    }
    this.stream.write(row.join(",") + "\n");
    this.rows++;
  }

  async close(summary: object): Promise<void> {
    await new Promise<void>((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    writeFileSync(join(this.outDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  }
}

/**
 * Writes the plant's measurable quantities in the trace format (docs/scenarios.md, "Trace
 * files"), so any run can be replayed through the firmware, as a bench log would be.
 */
export class TraceRecorder {
  private readonly stream: WriteStream;

  constructor(readonly path: string, private readonly sim: Simulation, private readonly every: number) {
    this.stream = createWriteStream(path);
    const n = sim.plant.moduleCount;
    const header = ["time_s", "current_A"];
    for (let i = 0; i < n; i++) header.push(`voltage_V_${i}`);
    for (let i = 0; i < n; i++) header.push(`temperature_C_${i}`);
    this.stream.write(`# trace written by strata sim from scenario '${sim.scenario.name}' (seed ${sim.scenario.seed}): plant values, not a measurement\n`);
    this.stream.write(header.join(",") + "\n");
    this.row();
  }

  private row(): void {
    const sim = this.sim;
    const p = sim.plant;
    const fields = [sim.time_s.toFixed(3), p.packCurrent_A().toFixed(5)];
    for (let i = 0; i < p.moduleCount; i++) fields.push(p.moduleVoltage_V(i).toFixed(6));
    for (let i = 0; i < p.moduleCount; i++) fields.push(p.moduleTemperature_C(i).toFixed(4));
    this.stream.write(fields.join(",") + "\n");
  }

  record(): void {
    if (this.sim.steps % this.every === 0) this.row();
  }

  close(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
