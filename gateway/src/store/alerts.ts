/** What each rule says at each station (`alerts`), and every change of it (`alert_events`). */
import type { Level } from '../../../rules/src/index.js'
import type { AlertRow } from '../warnings/model.js'
import type { Db } from './db.js'

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

export class AlertStore {
  constructor(private readonly db: Db) {}

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
}
