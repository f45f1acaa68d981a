/**
 * The backlog's read in a worker thread, with its own read-only connection to the gateway's
 * SQLite file. SQLite writing a batch of stored readings as line protocol (`outbox.ts`) is most of
 * a replay's cost; on the event loop it held up, for its milliseconds, the writes already in flight,
 * ingest and the warning path. Here it runs beside them, and the loop only sends.
 *
 * The worker sees what the gateway's connection has committed (WAL: a reader never blocks the
 * writer), so it reads exactly the rows the cursor says are next. It keeps its own copy of the
 * series table the SQL joins (a TEMP table is per connection): the outbox tells it each series it
 * makes and when the registry changes, in order with the reads (one message queue).
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** What the backlog's SQL returns: rows read, the last id, lines written, the lines (or null). */
export type BodyRow = readonly [read: number, last: number | null, lines: number, body: string | null]

export interface ReaderSql {
  /** Creates the series table (TEMP, so a read-only connection may). */
  readonly schema: string
  /** The backlog's read: parameters sink, after id, limit. */
  readonly body: string
  /** A series made: parameters sink, sensor, station, kind, prefix. */
  readonly remember: string
  /** The registry changed: parameter sink. */
  readonly forget: string
  /** Replacements made in the body's text once SQLite wrote it, in order (here, in the worker). */
  readonly fields: readonly (readonly [string, string])[]
}

/** The worker, as CommonJS source (it runs the same from the TypeScript sources and the build). */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.module)
const db = new Database(workerData.file, { readonly: true, fileMustExist: true })
db.pragma('busy_timeout = 5000')
db.exec(workerData.sql.schema)
const body = db.prepare(workerData.sql.body).raw(true)
const remember = db.prepare(workerData.sql.remember)
const forget = db.prepare(workerData.sql.forget)
const sink = workerData.sink
const fields = workerData.sql.fields
parentPort.on('message', (m) => {
  try {
    if (m.type === 'read') {
      const row = body.get(sink, m.from, m.limit)
      if (row[3] !== null) for (const [a, b] of fields) row[3] = row[3].replaceAll(a, b)
      parentPort.postMessage({ id: m.id, row })
    }
    else if (m.type === 'remember') remember.run(sink, m.sensor, m.station, m.kind, m.prefix)
    else if (m.type === 'forget') forget.run(sink)
    else if (m.type === 'stop') {
      db.close()
      parentPort.close()
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) })
  }
})
`

type Reply = { id?: number; row?: BodyRow; error?: string }

export class BacklogReader {
  private readonly worker: Worker
  private readonly waiting = new Map<number, { resolve: (r: BodyRow) => void; reject: (e: Error) => void }>()
  private nextId = 1
  private failed: Error | undefined

  constructor(file: string, sink: string, sql: ReaderSql) {
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: { file, sink, sql, module: createRequire(import.meta.url).resolve('better-sqlite3') },
    })
    this.worker.unref()
    this.worker.on('message', (m: Reply) => {
      if (m.id === undefined) return
      const w = this.waiting.get(m.id)
      if (!w) return
      this.waiting.delete(m.id)
      if (m.error !== undefined) w.reject(new Error(m.error))
      else w.resolve(m.row!)
    })
    const fail = (e: Error) => {
      this.failed ??= e
      for (const w of this.waiting.values()) w.reject(e)
      this.waiting.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', () => fail(new Error('the backlog reader stopped')))
  }

  /** Whether the worker is still there to read (after a failure the outbox reads by itself). */
  get usable(): boolean {
    return this.failed === undefined
  }

  /** Up to `limit` readings after `from`, as the backlog's SQL writes them, `fields` replaced. */
  read(from: number, limit: number): Promise<BodyRow> {
    if (this.failed) return Promise.reject(this.failed)
    const id = this.nextId++
    return new Promise<BodyRow>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject })
      this.worker.postMessage({ type: 'read', id, from, limit })
    })
  }

  remember(sensor: string, station: string, kind: string, prefix: string): void {
    if (!this.failed) this.worker.postMessage({ type: 'remember', sensor, station, kind, prefix })
  }

  forget(): void {
    if (!this.failed) this.worker.postMessage({ type: 'forget' })
  }

  async close(): Promise<void> {
    if (this.failed) return
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()))
    this.worker.postMessage({ type: 'stop' })
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())
    await Promise.race([exited, timeout])
    if (!this.failed) await this.worker.terminate()
  }
}
