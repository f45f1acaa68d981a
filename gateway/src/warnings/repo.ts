/**
 * Warnings, their versions and per-terminal deliveries in SQLite. Each state change is one
 * transaction, so a restart finds either the whole change or none of it.
 */
import type { Level } from '../../../rules/src/index.js'
import type { ReceiptState } from '../contracts/payloads.js'
import type { Db } from '../store/db.js'

export type WarningAction = 'issue' | 'update' | 'lift'
/** Why a version exists: a rule's evaluation, an operator, expiry, an operator's reset of a latch. */
export type VersionReason = 'rule' | 'manual' | 'expired' | 'reset'
/** Whether a version went out: at once, after approval, or not (yet). */
export type Release = 'released' | 'pending' | 'rejected' | 'inhibited' | 'superseded'

export interface WarningRow {
  readonly id: string
  /** What the warning covers: `hazard|region` (or `hazard|site:…`), or a manual warning's own key. */
  readonly key: string
  readonly origin: 'rule' | 'manual'
  /** The rule and station of the most severe alert behind the current level (`manual` by hand). */
  readonly ruleId: string
  readonly stationId: string
  readonly hazard: string
  readonly region: string
  /** Regions whose loudspeakers it goes to (12-digit codes; a county covers its villages). */
  readonly targets: readonly string[]
  /** Current level; null once lifted. */
  readonly level: Level | null
  readonly state: 'active' | 'lifted'
  readonly version: number
  /** Event time of the first version, epoch ms. */
  readonly issuedAt: number
  readonly updatedAt: number
  readonly liftedAt: number | null
  /** How it ended: its alerts cleared, an operator lifted it, it expired, or a latch was reset. */
  readonly endReason: 'cleared' | 'lifted' | 'expired' | 'reset' | null
  readonly ackedAt: number | null
  readonly ackedBy: string | null
  /** Escalation tier reached: 0 the warning's own region, then each level up to the county. */
  readonly tier: number
  /** Wall clock when it escalates next unless acknowledged; null when nothing is due. */
  readonly escalateAt: number | null
  /** Flap damping: steps down are held until this wall-clock time. */
  readonly holdUntil: number | null
  /** CAP status: drills (Exercise, Test) go only to drill terminals. */
  readonly status: 'Actual' | 'Exercise' | 'Test'
  /** For a warning relayed from upstream CAP: `sender,identifier` of the alert it came from. */
  readonly upstream: string | null
}

export interface VersionRow {
  readonly warningId: string
  readonly version: number
  readonly action: WarningAction
  readonly level: Level | null
  readonly prevLevel: Level | null
  /** Event time of the reading that caused this version. */
  readonly ts: number
  /** Gateway wall clock when the version was created. */
  readonly createdAt: number
  readonly text: string
  readonly explanation: unknown
  /** False when the station had an equipment fault (设备故障) as this version was decided. */
  readonly verified: boolean
  readonly reason: VersionReason
  readonly release: Release
  /** Approval deadline (wall clock) while pending. */
  readonly releaseDue: number | null
  readonly releasedAt: number | null
  /** Who released it: approvers' ids, or `system` (automatic, or on timeout). */
  readonly releasedBy: readonly string[]
  /** The alerts (rule, station, level, muted) behind this version. */
  readonly alerts: readonly AlertSnapshot[]
  /** Rounds read so far (policy `rounds`/`every`), and when the last began. */
  readonly roundsSent: number
  readonly lastRoundAt: number | null
}

export interface AlertSnapshot {
  readonly ruleId: string
  readonly stationId: string
  readonly level: Level
  readonly since: number
  readonly mutedBy: number | null
}

export interface AlertRow extends AlertSnapshot {
  readonly hazard: string
  readonly key: string
  readonly region: string
  readonly explanation: unknown
}

export interface SilenceRow {
  readonly id: number
  readonly stationId: string | null
  readonly region: string | null
  readonly hazard: string | null
  readonly startsAt: number
  readonly endsAt: number
  readonly author: string
  readonly reason: string
  readonly createdAt: number
  readonly endedAt: number | null
}

