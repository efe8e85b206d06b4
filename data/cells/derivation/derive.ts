// Regenerates data/cells/<id>.json from the published data cited in each file's `source` list.
// Run: npx tsx data/cells/derivation/derive.ts
// The JSON files are what the plant loads; this script records how every table was obtained, so a
// reviewer can re-derive a number instead of trusting it. docs/chemistry.md explains each step.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const cellsDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const R_GAS = 8.314462618;
const FARADAY = 96485.33212;

type Table = { soc: number[]; temperature_C: number[]; values: number[][]; activationEnergy_J_per_mol?: number };

const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const column = (soc: number[], values: number[], temperature_C: number, digits: number, activationEnergy_J_per_mol?: number): Table => {
  const table: Table = { soc, temperature_C: [temperature_C], values: values.map((v) => [round(v, digits)]) };
  if (activationEnergy_J_per_mol !== undefined) table.activationEnergy_J_per_mol = activationEnergy_J_per_mol;
  return table;
};
const constant = (value: number, temperature_C: number, activationEnergy_J_per_mol?: number): Table =>
  column([0, 1], [value, value], temperature_C, 8, activationEnergy_J_per_mol);
const range = (from: number, to: number, step: number): number[] => {
  const out: number[] = [];
  for (let k = 0; from + k * step <= to + 1e-9; k++) out.push(round(from + k * step, 6));
  return out;
};
const interp1 = (xs: readonly number[], ys: readonly number[], x: number): number => {
  if (x <= xs[0]!) return ys[0]!;
  for (let k = 1; k < xs.length; k++) {
    if (x <= xs[k]!) {
      const w = (x - xs[k - 1]!) / (xs[k]! - xs[k - 1]!);
      return ys[k - 1]! + w * (ys[k]! - ys[k - 1]!);
    }
  }
  return ys[ys.length - 1]!;
};

// ---------------------------------------------------------------------------------------------
// Schmalstieg et al. 2014 (Sanyo UR18650E, NMC111): voltage-dependent stress factors are mapped
// to SOC through that cell's OCV, as tabulated in NREL BLAST-Lite (from Ecker et al. 2014 and
// Schmalstieg et al. Fig. 1). Ah throughput there counts charge and discharge of a 2.15 Ah cell,
// so Ah = 2 * 2.15 * FEC (BLAST-Lite's reading of the paper).
const sanyoSoc = [0, 0.008637153, 0.026779514, 0.044921875, 0.063064236, 0.081206597, 0.099348958, 0.117491319, 0.135633681, 0.153776042, 0.171918403, 0.190060764, 0.208203125, 0.226345486, 0.244487847, 0.262630208, 0.280772569, 0.298914931, 0.317057292, 0.335199653, 0.353342014, 0.371484375, 0.389626736, 0.407769097, 0.425911458, 0.444053819, 0.462196181, 0.480338542, 0.498480903, 0.516623264, 0.534765625, 0.552907986, 0.571050347, 0.589192708, 0.607335069, 0.625477431, 0.643619792, 0.661762153, 0.679904514, 0.698046875, 0.716189236, 0.734331597, 0.752473958, 0.770616319, 0.788758681, 0.806901042, 0.825043403, 0.843185764, 0.861328125, 0.879470486, 0.897612847, 0.915755208, 0.933897569, 0.952039931, 0.970182292, 0.988324653, 0.998220486, 1];
const sanyoOcv = [3.331, 3.345014187, 3.37917149, 3.411603677, 3.440585632, 3.466289865, 3.490268982, 3.511315401, 3.529946658, 3.547197821, 3.561688798, 3.574972194, 3.586357962, 3.597053683, 3.605506753, 3.613442288, 3.620342753, 3.626380661, 3.632073544, 3.63690387, 3.642079219, 3.646909545, 3.652084894, 3.657605266, 3.663470662, 3.670198615, 3.677444104, 3.686759732, 3.696420384, 3.708323686, 3.720572012, 3.734372943, 3.749553967, 3.765252525, 3.781123596, 3.797857224, 3.814590852, 3.832532062, 3.849783226, 3.866861877, 3.884458064, 3.900846669, 3.917752809, 3.934831461, 3.953462717, 3.971921462, 3.991415276, 4.011771649, 4.03195551, 4.05196686, 4.070770628, 4.087849279, 4.104237884, 4.120108955, 4.135980025, 4.152541142, 4.160649189, 4.162];
const sanyoVoltage = (soc: number): number => interp1(sanyoSoc, sanyoOcv, soc);
const sanyoAhPerFec = 2 * 2.15;

// Wang et al. 2011, Table 3 (A123 ANR26650M1, C/2 row): Ea = 31700 - 370.3 * C-rate J/mol.
const wangActivationEnergy_J_per_mol = 31700 - 370.3 * 0.5;

