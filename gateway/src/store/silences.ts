/** Maintenance windows that mute matching alerts. */
import type { SilenceRow } from '../warnings/model.js'
import type { Db } from './db.js'

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

export class SilenceStore {
  constructor(private readonly db: Db) {}

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
}
