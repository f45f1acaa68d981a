/**
 * Warnings, their versions, approvals and escalations. A version and its warning row are written
 * together, so a restart finds either the whole change or none of it.
 */
import type { Level } from '../../../rules/src/index.js'
import type {
  AlertSnapshot,
  EscalationRow,
  Release,
  VersionReason,
  VersionRow,
  WarningAction,
  WarningRow,
} from '../warnings/model.js'
import type { Db } from './db.js'

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

export class WarningStore {
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
      countActive: db.prepare("SELECT count(*) AS n FROM warnings WHERE state = 'active'"),
      version: db.prepare('SELECT * FROM warning_versions WHERE warning_id = ? AND version = ?'),
    }
  }

  changeTimes(key: string, since: number): number[] {
    return (
      this.db
        .prepare(
          'SELECT v.ts FROM warning_versions v JOIN warnings w ON w.id = v.warning_id WHERE w.key = ? AND v.ts > ? ORDER BY v.ts',
        )
        .all(key, since) as { ts: number }[]
    ).map((r) => r.ts)
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

  /**
   * Records a new version of a warning with the warning's new state, atomically. Returns the
   * version number.
   */
  addVersion(change: NewVersion): number {
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
      return version
    })()
  }

  /** Saves a warning's state fields (acknowledgement, escalation, hold) without a new version. */
  updateWarning(w: WarningRow): void {
    this.stmts.upsert.run({ ...w, targets: JSON.stringify(w.targets) })
  }

  /** Marks a held version released (by approvers or the system). */
  release(warningId: string, version: number, by: readonly string[], now: number): void {
    this.db
      .prepare(
        "UPDATE warning_versions SET release = 'released', released_at = ?, released_by = ?, release_due = NULL WHERE warning_id = ? AND version = ?",
      )
      .run(now, JSON.stringify(by), warningId, version)
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

  countActive(): number {
    return (this.stmts.countActive.get() as { n: number }).n
  }

  setRound(warningId: string, version: number, round: number, at: number): void {
    this.db
      .prepare(
        'UPDATE warning_versions SET rounds_sent = ?, last_round_at = ? WHERE warning_id = ? AND version = ?',
      )
      .run(round, at, warningId, version)
  }

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
        'SELECT operator, decision, at FROM approvals WHERE warning_id = ? AND version = ? ORDER BY at, rowid',
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
}