export interface EscalationRow {
  readonly id: number
  readonly warningId: string
  readonly tier: number
  readonly region: string
  readonly people: readonly { id: string; name: string; phone: string | null }[]
  readonly at: number
}

export interface VersionCoverage {
  readonly version: number
  readonly action: WarningAction
  readonly level: Level | null
  readonly targeted: number
  /** Terminals that sent any receipt (accepted, playing, played). */
  readonly reached: number
  readonly played: number
  readonly failed: number
  readonly offline: number
  /** Sent (or queued) with no receipt yet. */
  readonly unanswered: number
  /** Milliseconds from release to the first played receipt, and to the one that made 95 %. */
  readonly firstPlayMs: number | null
  readonly p95PlayMs: number | null
}

export interface AuditRow {
  readonly id: number
  readonly at: number
  readonly actor: string
  readonly action: string
  readonly subject: string
  readonly detail: unknown
}

/** queued → sent → accepted → playing → played | failed; offline: held for a terminal that is away. */
export type DeliveryState = 'queued' | 'offline' | 'sent' | ReceiptState

export interface DeliveryRow {
  readonly warningId: string
  readonly version: number
  readonly terminalId: string
  readonly state: DeliveryState
  readonly detail: string | null
  readonly queuedAt: number
  readonly sentAt: number | null
  readonly updatedAt: number
  readonly attempts: number
  readonly lastSentAt: number | null
}

/** Receipt states only move forward; a late "accepted" never overwrites "played". */
const PROGRESS: Record<DeliveryState, number> = {
  queued: 0,
  offline: 0,
  sent: 1,
  accepted: 2,
  playing: 3,
  played: 4,
  failed: 4,
}

export interface NewVersion {
  readonly warning: Omit<WarningRow, 'version'>
  readonly version: Omit<
    VersionRow,
    'warningId' | 'version' | 'releasedBy' | 'roundsSent' | 'lastRoundAt'
  > & {
    readonly releasedBy: readonly string[]
  }
}

const warningFrom = (r: Record<string, unknown>): WarningRow => ({
  id: r.id as string,
  key: r.key as string,
  origin: r.origin as 'rule' | 'manual',
  ruleId: r.rule_id as string,
  stationId: r.station_id as string,
  hazard: r.hazard as string,
  region: r.region as string,
  targets: r.targets ? (JSON.parse(r.targets as string) as string[]) : [r.region as string],
  level: r.level as Level | null,
  state: r.state as 'active' | 'lifted',
  version: r.version as number,
  issuedAt: r.issued_at as number,
  updatedAt: r.updated_at as number,
  liftedAt: r.lifted_at as number | null,
  endReason: r.end_reason as WarningRow['endReason'],
  ackedAt: r.acked_at as number | null,
  ackedBy: r.acked_by as string | null,
  tier: r.tier as number,
  escalateAt: r.escalate_at as number | null,
  holdUntil: r.hold_until as number | null,
  status: r.status as WarningRow['status'],
  upstream: r.upstream as string | null,
})

const versionFrom = (r: Record<string, unknown>): VersionRow => ({
  warningId: r.warning_id as string,
  version: r.version as number,
  action: r.action as WarningAction,
  level: r.level as Level | null,
  prevLevel: r.prev_level as Level | null,
  ts: r.ts as number,
  createdAt: r.created_at as number,
  text: r.text as string,
  explanation: JSON.parse(r.explanation as string) as unknown,
  verified: r.verified === 1,
  reason: r.reason as VersionReason,
  release: r.release as Release,
  releaseDue: r.release_due as number | null,
  releasedAt: r.released_at as number | null,
  releasedBy: r.released_by ? (JSON.parse(r.released_by as string) as string[]) : [],
  alerts: JSON.parse(r.alerts as string) as AlertSnapshot[],
  roundsSent: (r.rounds_sent as number | undefined) ?? 1,
  lastRoundAt: (r.last_round_at as number | null | undefined) ?? null,
})

