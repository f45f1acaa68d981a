/**
 * MQTT payload → validated reading values for a sensor of a known kind. Pure: no I/O.
 */
import { ReadingPayload, SeismicBatchPayload } from '../contracts/payloads.js'
import type { SensorKind } from '../registry/schema.js'
import type { Waveform } from '../../../rules/src/index.js'

/** Why a message was refused; each is a label value on shaobing_readings_rejected_total. */
export type RejectReason =
  | 'bad_topic'
  | 'unknown_sensor'
  | 'kind_mismatch'
  | 'bad_json'
  | 'invalid_payload'
  | 'unknown_quantity'
  | 'forbidden_topic'
  | 'too_large'

export type Decoded =
  | {
      ok: true
      ts: number
      seq?: number
      /** Every reported quantity, as stored. */
      values: Record<string, number>
      /** Quantities outside the kind's plausible range: equipment faults, kept out of evaluation. */
      faults: string[]
      /** A seismic batch's raw samples, for the rules' derived seismic quantities. */
      waveform?: Waveform
    }
  | { ok: false; reason: RejectReason; detail: string }

export function decodeReading(payload: Buffer, kind: SensorKind): Decoded {
  let json: unknown
  try {
    json = JSON.parse(payload.toString('utf8'))
  } catch (e) {
    return { ok: false, reason: 'bad_json', detail: (e as Error).message }
  }
  let ts: number
  let seq: number | undefined
  let values: Record<string, number>
  let waveform: Waveform | undefined
  if (kind.payload === 'seismic_batch') {
    const p = SeismicBatchPayload.safeParse(json)
    if (!p.success) return { ok: false, reason: 'invalid_payload', detail: summarize(p.error.issues) }
    // Event time of the batch is its last sample, so consecutive batches have increasing times.
    ts = Math.round(p.data.ts + ((p.data.x.length - 1) * 1000) / p.data.sr)
    seq = p.data.seq
    values = peakAcceleration(p.data.x, p.data.y, p.data.z)
    waveform = { t0: p.data.ts, sr: p.data.sr, x: p.data.x, y: p.data.y, z: p.data.z }
  } else {
    const p = ReadingPayload.safeParse(json)
    if (!p.success) return { ok: false, reason: 'invalid_payload', detail: summarize(p.error.issues) }
    ts = p.data.ts
    seq = p.data.seq
    values = p.data.values
  }
  const faults: string[] = []
  for (const [q, v] of Object.entries(values)) {
    const spec = kind.quantities[q]
    if (!spec)
      return {
        ok: false,
        reason: 'unknown_quantity',
        detail: `quantity ${q} is not declared for this kind (declared: ${Object.keys(kind.quantities).join(', ')})`,
      }
    if (v < spec.min || v > spec.max) faults.push(q)
  }
  return {
    ok: true,
    ts,
    ...(seq !== undefined ? { seq } : {}),
    values,
    faults,
    ...(waveform ? { waveform } : {}),
  }
}

/** The quantities inside their kind's plausible range: what the rules may evaluate. */
export function plausibleValues(
  values: Readonly<Record<string, number>>,
  kind: SensorKind,
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [q, v] of Object.entries(values)) {
    const spec = kind.quantities[q]
    if (spec && v >= spec.min && v <= spec.max) out[q] = v
  }
  return out
}

/**
 * Peak horizontal (vector of x, y) and vertical acceleration of a batch, after removing each
 * axis's mean (sensor offset and gravity on z). The GB/T 17742 intensity (band-passed, with the
 * velocity path) is the rules engine's derived `intensity`.
 */
export function peakAcceleration(
  x: readonly number[],
  y: readonly number[],
  z: readonly number[],
): {
  pga_gal: number
  pga_z_gal: number
} {
  const mean = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length
  const mx = mean(x)
  const my = mean(y)
  const mz = mean(z)
  let h = 0
  let v = 0
  for (let i = 0; i < x.length; i++) {
    const dx = x[i]! - mx
    const dy = y[i]! - my
    h = Math.max(h, Math.hypot(dx, dy))
    v = Math.max(v, Math.abs(z[i]! - mz))
  }
  return { pga_gal: Math.round(h * 1000) / 1000, pga_z_gal: Math.round(v * 1000) / 1000 }
}

function summarize(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ')
}
