// Node side of passive balancing: executes one BALANCE_COMMAND on the module's bleed resistor.
//
// The command says how much charge to remove (and the largest duty cycle); the node duty-cycles
// the BALANCE_SWITCH at its tick rate with a first-order sigma-delta modulator (the switch is on
// in the ticks where the accumulated duty crosses 1, so the average over any n ticks is within
// 1/n of the duty), integrates the charge it removed as V / R over each tick the switch was on
// (V the module voltage measured at the end of that tick, with the bleed current flowing; R the
// board's bleed resistor), and stops by itself once it has removed the commanded charge. Charge
// and energy are summed in integers (uA s, uJ), so a long bleed loses no increments to f32
// rounding. It also stops
//   - when the command is not refreshed within commandTimeout_ms (stale: the controller, the bus
//     or the plan is gone) or the caller reports the link lost (bus-off);
//   - above the board temperature limit (BOARD_TEMPERATURE, the NTC beside the resistor), after a
//     linear duty derating from derateStart_C, and stays off until resume_C;
//   - below minVoltage_V (independent of the controller's own guard), with hysteresis;
//   - on an invalid voltage or board temperature.
// Accuracy of the integrated charge: the resistor's tolerance and temperature coefficient (a
// typical 2512 thick-film part: 1-5 %, 100-200 ppm/K, i.e. about 1 % more at 80 degC) and the
// switch's on-resistance (tens of milliohm against 33 ohm) bias it; that is why the controller
// plans from the node's SOC estimate, which must count the bleed current (lastBleedCurrent_A).

/** Executor state, reported in the high nibble of BALANCE_REPORT byte 1; lower values are the normal ones. */
export namespace BleedState {
  /** No plan, or a plan of zero charge or zero duty. */
  export const IDLE: i32 = 0;
  export const BLEEDING: i32 = 1;
  /** Bleeding at a duty lowered by the board temperature. */
  export const DERATED: i32 = 2;
  /** The commanded charge has been removed. */
  export const DONE: i32 = 3;
  /** No command refresh within the timeout. */
  export const STALE: i32 = 4;
  /** The caller reported the bus link lost. */
  export const LINK_LOST: i32 = 5;
  export const THERMAL_STOP: i32 = 6;
  export const VOLTAGE_LOW: i32 = 7;
  /** Module voltage or board temperature not valid. */
  export const INPUT_INVALID: i32 = 8;
}

export class BleedExecutorConfig {
  /**
   * Board temperature where the duty derating starts, degC: the board sits on the module, and 60 degC
   * is the usual upper discharge temperature of Li-ion cells (e.g. Panasonic NCR18650B: -20..60 degC),
   * so above it the bleed heat is no longer welcome next to the cells.
   */
  derateStart_C: f32 = 60.0;
  /**
   * Stop temperature, degC: 5 degC below the 85 degC maximum ambient of an industrial-range MCU
   * (ST DS8626, STM32F405/407, suffix 6: -40..85 degC). The resistor is not the binding limit: a
   * 2512 thick-film chip is rated 1 W at 70 degC, derated linearly to 0 W at 155 degC (the usual
   * IEC 60115-1 curve), so the 0.53 W of 33 ohm at 4.2 V stays inside the curve up to
   * 155 - 0.53 x 85 = 110 degC.
   */
  stop_C: f32 = 80.0;
  /** After a thermal stop the bleed resumes at or below this, degC (hysteresis). */
  resume_C: f32 = 75.0;
  /**
   * A command not refreshed for this long is stale, ms: the controller refreshes every 1000 ms, so
   * two consecutive lost refreshes are tolerated and the third stops the bleed.
   */
  commandTimeout_ms: i64 = 3000;
  /** No bleeding below this module voltage, V: foxBMS NMC minimum operating limit (2600 mV, assembly/protection/limits.ts). */
  minVoltage_V: f32 = 2.6;
  /** Resumes above minVoltage_V + this, V: the protection's voltage hysteresis (20 mV, assembly/protection/limits.ts). */
  voltageHysteresis_V: f32 = 0.02;
}

