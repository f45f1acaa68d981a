/**
 * What a history sink has not yet had accepted, durably, in the gateway's SQLite file.
 *
 * Readings are already durable in the `readings` table (committed before their PUBACK), so the
 * sink keeps no second copy: it keeps a cursor, the last `readings.id` its server accepted, and
 * reads on from there. A restart, an outage of a week or a killed process resume from the cursor;
 * no reading waits in memory. What exists nowhere else as a row (warnings, alerts and faults as
 * points, the snapshots of active warnings and coverage) is queued in `sink_outbox` in the same
 * transaction as the change it reports, and deleted once accepted.
 *
 * The bound: readings more than `maxBacklog` behind the newest are thinned as they are read, to one
 * per sensor per `thinToMs` of event time (the history keeps its shape, the catch-up its pace), and
 * each skipped one is counted. Outbox rows beyond `maxEvents` make the oldest snapshots go (counted);
 * event rows (warnings, alerts, faults) are never dropped.
 */
import { prepareRaw, type Db, type Statement } from '../store/db.js'
import { BacklogReader, type BodyRow, type ReaderSql } from './reader.js'

export type OutboxClass = 'event' | 'snapshot'

/**
 * A stored reading as the sink reads it: few columns, the series' ids joined in SQL (`sensor_id`,
 * `station_id`, `kind`, separated by U+001F), since each string column read costs about a
 * microsecond, the backlog's main cost.
 */
export interface ReadingRow {
  readonly id: number
  readonly ts: number
  readonly series: string
  readonly vals: string
  readonly derived: string | null
}

/** The ids a ReadingRow's `series` joins. */
export function seriesIds(series: string): { sensorId: string; stationId: string; kind: string } {
  const [sensorId = '', stationId = '', kind = ''] = series.split('\u001f')
  return { sensorId, stationId, kind }
}

/** One batch taken from the outbox and the readings: what to send, and what to acknowledge. */
export interface Batch {
  /** Line protocol, one or more lines per part (a backlog's readings come as one part). */
  readonly parts: string[]
  /** Points (lines) in `parts`. */
  readonly points: number
  /** Points per class. */
  readonly counts: { reading: number; event: number; snapshot: number }
  /** The cursor once this batch is accepted (the last reading read, sent or thinned). */
  readonly readingTo: number
  /** The last outbox row in the batch (rows up to it are deleted once accepted). */
  readonly outboxTo: number
  /** Readings read but thinned (beyond the bound). */
  readonly thinned: number
  /** Whether anything was read at all (a batch of only thinned readings still moves the cursor). */
  readonly empty: boolean
  /** The thinning buckets this batch kept, remembered once it is accepted (a failed batch is read again). */
  readonly kept: ReadonlyMap<string, number>
}

/** Two batches taken one after the other (`b` read after `a`) as one. */
export function concatBatches(a: Batch, b: Batch): Batch {
  return {
    parts: a.parts.concat(b.parts),
    points: a.points + b.points,
    counts: {
      reading: a.counts.reading + b.counts.reading,
      event: a.counts.event + b.counts.event,
      snapshot: a.counts.snapshot + b.counts.snapshot,
    },
    readingTo: Math.max(a.readingTo, b.readingTo),
    outboxTo: Math.max(a.outboxTo, b.outboxTo),
    thinned: a.thinned + b.thinned,
    empty: a.empty && b.empty,
    kept: b.kept, // b's overlay already holds a's (it was read after it)
  }
}

