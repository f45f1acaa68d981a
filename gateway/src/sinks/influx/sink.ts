/**
 * The InfluxDB sink: readings, the rules' aggregates, alerts, warnings, faults and snapshots as
 * line protocol to the v2 write endpoint (InfluxDB 2.x, 3.x, 1.8+, VictoriaMetrics) through
 * `@influxdata/influxdb-client`'s transport (its HTTP, gzip, token, timeout and HttpError), in
 * batches, gzipped, millisecond precision.
 *
 * Nothing waits in the client: its WriteApi, with its in-memory buffer and retries, is not used,
 * and every point stays in SQLite (`../outbox.ts`) until a write that carried it was answered 2xx.
 * Batches are taken and acknowledged in the order they were stored; after an outage the backlog
 * goes out in full batches, up to `concurrency` writes in flight, read in a worker thread
 * (`../reader.ts`) while the event loop sends, faster than live traffic arrives. A failed write is
 * sent again after the server's Retry-After (429, 503) or a doubling backoff; a batch the server
 * refuses as malformed (400) is halved until the bad lines are found, and only those are dropped
 * (counted, logged).
 */
import { performance } from 'node:perf_hooks'
import { HttpError, InfluxDB, setLogger, type SendOptions, type Transport } from '@influxdata/influxdb-client'
import type { Logger } from 'pino'
import { durationMs, LEVELS, type Transition } from '../../../../rules/src/index.js'
import type { InfluxSinkConfig } from '../../config/schema.js'
import type { AfterCommit } from '../../events/bus.js'
import type { GatewayEvent } from '../../events/types.js'
import type { Metrics } from '../../metrics.js'
import type { CurrentRuntime } from '../../runtime.js'
import type { Db } from '../../store/db.js'
import type { VersionCoverage, WarningRow } from '../../warnings/model.js'
import { concatBatches, seriesIds, SinkOutbox, type Batch, type ReadingRow } from '../outbox.js'
import type { HistorySink } from '../sink.js'
import {
  activeLines,
  alertLine,
  coverageLine,
  faultLine,
  readingLine,
  readingSeries,
  storedReadingLine,
  warningLine,
  type StationPlace,
} from './lines.js'

export interface InfluxSinkDeps {
  readonly db: Db
  readonly config: InfluxSinkConfig
  readonly token?: string | undefined
  readonly runtime: CurrentRuntime
  /** The warnings as the store has them (read inside the event's transaction). */
  readonly warnings: { get(id: string): WarningRow | undefined; active(): readonly WarningRow[] }
  /** Loudspeaker coverage of each released version of a warning. */
  readonly coverage: (warningId: string) => readonly VersionCoverage[]
  readonly metrics: Metrics
  readonly log: Logger
  /** The gateway's clock, for the times of events and snapshots. */
  readonly now: () => number
}

const NAME = 'influx'

export class InfluxSink implements HistorySink {
  readonly name = NAME
  private readonly outbox: SinkOutbox
  /**
   * The client's transport (its HTTP, gzip, token and timeout) and the v2 write endpoint. Its
   * WriteApi would only add what the sink does itself, durably: a buffer in memory, retries, and a
   * byte count of every line (measured: a tenth of the sink's time in a backlog).
   */
  private readonly transport: Transport
  private readonly writePath: string
  private readonly sendOptions: SendOptions
  private readonly log: Logger
  private readonly cfg: {
    batchSize: number
    flushMs: number
    retryMinMs: number
    retryMaxMs: number
    snapshotMs: number
    concurrency: number
  }
  private running = false
  private loop: Promise<void> | undefined
  /** Wakes the loop early: a full batch is waiting, a snapshot is due, or the sink stops. */
  private wake: (() => void) | undefined
  private pendingEstimate = 0
  /** When a partial batch was first seen waiting (monotonic ms), so it goes out after `flushEvery`. */
  private partialSince: number | undefined
  private snapshotTimer: NodeJS.Timeout | undefined
  private snapshotDue = false
  private failures = 0
  /** Accepted points per second over the last 10 s: [monotonic ms, points]. */
  private readonly accepted: [number, number][] = []
  private readonly labels: { sink: string }

