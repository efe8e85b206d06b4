// The vehicle's side of the vehicle bus in the harness: a VCU that sends its commands and the time
// (VCU_Command, VCU_Time) and decodes what the BMS sends with an independent DBC parser (candied)
// reading boards/vehicle/strata-vehicle.dbc, so the firmware's encoding is checked against the
// DBC on every run.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Dbc, Can } from "candied";
import { repoRoot } from "../abi.ts";
import { BusPort, type CanBus } from "../peripherals/bus.ts";
import { e2eProtect, e2eValid } from "./e2e.ts";

/** Wall-clock time at simulated time 0 unless a scenario says otherwise: 2026-01-01T00:00:00Z. */
export const DEFAULT_EPOCH_s = 1_767_225_600;
/** The vehicle takes the BMS limits as zero when they are missing or older than this (docs/vehicle-interface.md). */
const LIMITS_TIMEOUT_s = 0.5;
export const VCU_COMMAND_ID = 0x110;
export const VCU_TIME_ID = 0x111;
const E2E_MESSAGES = new Set(["BMS_Faults", "BMS_PackStatus", "BMS_ContactorStatus", "BMS_DischargeLimits", "BMS_ChargeLimits", "BMS_VoltageLimits"]);

export type ContactorRequest = "open" | "close";
export type ChargeMode = "drive" | "ac-charge" | "dc-charge" | "parked";
const CHARGE_MODE: Record<ChargeMode, number> = { drive: 0, "ac-charge": 1, "dc-charge": 2, parked: 3 };

export interface DecodedMessage {
  time_s: number;
  signals: Map<string, number>;
}

export class VehicleEcu {
  readonly port: BusPort;
  private readonly can = new Can();
  /** Latest raw frame of each identifier; decoded when asked (decoding every frame costs more than the rest of the harness). */
  private readonly raw = new Map<number, { payload: Uint8Array; time_us: number }>();
  private readonly decoded = new Map<number, DecodedMessage>();
  private readonly ids = new Map<string, number>();
  /** Frames from the BMS whose E2E check failed or that the DBC does not know. */
  rejected = 0;
  contactorRequest: ContactorRequest = "open";
  faultReset = false;
  chargeMode: ChargeMode = "drive";
  speed_kmh = 0;
  /** Wall-clock time at simulated time 0, s since 1970 (0 = the vehicle does not know the time). */
  epoch_s: number;
  private counter = 0;
  private lastCommand_ms = -Infinity;
  private lastTime_ms = -Infinity;

  constructor(bus: CanBus, epoch_s = DEFAULT_EPOCH_s) {
    this.epoch_s = epoch_s;
    this.port = new BusPort(bus, "vcu", 16);
    const dbc = new Dbc();
    const data = dbc.load(readFileSync(join(repoRoot, "boards", "vehicle", "strata-vehicle.dbc"), "utf8"), true);
    if (dbc.errors.size > 0) throw new Error("boards/vehicle/strata-vehicle.dbc does not parse");
    this.can.database = data;
    for (const [name, m] of data.messages) this.ids.set(name, m.id);
    this.port.onReceive((id, payload, time_us) => this.receive(id, payload, time_us));
  }

  private receive(id: number, payload: Uint8Array, time_us: number): void {
    this.raw.set(id, { payload, time_us });
    this.decoded.delete(id);
  }

  private decode(id: number): DecodedMessage | null {
    const cached = this.decoded.get(id);
    if (cached !== undefined) return cached;
    const frame = this.raw.get(id);
    if (frame === undefined) return null;
    const message = this.can.decode(this.can.createFrame(id, [...frame.payload]));
    if (message === undefined || (E2E_MESSAGES.has(message.name) && !e2eValid(id, frame.payload))) {
      this.rejected++;
      this.raw.delete(id);
      return null;
    }
    const signals = new Map<string, number>();
    for (const [name, bound] of message.boundSignals) signals.set(name, (bound as unknown as { value: number }).value);
    const decoded = { time_s: frame.time_us / 1e6, signals };
    this.decoded.set(id, decoded);
    return decoded;
  }

  /** The latest frame of a BMS message, decoded with the DBC; undefined if none arrived (or it failed its checks). */
  message(name: string): DecodedMessage | undefined {
    const id = this.ids.get(name);
    if (id === undefined) throw new Error(`the DBC has no message '${name}'`);
    return this.decode(id) ?? undefined;
  }

  /** Names of the BMS messages that arrived and passed the DBC and E2E checks. */
  receivedMessages(): string[] {
    const names: string[] = [];
    for (const [name, id] of this.ids) if (this.raw.has(id) && this.decode(id) !== null) names.push(name);
    return names;
  }

  signal(message: string, signal: string): number {
    return this.message(message)?.signals.get(signal) ?? Number.NaN;
  }

  /**
   * The pack current (A, positive = discharge) an inverter or charger that respects the BMS's 2-s
   * limits lets through when asked for current_A: 0 while the limit frame is missing or older than
   * LIMITS_TIMEOUT_s (docs/vehicle-interface.md).
   */
  limitedCurrent_A(current_A: number, now_s: number): number {
    if (current_A === 0) return 0;
    const discharge = current_A > 0;
    const frame = this.message(discharge ? "BMS_DischargeLimits" : "BMS_ChargeLimits");
    if (frame === undefined || now_s - frame.time_s > LIMITS_TIMEOUT_s) return 0;
    const limit = Math.max(0, frame.signals.get(discharge ? "MaxDischargeCurrent2s" : "MaxChargeCurrent2s") ?? 0);
    return discharge ? Math.min(current_A, limit) : Math.max(current_A, -limit);
  }

  /** Sends what is due at now_ms: VCU_Command every 100 ms, VCU_Time every 1000 ms. */
  tick(now_ms: number): void {
    if (now_ms - this.lastCommand_ms >= 100) {
      this.lastCommand_ms = now_ms;
      const data = new Uint8Array(8);
      data[1] = ((this.contactorRequest === "close" ? 1 : 0) << 4) | ((this.faultReset ? 1 : 0) << 6);
      data[2] = CHARGE_MODE[this.chargeMode];
      const speed = Math.max(-32768, Math.min(32767, Math.round(this.speed_kmh / 0.01)));
      data[3] = speed & 0xff;
      data[4] = (speed >> 8) & 0xff;
      e2eProtect(VCU_COMMAND_ID, data, this.counter);
      this.counter = this.counter >= 14 ? 0 : this.counter + 1;
      this.port.send(VCU_COMMAND_ID, data);
    }
    if (now_ms - this.lastTime_ms >= 1000) {
      this.lastTime_ms = now_ms;
      const data = new Uint8Array(8);
      const t = this.epoch_s === 0 ? 0 : Math.floor(this.epoch_s + now_ms / 1000);
      new DataView(data.buffer).setUint32(0, t >>> 0, true);
      this.port.send(VCU_TIME_ID, data);
    }
  }
}
