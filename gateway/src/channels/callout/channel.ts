/**
 * 叫应 call-and-answer: for orange and red warnings (`callout.levels`) the responsible people of
 * the warning's regions (village heads, duty officers; safety officers for a site) must answer. A
 * call unanswered within `answerWithin` is sent again, then passed to the person's superior (the
 * duty officer a level up); the warning shows who has and has not answered. Answers arrive as SMS
 * replies or through the API. Calls are rows in `callouts`; the SMS go through the SMS channel.
 */
import type { Logger } from 'pino'
import { durationMs, levelOfCode, parentCode } from '../../../../rules/src/index.js'
import type { GatewayConfigFile } from '../../config/schema.js'
import type { Channel, Released, Targets } from '../../dissemination/channel.js'
import type { Emit } from '../../events/bus.js'
import type { Metrics } from '../../metrics.js'
import type { Person } from '../../registry/schema.js'
import type { CurrentRuntime } from '../../runtime.js'
import type { AuditLog } from '../../store/audit.js'
import type { Db } from '../../store/db.js'
import type { WarningStore } from '../../store/warnings.js'
import type { VersionRow, WarningRow } from '../../warnings/model.js'
import type { SmsChannel } from '../sms/channel.js'

export interface CalloutRow {
  readonly id: number
  readonly warningId: string
  readonly version: number
  readonly personId: string
  readonly personName: string | null
  readonly phone: string | null
  readonly region: string
  readonly state: 'waiting' | 'answered' | 'escalated' | 'closed'
  readonly sends: number
  readonly dueAt: number
  readonly answeredAt: number | null
  readonly via: 'sms' | 'api' | null
  readonly escalatedFrom: number | null
}

export interface CalloutDeps {
  readonly db: Db
  readonly warnings: WarningStore
  readonly audit: AuditLog
  readonly runtime: CurrentRuntime
  /** Absent when no SMSC is configured: calls are then answered in the API only. */
  readonly sms: SmsChannel | undefined
  readonly config: GatewayConfigFile['callout']
  readonly emit: Emit
  readonly metrics: Metrics
  readonly log: Logger
  readonly now: () => number
}

export class CalloutChannel implements Channel {
  readonly name = 'callout'
  /** Calls are made whatever channels the policy names: answering is not optional. */
  readonly policyChannel = undefined
  private readonly log: Logger
  private readonly answerMs: number

  constructor(private readonly deps: CalloutDeps) {
    this.log = deps.log.child({ component: 'callout' })
    this.answerMs = durationMs(deps.config.answerWithin)
  }

  /** A lift closes the warning's calls; an orange/red version calls those who answer for the area. */
  deliver({ warning: w, version: v }: Released, targets: Targets): void {
    if (v.action === 'lift') this.close(w.id)
    if (v.action === 'lift' || v.level === null || !this.deps.config.levels.includes(v.level)) return
    // Those who answer for the area: village heads and duty officers (safety officers for a site).
    const called = targets.people.filter((p) => !p.roles.includes('resident'))
    for (const p of called) this.call(w, v, p, null)
  }

  private call(w: WarningRow, v: VersionRow, p: Person, from: number | null): void {
    const now = this.deps.now()
    const info = this.deps.db
      .prepare(
        `INSERT OR IGNORE INTO callouts (warning_id, version, person_id, phone, region, state, sends, due_at, escalated_from, created_at)
         VALUES (?, ?, ?, ?, ?, 'waiting', 0, ?, ?, ?)`,
      )
      .run(w.id, v.version, p.id, p.phone ?? null, p.region, now + this.answerMs, from, now)
    if (info.changes === 0) return
    const id = Number(info.lastInsertRowid)
    this.deps.metrics.callouts.labels(from === null ? 'called' : 'escalated').inc()
    this.send(id, w, v, p, 1)
  }

  private send(id: number, w: WarningRow, v: VersionRow, p: Person, attempt: number): void {
    this.deps.db.prepare('UPDATE callouts SET sends = ? WHERE id = ?').run(attempt, id)
    if (!p.phone) return
    this.deps.sms?.enqueue([
      {
        dedupe: `callout:${id}:${attempt}`,
        warningId: w.id,
        version: v.version,
        purpose: 'callout',
        personId: p.id,
        phone: p.phone,
        text: `【叫应】${v.text} 请${p.name}收到后回复1确认。`,
        // A call must get through: it overrides the caps like the warning itself.
        level: 'red',
      },
    ])
  }

