/**
 * SMS over SMPP 3.4 (the `smpp` package): the gateway binds to the operator's SMSC as a
 * transceiver, submits UCS-2 messages (long ones split with a concatenation UDH), records the
 * SMSC's message ids and the delivery receipts (deliver_sm) per recipient, and passes replies
 * (mobile-originated deliver_sm) on for 叫应.
 *
 * Every message is first a row in SQLite: a dead SMSC only delays it. The pump drains the queue at
 * `ratePerSecond` while bound, retries failures with exponential backoff, and reconnects with
 * backoff when the SMSC goes away. A row is deduplicated per warning version and phone, so rules
 * and channels that name the same person send one SMS. Per-recipient hourly and daily caps hold
 * back routine messages; red warnings and second-stage alarms override them.
 *
 * Each part's message id is stored the moment its submit_sm_resp arrives (synchronously, so no
 * deliver_sm can be handled in between), with its receipt once it comes. An SMSC may send a part's
 * receipt as soon as it has answered the part, and over SMPP 3.4 nothing orders a deliver_sm after
 * the submit_sm_resp it concerns: a receipt for an id not known yet waits in `sms_early_receipts`
 * and is applied when the id arrives; one still unmatched after `EARLY_RECEIPT_KEEP_MS` is
 * counted (`receipt_unmatched`) and logged.
 */
import type { Logger } from 'pino'
import * as smpp from 'smpp'
import type { Level } from '../../../../rules/src/index.js'
import type { Channel, Released, Targets } from '../../dissemination/channel.js'
import type { Emit } from '../../events/bus.js'
import type { Metrics } from '../../metrics.js'
import type { Db } from '../../store/db.js'
import { segment } from './segments.js'

export interface SmsConfig {
  readonly url: string
  readonly systemId: string
  readonly password: string
  readonly sourceAddr: string
  readonly ratePerSecond: number
  readonly maxAttempts: number
  readonly retryAfterMs: number
  readonly hourlyCap: number
  readonly dailyCap: number
}

export interface SmsDeps {
  readonly db: Db
  readonly config: SmsConfig
  readonly metrics: Metrics
  readonly log: Logger
  readonly now: () => number
  /** The event stream: delivery receipts. */
  readonly emit: Emit
  /** A reply from a phone (mobile-originated): 叫应 answers. */
  readonly onReply: (phone: string, text: string) => void
}

export interface SmsRow {
  readonly id: number
  readonly warningId: string
  readonly version: number
  readonly purpose: 'warning' | 'callout'
  readonly personId: string | null
  readonly phone: string
  readonly state: 'queued' | 'submitting' | 'submitted' | 'delivered' | 'failed' | 'capped'
  readonly attempts: number
  readonly parts: number
  readonly delivered: number
  readonly error: string | null
  readonly createdAt: number
  readonly submittedAt: number | null
  readonly deliveredAt: number | null
}

const rowFrom = (r: Record<string, unknown>): SmsRow => ({
  id: r.id as number,
  warningId: r.warning_id as string,
  version: r.version as number,
  purpose: r.purpose as SmsRow['purpose'],
  personId: r.person_id as string | null,
  phone: r.phone as string,
  state: r.state as SmsRow['state'],
  attempts: r.attempts as number,
  parts: r.parts as number,
  delivered: r.delivered as number,
  error: r.error as string | null,
  createdAt: r.created_at as number,
  submittedAt: r.submitted_at as number | null,
  deliveredAt: r.delivered_at as number | null,
})

/**
 * How long a receipt for an unknown message id waits for its submit_sm_resp (wall clock). The
 * response follows within seconds or the session is lost, after which the message goes again under
 * new ids; a receipt still unmatched by then will never be.
 */
export const EARLY_RECEIPT_KEEP_MS = 10 * 60_000
/** At most this many early receipts wait; beyond it the oldest are dropped as unmatched. */
export const EARLY_RECEIPT_MAX = 10_000

/** Messages of these levels go out even past a recipient's caps. */
const overridesCaps = (level: Level | null) => level === 'red' || level === 'level_2'

export class SmsChannel implements Channel {
  readonly name = 'sms'
  readonly policyChannel = 'sms' as const
  private session: smpp.Session | undefined
  private bound = false
  private stopped = false
  private reconnectMs = 500
  private pumpTimer: NodeJS.Timeout | undefined
  private reconnectTimer: NodeJS.Timeout | undefined
  private inFlight = 0
  private ref = 0
  private readonly log: Logger

