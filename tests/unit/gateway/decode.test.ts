import { describe, expect, test } from 'vitest'
import { decodeReading, peakAcceleration, plausibleValues } from '../../../gateway/src/ingest/decode.js'
import type { SensorKind } from '../../../gateway/src/registry/schema.js'

const water: SensorKind = {
  name: 'water',
  payload: 'scalar',
  quantities: {
    stage_m: { unit: 'm', min: -100, max: 6000 },
    discharge_m3s: { unit: 'm3/s', min: 0, max: 1e5 },
  },
}
const seismic: SensorKind = {
  name: 'seismic',
  payload: 'seismic_batch',
  quantities: { pga_gal: { unit: 'gal', min: 0, max: 5000 }, pga_z_gal: { unit: 'gal', min: 0, max: 5000 } },
}
const buf = (x: unknown) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x))

describe('reading payloads', () => {
  test('epoch ms and ISO-8601 event times normalise to epoch ms', () => {
    expect(decodeReading(buf({ ts: 1784073600000, values: { stage_m: 30 } }), water)).toEqual({
      ok: true,
      ts: 1784073600000,
      values: { stage_m: 30 },
      faults: [],
    })
    const iso = decodeReading(
      buf({ ts: '2026-07-15T08:00:00+08:00', seq: 7, values: { stage_m: 30 } }),
      water,
    )
    expect(iso).toMatchObject({ ok: true, ts: Date.UTC(2026, 6, 15), seq: 7 })
  })

  test.each([
    ['not json', 'bad_json'],
    [{ values: { stage_m: 1 } }, 'invalid_payload'],
    [{ ts: 1784073600000, values: {} }, 'invalid_payload'],
    [{ ts: 1784073600000, values: { stage_m: '1' } }, 'invalid_payload'],
    [{ ts: 1784073600000, values: { stage_m: 1 }, extra: 1 }, 'invalid_payload'],
    [{ ts: 99, values: { stage_m: 1 } }, 'invalid_payload'],
    [{ ts: 1784073600000, values: { Stage: 1 } }, 'invalid_payload'],
    [{ ts: 1784073600000, values: { rain_mm: 1 } }, 'unknown_quantity'],
  ])('%j is refused as %s', (payload, reason) => {
    expect(decodeReading(buf(payload), water)).toMatchObject({ ok: false, reason })
  })

  test('out-of-range values are flagged as faults and left out of evaluation', () => {
    const d = decodeReading(buf({ ts: 1784073600000, values: { stage_m: 9999, discharge_m3s: 50 } }), water)
    expect(d).toMatchObject({ ok: true, faults: ['stage_m'] })
    expect(plausibleValues({ stage_m: 9999, discharge_m3s: 50 }, water)).toEqual({ discharge_m3s: 50 })
  })
})

describe('seismic batches', () => {
  test('peak horizontal acceleration is the largest x-y vector after removing each axis mean', () => {
    // z carries gravity (980.665 gal); x and y an offset of 3 gal.
    const x = [3, 3, 6, 3, 3]
    const y = [3, 3, 7, 3, 3]
    const z = [980.665, 980.665, 980.665 + 2, 980.665, 980.665]
    const { pga_gal, pga_z_gal } = peakAcceleration(x, y, z)
    // Means: x 3.6, y 3.8 → peak at sample 2: (2.4, 3.2) → 4.0
    expect(pga_gal).toBeCloseTo(4.0, 3)
    expect(pga_z_gal).toBeCloseTo(1.6, 3)
  })

  test('a batch is stamped with the time of its last sample', () => {
    const d = decodeReading(
      buf({ ts: 1784073600000, sr: 100, x: [0, 1, 0, 0], y: [0, 0, 0, 0], z: [0, 0, 0, 0] }),
      seismic,
    )
    expect(d).toMatchObject({ ok: true, ts: 1784073600030 })
  })

  // Found by tests/fuzz/parsers.test.ts: sr 5e-324 put the last sample's time at Infinity, accepted.
  test('a sample rate that carries the last sample out of the time range is refused', () => {
    for (const sr of [5e-324, 1e-10])
      expect(
        decodeReading(buf({ ts: 946684800000, sr, x: [0, 0], y: [0, 0], z: [0, 0] }), seismic),
      ).toMatchObject({ ok: false, reason: 'invalid_payload' })
  })

  test('axes of unequal length are refused', () => {
    expect(
      decodeReading(buf({ ts: 1784073600000, sr: 100, x: [0, 1], y: [0], z: [0, 0] }), seismic),
    ).toMatchObject({
      ok: false,
      reason: 'invalid_payload',
    })
  })
})