  constructor(private readonly deps: InfluxSinkDeps) {
    const c = deps.config
    this.log = deps.log.child({ component: 'sink', sink: NAME })
    this.labels = { sink: NAME }
    this.cfg = {
      batchSize: c.batchSize,
      flushMs: durationMs(c.flushEvery),
      retryMinMs: durationMs(c.retry.min),
      retryMaxMs: durationMs(c.retry.max),
      snapshotMs: durationMs(c.snapshotEvery),
      concurrency: c.concurrency,
    }
    this.outbox = new SinkOutbox(deps.db, NAME, {
      maxBacklog: c.maxBacklog,
      thinToMs: durationMs(c.thinTo),
      maxEvents: c.maxEvents,
      readingLine: (r) => this.readingLine(r),
      series: (sensorId, stationId, kind) => this.seriesOf(`${sensorId}\u001f${stationId}\u001f${kind}`),
      seriesVersion: () => deps.runtime().registry,
      readInWorker: true,
      onReaderFailed: (err) =>
        this.log.error({ err }, 'the backlog reader thread failed; the sink reads on the event loop'),
      onDropped: (cls, n) => {
        deps.metrics.sinkDropped.labels(NAME, cls, 'bound').inc(n)
        this.log.warn({ class: cls, dropped: n }, 'sink outbox at its bound: oldest snapshots dropped')
      },
    })
    // The client logs its own failures to the console; they are ours to report, once, with context.
    setLogger({
      error: (message, err) => this.log.debug({ err: errText(err) }, `influxdb-client: ${message}`),
      warn: (message, err) => this.log.debug({ err: errText(err) }, `influxdb-client: ${message}`),
    })
    const client = new InfluxDB({
      url: c.url,
      ...(deps.token !== undefined ? { token: deps.token } : {}),
      timeout: durationMs(c.timeout),
    })
    this.transport = client.transport
    this.writePath =
      `/api/v2/write?org=${encodeURIComponent(c.org)}&bucket=${encodeURIComponent(c.bucket)}` +
      '&precision=ms'
    this.sendOptions = {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      gzipThreshold: c.gzipAbove,
    }
    for (const cls of ['reading', 'event', 'snapshot']) {
      deps.metrics.sinkWritten.labels(NAME, cls).inc(0)
      deps.metrics.sinkDropped.labels(NAME, cls, cls === 'reading' ? 'thinned' : 'bound').inc(0)
    }
    deps.metrics.sinkDropped.labels(NAME, 'reading', 'refused').inc(0)
    deps.metrics.sinkWriteErrors.labels(NAME, 'unreachable').inc(0)
    deps.metrics.sinkReplayRate.labels(NAME).set(0)
    deps.metrics.sinkConnected.labels(NAME).set(0)
    this.gauge()
    deps.metrics.sources.sinks = () => this.gauge()
  }

  get readingCursor(): number {
    return this.outbox.readingCursor
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.log.info(
      {
        url: this.deps.config.url,
        org: this.deps.config.org,
        bucket: this.deps.config.bucket,
        ...this.outbox.depth(),
      },
      'history sink started',
    )
    this.loop = this.run()
    this.snapshotTimer = setInterval(() => this.requestSnapshot(), this.cfg.snapshotMs)
    this.snapshotTimer.unref()
    this.requestSnapshot()
  }

  async stop(): Promise<void> {
    this.running = false
    if (this.snapshotTimer) clearInterval(this.snapshotTimer)
    this.wake?.()
    await this.loop
    await this.outbox.close()
  }

  committed(stored: number): void {
    this.pendingEstimate += stored
    if (this.pendingEstimate >= this.cfg.batchSize) this.wake?.()
  }

  /** In the event's transaction: its point is queued exactly when the event exists. */
  readonly onEvent = (e: GatewayEvent, _afterCommit: AfterCommit): void => {
    // Never thrown into the event's transaction: a sink must not roll a warning back.
    try {
      const line = this.eventLine(e)
      if (line === undefined) return
      this.outbox.enqueue('event', [line], e.at)
      this.pendingEstimate++
      if (e.type === 'warning.released') this.snapshotDue = true
    } catch (err) {
      this.deps.metrics.sinkDropped.labels(NAME, 'event', 'error').inc()
      this.log.error({ err, eventId: e.id, type: e.type }, 'event not queued for the history sink')
    }
  }

  transitions(transitions: readonly Transition[], kind: string): void {
    const lines = transitions.map((t) =>
      alertLine(
        {
          stationId: t.stationId,
          ruleId: t.ruleId,
          hazard: t.hazard,
          kind,
          from: t.from,
          to: t.to,
          ts: t.ts,
        },
        this.place(t.stationId),
      ),
    )
    try {
      this.outbox.enqueue('event', lines, this.deps.now())
      this.pendingEstimate += lines.length
    } catch (err) {
      this.deps.metrics.sinkDropped.labels(NAME, 'event', 'error').inc(lines.length)
      this.log.error({ err }, 'alerts not queued for the history sink')
    }
  }

