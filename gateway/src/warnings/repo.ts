/**
 * Warnings, their versions and per-terminal deliveries in SQLite. Each state change is one
 * transaction, so a restart finds either the whole change or none of it.
 */
import type { Level } from '../../../rules/src/index.js'
import type { ReceiptState } from '../contracts/payloads.js'
import type { Db } from '../store/db.js'

export type WarningAction = 'issue' | 'update' | 'lift'

export interface WarningRow {
  readonly id: string
  readonly ruleId: string
  readonly stationId: string
  readonly hazard: string
  readonly region: string
  /** Current level; null once lifted. */
  readonly level: Level | null
  readonly state: 'active' | 'lifted'
  readonly version: number
  /** Event time of the first version, epoch ms. */
  readonly issuedAt: number
  readonly updatedAt: number
  readonly liftedAt: number | null
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
}

export type DeliveryState = 'queued' | 'sent' | ReceiptState

export interface DeliveryRow {
  readonly warningId: string
  readonly version: number
  readonly terminalId: string
  readonly state: DeliveryState
  readonly detail: string | null
  readonly queuedAt: number
  readonly sentAt: number | null
  readonly updatedAt: number
}

/** Receipt states only move forward; a late "accepted" never overwrites "played". */
const PROGRESS: Record<DeliveryState, number> = {
  queued: 0,
  sent: 1,
  accepted: 2,
  playing: 3,
  played: 4,
  failed: 4,
}

export interface NewVersion {
  readonly warning: Omit<WarningRow, 'version'>
  readonly version: Omit<VersionRow, 'warningId' | 'version'>
  readonly terminals: readonly string[]
}

const warningFrom = (r: Record<string, unknown>): WarningRow => ({
  id: r.id as string,
  ruleId: r.rule_id as string,
  stationId: r.station_id as string,
  hazard: r.hazard as string,
  region: r.region as string,
  level: r.level as Level | null,
  state: r.state as 'active' | 'lifted',
  version: r.version as number,
  issuedAt: r.issued_at as number,
  updatedAt: r.updated_at as number,
  liftedAt: r.lifted_at as number | null,
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
})

export class WarningRepo {
  private readonly stmts

  constructor(private readonly db: Db) {
    this.stmts = {
      activeByKey: db.prepare(
        "SELECT * FROM warnings WHERE rule_id = ? AND station_id = ? AND state = 'active'",
      ),
      get: db.prepare('SELECT * FROM warnings WHERE id = ?'),
      upsert: db.prepare(`
        INSERT INTO warnings (id, rule_id, station_id, hazard, region, level, state, version, issued_at, updated_at, lifted_at)
        VALUES (@id, @ruleId, @stationId, @hazard, @region, @level, @state, @version, @issuedAt, @updatedAt, @liftedAt)
        ON CONFLICT (id) DO UPDATE SET level = excluded.level, state = excluded.state, version = excluded.version,
          updated_at = excluded.updated_at, lifted_at = excluded.lifted_at`),
      insertVersion: db.prepare(`
        INSERT INTO warning_versions (warning_id, version, action, level, prev_level, ts, created_at, text, explanation, verified)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertDelivery: db.prepare(`
        INSERT OR IGNORE INTO deliveries (warning_id, version, terminal_id, state, queued_at, updated_at)
        VALUES (?, ?, ?, 'queued', ?, ?)`),
      markSent: db.prepare(
        "UPDATE deliveries SET state = 'sent', sent_at = ?, updated_at = ? WHERE warning_id = ? AND version = ? AND terminal_id = ? AND state = 'queued'",
      ),
      countActive: db.prepare("SELECT count(*) AS n FROM warnings WHERE state = 'active'"),
      getDelivery: db.prepare(
        'SELECT * FROM deliveries WHERE warning_id = ? AND version = ? AND terminal_id = ?',
      ),
      setDelivery: db.prepare(
        'UPDATE deliveries SET state = ?, detail = ?, updated_at = ? WHERE warning_id = ? AND version = ? AND terminal_id = ?',
      ),
    }
  }

  activeByKey(ruleId: string, stationId: string): WarningRow | undefined {
    const r = this.stmts.activeByKey.get(ruleId, stationId) as Record<string, unknown> | undefined
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
    const r = this.db
      .prepare('SELECT * FROM warning_versions WHERE warning_id = ? AND version = ?')
      .get(warningId, version) as Record<string, unknown> | undefined
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

  /** Records a new version of a warning and queues its deliveries, atomically. Returns the version number. */
  addVersion(change: NewVersion, now: number): number {
    return this.db.transaction(() => {
      const prev = this.stmts.get.get(change.warning.id) as Record<string, unknown> | undefined
      const version = prev ? (prev.version as number) + 1 : 1
      this.stmts.upsert.run({ ...change.warning, version })
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
      )
      for (const t of change.terminals) this.stmts.insertDelivery.run(change.warning.id, version, t, now, now)
      return version
    })()
  }

  /** Marks deliveries as handed to the broker, in one transaction. */
  markSent(sent: readonly { warningId: string; version: number; terminalId: string }[], now: number): void {
    if (sent.length === 0) return
    this.db.transaction(() => {
      for (const d of sent) this.stmts.markSent.run(now, now, d.warningId, d.version, d.terminalId)
    })()
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
  ): boolean {
    const row = this.stmts.getDelivery.get(warningId, version, terminalId) as
      Record<string, unknown> | undefined
    if (!row) return false
    const current = row.state as DeliveryState
    if (PROGRESS[state] < PROGRESS[current] || current === 'failed' || current === 'played') return true
    this.stmts.setDelivery.run(state, detail, now, warningId, version, terminalId)
    return true
  }
}
