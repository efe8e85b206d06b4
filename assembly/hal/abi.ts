// GENERATED from assembly/hal/abi.json by `npm run gen:hal`. Do not edit by hand:
// tests/host/abi.test.ts fails when this file and abi.json disagree.

export const HAL_ABI_VERSION: i32 = 1;

/** Converts one logical ADC channel (see adcChannels) and returns the raw code, 0..2^bits-1. Negative on error: -1 unknown channel, -2 conversion timeout. */
@external("hal", "adc_read")
export declare function adc_read(channel: i32): i32;

/** Drives a logical output pin (see gpioPins): level 0 low, non-zero high. Unknown pins are ignored. */
@external("hal", "gpio_write")
export declare function gpio_write(pin: i32, level: i32): void;

/** Reads a logical input pin: 0 low, 1 high, -1 unknown pin. */
@external("hal", "gpio_read")
export declare function gpio_read(pin: i32): i32;

/** Queues one frame with a 29-bit identifier and 0..8 data bytes read from linear memory at data_ptr. 0 queued; -1 transmit queue full; -2 bad length or identifier; -3 controller bus-off. */
@external("hal", "bus_send")
export declare function bus_send(id: i32, data_ptr: i32, length: i32): i32;

/** Bus controller state: bits 0-7 receive error counter (saturated at 255), bits 8-15 transmit error counter (saturated at 255), bits 16-17 state (0 error-active, 1 error-passive, 2 bus-off), bits 24-31 frames waiting in the transmit queue. */
@external("hal", "bus_status")
export declare function bus_status(): i32;

/** Configures hardware acceptance filter slot 0..7: a received frame reaches busReceive only if (frame id & mask) == (id & mask) for some enabled slot; id = -1 disables the slot. With no slot enabled every frame is received (the state after reset). 0 ok; -1 no such slot; -2 id or mask outside 29 bits. */
@external("hal", "bus_filter")
export declare function bus_filter(slot: i32, id: i32, mask: i32): i32;

/** Controller: queues one frame on the vehicle bus (CAN 2.0A, 11-bit identifier 0..0x7FF, 0..8 data bytes; layouts in boards/vehicle/strata-vehicle.dbc). Return codes as bus_send. */
@external("hal", "vehicle_send")
export declare function vehicle_send(id: i32, data_ptr: i32, length: i32): i32;

/** Controller: vehicle-bus controller state, packed as bus_status. */
@external("hal", "vehicle_status")
export declare function vehicle_status(): i32;

/** Node: commands the module's bidirectional converter on the energy bus (active equalization): positive = the module delivers power to the bus, negative = it takes power from the bus, 0 = off. The converter clamps to its own limit. 0 ok; -1 the board has no converter. */
@external("hal", "converter_set")
export declare function converter_set(power_mW: i32): i32;

/** Copies length bytes of non-volatile memory starting at address into linear memory. 0 ok; -1 out of range. */
@external("hal", "flash_read")
export declare function flash_read(address: i32, data_ptr: i32, length: i32): i32;

/** Programs length bytes (NOR semantics: bits can only go from 1 to 0) at address, which must be aligned to the program unit. 0 ok; -1 out of range; -2 misaligned; -3 device failure. Blocks for the program time. */
@external("hal", "flash_program")
export declare function flash_program(address: i32, data_ptr: i32, length: i32): i32;

/** Erases one sector to all ones. 0 ok; -1 no such sector; -3 device failure. Blocks for the erase time. */
@external("hal", "flash_erase")
export declare function flash_erase(sector: i32): i32;

/** Monotonic microseconds since reset. For measuring elapsed time inside a tick; the tick itself receives now_ms. */
@external("hal", "clock_us")
export declare function clock_us(): i64;

/** Reports a non-fatal fault (see faultCodes) with one detail word. The board may log it, blink a LED or forward it. */
@external("hal", "fault_report")
export declare function fault_report(code: i32, detail: i32): void;

/** Fatal fault: the firmware traps right after this call. code is a faultCodes value; line/column locate the failed check in the source when known (0 otherwise). The board should reset the MCU into a safe state. */
@external("hal", "fault_abort")
export declare function fault_abort(code: i32, line: i32, column: i32): void;

