/**
 * Device identities: the MQTT clients the broker lets in. Each says what it is (role and subjects:
 * the sensor, the stations of a concentrator, the terminal, or the stations an integration reads)
 * and carries a password hash, never a password. `shaobing device` writes here while the gateway
 * runs; the gateway notices another connection's commit through SQLite's `data_version`.
 */
import type { Db } from './db.js'

export const DEVICE_ROLES = ['sensor', 'station', 'terminal', 'integration'] as const
export type DeviceRole = (typeof DEVICE_ROLES)[number]

export interface DeviceRow {
  readonly username: string
  readonly role: DeviceRole
  /**
   * sensor: [sensorId]; station (a logger or concentrator): the station ids whose sensors it
   * publishes for; terminal: [terminalId]; integration: the station ids whose readings it may read,
   * or ['*'] for all.
   */
  readonly subjects: readonly string[]
  /** Password hash (security/passwords.ts); null when only a client certificate admits it. */
  readonly hash: string | null
  /** Created by `shaobing demo`: a real deployment refuses to start while one is enabled. */
  readonly demo: boolean
  readonly note: string | null
  readonly createdAt: number
  readonly updatedAt: number
  readonly disabledAt: number | null
}

const deviceFrom = (r: Record<string, unknown>): DeviceRow => ({
  username: r.username as string,
  role: r.role as DeviceRole,
  subjects: JSON.parse(r.subjects as string) as string[],
  hash: r.hash as string | null,
  demo: r.demo === 1,
  note: r.note as string | null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
  disabledAt: r.disabled_at as number | null,
})

export class DeviceStore {
  constructor(private readonly db: Db) {}

  get(username: string): DeviceRow | undefined {
    const r = this.db.prepare('SELECT * FROM devices WHERE username = ?').get(username) as
      Record<string, unknown> | undefined
    return r ? deviceFrom(r) : undefined
  }

  list(): DeviceRow[] {
    return (
      this.db.prepare('SELECT * FROM devices ORDER BY username').all() as Record<string, unknown>[]
    ).map(deviceFrom)
  }

  /** Adds an identity; false if the username is taken. */
  add(d: Omit<DeviceRow, 'createdAt' | 'updatedAt' | 'disabledAt'>, at: number): boolean {
    return (
      this.db
        .prepare(
          `INSERT INTO devices (username, role, subjects, hash, demo, note, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`,
        )
        .run(d.username, d.role, JSON.stringify(d.subjects), d.hash, d.demo ? 1 : 0, d.note, at, at).changes >
      0
    )
  }

  /** Adds or replaces identities in one transaction (an import). */
  upsertAll(rows: readonly Omit<DeviceRow, 'createdAt' | 'updatedAt' | 'disabledAt'>[], at: number): void {
    const st = this.db.prepare(
      `INSERT INTO devices (username, role, subjects, hash, demo, note, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (username) DO UPDATE SET role = excluded.role, subjects = excluded.subjects,
         hash = excluded.hash, demo = excluded.demo, note = excluded.note, updated_at = excluded.updated_at`,
    )
    this.db.transaction(() => {
      for (const d of rows)
        st.run(d.username, d.role, JSON.stringify(d.subjects), d.hash, d.demo ? 1 : 0, d.note, at, at)
    })()
  }

  /** A new password hash; connections that used the old one are closed by the gateway. */
  setHash(username: string, hash: string | null, at: number): boolean {
    return (
      this.db
        .prepare('UPDATE devices SET hash = ?, demo = 0, updated_at = ? WHERE username = ?')
        .run(hash, at, username).changes > 0
    )
  }

  setDisabled(username: string, disabled: boolean, at: number): boolean {
    return (
      this.db
        .prepare(
          disabled
            ? 'UPDATE devices SET disabled_at = ?, updated_at = ? WHERE username = ? AND disabled_at IS NULL'
            : 'UPDATE devices SET disabled_at = NULL, updated_at = ? WHERE username = ? AND disabled_at IS NOT NULL',
        )
        .run(...(disabled ? [at, at, username] : [at, username])).changes > 0
    )
  }

  /** Enabled identities the demo created. */
  demoCount(): number {
    return (
      this.db.prepare('SELECT count(*) AS n FROM devices WHERE demo = 1 AND disabled_at IS NULL').get() as {
        n: number
      }
    ).n
  }

  /** Changes whenever another connection (the CLI) commits to the database. */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number
  }
}