/** Plausible board temperature, degC: the NTC parts' range (as the node's measurement check, -40..125 degC). */
const BOARD_TEMPERATURE_MIN_C: f32 = -40.0;
const BOARD_TEMPERATURE_MAX_C: f32 = 125.0;
/** Largest charge a command is taken for, mAh: far above the message's 6553.5 mAh, and keeps the i64 conversion in range. */
const COMMAND_CHARGE_MAX_mAh: f32 = 1.0e6;
/** micro-units per unit, for the integer accumulators. */
const MICRO: f32 = 1.0e6;
/** uA s per mAh. */
const uAs_PER_mAh: f32 = 3.6e6;

export class BleedExecutor {
  readonly config: BleedExecutorConfig;
  /** The board's bleed resistor, ohm (board_config BALANCE_RESISTANCE_Ohm). */
  readonly resistance_Ohm: f32;

  // The plan in force.
  private sequence: i32 = -1;
  private commandedCharge_uAs: i64 = 0;
  private commandedDuty: f32 = 0.0;
  private lastCommand_ms: i64 = -1;

  // Integration.
  private lastTick_ms: i64 = -1;
  private lastVoltage_V: f32 = NaN;
  private planCharge_uAs: i64 = 0;
  private totalCharge_uAs: i64 = 0;
  private totalEnergy_uJ: i64 = 0;
  private modulator: f32 = 0.0;
  private thermalStopped: bool = false;
  private voltageLow: bool = false;

  /** The switch state the caller is to apply now (true = resistor across the module). */
  switchOn: bool = false;
  /** BleedState of the last tick. */
  state: i32 = BleedState.IDLE;
  /** Duty in force after the thermal derating, 0..1. */
  duty: f32 = 0.0;
  /** Thermal derating factor of the last tick, 0..1. */
  thermalFactor: f32 = 1.0;
  /**
   * Mean bleed current over the last tick, A (>= 0). The module's SOC estimator must add it to the
   * measured module current (the shunt does not see the bleed path): otherwise the SOC never shows
   * the bleed and the controller keeps commanding it.
   */
  lastBleedCurrent_A: f32 = 0.0;

  constructor(resistance_Ohm: f32, config: BleedExecutorConfig) {
    this.resistance_Ohm = resistance_Ohm;
    this.config = config;
  }

  /**
   * A BALANCE_COMMAND arrived (after its E2E check). A sequence different from the plan in force
   * starts a new plan whose charge is counted from zero; the same sequence refreshes the timeout and
   * may change the charge and duty of the plan in force. charge_mAh <= 0 or duty <= 0 stops.
   */
  command(charge_mAh: f32, duty: f32, sequence: i32, now_ms: i64): void {
    if (sequence != this.sequence) {
      this.sequence = sequence;
      this.planCharge_uAs = 0;
    }
    const charge = charge_mAh > 0 ? (charge_mAh < COMMAND_CHARGE_MAX_mAh ? charge_mAh : COMMAND_CHARGE_MAX_mAh) : <f32>0.0;
    this.commandedCharge_uAs = <i64>Mathf.round(charge * uAs_PER_mAh);
    this.commandedDuty = duty > 0 ? (duty < 1 ? duty : <f32>1.0) : <f32>0.0;
    this.lastCommand_ms = now_ms;
  }

