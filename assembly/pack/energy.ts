// Remaining discharge energy of the pack, limited by its weakest module. Series modules carry the
// same charge, so the pack can deliver D = min_i SOC_i * Q_i (Ah, PackSoc.dischargeable_Ah) before
// some module is empty; module i then runs from SOC_i down to SOC_i - D / Q_i and gives
//   E_i = Q_i * (F(SOC_i) - F(SOC_i - D / Q_i)),   F(z) = integral from 0 to z of OCV(s) ds,
// and the pack E = sum_i E_i (Wh). Energy above the weakest module's empty point stays in the
// other modules and is not counted. This is open-circuit energy: it leaves out the I^2 R loss
// inside the cells, so it is an upper bound that approaches the truth at low current.
import { ModuleStates, clampSoc } from "./modules";
import { OcvCurve } from "./ocv";

export class PackEnergy {
  readonly ocv: OcvCurve;
  /** Remaining energy, Wh; NaN when no module is usable. */
  remaining_Wh: f32 = NaN;

  constructor(ocv: OcvCurve) {
    this.ocv = ocv;
  }

  /** dischargeable_Ah: the pack's D from PackSoc.update on the same modules. */
  update(modules: ModuleStates, dischargeable_Ah: f32): f32 {
    if (!isFinite(dischargeable_Ah)) {
      this.remaining_Wh = NaN;
      return NaN;
    }
    let energy: f32 = 0.0;
    for (let i = 0; i < modules.count; i++) {
      if (!modules.usable(i)) continue;
      const soc = clampSoc(unchecked(modules.soc[i]));
      const capacity = unchecked(modules.capacity_Ah[i]);
      const end = soc - dischargeable_Ah / capacity;
      energy += capacity * (this.ocv.integral(soc) - this.ocv.integral(end));
    }
    this.remaining_Wh = energy;
    return energy;
  }
}
