/**
 * The embedded SQLite database (better-sqlite3, WAL). One file per gateway holds readings,
 * warnings with their versions, and per-terminal deliveries.
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

export type Db = Database.Database

/** Ordered migrations; the index + 1 is the schema version. Never edit one that has shipped. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE readings (
    id          INTEGER PRIMARY KEY,
    station_id  TEXT    NOT NULL,
    sensor_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    ts          INTEGER NOT NULL,          -- event time, epoch ms
    seq         INTEGER,
    received_at INTEGER NOT NULL,          -- gateway wall clock, epoch ms
    vals        TEXT    NOT NULL           -- JSON {quantity: number}
  );
  CREATE INDEX readings_station_ts ON readings (station_id, ts);

  CREATE TABLE warnings (
    id          TEXT PRIMARY KEY,
    rule_id     TEXT    NOT NULL,
    station_id  TEXT    NOT NULL,
    hazard      TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    level       TEXT,                      -- current level; NULL once lifted
    state       TEXT    NOT NULL CHECK (state IN ('active', 'lifted')),
    version     INTEGER NOT NULL,
    issued_at   INTEGER NOT NULL,          -- event time of the first version
    updated_at  INTEGER NOT NULL,
    lifted_at   INTEGER
  );
  -- One active warning per key, whatever races happen above.
  CREATE UNIQUE INDEX warnings_active_key ON warnings (rule_id, station_id) WHERE state = 'active';

  CREATE TABLE warning_versions (
    warning_id  TEXT    NOT NULL REFERENCES warnings (id),
    version     INTEGER NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('issue', 'update', 'lift')),
    level       TEXT,                      -- level after this version; NULL for lift
    prev_level  TEXT,
    ts          INTEGER NOT NULL,          -- event time of the reading that caused it
    created_at  INTEGER NOT NULL,          -- gateway wall clock
    text        TEXT    NOT NULL,
    explanation TEXT    NOT NULL,          -- JSON
    PRIMARY KEY (warning_id, version)
  );

  CREATE TABLE deliveries (
    warning_id  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    terminal_id TEXT    NOT NULL,
    state       TEXT    NOT NULL,          -- queued | sent | accepted | playing | played | failed
    detail      TEXT,
    queued_at   INTEGER NOT NULL,
    sent_at     INTEGER,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (warning_id, version, terminal_id),
    FOREIGN KEY (warning_id, version) REFERENCES warning_versions (warning_id, version)
  );
  CREATE INDEX deliveries_state ON deliveries (state);
  `,
  `
  -- Equipment faults (设备故障), a class apart from hazards: no data, values out of range.
  CREATE TABLE faults (
    id          INTEGER PRIMARY KEY,
    sensor_id   TEXT    NOT NULL,
    station_id  TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('no_data', 'out_of_range')),
    detail      TEXT    NOT NULL,
    since       INTEGER NOT NULL,          -- gateway wall clock, epoch ms
    cleared_at  INTEGER
  );
  CREATE UNIQUE INDEX faults_active ON faults (sensor_id, kind) WHERE cleared_at IS NULL;
  -- A hazard version decided while its station had an active fault is unverified.
  ALTER TABLE warning_versions ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;
  `,
  `
  -- Stuck sensors (flatline) and physically impossible jumps (spike) are faults too. SQLite cannot
  -- widen a CHECK in place, so the table is rebuilt.
  CREATE TABLE faults_v3 (
    id          INTEGER PRIMARY KEY,
    sensor_id   TEXT    NOT NULL,
    station_id  TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('no_data', 'out_of_range', 'spike', 'flatline')),
    detail      TEXT    NOT NULL,
    since       INTEGER NOT NULL,          -- gateway wall clock, epoch ms
    cleared_at  INTEGER
  );
  INSERT INTO faults_v3 SELECT * FROM faults;
  DROP TABLE faults;
  ALTER TABLE faults_v3 RENAME TO faults;
  CREATE UNIQUE INDEX faults_active ON faults (sensor_id, kind) WHERE cleared_at IS NULL;
  `,
]

export interface OpenOptions {
  readonly dataDir: string
  readonly synchronous: 'normal' | 'full'
}

export function openDb(opts: OpenOptions): Db {
  mkdirSync(opts.dataDir, { recursive: true })
  const db = new Database(join(opts.dataDir, 'shaobing.db'))
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${opts.synchronous.toUpperCase()}`)
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  migrate(db)
  return db
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!)
      db.pragma(`user_version = ${v + 1}`)
    })()
  }
}
