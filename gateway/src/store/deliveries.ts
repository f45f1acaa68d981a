/**
 * Per-terminal loudspeaker deliveries of warning versions, and each terminal's presence (its
 * retained status or last will). Recorded before anything is sent, so a restart never sends twice.
 */
import type { ReceiptState } from '../contracts/payloads.js'
import type { DeliveryRow, DeliveryState, VersionCoverage, VersionRow } from '../warnings/model.js'
import type { Db } from './db.js'

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

export class DeliveryStore {
  private readonly stmts

  constructor(private readonly db: Db) {
    this.stmts = {
      insertDelivery: db.prepare(`
        INSERT OR IGNORE INTO deliveries (warning_id, version, terminal_id, state, queued_at, updated_at)
        VALUES (?, ?, ?, 'queued', ?, ?)`),
      markSent: db.prepare(
        "UPDATE deliveries SET state = CASE WHEN state IN ('queued', 'offline', 'sent', 'failed') THEN 'sent' ELSE state END, sent_at = coalesce(sent_at, ?), last_sent_at = ?, attempts = attempts + 1, updated_at = ? WHERE warning_id = ? AND version = ? AND terminal_id = ?",
      ),
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

  /** Records the deliveries a released version owes its terminals (once per terminal). */
  queue(warningId: string, version: number, terminals: readonly string[], now: number): void {
    for (const t of terminals) this.stmts.insertDelivery.run(warningId, version, t, now, now)
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

  /** Marks deliveries as handed to the broker, in one transaction. */
  markSent(sent: readonly { warningId: string; version: number; terminalId: string }[], now: number): void {
    if (sent.length === 0) return
    this.db.transaction(() => {
      for (const d of sent) this.stmts.markSent.run(now, now, now, d.warningId, d.version, d.terminalId)
    })()
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

  /** Each terminal's last known presence: its status message or last will, since when (wall clock). */
  presence(): Map<string, { readonly state: 'online' | 'offline'; readonly since: number }> {
    const rows = this.db.prepare('SELECT terminal_id, state, since FROM terminal_presence').all() as {
      terminal_id: string
      state: 'online' | 'offline'
      since: number
    }[]
    return new Map(rows.map((r) => [r.terminal_id, { state: r.state, since: r.since }]))
  }

  /**
   * Each terminal's last receipt that moved a delivery on: the delivery it concerns, the state it
   * reported and when the gateway applied it (wall clock). A delivery the gateway itself closed as
   * expired (failed, detail `expired`) is no receipt; a receipt that moved nothing (a late
   * `accepted` after `played`) is not kept.
   */
  lastReceipts(): Map<
    string,
    {
      readonly warningId: string
      readonly version: number
      readonly state: ReceiptState
      readonly at: number
    }
  > {
    const rows = this.db
      .prepare(
        `SELECT terminal_id, warning_id, version, state, updated_at FROM (
           SELECT terminal_id, warning_id, version, state, updated_at,
                  row_number() OVER (PARTITION BY terminal_id ORDER BY updated_at DESC, rowid DESC) AS n
           FROM deliveries
           WHERE state IN ('accepted', 'playing', 'played')
              OR (state = 'failed' AND coalesce(detail, '') <> 'expired')
         ) WHERE n = 1`,
      )
      .all() as {
      terminal_id: string
      warning_id: string
      version: number
      state: ReceiptState
      updated_at: number
    }[]
    return new Map(
      rows.map((r) => [
        r.terminal_id,
        { warningId: r.warning_id, version: r.version, state: r.state, at: r.updated_at },
      ]),
    )
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
  coverage(warningId: string, released: readonly VersionRow[]): VersionCoverage[] {
    return released.map((v) => {
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