  /**
   * One node tick: books the charge of the interval since the previous tick (with the switch state
   * that held over it), then decides the switch state for the next interval. Returns switchOn.
   * linkUp: false when the node's bus is off (bus_status), which stops the bleed at once.
   */
  tick(now_ms: i64, voltage_V: f32, boardTemperature_C: f32, linkUp: bool): bool {
    const c = this.config;
    const voltageValid = voltage_V > 0 && isFinite(voltage_V);
    this.lastBleedCurrent_A = 0.0;
    if (this.lastTick_ms >= 0 && now_ms > this.lastTick_ms && this.switchOn) {
      // The switch was closed: count it even if this tick's voltage is bad (the last good one then).
      const v = voltageValid ? voltage_V : this.lastVoltage_V;
      if (v > 0) {
        const seconds = <f32>(now_ms - this.lastTick_ms) / <f32>1000.0;
        const current = v / this.resistance_Ohm;
        const charge = <i64>Mathf.round(current * seconds * MICRO);
        this.planCharge_uAs += charge;
        this.totalCharge_uAs += charge;
        this.totalEnergy_uJ += <i64>Mathf.round(v * current * seconds * MICRO);
        this.lastBleedCurrent_A = current;
      }
    }
    if (now_ms > this.lastTick_ms) this.lastTick_ms = now_ms;
    if (voltageValid) this.lastVoltage_V = voltage_V;

    // Thermal: linear derating to 0 at stop_C, latched off until resume_C.
    const temperatureValid = boardTemperature_C >= BOARD_TEMPERATURE_MIN_C && boardTemperature_C <= BOARD_TEMPERATURE_MAX_C;
    let factor: f32 = 0.0;
    if (temperatureValid) {
      if (boardTemperature_C >= c.stop_C) this.thermalStopped = true;
      else if (boardTemperature_C <= c.resume_C) this.thermalStopped = false;
      if (boardTemperature_C <= c.derateStart_C) factor = 1.0;
      else if (boardTemperature_C < c.stop_C) factor = (c.stop_C - boardTemperature_C) / (c.stop_C - c.derateStart_C);
    }
    this.thermalFactor = factor;
    if (voltageValid) {
      if (voltage_V < c.minVoltage_V) this.voltageLow = true;
      else if (voltage_V >= c.minVoltage_V + c.voltageHysteresis_V) this.voltageLow = false;
    }

    let state = BleedState.BLEEDING;
    if (this.lastCommand_ms < 0 || this.commandedCharge_uAs <= 0 || this.commandedDuty <= 0) state = BleedState.IDLE;
    else if (!linkUp) state = BleedState.LINK_LOST;
    else if (now_ms - this.lastCommand_ms > c.commandTimeout_ms) state = BleedState.STALE;
    else if (!voltageValid || !temperatureValid) state = BleedState.INPUT_INVALID;
    else if (this.thermalStopped) state = BleedState.THERMAL_STOP;
    else if (this.voltageLow) state = BleedState.VOLTAGE_LOW;
    else if (this.planCharge_uAs >= this.commandedCharge_uAs) state = BleedState.DONE;
    else if (factor < 1) state = BleedState.DERATED;

    let on = false;
    if (state == BleedState.BLEEDING || state == BleedState.DERATED) {
      this.duty = this.commandedDuty * factor;
      this.modulator += this.duty;
      if (this.modulator >= 1) {
        this.modulator -= 1;
        on = true;
      }
    } else {
      this.duty = 0.0;
      this.modulator = 0.0;
    }
    this.state = state;
    this.switchOn = on;
    return on;
  }

  /** Sequence of the plan in force (-1 before the first command). */
  get planSequence(): i32 { return this.sequence; }
  /** Charge the plan in force asks for, mAh. */
  get commandedCharge_mAh(): f32 { return <f32>this.commandedCharge_uAs / uAs_PER_mAh; }
  /** Charge removed under the plan in force, mAh. */
  get planRemoved_mAh(): f32 { return <f32>this.planCharge_uAs / uAs_PER_mAh; }
  /** Charge removed since start-up, mAh. */
  get totalRemoved_mAh(): f32 { return <f32>this.totalCharge_uAs / uAs_PER_mAh; }
  /** Energy dissipated in the bleed resistor since start-up, J. */
  get totalEnergy_J(): f32 { return <f32>this.totalEnergy_uJ / MICRO; }
  /** Energy counter in whole joules modulo 2^16, for BALANCE_REPORT bytes 6-7 (the controller sums the differences). */
  get energyCounter_J(): u16 { return <u16>(this.totalEnergy_uJ / 1000000); }
}