const alertFrom = (r: Record<string, unknown>): AlertRow => ({
  ruleId: r.rule_id as string,
  stationId: r.station_id as string,
  hazard: r.hazard as string,
  key: r.key as string,
  region: r.region as string,
  level: r.level as Level,
  since: r.since as number,
  explanation: JSON.parse(r.explanation as string) as unknown,
  mutedBy: r.muted_by as number | null,
})

const silenceFrom = (r: Record<string, unknown>): SilenceRow => ({
  id: r.id as number,
  stationId: r.station_id as string | null,
  region: r.region as string | null,
  hazard: r.hazard as string | null,
  startsAt: r.starts_at as number,
  endsAt: r.ends_at as number,
  author: r.author as string,
  reason: r.reason as string,
  createdAt: r.created_at as number,
  endedAt: r.ended_at as number | null,
})

const deliveryFrom = (r: Record<string, unknown>): DeliveryRow => ({
  warningId: r.warning_id as string,
  version: r.version as number,
  terminalId: r.terminal_id as string,
  state: r.state as DeliveryState,
  detail: r.detail as string | null,
  queuedAt: r.queued_at as number,
  sentAt: r.sent_at as number | null,
  updatedAt: r.updated_at as number,
  attempts: r.attempts as number,
  lastSentAt: r.last_sent_at as number | null,
})

export class WarningRepo {
  private readonly stmts

