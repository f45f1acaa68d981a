/**
 * The schema's history: ordered migrations, the index + 1 is the schema version (SQLite's
 * user_version). A migration that has shipped is never edited; a change is a new one at the end.
 *
 * Which module owns (and alone queries) each table:
 *   readings                                   store/readings.ts
 *   warnings, warning_versions, approvals,
 *   escalations                                store/warnings.ts
 *   alerts, alert_events                       store/alerts.ts
 *   silences                                   store/silences.ts
 *   audit_log                                  store/audit.ts
 *   deliveries, terminal_presence              store/deliveries.ts
 *   events                                     store/events.ts
 *   devices                                    store/devices.ts
 *   operator_accounts, operator_sessions,
 *   operator_tokens                            store/operators.ts
 *   faults                                     faults/monitor.ts
 *   sms_messages, sms_message_ids,
 *   sms_early_receipts                         channels/sms/channel.ts
 *   callouts                                   channels/callout/channel.ts
 *   webhook_deliveries                         channels/webhook/channel.ts
 *   sink_cursors, sink_outbox                  sinks/outbox.ts
 *   readings_downsampled                       store/retention.ts
 */
/** Ordered migrations; the index + 1 is the schema version. Never edit one that has shipped. */
export const MIGRATIONS: readonly string[] = [
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
  `
  -- The alert manager. A warning is keyed by what it covers (hazard + village, hazard + site, or a
  -- manual warning's own key), no longer by (rule, station): twenty gauges, one warning.
  DROP INDEX warnings_active_key;
  ALTER TABLE warnings ADD COLUMN key TEXT NOT NULL DEFAULT '';
  UPDATE warnings SET key = hazard || '|' || region;
  CREATE UNIQUE INDEX warnings_active_key ON warnings (key) WHERE state = 'active';
  ALTER TABLE warnings ADD COLUMN origin TEXT NOT NULL DEFAULT 'rule';     -- rule | manual
  ALTER TABLE warnings ADD COLUMN targets TEXT;                             -- JSON region codes
  ALTER TABLE warnings ADD COLUMN end_reason TEXT;                          -- cleared | lifted | expired | reset
  ALTER TABLE warnings ADD COLUMN acked_at INTEGER;
  ALTER TABLE warnings ADD COLUMN acked_by TEXT;
  ALTER TABLE warnings ADD COLUMN tier INTEGER NOT NULL DEFAULT 0;         -- escalation tier reached
  ALTER TABLE warnings ADD COLUMN escalate_at INTEGER;                      -- wall clock; NULL: none due
  ALTER TABLE warnings ADD COLUMN hold_until INTEGER;                       -- flap damping, wall clock
  ALTER TABLE warning_versions ADD COLUMN reason TEXT NOT NULL DEFAULT 'rule';
  -- released | pending (approval) | rejected | inhibited | superseded
  ALTER TABLE warning_versions ADD COLUMN release TEXT NOT NULL DEFAULT 'released';
  ALTER TABLE warning_versions ADD COLUMN release_due INTEGER;              -- approval deadline
  ALTER TABLE warning_versions ADD COLUMN released_at INTEGER;
  ALTER TABLE warning_versions ADD COLUMN released_by TEXT;                 -- JSON operator ids, or system
  ALTER TABLE warning_versions ADD COLUMN alerts TEXT NOT NULL DEFAULT '[]'; -- JSON: alerts behind it
  UPDATE warning_versions SET released_at = created_at;

  -- What each rule says at each station (its level), kept so a restart and the API know it.
  CREATE TABLE alerts (
    rule_id      TEXT    NOT NULL,
    station_id   TEXT    NOT NULL,
    hazard       TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    region       TEXT    NOT NULL,
    level        TEXT,                     -- NULL: not firing
    since        INTEGER NOT NULL,         -- event time of the last change
    explanation  TEXT    NOT NULL,         -- JSON
    muted_by     INTEGER,                  -- silence id while silenced
    PRIMARY KEY (rule_id, station_id)
  );
  CREATE INDEX alerts_key ON alerts (key);
  -- Warnings active before this version carry their one alert over.
  INSERT INTO alerts (rule_id, station_id, hazard, key, region, level, since, explanation)
    SELECT rule_id, station_id, hazard, key, region, level, updated_at, '{}' FROM warnings WHERE state = 'active';
  CREATE TABLE alert_events (
    id           INTEGER PRIMARY KEY,
    rule_id      TEXT    NOT NULL,
    station_id   TEXT    NOT NULL,
    from_level   TEXT,
    to_level     TEXT,
    ts           INTEGER NOT NULL,         -- event time
    raised_ts    INTEGER                   -- for a clear: event time of the raise it ends
  );
  CREATE INDEX alert_events_rule ON alert_events (rule_id);

  CREATE TABLE silences (
    id           INTEGER PRIMARY KEY,
    station_id   TEXT,
    region       TEXT,                     -- 12-digit code; matches everything inside it
    hazard       TEXT,
    starts_at    INTEGER NOT NULL,         -- wall clock
    ends_at      INTEGER NOT NULL,
    author       TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    ended_at     INTEGER                   -- set when removed early
  );

  CREATE TABLE approvals (
    warning_id   TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    operator     TEXT    NOT NULL,
    decision     TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    at           INTEGER NOT NULL,
    PRIMARY KEY (warning_id, version, operator)
  );

  CREATE TABLE escalations (
    id           INTEGER PRIMARY KEY,
    warning_id   TEXT    NOT NULL,
    tier         INTEGER NOT NULL,
    region       TEXT    NOT NULL,
    people       TEXT    NOT NULL,         -- JSON [{id, name, phone}]
    at           INTEGER NOT NULL
  );

  -- Who did what and when. Append-only: the triggers refuse changes and deletions.
  CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,         -- wall clock
    actor        TEXT    NOT NULL,         -- operator id, or system
    action       TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    detail       TEXT    NOT NULL          -- JSON
  );
  CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
  `,
  `
  -- CAP status: Actual warnings go to every terminal; Exercise and Test only to drill terminals.
  ALTER TABLE warnings ADD COLUMN status TEXT NOT NULL DEFAULT 'Actual';
  -- Warnings relayed from an upstream CAP alert remember it, so its Update and Cancel find them.
  ALTER TABLE warnings ADD COLUMN upstream TEXT;
  CREATE INDEX warnings_upstream ON warnings (upstream);
  `,
  `
  -- SMS over SMPP: a durable queue, drained when the SMSC is reachable; one row per recipient and
  -- message, deduplicated, with the SMSC's message ids and delivery receipts.
  CREATE TABLE sms_messages (
    id            INTEGER PRIMARY KEY,
    dedupe        TEXT    NOT NULL UNIQUE,   -- warning:version:phone (callouts add their attempt)
    warning_id    TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    purpose       TEXT    NOT NULL,          -- warning | callout
    person_id     TEXT,
    phone         TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    level         TEXT,
    state         TEXT    NOT NULL,          -- queued | submitting | submitted | delivered | failed | capped
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER NOT NULL,          -- wall clock: not before
    parts         INTEGER NOT NULL DEFAULT 0,
    message_ids   TEXT    NOT NULL DEFAULT '[]',
    delivered     INTEGER NOT NULL DEFAULT 0, -- parts receipted delivered
    error         TEXT,
    created_at    INTEGER NOT NULL,
    submitted_at  INTEGER,
    delivered_at  INTEGER
  );
  CREATE INDEX sms_state ON sms_messages (state, next_at);
  CREATE INDEX sms_phone ON sms_messages (phone, submitted_at);
  CREATE TABLE sms_message_ids (
    message_id    TEXT    PRIMARY KEY,       -- the SMSC's id of one part
    sms_id        INTEGER NOT NULL REFERENCES sms_messages (id)
  );

  -- 叫应 call-and-answer: named responsible people must answer an orange or red warning.
  CREATE TABLE callouts (
    id             INTEGER PRIMARY KEY,
    warning_id     TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    person_id      TEXT    NOT NULL,
    phone          TEXT,
    region         TEXT    NOT NULL,
    state          TEXT    NOT NULL,         -- waiting | answered | escalated | closed
    sends          INTEGER NOT NULL DEFAULT 0,
    due_at         INTEGER NOT NULL,         -- wall clock
    answered_at    INTEGER,
    via            TEXT,                     -- sms | api
    escalated_from INTEGER,
    created_at     INTEGER NOT NULL,
    UNIQUE (warning_id, version, person_id)
  );
  CREATE INDEX callouts_state ON callouts (state, due_at);
  `,
  `
  -- Loudspeaker delivery: attempts and last send for retries; presence of each terminal (its
  -- retained status / last will), so an offline terminal is served when it comes back.
  ALTER TABLE deliveries ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE deliveries ADD COLUMN last_sent_at INTEGER;
  UPDATE deliveries SET attempts = 1, last_sent_at = sent_at WHERE sent_at IS NOT NULL;
  CREATE TABLE terminal_presence (
    terminal_id  TEXT PRIMARY KEY,
    state        TEXT    NOT NULL,          -- online | offline
    since        INTEGER NOT NULL           -- wall clock
  );
  `,
  `
  -- Webhook deliveries: one row per event and endpoint, retried until a 2xx.
  CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY,
    url          TEXT    NOT NULL,
    dedupe       TEXT    NOT NULL UNIQUE,
    body         TEXT    NOT NULL,
    state        TEXT    NOT NULL,          -- queued | delivered | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    last_status  TEXT,
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER
  );
  CREATE INDEX webhook_due ON webhook_deliveries (state, next_at);
  `,
  `
  -- Rounds: a version read again every so often while its warning is active.
  ALTER TABLE warning_versions ADD COLUMN rounds_sent INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE warning_versions ADD COLUMN last_round_at INTEGER;
  `,
  `
  -- Faults a device reports or betrays: lost connection (its last will), low battery, and a clock
  -- that stamps readings ahead of the gateway's. SQLite cannot widen a CHECK in place: rebuilt.
  CREATE TABLE faults_v10 (
    id          INTEGER PRIMARY KEY,
    sensor_id   TEXT    NOT NULL,
    station_id  TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('no_data', 'out_of_range', 'spike', 'flatline', 'offline', 'battery_low', 'clock')),
    detail      TEXT    NOT NULL,
    since       INTEGER NOT NULL,          -- gateway wall clock, epoch ms
    cleared_at  INTEGER
  );
  INSERT INTO faults_v10 SELECT * FROM faults;
  DROP TABLE faults;
  ALTER TABLE faults_v10 RENAME TO faults;
  CREATE UNIQUE INDEX faults_active ON faults (sensor_id, kind) WHERE cleared_at IS NULL;
  `,
  `
  -- One reading per sensor and event time: a QoS 1 resend after a lost PUBACK is not stored twice.
  DELETE FROM readings WHERE id NOT IN (SELECT min(id) FROM readings GROUP BY sensor_id, ts);
  CREATE UNIQUE INDEX readings_sensor_ts ON readings (sensor_id, ts);
  `,
  `
  -- A key's warnings, lifted ones included: the flap history is rebuilt from their versions.
  CREATE INDEX warnings_key ON warnings (key);
  `,
  `
  -- The event stream (GET /api/events): everything that happens, kept for a bounded window so a
  -- client that reconnects resumes from its Last-Event-ID. AUTOINCREMENT: ids never go back, even
  -- after the window is pruned to nothing.
  CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,          -- wall clock, epoch ms
    type        TEXT    NOT NULL,
    region      TEXT,
    hazard      TEXT,
    data        TEXT    NOT NULL           -- JSON
  );
  CREATE INDEX events_at ON events (at);
  `,
  `
  -- Device identities (MQTT clients): who may connect, as which station, sensor, terminal or
  -- integration, and with which password hash. Written by \`shaobing device\` while the gateway runs.
  CREATE TABLE devices (
    username    TEXT PRIMARY KEY,
    role        TEXT    NOT NULL CHECK (role IN ('sensor', 'station', 'terminal', 'integration')),
    subjects    TEXT    NOT NULL,          -- JSON array: the sensor, stations or terminal it is
    hash        TEXT,                      -- password hash; NULL: a client certificate only
    demo        INTEGER NOT NULL DEFAULT 0, -- created by the demo: shaobing start refuses it
    note        TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    disabled_at INTEGER
  );
  `,
  `
  -- People who act through the API (and the integrations they issue tokens to): accounts with
  -- roles and a password hash, login sessions and scoped API tokens. Tokens are stored only as
  -- their SHA-256; a token is shown once, when it is made.
  CREATE TABLE operator_accounts (
    id                  TEXT PRIMARY KEY,
    name                TEXT    NOT NULL,
    roles               TEXT    NOT NULL,          -- JSON array of viewer|operator|approver|admin
    hash                TEXT    NOT NULL,          -- scrypt PHC string (security/passwords.ts)
    demo                INTEGER NOT NULL DEFAULT 0, -- created by the demo: shaobing start refuses it
    failed_logins       INTEGER NOT NULL DEFAULT 0, -- consecutive wrong passwords
    locked_until        INTEGER,                   -- epoch ms; no password login before it
    password_changed_at INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    disabled_at         INTEGER
  );
  CREATE TABLE operator_sessions (
    id           INTEGER PRIMARY KEY,
    token_sha256 TEXT    NOT NULL UNIQUE,
    operator_id  TEXT    NOT NULL REFERENCES operator_accounts (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,                 -- absolute end; idle expiry is from last_used_at
    last_used_at INTEGER NOT NULL,
    revoked_at   INTEGER
  );
  CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);
  CREATE TABLE operator_tokens (
    id           TEXT PRIMARY KEY,
    token_sha256 TEXT    NOT NULL UNIQUE,
    operator_id  TEXT    NOT NULL REFERENCES operator_accounts (id),
    name         TEXT    NOT NULL,
    roles        TEXT    NOT NULL,                 -- JSON array: a subset of the owner's roles
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
  );
  CREATE INDEX operator_tokens_operator ON operator_tokens (operator_id);
  `,
  `
  -- History sinks (sinks/outbox.ts). Readings wait for a sink in the readings table itself, behind
  -- the sink's cursor; what is not stored elsewhere (events as points, snapshots) waits in the outbox.
  ALTER TABLE readings ADD COLUMN derived TEXT;  -- JSON: the rules' window aggregates at this reading
  CREATE TABLE sink_cursors (
    sink        TEXT    PRIMARY KEY,
    reading_id  INTEGER NOT NULL,              -- readings.id up to which the server has them
    updated_at  INTEGER NOT NULL
  );
  CREATE TABLE sink_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: acknowledging deletes up to an id
    sink        TEXT    NOT NULL,
    class       TEXT    NOT NULL CHECK (class IN ('event', 'snapshot')),
    line        TEXT    NOT NULL,              -- line protocol, ms precision
    at          INTEGER NOT NULL               -- gateway wall clock when queued
  );
  CREATE INDEX sink_outbox_sink ON sink_outbox (sink, id);
  `,
  `
  -- Retention (store/retention.ts): readings older than the raw period are folded into one row per
  -- sensor and bucket (an hour by default) before they are deleted; those rows go after their own period.
  CREATE TABLE readings_downsampled (
    station_id  TEXT    NOT NULL,
    sensor_id   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,              -- event time of the bucket's start, epoch ms
    span        INTEGER NOT NULL,              -- the bucket's length, ms
    n           INTEGER NOT NULL,              -- readings folded in
    stats       TEXT    NOT NULL,              -- JSON {quantity: {min, max, sum, n, last, lastTs}}
    PRIMARY KEY (sensor_id, bucket)
  ) WITHOUT ROWID;
  CREATE INDEX readings_downsampled_station ON readings_downsampled (station_id, bucket);
  `,
  `
  -- SMS delivery receipts per part (channels/sms/channel.ts). Each part's message id is stored at
  -- its own submit_sm_resp, with the attempt that sent it, and its receipt on it, so a resent or
  -- duplicated receipt counts once and an earlier attempt's receipts do not count for the next.
  ALTER TABLE sms_message_ids ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;  -- 0: before this migration
  ALTER TABLE sms_message_ids ADD COLUMN stat TEXT;                            -- the receipt's stat, once one came
  -- A receipt whose message id is not known yet (the SMSC sent it before its submit_sm_resp reached
  -- us) waits here until the id is, or until it expires unmatched (counted and logged).
  CREATE TABLE sms_early_receipts (
    message_id  TEXT    PRIMARY KEY,
    stat        TEXT    NOT NULL,
    received_at INTEGER NOT NULL              -- gateway wall clock
  );
  CREATE INDEX sms_early_receipts_at ON sms_early_receipts (received_at);
  `,
]
