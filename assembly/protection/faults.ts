// Fault types and severity levels shared by protection, the contactor sequencer and the vehicle
// interface (boards/vehicle/strata-vehicle.dbc, message BMS_Faults). docs/protection.md lists
// each fault with its limits, debounce and latching.

/**
 * Severity levels after foxBMS 2 (battery_cell_cfg.h, SOA module): maximum operating limit (MOL)
 * = WARNING, recommended safety limit (RSL) = DERATE, maximum safety limit (MSL) = OPEN.
 */
export namespace FaultLevel {
  export const NONE: i32 = 0;
  /** Outside the operating window: reported, nothing else changes. */
  export const WARNING: i32 = 1;
  /** Near the safety limit: the advertised current limits are reduced. */
  export const DERATE: i32 = 2;
  /** Safety limit violated: contactors open; latched until an explicit reset while safe. */
  export const OPEN: i32 = 3;
}

export namespace FaultType {
  export const OVER_VOLTAGE: i32 = 0;
  export const UNDER_VOLTAGE: i32 = 1;
  export const OVER_TEMPERATURE: i32 = 2;
  export const UNDER_TEMPERATURE: i32 = 3;
  export const OVER_CURRENT_CHARGE: i32 = 4;
  export const OVER_CURRENT_DISCHARGE: i32 = 5;
  export const MODULE_COMMUNICATION_LOST: i32 = 6;
  export const VOLTAGE_PLAUSIBILITY: i32 = 7;
  export const CURRENT_PLAUSIBILITY: i32 = 8;
  export const CONTACTOR_WELDED: i32 = 9;
  export const PRECHARGE_FAILED: i32 = 10;
}

export const FAULT_TYPE_COUNT: i32 = 11;

/**
 * Diagnostic code of a fault reaching a level: 0x1FL with F the fault type (one hex digit) and
 * L the level, e.g. 0x103 = OVER_VOLTAGE at OPEN, 0x192 = CONTACTOR_WELDED at DERATE.
 */
export function diagnosticCode(fault: i32, level: i32): i32 {
  return 0x100 | ((fault & 0xf) << 4) | (level & 0xf);
}
