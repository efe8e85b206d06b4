// e^x for x <= 0 in single precision only: the RC and hysteresis decay factors exp(-dt/tau) of
// the estimators. AssemblyScript's Mathf.exp (musl's expf) computes in f64 with a 64-bit table
// lookup; a Cortex-M4F has a single-precision FPU only, so every f64 operation there is a
// software routine. This version stays in f32: Cody-Waite range reduction x = k ln2 + r with
// |r| <= ln2/2 (W. J. Cody, W. Waite, "Software Manual for the Elementary Functions",
// Prentice-Hall 1980), a degree-6 Taylor polynomial for e^r (truncation r^7/7! < 1.3e-7 for
// |r| <= 0.347), and 2^k assembled in the exponent bits. Relative error below 3e-7 (tested).

/** ln 2 split so k * LN2_HIGH is exact in f32 for |k| <= 127 (the high part has 15 significant bits). */
const LN2_HIGH: f32 = 0.693145751953125;
const LN2_LOW: f32 = 1.428606765330187e-6;
const LOG2_E: f32 = 1.4426950408889634;
/** Below ln(2^-126) the result is not a normal f32; the decay is complete. */
const SMALLEST_ARGUMENT: f32 = -87.33654475;

/** e^x for x <= 0 (x > 0 is treated as 0: returns 1). NaN gives NaN. */
export function expNonPositive(x: f32): f32 {
  if (x != x) return x;
  if (x >= 0) return 1;
  if (x < SMALLEST_ARGUMENT) return 0;
  const k = nearest<f32>(x * LOG2_E);
  const r = (x - k * LN2_HIGH) - k * LN2_LOW;
  const p = <f32>1.0 + r * (<f32>1.0 + r * (<f32>0.5 + r * (<f32>(1.0 / 6.0) + r * (<f32>(1.0 / 24.0)
    + r * (<f32>(1.0 / 120.0) + r * <f32>(1.0 / 720.0))))));
  // k in [-126, 0]: 2^k is the normal f32 with biased exponent k + 127.
  return p * reinterpret<f32>((<i32>k + 127) << 23);
}
