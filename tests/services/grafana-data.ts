/**
 * Realistic line protocol for the dashboards' queries, made with the sink's own functions
 * (gateway/src/sinks/influx/lines.ts): the demo county's stations over the last four hours, one
 * reading every five minutes with a storm passing (values rise through the station's thresholds and
 * fall back), the rules' window aggregates at each reading, the alerts and warnings (issue, update,
 * acknowledge, lift) those levels imply, coverage after each version, warnings on the air every five
 * minutes, and two equipment faults (one cleared, one still raised).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import type { ThresholdView } from '../../gateway/src/contracts/api.js'
import {
  activeLines,
  alertLine,
  coverageLine,
  faultLine,
  readingLine,
  warningLine,
  type StationPlace,
} from '../../gateway/src/sinks/influx/lines.js'
import { LEVELS, rank, type Level } from '../../rules/src/schema.js'
import type { ThresholdsFile } from '../../dashboards/grafana/src/index.js'
import { thresholdField } from '../../dashboards/grafana/src/thresholds.js'
import { DEMO_REGISTRY } from '../helpers/gateway.js'

const KINDS = join(import.meta.dirname, '../../gateway/config/kinds.yaml')
const M = 60_000
const STEP = 5 * M
const SPAN = 4 * 60 * M

interface Station {
  readonly id: string
  readonly region: string
  readonly sensors: readonly { id: string; kind: string }[]
}
type Quantities = Record<string, { min?: number; max?: number }>

export function demoStations(): Station[] {
  return (parse(readFileSync(DEMO_REGISTRY, 'utf8')) as { stations: Station[] }).stations
}

const ms = (span: string): number => {
  const m = /^(\d+)(m|h|d)$/.exec(span)
  if (!m) throw new Error(`unexpected window ${span}`)
  return Number(m[1]) * { m: M, h: 60 * M, d: 24 * 60 * M }[m[2] as 'm' | 'h' | 'd']
}

const holds = (op: ThresholdView['op'], v: number, ref: number) =>
  op === '>=' ? v >= ref : op === '>' ? v > ref : op === '<=' ? v <= ref : v < ref

/** The storm: 0 at the ends of the span, 1 at two hours in. */
const storm = (t: number, start: number) => Math.exp(-(((t - start - SPAN / 2) / (50 * M)) ** 2))

export interface DemoData {
  readonly lines: string[]
  /** How many points of each measurement were written. */
  readonly points: Record<string, number>
  /** Fields of the reading points (each a VictoriaMetrics sample). */
  readonly readingFields: number
  readonly stations: string[]
}