// ---------------------------------------------------------------------------------------------
// LG INR21700-M50 (NMC811 / graphite-SiOx)
function lgM50(): object {
  // Chen et al. 2020 electrode OCP fits (as in PyBaMM's Chen2020 parameter set).
  const uNeg = (x: number): number => 1.9793 * Math.exp(-39.3631 * x) + 0.2482 - 0.0909 * Math.tanh(29.8538 * (x - 0.1234))
    - 0.04478 * Math.tanh(14.9159 * (x - 0.2769)) - 0.0205 * Math.tanh(30.4444 * (x - 0.6103));
  const uPos = (y: number): number => -0.809 * y + 4.4875 - 0.0428 * Math.tanh(18.5138 * (y - 0.5542))
    - 17.7326 * Math.tanh(15.789 * (y - 0.3117)) + 17.5842 * Math.tanh(15.9308 * (y - 0.312));
  // O'Regan et al. 2022 entropic-change fits, mV/K -> V/K.
  const dUdTNeg = (x: number): number => (-0.1112 * x + 0.02914 + 0.3561 * Math.exp(-((x - 0.08309) ** 2) / 0.004616)) / 1000;
  const dUdTPos = (y: number): number =>
    (0.04006 * Math.exp(-((y - 0.2828) ** 2) / 0.0009855) - 0.06656 * Math.exp(-((y - 0.8032) ** 2) / 0.02179)) / 1000;

  // Electrode stoichiometry windows between the datasheet limits 2.5 V and 4.2 V, conserving the
  // cyclable lithium of the parameter set (the usual electrode state-of-health construction).
  const electrodeArea_m2 = 0.065 * 1.58;
  const windows = (cMaxNeg: number, cMaxPos: number, cNeg100: number, cPos100: number) => {
    const qNeg_Ah = cMaxNeg * 0.75 * 8.52e-5 * electrodeArea_m2 * FARADAY / 3600;
    const qPos_Ah = cMaxPos * 0.665 * 7.56e-5 * electrodeArea_m2 * FARADAY / 3600;
    const lithium_Ah = (cNeg100 / cMaxNeg) * qNeg_Ah + (cPos100 / cMaxPos) * qPos_Ah;
    const yOf = (x: number): number => (lithium_Ah - x * qNeg_Ah) / qPos_Ah;
    const voltage = (x: number): number => uPos(yOf(x)) - uNeg(x);
    const solve = (target: number): number => {
      let lo = 1e-3;
      let hi = Math.min(0.999, lithium_Ah / qNeg_Ah - 1e-6);
      for (let k = 0; k < 100; k++) {
        const mid = (lo + hi) / 2;
        if (voltage(mid) < target) lo = mid; else hi = mid;
      }
      return (lo + hi) / 2;
    };
    const x0 = solve(2.5);
    const x100 = solve(4.2);
    return { x: (soc: number) => x0 + soc * (x100 - x0), y: (soc: number) => yOf(x0 + soc * (x100 - x0)) };
  };
  const chen = windows(33133, 63104, 29866, 17038);
  const oregan = windows(29583, 51765, 28866, 13975);

  const ocvSoc = [0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, ...range(0.1, 0.95, 0.025), 0.96, 0.97, 0.98, 0.99, 0.995, 1];
  const ocvAt = (soc: number): number => uPos(chen.y(soc)) - uNeg(chen.x(soc));
  const ocv = ocvSoc.map(ocvAt);
  const entropySoc = range(0, 1, 0.025);
  const entropy = entropySoc.map((soc) => dUdTPos(oregan.y(soc)) - dUdTNeg(oregan.x(soc)));

  // TECMD block defaults (Widanage, Simscape-Battery-Library; model of Fan et al. 2022).
  const tecmd = { r0: 12.5e-3, rp: 20.8e-3, tauP: 0.14, tauD: 580, capacity_Ah: 4.9, eaR0: 8013, eaRp: 9120, eaTauP: 9790, eaTauD: 27000, tRef_C: 298 - 273.15 };
  // Diffusion element -> RC pair: quasi-steady surface-minus-mean SOC of the TECMD planar diffusion
  // is tau_D * i / (3 Q), so R2 = dOCV/dSOC * tau_D / (3 Q); tau2 = tau_D / 15 matches the first
  // moment (Elmore delay) of the diffusion impulse response, sum_n R_n tau_n / sum_n R_n.
  const slopeSoc = range(0, 1, 0.05);
  const slope = (soc: number): number => {
    const lo = Math.max(0, soc - 0.025);
    const hi = Math.min(1, soc + 0.025);
    return (ocvAt(hi) - ocvAt(lo)) / (hi - lo);
  };
  const r2 = slopeSoc.map((soc) => slope(soc) * tecmd.tauD / (3 * tecmd.capacity_Ah * 3600));

  // Schmalstieg 2014 calendar law, Sanyo voltage mapped to SOC, evaluated at 25 °C.
  const t25 = 298.15;
  const ageSoc = range(0, 1, 0.05);
  const calendarCapacity = ageSoc.map((soc) => Math.max(0, (7.543 * sanyoVoltage(soc) - 23.75) * 1e6 * Math.exp(-6976 / t25)));
  const calendarResistance = ageSoc.map((soc) => Math.max(0, (5.27 * sanyoVoltage(soc) - 16.32) * 1e5 * Math.exp(-5986 / t25)));
  const dods = range(0, 1, 0.25);
  const cycleCapacity = ageSoc.map((soc) => dods.map((dod) =>
    round((7.348e-3 * (sanyoVoltage(soc) - 3.667) ** 2 + 7.6e-4 + 4.081e-3 * dod) * Math.sqrt(sanyoAhPerFec), 7)));
  const cycleResistance = ageSoc.map((soc) => dods.map((dod) =>
    round(Math.max(0, 2.153e-4 * (sanyoVoltage(soc) - 3.725) ** 2 - 1.521e-5 + 2.798e-4 * dod) * sanyoAhPerFec, 8)));

  return {
    $schema: "./schema/cell.schema.json",
    id: "lg-inr21700-m50",
    name: "LG INR21700-M50",
    manufacturer: "LG Chem (LG Energy Solution)",
    model: "INR21700-M50",
    chemistry: "NMC811 / graphite-SiOx",
    formFactor: "21700 cylindrical",
    source: [
      { key: "Chen2020", authors: "C.-H. Chen, F. Brosa Planella, K. O'Regan, D. Gastol, W. D. Widanage, E. Kendrick", title: "Development of Experimental Techniques for Parameterization of Multi-scale Lithium-ion Battery Models", publication: "Journal of The Electrochemical Society 167 (2020) 080534", year: 2020, doi: "10.1149/1945-7111/ab9050", usedFor: "electrode OCP fits, electrode geometry and lithium inventory -> OCV(SOC) at 25 °C" },
      { key: "ORegan2022", authors: "K. O'Regan, F. Brosa Planella, W. D. Widanage, E. Kendrick", title: "Thermal-electrochemical parameters of a high energy lithium-ion cylindrical battery", publication: "Electrochimica Acta 425 (2022) 140700", year: 2022, doi: "10.1016/j.electacta.2022.140700", usedFor: "electrode entropic-change fits -> dOCV/dT(SOC); electrode specific heats (basis of the cell specific-heat estimate)" },
      { key: "Fan2022", authors: "C. Fan, K. O'Regan, L. Li, M. D. Higgins, E. Kendrick, W. D. Widanage", title: "Data-driven identification of lithium-ion batteries: A nonlinear equivalent circuit model with diffusion dynamics", publication: "Applied Energy 321 (2022) 119336", year: 2022, doi: "10.1016/j.apenergy.2022.119336", usedFor: "equivalent-circuit-with-diffusion (TECMD) model structure" },
      { key: "Widanage-SimscapeBatteryLibrary", authors: "W. D. Widanage (WMG, University of Warwick)", title: "Simscape-Battery-Library: TECMD block default parameters (LG M50 parameterisation)", publication: "software, +BatteryLibrary/+Models/TECMD.ssc", year: 2021, url: "https://github.com/WDWidanage/Simscape-Battery-Library", usedFor: "R0, Rp, tau_p, diffusion time constant and their Arrhenius activation energies -> r0, r1, tau1, r2, tau2" },
      { key: "PyBaMM-Chen2020", authors: "V. Sulzer, S. G. Marquis, R. Timms, M. Robinson, S. J. Chapman", title: "Python Battery Mathematical Modelling (PyBaMM); parameter set Chen2020", publication: "Journal of Open Research Software 9 (2021) 14", year: 2021, doi: "10.5334/jors.309", usedFor: "machine-readable Chen2020 values; cell cooling surface area 0.00531 m2 and default heat transfer coefficient 10 W/(m2 K)" },
      { key: "Schmalstieg2014", authors: "J. Schmalstieg, S. Käbitz, M. Ecker, D. U. Sauer", title: "A holistic aging model for Li(NiMnCo)O2 based 18650 lithium-ion batteries", publication: "Journal of Power Sources 257 (2014) 325-334", year: 2014, doi: "10.1016/j.jpowsour.2014.02.012", usedFor: "calendar and cycle ageing laws for capacity and resistance (measured on Sanyo UR18650E NMC111, transferred to this cell)" },
      { key: "Ecker2014", authors: "M. Ecker, N. Nieto, S. Käbitz, J. Schmalstieg, H. Blanke, A. Warnecke, D. U. Sauer", title: "Calendar and cycle life study of Li(NiMnCo)O2-based 18650 lithium-ion batteries", publication: "Journal of Power Sources 248 (2014) 839-851", year: 2014, doi: "10.1016/j.jpowsour.2013.09.143", usedFor: "Sanyo UR18650E OCV used to map Schmalstieg's voltage stress to SOC" },
      { key: "BLAST-Lite", authors: "P. Gasper et al. (NREL)", title: "BLAST-Lite battery lifetime models: nmc111_gr_Sanyo2Ah_2014", publication: "software, blast/models/nmc111_gr_Sanyo2Ah_2014.py", year: 2024, url: "https://github.com/NREL/BLAST-Lite", usedFor: "tabulated Sanyo OCV and the charge-throughput convention (Ah = 2 x 2.15 Ah x FEC) of Schmalstieg's cycle law" },
      { key: "Wang2011", authors: "J. Wang, P. Liu, J. Hicks-Garner, E. Sherman, S. Soukiazian, M. Verbrugge, H. Tataria, J. Musser, P. Finamore", title: "Cycle-life model for graphite-LiFePO4 cells", publication: "Journal of Power Sources 196 (2011) 3942-3948", year: 2011, doi: "10.1016/j.jpowsour.2010.11.134", usedFor: "activation energy of cycle ageing (estimate transferred from graphite-LFP)" },
      { key: "LG-M50-Specification", authors: "LG Chem", title: "Product Specification, Rechargeable Lithium Ion Battery, Model INR21700 M50 18.20 Wh", publication: "manufacturer product specification (copy hosted by a distributor; year of that copy)", year: 2019, url: "https://www.dnkpower.com/wp-content/uploads/2019/02/LG-INR21700-M50-Datasheet.pdf", usedFor: "ratings: charge 0 to 45 °C, discharge -20 to 60 °C, maximum charge current 3.395 A (0.7C), maximum continuous discharge current 7.275 A (1.5C)" },
    ],
    notes: [
      "Electrical: 5.0 Ah and 3.63 V nominal (about 18.2 Wh) are the LG datasheet ratings; the 2.5 V / 4.2 V limits are the datasheet cut-offs, as used by Chen2020 and PyBaMM.",
      "OCV: derived, not a direct full-cell measurement. OCV(SOC) = U_pos(y) - U_neg(x) with Chen2020's electrode OCP fits; x and y run linearly between the stoichiometries at which that OCV equals the datasheet limits 2.5 V and 4.2 V, conserving the cyclable lithium of the Chen2020 parameter set (electrode capacities 5.83 Ah and 8.73 Ah; window capacity 5.15 Ah against the 5.0 Ah nominal).",
      "dOCV/dT: ORegan2022 electrode entropic fits evaluated on the ORegan2022 parameter set's stoichiometry windows (constructed the same way); given at 25 °C and taken constant in temperature.",
      "r0, r1 = Rp, tau1 = tau_p: TECMD defaults at Tref = 298 K with the block's Arrhenius activation energies; no SOC dependence is published there, so the tables are flat in SOC.",
      "r2, tau2: derived from the TECMD diffusion element (tau_D = 580 s, Q = 4.9 Ah): R2(SOC) = dOCV/dSOC * tau_D / (3 Q), tau2 = tau_D / 15 (first-moment match), both scaled with the diffusion activation energy 27 kJ/mol. dOCV/dSOC is the central difference of the OCV table over +-0.025 SOC.",
      "Hysteresis: ESTIMATE. No published charge/discharge rest-voltage gap for this cell was found in the cited sources; M = 5 mV flat and gamma = 100 are placeholders chosen small because layered-oxide/graphite cells show far less hysteresis than LFP. Replace with a measured C/20 charge-discharge half gap.",
      "Coulombic efficiency 0.999: ESTIMATE (typical of commercial NMC/graphite cells; not measured for this cell in the cited sources).",
      "Thermal: surface area and h from PyBaMM-Chen2020. Mass 0.069 kg: ESTIMATE of the commonly quoted ~69 g cell weight, not checked against the LG datasheet. Specific heat 950 J/(kg K): ESTIMATE — ORegan2022's electrode fits give about 960-990 J/(kg K) at 25 °C for the wet electrodes; lowered slightly for the steel can (about 470 J/(kg K)). The TECMD default heat capacity (110 J/K) would imply 1600 J/(kg K) and was not used.",
      "Self-discharge 0.05 %/day (1.5 %/month) at 25 °C with Ea = 50 kJ/mol: ESTIMATE of the usual range for NMC/graphite cells; none of the cited sources measures reversible self-discharge for this cell.",
      "Ageing: Schmalstieg2014 laws measured on a different NMC cell (Sanyo UR18650E), transferred via SOC: voltage stress factors evaluated on the Sanyo OCV (Ecker2014 via BLAST-Lite). Calendar: loss = alpha(SOC) exp(-Ea/R (1/T - 1/298.15)) t^0.75 (t in days), Ea = 6976 K * R = 58.0 kJ/mol for capacity and 5986 K * R = 49.8 kJ/mol for resistance. Cycle: capacity beta_cap sqrt(Ah) and resistance beta_res Ah with Ah = 4.3 Ah per FEC.",
      "Cycle-ageing temperature dependence: ESTIMATE. Schmalstieg2014 cycled at 35 °C only; the Arrhenius factor uses Wang2011's graphite/LFP activation energy (31.5 kJ/mol at C/2) around 35 °C. The C-rate dependence is not modelled (factor 1).",
      "Ratings (LG-M50-Specification): charge 0-45 °C, discharge -20-60 °C, maximum charge current 3.395 A and maximum continuous discharge current 7.275 A, i.e. 0.7C and 1.5C of the 4.85 Ah minimum capacity. The cited copy could not be opened from the build environment: the values are the ones quoted from the specification (0.7 x 4.85 A and 1.5 x 4.85 A check). Compare them with the revision of the specification in use.",
    ],
    electrical: { nominalCapacity_Ah: 5.0, nominalVoltage_V: 3.63, minVoltage_V: 2.5, maxVoltage_V: 4.2, coulombicEfficiency: 0.999 },
    ratings: {
      source: "LG-M50-Specification",
      chargeTemperatureMin_C: 0, chargeTemperatureMax_C: 45, dischargeTemperatureMin_C: -20, dischargeTemperatureMax_C: 60,
      maxChargeCurrent_A: 3.395, maxDischargeCurrent_A: 7.275,
    },
    ocv: {
      ocv_V: column(ocvSoc, ocv, 25, 5),
      entropicCoefficient_V_per_K: column(entropySoc, entropy, 25, 8),
    },
    resistance: {
      r0_Ohm: constant(tecmd.r0, tecmd.tRef_C, tecmd.eaR0),
      r1_Ohm: constant(tecmd.rp, tecmd.tRef_C, tecmd.eaRp),
      tau1_s: constant(tecmd.tauP, tecmd.tRef_C, tecmd.eaTauP),
      r2_Ohm: column(slopeSoc, r2, tecmd.tRef_C, 6, tecmd.eaTauD),
      tau2_s: constant(round(tecmd.tauD / 15, 3), tecmd.tRef_C, tecmd.eaTauD),
    },
    hysteresis: { magnitude_V: constant(0.005, 25), gamma: 100 },
    thermal: { mass_kg: 0.069, specificHeat_J_per_kgK: 950, surfaceArea_m2: 0.00531, convectiveCoefficient_W_per_m2K: 10 },
    selfDischarge: { rate_per_day: 0.0005, referenceTemperature_C: 25, activationEnergy_J_per_mol: 50000 },
    ageing: {
      calendar: {
        capacity: { rate: column(ageSoc, calendarCapacity, 25, 8, round(6976 * R_GAS, 0)), timeExponent: 0.75 },
        resistance: { rate: column(ageSoc, calendarResistance, 25, 8, round(5986 * R_GAS, 0)), timeExponent: 0.75 },
      },
      cycle: {
        capacity: { rate: { meanSoc: ageSoc, dod: dods, values: cycleCapacity }, throughputExponent: 0.5, cRateFactor: { intercept: 1, slope: 0 }, activationEnergy_J_per_mol: round(wangActivationEnergy_J_per_mol, 0), referenceTemperature_C: 35 },
        resistance: { rate: { meanSoc: ageSoc, dod: dods, values: cycleResistance }, throughputExponent: 1, cRateFactor: { intercept: 1, slope: 0 }, activationEnergy_J_per_mol: round(wangActivationEnergy_J_per_mol, 0), referenceTemperature_C: 35 },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Sony (Murata) US26650FTC1 (LFP / graphite). Tables: SimSES data files, attributed there to
// Naumann's thesis (TUM); ageing: Naumann et al. 2018 (calendar) and 2020 (cycle), same cell.
function sonyUs26650(): object {
  const ocvSoc = range(0, 1, 0.005);
  const ocv = [2.28619131438583, 2.68346541291211, 2.7833414745785, 2.84696681209013, 2.89523772384625, 2.93443326551923, 2.96734728508958, 2.99605179363484, 3.0213305816756, 3.04411122720893, 3.06470488441242, 3.08345655535243, 3.10082732799999, 3.11681095982702, 3.13167433362988, 3.14553722673722, 3.15830337496292, 3.17030782827864, 3.1810481977698, 3.19017277362903, 3.19666175837117, 3.20045642748365, 3.20265103076223, 3.20436796305176, 3.20559448410496, 3.20675259123169, 3.20789721275805, 3.20885106403002, 3.2099337059368, 3.21099074589884, 3.21199877322752, 3.21338901257997, 3.21466573165045, 3.21649898530022, 3.21878444698852, 3.2214182437118, 3.22414692028829, 3.22687417324721, 3.2295134299702, 3.23202959339953, 3.23434579082356, 3.23659817582944, 3.23880199396983, 3.2408077796889, 3.24292114563244, 3.24494653561842, 3.24705653708969, 3.2489831785585, 3.25091116870688, 3.25291869997911, 3.2546734440124, 3.25635670229424, 3.25807760185228, 3.2596090806622, 3.26115013081852, 3.26284593241811, 3.26431918739427, 3.26589137009375, 3.2673221470017, 3.26879355588002, 3.2702790859448, 3.27168180917951, 3.27302852868115, 3.2744088816293, 3.27562065306783, 3.27676527459419, 3.27795580951603, 3.27905451764692, 3.28019370481883, 3.28153439590716, 3.28259786541323, 3.28376466320177, 3.28477762527873, 3.28589954353606, 3.28678071294986, 3.28773456422183, 3.2886884154938, 3.28954688163858, 3.29037828096912, 3.29126381392811, 3.29212228007289, 3.29300829369193, 3.29374382723524, 3.29441152312562, 3.29498383388879, 3.29546075952478, 3.2958654862681, 3.29628748808328, 3.29670076617834, 3.29697788770342, 3.29727369476017, 3.29746384719591, 3.29775000257751, 3.2980361579591, 3.29830035826202, 3.29851308359508, 3.29860846872227, 3.29889462410387, 3.29908539435826, 3.29927616461265, 3.29947505072677, 3.2997436493094, 3.2999155687809, 3.30008574039375, 3.30013767018132, 3.30042078613902, 3.30061155639341, 3.3008023266478, 3.3009930969022, 3.30118386715659, 3.30137463741098, 3.30156540766538, 3.30175617791978, 3.30194694817417, 3.30213771842856, 3.30237392328388, 3.30251925893735, 3.30280541431893, 3.30299618457333, 3.30318695482773, 3.30347311020931, 3.30366388046371, 3.3039500358453, 3.30421989669847, 3.30442696148129, 3.30470798184627, 3.3049763910473, 3.30519004249886, 3.30557158300765, 3.30595196240622, 3.30630035945494, 3.30662081940681, 3.3069069747884, 3.30738390042439, 3.3077179149568, 3.30814698144196, 3.30862390707795, 3.30910083271393, 3.30958278066034, 3.31021130982715, 3.31081776500347, 3.31144635011734, 3.31191770241764, 3.31254627321335, 3.31326742696845, 3.31406085932817, 3.31479474543168, 3.31568240649051, 3.3164527020153, 3.31749472390725, 3.31854396030643, 3.31973798733419, 3.32109089076032, 3.32236221965841, 3.32400197191651, 3.32569784484618, 3.32751016226293, 3.32949395914802, 3.33122867743647, 3.33294114518449, 3.33447327654831, 3.33567100739329, 3.33666713447383, 3.33751973480173, 3.33811025027123, 3.33867022214496, 3.33905176265375, 3.33943330316254, 3.33980461617884, 3.34010099905292, 3.34026558754017, 3.3405511090462, 3.3407686949433, 3.34095946519769, 3.34115023545208, 3.34141456985343, 3.34158713471559, 3.34186267077609, 3.34202765129603, 3.34229485697844, 3.34246816695146, 3.34258101236003, 3.34286716774163, 3.34303462789614, 3.34315592627664, 3.34334409337761, 3.3436302487592, 3.34391640414079, 3.34419048897095, 3.34439332977677, 3.34468822019055, 3.34496564053996, 3.34531334069984, 3.34582410668473, 3.34625224033968, 3.34707041311095, 3.34865826751269, 3.35215467732247, 3.36180438667598, 3.39626802114163, 3.53048971293788];
  const hystSoc = range(0, 1, 0.01);
  const hyst = [0.03, 0.03, 0.03, 0.03, 0.03, 0.0287239318032201, 0.0273778337709322, 0.0263385312564947, 0.0252560050836657, 0.0245812239962432, 0.0251017273742532, 0.0243467003413673, 0.023587228094672, 0.0234882341965923, 0.0236170248314071, 0.0241559300869723, 0.0249151859659754, 0.0250277259617738, 0.0244763213753349, 0.0243104936798213, 0.0248573922550785, 0.0255867069949274, 0.0264627643328348, 0.027164291210992, 0.0275850582491036, 0.0277226987211381, 0.0276929919819279, 0.0277131968778769, 0.0279219707119831, 0.0283528756836324, 0.0288298013196173, 0.0292900010032471, 0.0295928823371923, 0.029448025478269, 0.0290151372195635, 0.0283669737436605, 0.0274944095388623, 0.0264451731396973, 0.0253005516133322, 0.0239922266468067, 0.0226297680518222, 0.0213897613982623, 0.0205312952534873, 0.0200311833829738, 0.0195774439815224, 0.0193860559084816, 0.0191005183455373, 0.0189317031698104, 0.0188143629639472, 0.0187189778367522, 0.0187108619770334, 0.0186518844316803, 0.0186266321334458, 0.0187189778367522, 0.0187189778367522, 0.0187189778367474, 0.0187189778367474, 0.0187189778367522, 0.0189097480911422, 0.0190051332183423, 0.0191005183455373, 0.0191959034727325, 0.0192912885999272, 0.0194591776571581, 0.0194820588543223, 0.0197071336790044, 0.0198635993631122, 0.0201022287683189, 0.0204359101262923, 0.0206317026911126, 0.0209128357622772, 0.0212496921588613, 0.0216455654377082, 0.0218958819483073, 0.0223363981630206, 0.0225343829246274, 0.0226013000714042, 0.0222271681831685, 0.0213897613982623, 0.0203420297862291, 0.0193866737271273, 0.0187189778367522, 0.0182297133113263, 0.0178605116919823, 0.0174891986756722, 0.0172189975687439, 0.0170974306744074, 0.0170974306744023, 0.0170420719196845, 0.017173866102426, 0.0171148909557846, 0.0172882009287973, 0.0173861892094266, 0.0176697414375822, 0.0180392113949467, 0.0185194725501714, 0.0191620631238288, 0.0202640727844333, 0.0219346791734977, 0.0225175664526948, 0.03];
  const entropySoc = range(0, 1, 0.1);
  const entropy = [-0.0004900114285714, -0.0001639571428571, -0.0001176328571428, -4.44142857142829e-05, 9.750285714286e-05, 0.00011027, 0.0001286514285714, 0.00014535, 9.96285714285719e-05, 8.36442857142826e-05, 0.0001180685714285];
  // Discharge pulse resistance, columns 10 / 25 / 40 °C (SimSES also lists 60 °C as a copy of 40 °C).
  const rSoc = range(0, 1, 0.1);
  const rTemps = [10, 25, 40];
  const rDischarge = [
    [0.194952789, 0.061685557, 0.044090174], [0.194952789, 0.061685557, 0.044090174], [0.080774939, 0.050374992, 0.038430102],
    [0.075055233, 0.048845551, 0.037541588], [0.074809788, 0.051762822, 0.040018594], [0.069390124, 0.047827935, 0.038375676],
    [0.065120954, 0.04426628, 0.035121551], [0.061503438, 0.041785842, 0.032894641], [0.064822427, 0.046555916, 0.037723435],
    [0.061432462, 0.042546505, 0.033978319], [0.061432462, 0.042546505, 0.033978319],
  ];
  const scaled = (factor: number): Table => ({ soc: rSoc, temperature_C: rTemps, values: rDischarge.map((row) => row.map((r) => round(r * factor, 9))) });

  // Naumann 2018 calendar law: k_ref in 1/sqrt(s) -> 1/sqrt(day); linear resistance in 1/s -> 1/day.
  const ageSoc = range(0, 1, 0.05);
  const calendarCapacity = ageSoc.map((soc) => 1.2571e-5 * Math.sqrt(86400) * (2.8575 * (soc - 0.5) ** 3 + 0.60225));
  const calendarResistance = ageSoc.map((soc) => 3.4194e-10 * 86400 * (-3.3903 * (soc - 0.5) ** 2 + 1.5604));
  const dods = range(0, 1, 0.1);
  const cycleCapacity = [0, 1].map(() => dods.map((dod) => round((4.0253 * (dod - 0.6) ** 3 + 1.0923) / 100, 8)));
  const cycleResistance = [0, 1].map(() => dods.map((dod) => round((6.8477 * (dod - 0.5) ** 3 + 0.9182) / 100, 8)));

  return {
    $schema: "./schema/cell.schema.json",
    id: "sony-us26650ftc1",
    name: "Sony (Murata) US26650FTC1",
    manufacturer: "Sony Energy Devices (now Murata Manufacturing)",
    model: "US26650FTC1",
    chemistry: "LiFePO4 / graphite",
    formFactor: "26650 cylindrical",
    source: [
      { key: "Naumann2018-thesis", authors: "M. Naumann", title: "Techno-economic evaluation of stationary lithium-ion energy storage systems with special consideration of aging", publication: "PhD thesis, Technical University of Munich; tables as published in the SimSES data files src/simses/model/cell/data/CLFP_Sony_US26650_*.csv", year: 2018, url: "https://github.com/martincornejo/simses-lite", usedFor: "OCV(SOC), hysteresis voltage, pulse resistance vs SOC and temperature, entropic coefficient of the US26650FTC1" },
      { key: "SimSES", authors: "M. Möller, D. Kucevic, N. Collath, C. Parlikar, P. Dotzauer, B. Tepe, S. Englberger, A. Jossen, H. Hesse", title: "SimSES: A holistic simulation framework for modeling and analyzing stationary energy storage systems", publication: "Journal of Energy Storage 49 (2022) 103743 (SimSES; the simses-lite code base carries the data files and the model coefficients)", year: 2022, doi: "10.1016/j.est.2021.103743", usedFor: "machine-readable tables and cell data (3.0 Ah, 3.2 V, 2.0-3.6 V, 70 g, 1001 J/(kg K), 15 W/(m2 K)) from the Sony product specification and Naumann's thesis" },
      { key: "Naumann2018", authors: "M. Naumann, M. Schimpe, P. Keil, H. C. Hesse, A. Jossen", title: "Analysis and modeling of calendar aging of a commercial LiFePO4/graphite cell", publication: "Journal of Energy Storage 17 (2018) 153-169", year: 2018, doi: "10.1016/j.est.2018.01.019", usedFor: "calendar ageing of capacity (sqrt(t)) and resistance (linear in t) vs SOC and temperature" },
      { key: "Naumann2020", authors: "M. Naumann, F. B. Spingler, A. Jossen", title: "Analysis and modeling of cycle aging of a commercial LiFePO4/graphite cell", publication: "Journal of Power Sources 451 (2020) 227666", year: 2020, doi: "10.1016/j.jpowsour.2019.227666", usedFor: "cycle ageing of capacity (sqrt(FEC)) and resistance (linear in FEC) vs DOD and C-rate" },
      { key: "Wang2011", authors: "J. Wang, P. Liu, J. Hicks-Garner, E. Sherman, S. Soukiazian, M. Verbrugge, H. Tataria, J. Musser, P. Finamore", title: "Cycle-life model for graphite-LiFePO4 cells", publication: "Journal of Power Sources 196 (2011) 3942-3948", year: 2011, doi: "10.1016/j.jpowsour.2010.11.134", usedFor: "activation energy of cycle ageing, 31700 - 370.3 * 0.5 J/mol (A123 ANR26650M1, C/2), transferred to this cell" },
      { key: "SimSES-SonyLFP", authors: "SimSES developers (TU Munich, Chair of Electrical Energy Storage Technology)", title: "SimSES cell type SonyLFP (sources: SONY_US26650FTC1 Product Specification and Naumann 2018)", publication: "software, class SonyLFP in the package simses.technology.lithium_ion.cell (SimSES repository)", year: 2022, url: "https://gitlab.lrz.de/open-ees-ses/simses", usedFor: "ratings: maximum charge rate 1.0 C (3.0 A), maximum discharge rate 6.6 C (19.8 A), one operating temperature range 0 to 60 °C" },
    ],
    notes: [
      "OCV, entropic coefficient and hysteresis tables: as published in the SimSES data files (no resampling). OCV is at 25 °C and is extended in temperature with the entropic table.",
      "Hysteresis: the SimSES 'HystV' table is used as the ESC magnitude M(SOC), i.e. half the charge/discharge rest-voltage gap — an interpretation, the data file does not say which. The 0.03 V end values are SimSES's flat extrapolation. gamma = 50 is an ESTIMATE (no published value for this cell): the hysteresis state then switches over about 5 % SOC of one-directional current.",
      "r0: SimSES discharge pulse resistance (Rint) at 10/25/40 °C. The charge-direction table, which is up to 30 % higher above 80 % SOC, is not used: the model has one R0 for both directions. The 0 and 1 SOC rows are SimSES's copies of the 0.1 and 0.9 rows.",
      "r1, r2, tau1, tau2: ESTIMATE. No published RC parameters for this cell were found. r1 = 0.25 * r0 and r2 = 0.30 * r0 (same SOC/temperature dependence as the measured pulse resistance), tau1 = 3 s and tau2 = 60 s; chosen as typical fast (charge-transfer) and slow (diffusion) time constants of 26650 LFP cells. Treat relaxation shapes from this file as illustrative.",
      "Coulombic efficiency 0.9995: ESTIMATE (LFP/graphite cells are close to unity; SimSES uses 1.0).",
      "Thermal: mass, specific heat and h from SimSES (after the Sony specification / Naumann thesis); surface area is the 26650 cylinder (26 mm x 65 mm) including both ends.",
      "Self-discharge 0.05 %/day at 25 °C with Ea = 50 kJ/mol: ESTIMATE; SimSES sets 0 and the cited papers do not measure reversible self-discharge.",
      "Calendar ageing (Naumann2018): capacity loss = k_T k_SOC sqrt(t), k_ref = 1.2571e-5 / sqrt(s) = 3.695e-3 / sqrt(day), k_SOC = 2.8575 (SOC-0.5)^3 + 0.60225, Ea = 17126 J/mol; resistance increase = k_T k_SOC t, k_ref = 3.4194e-10 / s, k_SOC = -3.3903 (SOC-0.5)^2 + 1.5604, Ea = 71827 J/mol; reference 25 °C. Coefficients as implemented in SimSES.",
      "Cycle ageing (Naumann2020): capacity loss [%] = (0.0630 C + 0.0971)(4.0253 (DOD-0.6)^3 + 1.0923) sqrt(FEC); resistance increase [%] = (-0.0020 C + 0.0021)(6.8477 (DOD-0.5)^3 + 0.9182) FEC. The resistance C-rate factor reaches zero at 1.05 C and is clamped there. Coefficients as implemented in SimSES.",
      "Cycle-ageing temperature dependence: ESTIMATE. Naumann2020 cycled at 25 °C only; the Arrhenius factor uses Wang2011's activation energy for graphite/LFP cycling (31.5 kJ/mol at C/2) around 25 °C.",
      "Ratings: maximum charge current 3.0 A (1C) and maximum continuous discharge current 19.8 A (6.6C, the 20 A usually quoted) from SimSES's SonyLFP cell type, which cites the Sony product specification. Temperature ratings: ESTIMATE. SimSES gives one operating range, 0 to 60 °C (273.15-333.15 K); the split used here (charge 0-45 °C, discharge -20-60 °C) is the usual one of LFP product specifications and was not checked against the Sony document. Replace with the specification's figures.",
    ],
    electrical: { nominalCapacity_Ah: 3.0, nominalVoltage_V: 3.2, minVoltage_V: 2.0, maxVoltage_V: 3.6, coulombicEfficiency: 0.9995 },
    ratings: {
      source: "SimSES-SonyLFP",
      chargeTemperatureMin_C: 0, chargeTemperatureMax_C: 45, dischargeTemperatureMin_C: -20, dischargeTemperatureMax_C: 60,
      maxChargeCurrent_A: 3.0, maxDischargeCurrent_A: 19.8,
    },
    ocv: {
      ocv_V: column(ocvSoc, ocv, 25, 8),
      entropicCoefficient_V_per_K: column(entropySoc, entropy, 25, 10),
    },
    resistance: {
      r0_Ohm: scaled(1),
      r1_Ohm: scaled(0.25),
      tau1_s: constant(3, 25),
      r2_Ohm: scaled(0.3),
      tau2_s: constant(60, 25),
    },
    hysteresis: { magnitude_V: column(hystSoc, hyst, 25, 6), gamma: 50 },
    thermal: { mass_kg: 0.07, specificHeat_J_per_kgK: 1001, surfaceArea_m2: round(Math.PI * 0.026 * 0.065 + 2 * Math.PI * 0.013 ** 2, 6), convectiveCoefficient_W_per_m2K: 15 },
    selfDischarge: { rate_per_day: 0.0005, referenceTemperature_C: 25, activationEnergy_J_per_mol: 50000 },
    ageing: {
      calendar: {
        capacity: { rate: column(ageSoc, calendarCapacity, 25, 9, 17126), timeExponent: 0.5 },
        resistance: { rate: column(ageSoc, calendarResistance, 25, 10, 71827), timeExponent: 1 },
      },
      cycle: {
        capacity: { rate: { meanSoc: [0, 1], dod: dods, values: cycleCapacity }, throughputExponent: 0.5, cRateFactor: { intercept: 0.0971, slope: 0.063 }, activationEnergy_J_per_mol: round(wangActivationEnergy_J_per_mol, 0), referenceTemperature_C: 25 },
        resistance: { rate: { meanSoc: [0, 1], dod: dods, values: cycleResistance }, throughputExponent: 1, cRateFactor: { intercept: 0.0021, slope: -0.002 }, activationEnergy_J_per_mol: round(wangActivationEnergy_J_per_mol, 0), referenceTemperature_C: 25 },
      },
    },
  };
}

/** JSON with every array of numbers on one line, so tables stay readable in review. */
function format(value: unknown, indent = ""): string {
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === "number")) return `[${value.join(", ")}]`;
    if (value.every((v) => Array.isArray(v) && v.every((w) => typeof w === "number"))) {
      return `[\n${value.map((v) => inner + format(v, inner)).join(",\n")}\n${indent}]`;
    }
    return `[\n${value.map((v) => inner + format(v, inner)).join(",\n")}\n${indent}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner)}`).join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(value);
}

/** File name and exact text of every derived cell file (tests compare them with data/cells). */
export function derivedCellFiles(): { file: string; text: string }[] {
  return [lgM50(), sonyUs26650()].map((cell) => ({ file: `${(cell as { id: string }).id}.json`, text: format(cell) + "\n" }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const { file, text } of derivedCellFiles()) {
    writeFileSync(join(cellsDir, file), text);
    console.log(`wrote data/cells/${file}`);
  }
}
