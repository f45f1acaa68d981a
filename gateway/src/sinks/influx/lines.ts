/**
 * The InfluxDB line protocol the sink writes: one measurement per thing a chart or an annotation
 * shows, tags only from bounded sets (registry ids, region codes, hazards, levels, actions), every
 * unbounded value (warning ids, texts, details) a field. Millisecond precision throughout.
 *
 * | measurement       | tags                                          | fields                                              | time              |
 * |-------------------|-----------------------------------------------|-----------------------------------------------------|-------------------|
 * | `reading`         | station, sensor, kind, region, site?          | each quantity (float); the rules' window aggregates at that reading, `{quantity}_{agg}_{window}` (e.g. `rain_mm_sum_1h`) | event time        |
 * | `alert`           | station, rule, hazard, kind, region           | level, from (rank 0–4), level_name, from_name        | event time        |
 * | `warning`         | hazard, region, action, status, rule, station? | level (rank), version, targets, warning_id, text     | release (gateway) |
 * | `fault`           | station, sensor, fault, region?               | active (1 raised, 0 cleared), detail                 | gateway clock     |
 * | `warnings_active` | level                                         | count                                               | snapshot          |
 * | `coverage`        | hazard, region, level, rule, station          | targeted, reached, played, failed, offline, unanswered, ratio (played/targeted), warning_id | snapshot |
 *
 * Pure: nothing here knows the database or the client; the sink and the tests share it.
 */
import { rank, type Level } from '../../../../rules/src/index.js'
import type { VersionCoverage } from '../../warnings/model.js'

/** A tag value or key: commas, equals signs and spaces are escaped (line protocol). */
const tagEsc = (s: string): string =>
  /[,= \\\n]/.test(s) ? s.replace(/[\\,= ]/g, '\\$&').replace(/\n/g, '\\n') : s
/** A measurement name: commas and spaces escaped. */
const measEsc = (s: string): string => s.replace(/[,\\ ]/g, '\\$&')
/** A string field value: in double quotes, with quotes and backslashes escaped. */
const strField = (s: string): string => `"${s.replace(/[\\"]/g, '\\$&')}"`
const int = (n: number): string => `${Math.trunc(n)}i`

export type FieldValue = number | { readonly int: number } | string | boolean

/**
 * One point as a line. Tags are sorted by key (what InfluxDB asks for, it indexes faster), empty
 * tags are left out, non-finite numbers are left out (line protocol has no NaN); a point with no
 * field left is no point (undefined).
 */
export function line(
  measurement: string,
  tags: Readonly<Record<string, string | undefined | null>>,
  fields: Readonly<Record<string, FieldValue | undefined | null>>,
  ts: number,
): string | undefined {
  let out = measEsc(measurement)
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k]
    if (v === undefined || v === null || v === '') continue
    out += `,${tagEsc(k)}=${tagEsc(v)}`
  }
  let sep = ' '
  let any = false
  for (const k in fields) {
    const v = fields[k]
    if (v === undefined || v === null) continue
    let enc: string
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) continue
      enc = String(v)
    } else if (typeof v === 'string') enc = strField(v)
    else if (typeof v === 'boolean') enc = v ? 'true' : 'false'
    else enc = int(v.int)
    out += `${sep}${tagEsc(k)}=${enc}`
    sep = ','
    any = true
  }
  if (!any) return undefined
  return `${out} ${Math.trunc(ts)}`
}

/** Where a station is: its village (or other region) code and its enterprise site, if any. */
export interface StationPlace {
  readonly region: string
  readonly site?: string | undefined
}

export interface ReadingPoint {
  readonly stationId: string
  readonly sensorId: string
  readonly kind: string
  readonly ts: number
  readonly values: Readonly<Record<string, number>>
  /** The rules' window aggregates at this reading (`rain_mm_sum_1h`…). */
  readonly derived?: Readonly<Record<string, number>> | undefined
}

export function readingLine(r: ReadingPoint, place: StationPlace | undefined): string | undefined {
  const fields: Record<string, number> = { ...r.values, ...r.derived }
  return line(
    'reading',
    { station: r.stationId, sensor: r.sensorId, kind: r.kind, region: place?.region, site: place?.site },
    fields,
    r.ts,
  )
}

/** The measurement and tags of a sensor's readings: the same for all of them, so made once per sensor. */
export function readingSeries(
  r: Pick<ReadingPoint, 'stationId' | 'sensorId' | 'kind'>,
  place: StationPlace | undefined,
): string {
  // A placeholder field makes `line` write the series; it is cut off again.
  const l = line(
    'reading',
    { station: r.stationId, sensor: r.sensorId, kind: r.kind, region: place?.region, site: place?.site },
    { x: 0 },
    0,
  )!
  return l.slice(0, l.length - ' x=0 0'.length)
}

/** `{"stage_m":30.5,"q":1}` as stored (JSON.stringify of finite numbers under plain names). */
const FLAT_JSON = /^\{"[A-Za-z0-9_]+":-?[0-9][0-9.eE+-]*(?:,"[A-Za-z0-9_]+":-?[0-9][0-9.eE+-]*)*\}$/

