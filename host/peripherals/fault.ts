// fault_report / fault_abort: what a board's fault LED and log would show.
import type { Peripheral, HalImport } from "./types.ts";
import type { SimClock } from "./clock.ts";

export interface FaultRecord {
  time_ms: number;
  code: number;
  detail: number;
  fatal: boolean;
  line?: number;
  column?: number;
}

export class FaultPeripheral implements Peripheral {
  readonly group = "fault";
  readonly records: FaultRecord[] = [];
  /** Bound on the log so a firmware that reports every tick cannot exhaust host memory. */
  readonly capacity: number;
  dropped = 0;

  constructor(private readonly clock: SimClock, capacity = 10000) {
    this.capacity = capacity;
  }

  private push(record: FaultRecord): void {
    if (this.records.length < this.capacity) this.records.push(record);
    else this.dropped++;
  }

  imports(): Record<string, HalImport> {
    return {
      fault_report: (code: number, detail: number): void => {
        this.push({ time_ms: this.clock.now_ms, code, detail, fatal: false });
      },
      fault_abort: (code: number, line: number, column: number): void => {
        this.push({ time_ms: this.clock.now_ms, code, detail: 0, fatal: true, line, column });
      },
    };
  }

  count(code: number): number {
    return this.records.filter((r) => r.code === code).length;
  }
}