  // ---- the loop ---------------------------------------------------------------------------------

  /**
   * Batches are taken in order and acknowledged in order. While a backlog lasts, up to
   * `concurrency` writes are in flight, the next batch read while the others travel; a write that
   * failed is sent again when its turn comes, and the ones after it that succeeded are not.
   */
  private async run(): Promise<void> {
    const inflight: { batch: Batch; result: Promise<boolean> }[] = []
    // (an entry's batch is replaced when it is read again after a failure)
    while (this.running) {
      if (this.snapshotDue)
        try {
          this.snapshot()
        } catch (err) {
          this.log.error({ err }, 'snapshot not queued for the history sink')
        }
      // Fill: more writes while the server keeps accepting and full batches are waiting.
      while (this.running && inflight.length < this.cfg.concurrency && this.failures === 0) {
        const last = inflight.at(-1)?.batch
        if (last && last.points < this.cfg.batchSize) break // a partial one is read again later
        const batch = last ? await this.readAhead(last) : await this.outbox.nextAsync(this.cfg.batchSize)
        if (batch.empty) {
          if (!last) this.partialSince = undefined
          break
        }
        if (batch.points < this.cfg.batchSize && batch.thinned === 0) {
          if (last) break // what follows a full batch goes once the backlog has been seen whole
          // A partial batch waits up to flushEvery for more, unless a full one is reported first.
          const t = performance.now()
          this.partialSince ??= t
          if (t - this.partialSince < this.cfg.flushMs) {
            this.pendingEstimate = batch.points
            break
          }
        }
        this.partialSince = undefined
        inflight.push({ batch, result: this.send(batch) })
      }
      const head = inflight[0]
      if (!head) {
        this.pendingEstimate = 0
        this.gauge()
        const waited = this.partialSince === undefined ? 0 : performance.now() - this.partialSince
        await this.sleep(Math.max(1, this.cfg.flushMs - waited))
        continue
      }
      if (!(await head.result)) {
        await this.sleep(this.backoff)
        if (!this.running) continue
        // Alone in flight, it is read again (now beyond the bound it is thinned, and points that
        // came meanwhile join it); with others after it, it goes again as it was, in its turn.
        if (inflight.length === 1) head.batch = await this.outbox.nextAsync(this.cfg.batchSize)
        head.result = head.batch.empty ? Promise.resolve(true) : this.send(head.batch)
        continue
      }
      inflight.shift()
      this.accept(head.batch)
    }
    // Stopping: what is in flight is answered (or fails within its timeout) and acknowledged in order.
    for (const { batch, result } of inflight) {
      if (!(await result)) break
      this.accept(batch)
    }
  }

  private accept(batch: Batch): void {
    this.outbox.ack(batch, this.deps.now())
    this.pendingEstimate = Math.max(0, this.pendingEstimate - batch.points)
    this.counted(batch)
  }

  /**
   * The batch after `after`. Read in the reader's worker, the event loop is free meanwhile; read on
   * the loop (no worker), it is read in slices with the loop let through between them, so the
   * write in flight (its gzip finishing, its request going out) is not held up by the reading.
   */
  private async readAhead(after: Batch): Promise<Batch> {
    if (this.outbox.readsInWorker) return this.outbox.nextAsync(this.cfg.batchSize, after)
    const slice = Math.max(1, Math.ceil(this.cfg.batchSize / 4))
    let acc: Batch | undefined
    for (;;) {
      await new Promise<void>((r) => setImmediate(r))
      const want = Math.min(slice, this.cfg.batchSize - (acc?.points ?? 0))
      const b = this.outbox.next(want, acc ?? after)
      acc = acc ? concatBatches(acc, b) : b
      if (b.empty || b.points < want || acc.points >= this.cfg.batchSize || !this.running) return acc
    }
  }

  /** The next retry delay: the server's Retry-After if it gave one, else min doubling to max. */
  private backoff = 0