export interface OutboxOptions {
  readonly maxBacklog: number
  readonly thinToMs: number
  readonly maxEvents: number
  /** A stored reading as a line (undefined: nothing to write, e.g. no values), where it is thinned. */
  readonly readingLine: (r: ReadingRow) => string | undefined
  /**
   * The measurement and tags of a sensor's readings (line protocol), for the backlog's fast path,
   * where SQLite writes the rest of each line: `vals` and `derived` are flat JSON of plain
   * quantity names and finite numbers (as ingest stores them), so their text becomes the fields.
   */
  readonly series: (sensorId: string, stationId: string, kind: string) => string
  /** What the series are made from (the registry in force): when it changes they are made again. */
  readonly seriesVersion?: () => unknown
  /** Snapshot rows removed at the bound. */
  readonly onDropped?: (cls: OutboxClass, n: number) => void
  /** Whether the backlog's SQL runs in a worker thread (`nextAsync`; a database in a file only). */
  readonly readInWorker?: boolean
  /** The worker failed: the outbox reads by itself from then on. */
  readonly onReaderFailed?: (err: Error) => void
}

/** A batch begun: its outbox rows, where its readings start, how many fit, how they are read. */
interface Head {
  readonly parts: string[]
  readonly counts: { reading: number; event: number; snapshot: number }
  readonly outboxTo: number
  readonly kept: Map<string, number>
  readonly from: number
  readonly room: number
  bound: number
  fast: boolean
  readonly done?: Batch
}

/** The series mark the backlog's SQL puts at the start of each line: sensor, station, kind. */
// eslint-disable-next-line no-control-regex -- U+001F is the separator the SQL writes, on purpose
const SERIES_MARK = /\u001f([^\u001f]*)\u001f([^\u001f]*)\u001f([^\u001f]*)\u001f/g

/** Reading rows scanned per batch while thinning, in batches: the cursor moves on even when most are skipped. */
const THIN_SCAN = 20

/**
 * The backlog's fast path: up to ? readings (after id ?, for sink ?) as line protocol in one
 * string, written by SQLite. Each line's series (measurement and tags) comes from
 * `temp.sink_series`, or, for a series not there yet, as its ids between U+001F marks for the
 * caller to replace (and remember). The values' and aggregates' JSON loses its braces here
 * (`{"a":1}` → `a":1`). The lines come in id order: the subquery's ORDER BY ... LIMIT makes SQLite
 * run it as a co-routine that the aggregate consumes row by row (a test pins it).
 * `group_concat(... ORDER BY id)` would say so too, but sorts again, and doubled the read's cost
 * (0.9 → 1.8 µs a line).
 */
const SQL: ReaderSql = {
  schema:
    'CREATE TEMP TABLE IF NOT EXISTS sink_series (sink TEXT, sensor_id TEXT, station_id TEXT, kind TEXT, ' +
    'prefix TEXT, PRIMARY KEY (sink, sensor_id)) WITHOUT ROWID',
  body: `SELECT count(*), max(id), count(line), group_concat(line, char(10)) FROM (
      SELECT r.id AS id, CASE WHEN r.vals = '{}' AND r.derived IS NULL THEN NULL
             ELSE format('%s %s%s %d',
               CASE WHEN s.station_id = r.station_id AND s.kind = r.kind THEN s.prefix
               ELSE char(31) || r.sensor_id || char(31) || r.station_id || char(31) || r.kind || char(31) END,
               CASE WHEN r.vals = '{}' THEN substr(r.derived, 3, length(r.derived) - 3)
               ELSE substr(r.vals, 3, length(r.vals) - 3) END,
               CASE WHEN r.derived IS NULL OR r.vals = '{}' THEN ''
               ELSE ',' || substr(r.derived, 3, length(r.derived) - 3) END,
               r.ts) END AS line
      FROM readings r LEFT JOIN temp.sink_series s ON s.sink = ? AND s.sensor_id = r.sensor_id
      WHERE r.id > ? ORDER BY r.id LIMIT ?)`,
  remember:
    'INSERT OR IGNORE INTO temp.sink_series (sink, sensor_id, station_id, kind, prefix) VALUES (?, ?, ?, ?, ?)',
  forget: 'DELETE FROM temp.sink_series WHERE sink = ?',
  // Stored values and aggregates are flat JSON of plain quantity names and finite numbers (ingest
  // validates both), so the JSON's punctuation alone changes: `a":1,"b":2` becomes `a=1,b=2`, by
  // plain string replacement over the whole batch (measured: a fifth of SQLite's replace() per row).
  fields: [
    ['":', '='],
    [',"', ','],
  ],
}

