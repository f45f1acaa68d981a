/**
 * Unit conversions the catalogues need, from rules/reference/thresholds.yaml `unit_tables`.
 * Pure functions; the derive stage applies them to readings before the rules see them.
 */

/**
 * Beaufort force by 10-min mean wind speed at 10 m (GB/T 28591-2012): each force's inclusive
 * lower bound in m/s, force 0 … 17. Forces 5–17 are the reference's table; 0–4 complete the
 * scale (0.0, 0.3, 1.6, 3.4, 5.5).
 */
const BEAUFORT_LOWER_MS = [
  0.0, 0.3, 1.6, 3.4, 5.5, 8.0, 10.8, 13.9, 17.2, 20.8, 24.5, 28.5, 32.7, 37.0, 41.5, 46.2, 51.0, 56.1,
] as const

/** Beaufort force (0–17) of a wind speed in m/s. Speeds are read to 0.1 m/s as the table is. */
export function beaufortFromMs(ms: number): number {
  const v = Math.round(ms * 10) / 10
  let force = 0
  for (let f = 1; f < BEAUFORT_LOWER_MS.length; f++) if (v >= BEAUFORT_LOWER_MS[f]!) force = f
  return force
}

/** The lowest wind speed (m/s) of a Beaufort force: "force 6 or more" is "≥ 10.8 m/s". */
export function msFromBeaufort(force: number): number {
  const f = Math.max(0, Math.min(17, Math.floor(force)))
  return BEAUFORT_LOWER_MS[f]!
}

/** Molar volume of an ideal gas (L/mol) at 101.325 kPa and the given temperature (°C). */
const molarVolume = (tempC: number): number => (22.414 * (273.15 + tempC)) / 273.15

/** mg/m³ → ppm (µmol/mol) for a gas of molar mass `molarMass` g/mol; 20 °C unless given. */
export function ppmFromMgm3(mgm3: number, molarMass: number, tempC = 20): number {
  return (mgm3 * molarVolume(tempC)) / molarMass
}

/** ppm → mg/m³; the inverse of ppmFromMgm3. */
export function mgm3FromPpm(ppm: number, molarMass: number, tempC = 20): number {
  return (ppm * molarMass) / molarVolume(tempC)
}

/** %LEL → %vol for a gas whose lower explosive limit is `lel` %vol (methane 5.0). */
export function volFromLel(lelPct: number, lel: number): number {
  return (lelPct * lel) / 100
}

/** %vol → %LEL; the inverse of volFromLel. */
export function lelFromVol(volPct: number, lel: number): number {
  return (volPct * 100) / lel
}