  /** Sends a batch; true once every line in it was accepted or refused as malformed. */
  private async send(batch: Batch): Promise<boolean> {
    if (batch.points === 0) return true // only thinned readings: nothing to send
    const outcome = await this.post(batch.parts, batch.points)
    const m = this.deps.metrics
    if (outcome === 'ok') {
      if (this.failures > 0) this.log.info({ after: this.failures }, 'history sink writes accepted again')
      this.failures = 0
      this.backoff = 0
      m.sinkConnected.labels(NAME).set(1)
      return true
    }
    this.failures++
    m.sinkConnected.labels(NAME).set(0)
    m.sinkWriteErrors.labels(NAME, outcome.reason).inc()
    const exp = Math.min(this.cfg.retryMaxMs, this.cfg.retryMinMs * 2 ** Math.min(20, this.failures - 1))
    this.backoff = outcome.retryAfterMs ?? exp
    // The first failure, then every tenth: an outage is one story, not one line per retry.
    if (this.failures === 1 || this.failures % 10 === 0)
      this.log.warn(
        {
          reason: outcome.reason,
          detail: outcome.detail,
          retryInMs: this.backoff,
          failures: this.failures,
          ...this.outbox.depth(),
        },
        'history sink write failed; the points wait in the outbox',
      )
    return false
  }

  /**
   * One write of `lines`: ok, or why not. A 400 (malformed line) or 413 (too large) halves the
   * lines and writes each half, so one bad line costs only itself.
   */
  private async post(
    parts: readonly string[],
    points: number,
  ): Promise<'ok' | { reason: string; detail: string; retryAfterMs?: number }> {
    try {
      await this.transport.request(this.writePath, parts.join('\n'), this.sendOptions)
      return 'ok'
    } catch (e) {
      if (e instanceof HttpError && (e.statusCode === 400 || e.statusCode === 413)) {
        if (points > 1) {
          const lines = parts.flatMap((p) => p.split('\n'))
          const half = Math.ceil(lines.length / 2)
          const a = await this.post(lines.slice(0, half), half)
          if (a !== 'ok') return a
          return this.post(lines.slice(half), lines.length - half)
        }
        if (e.statusCode === 400) {
          this.deps.metrics.sinkDropped.labels(NAME, classOf(parts[0]!), 'refused').inc()
          this.log.error(
            { line: parts[0]!.slice(0, 300), err: e.body?.slice(0, 300) },
            'line refused by the server as malformed; dropped',
          )
          return 'ok'
        }
      }
      if (e instanceof HttpError)
        return {
          reason: `http_${e.statusCode}`,
          detail: (e.body ?? e.message).slice(0, 300),
          ...retryAfter(e),
        }
      const text = errText(e)
      return { reason: /timed? ?out/i.test(text) ? 'timeout' : 'unreachable', detail: text.slice(0, 300) }
    }
  }

  private counted(b: Batch): void {
    const m = this.deps.metrics
    if (b.counts.reading > 0) m.sinkWritten.labels(NAME, 'reading').inc(b.counts.reading)
    if (b.counts.event > 0) m.sinkWritten.labels(NAME, 'event').inc(b.counts.event)
    if (b.counts.snapshot > 0) m.sinkWritten.labels(NAME, 'snapshot').inc(b.counts.snapshot)
    if (b.thinned > 0) m.sinkDropped.labels(NAME, 'reading', 'thinned').inc(b.thinned)
    const t = performance.now()
    this.accepted.push([t, b.points])
    while (this.accepted.length > 0 && this.accepted[0]![0] < t - 10_000) this.accepted.shift()
    this.gauge()
  }

