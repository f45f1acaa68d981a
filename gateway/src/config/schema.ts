/**
 * The gateway configuration file (YAML). Defaults live here, in one place; paths are resolved
 * relative to the file that names them.
 */
import { z } from 'zod'
import { Duration } from '../../../rules/src/index.js'
import { OPERATOR_ROLES } from '../contracts/api.js'

const Port = z.number().int().min(0).max(65535)

const LevelName = z.enum(['blue', 'yellow', 'orange', 'red', 'level_1', 'level_2'])
/** A hazard name, or `*` for every hazard. */
const HazardMatch = z.union([z.literal('*'), z.string().regex(/^[a-z][a-z0-9_]*$/)])

/**
 * The alert manager between the rules and the channels: grouping, release (approval), inhibition,
 * flap damping, acknowledgement and escalation, expiry.
 */
export const WarningsConfig = z.strictObject({
  /** How long a loudspeaker command stays playable if not superseded. */
  playableFor: Duration.default('6h'),
  /** Times a terminal repeats the announcement. */
  repeat: z.number().int().positive().default(3),
  /**
   * What one warning covers. Public warnings (the four colours) group the alerts of one hazard by
   * the stations' village (or township, county, or each station alone); enterprise alarms (the
   * two stages) by the station's site (`site` in the registry; the station itself without one).
   * Twenty gauges in one village make one warning.
   */
  groupBy: z
    .strictObject({
      public: z.enum(['station', 'village', 'township', 'county']).default('village'),
      alarm: z.enum(['site', 'station', 'village']).default('site'),
    })
    .prefault({}),
  /**
   * Versions that wait for an approver before they go out, per hazard and level; the first entry
   * that matches applies. Unmatched versions are released at once (earthquake, gas, dust). A
   * version unanswered for `timeout` is released by the gateway; `twoPerson` needs two approvers.
   */
  approval: z
    .array(
      z.strictObject({
        hazards: z.array(HazardMatch).min(1),
        levels: z.array(LevelName).min(1),
        timeout: Duration,
        twoPerson: z.boolean().default(false),
      }),
    )
    .default([]),
  /** A released warning suppresses lower-level warnings of its hazard inside its region. */
  inhibit: z.boolean().default(true),
  /**
   * Flapping: this many level changes of one warning within `window` (event time) make it flap;
   * while it does, steps down are held until no step has come for `hold` (wall clock).
   */
  flap: z
    .strictObject({
      changes: z.number().int().min(2).default(4),
      window: Duration.default('30m'),
      hold: Duration.default('15m'),
    })
    .prefault({}),
  /** A lift within this long (event time) of the raise counts as noise in the rule statistics. */
  quickLift: Duration.default('10m'),
  /**
   * Acknowledgement: warnings at these levels must be acknowledged; unacknowledged after `after`,
   * they escalate to the next tier of responsible people (village → township → county duty).
   */
  escalation: z
    .strictObject({
      levels: z.array(LevelName).default(['yellow', 'orange', 'red', 'level_1', 'level_2']),
      after: Duration.default('10m'),
    })
    .prefault({}),
  /** A warning with no new version for this long (wall clock) expires (终报, CAP Cancel). */
  expireAfter: Duration.default('24h'),
  /**
   * Loudspeaker deliveries with no receipt after `retryAfter` (or failed) are sent again, up to
   * `maxAttempts`; a terminal that was offline gets its still-valid warnings when it comes back.
   */
  delivery: z
    .strictObject({ retryAfter: Duration.default('30s'), maxAttempts: z.number().int().min(1).default(5) })
    .prefault({}),
  /** How often approval timeouts, escalations, silences, holds and expiry are checked. */
  tickEvery: Duration.default('1s'),
})
export type WarningsConfig = z.infer<typeof WarningsConfig>

/** Settings a site must accept by name before a non-demo gateway starts with them. */
export const INSECURE_SETTINGS = [
  'security.devices.authenticate',
  'security.devices.allowAnonymous',
  'demoCredentials',
  'plainListenerOnNetwork',
  'http.readsNeedViewer',
  'sl651OnNetwork',
] as const

const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
/** A secret, from an environment variable or a file (relative to the configuration), never written inline. */
const SecretRef = z.union([z.strictObject({ env: EnvName }), z.strictObject({ file: z.string().min(1) })])

