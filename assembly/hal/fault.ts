// Routes AssemblyScript's abort() (failed assert, bounds check, unreachable) to the HAL as a
// numeric fault code, so no string is marshalled through JavaScript glue. Wired in asconfig.json
// with `--use abort=assembly/hal/fault/abortToHal`.
import { fault_abort, FaultCode } from "./abi";

export function abortToHal(message: usize, fileName: usize, line: u32, column: u32): void {
  fault_abort(FaultCode.ABORT, <i32>line, <i32>column);
  unreachable();
}