  /** Backlog, lag and replay rate on /metrics. */
  private gauge(): void {
    const m = this.deps.metrics
    const d = this.outbox.depth()
    m.sinkBacklog.labels(NAME, 'reading').set(d.readings)
    m.sinkBacklog.labels(NAME, 'event').set(d.outbox)
    const oldest = d.readings + d.outbox > 0 ? this.outbox.oldestWaiting() : undefined
    m.sinkLag
      .labels(this.labels.sink)
      .set(oldest === undefined ? 0 : Math.max(0, this.deps.now() - oldest) / 1000)
    const t = performance.now()
    while (this.accepted.length > 0 && this.accepted[0]![0] < t - 10_000) this.accepted.shift()
    const points = this.accepted.reduce((a, [, n]) => a + n, 0)
    const span = this.accepted.length > 0 ? Math.max(1000, t - this.accepted[0]![0]) : 10_000
    m.sinkReplayRate.labels(NAME).set(Math.round((points * 1000) / span))
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.wake = () => {
        this.wake = undefined
        done()
      }
    })
  }

  // ---- points -----------------------------------------------------------------------------------

  private requestSnapshot(): void {
    this.snapshotDue = true
    this.wake?.()
  }

  /** How many warnings are on the air per level, and each one's coverage, now. */
  private snapshot(): void {
    this.snapshotDue = false
    const at = this.deps.now()
    const active = this.deps.warnings.active()
    const counts: Partial<Record<(typeof LEVELS)[number], number>> = {}
    const lines: string[] = []
    for (const w of active) {
      if (w.level) counts[w.level] = (counts[w.level] ?? 0) + 1
      const cov = this.deps.coverage(w.id).at(-1)
      if (cov)
        lines.push(
          coverageLine({
            warningId: w.id,
            ruleId: w.ruleId,
            stationId: w.stationId,
            hazard: w.hazard,
            region: w.region,
            level: w.level,
            targeted: cov.targeted,
            reached: cov.reached,
            played: cov.played,
            failed: cov.failed,
            offline: cov.offline,
            unanswered: cov.unanswered,
            at,
          }),
        )
    }
    this.outbox.enqueue('snapshot', [...activeLines(counts, LEVELS, at), ...lines], at)
  }

  private place(stationId: string): StationPlace | undefined {
    const s = this.deps.runtime().registry.station(stationId)
    return s ? { region: s.region, site: s.site } : undefined
  }

  /** Each sensor's series (measurement and tags) by its ids, made once per registry (a reload may move a station). */
  private series = new Map<string, string>()
  private seriesRegistry: unknown

  private seriesOf(key: string): string {
    const registry = this.deps.runtime().registry
    if (registry !== this.seriesRegistry) {
      this.series = new Map()
      this.seriesRegistry = registry
    }
    let series = this.series.get(key)
    if (series === undefined) {
      const ids = seriesIds(key)
      series = readingSeries(ids, this.place(ids.stationId))
      this.series.set(key, series)
    }
    return series
  }

  private readingLine(r: ReadingRow): string | undefined {
    return storedReadingLine(this.seriesOf(r.series), r.vals, r.derived, r.ts, () => {
      const ids = seriesIds(r.series)
      return readingLine(
        {
          ...ids,
          ts: r.ts,
          values: JSON.parse(r.vals) as Record<string, number>,
          derived: r.derived === null ? undefined : (JSON.parse(r.derived) as Record<string, number>),
        },
        this.place(ids.stationId),
      )
    })
  }

  private eventLine(e: GatewayEvent): string | undefined {
    switch (e.type) {
      case 'warning.released': {
        const w = this.deps.warnings.get(e.data.warningId)
        return warningLine({
          warningId: e.data.warningId,
          ruleId: w?.ruleId ?? 'unknown',
          hazard: w?.hazard ?? e.hazard ?? 'unknown',
          region: w?.region ?? e.region ?? '',
          stationId: w?.stationId || undefined,
          action: e.data.action,
          status: e.data.status,
          level: e.data.level,
          version: e.data.version,
          targets: e.data.targets.length,
          text: e.data.text,
          at: e.at,
        })
      }
      case 'warning.acknowledged':
      case 'warning.escalated': {
        const w = this.deps.warnings.get(e.data.warningId)
        if (!w) return undefined
        return warningLine({
          warningId: w.id,
          ruleId: w.ruleId,
          hazard: w.hazard,
          region: w.region,
          stationId: w.stationId || undefined,
          action: e.type === 'warning.acknowledged' ? 'acknowledge' : 'escalate',
          level: w.level,
          version: w.version,
          text:
            e.type === 'warning.acknowledged'
              ? `acknowledged by ${e.data.by}`
              : `escalated to tier ${e.data.tier}`,
          at: e.at,
        })
      }
      case 'fault.raised':
      case 'fault.cleared':
        return faultLine({
          stationId: e.data.stationId,
          sensorId: e.data.sensorId,
          fault: e.data.kind,
          region: e.region ?? undefined,
          active: e.type === 'fault.raised',
          detail: e.data.detail,
          at: e.at,
        })
      default:
        return undefined
    }
  }
}

/** The class of a line by its measurement, for counting a refused one. */
const classOf = (line: string): string =>
  line.startsWith('reading,') ? 'reading' : /^(warnings_active|coverage),/.test(line) ? 'snapshot' : 'event'

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Retry-After as the server sent it: seconds, or an HTTP date. (The client reads only seconds, as ms.) */
function retryAfter(e: HttpError): { retryAfterMs?: number } {
  const h = e.headers?.['retry-after']
  const v = Array.isArray(h) ? h[0] : h
  if (typeof v !== 'string' || v.trim() === '') return {}
  if (/^\d+$/.test(v.trim())) return { retryAfterMs: Number(v.trim()) * 1000 }
  const at = Date.parse(v)
  return Number.isNaN(at) ? {} : { retryAfterMs: Math.max(0, at - Date.now()) }
}