/** Returns a board or unit constant (see configKeys) from the board definition. NaN when the board does not define the key. */
@external("hal", "board_config")
export declare function board_config(key: i32): f64;

/** AdcChannel */
export namespace AdcChannel {
  /** Node: module terminal voltage through the voltage divider. */
  export const MODULE_VOLTAGE: i32 = 0;
  /** Node: module current through the shunt amplifier (bidirectional, mid-scale at zero current). */
  export const MODULE_CURRENT: i32 = 1;
  /** Node: NTC thermistor on the cells, through a pull-up divider. */
  export const MODULE_TEMPERATURE: i32 = 2;
  /** Node: NTC thermistor beside the bleed resistor. */
  export const BOARD_TEMPERATURE: i32 = 3;
  /** Controller: pack voltage on the battery side of the contactors, through the HV divider. */
  export const PACK_VOLTAGE: i32 = 8;
  /** Controller: pack current through the pack shunt amplifier. */
  export const PACK_CURRENT: i32 = 9;
  /** Controller: DC-link voltage on the load side of the contactors (for precharge and weld detection). */
  export const LINK_VOLTAGE: i32 = 10;
}

/** GpioPin */
export namespace GpioPin {
  /** Node: closes the bleed resistor across the module. */
  export const BALANCE_SWITCH: i32 = 0;
  /** Node: daisy-chain select from the neighbour towards the controller. */
  export const CHAIN_SELECT_IN: i32 = 1;
  /** Node/controller: daisy-chain select to the next neighbour away from the controller. */
  export const CHAIN_SELECT_OUT: i32 = 2;
  /** Any board: status indicator. */
  export const STATUS_LED: i32 = 3;
  /** Controller: main positive contactor coil. */
  export const CONTACTOR_POSITIVE: i32 = 8;
  /** Controller: main negative contactor coil. */
  export const CONTACTOR_NEGATIVE: i32 = 9;
  /** Controller: precharge contactor coil. */
  export const CONTACTOR_PRECHARGE: i32 = 10;
  /** Controller: positive contactor auxiliary (feedback) contact. */
  export const CONTACTOR_POSITIVE_AUX: i32 = 11;
  /** Controller: negative contactor auxiliary (feedback) contact. */
  export const CONTACTOR_NEGATIVE_AUX: i32 = 12;
}

/** ConfigKey */
export namespace ConfigKey {
  /** ADC resolution. [bit] */
  export const ADC_BITS: i32 = 0;
  /** ADC full-scale reference voltage. [mV] */
  export const ADC_REFERENCE_mV: i32 = 1;
  /** Measured voltage / ADC input voltage on the voltage channel (MODULE_VOLTAGE or PACK_VOLTAGE). [1] */
  export const VOLTAGE_DIVIDER_RATIO: i32 = 2;
  /** Current shunt resistance. [uOhm] */
  export const SHUNT_RESISTANCE_uOhm: i32 = 3;
  /** Gain of the shunt amplifier. [V/V] */
  export const SHUNT_AMPLIFIER_GAIN: i32 = 4;
  /** ADC input voltage at zero current (bidirectional amplifier offset, usually half the reference). [mV] */
  export const SHUNT_ZERO_mV: i32 = 5;
  /** Thermistor resistance at 25 degC. [Ohm] */
  export const NTC_R25_Ohm: i32 = 6;
  /** Thermistor beta constant (B25/85). [K] */
  export const NTC_BETA_K: i32 = 7;
  /** Pull-up resistor from the ADC reference to the thermistor node. [Ohm] */
  export const NTC_PULLUP_Ohm: i32 = 8;
  /** Bleed resistor of the passive balancing switch. Controller: the bleed resistor of the pack's nodes, provisioned with the unit (balancing plan time and the combined active plan; absent = unknown). [Ohm] */
  export const BALANCE_RESISTANCE_Ohm: i32 = 9;
  /** Bus bit rate. [bit/s] */
  export const BUS_BITRATE_bps: i32 = 10;
  /** Erase sector size. [B] */
  export const FLASH_SECTOR_SIZE_B: i32 = 11;
  /** Sectors in the firmware's data partition. [1] */
  export const FLASH_SECTOR_COUNT: i32 = 12;
  /** Smallest programmable unit; program addresses and lengths are multiples of it. [B] */
  export const FLASH_PROGRAM_UNIT_B: i32 = 13;
  /** Period at which the board calls tick(). [ms] */
  export const TICK_PERIOD_ms: i32 = 14;
  /** Low 32 bits of the unit's factory-unique serial number (unsigned). [1] */
  export const UNIT_SERIAL_LOW: i32 = 15;
  /** High 32 bits of the unit's factory-unique serial number (unsigned). [1] */
  export const UNIT_SERIAL_HIGH: i32 = 16;
  /** Controller: number of modules the pack is built from (0 = discover). [1] */
  export const MODULES_IN_SERIES: i32 = 17;
}