  constructor(private readonly db: Db) {
    this.stmts = {
      activeByKey: db.prepare("SELECT * FROM warnings WHERE key = ? AND state = 'active'"),
      get: db.prepare('SELECT * FROM warnings WHERE id = ?'),
      upsert: db.prepare(`
        INSERT INTO warnings (id, key, origin, rule_id, station_id, hazard, region, targets, level, state, version,
          issued_at, updated_at, lifted_at, end_reason, acked_at, acked_by, tier, escalate_at, hold_until,
          status, upstream)
        VALUES (@id, @key, @origin, @ruleId, @stationId, @hazard, @region, @targets, @level, @state, @version,
          @issuedAt, @updatedAt, @liftedAt, @endReason, @ackedAt, @ackedBy, @tier, @escalateAt, @holdUntil,
          @status, @upstream)
        ON CONFLICT (id) DO UPDATE SET rule_id = excluded.rule_id, station_id = excluded.station_id,
          targets = excluded.targets, level = excluded.level, state = excluded.state, version = excluded.version,
          updated_at = excluded.updated_at, lifted_at = excluded.lifted_at, end_reason = excluded.end_reason,
          acked_at = excluded.acked_at, acked_by = excluded.acked_by, tier = excluded.tier,
          escalate_at = excluded.escalate_at, hold_until = excluded.hold_until`),
      insertVersion: db.prepare(`
        INSERT INTO warning_versions (warning_id, version, action, level, prev_level, ts, created_at, text,
          explanation, verified, reason, release, release_due, released_at, released_by, alerts)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertDelivery: db.prepare(`
        INSERT OR IGNORE INTO deliveries (warning_id, version, terminal_id, state, queued_at, updated_at)
        VALUES (?, ?, ?, 'queued', ?, ?)`),
      markSent: db.prepare(
        "UPDATE deliveries SET state = CASE WHEN state IN ('queued', 'offline', 'sent', 'failed') THEN 'sent' ELSE state END, sent_at = coalesce(sent_at, ?), last_sent_at = ?, attempts = attempts + 1, updated_at = ? WHERE warning_id = ? AND version = ? AND terminal_id = ?",
      ),
      countActive: db.prepare("SELECT count(*) AS n FROM warnings WHERE state = 'active'"),
      version: db.prepare('SELECT * FROM warning_versions WHERE warning_id = ? AND version = ?'),
      playedCount: db.prepare(
        "SELECT count(*) AS total, coalesce(sum(state = 'played'), 0) AS played FROM deliveries WHERE warning_id = ? AND version = ?",
      ),
      getDelivery: db.prepare(
        'SELECT * FROM deliveries WHERE warning_id = ? AND version = ? AND terminal_id = ?',
      ),
      setDelivery: db.prepare(
        'UPDATE deliveries SET state = ?, detail = ?, updated_at = ? WHERE warning_id = ? AND version = ? AND terminal_id = ?',
      ),
    }
  }

  /** Event times of the versions of a key's warnings after `since`, oldest first (flap history). */
  changeTimes(key: string, since: number): number[] {
    return (
      this.db
        .prepare(
          'SELECT v.ts FROM warning_versions v JOIN warnings w ON w.id = v.warning_id WHERE w.key = ? AND v.ts > ? ORDER BY v.ts',
        )
        .all(key, since) as { ts: number }[]
    ).map((r) => r.ts)
  }

  /** Runs `fn` in one transaction (nested ones become savepoints); what it throws rolls it all back. */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)()
  }

  activeByKey(key: string): WarningRow | undefined {
    const r = this.stmts.activeByKey.get(key) as Record<string, unknown> | undefined
    return r && warningFrom(r)
  }

  get(id: string): WarningRow | undefined {
    const r = this.stmts.get.get(id) as Record<string, unknown> | undefined
    return r && warningFrom(r)
  }

  list(filter: { state?: 'active' | 'lifted'; limit: number }): WarningRow[] {
    const rows = (
      filter.state
        ? this.db
            .prepare('SELECT * FROM warnings WHERE state = ? ORDER BY updated_at DESC LIMIT ?')
            .all(filter.state, filter.limit)
        : this.db.prepare('SELECT * FROM warnings ORDER BY updated_at DESC LIMIT ?').all(filter.limit)
    ) as Record<string, unknown>[]
    return rows.map(warningFrom)
  }

  versions(warningId: string): VersionRow[] {
    return (
      this.db
        .prepare('SELECT * FROM warning_versions WHERE warning_id = ? ORDER BY version')
        .all(warningId) as Record<string, unknown>[]
    ).map(versionFrom)
  }

  version(warningId: string, version: number): VersionRow | undefined {
    const r = this.stmts.version.get(warningId, version) as Record<string, unknown> | undefined
    return r && versionFrom(r)
  }

  deliveries(warningId: string, version?: number): DeliveryRow[] {
    const rows = (
      version === undefined
        ? this.db
            .prepare('SELECT * FROM deliveries WHERE warning_id = ? ORDER BY version, terminal_id')
            .all(warningId)
        : this.db
            .prepare('SELECT * FROM deliveries WHERE warning_id = ? AND version = ? ORDER BY terminal_id')
            .all(warningId, version)
    ) as Record<string, unknown>[]
    return rows.map(deliveryFrom)
  }

  /** Deliveries recorded but never handed to the broker (the gateway stopped in between). */
  queued(): DeliveryRow[] {
    return (
      this.db.prepare("SELECT * FROM deliveries WHERE state = 'queued' ORDER BY queued_at").all() as Record<
        string,
        unknown
      >[]
    ).map(deliveryFrom)
  }

  /**
   * Records a new version of a warning and, if it is released, queues its deliveries to
   * `terminals`, atomically. Returns the version number.
   */
  addVersion(change: NewVersion, terminals: readonly string[], now: number): number {
    return this.db.transaction(() => {
      const prev = this.stmts.get.get(change.warning.id) as Record<string, unknown> | undefined
      const version = prev ? (prev.version as number) + 1 : 1
      this.stmts.upsert.run({
        ...change.warning,
        targets: JSON.stringify(change.warning.targets),
        version,
      })
      const v = change.version
      this.stmts.insertVersion.run(
        change.warning.id,
        version,
        v.action,
        v.level,
        v.prevLevel,
        v.ts,
        v.createdAt,
        v.text,
        JSON.stringify(v.explanation),
        v.verified ? 1 : 0,
        v.reason,
        v.release,
        v.releaseDue,
        v.releasedAt,
        JSON.stringify(v.releasedBy),
        JSON.stringify(v.alerts),
      )
      for (const t of terminals) this.stmts.insertDelivery.run(change.warning.id, version, t, now, now)
      return version
    })()
  }

  /** Saves a warning's state fields (acknowledgement, escalation, hold) without a new version. */
  updateWarning(w: WarningRow): void {
    this.stmts.upsert.run({ ...w, targets: JSON.stringify(w.targets) })
  }

  /** Marks a version released (by approvers or the system) and queues its deliveries, atomically. */
  release(
    warningId: string,
    version: number,
    by: readonly string[],
    terminals: readonly string[],
    now: number,
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          "UPDATE warning_versions SET release = 'released', released_at = ?, released_by = ?, release_due = NULL WHERE warning_id = ? AND version = ?",
        )
        .run(now, JSON.stringify(by), warningId, version)
      for (const t of terminals) this.stmts.insertDelivery.run(warningId, version, t, now, now)
    })()
  }

  /** Sets a version's release state (pending, rejected, inhibited, superseded) without delivering it. */
  setRelease(warningId: string, version: number, release: Release, due: number | null = null): void {
    this.db
      .prepare(
        'UPDATE warning_versions SET release = ?, release_due = ? WHERE warning_id = ? AND version = ?',
      )
      .run(release, due, warningId, version)
  }

  /** Marks a warning's versions still waiting for approval as overtaken by a newer one. */
  supersedePending(warningId: string): void {
    this.db
      .prepare(
        "UPDATE warning_versions SET release = 'superseded', release_due = NULL WHERE warning_id = ? AND release = 'pending'",
      )
      .run(warningId)
  }

  /** Versions waiting for approval, oldest first. */
  pendingVersions(): VersionRow[] {
    return (
      this.db
        .prepare("SELECT * FROM warning_versions WHERE release = 'pending' ORDER BY created_at")
        .all() as Record<string, unknown>[]
    ).map(versionFrom)
  }

  /** Active warnings of a hazard (for inhibition). */
  activeOfHazard(hazard: string): WarningRow[] {
    return (
      this.db.prepare("SELECT * FROM warnings WHERE state = 'active' AND hazard = ?").all(hazard) as Record<
        string,
        unknown
      >[]
    ).map(warningFrom)
  }

  /** The warning relayed from an upstream CAP alert (`sender,identifier`), if any. */
  byUpstream(ref: string): WarningRow | undefined {
    const r = this.db
      .prepare('SELECT * FROM warnings WHERE upstream = ? ORDER BY issued_at DESC')
      .get(ref) as Record<string, unknown> | undefined
    return r && warningFrom(r)
  }

  active(): WarningRow[] {
    return (
      this.db.prepare("SELECT * FROM warnings WHERE state = 'active'").all() as Record<string, unknown>[]
    ).map(warningFrom)
  }

  // ---- alerts -------------------------------------------------------------------------------

  /** Records a rule's level at a station (null: not firing) and the event for the statistics. */
  setAlert(a: Omit<AlertRow, 'level'> & { level: Level | null }, from: Level | null): void {
    this.db.transaction(() => {
      const raisedTs =
        a.level === null
          ? ((
              this.db
                .prepare(
                  'SELECT ts FROM alert_events WHERE rule_id = ? AND station_id = ? AND from_level IS NULL ORDER BY id DESC LIMIT 1',
                )
                .get(a.ruleId, a.stationId) as { ts: number } | undefined
            )?.ts ?? null)
          : null
      this.db
        .prepare(
          'INSERT INTO alert_events (rule_id, station_id, from_level, to_level, ts, raised_ts) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(a.ruleId, a.stationId, from, a.level, a.since, raisedTs)
      if (a.level === null)
        this.db.prepare('DELETE FROM alerts WHERE rule_id = ? AND station_id = ?').run(a.ruleId, a.stationId)
      else
        this.db
          .prepare(
            `INSERT INTO alerts (rule_id, station_id, hazard, key, region, level, since, explanation, muted_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (rule_id, station_id) DO UPDATE SET hazard = excluded.hazard, key = excluded.key,
               region = excluded.region, level = excluded.level, since = excluded.since,
               explanation = excluded.explanation, muted_by = excluded.muted_by`,
          )
          .run(
            a.ruleId,
            a.stationId,
            a.hazard,
            a.key,
            a.region,
            a.level,
            a.since,
            JSON.stringify(a.explanation),
            a.mutedBy,
          )
    })()
  }

  setMuted(ruleId: string, stationId: string, silenceId: number | null): void {
    this.db
      .prepare('UPDATE alerts SET muted_by = ? WHERE rule_id = ? AND station_id = ?')
      .run(silenceId, ruleId, stationId)
  }

  alert(ruleId: string, stationId: string): AlertRow | undefined {
    const r = this.db
      .prepare('SELECT * FROM alerts WHERE rule_id = ? AND station_id = ?')
      .get(ruleId, stationId) as Record<string, unknown> | undefined
    return r && alertFrom(r)
  }

  alertsOfKey(key: string): AlertRow[] {
    return (
      this.db.prepare('SELECT * FROM alerts WHERE key = ? ORDER BY since').all(key) as Record<
        string,
        unknown
      >[]
    ).map(alertFrom)
  }

  alerts(): AlertRow[] {
    return (this.db.prepare('SELECT * FROM alerts ORDER BY since').all() as Record<string, unknown>[]).map(
      alertFrom,
    )
  }

  /** Per rule: raises, clears within `quickMs` of their raise (event time). */
  alertStats(quickMs: number): { ruleId: string; fired: number; cleared: number; quickLifts: number }[] {
    return this.db
      .prepare(
        `SELECT rule_id AS ruleId,
           sum(CASE WHEN from_level IS NULL AND to_level IS NOT NULL THEN 1 ELSE 0 END) AS fired,
           sum(CASE WHEN to_level IS NULL THEN 1 ELSE 0 END) AS cleared,
           sum(CASE WHEN to_level IS NULL AND raised_ts IS NOT NULL AND ts - raised_ts <= ? THEN 1 ELSE 0 END) AS quickLifts
         FROM alert_events GROUP BY rule_id ORDER BY rule_id`,
      )
      .all(quickMs) as { ruleId: string; fired: number; cleared: number; quickLifts: number }[]
  }

  // ---- silences -----------------------------------------------------------------------------

  addSilence(s: Omit<SilenceRow, 'id' | 'endedAt'>): number {
    return Number(
      this.db
        .prepare(
          'INSERT INTO silences (station_id, region, hazard, starts_at, ends_at, author, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(s.stationId, s.region, s.hazard, s.startsAt, s.endsAt, s.author, s.reason, s.createdAt)
        .lastInsertRowid,
    )
  }

  endSilence(id: number, at: number): boolean {
    return (
      this.db.prepare('UPDATE silences SET ended_at = ? WHERE id = ? AND ended_at IS NULL').run(at, id)
        .changes > 0
    )
  }

  silence(id: number): SilenceRow | undefined {
    const r = this.db.prepare('SELECT * FROM silences WHERE id = ?').get(id) as
      Record<string, unknown> | undefined
    return r && silenceFrom(r)
  }

  /** Silences in force at `now` (started, not ended, not expired). */
  silencesAt(now: number): SilenceRow[] {
    return (
      this.db
        .prepare(
          'SELECT * FROM silences WHERE ended_at IS NULL AND starts_at <= ? AND ends_at > ? ORDER BY id',
        )
        .all(now, now) as Record<string, unknown>[]
    ).map(silenceFrom)
  }

  silences(limit: number): SilenceRow[] {
    return (
      this.db.prepare('SELECT * FROM silences ORDER BY id DESC LIMIT ?').all(limit) as Record<
        string,
        unknown
      >[]
    ).map(silenceFrom)
  }

  // ---- approvals, escalations, audit -------------------------------------------------------

  addApproval(
    warningId: string,
    version: number,
    operator: string,
    decision: 'approve' | 'reject',
    at: number,
  ): boolean {
    return (
      this.db
        .prepare(
          'INSERT OR IGNORE INTO approvals (warning_id, version, operator, decision, at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(warningId, version, operator, decision, at).changes > 0
    )
  }

  approvals(warningId: string, version: number): { operator: string; decision: string; at: number }[] {
    return this.db
      .prepare(
        'SELECT operator, decision, at FROM approvals WHERE warning_id = ? AND version = ? ORDER BY at',
      )
      .all(warningId, version) as { operator: string; decision: string; at: number }[]
  }

  addEscalation(e: Omit<EscalationRow, 'id'>): void {
    this.db
      .prepare('INSERT INTO escalations (warning_id, tier, region, people, at) VALUES (?, ?, ?, ?, ?)')
      .run(e.warningId, e.tier, e.region, JSON.stringify(e.people), e.at)
  }

  escalations(warningId: string): EscalationRow[] {
    return (
      this.db.prepare('SELECT * FROM escalations WHERE warning_id = ? ORDER BY id').all(warningId) as Record<
        string,
        unknown
      >[]
    ).map((r) => ({
      id: r.id as number,
      warningId: r.warning_id as string,
      tier: r.tier as number,
      region: r.region as string,
      people: JSON.parse(r.people as string) as EscalationRow['people'],
      at: r.at as number,
    }))
  }

  audit(at: number, actor: string, action: string, subject: string, detail: unknown): void {
    this.db
      .prepare('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
      .run(at, actor, action, subject, JSON.stringify(detail))
  }

  auditLog(filter: { subject?: string | undefined; action?: string | undefined; limit: number }): AuditRow[] {
    const where: string[] = []
    const args: unknown[] = []
    if (filter.subject !== undefined) {
      where.push('subject = ?')
      args.push(filter.subject)
    }
    if (filter.action !== undefined) {
      where.push('action = ?')
      args.push(filter.action)
    }
    return (
      this.db
        .prepare(
          `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        )
        .all(...args, filter.limit) as Record<string, unknown>[]
    ).map((r) => ({
      id: r.id as number,
      at: r.at as number,
      actor: r.actor as string,
      action: r.action as string,
      subject: r.subject as string,
      detail: JSON.parse(r.detail as string) as unknown,
    }))
  }

  /** Marks deliveries as handed to the broker, in one transaction. */
  markSent(sent: readonly { warningId: string; version: number; terminalId: string }[], now: number): void {
    if (sent.length === 0) return
    this.db.transaction(() => {
      for (const d of sent) this.stmts.markSent.run(now, now, now, d.warningId, d.version, d.terminalId)
    })()
  }

  setRound(warningId: string, version: number, round: number, at: number): void {
    this.db
      .prepare(
        'UPDATE warning_versions SET rounds_sent = ?, last_round_at = ? WHERE warning_id = ? AND version = ?',
      )
      .run(round, at, warningId, version)
  }

  /** Deliveries of a version, and how many of them played. */
  playedCount(warningId: string, version: number): { total: number; played: number } {
    return this.stmts.playedCount.get(warningId, version) as { total: number; played: number }
  }

  /** Marks deliveries held because their terminal is offline. */
  markOffline(
    held: readonly { warningId: string; version: number; terminalId: string }[],
    now: number,
  ): void {
    if (held.length === 0) return
    const stmt = this.db.prepare(
      "UPDATE deliveries SET state = 'offline', updated_at = ? WHERE warning_id = ? AND version = ? AND terminal_id = ? AND state IN ('queued', 'offline')",
    )
    this.db.transaction(() => {
      for (const d of held) stmt.run(now, d.warningId, d.version, d.terminalId)
    })()
  }

  /**
   * Deliveries of the current released version of active warnings that have not been played:
   * held for an offline terminal, sent without any receipt since `sentBefore`, or failed (not
   * for expiry) — the candidates for a resend. Optionally for one terminal only.
   */
  undelivered(filter: { terminalId?: string; sentBefore: number; maxAttempts: number }): DeliveryRow[] {
    return (
      this.db
        .prepare(
          `SELECT d.* FROM deliveries d JOIN warnings w ON w.id = d.warning_id AND w.version = d.version
           WHERE w.state = 'active' AND d.attempts < ? ${filter.terminalId !== undefined ? 'AND d.terminal_id = ?' : ''}
             AND (d.state IN ('queued', 'offline')
               OR (d.state = 'sent' AND coalesce(d.last_sent_at, 0) < ?)
               OR (d.state = 'failed' AND coalesce(d.detail, '') <> 'expired' AND coalesce(d.last_sent_at, 0) < ?))
           ORDER BY d.queued_at`,
        )
        .all(
          filter.maxAttempts,
          ...(filter.terminalId !== undefined ? [filter.terminalId] : []),
          filter.sentBefore,
          filter.sentBefore,
        ) as Record<string, unknown>[]
    ).map(deliveryFrom)
  }

  setPresence(terminalId: string, state: 'online' | 'offline', now: number): void {
    this.db
      .prepare(
        'INSERT INTO terminal_presence (terminal_id, state, since) VALUES (?, ?, ?) ON CONFLICT (terminal_id) DO UPDATE SET state = excluded.state, since = excluded.since',
      )
      .run(terminalId, state, now)
  }

  /** Terminals last seen offline. */
  offlineTerminals(): Set<string> {
    return new Set(
      (
        this.db.prepare("SELECT terminal_id FROM terminal_presence WHERE state = 'offline'").all() as {
          terminal_id: string
        }[]
      ).map((r) => r.terminal_id),
    )
  }

  countActive(): number {
    return (this.stmts.countActive.get() as { n: number }).n
  }

  /** Applies a terminal's receipt; false if no such delivery exists. */
  receipt(
    warningId: string,
    version: number,
    terminalId: string,
    state: ReceiptState,
    detail: string | null,
    now: number,
  ): 'unknown' | 'ignored' | 'applied' {
    const row = this.stmts.getDelivery.get(warningId, version, terminalId) as
      Record<string, unknown> | undefined
    if (!row) return 'unknown'
    const current = row.state as DeliveryState
    if (PROGRESS[state] < PROGRESS[current] || current === 'failed' || current === 'played') return 'ignored'
    this.stmts.setDelivery.run(state, detail, now, warningId, version, terminalId)
    return 'applied'
  }

  /**
   * Coverage of each released version of a warning: loudspeakers targeted, reached (any receipt),
   * played, failed, held offline; and the wall-clock times at which they played, from the
   * version's release, for time to first and to 95 % playback.
   */
  coverage(warningId: string): VersionCoverage[] {
    const versions = this.versions(warningId).filter((v) => v.release === 'released')
    return versions.map((v) => {
      const rows = this.deliveries(warningId, v.version)
      const count = (states: readonly DeliveryState[]) => rows.filter((r) => states.includes(r.state)).length
      const start = v.releasedAt ?? v.createdAt
      const played = rows
        .filter((r) => r.state === 'played')
        .map((r) => r.updatedAt - start)
        .sort((a, b) => a - b)
      const at95 = Math.ceil(rows.length * 0.95)
      return {
        version: v.version,
        action: v.action,
        level: v.level,
        targeted: rows.length,
        reached: count(['accepted', 'playing', 'played']),
        played: played.length,
        failed: count(['failed']),
        offline: count(['offline']),
        unanswered: count(['queued', 'sent']),
        firstPlayMs: played[0] ?? null,
        p95PlayMs: rows.length > 0 && played.length >= at95 ? played[at95 - 1]! : null,
      }
    })
  }
}
