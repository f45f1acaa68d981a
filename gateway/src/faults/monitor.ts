/**
 * Equipment faults (设备故障), kept apart from hazards (险情): a sensor that has sent nothing for its
 * kind's `noDataAfter`, that reports values outside its kind's plausible range, that jumps faster
 * than its quantity can change (spike), or whose value is stuck (flatline); a device whose
 * connection broke without a goodbye (its last will: offline), whose battery runs low, or whose
 * clock stamps readings ahead of the gateway's (clock). Silence is
 * measured on the gateway's clock from the last message received, since a silent sensor's own
 * event time stands still. Faults are persisted, exposed on the API and retained on
 * `faults/{stationId}/{sensorId}`; a hazard decided while its station is faulty is unverified.
 */
import type { Emit } from '../events/bus.js'
import type { Logger } from 'pino'
import { durationMs } from '../../../rules/src/index.js'
import { faultTopic } from '../contracts/topics.js'
import type { Metrics } from '../metrics.js'
import type { SensorKind } from '../registry/schema.js'
import type { CurrentRuntime } from '../runtime.js'
import type { Db } from '../store/db.js'

export type FaultKind =
  'no_data' | 'out_of_range' | 'spike' | 'flatline' | 'offline' | 'battery_low' | 'clock'
const FAULT_KINDS: readonly FaultKind[] = [
  'no_data',
  'out_of_range',
  'spike',
  'flatline',
  'offline',
  'battery_low',
  'clock',
]
/** Faults that say nothing against the values a sensor sends: its hazards stay verified. */
const HARMLESS: ReadonlySet<FaultKind> = new Set(['battery_low'])
/** A low battery clears only once charged this much above the limit (no flapping at the edge). */
const BATTERY_HYSTERESIS_PCT = 5

/** What the monitor remembers of one quantity of one sensor, in event time. */
interface Track {
  lastTs: number
  last: number
  /** Since when, and over how many readings, the value has not changed. */
  sameSince: number
  sameCount: number
}

export interface FaultRow {
  readonly id: number
  readonly sensorId: string
  readonly stationId: string
  readonly kind: FaultKind
  readonly detail: string
  /** Gateway wall clock, epoch ms. */
  readonly since: number
  readonly clearedAt: number | null
}

export interface FaultDeps {
  readonly db: Db
  readonly runtime: CurrentRuntime
  readonly metrics: Metrics
  readonly log: Logger
  readonly now: () => number
  readonly limits: {
    readonly batteryLowPct: number
    /** Readings stamped further ahead of `now()` are from a wrong clock; undefined: not checked. */
    readonly clockAheadMs: number | undefined
    /** Messages sent (by the device's clock) further behind `now()`; undefined: not checked. */
    readonly clockBehindMs?: number | undefined
  }
  readonly publish: (topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean }) => Promise<void>
  /** The event stream: faults raised and cleared. */
  readonly emit: Emit
}

const faultFrom = (r: Record<string, unknown>): FaultRow => ({
  id: r.id as number,
  sensorId: r.sensor_id as string,
  stationId: r.station_id as string,
  kind: r.kind as FaultKind,
  detail: r.detail as string,
  since: r.since as number,
  clearedAt: r.cleared_at as number | null,
})

export class FaultMonitor {
  private readonly lastSeen = new Map<string, number>()
  /** Per `${sensorId}|${quantity}`: the previous value, for spikes and flatlines. */
  private readonly tracks = new Map<string, Track>()
  /** Sensors with any active fault: the common case, none, is answered without building keys. */
  private readonly faulty = new Map<string, number>()
  /** Active faults by `${sensorId}|${kind}`. */
  private readonly active = new Map<string, FaultRow>()
  private readonly startedAt: number
  private timer: NodeJS.Timeout | undefined
  private readonly log: Logger

  constructor(private readonly deps: FaultDeps) {
    this.log = deps.log.child({ component: 'faults' })
    this.startedAt = deps.now()
    for (const r of deps.db.prepare('SELECT * FROM faults WHERE cleared_at IS NULL').all() as Record<
      string,
      unknown
    >[]) {
      const f = faultFrom(r)
      this.active.set(`${f.sensorId}|${f.kind}`, f)
      this.faulty.set(f.sensorId, (this.faulty.get(f.sensorId) ?? 0) + 1)
    }
    this.gauge()
  }