/**
 * Node-RED embedded in the gateway's process (gateway/src/nodered/embedded.ts), with the nodes of
 * `dashboards/node-red/` in its palette. Off by default. Its editor and admin API need the admin's
 * login: `admin` is required when enabled. Node-RED is one per process and cannot be restarted in
 * it; every setting here needs a gateway restart.
 */
export const NodeRedConfig = z
  .strictObject({
    enabled: z.boolean().default(false),
    /** Listen address of the editor and the flows' HTTP endpoints (`/api/…`). Loopback by default. */
    host: z.string().default('127.0.0.1'),
    /** 0 picks a free port. */
    port: Port.default(1880),
    /** Node-RED's own directory (flows, credentials, installed modules); default `node-red` in `dataDir`. */
    userDir: z.string().optional(),
    /** The editor's one account; its password from an environment variable or a file, never logged. */
    admin: z.strictObject({ username: z.string().min(1), password: SecretRef }).optional(),
    /** A flow file installed as the flows when the userDir has none yet (never over existing flows). */
    flows: z.string().optional(),
    /** Environment variables set for the flows (`${NAME}` in a node's settings), e.g. a relay's URL. */
    env: z
      .record(z.string(), z.string())
      .superRefine((env, ctx) => {
        for (const name of Object.keys(env))
          if (!EnvName.safeParse(name).success)
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: `${name} is not an environment variable name`,
            })
      })
      .default({}),
  })
  .superRefine((n, ctx) => {
    if (n.enabled && n.admin === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['admin'],
        message:
          'the Node-RED editor needs an admin login: give admin: { username, password: { env: NAME } or { file: PATH } }',
      })
  })
export type NodeRedConfig = z.infer<typeof NodeRedConfig>

/**
 * Who may talk to the broker and on which topics. Devices authenticate against the device
 * identities in the store (`shaobing device`), and each is confined to its own topics by its role;
 * an ACL file in Mosquitto's syntax adds grants (integrations, monitoring).
 */
export const SecurityConfig = z.strictObject({
  devices: z
    .strictObject({
      /** false: no authentication and no ACLs (benchmarks, a closed lab network). Insecure. */
      authenticate: z.boolean().default(true),
      /** Clients without credentials connect with the ACL file's anonymous entries. Insecure. */
      allowAnonymous: z.boolean().default(false),
      /** Mosquitto-syntax ACL file (`user`, `topic read|write|readwrite|deny`, `pattern` with %u and %c). */
      aclFile: z.string().optional(),
    })
    .prefault({}),
  /**
   * Operator accounts (`shaobing operator`, `/api/operators`): password logins, their sessions and
   * the lockout that stops guessing. A session ends when unused for `sessionIdle` and at the latest
   * `sessionMax` after the login; `maxFailures` wrong passwords in a row lock the account for
   * `lockFor` (an admin's unlock lifts it sooner). Sessions already open stay open.
   */
  operators: z
    .strictObject({
      maxFailures: z.number().int().min(1).max(100).default(5),
      lockFor: Duration.default('15m'),
      sessionIdle: Duration.default('12h'),
      sessionMax: Duration.default('24h'),
    })
    .prefault({}),
  /**
   * The insecure settings this site accepts. Without it, \`shaobing start\` refuses anonymous or
   * unauthenticated devices, enabled demo identities, demo operator tokens or demo operator
   * accounts, plain (non-TLS) listeners on a non-loopback address, and API reads left open to the
   * network (`http.readsNeedViewer: false`), naming the setting.
   */
  acceptInsecure: z.array(z.enum(INSECURE_SETTINGS)).default([]),
})
export type SecurityConfig = z.infer<typeof SecurityConfig>

/**
 * What one client and one address may do. Over a rate a client is paced (its socket is read more
 * slowly), never dropped; over a ceiling a connection is refused with CONNACK 3 or, for a packet
 * too large, closed. 0 turns a rate or ceiling off.
 */