export class SinkOutbox {
  private readonly q: {
    cursor: Statement
    setCursor: Statement
    readings: Statement
    maxId: Statement
    oldestReading: Statement
    outbox: Statement
    insert: Statement
    ack: Statement
    outboxCount: Statement
    oldestOutbox: Statement
    dropSnapshots: Statement
    body: Statement
    remember: Statement
    forget: Statement
  }
  /** Each series (measurement and tags) by its mark, and what they were made from (the registry). */
  private series = new Map<string, string>()
  private seriesVersion: unknown
  private cursor: number
  private outboxRows: number
  /** The last thinned bucket kept per sensor (beyond the bound). */
  private readonly kept = new Map<string, number>()
  private readonly ackTx: (b: Batch, now: number) => void
  private readonly insertTx: (cls: OutboxClass, lines: readonly string[], at: number) => void
  private reader: BacklogReader | undefined

  constructor(
    private readonly db: Db,
    readonly sink: string,
    private readonly opts: OutboxOptions,
  ) {
    // The series of the sensors seen, for the backlog's SQL (this connection's; made again when
    // the registry changes).
    db.exec(SQL.schema)
    this.q = {
      cursor: db.prepare('SELECT reading_id FROM sink_cursors WHERE sink = ?'),
      setCursor: db.prepare(
        'INSERT INTO sink_cursors (sink, reading_id, updated_at) VALUES (?, ?, ?) ' +
          'ON CONFLICT (sink) DO UPDATE SET reading_id = excluded.reading_id, updated_at = excluded.updated_at',
      ),
      // Rows as arrays [id, ts, series, vals, derived]: the backlog's hot read.
      readings: prepareRaw(
        db,
        'SELECT id, ts, sensor_id || char(31) || station_id || char(31) || kind, vals, derived ' +
          'FROM readings WHERE id > ? ORDER BY id LIMIT ?',
      ),
      body: prepareRaw(db, SQL.body),
      remember: db.prepare(SQL.remember),
      forget: db.prepare(SQL.forget),
      maxId: db.prepare('SELECT max(id) AS id FROM readings'),
      oldestReading: db.prepare('SELECT received_at FROM readings WHERE id > ? ORDER BY id LIMIT 1'),
      outbox: db.prepare(
        'SELECT id, class, line FROM sink_outbox WHERE sink = ? AND id > ? ORDER BY id LIMIT ?',
      ),
      insert: db.prepare('INSERT INTO sink_outbox (sink, class, line, at) VALUES (?, ?, ?, ?)'),
      ack: db.prepare('DELETE FROM sink_outbox WHERE sink = ? AND id <= ?'),
      outboxCount: db.prepare('SELECT count(*) AS n FROM sink_outbox WHERE sink = ?'),
      oldestOutbox: db.prepare('SELECT at FROM sink_outbox WHERE sink = ? ORDER BY id LIMIT 1'),
      dropSnapshots: db.prepare(
        "DELETE FROM sink_outbox WHERE id IN (SELECT id FROM sink_outbox WHERE sink = ? AND class = 'snapshot' ORDER BY id LIMIT ?)",
      ),
    }
    if (opts.readInWorker && !db.memory) this.reader = new BacklogReader(db.name, sink, SQL)
    const row = this.q.cursor.get(sink) as { reading_id: number } | undefined
    this.cursor = row?.reading_id ?? 0
    this.outboxRows = (this.q.outboxCount.get(sink) as { n: number }).n
    // A savepoint inside the caller's transaction (an event's), a transaction of its own otherwise.
    this.insertTx = db.transaction((cls: OutboxClass, lines: readonly string[], at: number) => {
      for (const l of lines) this.q.insert.run(this.sink, cls, l, at)
    })
    this.ackTx = db.transaction((b: Batch, now: number) => {
      if (b.outboxTo > 0) this.outboxRows -= this.q.ack.run(this.sink, b.outboxTo).changes
      if (b.readingTo > this.cursor) this.q.setCursor.run(this.sink, b.readingTo, now)
    })
  }