  constructor(private readonly deps: SmsDeps) {
    this.log = deps.log.child({ component: 'sms' })
    // Whatever was being submitted when the gateway stopped goes again (the SMSC never answered).
    deps.db.prepare("UPDATE sms_messages SET state = 'queued' WHERE state = 'submitting'").run()
  }

  get isBound(): boolean {
    return this.bound
  }

  start(): void {
    this.stopped = false
    this.connect()
    const tickMs = 100
    this.pumpTimer = setInterval(() => {
      this.expireEarlyReceipts()
      this.pump(Math.max(1, Math.round((this.deps.config.ratePerSecond * tickMs) / 1000)))
    }, tickMs)
    this.pumpTimer.unref()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.pumpTimer) clearInterval(this.pumpTimer)
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    const s = this.session
    this.session = undefined
    this.bound = false
    if (s)
      await new Promise<void>((resolve) => {
        const done = () => resolve()
        s.once('close', done)
        s.destroy()
        setTimeout(done, 500).unref()
      })
  }

  /** A message's delivery moved on: the event stream hears of it. */
  private announce(smsId: number): void {
    const m = this.deps.db
      .prepare('SELECT warning_id, version, phone, person_id, state, error FROM sms_messages WHERE id = ?')
      .get(smsId) as Record<string, string | number | null> | undefined
    if (!m) return
    void this.deps.emit({
      type: 'delivery.changed',
      data: {
        warningId: String(m.warning_id),
        version: Number(m.version),
        channel: 'sms',
        recipient: String(m.person_id ?? m.phone),
        state: String(m.state),
        detail: m.error === null ? null : String(m.error),
      },
    })
  }

  /** A released version: one SMS per target person with a phone, queued; the pump sends them. */
  deliver({ warning: w, version: v }: Released, targets: Targets): void {
    const level = (v.level ?? v.prevLevel)!
    this.enqueue(
      targets.people.map((p) => ({
        dedupe: `${w.id}:${v.version}:${p.phone}`,
        warningId: w.id,
        version: v.version,
        purpose: 'warning' as const,
        personId: p.id,
        phone: p.phone!,
        text: v.text,
        level,
      })),
    )
  }

  /**
   * Queues one message per recipient (deduplicated per `dedupe` key); returns how many were new.
   */
  enqueue(
    items: readonly {
      dedupe: string
      warningId: string
      version: number
      purpose: SmsRow['purpose']
      personId: string | null
      phone: string
      text: string
      level: Level | null
    }[],
  ): number {
    const now = this.deps.now()
    const insert = this.deps.db.prepare(
      `INSERT OR IGNORE INTO sms_messages (dedupe, warning_id, version, purpose, person_id, phone, text, level, state, next_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
    )
    let n = 0
    this.deps.db.transaction(() => {
      for (const m of items)
        n += insert.run(
          m.dedupe,
          m.warningId,
          m.version,
          m.purpose,
          m.personId,
          m.phone,
          m.text,
          m.level,
          now,
          now,
        ).changes
    })()
    this.deps.metrics.smsQueued.inc(n)
    return n
  }

  /** Messages of a warning (all versions), for the API and coverage. */
  messages(warningId: string): SmsRow[] {
    return (
      this.deps.db
        .prepare('SELECT * FROM sms_messages WHERE warning_id = ? ORDER BY id')
        .all(warningId) as Record<string, unknown>[]
    ).map(rowFrom)
  }

  /** How many messages wait for the SMSC. */
  backlog(): number {
    return (
      this.deps.db
        .prepare("SELECT count(*) AS n FROM sms_messages WHERE state IN ('queued', 'submitting')")
        .get() as {
        n: number
      }
    ).n
  }

  // ---- the SMPP session ---------------------------------------------------------------------

  private connect(): void {
    if (this.stopped) return
    const session = smpp.connect({ url: this.deps.config.url, auto_enquire_link_period: 10_000 })
    this.session = session
    session.on('connect', () => {
      session.bind_transceiver(
        {
          system_id: this.deps.config.systemId,
          password: this.deps.config.password,
          interface_version: 0x34,
        },
        (pdu) => {
          if (pdu.command_status !== 0) {
            this.log.error({ status: pdu.command_status }, 'SMSC refused the bind')
            session.destroy()
            return
          }
          this.bound = true
          this.reconnectMs = 500
          this.deps.metrics.smscBound.set(1)
          this.log.info({ url: this.deps.config.url }, 'bound to the SMSC as transceiver')
        },
      )
    })
    session.on('deliver_sm', (pdu: smpp.PDU) => {
      session.send(pdu.response())
      this.delivered(pdu)
    })
    session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()))
    session.on('unbind', (pdu: smpp.PDU) => {
      session.send(pdu.response())
      session.destroy()
    })
    const lost = () => {
      if (this.session !== session) return
      this.session = undefined
      if (this.bound) this.log.warn('SMSC connection lost; messages stay queued')
      this.bound = false
      this.deps.metrics.smscBound.set(0)
      // Messages submitted without an answer go again (at-least-once: the SMSC may have taken one).
      this.deps.db.prepare("UPDATE sms_messages SET state = 'queued' WHERE state = 'submitting'").run()
      this.inFlight = 0
      if (this.stopped) return
      this.reconnectTimer = setTimeout(() => this.connect(), this.reconnectMs)
      this.reconnectTimer.unref()
      this.reconnectMs = Math.min(this.reconnectMs * 2, 30_000)
    }
    session.on('close', lost)
    session.on('error', (e: Error) => {
      this.log.debug({ err: e }, 'SMSC connection error')
      lost()
    })
  }

  /** Submits up to `budget` due messages (the rate limit's share of this tick). */
  private pump(budget: number): void {
    const session = this.session
    if (!session || !this.bound) return
    const { db, config } = this.deps
    const now = this.deps.now()
    const free = Math.max(0, budget * 4 - this.inFlight) // bounded window of outstanding submits
    const due = db
      .prepare("SELECT * FROM sms_messages WHERE state = 'queued' AND next_at <= ? ORDER BY id LIMIT ?")
      .all(now, Math.min(budget, free)) as Record<string, unknown>[]
    for (const r of due) {
      const id = r.id as number
      const phone = r.phone as string
      if (!overridesCaps(r.level as Level | null) && this.overCap(phone, now)) {
        db.prepare("UPDATE sms_messages SET state = 'capped', error = ? WHERE id = ?").run(
          `recipient over ${config.hourlyCap}/h or ${config.dailyCap}/day`,
          id,
        )
        this.deps.metrics.smsOutcomes.labels('capped').inc()
        continue
      }
      const parts = segment(r.text as string, this.ref++ & 0xff)
      const attempt = (r.attempts as number) + 1
      // Receipts count per attempt: the parts of an earlier, failed one do not make this one whole.
      db.prepare(
        "UPDATE sms_messages SET state = 'submitting', parts = ?, attempts = ?, delivered = 0 WHERE id = ?",
      ).run(parts.length, attempt, id)
      this.inFlight++
      let answered = 0
      const ids: string[] = []
      let failed: string | undefined
      for (const p of parts) {
        session.submit_sm(
          {
            source_addr: config.sourceAddr,
            destination_addr: phone,
            registered_delivery: 1,
            data_coding: 8,
            short_message: p.udh ? { udh: p.udh, message: p.text } : { message: p.text },
          },
          (resp) => {
            answered++
            if (resp.command_status === 0) {
              const messageId = String(resp.message_id)
              ids.push(messageId)
              this.known(messageId, id, attempt)
            } else failed = `submit_sm status 0x${resp.command_status.toString(16)}`
            if (answered === parts.length) this.submitted(id, ids, failed, r.attempts as number)
          },
        )
      }
    }
  }

  private overCap(phone: string, now: number): boolean {
    const count = (since: number) =>
      (
        this.deps.db
          .prepare(
            "SELECT count(*) AS n FROM sms_messages WHERE phone = ? AND submitted_at > ? AND state IN ('submitted', 'delivered')",
          )
          .get(phone, since) as { n: number }
      ).n
    return (
      count(now - 3_600_000) >= this.deps.config.hourlyCap ||
      count(now - 86_400_000) >= this.deps.config.dailyCap
    )
  }

  private submitted(
    id: number,
    ids: readonly string[],
    failed: string | undefined,
    attemptsBefore: number,
  ): void {
    this.inFlight = Math.max(0, this.inFlight - 1)
    const { db, config } = this.deps
    const now = this.deps.now()
    if (failed === undefined) {
      // Every part's receipt may be in already (stored as each id became known): then it is whole.
      // A part receipted undelivered meanwhile has failed the message; that stays.
      const changed = db
        .prepare(
          `UPDATE sms_messages SET submitted_at = ?, message_ids = ?, error = NULL,
             state = CASE WHEN delivered >= parts THEN 'delivered' ELSE 'submitted' END,
             delivered_at = CASE WHEN delivered >= parts THEN ? ELSE delivered_at END
           WHERE id = ? AND state = 'submitting'`,
        )
        .run(now, JSON.stringify(ids), now, id).changes
      this.deps.metrics.smsOutcomes.labels('submitted').inc()
      if (changed > 0 && this.stateOf(id) === 'delivered') this.announce(id)
      return
    }
    const attempts = attemptsBefore + 1
    if (attempts >= config.maxAttempts) {
      db.prepare("UPDATE sms_messages SET state = 'failed', error = ? WHERE id = ?").run(failed, id)
      this.deps.metrics.smsOutcomes.labels('failed').inc()
      this.log.warn({ sms: id, error: failed }, 'SMS failed after its last attempt')
      return
    }
    const backoff = config.retryAfterMs * 2 ** (attempts - 1)
    db.prepare("UPDATE sms_messages SET state = 'queued', error = ?, next_at = ? WHERE id = ?").run(
      failed,
      now + backoff,
      id,
    )
    this.deps.metrics.smsOutcomes.labels('retry').inc()
  }

  private stateOf(id: number): string | undefined {
    return (
      this.deps.db.prepare('SELECT state FROM sms_messages WHERE id = ?').get(id) as
        { state: string } | undefined
    )?.state
  }

  /**
   * A part's message id, at its submit_sm_resp: stored at once, and a receipt that came before it
   * (kept in `sms_early_receipts`) applied.
   */
  private known(messageId: string, smsId: number, attempt: number): void {
    const { db } = this.deps
    const early = db.transaction(() => {
      db.prepare(
        'INSERT OR REPLACE INTO sms_message_ids (message_id, sms_id, attempt, stat) VALUES (?, ?, ?, NULL)',
      ).run(messageId, smsId, attempt)
      const e = db.prepare('SELECT stat FROM sms_early_receipts WHERE message_id = ?').get(messageId) as
        { stat: string } | undefined
      if (!e) return undefined
      db.prepare('DELETE FROM sms_early_receipts WHERE message_id = ?').run(messageId)
      return this.applyReceipt(messageId, e.stat)
    })()
    if (early !== undefined) {
      this.deps.metrics.smsOutcomes.labels('receipt_early_applied').inc()
      this.log.debug({ sms: smsId, messageId }, 'early SMS receipt applied')
      this.announce(early)
    }
  }

  /**
   * Records a receipt on its part and moves the message on. Returns the message's id when it
   * changed, undefined when the message id is unknown or the receipt changes nothing (a duplicate,
   * a part of an earlier attempt).
   */
  private applyReceipt(messageId: string, stat: string): number | undefined {
    const { db } = this.deps
    const part = db
      .prepare(
        `SELECT i.sms_id, i.attempt, i.stat, m.attempts FROM sms_message_ids i
         JOIN sms_messages m ON m.id = i.sms_id WHERE i.message_id = ?`,
      )
      .get(messageId) as
      { sms_id: number; attempt: number; stat: string | null; attempts: number } | undefined
    if (!part || part.stat !== null) return undefined // unknown, or its receipt came already
    db.prepare('UPDATE sms_message_ids SET stat = ? WHERE message_id = ?').run(stat, messageId)
    // 0: an id stored before parts carried their attempt; it counts as before.
    if (part.attempt !== 0 && part.attempt !== part.attempts) return undefined
    const now = this.deps.now()
    if (stat === 'DELIVRD') {
      // Whole once every part is receipted and every part was answered (state submitted); while
      // parts are still being submitted the count waits for submitted() to settle it.
      db.prepare(
        `UPDATE sms_messages SET delivered = delivered + 1,
           state = CASE WHEN delivered + 1 >= parts AND state = 'submitted' THEN 'delivered' ELSE state END,
           delivered_at = CASE WHEN delivered + 1 >= parts AND state = 'submitted' THEN ? ELSE delivered_at END
         WHERE id = ?`,
      ).run(now, part.sms_id)
      this.deps.metrics.smsOutcomes.labels('delivered_part').inc()
    } else {
      db.prepare("UPDATE sms_messages SET state = 'failed', error = ? WHERE id = ?").run(
        `receipt ${stat}`,
        part.sms_id,
      )
      this.deps.metrics.smsOutcomes.labels('undelivered').inc()
    }
    return part.sms_id
  }

  /** Early receipts that waited `EARLY_RECEIPT_KEEP_MS` for their message id in vain. */
  private expireEarlyReceipts(): void {
    const { db } = this.deps
    const gone = db
      .prepare(
        'SELECT message_id, stat FROM sms_early_receipts WHERE received_at <= ? ORDER BY received_at LIMIT 1000',
      )
      .all(this.deps.now() - EARLY_RECEIPT_KEEP_MS) as { message_id: string; stat: string }[]
    if (gone.length === 0) return
    const del = db.prepare('DELETE FROM sms_early_receipts WHERE message_id = ?')
    db.transaction(() => {
      for (const g of gone) del.run(g.message_id)
    })()
    this.unmatched(gone, `no submit_sm_resp named it within ${EARLY_RECEIPT_KEEP_MS / 60_000} min`)
  }

  private unmatched(receipts: readonly { message_id: string; stat: string }[], why: string): void {
    this.deps.metrics.smsOutcomes.labels('receipt_unmatched').inc(receipts.length)
    this.log.warn(
      { count: receipts.length, messageIds: receipts.slice(0, 20).map((r) => r.message_id), why },
      'SMS receipts for unknown message ids dropped',
    )
  }

  /** A deliver_sm: a delivery receipt for a part we sent, or a reply from a phone. */
  private delivered(pdu: smpp.PDU): void {
    const esm = Number(pdu.esm_class ?? 0)
    const message = pdu.short_message as { message?: string } | string | undefined
    const text = typeof message === 'string' ? message : (message?.message ?? '')
    if ((esm & 0x3c) === 0x04) {
      // Delivery receipt: the id is in the receipted_message_id TLV, or in the text "id:… stat:…".
      const id = String(pdu.receipted_message_id ?? /id:(\S+)/.exec(text)?.[1] ?? '')
      const stat = /stat:(\w+)/.exec(text)?.[1] ?? (Number(pdu.message_state) === 2 ? 'DELIVRD' : 'UNKNOWN')
      const { db } = this.deps
      const known = db.prepare('SELECT 1 FROM sms_message_ids WHERE message_id = ?').get(id) !== undefined
      if (known) {
        const changed = this.applyReceipt(id, stat)
        if (changed !== undefined) this.announce(changed)
        return
      }
      // Not known yet: its submit_sm_resp has not reached us. Kept, durably, until it does.
      db.prepare(
        'INSERT OR REPLACE INTO sms_early_receipts (message_id, stat, received_at) VALUES (?, ?, ?)',
      ).run(id, stat, this.deps.now())
      this.deps.metrics.smsOutcomes.labels('receipt_early').inc()
      this.log.debug({ messageId: id, stat }, 'SMS receipt before its message id; kept')
      const { n } = db.prepare('SELECT count(*) AS n FROM sms_early_receipts').get() as { n: number }
      if (n > EARLY_RECEIPT_MAX) {
        const oldest = db
          .prepare('SELECT message_id, stat FROM sms_early_receipts ORDER BY received_at LIMIT ?')
          .all(n - EARLY_RECEIPT_MAX) as { message_id: string; stat: string }[]
        const del = db.prepare('DELETE FROM sms_early_receipts WHERE message_id = ?')
        db.transaction(() => {
          for (const o of oldest) del.run(o.message_id)
        })()
        this.unmatched(oldest, `more than ${EARLY_RECEIPT_MAX} receipts waiting for their message ids`)
      }
      return
    }
    this.deps.metrics.smsOutcomes.labels('reply').inc()
    this.deps.onReply(String(pdu.source_addr ?? ''), text)
  }
}
