/**
 * Strong-motion records for the simulators: 100 Hz three-component accelerometer batches (gal, as
 * the device contract has them) with sensor offset, gravity on z and background noise, and
 * earthquakes whose P and S waves arrive by distance from the epicentre, the S-wave amplitude
 * chosen so the GB/T 17742-2020 instrumental intensity at the station is the one asked for.
 */
import { gaussian, type Rng } from './prng.js'

/** Crustal P and S velocities, km/s. */
export const VP_KMS = 6.0
export const VS_KMS = 3.5
/** Dominant frequency of the simulated S-wave shaking, Hz. */
export const S_HZ = 2

/**
 * The peak acceleration (m/s²) of a sinusoid at `hz` whose GB/T 17742 intensity is `intensity`:
 * PGV = PGA / 2πf; I = I_V when both I_A and I_V reach 6.0, else the mean of I_A and I_V.
 */
export function pgaForIntensity(intensity: number, hz = S_HZ): number {
  const w = 2 * Math.PI * hz
  // Branch 1: I = I_V = 3·lg(PGV) + 9.77.
  const pgv = 10 ** ((intensity - 9.77) / 3)
  const a1 = pgv * w
  const ia1 = 3.17 * Math.log10(a1) + 6.59
  if (intensity >= 6 && ia1 >= 6) return a1
  // Branch 2: I = (I_A + I_V) / 2 = (6.17·lg(PGA) − 3·lg(w) + 16.36) / 2.
  return 10 ** ((2 * intensity - 16.36 + 3 * Math.log10(w)) / 6.17)
}

/** Great-circle distance, km. */
export function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = Math.PI / 180
  const dLat = (b.lat - a.lat) * r
  const dLon = (b.lon - a.lon) * r
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(dLon / 2) ** 2
  return 2 * 6371 * Math.asin(Math.sqrt(h))
}

export interface Quake {
  /** Origin time, epoch ms. */
  readonly originMs: number
  /** Hypocentral distance to the station, km. */
  readonly distanceKm: number
  /** Intensity the shaking at the station should have. */
  readonly intensity: number
  /** Strong shaking lasts this long, s. */
  readonly durationS: number
}

/** One batch of `n` samples at `sr` Hz from `t0` (epoch ms): x and y horizontal, z vertical, gal. */
export function seismicBatch(
  t0: number,
  sr: number,
  n: number,
  quakes: readonly Quake[],
  rng: Rng,
): { ts: number; sr: number; x: number[]; y: number[]; z: number[] } {
  const x: number[] = []
  const y: number[] = []
  const z: number[] = []
  for (let i = 0; i < n; i++) {
    const t = t0 + (i * 1000) / sr
    let ax = 0.8 + 0.05 * gaussian(rng)
    let ay = -0.5 + 0.05 * gaussian(rng)
    let az = 980.665 + 0.05 * gaussian(rng)
    for (const q of quakes) {
      const tp = (t - q.originMs) / 1000 - q.distanceKm / VP_KMS
      const ts = (t - q.originMs) / 1000 - q.distanceKm / VS_KMS
      const a = pgaForIntensity(q.intensity) * 100 // m/s² → gal
      // P: vertical, higher frequency, a quarter of the S amplitude, decaying.
      if (tp >= 0) az += 0.25 * a * Math.exp(-tp / 3) * Math.sin(2 * Math.PI * 6 * tp)
      // S: horizontal, 2 Hz, a smooth 1 s ramp, then `durationS` at full amplitude, then a decay.
      if (ts >= 0) {
        const env =
          ts < 1
            ? Math.sin((Math.PI / 2) * ts) ** 2
            : ts < 1 + q.durationS
              ? 1
              : Math.exp(-(ts - 1 - q.durationS) / 2)
        const s = a * env * Math.sin(2 * Math.PI * S_HZ * ts)
        ax += 0.8 * s
        ay += 0.6 * s
      }
    }
    x.push(Math.round(ax * 1000) / 1000)
    y.push(Math.round(ay * 1000) / 1000)
    z.push(Math.round(az * 1000) / 1000)
  }
  return { ts: t0, sr, x, y, z }
}