  /** Queues points (inside the caller's transaction, when it has one). */
  enqueue(cls: OutboxClass, lines: readonly string[], at: number): void {
    if (lines.length === 0) return
    this.insertTx(cls, lines, at)
    this.outboxRows += lines.length
    if (this.outboxRows > this.opts.maxEvents) {
      // The oldest snapshots make room, a tenth of the bound at a time; events are never dropped.
      const n = this.q.dropSnapshots.run(this.sink, Math.ceil(this.opts.maxEvents / 10)).changes
      this.outboxRows -= n
      if (n > 0) this.opts.onDropped?.('snapshot', n)
    }
  }

  /**
   * Up to `limit` points: outbox rows first (oldest first), then readings after the cursor, in
   * order. `after`, a batch taken but not yet acknowledged (in flight): the points after it.
   */
  next(limit: number, after?: Batch): Batch {
    const h = this.head(limit, after)
    if (h.done) return h.done
    if (h.fast) return this.fastBatch(h, this.q.body.get(this.sink, h.from, h.room) as BodyRow, false)
    return this.thinBatch(h)
  }

  /**
   * The same as `next`, with the backlog's SQL run in the reader's worker thread when there is one
   * (`readInWorker`), so the event loop is free meanwhile. Should the worker fail, the outbox reads
   * by itself from then on.
   */
  async nextAsync(limit: number, after?: Batch): Promise<Batch> {
    const h = this.head(limit, after)
    if (h.done) return h.done
    if (!h.fast) return this.thinBatch(h)
    if (this.reader?.usable)
      try {
        return this.fastBatch(h, await this.reader.read(h.from, h.room), true)
      } catch (err) {
        this.opts.onReaderFailed?.(err instanceof Error ? err : new Error(String(err)))
      }
    return this.fastBatch(h, this.q.body.get(this.sink, h.from, h.room) as BodyRow, false)
  }

  /** Whether `nextAsync` reads in the worker thread. */
  get readsInWorker(): boolean {
    return this.reader?.usable ?? false
  }

  /** The reader's worker ends (the outbox reads by itself after). */
  async close(): Promise<void> {
    const r = this.reader
    this.reader = undefined
    await r?.close()
  }

  /** A batch's outbox rows, and how its readings are to be read. */
  private head(limit: number, after?: Batch): Head {
    const parts: string[] = []
    const counts = { reading: 0, event: 0, snapshot: 0 }
    let outboxTo = after?.outboxTo ?? 0
    if (this.outboxRows > 0)
      for (const r of this.q.outbox.all(this.sink, outboxTo, limit) as {
        id: number
        class: OutboxClass
        line: string
      }[]) {
        parts.push(r.line)
        counts[r.class]++
        outboxTo = r.id
      }
    const from = after ? after.readingTo : this.cursor
    const room = limit - parts.length
    const kept = new Map<string, number>(after?.kept)
    const h = { parts, counts, outboxTo, kept, from, room, bound: 0, fast: false }
    if (room <= 0)
      return {
        ...h,
        done: {
          parts,
          counts,
          outboxTo,
          kept,
          points: parts.length,
          readingTo: from,
          thinned: 0,
          empty: false,
        },
      }
    // Readings at or below this id are beyond the bound: thinned as they are read.
    h.bound = this.newestReadingId() - this.opts.maxBacklog
    h.fast = from >= h.bound
    if (h.fast) {
      const version = this.opts.seriesVersion?.()
      if (version !== this.seriesVersion) {
        this.series = new Map()
        this.q.forget.run(this.sink)
        this.reader?.forget()
        this.seriesVersion = version
      }
    }
    return h
  }

