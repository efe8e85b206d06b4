// Pack state of charge that respects the weakest module. Series modules carry the same charge, so
// the pack can deliver only what its emptiest module holds and accept only what its fullest module
// can still take:
//   D = min_i SOC_i * Q_i          (Ah the pack can discharge before some module is empty)
//   C = min_i (1 - SOC_i) * Q_i    (Ah the pack can charge before some module is full)
//   SOC_pack = D / (D + C),        usable capacity = D + C.
// With equal capacities Q this is SOC_pack = SOC_min / (SOC_min + 1 - SOC_max): equal SOCs give that
// SOC; the pack reads 0 exactly when the lowest module is empty and 1 exactly when the highest is
// full, so a gauge built on it never promises charge or room that the weakest module lacks. The
// mean SOC, by contrast, reads 50 % for a pack with one empty and one full module, which can then
// neither discharge nor charge. (Plett, Battery Management Systems vol. 2, discusses why pack
// capability is set by the extreme cells; the blend above is derived here.)
import { ModuleStates, clampSoc } from "./modules";

/** SOC_min / (SOC_min + 1 - SOC_max) for equal module capacities; 0 when the pack can do neither. */
export function packSocFromExtremes(socMin: f32, socMax: f32): f32 {
  const dischargeable = clampSoc(socMin);
  const chargeable = <f32>1.0 - clampSoc(socMax);
  const window = dischargeable + chargeable;
  return window > 0 ? dischargeable / window : <f32>0.0;
}

export class PackSoc {
  /** Usable pack SOC (0..1), NaN when no module is usable. */
  soc: f32 = NaN;
  socMin: f32 = NaN;
  socMax: f32 = NaN;
  socMean: f32 = NaN;
  minModule: i32 = -1;
  maxModule: i32 = -1;
  /** D: charge until the first module is empty, Ah. */
  dischargeable_Ah: f32 = NaN;
  /** C: charge until the first module is full, Ah. */
  chargeable_Ah: f32 = NaN;

  /** D + C: what the pack can cycle between empty and full at its present balance, Ah. */
  get usableCapacity_Ah(): f32 {
    return this.dischargeable_Ah + this.chargeable_Ah;
  }

  update(modules: ModuleStates): f32 {
    let dischargeable: f32 = Infinity;
    let chargeable: f32 = Infinity;
    let socMin: f32 = Infinity;
    let socMax: f32 = -Infinity;
    let socSum: f32 = 0.0;
    let minIndex = -1;
    let maxIndex = -1;
    let used = 0;
    for (let i = 0; i < modules.count; i++) {
      if (!modules.usable(i)) continue;
      const soc = clampSoc(unchecked(modules.soc[i]));
      const capacity = unchecked(modules.capacity_Ah[i]);
      const d = soc * capacity;
      const c = (<f32>1.0 - soc) * capacity;
      if (d < dischargeable) dischargeable = d;
      if (c < chargeable) chargeable = c;
      if (soc < socMin) { socMin = soc; minIndex = i; }
      if (soc > socMax) { socMax = soc; maxIndex = i; }
      socSum += soc;
      used++;
    }
    if (used == 0) {
      this.soc = NaN;
      this.socMin = NaN;
      this.socMax = NaN;
      this.socMean = NaN;
      this.minModule = -1;
      this.maxModule = -1;
      this.dischargeable_Ah = NaN;
      this.chargeable_Ah = NaN;
      return NaN;
    }
    const window = dischargeable + chargeable;
    this.soc = window > 0 ? dischargeable / window : <f32>0.0;
    this.socMin = socMin;
    this.socMax = socMax;
    this.socMean = socSum / <f32>used;
    this.minModule = minIndex;
    this.maxModule = maxIndex;
    this.dischargeable_Ah = dischargeable;
    this.chargeable_Ah = chargeable;
    return this.soc;
  }
}
