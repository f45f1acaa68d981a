/**
 * Physics sanity of the simulated strong motion: a chosen intensity produces, through the
 * gateway's own GB/T 17742 processing, that intensity, and the PGA the standard maps to it.
 */
import { describe, expect, test } from 'vitest'
import { instrumentalIntensity } from '../../../rules/src/index.js'
import { IntensityProcessor } from '../../../rules/src/seismic.js'
import { mulberry32 } from '../../../sensors-sim/src/prng.js'
import {
  distanceKm,
  pgaForIntensity,
  seismicBatch,
  VP_KMS,
  VS_KMS,
} from '../../../sensors-sim/src/seismic.js'

const T0 = Date.UTC(2026, 6, 15, 6)
/** PGA bands of GB/T 17742-2020 (thresholds.yaml seismic.instrumental_intensity), m/s². */
const BANDS: Record<number, [number, number]> = {
  5: [0.219, 0.453],
  6: [0.453, 0.937],
  7: [0.937, 1.94],
  8: [1.94, 4.0],
}

describe('simulated strong motion', () => {
  test.each([3, 4, 5, 6, 7, 8])('the formula inverts: intensity %i', (i) => {
    const a = pgaForIntensity(i)
    expect(instrumentalIntensity(a, a / (2 * Math.PI * 2))).toBeCloseTo(i, 1)
  })

  test.each([5, 6, 7, 8])('a record made for intensity %i measures it, with the PGA of its band', (i) => {
    const rng = mulberry32(i)
    const proc = new IntensityProcessor()
    const quake = { originMs: T0 + 10_000, distanceKm: 20, intensity: i, durationS: 10 }
    let pga = 0
    let pgv = 0
    for (let s = 0; s < 50; s++) {
      const b = seismicBatch(T0 + s * 1000, 100, 100, [quake], rng)
      const r = proc.batch({ t0: b.ts, sr: b.sr, x: b.x, y: b.y, z: b.z })
      pga = Math.max(pga, r.pga_ms2)
      pgv = Math.max(pgv, r.pgv_ms)
    }
    expect(Math.abs(instrumentalIntensity(pga, pgv) - i)).toBeLessThanOrEqual(0.2)
    const [lo, hi] = BANDS[i]!
    expect(pga).toBeGreaterThanOrEqual(lo * 0.95)
    expect(pga).toBeLessThan(hi * 1.05)
  })

  test('P arrives before S, by distance', () => {
    const rng = mulberry32(1)
    const q = { originMs: T0, distanceKm: 35, intensity: 6, durationS: 5 }
    const batch = seismicBatch(T0, 100, 2000, [q], rng)
    const firstAbove = (xs: number[], base: number, th: number) =>
      xs.findIndex((v) => Math.abs(v - base) > th) / 100
    const p = firstAbove(batch.z, 980.665, 2)
    const s = firstAbove(batch.x, 0.8, 2)
    expect(p).toBeCloseTo(35 / VP_KMS, 0)
    expect(s).toBeGreaterThan(35 / VS_KMS - 0.5)
    expect(s).toBeGreaterThan(p + 3)
  })

  test('great-circle distance: one degree of latitude is about 111 km', () => {
    expect(distanceKm({ lat: 29, lon: 102 }, { lat: 30, lon: 102 })).toBeCloseTo(111.2, 0)
  })
})
