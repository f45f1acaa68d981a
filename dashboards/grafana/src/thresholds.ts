/**
 * The stations' thresholds the station view draws as lines, as the gateway serves them
 * (`GET /api/stations/:id/thresholds`): kept in `dashboards/grafana/thresholds.json`, which
 * `build.ts --thresholds-from <gateway url>` refreshes from a running gateway (the committed file is
 * the demo county's). Grafana cannot change a panel's thresholds with a template variable, so each
 * station's are an override of the series whose name carries that station's id.
 */
import type { z } from 'zod'
import type { Stations, Thresholds, ThresholdView } from '../../../gateway/src/contracts/api.js'
import { rank } from '../../../rules/src/schema.js'

export interface ThresholdsFile {
  /** Where the thresholds came from (the gateway and registry), for the reader of the JSON. */
  readonly source: string
  /** Station id → its thresholds, in the gateway's order. */
  readonly stations: Readonly<Record<string, readonly ThresholdView[]>>
}

/** The reading field a threshold is about: the quantity itself, or its window aggregate. */
export const thresholdField = (t: Pick<ThresholdView, 'quantity' | 'agg' | 'window'>): string =>
  t.agg === 'last' || t.window === undefined ? t.quantity : `${t.quantity}_${t.agg}_${t.window}`

/**
 * The quantities some station has thresholds for, in the order they first appear, each under the
 * hazard it first appears with (rain under flash floods, not again under rainstorms), with its unit.
 */
export function thresholdQuantities(
  file: ThresholdsFile,
): { hazard: string; quantity: string; unit?: string }[] {
  const out = new Map<string, { hazard: string; unit: string | undefined }>()
  for (const list of Object.values(file.stations))
    for (const t of list) {
      const seen = out.get(t.quantity)
      if (!seen) out.set(t.quantity, { hazard: t.hazard, unit: t.unit })
      else if (seen.unit === undefined && t.unit !== undefined) seen.unit = t.unit
    }
  return [...out].map(([quantity, { hazard, unit }]) => ({
    hazard,
    quantity,
    ...(unit !== undefined ? { unit } : {}),
  }))
}

/** One station's threshold values per field, each value once with the highest level that starts there. */
export function stationFieldThresholds(
  list: readonly ThresholdView[],
): Map<string, { value: number; level: ThresholdView['level'] }[]> {
  const out = new Map<string, { value: number; level: ThresholdView['level'] }[]>()
  for (const t of list) {
    const field = thresholdField(t)
    const steps = out.get(field) ?? []
    const same = steps.find((s) => s.value === t.value)
    if (!same) steps.push({ value: t.value, level: t.level })
    else if (rank(t.level) > rank(same.level)) same.level = t.level
    out.set(field, steps)
  }
  for (const steps of out.values()) steps.sort((a, b) => a.value - b.value)
  return out
}

async function get<T>(base: string, path: string, token: string | undefined): Promise<T> {
  const res = await fetch(new URL(path, base), token ? { headers: { authorization: `Bearer ${token}` } } : {})
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as T
}

/** Every station's thresholds as the gateway at `base` serves them (a viewer's token where reads need one). */
export async function fetchThresholds(base: string, token?: string): Promise<ThresholdsFile> {
  const { stations } = await get<z.infer<typeof Stations>>(base, '/api/stations', token)
  const out: Record<string, z.infer<typeof Thresholds>['thresholds']> = {}
  for (const s of stations)
    out[s.id] = (
      await get<z.infer<typeof Thresholds>>(
        base,
        `/api/stations/${encodeURIComponent(s.id)}/thresholds`,
        token,
      )
    ).thresholds
  return {
    source: 'GET /api/stations/:id/thresholds of each station of the gateway’s registry',
    stations: out,
  }
}