  /** The backlog's fast path: the readings as SQLite wrote them (`fields` replaced already, or not). */
  private fastBatch(h: Head, [read, last, lines, body]: BodyRow, replaced: boolean): Batch {
    const { parts, counts, outboxTo, kept, from } = h
    if (body !== null) parts.push(this.toLineProtocol(body, replaced))
    counts.reading += lines
    const points = parts.length - (body !== null ? 1 : 0) + lines
    return {
      parts,
      counts,
      outboxTo,
      kept,
      points,
      readingTo: last ?? from,
      thinned: 0,
      empty: points === 0 && read === 0,
    }
  }

  /** Beyond the bound: row by row, one per sensor per `thinToMs` kept. */
  private thinBatch(h: Head): Batch {
    const { parts, counts, outboxTo, kept, from, room, bound } = h
    const base = { counts, outboxTo, kept }
    let readingTo = from
    let thinned = 0
    let read = 0
    const rows = this.q.readings.all(from, room * THIN_SCAN) as [
      number,
      number,
      string,
      string,
      string | null,
    ][]
    for (const [id, ts, series, vals, derived] of rows) {
      read++
      if (counts.reading >= room) break
      readingTo = id
      if (id <= bound) {
        const bucket = Math.floor(ts / this.opts.thinToMs)
        if ((kept.get(series) ?? this.kept.get(series)) === bucket) {
          thinned++
          continue
        }
        kept.set(series, bucket)
      }
      const l = this.opts.readingLine({ id, ts, series, vals, derived })
      if (l === undefined) continue
      parts.push(l)
      counts.reading++
    }
    return {
      ...base,
      parts,
      points: parts.length,
      readingTo,
      thinned,
      empty: parts.length === 0 && read === 0,
    }
  }

  /**
   * The backlog's body as SQLite wrote it as line protocol: the JSON's punctuation replaced (unless
   * `replaced` already), and the series of sensors not yet in `temp.sink_series` (their ids between
   * U+001F marks) made, and remembered for the next read.
   */
  private toLineProtocol(body: string, replaced: boolean): string {
    let out = body
    if (!replaced) for (const [a, b] of SQL.fields) out = out.replaceAll(a, b)
    if (!out.includes('\u001f')) return out
    return out.replace(SERIES_MARK, (mark: string, sensor: string, station: string, kind: string) => {
      let prefix = this.series.get(mark)
      if (prefix === undefined) {
        prefix = this.opts.series(sensor, station, kind)
        this.series.set(mark, prefix)
        this.q.remember.run(this.sink, sensor, station, kind, prefix)
        this.reader?.remember(sensor, station, kind, prefix)
      }
      return prefix
    })
  }

  /** The server accepted the batch: its outbox rows go, the cursor moves past its readings. */
  ack(b: Batch, now: number): void {
    this.ackTx(b, now)
    if (b.readingTo > this.cursor) this.cursor = b.readingTo
    for (const [sensor, bucket] of b.kept) this.kept.set(sensor, bucket)
    if (b.kept.size === 0 && b.thinned === 0 && this.kept.size > 0) this.kept.clear() // past the bound again
  }

  /** Readings behind the cursor (by id: exact while rows are only ever appended) and outbox rows. */
  depth(): { readings: number; outbox: number } {
    return { readings: Math.max(0, this.newestReadingId() - this.cursor), outbox: this.outboxRows }
  }

  /** When the oldest point still waiting reached the gateway (wall clock), if any waits. */
  oldestWaiting(): number | undefined {
    const r = this.q.oldestReading.get(this.cursor) as { received_at: number } | undefined
    const o =
      this.outboxRows > 0 ? (this.q.oldestOutbox.get(this.sink) as { at: number } | undefined) : undefined
    if (r === undefined) return o?.at
    if (o === undefined) return r.received_at
    return Math.min(r.received_at, o.at)
  }

  get readingCursor(): number {
    return this.cursor
  }

  private newestReadingId(): number {
    return (this.q.maxId.get() as { id: number | null }).id ?? 0
  }
}
