/**
 * Bounded history. A county's 10,000 sensors at one reading a minute are 14 million rows a day; an
 * edge box's disk would fill within weeks. So readings are kept raw for `raw` of event time, then
 * folded into one row per sensor and bucket (`downsampleEvery`, an hour by default: min, max, sum,
 * count and the last value of each quantity, enough for charts and daily figures), which are kept
 * for `downsampled`, then dropped.
 *
 * Two floors no pass goes below:
 * - the rules' warm-up: each station keeps raw readings for the engine's longest window behind its
 *   own latest reading, so a restart rebuilds exactly the windows it had;
 * - the history sinks: readings after the slowest sink's cursor wait for it. Only a pass `tight`
 *   (the disk budget reached) deletes those too, and counts them.
 *
 * Nothing else is ever deleted here: warnings, versions, deliveries, receipts and the audit log
 * are small and stay (the budget keeps a reserve for them).
 */
import { statfsSync, statSync } from 'node:fs'
import type { Db, Statement } from './db.js'

/** What one quantity did within a bucket. */
export interface QuantityStats {
  min: number
  max: number
  sum: number
  n: number
  last: number
  lastTs: number
}

/** A bucket of one sensor's readings, as `GET /api/stations/:id/aggregates` returns it. */
export interface Aggregate {
  readonly sensorId: string
  readonly kind: string
  /** Event time of the bucket's start, epoch ms, and its length. */
  readonly bucket: number
  readonly span: number
  /** Readings folded in. */
  readonly n: number
  readonly stats: Readonly<Record<string, QuantityStats>>
}

/** The periods, from `store.retention` (a reload changes them). */
export interface RetentionPeriods {
  readonly rawMs: number
  readonly everyMs: number
  readonly downsampledMs: number
}

export interface RetentionOptions extends RetentionPeriods {
  /** The rules' longest window, in force now (it changes with a reload). */
  readonly lookbackMs: () => number
  /** The slowest history sink's cursor (readings.id it has up to); undefined without sinks. */
  readonly sinkCursor: () => number | undefined
  readonly now: () => number
}

export interface PassResult {
  /** Raw readings folded into buckets and deleted. */
  readonly folded: number
  /** Of those, readings a history sink had not sent yet (only in a tight pass). */
  readonly unsent: number
  /** Buckets past their own period, dropped. */
  readonly droppedBuckets: number
}

/** The store's footprint: SQLite pages in use, the files on disk, the filesystem's free space. */
export interface Usage {
  readonly usedBytes: number
  readonly fileBytes: number
  /** Free on the filesystem plus SQLite's own free pages (reused before the file grows). */
  readonly freeBytes: number
}

/** Raw rows read, folded and deleted per transaction: ingest waits at most one chunk's work. */
const CHUNK = 5000

interface RawRow {
  id: number
  sensor_id: string
  kind: string
  ts: number
  vals: string
}

export class Retention {
  private readonly q: Record<
    'stations' | 'latest' | 'old' | 'oldKept' | 'del' | 'bucket' | 'upsert' | 'dropBuckets' | 'range',
    Statement
  >

  private periods: RetentionPeriods