export const MqttLimits = z.strictObject({
  perClient: z
    .strictObject({
      /** Sustained messages a second from one client; a logger's backlog after an outage comes in at this pace. */
      messagesPerSecond: z.number().min(0).default(1000),
      /** Messages taken at once before pacing starts. */
      messageBurst: z.int().min(1).default(10_000),
      /** Sustained payload and topic bytes a second from one client. */
      bytesPerSecond: z
        .number()
        .min(0)
        .default(4 * 1024 * 1024),
      byteBurst: z
        .int()
        .min(1)
        .default(32 * 1024 * 1024),
    })
    .prefault({}),
  perAddress: z
    .strictObject({
      /**
       * New connections a second from one address. Generous because 4G devices sit behind carrier
       * NAT: after a power cut a whole village reconnects from one address.
       */
      connectsPerSecond: z.number().min(0).default(200),
      connectBurst: z.int().min(1).default(2000),
      /** An attempt over the rate waits at most this long for its turn, then gets CONNACK 3. */
      maxWait: Duration.default('10s'),
    })
    .prefault({}),
  /** Connected clients at most; more get CONNACK 3 (server unavailable). */
  maxConnections: z.int().min(0).default(50_000),
  /**
   * A client asking for no keepalive or a longer one is held to this and disconnected after 1.5 ×
   * it of silence, so a half-open 4G link is noticed. MQTT 3.1.1 cannot tell the client.
   */
  maxKeepalive: Duration.default('15m'),
  /**
   * The largest MQTT packet read, in bytes; a client sending a larger one is disconnected before it
   * is read into memory. Default: the largest `maxPayload` plus room for the topic.
   */
  maxPacketSize: z.int().min(1024).optional(),
})
export type MqttLimits = z.infer<typeof MqttLimits>

/**
 * A TLS listener's certificate (PEM files; relative paths from the configuration's folder), re-read
 * on reload (SIGHUP), so a renewed certificate needs no restart.
 */
export const TlsFiles = z.strictObject({
  cert: z.string(),
  key: z.string(),
  /** CA bundle that client certificates are verified against. */
  ca: z.string().optional(),
  /**
   * Ask clients for a certificate. A verified one whose subject CN names an enabled device logs it in
   * (no password needed); without one a client logs in with its password.
   */
  requestCert: z.boolean().default(false),
  /** Refuse the TLS handshake of a client without a certificate the CA verifies. */
  requireCert: z.boolean().default(false),
})
export type TlsFiles = z.infer<typeof TlsFiles>

/**
 * History in InfluxDB (2.x, 3.x, 1.8+) or VictoriaMetrics, written through the InfluxDB v2 write
 * API (`@influxdata/influxdb-client`). What the server has not accepted waits in SQLite, not in
 * memory: readings are read from the store itself behind a cursor, events and snapshots from the
 * sink's outbox table (gateway/src/sinks/).
 */
export const InfluxSinkConfig = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  org: z.string().min(1),
  bucket: z.string().min(1),
  /**
   * The API token (InfluxDB 1.8: `user:password`), from an environment variable or a file, never
   * written in the configuration and never logged. Omitted: no Authorization header (a
   * VictoriaMetrics without authentication).
   */
  token: SecretRef.optional(),
  /** Points per write request; a backlog is sent in batches this size, back to back. */
  batchSize: z.int().min(1).max(100_000).default(5000),
  /**
   * Writes in flight at once while a backlog drains (batches are still taken and acknowledged in
   * order); 1 makes the server receive every batch strictly in order.
   */
  concurrency: z.int().min(1).max(16).default(4),
  /** Live points wait at most this long for a batch to fill. */
  flushEvery: Duration.default('1s'),
  /** A write request unanswered this long has failed (and is sent again). */
  timeout: Duration.default('10s'),
  /** Request bodies larger than this many bytes are gzipped. */
  gzipAbove: z.int().min(0).default(1000),
  /** After a failed write: wait `min`, doubling to `max`, unless the server's Retry-After says otherwise. */
  retry: z.strictObject({ min: Duration.default('1s'), max: Duration.default('1m') }).prefault({}),
  /**
   * The bound. Readings not yet accepted beyond the newest `maxBacklog` are thinned as they are
   * sent, to one per sensor per `thinTo`, and the skipped ones counted; events beyond `maxEvents`
   * outbox rows make the oldest snapshots go first. Warning, alert and fault points are never dropped.
   */
  maxBacklog: z.int().min(1000).default(5_000_000),
  thinTo: Duration.default('5m'),
  maxEvents: z.int().min(1000).default(1_000_000),
  /** How often the active warnings per level and each one's coverage are written. */
  snapshotEvery: Duration.default('1m'),
})
export type InfluxSinkConfig = z.infer<typeof InfluxSinkConfig>

