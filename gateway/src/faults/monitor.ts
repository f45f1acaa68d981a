/**
 * Equipment faults (设备故障), kept apart from hazards (险情): a sensor that has sent nothing for its
 * kind's `noDataAfter`, or that reports values outside its kind's plausible range. Silence is
 * measured on the gateway's clock from the last message received, since a silent sensor's own
 * event time stands still. Faults are persisted, exposed on the API and retained on
 * `faults/{stationId}/{sensorId}`; a hazard decided while its station is faulty is unverified.
 */
import type { Logger } from 'pino'
import { durationMs } from '../../../rules/src/index.js'
import { faultTopic } from '../contracts/topics.js'
import type { Metrics } from '../metrics.js'
import type { CurrentRuntime } from '../runtime.js'
import type { Db } from '../store/db.js'

export type FaultKind = 'no_data' | 'out_of_range'

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
  readonly publish: (topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean }) => Promise<void>
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

  /** A message arrived from a registered sensor: it is alive. */
  seen(sensorId: string): void {
    this.lastSeen.set(sensorId, this.deps.now())
    if (this.active.has(`${sensorId}|no_data`)) this.clear(sensorId, 'no_data')
  }

  /** The sensor's latest reading had quantities outside their plausible range (or none). */
  ranges(sensorId: string, stationId: string, outOfRange: readonly string[]): void {
    const open = this.active.has(`${sensorId}|out_of_range`)
    if (outOfRange.length > 0 && !open)
      this.raise(sensorId, stationId, 'out_of_range', `out of range: ${outOfRange.join(', ')}`)
    else if (outOfRange.length === 0 && open) this.clear(sensorId, 'out_of_range')
  }

  /** True while any sensor of the station is in fault: its hazard evaluations are unverified. */
  stationFaulty(stationId: string): boolean {
    for (const f of this.active.values()) if (f.stationId === stationId) return true
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
    this.deps.metrics.faultTransitions.labels(kind, 'raised').inc()
    this.gauge()
    this.log.warn({ sensorId, stationId, kind, detail }, 'equipment fault')
    this.announce(row)
  }

  private clear(sensorId: string, kind: FaultKind): void {
    const row = this.active.get(`${sensorId}|${kind}`)
    if (!row) return
    const at = this.deps.now()
    this.deps.db.prepare('UPDATE faults SET cleared_at = ? WHERE id = ?').run(at, row.id)
    this.active.delete(`${sensorId}|${kind}`)
    this.deps.metrics.faultTransitions.labels(kind, 'cleared').inc()
    this.gauge()
    this.log.info({ sensorId, stationId: row.stationId, kind }, 'equipment fault cleared')
    this.announce({ ...row, clearedAt: at })
  }

  private gauge(): void {
    const counts: Record<FaultKind, number> = { no_data: 0, out_of_range: 0 }
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
  }
}