  /** Checks for silent sensors every `everyMs` until stop(). */
  start(everyMs: number): void {
    this.timer = setInterval(() => this.check(), everyMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /** A message arrived from a registered sensor: it is alive, and connected. */
  seen(sensorId: string): void {
    this.lastSeen.set(sensorId, this.deps.now())
    if (!this.faulty.has(sensorId)) return
    if (this.active.has(`${sensorId}|no_data`)) this.clear(sensorId, 'no_data')
    if (this.active.has(`${sensorId}|offline`)) this.clear(sensorId, 'offline')
  }

  /**
   * A sensor's status message: `offline` is its last will (the broker saw the connection break
   * without a DISCONNECT); `battery` its charge in percent.
   */
  status(
    sensorId: string,
    stationId: string,
    state: 'online' | 'offline',
    battery: number | undefined,
  ): void {
    if (state === 'online') this.seen(sensorId)
    else if (!this.active.has(`${sensorId}|offline`))
      this.raise(sensorId, stationId, 'offline', 'connection lost without a goodbye (last will)')
    if (battery === undefined) return
    const { batteryLowPct } = this.deps.limits
    const low = this.active.has(`${sensorId}|battery_low`)
    if (!low && battery < batteryLowPct)
      this.raise(sensorId, stationId, 'battery_low', `battery ${battery} % (below ${batteryLowPct} %)`)
    else if (low && battery >= batteryLowPct + BATTERY_HYSTERESIS_PCT) this.clear(sensorId, 'battery_low')
  }

  /**
   * True when a reading's event time is further ahead of the gateway's clock than allowed: the
   * device's clock is wrong (a clock fault is raised) and the reading must not be evaluated.
   * Event times behind the clock are not judged: loggers send their backlog late after an outage.
   * A clock running behind shows only in the time the device says it sent the message (`sentAt`,
   * SL 651's 发报时间): too far behind is a clock fault too, but the reading is still evaluated
   * (its hazards unverified), since a late clock moves no window into the future.
   */
  clockAhead(sensorId: string, stationId: string, ts: number, sentAt?: number): boolean {
    const { clockAheadMs: aheadLimit, clockBehindMs: behindLimit } = this.deps.limits
    const judgeBehind = sentAt !== undefined && behindLimit !== undefined
    if (aheadLimit === undefined && !judgeBehind) return false
    const now = this.deps.now()
    const ahead = aheadLimit === undefined ? 0 : Math.max(ts, sentAt ?? ts) - now
    const behind = judgeBehind ? now - sentAt : 0
    const min = (ms: number) => Math.round(ms / 60_000)
    const detail =
      aheadLimit !== undefined && ahead > aheadLimit
        ? `${sentAt !== undefined && sentAt > ts ? `sent at ${new Date(sentAt).toISOString()}` : `reading stamped ${new Date(ts).toISOString()}`}, ${min(ahead)} min ahead of the gateway clock`
        : judgeBehind && behind > behindLimit
          ? `sent at ${new Date(sentAt).toISOString()} by its own clock, ${min(behind)} min behind the gateway clock`
          : null
    this.state(sensorId, stationId, 'clock', detail)
    return aheadLimit !== undefined && ahead > aheadLimit
  }

  /**
   * Checks a sensor's reading (event time `ts`) for faults: out of range (found by the decoder),
   * spikes and flatlines. Returns the quantities to keep out of evaluation: out of range or
   * spiking. A flatlining value is still evaluated, but the station's hazards are unverified.
   */
  inspect(
    sensorId: string,
    stationId: string,
    kind: SensorKind,
    ts: number,
    values: Readonly<Record<string, number>>,
    outOfRange: readonly string[],
  ): string[] {
    const spikes: string[] = []
    const stuck: string[] = []
    for (const q in values) {
      const spec = kind.quantities[q]
      if (!spec || (spec.maxChangePerMin === undefined && spec.flatlineAfter === undefined)) continue
      if (outOfRange.includes(q)) continue // an impossible value is no baseline for the next one
      const v = values[q]!
      const key = `${sensorId}|${q}`
      const t = this.tracks.get(key)
      if (!t) {
        this.tracks.set(key, { lastTs: ts, last: v, sameSince: ts, sameCount: 1 })
        continue
      }
      if (ts <= t.lastTs) continue // late or repeated: no rate to judge
      if (spec.maxChangePerMin !== undefined) {
        const minutes = (ts - t.lastTs) / 60_000
        if (Math.abs(v - t.last) > spec.maxChangePerMin * minutes)
          spikes.push(`${q} ${t.last} → ${v} in ${Math.round(minutes * 60)} s`)
      }
      if (v === t.last) t.sameCount++
      else {
        t.sameSince = ts
        t.sameCount = 1
      }
      t.lastTs = ts
      t.last = v
      if (
        spec.flatlineAfter !== undefined &&
        t.sameCount >= 3 &&
        ts - t.sameSince >= durationMs(spec.flatlineAfter)
      )
        stuck.push(`${q} stuck at ${v} since ${new Date(t.sameSince).toISOString()}`)
    }
    this.state(
      sensorId,
      stationId,
      'out_of_range',
      outOfRange.length > 0 ? `out of range: ${outOfRange.join(', ')}` : null,
    )
    this.state(
      sensorId,
      stationId,
      'spike',
      spikes.length > 0 ? `impossible jump: ${spikes.join('; ')}` : null,
    )
    this.state(sensorId, stationId, 'flatline', stuck.length > 0 ? stuck.join('; ') : null)
    return [...outOfRange, ...spikes.map((s) => s.split(' ')[0]!)]
  }

  /** Raises (with `detail`) or clears (null) one kind of fault of a sensor. */
  private state(sensorId: string, stationId: string, kind: FaultKind, detail: string | null): void {
    if (detail === null && !this.faulty.has(sensorId)) return
    const open = this.active.has(`${sensorId}|${kind}`)
    if (detail !== null && !open) this.raise(sensorId, stationId, kind, detail)
    else if (detail === null && open) this.clear(sensorId, kind)
  }

  /**
   * True while any sensor of the station is in a fault that puts its values in doubt: its hazard
   * evaluations are unverified. A low battery alone does not.
   */
  stationFaulty(stationId: string): boolean {
    for (const f of this.active.values()) if (f.stationId === stationId && !HARMLESS.has(f.kind)) return true
    return false
  }

  list(state: 'active' | 'all', limit: number): FaultRow[] {
    const rows = (
      state === 'active'
        ? this.deps.db
            .prepare('SELECT * FROM faults WHERE cleared_at IS NULL ORDER BY since DESC LIMIT ?')
            .all(limit)
        : this.deps.db.prepare('SELECT * FROM faults ORDER BY since DESC LIMIT ?').all(limit)
    ) as Record<string, unknown>[]
    return rows.map(faultFrom)
  }

  /** Raises no-data faults for sensors silent longer than their limit (from start-up if never heard). */
  check(): void {
    const now = this.deps.now()
    const { registry } = this.deps.runtime()
    for (const station of registry.stations)
      for (const sensor of station.sensors) {
        const limit = sensor.noDataAfter ?? registry.kind(sensor.kind)?.noDataAfter
        if (limit === undefined || this.active.has(`${sensor.id}|no_data`)) continue
        const last = this.lastSeen.get(sensor.id) ?? this.startedAt
        if (now - last >= durationMs(limit))
          this.raise(
            sensor.id,
            station.id,
            'no_data',
            `nothing received for ${limit} (last ${new Date(last).toISOString()})`,
          )
      }
  }

  private raise(sensorId: string, stationId: string, kind: FaultKind, detail: string): void {
    const since = this.deps.now()
    const info = this.deps.db
      .prepare('INSERT INTO faults (sensor_id, station_id, kind, detail, since) VALUES (?, ?, ?, ?, ?)')
      .run(sensorId, stationId, kind, detail, since)
    const row: FaultRow = {
      id: Number(info.lastInsertRowid),
      sensorId,
      stationId,
      kind,
      detail,
      since,
      clearedAt: null,
    }
    this.active.set(`${sensorId}|${kind}`, row)
    this.faulty.set(sensorId, (this.faulty.get(sensorId) ?? 0) + 1)
    this.deps.metrics.faultTransitions.labels(kind, 'raised').inc()
    this.deps.metrics.faultsActive.labels(kind).inc()
    this.log.warn({ sensorId, stationId, kind, detail }, 'equipment fault')
    this.announce(row)
  }

  private clear(sensorId: string, kind: FaultKind): void {
    const row = this.active.get(`${sensorId}|${kind}`)
    if (!row) return
    const at = this.deps.now()
    this.deps.db.prepare('UPDATE faults SET cleared_at = ? WHERE id = ?').run(at, row.id)
    this.active.delete(`${sensorId}|${kind}`)
    const left = (this.faulty.get(sensorId) ?? 1) - 1
    if (left > 0) this.faulty.set(sensorId, left)
    else this.faulty.delete(sensorId)
    this.deps.metrics.faultTransitions.labels(kind, 'cleared').inc()
    this.deps.metrics.faultsActive.labels(kind).dec()
    this.log.info({ sensorId, stationId: row.stationId, kind }, 'equipment fault cleared')
    this.announce({ ...row, clearedAt: at })
  }

  /** Sets the active-fault gauges from scratch (at start; raise and clear keep them after). */
  private gauge(): void {
    const counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>
    for (const f of this.active.values()) counts[f.kind]++
    for (const [k, n] of Object.entries(counts)) this.deps.metrics.faultsActive.labels(k).set(n)
  }

  private announce(row: FaultRow): void {
    this.deps
      .publish(
        faultTopic(row.stationId, row.sensorId),
        JSON.stringify({ ...row, state: row.clearedAt === null ? 'active' : 'cleared' }),
        {
          qos: 1,
          retain: true,
        },
      )
      .catch((e: unknown) => this.log.warn({ err: e }, 'fault state not published'))
    const station = this.deps.runtime().registry.station(row.stationId)
    const { sensorId, stationId, kind, detail } = row
    this.deps
      .emit({
        type: row.clearedAt === null ? 'fault.raised' : 'fault.cleared',
        region: station?.region ?? null,
        data: { sensorId, stationId, kind, detail },
      })
      .catch((e: unknown) => this.log.warn({ err: e }, 'fault event not recorded'))
  }
}
