/**
 * Readings go to SQLite in group commits: readings queue up and are written in one transaction
 * every `batchMaxDelayMs` or `batchMaxMessages`, whichever comes first. Each reading's callback
 * runs only after its transaction commits, and the broker sends the QoS 1 PUBACK from that
 * callback, so an acknowledged reading is already durable.
 *
 * QoS 1 is at-least-once: a device whose PUBACK was lost (a dropped connection, a gateway killed
 * between commit and acknowledgement) sends the reading again. One reading per sensor and event
 * time is kept (a unique index, INSERT OR IGNORE); the copies are counted, not stored.
 */
import type { Statement } from 'better-sqlite3'
import type { Db } from './db.js'

/** A validated reading, ready to store and evaluate. */
export interface Reading {
  readonly stationId: string
  readonly sensorId: string
  readonly kind: string
  /** Event time, epoch ms. */
  readonly ts: number
  readonly seq?: number
  readonly values: Readonly<Record<string, number>>
  /** The rules' window aggregates at this reading (`rain_mm_sum_1h`…), kept for history sinks. */
  readonly derived?: Readonly<Record<string, number>> | undefined
}

export interface ReadingStoreOptions {
  readonly batchMaxMessages: number
  readonly batchMaxDelayMs: number
  /** Wall clock for `received_at`. */
  readonly now: () => number
  /** Called with each committed batch: readings stored, and copies of stored readings ignored. */
  readonly onCommit?: (stored: number, duplicates: number) => void
  readonly onError?: (err: unknown, count: number) => void
  /** Why new readings are refused now (the disk budget reached), or undefined. */
  readonly refuse?: () => string | undefined
}

type Done = (err?: Error) => void

/** A reading refused because the store is at its disk budget. */
export class StoreFullError extends Error {
  override readonly name = 'StoreFullError'
}

/** Readings per multi-row INSERT (8 parameters each; SQLite allows 32,766 per statement). */
const CHUNK = 64

function pushRow(args: unknown[], r: Reading, receivedAt: number): void {
  args.push(
    r.stationId,
    r.sensorId,
    r.kind,
    r.ts,
    r.seq ?? null,
    receivedAt,
    JSON.stringify(r.values),
    r.derived ? JSON.stringify(r.derived) : null,
  )
}

interface ReadingRow {
  sensor_id: string
  kind: string
  ts: number
  seq: number | null
  vals: string
}

const toReading = (stationId: string, r: ReadingRow): Reading => ({
  stationId,
  sensorId: r.sensor_id,
  kind: r.kind,
  ts: r.ts,
  ...(r.seq !== null ? { seq: r.seq } : {}),
  values: JSON.parse(r.vals) as Record<string, number>,
})

export class ReadingStore {
  private readonly insert: Statement
  private readonly insertChunk: Statement
  private readonly writeBatch
  /** Prepared once: warm-up calls since() and latestTs() for every station at start and reload. */
  private readonly queries
  private pending: Reading[] = []
  private callbacks: Done[] = []
  private timer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    private readonly db: Db,
    private readonly opts: ReadingStoreOptions,
  ) {
    const sql = (rows: number) =>
      'INSERT OR IGNORE INTO readings (station_id, sensor_id, kind, ts, seq, received_at, vals, derived) VALUES ' +
      Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')
    this.queries = {
      since: db.prepare(
        'SELECT sensor_id, kind, ts, seq, vals FROM readings WHERE station_id = ? AND ts > ? ORDER BY ts, id',
      ),
      latestTs: db.prepare('SELECT max(ts) AS ts FROM readings WHERE station_id = ?'),
      latest: db.prepare(
        'SELECT sensor_id, kind, ts, seq, vals FROM readings WHERE station_id = ? ORDER BY ts DESC, id DESC LIMIT 1',
      ),
      count: db.prepare('SELECT count(*) AS n FROM readings'),
      history: db.prepare(
        'SELECT sensor_id, kind, ts, seq, vals, received_at FROM readings WHERE station_id = ? AND ts >= ? AND ts < ? ' +
          'ORDER BY ts, id LIMIT ?',
      ),
    }
    this.insert = db.prepare(sql(1))
    // Multi-row INSERTs: one statement step per CHUNK readings instead of one per reading.
    this.insertChunk = db.prepare(sql(CHUNK))
    /** Writes a batch in one transaction; returns how many rows were new. */
    this.writeBatch = db.transaction((batch: readonly Reading[], receivedAt: number): number => {
      const args: unknown[] = []
      let stored = 0
      let i = 0
      for (; i + CHUNK <= batch.length; i += CHUNK) {
        args.length = 0
        for (let j = i; j < i + CHUNK; j++) pushRow(args, batch[j]!, receivedAt)
        stored += this.insertChunk.run(args).changes
      }
      for (; i < batch.length; i++) {
        args.length = 0
        pushRow(args, batch[i]!, receivedAt)
        stored += this.insert.run(args).changes
      }
      return stored
    })
  }

  /** Queues a reading; `done` runs once it is committed (or with the error if the commit failed). */
  add(reading: Reading, done: Done): void {
    if (this.closed) return done(new Error('reading store is closed'))
    // Refused, not acknowledged: the device keeps the reading and sends it again.
    const full = this.opts.refuse?.()
    if (full !== undefined) return done(new StoreFullError(full))
    this.pending.push(reading)
    this.callbacks.push(done)
    if (this.pending.length >= this.opts.batchMaxMessages) this.flush()
    else this.timer ??= setTimeout(() => this.flush(), this.opts.batchMaxDelayMs)
  }

  /** Commits everything queued now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.length === 0) return
    const batch = this.pending
    const callbacks = this.callbacks
    this.pending = []
    this.callbacks = []
    let failure: Error | undefined
    try {
      const stored = this.writeBatch(batch, this.opts.now())
      this.opts.onCommit?.(stored, batch.length - stored)
    } catch (e) {
      failure = e instanceof Error ? e : new Error(String(e))
      this.opts.onError?.(e, batch.length)
    }
    for (const cb of callbacks) cb(failure)
  }

  /** Readings of one station with event time after `sinceTs`, oldest first (for warm-up replay). */
  since(stationId: string, sinceTs: number): Reading[] {
    const rows = this.queries.since.all(stationId, sinceTs) as ReadingRow[]
    return rows.map((r) => toReading(stationId, r))
  }

  /** Latest event time stored for a station, if any. */
  latestTs(stationId: string): number | undefined {
    const row = this.queries.latestTs.get(stationId) as { ts: number | null }
    return row.ts ?? undefined
  }

  /** Latest reading per station (for the API). */
  latest(stationId: string): Reading | undefined {
    const row = this.queries.latest.get(stationId) as ReadingRow | undefined
    return row && toReading(stationId, row)
  }

  /**
   * A station's readings with event time in [fromTs, toTs), oldest first, at most `limit`, each
   * with when the gateway received it (late arrivals after an outage show here).
   */
  history(
    stationId: string,
    fromTs: number,
    toTs: number,
    limit: number,
  ): (Reading & { receivedAt: number })[] {
    const rows = this.queries.history.all(stationId, fromTs, toTs, limit) as (ReadingRow & {
      received_at: number
    })[]
    return rows.map((r) => ({ ...toReading(stationId, r), receivedAt: r.received_at }))
  }

  count(): number {
    return (this.queries.count.get() as { n: number }).n
  }

  /** Commits what is queued and refuses further readings. */
  close(): void {
    this.flush()
    this.closed = true
  }
}