/** The SL 651-2014 listener for hydrology RTUs (遥测站) over TCP, from a GPRS/4G DTU. */
export const Sl651Config = z.strictObject({
  /** Listen address. Loopback by default: open it only on the private APN or VPN the DTUs use. */
  host: z.string().default('127.0.0.1'),
  /** TCP port; 0 picks a free port, null (the default) turns the listener off. */
  port: Port.nullable().default(null),
  /**
   * Networks allowed to connect (CIDR, e.g. the private APN's 10.64.0.0/12); empty: any. SL 651
   * has only a 16-bit password, so on a network address this list is what keeps forgers out.
   */
  allowFrom: z
    .array(z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected a CIDR like 10.64.0.0/12'))
    .default([]),
  /** UTC offset of the stations' clocks: SL 651 times carry no zone (Beijing time by default). */
  utcOffset: z
    .string()
    .regex(/^[+-](0\d|1[0-4]):[0-5]\d$/, 'expected an offset like +08:00')
    .default('+08:00'),
  /** 中心站地址 the gateway is (1–255); frames addressed to another centre are refused. Omitted: any. */
  centerAddress: z.int().min(1).max(255).optional(),
  /**
   * End character of the confirmation of a report's last frame (§6.3.2.4): EOT lets the RTU leave
   * the link, ESC asks it to stay online (10 minutes) for the centre's commands.
   */
  confirmWith: z.enum(['EOT', 'ESC']).default('EOT'),
  /** The largest frame body accepted (the 12-bit length field allows 4095). */
  maxBody: z.int().min(64).max(4095).default(4095),
  /** The largest multi-packet (M3) message reassembled; a larger one is refused. */
  maxMessageBytes: z
    .int()
    .min(4096)
    .default(1024 * 1024),
  /** A frame (or multi-packet message) still incomplete after this is dropped as truncated. */
  frameTimeout: Duration.default('60s'),
  /** A connection silent this long is closed; RTUs keep links alive every 40 s (2FH, §6.6.4.2). */
  idleTimeout: Duration.default('10m'),
  /** Most RTU connections at once. */
  maxConnections: z.int().min(1).default(10_000),
})
export type Sl651Config = z.infer<typeof Sl651Config>

export const GatewayConfigFile = z.strictObject({
  mqtt: z
    .strictObject({
      /** Listen address. Loopback by default: open it (0.0.0.0) deliberately for field devices. */
      host: z.string().default('127.0.0.1'),
      /** MQTT over TCP; 0 picks a free port, null turns the plain listener off. */
      port: Port.nullable().default(1883),
      /** MQTT over WebSocket; 0 picks a free port, null disables. */
      wsPort: Port.nullable().default(8083),
      /**
       * The largest payload accepted per topic family, in bytes; a larger message is refused (never
       * stored or forwarded) as `too_large`. Sensors: a seismic logger's batch of several seconds
       * at 100 Hz fits easily; terminals send small receipts and statuses.
       */
      maxPayload: z
        .strictObject({
          sensors: z
            .int()
            .min(64)
            .default(256 * 1024),
          terminals: z
            .int()
            .min(64)
            .default(8 * 1024),
          other: z
            .int()
            .min(64)
            .default(64 * 1024),
        })
        .prefault({}),
      limits: MqttLimits.prefault({}),
      /** MQTT over TLS (MQTTS) and, with `wsPort`, over secure WebSocket (WSS). */
      tls: TlsFiles.extend({
        /** MQTTS; 0 picks a free port. */
        port: Port.default(8883),
        /** WSS; 0 picks a free port, null disables. */
        wsPort: Port.nullable().default(null),
      }).optional(),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: Port.default(8080),
      /** HTTPS on `port` instead of HTTP. */
      tls: TlsFiles.optional(),
      /**
       * Whether reading the API (every GET but /health, /metrics and the API's own description)
       * needs a signed-in viewer. By default it does when `host` is not a loopback address;
       * true asks for one on loopback too; false on a network address is insecure.
       */
      readsNeedViewer: z.boolean().optional(),
    })
    .prefault({}),
  /** SQLite database and other state live here. */
  dataDir: z.string().default('./data'),
  /** Registry file: regions, stations and terminals. */
  registry: z.string(),
  /** Sensor kinds file; defaults to the kinds shipped with the gateway. */
  kinds: z.string().optional(),
  /** Dissemination policy file (channels, groups, repeats, priority, polygons per hazard and level). */
  dissemination: z.string().optional(),
  /** Rule catalogue files or directories of `*.yaml`; defaults to the shipped `rules/catalog`. */
  rules: z.array(z.string()).optional(),
  store: z
    .strictObject({
      /** Group commit: a batch is committed after this many readings or this delay, whichever first. */
      batchMaxMessages: z.number().int().positive().default(2000),
      batchMaxDelayMs: z.number().int().nonnegative().default(2),
      /**
       * SQLite `synchronous` in WAL mode. `normal` (default): a commit survives a killed or crashed
       * process (kill -9), and a power cut loses at most the last commits, never consistency.
       * `full`: commits also survive a power cut, at the cost of an fsync per commit on the event
       * loop (measured here: p50 0.3 ms, p99 2.4 ms per commit), which delays every other message.
       */
      synchronous: z.enum(['normal', 'full']).default('normal'),
      /**
       * How often a worker thread checkpoints the WAL into the database file, so the gateway's own
       * commits never stall on a checkpoint (store/checkpointer.ts).
       */
      checkpointEvery: Duration.default('1s'),
      /**
       * Bounded history (store/retention.ts): readings are kept raw for `raw` of event time (never
       * less than the rules' longest window behind each station's latest reading, which the
       * warm-up replays), then folded into one row per sensor and `downsampleEvery` (min, max,
       * sum, count, last per quantity), kept for `downsampled`, then dropped. Readings a history
       * sink has not sent yet wait for it, unless the disk budget is reached.
       */
      retention: z
        .strictObject({
          raw: Duration.default('30d'),
          downsampleEvery: Duration.default('1h'),
          downsampled: Duration.default('400d'),
          checkEvery: Duration.default('10m'),
        })
        .prefault({}),
      /**
       * The disk budget: the store may use at most `maxMb` (SQLite pages in use, omitted: no limit)
       * and leaves at least `minFreeMb` free on its filesystem. Reached, retention runs at once
       * and, with its raw period cut to the rules' windows, frees what it can (readings first,
       * never warnings, versions, deliveries, receipts or the audit log); still over, new
       * readings are refused (not acknowledged, so devices keep them and send them again) while
       * `reserveMb` stays for warnings and deliveries, until space returns.
       */
      budget: z
        .strictObject({
          maxMb: z.number().positive().optional(),
          minFreeMb: z.number().min(0).default(256),
          reserveMb: z.number().min(0).default(16),
          checkEvery: Duration.default('5s'),
        })
        .prefault({}),
    })
    .prefault({}),
  warnings: WarningsConfig.prefault({}),
  /**
   * The event stream (`GET /api/events`): events are kept this long, and at most this many, so a
   * client that reconnects resumes from its Last-Event-ID without missing any.
   */
  events: z
    .strictObject({
      retain: Duration.default('24h'),
      maxEvents: z.number().int().min(1000).default(100_000),
    })
    .prefault({}),
  /**
   * SMS over SMPP 3.4 through the operator's SMSC (bind as transceiver). Omitted: no SMS. Released
   * warning versions go to the responsible people of their regions (village heads, duty officers,
   * safety officers; registered residents too for red).
   */
  sms: z
    .strictObject({
      url: z.string().regex(/^smpp:\/\/[^/]+:\d+$/, 'expected smpp://host:port'),
      systemId: z.string().min(1).max(15),
      password: z.string().max(8),
      /** The number messages come from (12379 is the national early-warning SMS number). */
      sourceAddr: z.string().min(1).max(20).default('12379'),
      ratePerSecond: z.number().positive().max(10000).default(50),
      maxAttempts: z.number().int().min(1).default(5),
      retryAfter: Duration.default('10s'),
      /** Per recipient; red warnings and second-stage alarms override them. */
      hourlyCap: z.number().int().positive().default(10),
      dailyCap: z.number().int().positive().default(40),
    })
    .optional(),
  /**
   * 叫应 call-and-answer: for these levels the responsible people of the warning's regions must
   * answer (an SMS reply, or an acknowledgement in the API) within `answerWithin`; the call is
   * resent `resends` times, then passed to their superior (the duty officer a level up).
   */
  callout: z
    .strictObject({
      levels: z.array(LevelName).default(['orange', 'red', 'level_2']),
      answerWithin: Duration.default('10m'),
      resends: z.number().int().min(0).default(2),
    })
    .prefault({}),
  /**
   * Webhooks: every released version POSTed as JSON, signed `X-Shaobing-Signature: t=…,v1=…`
   * (HMAC-SHA256 of `t.body` with the endpoint's secret), retried with backoff.
   */
  webhooks: z
    .strictObject({
      targets: z
        .array(
          z.strictObject({
            url: z.url({ protocol: /^https?$/ }),
            secret: z.string().min(16, 'use a secret of at least 16 characters'),
            hazards: z.array(HazardMatch).optional(),
          }),
        )
        .default([]),
      maxAttempts: z.number().int().min(1).default(8),
      retryAfter: Duration.default('5s'),
    })
    .prefault({}),
  /** CAP 1.2 output: who this gateway is in the `sender` and `senderName` of its alerts. */
  cap: z
    .strictObject({
      sender: z
        .string()
        .regex(/^[^\s,<&]+$/, 'a CAP sender has no spaces, commas, < or &')
        .default('shaobing-gateway'),
      senderName: z.string().min(1).default('哨兵预警网关'),
    })
    .prefault({}),
  /**
   * People who act through the API. Each authenticates with `Authorization: Bearer <token>`; only
   * the token's SHA-256 (hex) is stored here. Roles: `operator` (issue, update, lift, acknowledge,
   * silence, reset), `approver` (approve or reject a version waiting for release), `viewer` (read
   * where reads need one), `admin` (manage operator accounts). Accounts with passwords live in the
   * store instead (`shaobing operator`); these tokens suit a first admin and older integrations.
   */
  operators: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
        name: z.string().min(1),
        roles: z.array(z.enum(OPERATOR_ROLES)).min(1),
        tokenSha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the hex SHA-256 of the token'),
      }),
    )
    .default([])
    .superRefine((ops, ctx) => {
      const seen = new Set<string>()
      ops.forEach((o, i) => {
        if (seen.has(o.id))
          ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate operator ${o.id}` })
        seen.add(o.id)
      })
    }),
  faults: z
    .strictObject({
      /** How often silent sensors are looked for; a kind's `noDataAfter` sets how long is too long. */
      checkEvery: Duration.default('10s'),
      /** A battery reported below this charge (percent, on the sensor's status topic) is a fault. */
      batteryLowPct: z.number().min(0).max(100).default(20),
      /**
       * A reading stamped further ahead of the gateway's clock than this comes from a device whose
       * clock is wrong: a fault, and the reading is stored but kept out of evaluation. `off` for
       * accelerated simulations whose event time runs ahead of the wall clock by design.
       */
      clockAhead: z.union([Duration, z.literal('off')]).default('5m'),
      /**
       * An SL 651 report whose send time (发报时间) is further behind the gateway's clock than
       * this comes from an RTU whose clock runs behind: a fault (its readings are still evaluated,
       * but unverified). Only protocols that stamp the send time can show it.
       */
      clockBehind: z.union([Duration, z.literal('off')]).default('10m'),
    })
    .prefault({}),
  security: SecurityConfig.prefault({}),
  /** Hydrology RTUs speaking SL 651-2014 over TCP (off by default). */
  sl651: Sl651Config.prefault({}),
  /** Where history goes besides the embedded store. */
  sinks: z.strictObject({ influx: InfluxSinkConfig.optional() }).prefault({}),
  /** Node-RED in the gateway's process, with the Shaobing nodes (off by default). */
  nodeRed: NodeRedConfig.prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
})
export type GatewayConfigFile = z.infer<typeof GatewayConfigFile>
