/**
 * Webhooks: every released warning version is POSTed as JSON to the configured endpoints, signed
 * with HMAC-SHA256 over `timestamp.body` (header `X-Shaobing-Signature: t=…,v1=…`, as Stripe and
 * GitHub sign theirs, so a receiver can check it and refuse replays). Deliveries are rows in
 * SQLite, retried with exponential backoff until the endpoint answers 2xx or the attempts run out.
 */
import { createHmac } from 'node:crypto'
import type { Logger } from 'pino'
import type { Channel, Released } from '../../dissemination/channel.js'
import type { Metrics } from '../../metrics.js'
import { reportOf } from '../../warnings/model.js'
import type { Db } from '../../store/db.js'

export interface WebhookTarget {
  readonly url: string
  readonly secret: string
  /** Only these hazards ('*' or absent: all). */
  readonly hazards?: readonly string[] | undefined
}

export interface WebhookDeps {
  readonly db: Db
  readonly targets: readonly WebhookTarget[]
  readonly maxAttempts: number
  readonly retryAfterMs: number
  readonly metrics: Metrics
  readonly log: Logger
  readonly now: () => number
}

/** The signature header value for `body` sent at `timestamp` (seconds). */
export function signature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

export class WebhookChannel implements Channel {
  readonly name = 'webhook'
  readonly policyChannel = 'webhook' as const
  private timer: NodeJS.Timeout | undefined
  private busy = false
  private readonly log: Logger

  constructor(private readonly deps: WebhookDeps) {
    this.log = deps.log.child({ component: 'webhook' })
  }

  start(everyMs = 200): void {
    this.timer = setInterval(() => void this.pump(), everyMs)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /** A released version, POSTed to every endpoint of its hazard (queued; the pump sends). */
  deliver({ warning: w, version: v }: Released): void {
    this.enqueue(`${w.id}#${v.version}`, w.hazard, {
      type: 'warning.version',
      warning: w,
      version: { ...v, ...reportOf(v.action) },
    })
  }

  /** Queues one event for every matching endpoint, once per `dedupe` key and endpoint. */
  enqueue(dedupe: string, hazard: string, event: unknown): void {
    const now = this.deps.now()
    const body = JSON.stringify(event)
    const insert = this.deps.db.prepare(
      "INSERT OR IGNORE INTO webhook_deliveries (url, dedupe, body, state, next_at, created_at) VALUES (?, ?, ?, 'queued', ?, ?)",
    )
    for (const t of this.deps.targets)
      if (!t.hazards || t.hazards.includes('*') || t.hazards.includes(hazard))
        insert.run(t.url, `${t.url} ${dedupe}`, body, now, now)
  }

  deliveries(): { url: string; state: string; attempts: number; lastStatus: string | null }[] {
    return this.deps.db
      .prepare('SELECT url, state, attempts, last_status AS lastStatus FROM webhook_deliveries ORDER BY id')
      .all() as { url: string; state: string; attempts: number; lastStatus: string | null }[]
  }

  /** Sends what is due; one pass at a time. */
  async pump(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const now = this.deps.now()
      const due = this.deps.db
        .prepare(
          "SELECT * FROM webhook_deliveries WHERE state = 'queued' AND next_at <= ? ORDER BY id LIMIT 100",
        )
        .all(now) as { id: number; url: string; body: string; attempts: number }[]
      await Promise.all(due.map((d) => this.send(d)))
    } finally {
      this.busy = false
    }
  }

  private async send(d: { id: number; url: string; body: string; attempts: number }): Promise<void> {
    const target = this.deps.targets.find((t) => t.url === d.url)
    if (!target) return
    const ts = Math.floor(this.deps.now() / 1000)
    let status: string
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-shaobing-signature': signature(target.secret, ts, d.body),
        },
        body: d.body,
        signal: AbortSignal.timeout(10_000),
      })
      status = String(res.status)
      await res.body?.cancel()
      if (res.ok) {
        this.deps.db
          .prepare(
            "UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, last_status = ?, delivered_at = ? WHERE id = ?",
          )
          .run(status, this.deps.now(), d.id)
        this.deps.metrics.webhooks.labels('delivered').inc()
        return
      }
    } catch (e) {
      status = (e as Error).name === 'TimeoutError' ? 'timeout' : `error: ${(e as Error).message}`
    }
    const attempts = d.attempts + 1
    const failed = attempts >= this.deps.maxAttempts
    this.deps.db
      .prepare(
        'UPDATE webhook_deliveries SET state = ?, attempts = ?, last_status = ?, next_at = ? WHERE id = ?',
      )
      .run(
        failed ? 'failed' : 'queued',
        attempts,
        status,
        this.deps.now() + this.deps.retryAfterMs * 2 ** (attempts - 1),
        d.id,
      )
    this.deps.metrics.webhooks.labels(failed ? 'failed' : 'retry').inc()
    if (failed)
      this.log.warn({ url: d.url, status, attempts }, 'webhook delivery failed after its last attempt')
  }
}
