/**
 * Case files (`rules/catalog/*.cases.yaml`), in the spirit of `promtool test rules`: input series
 * for stations, and the exact level transitions the catalogue must produce, with their times.
 * Pure: text in, results out.
 *
 * Series values: `30` one sample, `30x4` four samples of 30, `30+0.5x4` 30 then four steps of
 * +0.5 (five samples), `30-1x2`, `_` no sample at that step, `_x3` three missing steps.
 */
import { z } from 'zod'
import { RulesEngine, type Transition } from './engine.js'
import { Duration, durationMs, Level, type Catalogue } from './schema.js'
import { parseYaml, type Parsed } from './yaml.js'

const Station = z.strictObject({
  kind: z.string(),
  params: z.record(z.string(), z.number()).default({}),
  /** 12-digit region code, which groups stations for k-of-n rules. */
  region: z
    .string()
    .regex(/^\d{12}$/, 'expected a 12-digit administrative division code')
    .optional(),
})

const Expected = z.strictObject({
  at: Duration,
  rule: z.string(),
  station: z.string(),
  kind: z.enum(['raise', 'escalate', 'deescalate', 'clear']),
  to: Level.nullable(),
})

const Case = z.strictObject({
  name: z.string().min(1),
  /** Time between consecutive values of every series. */
  interval: Duration,
  series: z
    .array(
      z.strictObject({
        station: z.string(),
        quantity: z.string(),
        values: z.union([z.string(), z.number()]),
      }),
    )
    .min(1),
  /** Every transition, in order; an empty list asserts that nothing fires. */
  expect: z.array(Expected),
})

export const CasesFile = z
  .strictObject({
    catalogue: z.string(),
    stations: z.record(z.string(), Station),
    cases: z.array(Case).min(1),
  })
  .superRefine((f, ctx) =>
    f.cases.forEach((c, i) =>
      c.series.forEach((s, j) => {
        if (!(s.station in f.stations))
          ctx.addIssue({
            code: 'custom',
            path: ['cases', i, 'series', j, 'station'],
            message: `station ${s.station} is not declared`,
          })
        if (expandSeries(String(s.values)) === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['cases', i, 'series', j, 'values'],
            message: `cannot read series "${s.values}"`,
          })
      }),
    ),
  )
export type CasesFile = z.infer<typeof CasesFile>

export function parseCases(text: string, file: string): Parsed<CasesFile> {
  return parseYaml(text, file, CasesFile)
}

/** Expands the series notation into one value (or null for a missing sample) per step. */
export function expandSeries(notation: string): (number | null)[] | undefined {
  const out: (number | null)[] = []
  for (const token of notation.trim().split(/\s+/)) {
    if (token === '') continue
    let m = /^_(?:x(\d+))?$/.exec(token)
    if (m) {
      out.push(...Array<null>(m[1] !== undefined ? Number(m[1]) : 1).fill(null))
      continue
    }
    m = /^(-?\d+(?:\.\d+)?)(?:([+-])(\d+(?:\.\d+)?)x(\d+)|x(\d+))?$/.exec(token)
    if (!m) return undefined
    const start = Number(m[1])
    if (m[2] !== undefined) {
      const step = Number(m[3]) * (m[2] === '-' ? -1 : 1)
      for (let k = 0; k <= Number(m[4]); k++) out.push(Math.round((start + k * step) * 1e9) / 1e9)
    } else out.push(...Array<number>(m[5] !== undefined ? Number(m[5]) : 1).fill(start))
  }
  return out
}

export interface CaseResult {
  readonly name: string
  readonly ok: boolean
  /** Transitions as `at rule station kind to`, for a readable diff. */
  readonly expected: readonly string[]
  readonly actual: readonly string[]
}

/** Event time origin of every case: 2026-07-15T00:00:00Z. Times in `at` are offsets from it. */
export const CASE_T0 = Date.UTC(2026, 6, 15)

const fmtOffset = (ms: number): string => {
  if (ms % 60_000 !== 0) return `${ms / 1000}s`
  const m = ms / 60_000
  return m >= 60 && m % 60 === 0 ? `${m / 60}h` : `${m}m`
}
const line = (at: number, rule: string, station: string, kind: string, to: Level | null) =>
  `${fmtOffset(at)} ${rule} ${station} ${kind} ${to ?? 'none'}`

/** Runs every case of a file against the catalogues; each case starts from a fresh engine. */
export function runCases(catalogues: readonly Catalogue[], file: CasesFile): CaseResult[] {
  return file.cases.map((c) => {
    const engine = new RulesEngine(catalogues, (id) => file.stations[id])
    const step = durationMs(c.interval)
    const samples: { ts: number; stationId: string; kind: string; quantity: string; value: number }[] = []
    for (const s of c.series) {
      const values = expandSeries(String(s.values)) ?? []
      values.forEach((v, i) => {
        if (v !== null)
          samples.push({
            ts: CASE_T0 + i * step,
            stationId: s.station,
            kind: file.stations[s.station]!.kind,
            quantity: s.quantity,
            value: v,
          })
      })
    }
    // Quantities of one station at one instant form one reading, as a device reports them.
    const readings = new Map<
      string,
      { ts: number; stationId: string; kind: string; values: Record<string, number> }
    >()
    for (const x of samples) {
      const key = `${x.ts}\u0000${x.stationId}\u0000${x.kind}`
      const r = readings.get(key) ?? { ts: x.ts, stationId: x.stationId, kind: x.kind, values: {} }
      r.values[x.quantity] = x.value
      readings.set(key, r)
    }
    const ordered = [...readings.values()].sort(
      (a, b) => a.ts - b.ts || a.stationId.localeCompare(b.stationId),
    )
    const transitions: Transition[] = ordered.flatMap((r) => engine.evaluate(r).transitions)
    const actual = transitions.map((t) => line(t.ts - CASE_T0, t.ruleId, t.stationId, t.kind, t.to))
    const expected = c.expect.map((e) => line(durationMs(e.at), e.rule, e.station, e.kind, e.to))
    return { name: c.name, ok: actual.join('\n') === expected.join('\n'), expected, actual }
  })
}