export function demoLines(now: number, file: ThresholdsFile): DemoData {
  const kinds = (parse(readFileSync(KINDS, 'utf8')) as { kinds: Record<string, { quantities: Quantities }> })
    .kinds
  const start = now - SPAN
  const times: number[] = []
  for (let t = start; t <= now - M; t += STEP) times.push(t)
  const lines: string[] = []
  const points: Record<string, number> = {}
  const push = (measurement: string, l: string | undefined) => {
    if (l === undefined) return
    lines.push(l)
    points[measurement] = (points[measurement] ?? 0) + 1
  }
  let readingFields = 0
  /** Warnings' transitions, for the snapshots of what is on the air. */
  const transitions: { key: string; at: number; level: Level | null }[] = []

  const stations = demoStations()
  for (const st of stations) {
    const place: StationPlace = { region: st.region }
    const list = file.stations[st.id] ?? []
    const sensor = st.sensors[0]!
    const reported = kinds[sensor.kind]?.quantities ?? {}
    // Every quantity the kind reports, and those the station's thresholds are on (derived ones too).
    const quantities = new Set([...Object.keys(reported), ...list.map((t) => t.quantity)])
    const series = new Map<string, number[]>()
    for (const q of quantities) {
      const rising = list.filter((t) => t.quantity === q && (t.op === '>=' || t.op === '>'))
      const windowed = rising.filter((t) => t.agg === 'sum' && t.window !== undefined)
      const last = rising.filter((t) => t.agg !== 'sum')
      let values: number[]
      if (windowed.length > 0) {
        // An amount per report whose sum over the shortest window passes its lowest threshold.
        const w = windowed.reduce((a, b) => (ms(a.window!) <= ms(b.window!) ? a : b))
        const lowest = Math.min(...windowed.filter((t) => t.window === w.window).map((t) => t.value))
        const peak = (1.3 * lowest) / Math.max(1, ms(w.window!) / STEP) / 0.8
        values = times.map((t) => Math.round(peak * storm(t, start) * 10) / 10)
      } else if (last.length > 0) {
        const lo = Math.min(...last.map((t) => t.value))
        const hi = Math.max(...last.map((t) => t.value))
        const base = lo > 0 ? lo * 0.85 : lo - 1
        values = times.map((t) => Math.round((base + (hi * 1.05 - base) * storm(t, start)) * 100) / 100)
      } else {
        const { min = 0, max = 100 } = reported[q] ?? {}
        const span = Math.min(max - min, 100)
        values = times.map(
          (t, i) => Math.round((min + span * (0.2 + 0.1 * storm(t, start) + 0.02 * (i % 3))) * 100) / 100,
        )
      }
      series.set(q, values)
    }
    // The rules' window aggregates the thresholds are on, at each reading.
    const aggregates = [
      ...new Map(list.filter((t) => t.agg !== 'last').map((t) => [thresholdField(t), t])).values(),
    ]
    const levels = new Map<string, Level | null>()
    const warningLevel = new Map<string, { level: Level | null; version: number }>()
    times.forEach((t, i) => {
      const values: Record<string, number> = {}
      for (const [q, v] of series) values[q] = v[i]!
      const derived: Record<string, number> = {}
      for (const a of aggregates) {
        const w = ms(a.window!)
        const inWindow = times
          .map((u, k) => [u, series.get(a.quantity)![k]!] as const)
          .filter(([u]) => u > t - w && u <= t)
        const xs = inWindow.map(([, v]) => v)
        derived[thresholdField(a)] =
          a.agg === 'sum'
            ? xs.reduce((s, v) => s + v, 0)
            : a.agg === 'mean'
              ? xs.reduce((s, v) => s + v, 0) / xs.length
              : a.agg === 'max'
                ? Math.max(...xs)
                : Math.min(...xs)
      }
      const fields = { ...values, ...derived }
      push(
        'reading',
        readingLine(
          { stationId: st.id, sensorId: sensor.id, kind: sensor.kind, ts: t, values, derived },
          place,
        ),
      )
      readingFields += Object.keys(fields).length
      // Each rule's level: the highest whose threshold the reading passes.
      const byRule = new Map<string, ThresholdView[]>()
      for (const th of list) byRule.set(th.ruleId, [...(byRule.get(th.ruleId) ?? []), th])
      const hazardLevel = new Map<string, Level | null>()
      /** The rule the hazard's level comes from (its first rule while none holds). */
      const hazardRule = new Map<string, string>()
      for (const [ruleId, ths] of byRule) {
        let level: Level | null = null
        for (const th of ths) {
          const v = fields[thresholdField(th)]
          if (v !== undefined && holds(th.op, v, th.value) && rank(th.level) > rank(level)) level = th.level
        }
        const from = levels.get(ruleId) ?? null
        if (level !== from) {
          push(
            'alert',
            alertLine(
              { stationId: st.id, ruleId, hazard: ths[0]!.hazard, kind: sensor.kind, from, to: level, ts: t },
              place,
            ),
          )
          levels.set(ruleId, level)
        }
        const h = ths[0]!.hazard
        if (rank(level) > rank(hazardLevel.get(h) ?? null)) {
          hazardLevel.set(h, level)
          hazardRule.set(h, ruleId)
        } else if (!hazardLevel.has(h)) {
          hazardLevel.set(h, null)
          hazardRule.set(h, ruleId)
        }
      }
      // One warning per station and hazard, released half a minute after the reading.
      for (const [hazard, level] of hazardLevel) {
        const key = `${st.id}/${hazard}`
        const w = warningLevel.get(key) ?? { level: null, version: 0 }
        if (level === w.level) continue
        const action = w.level === null ? 'issue' : level === null ? 'lift' : 'update'
        const at = t + 30_000
        const version = w.version + 1
        const warningId = `W-${st.id}-${hazard}`
        const ruleId = hazardRule.get(hazard)!
        push(
          'warning',
          warningLine({
            warningId,
            ruleId,
            hazard,
            region: st.region,
            stationId: st.id,
            action,
            status: 'Actual',
            level: level ?? w.level,
            version,
            targets: 4,
            text: `【${hazard}】${st.id} ${action} ${level ?? w.level}`,
            at,
          }),
        )
        transitions.push({ key, at, level })
        if (action === 'issue')
          push(
            'warning',
            warningLine({
              warningId,
              ruleId,
              hazard,
              region: st.region,
              stationId: st.id,
              action: 'acknowledge',
              level,
              at: at + 3 * M,
            }),
          )
        if (level !== null)
          push(
            'coverage',
            coverageLine({
              warningId,
              ruleId,
              stationId: st.id,
              hazard,
              region: st.region,
              level,
              targeted: 4,
              reached: 4,
              played: i % 2 === 0 ? 4 : 3,
              failed: i % 2 === 0 ? 0 : 1,
              offline: 0,
              unanswered: 0,
              at: at + 2 * M,
            }),
          )
        warningLevel.set(key, { level, version })
      }
    })
  }
  // What is on the air every five minutes, per level (zeros included).
  for (const t of times) {
    const current = new Map<string, Level | null>()
    for (const tr of transitions) if (tr.at <= t) current.set(tr.key, tr.level)
    const counts: Partial<Record<Level, number>> = {}
    for (const l of current.values()) if (l !== null) counts[l] = (counts[l] ?? 0) + 1
    for (const l of activeLines(counts, LEVELS, t)) push('warnings_active', l)
  }
  const faults = [
    {
      stationId: 'RG-BH-01',
      sensorId: 'rg-bh-01',
      fault: 'no_data',
      region: '511823101203',
      active: true,
      detail: 'no reading for 30 min',
      at: start + 60 * M,
    },
    {
      stationId: 'RG-BH-01',
      sensorId: 'rg-bh-01',
      fault: 'no_data',
      region: '511823101203',
      active: false,
      detail: 'readings again',
      at: start + 100 * M,
    },
    {
      stationId: 'GAS-PK-01',
      sensorId: 'gas-pk-01',
      fault: 'out_of_range',
      region: '511823200201',
      active: true,
      detail: 'o2_pct_vol 31 above 30',
      at: now - 30 * M,
    },
  ]
  for (const f of faults) push('fault', faultLine(f))
  return { lines, points, readingFields, stations: stations.map((s) => s.id) }
}