  constructor(
    private readonly db: Db,
    private readonly file: string,
    private readonly opts: RetentionOptions,
  ) {
    this.periods = opts
    this.q = {
      // Each station once, by skipping along the (station_id, ts) index: no scan of every row.
      stations: db.prepare(
        'WITH RECURSIVE s(id) AS (SELECT min(station_id) FROM readings UNION ALL ' +
          'SELECT (SELECT min(station_id) FROM readings WHERE station_id > s.id) FROM s WHERE s.id IS NOT NULL) ' +
          'SELECT id AS station_id FROM s WHERE id IS NOT NULL',
      ),
      latest: db.prepare('SELECT max(ts) AS ts FROM readings WHERE station_id = ?'),
      old: db.prepare(
        'SELECT id, sensor_id, kind, ts, vals FROM readings WHERE station_id = ? AND ts < ? ORDER BY ts, id LIMIT ?',
      ),
      oldKept: db.prepare(
        'SELECT id, sensor_id, kind, ts, vals FROM readings WHERE station_id = ? AND ts < ? AND id <= ? ORDER BY ts, id LIMIT ?',
      ),
      del: db.prepare('DELETE FROM readings WHERE id = ?'),
      bucket: db.prepare('SELECT n, stats FROM readings_downsampled WHERE sensor_id = ? AND bucket = ?'),
      upsert: db.prepare(
        'INSERT OR REPLACE INTO readings_downsampled (station_id, sensor_id, kind, bucket, span, n, stats) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      dropBuckets: db.prepare('DELETE FROM readings_downsampled WHERE bucket + span <= ?'),
      range: db.prepare(
        'SELECT sensor_id, kind, bucket, span, n, stats FROM readings_downsampled WHERE station_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket, sensor_id LIMIT ?',
      ),
    }
  }

  /**
   * One pass over every station: raw readings older than the raw period (tight: older than the
   * rules' windows) are folded into their buckets and deleted, chunk by chunk, yielding to the
   * event loop in between; then buckets past their period go.
   */
  /** New periods (a reload); the next pass applies them. */
  configure(periods: RetentionPeriods): void {
    this.periods = periods
  }

  async pass(tight = false): Promise<PassResult> {
    const now = this.opts.now()
    const lookback = this.opts.lookbackMs()
    const cursor = this.opts.sinkCursor()
    let folded = 0
    let unsent = 0
    const stations = (this.q.stations.all() as { station_id: string }[]).map((r) => r.station_id)
    for (const station of stations) {
      const latest = (this.q.latest.get(station) as { ts: number | null }).ts
      if (latest === null) continue
      // Whole buckets only, so a bucket is folded once (a reading arriving later into a folded
      // bucket is merged into it).
      const rawFloor = tight ? Number.POSITIVE_INFINITY : now - this.periods.rawMs
      const cut =
        Math.floor(Math.min(rawFloor, latest - lookback) / this.periods.everyMs) * this.periods.everyMs
      for (;;) {
        const keepUnsent = !tight && cursor !== undefined
        const rows = (
          keepUnsent ? this.q.oldKept.all(station, cut, cursor, CHUNK) : this.q.old.all(station, cut, CHUNK)
        ) as RawRow[]
        if (rows.length === 0) break
        this.db.transaction(() => this.fold(station, rows))()
        folded += rows.length
        if (cursor !== undefined) for (const r of rows) if (r.id > cursor) unsent++
        if (rows.length < CHUNK) break
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    const droppedBuckets = this.q.dropBuckets.run(now - this.periods.downsampledMs).changes
    return { folded, unsent, droppedBuckets }
  }

  private fold(station: string, rows: readonly RawRow[]): void {
    const every = this.periods.everyMs
    const buckets = new Map<
      string,
      { sensor: string; kind: string; bucket: number; n: number; stats: Record<string, QuantityStats> }
    >()
    for (const r of rows) {
      const bucket = Math.floor(r.ts / every) * every
      const key = `${r.sensor_id}\u0000${bucket}`
      let b = buckets.get(key)
      if (!b) {
        const prior = this.q.bucket.get(r.sensor_id, bucket) as { n: number; stats: string } | undefined
        b = {
          sensor: r.sensor_id,
          kind: r.kind,
          bucket,
          n: prior?.n ?? 0,
          stats: prior ? (JSON.parse(prior.stats) as Record<string, QuantityStats>) : {},
        }
        buckets.set(key, b)
      }
      b.n++
      const vals = JSON.parse(r.vals) as Record<string, number>
      for (const q in vals) {
        const v = vals[q]!
        const s = b.stats[q]
        if (!s) b.stats[q] = { min: v, max: v, sum: v, n: 1, last: v, lastTs: r.ts }
        else {
          if (v < s.min) s.min = v
          if (v > s.max) s.max = v
          s.sum += v
          s.n++
          if (r.ts >= s.lastTs) {
            s.last = v
            s.lastTs = r.ts
          }
        }
      }
      this.q.del.run(r.id)
    }
    for (const b of buckets.values())
      this.q.upsert.run(station, b.sensor, b.kind, b.bucket, every, b.n, JSON.stringify(b.stats))
  }

  /** A station's buckets with start in [from, to), oldest first, at most `limit`. */
  aggregates(station: string, from: number, to: number, limit: number): Aggregate[] {
    return (
      this.q.range.all(station, from, to, limit) as {
        sensor_id: string
        kind: string
        bucket: number
        span: number
        n: number
        stats: string
      }[]
    ).map((r) => ({
      sensorId: r.sensor_id,
      kind: r.kind,
      bucket: r.bucket,
      span: r.span,
      n: r.n,
      stats: JSON.parse(r.stats) as Record<string, QuantityStats>,
    }))
  }

  /** The store's footprint now. */
  usage(): Usage {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number
    const pages = this.db.pragma('page_count', { simple: true }) as number
    const freePages = this.db.pragma('freelist_count', { simple: true }) as number
    let fileBytes = 0
    for (const f of [this.file, `${this.file}-wal`])
      try {
        fileBytes += statSync(f).size
      } catch {
        // no WAL file right after a checkpoint
      }
    const fs = statfsSync(this.file)
    return {
      usedBytes: (pages - freePages) * pageSize,
      fileBytes,
      freeBytes: fs.bavail * fs.bsize + freePages * pageSize,
    }
  }
}

export type StorageState = 'ok' | 'full'

/** The budget, from `store.budget` (a reload changes it). */
export interface BudgetLimits {
  /** SQLite pages in use may not exceed this; undefined: no limit. */
  readonly maxBytes: number | undefined
  /** The filesystem keeps at least this free. */
  readonly minFreeBytes: number
  /** Kept back from readings for warnings, versions, deliveries and the audit log. */
  readonly reserveBytes: number
}

export interface BudgetOptions extends BudgetLimits {
  /** A tight retention pass (the raw period cut to the rules' windows), counted by the caller. */
  readonly tightPass: () => Promise<unknown>
  /** The state changed: ok → full (readings refused) or back. */
  readonly onChange: (state: StorageState, usage: Usage, why: string) => void
}

/**
 * The disk budget's policy. Over it (less the reserve), a tight retention pass frees what it can;
 * still over, the store is full: new readings are refused (not acknowledged: devices keep them and
 * send them again) while the reserve is there for warnings and deliveries. Checked again and again,
 * it returns to ok as soon as space is back.
 */
export class StorageBudget {
  state: StorageState = 'ok'
  private why = ''
  last: Usage | undefined
  private checking: Promise<void> | undefined
  private limits: BudgetLimits

  constructor(
    private readonly retention: Retention,
    private readonly opts: BudgetOptions,
  ) {
    this.limits = opts
  }

  /** A new budget (a reload); the next check applies it. */
  configure(limits: BudgetLimits): void {
    this.limits = limits
  }

  /** Why readings are refused now, or undefined. */
  refusal(): string | undefined {
    return this.state === 'full' ? this.why : undefined
  }

  /** Measures; over budget, runs a tight pass and measures again. One check at a time. */
  check(): Promise<void> {
    return (this.checking ??= this.measure().finally(() => (this.checking = undefined)))
  }

  private async measure(): Promise<void> {
    let usage = this.retention.usage()
    let over = this.over(usage)
    if (over !== undefined) {
      await this.opts.tightPass()
      usage = this.retention.usage()
      over = this.over(usage)
    }
    this.last = usage
    const state: StorageState = over === undefined ? 'ok' : 'full'
    if (over !== undefined) this.why = over
    if (state !== this.state) {
      this.state = state
      this.opts.onChange(state, usage, over ?? 'space is back')
    }
  }

  private over(u: Usage): string | undefined {
    const { maxBytes, minFreeBytes, reserveBytes } = this.limits
    const mb = (b: number) => `${Math.round(b / 1e5) / 10} MB`
    if (maxBytes !== undefined && u.usedBytes > maxBytes - reserveBytes)
      return `the store uses ${mb(u.usedBytes)} of its ${mb(maxBytes)} budget (${mb(reserveBytes)} kept for warnings)`
    if (u.freeBytes < minFreeBytes + reserveBytes)
      return `${mb(u.freeBytes)} free on the store's disk, below ${mb(minFreeBytes)} (+ ${mb(reserveBytes)} kept for warnings)`
    return undefined
  }
}