  /** Due calls: resent while resends remain, then passed to the person's superior. */
  tick(): void {
    const now = this.deps.now()
    const { registry } = this.deps.runtime()
    const due = this.deps.db
      .prepare("SELECT * FROM callouts WHERE state = 'waiting' AND due_at <= ?")
      .all(now) as Record<string, unknown>[]
    for (const r of due) {
      const id = r.id as number
      const w = this.deps.warnings.get(r.warning_id as string)
      const v = w && this.deps.warnings.version(w.id, r.version as number)
      const person = registry.people.find((p) => p.id === r.person_id)
      if (!w || !v || w.state !== 'active' || !person) {
        this.deps.db.prepare("UPDATE callouts SET state = 'closed' WHERE id = ?").run(id)
        continue
      }
      const sends = r.sends as number
      if (sends <= this.deps.config.resends) {
        this.deps.db.prepare('UPDATE callouts SET due_at = ? WHERE id = ?').run(now + this.answerMs, id)
        this.send(id, w, v, person, sends + 1)
        this.deps.metrics.callouts.labels('resent').inc()
        continue
      }
      this.deps.db.prepare("UPDATE callouts SET state = 'escalated' WHERE id = ?").run(id)
      const superior = this.superiorOf(person)
      this.deps.audit.audit(now, 'system', 'callout_escalated', w.id, {
        person: person.id,
        superior: superior?.id ?? null,
        sends,
      })
      this.log.warn(
        { warningId: w.id, person: person.id, superior: superior?.id },
        '叫应 unanswered: passed up',
      )
      if (superior) this.call(w, v, superior, id)
    }
  }

  /** The duty officer of the nearest region above the person's. */
  private superiorOf(p: Person): Person | undefined {
    const { registry } = this.deps.runtime()
    for (let code = parentCode(p.region); code !== undefined; code = parentCode(code)) {
      const duty = registry.peopleIn(code, ['duty_officer']).find((x) => x.id !== p.id)
      if (duty) return duty
      if (levelOfCode(code) === 'province') break
    }
    return undefined
  }

  /** A reply SMS: the sender's waiting calls are answered. Returns how many. */
  reply(phone: string, text: string): number {
    const normal = (x: string) => x.replace(/^\+?86/, '')
    const people = this.deps
      .runtime()
      .registry.people.filter((p) => p.phone && normal(p.phone) === normal(phone))
    let n = 0
    for (const p of people) n += this.answer(p.id, 'sms')
    this.log.info({ phone, text: text.slice(0, 40), answered: n }, 'SMS reply')
    return n
  }

  /** Marks a person's waiting calls answered (all of a warning, or all of theirs). */
  answer(personId: string, via: 'sms' | 'api', warningId?: string): number {
    const now = this.deps.now()
    const filter = warningId !== undefined ? 'AND warning_id = ?' : ''
    const args = warningId !== undefined ? [warningId] : []
    const calls = this.deps.db
      .prepare(
        `SELECT warning_id, count(*) AS n FROM callouts WHERE person_id = ? AND state = 'waiting' ${filter} GROUP BY warning_id`,
      )
      .all(personId, ...args) as { warning_id: string; n: number }[]
    const changes = this.deps.db
      .prepare(
        `UPDATE callouts SET state = 'answered', answered_at = ?, via = ?
         WHERE person_id = ? AND state = 'waiting' ${filter}`,
      )
      .run(now, via, personId, ...args).changes
    if (changes > 0) {
      this.deps.metrics.callouts.labels('answered').inc(changes)
      this.deps.audit.audit(now, personId, 'callout_answered', warningId ?? personId, { via, calls: changes })
      for (const c of calls) {
        const w = this.deps.warnings.get(c.warning_id)
        void this.deps.emit({
          type: 'callout.answered',
          region: w?.region ?? null,
          hazard: w?.hazard ?? null,
          data: { warningId: c.warning_id, personId, via, calls: c.n },
        })
      }
    }
    return changes
  }

  private close(warningId: string): void {
    this.deps.db
      .prepare("UPDATE callouts SET state = 'closed' WHERE warning_id = ? AND state = 'waiting'")
      .run(warningId)
  }

  callouts(warningId: string): CalloutRow[] {
    const names = new Map(this.deps.runtime().registry.people.map((p) => [p.id, p.name]))
    return (
      this.deps.db
        .prepare('SELECT * FROM callouts WHERE warning_id = ? ORDER BY id')
        .all(warningId) as Record<string, unknown>[]
    ).map((r) => ({
      id: r.id as number,
      warningId: r.warning_id as string,
      version: r.version as number,
      personId: r.person_id as string,
      personName: names.get(r.person_id as string) ?? null,
      phone: r.phone as string | null,
      region: r.region as string,
      state: r.state as CalloutRow['state'],
      sends: r.sends as number,
      dueAt: r.due_at as number,
      answeredAt: r.answered_at as number | null,
      via: r.via as CalloutRow['via'],
      escalatedFrom: r.escalated_from as number | null,
    }))
  }
}