/** FaultCode */
export namespace FaultCode {
  /** No fault. */
  export const NONE: i32 = 0;
  /** A runtime check failed (assertion, bounds check, unreachable). */
  export const ABORT: i32 = 1;
  /** The fixed heap is exhausted. */
  export const OUT_OF_MEMORY: i32 = 2;
  /** Something allocated after init() sealed the heap. */
  export const ALLOCATION_AFTER_INIT: i32 = 3;
  /** A required board constant is missing or out of range; detail is the key. */
  export const BOARD_CONFIG_MISSING: i32 = 4;
  /** adc_read returned an error; detail is the channel. */
  export const ADC_READ_FAILED: i32 = 5;
  /** A reading is outside its plausible range; detail is the channel. */
  export const ADC_OUT_OF_RANGE: i32 = 6;
  /** bus_send refused a frame; detail is the return code. */
  export const BUS_SEND_FAILED: i32 = 7;
  /** A received frame failed its length, CRC or counter check; detail is the message type. */
  export const BUS_FRAME_REJECTED: i32 = 8;
  /** Controller: a module stopped reporting; detail is its address. */
  export const MODULE_TIMEOUT: i32 = 9;
  /** Controller: more modules than the table holds; detail is the address. */
  export const MODULE_TABLE_FULL: i32 = 10;
  /** The provisioned cell parameter blob is missing or invalid; detail is the parser's error code. The node measures but does not estimate. */
  export const CELL_PARAMETERS_INVALID: i32 = 11;
  /** The record store found flash it cannot read and stays read-only (nothing is erased); detail is the mount status. */
  export const STORE_CORRUPT: i32 = 12;
  /** A record could not be written; detail is the store's error code. */
  export const STORE_WRITE_FAILED: i32 = 13;
  /** Controller: a node speaks a protocol version the controller does not (ADDRESS_REQUEST or NODE_ANNOUNCE); its frames are ignored. detail is the address times 256 plus the node's version. */
  export const PROTOCOL_MISMATCH: i32 = 14;
  /** Controller: a node runs another cell parameter set than the pack configuration expects, or none; detail is its address. */
  export const CELL_MISMATCH: i32 = 15;
  /** Controller: no valid pack configuration record in flash sector 0, or it disagrees with the board; the contactors stay open. detail is the parser's error (negative) or the board constant that disagrees. */
  export const PACK_CONFIG_INVALID: i32 = 16;
  /** Controller: a protection fault reached OPEN and the contactors are being opened; detail is the diagnostic code 0x1FL. */
  export const PROTECTION_OPEN: i32 = 17;
  /** Controller: two nodes of the chain carry the same serial number; the second still gets its own address so the chain enumerates in physical order. detail is the address of the module that had the serial first. */
  export const DUPLICATE_SERIAL: i32 = 18;
  /** Controller: after a re-enumeration a module (known by its serial) sits at another position than before; detail is its new address. */
  export const MODULE_MOVED: i32 = 19;
  /** Controller: after a re-enumeration a serial that was not in the pack before sits in the chain (a module added or swapped in); detail is its address. */
  export const MODULE_ADDED: i32 = 20;
  /** Controller: enumeration ended with fewer modules than the pack configuration has; detail is the number of modules found. */
  export const MODULE_MISSING: i32 = 21;
}