/**
 * A stored reading's line from its series (`readingSeries`) and its values and aggregates as the
 * store keeps them (JSON), without parsing them: the backlog's hot path. Byte for byte what
 * `readingLine` writes; anything but plain names and finite numbers takes `readingLine`'s way.
 */
export function storedReadingLine(
  series: string,
  vals: string,
  derived: string | null,
  ts: number,
  slow: () => string | undefined,
): string | undefined {
  if (!FLAT_JSON.test(vals) || (derived !== null && !FLAT_JSON.test(derived))) return slow()
  let fields = vals.slice(1, -1).replace(/"([A-Za-z0-9_]+)":/g, '$1=')
  if (derived !== null) {
    // An aggregate of the same name as a value wins in readingLine ({...values, ...derived}).
    const d = derived.slice(1, -1).replace(/"([A-Za-z0-9_]+)":/g, '$1=')
    const names = new Set(d.split(',').map((f) => f.slice(0, f.indexOf('='))))
    if (fields.split(',').some((f) => names.has(f.slice(0, f.indexOf('='))))) return slow()
    fields = `${fields},${d}`
  }
  return `${series} ${fields} ${Math.trunc(ts)}`
}

export interface AlertPoint {
  readonly stationId: string
  readonly ruleId: string
  readonly hazard: string
  readonly kind: string
  readonly from: Level | null
  readonly to: Level | null
  readonly ts: number
}

/** A rule's level transition at a station (what made a warning change, or not, once grouped). */
export function alertLine(a: AlertPoint, place: StationPlace | undefined): string {
  return line(
    'alert',
    { station: a.stationId, rule: a.ruleId, hazard: a.hazard, kind: a.kind, region: place?.region },
    {
      level: { int: rank(a.to) },
      from: { int: rank(a.from) },
      level_name: a.to ?? 'none',
      from_name: a.from ?? 'none',
    },
    a.ts,
  )!
}

export interface WarningPoint {
  readonly warningId: string
  readonly ruleId: string
  readonly hazard: string
  readonly region: string
  readonly stationId?: string | undefined
  readonly action: 'issue' | 'update' | 'lift' | 'acknowledge' | 'escalate'
  readonly status?: string | undefined
  readonly level: Level | null
  readonly version?: number | undefined
  readonly targets?: number | undefined
  readonly text?: string | undefined
  readonly at: number
}

/** A warning's version going out, or an acknowledgement or escalation of it: Grafana annotations. */
export function warningLine(w: WarningPoint): string {
  return line(
    'warning',
    {
      hazard: w.hazard,
      region: w.region,
      action: w.action,
      status: w.status,
      rule: w.ruleId,
      station: w.stationId,
    },
    {
      level: { int: rank(w.level) },
      ...(w.version !== undefined ? { version: { int: w.version } } : {}),
      ...(w.targets !== undefined ? { targets: { int: w.targets } } : {}),
      warning_id: w.warningId,
      ...(w.text !== undefined ? { text: w.text } : {}),
    },
    w.at,
  )!
}

export interface FaultPoint {
  readonly stationId: string
  readonly sensorId: string
  readonly fault: string
  readonly region?: string | undefined
  readonly active: boolean
  readonly detail: string
  readonly at: number
}

/** An equipment fault raised or cleared. */
export function faultLine(f: FaultPoint): string {
  return line(
    'fault',
    { station: f.stationId, sensor: f.sensorId, fault: f.fault, region: f.region },
    { active: { int: f.active ? 1 : 0 }, detail: f.detail },
    f.at,
  )!
}

/** How many warnings are on the air, per level (every level, zeros included, so a chart drops to 0). */
export function activeLines(
  counts: Readonly<Partial<Record<Level, number>>>,
  levels: readonly Level[],
  at: number,
): string[] {
  return levels.map((l) => line('warnings_active', { level: l }, { count: { int: counts[l] ?? 0 } }, at)!)
}

/** One active warning's reach: the loudspeakers of its latest released version, as coverage counts them. */
export interface CoveragePoint extends Pick<
  VersionCoverage,
  'targeted' | 'reached' | 'played' | 'failed' | 'offline' | 'unanswered'
> {
  readonly warningId: string
  readonly ruleId: string
  readonly stationId: string
  readonly hazard: string
  readonly region: string
  readonly level: Level | null
  readonly at: number
}

/** One active warning's loudspeaker reach so far (its latest released version). */
export function coverageLine(c: CoveragePoint): string {
  return line(
    'coverage',
    { hazard: c.hazard, region: c.region, level: c.level ?? 'none', rule: c.ruleId, station: c.stationId },
    {
      targeted: { int: c.targeted },
      reached: { int: c.reached },
      played: { int: c.played },
      failed: { int: c.failed },
      offline: { int: c.offline },
      unanswered: { int: c.unanswered },
      ratio: c.targeted > 0 ? c.played / c.targeted : 0,
      warning_id: c.warningId,
    },
    c.at,
  )!
}
