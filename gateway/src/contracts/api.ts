/**
 * The HTTP API's contract: every request and response body, query and path parameter, in zod.
 * The routes validate and serialize through these (fastify-type-provider-zod), and the OpenAPI 3
 * document at `/api/openapi.json` is generated from them, so the document cannot drift from what
 * the gateway accepts and sends.
 *
 * Requests are strict (an unknown field is refused). Responses describe what the gateway sends;
 * rows read from the store are loose objects, so a field added to a row reaches clients without a
 * contract change (and nothing a client relies on is stripped). Contracts import nothing but zod:
 * the region-code, region-level and level schemas repeat registry/schema.ts and rules/src/, and a unit
 * test holds them equal.
 */
import { z } from 'zod'

// ---- shared vocabulary ----------------------------------------------------------------------

/** 12-digit administrative division code (GB/T 2260 + township and village): 省2 市2 县2 乡3 村3. */
export const RegionCode = z
  .string()
  .regex(/^\d{12}$/, 'expected a 12-digit administrative division code')
  .meta({ description: '12-digit administrative division code', example: '511823100201' })

/** Administrative levels, outermost first (rules/src/regions.ts). */
export const REGION_LEVELS = ['province', 'city', 'county', 'township', 'village'] as const

/** Warning levels in ascending severity: the four colours, then the two enterprise alarm stages. */
export const LEVELS = ['blue', 'yellow', 'orange', 'red', 'level_1', 'level_2'] as const
export const Level = z.enum(LEVELS)
/** One of LEVELS. */
export type Level = z.infer<typeof Level>

/** A hazard's id, snake_case (flood, rainstorm, gas_leak). */
export const Hazard = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'hazards are snake_case, e.g. flood, rainstorm')
  .meta({ example: 'flood' })

/**
 * What an operator may do. `viewer` reads the API; `operator` issues, updates, lifts, acknowledges,
 * silences and resets; `approver` approves or rejects versions waiting for release; `admin`
 * manages accounts and tokens. Every role implies `viewer`, and nothing else: an admin is not an
 * operator or approver unless given those roles, so one admin cannot stand in for two approvers.
 */
export const OPERATOR_ROLES = ['viewer', 'operator', 'approver', 'admin'] as const
export const OperatorRole = z.enum(OPERATOR_ROLES)
/** One of OPERATOR_ROLES. */
export type OperatorRole = z.infer<typeof OperatorRole>

/** CAP status: Exercise and Test go only to drill terminals. */
export const CapStatus = z.enum(['Actual', 'Exercise', 'Test'])
const Release = z.enum(['released', 'pending', 'rejected', 'inhibited', 'superseded'])
const Action = z.enum(['issue', 'update', 'lift'])
const EpochMs = z.number().int().meta({ description: 'epoch milliseconds' })
const limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt)
/** Epoch ms or ISO-8601 with an offset; the handler sees epoch ms. */
const Instant = z.union([EpochMs, z.iso.datetime({ offset: true }).transform((x) => Date.parse(x))])

/**
 * A row read from the store: its known fields are checked, and any other field the row carries
 * passes through to the client (a loose object at run time). Typed without a loose object's index
 * signature, so that the store's row interfaces, which have none, type-check against it.
 */
const row = <S extends z.core.$ZodLooseShape>(shape: S) =>
  z.looseObject(shape) as unknown as z.ZodObject<{ -readonly [K in keyof S]: S[K] }, z.core.$strip>

// ---- errors ---------------------------------------------------------------------------------

/** One refused field: its dotted path (`regions.0`) and why. */
export const Issue = z.object({ field: z.string(), message: z.string() })
/** A request the contract refuses: every field at fault, named. */
export const BadRequest = z
  .object({ error: z.literal('bad_request'), issues: z.array(Issue) })
  .meta({ id: 'BadRequest', description: 'the request is refused: each field at fault and why' })
/** The body of a refused request. */
export type BadRequest = z.infer<typeof BadRequest>
/** A command the domain refuses (api/outcome.ts maps each reason to its status). */
export const Refused = z
  .looseObject({
    error: z.string(),
    reason: z.string().optional(),
    message: z.string(),
    detail: z.unknown().optional(),
  })
  .meta({ id: 'Refused', description: 'the command is refused for a domain reason' })
/** No token, an unknown token, or a role the operator lacks. */
export const AuthError = z
  .object({
    error: z.enum(['unauthorized', 'forbidden']),
    /** A command's own refusal (`wrong_password`: one's own password change without the old one). */
    reason: z.string().optional(),
    message: z.string(),
  })
  .meta({
    id: 'AuthError',
    description: 'no valid operator token, a role the operator lacks, or a wrong old password',
  })
export const UnsupportedMediaType = z
  .object({
    error: z.literal('unsupported_media_type'),
    message: z.string(),
  })
  .meta({ description: 'the body is not XML' })

/** The error responses of a read that may not find its subject. */
export const readErrors = { 404: Refused } as const
/** The error response of a read with a query or path parameters. */
export const queryErrors = { 400: BadRequest } as const
/** The error responses of an operator's command. */
export const commandErrors = {
  400: z
    .union([BadRequest, Refused])
    .meta({ description: 'the request is refused (each field at fault), or the command (its reason)' }),
  401: AuthError,
  403: AuthError,
  404: Refused,
  409: Refused,
} as const

// ---- path parameters and queries ------------------------------------------------------------

export const IdParams = z.strictObject({ id: z.string().min(1) })
/** A version of a warning; a malformed number is refused as such, not reported missing. */
export const VersionParams = z.strictObject({
  id: z.string().min(1),
  version: z.coerce
    .number({ error: 'expected a positive integer' })
    .int('expected a positive integer')
    .min(1, 'expected a positive integer'),
})
export const SilenceParams = z.strictObject({
  id: z.coerce.number({ error: 'expected a silence id' }).int('expected a silence id'),
})

export const ReadingsQuery = z
  .strictObject({
    from: z.coerce
      .number()
      .int()
      .nonnegative()
      .default(0)
      .meta({ description: 'event time from (epoch ms)' }),
    to: z.coerce
      .number()
      .int()
      .positive()
      .default(Number.MAX_SAFE_INTEGER)
      .meta({ description: 'event time before (epoch ms)' }),
    limit: limit(10_000, 1000),
  })
  // A template literal: the import check in tests/arch would read the quoted word as an import.
  .refine((q) => q.from < q.to, { message: 'from must be before to', path: [`from`] })

export const WarningsQuery = z.strictObject({
  state: z.enum(['active', 'lifted', 'all']).default('all'),
  limit: limit(1000, 100),
})
export const AuditQuery = z.strictObject({
  subject: z.string().max(200).optional(),
  action: z.string().max(64).optional(),
  limit: limit(1000, 100),
})
export const FaultsQuery = z.strictObject({
  state: z.enum(['active', 'all']).default('active'),
  limit: limit(1000, 100),
})

// ---- request bodies -------------------------------------------------------------------------

export const ManualIssue = z
  .strictObject({
    hazard: Hazard,
    level: Level,
    status: CapStatus.default('Actual'),
    /** Regions whose loudspeakers it goes to: 12-digit codes (a county covers its villages). */
    regions: z.array(RegionCode).min(1).max(500),
    /** The broadcast text; by default one is composed from hazard, level and places. */
    text: z.string().min(1).max(1000).optional(),
  })
  .meta({ id: 'ManualIssue', description: 'a warning issued by hand (relaying the bureau’s) to regions' })
export const ManualUpdate = z
  .strictObject({ level: Level, text: z.string().min(1).max(1000).optional() })
  .meta({ id: 'ManualUpdate' })
export const Silence = z
  .strictObject({
    stationId: z.string().min(1).max(64).optional(),
    region: RegionCode.optional(),
    hazard: Hazard.optional(),
    /** Default now. */
    startsAt: Instant.optional(),
    endsAt: Instant,
    reason: z.string().min(1).max(500),
  })
  .refine((x) => x.stationId !== undefined || x.region !== undefined || x.hazard !== undefined, {
    message: 'a silence needs at least one of stationId, region, hazard',
    path: ['stationId'],
  })
  .meta({ id: 'NewSilence', description: 'a maintenance window: at least one of stationId, region, hazard' })
export const Empty = z.strictObject({})
export const Answer = z.strictObject({ personId: z.string().min(1).max(64) })
/** An upstream CAP 1.2 alert, as XML. */
export const CapXml = z.string().meta({ description: 'an OASIS CAP 1.2 alert' })
export const CAP_CONTENT_TYPES = ['application/xml', 'text/xml', 'application/cap+xml'] as const

// ---- response bodies ------------------------------------------------------------------------

/** Ports, counts and URLs of the running gateway (open-ended). */
export const Info = z
  .looseObject({
    version: z.string().optional(),
    mqttUrl: z.string().optional(),
    wsUrl: z.string().nullable().optional(),
    ports: z.looseObject({}).optional(),
    stations: z.number().optional(),
    terminals: z.number().optional(),
    rules: z.array(z.string()).optional(),
    mqttClients: z.number().optional(),
    /** The store against its disk budget: `full` refuses new readings (store/retention.ts). */
    storage: z
      .strictObject({
        state: z.enum(['ok', 'full']),
        usedBytes: z.number(),
        fileBytes: z.number(),
        freeBytes: z.number(),
      })
      .optional(),
    /** The event-loop watchdog (gateway/src/watchdog.ts): stalls of 2 s or more. */
    eventLoop: z
      .strictObject({
        stalls: z.number(),
        lastStallMs: z.number().nullable(),
        lastStallAt: EpochMs.nullable(),
        maxDelayMs: z.number(),
        /** A stall ended within the last 5 minutes: /health is degraded. */
        stalledRecently: z.boolean(),
      })
      .optional(),
    /** The broker's listeners; one that died is listened again on its port, with backoff. */
    listeners: z
      .array(
        z.strictObject({
          name: z.enum(['mqtt', 'ws', 'mqtts', 'wss']),
          port: z.number(),
          up: z.boolean(),
          restarts: z.number(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'Info', description: 'ports, URLs and counts of the running gateway' })
/** What the composition root reports of the running gateway. */
export type Info = z.infer<typeof Info>
export const Health = Info.extend({
  /**
   * `degraded`: up, but the store is at its disk budget and refuses new readings, the event loop
   * stalled within the last 5 minutes, or a broker listener is down; `degradedBy` says which.
   */
  status: z.enum(['ok', 'degraded']),
  degradedBy: z.array(z.enum(['storage_full', 'event_loop_stall', 'listener_down'])),
}).meta({
  description:
    'the gateway is up (degraded while its store refuses readings, after an event-loop stall, with a listener down): its ports, counts, storage, event loop and listeners',
})

export const Reading = row({
  stationId: z.string(),
  sensorId: z.string(),
  kind: z.string(),
  ts: EpochMs,
  seq: z.number().optional(),
  values: z.record(z.string(), z.number()),
}).meta({ id: 'Reading' })
export const StoredReading = Reading.extend({ receivedAt: EpochMs })
export const Readings = z
  .object({ readings: z.array(StoredReading) })
  .meta({ description: 'the readings, oldest first, each with when the gateway received it' })
const QuantityStats = row({
  min: z.number(),
  max: z.number(),
  sum: z.number(),
  n: z.number(),
  last: z.number(),
  lastTs: EpochMs,
})
export const Aggregates = z
  .object({
    aggregates: z.array(
      row({
        sensorId: z.string(),
        kind: z.string(),
        bucket: EpochMs,
        span: z.number(),
        n: z.number(),
        stats: z.record(z.string(), QuantityStats),
      }),
    ),
  })
  .meta({
    description:
      'readings past their raw retention, folded per sensor and bucket (store.retention.downsampleEvery): min, max, sum, count and last value of each quantity, oldest first',
  })

export const StationView = row({
  id: z.string(),
  name: z.string(),
  region: RegionCode,
  regionName: z.string(),
  lat: z.number().nullable(),
  lon: z.number().nullable(),
  params: z.record(z.string(), z.number()),
  sensors: z.array(row({ id: z.string(), kind: z.string(), noDataAfter: z.string().optional() })),
  latest: Reading.nullable(),
})
/** A station as GET /api/stations lists it. */
export type StationView = z.infer<typeof StationView>
export const Stations = z
  .object({ stations: z.array(StationView) })
  .meta({ description: 'every station of the registry' })

/** A loudspeaker's last known presence (its retained status or last will). */
export const TerminalPresence = z
  .object({
    state: z.enum(['online', 'offline']),
    since: EpochMs.meta({ description: 'when the gateway learnt it (wall clock)' }),
  })
  .meta({ id: 'TerminalPresence' })
/** A loudspeaker's last receipt that moved a delivery on. */
export const LastReceipt = z
  .object({
    warningId: z.string(),
    version: z.number().int(),
    state: z.enum(['accepted', 'playing', 'played', 'failed']),
    at: EpochMs.meta({ description: 'when the gateway applied it (wall clock)' }),
  })
  .meta({ id: 'LastReceipt' })
export const Terminal = row({
  id: z.string(),
  name: z.string().optional(),
  region: RegionCode,
  lat: z.number().optional(),
  lon: z.number().optional(),
  language: z.string(),
  drill: z.boolean(),
  /** null: the terminal has never told its presence. */
  presence: TerminalPresence.nullable(),
  /** null: no receipt from it yet. */
  lastReceipt: LastReceipt.nullable(),
}).meta({ id: 'Terminal' })
export const Terminals = z
  .object({ terminals: z.array(Terminal) })
  .meta({ description: 'every loudspeaker of the registry, with its presence and last receipt' })

/** [lon, lat] (WGS 84). */
const Position = z.tuple([z.number(), z.number()])
/** A GeoJSON Polygon or MultiPolygon: rings of [lon, lat], closed, outer ring first. */
export const Boundary = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('Polygon'), coordinates: z.array(z.array(Position)) }),
    z.object({ type: z.literal('MultiPolygon'), coordinates: z.array(z.array(z.array(Position))) }),
  ])
  .meta({ id: 'Boundary', description: 'GeoJSON geometry, [lon, lat] positions' })
export const RegionView = z
  .object({
    code: RegionCode,
    name: z.string(),
    /** The name in other languages, by language tag. */
    names: z.record(z.string(), z.string()),
    level: z.enum(REGION_LEVELS),
    parent: RegionCode.nullable().meta({ description: 'the nearest declared region containing it' }),
    boundary: Boundary.nullable(),
  })
  .meta({ id: 'Region' })
/** A region as GET /api/regions lists it. */
export type RegionView = z.infer<typeof RegionView>
export const Regions = z
  .object({ regions: z.array(RegionView) })
  .meta({ description: 'the registry’s regions in registry order, each with its parent and outline' })

export const ThresholdView = z
  .object({
    ruleId: z.string(),
    hazard: Hazard,
    level: Level,
    quantity: z.string(),
    agg: z
      .enum(['last', 'sum', 'mean', 'min', 'max'])
      .meta({ description: 'last: the instant value; otherwise the aggregate over window (event time)' }),
    window: z.string().optional().meta({ example: '1h' }),
    op: z.enum(['>=', '>', '<=', '<']),
    value: z.number(),
    unit: z.string().optional(),
    ref: z.string().optional().meta({ description: 'the station or region constant it comes from' }),
    defaulted: z.boolean().optional().meta({ description: 'the constant is unset: the catalogue’s default' }),
  })
  .meta({ id: 'Threshold' })
/** One threshold as GET /api/stations/:id/thresholds lists it. */
export type ThresholdView = z.infer<typeof ThresholdView>
export const Thresholds = z.object({ stationId: z.string(), thresholds: z.array(ThresholdView) }).meta({
  description:
    'the simple thresholds the station’s rules grade its quantities against, with its constants (k-of-n rules, rates, counts, day aggregates and conjunctions are left out)',
})

export const AlertSnapshot = row({
  ruleId: z.string(),
  stationId: z.string(),
  level: Level,
  since: EpochMs,
  mutedBy: z.number().nullable(),
})

/** A warning row: what it covers, its current level and state (open-ended). */
export const Warning = row({
  id: z.string(),
  key: z.string(),
  origin: z.enum(['rule', 'manual']),
  ruleId: z.string(),
  stationId: z.string(),
  hazard: z.string(),
  region: z.string(),
  targets: z.array(z.string()).readonly(),
  level: Level.nullable(),
  state: z.enum(['active', 'lifted']),
  version: z.number().int(),
  issuedAt: EpochMs,
  updatedAt: EpochMs,
  liftedAt: EpochMs.nullable(),
  endReason: z.enum(['cleared', 'lifted', 'expired', 'reset']).nullable(),
  ackedAt: EpochMs.nullable(),
  ackedBy: z.string().nullable(),
  tier: z.number().int(),
  escalateAt: EpochMs.nullable(),
  holdUntil: EpochMs.nullable(),
  status: CapStatus,
  upstream: z.string().nullable(),
}).meta({ id: 'Warning' })

/** A version of a warning, with its report (首报/续报/终报) and CAP msgType (open-ended). */
export const Version = row({
  warningId: z.string(),
  version: z.number().int(),
  action: Action,
  level: Level.nullable(),
  prevLevel: Level.nullable(),
  ts: EpochMs,
  createdAt: EpochMs,
  text: z.string(),
  explanation: z.unknown(),
  verified: z.boolean(),
  reason: z.string(),
  release: Release,
  releaseDue: EpochMs.nullable(),
  releasedAt: EpochMs.nullable(),
  releasedBy: z.array(z.string()).readonly(),
  alerts: z.array(AlertSnapshot).readonly(),
  report: z.enum(['first', 'follow_up', 'final']),
  zh: z.string(),
  capMsgType: z.enum(['Alert', 'Update', 'Cancel']),
}).meta({ id: 'Version' })

export const WarningWithVersions = Warning.extend({ versions: z.array(Version) })
export const Warnings = z
  .object({ warnings: z.array(WarningWithVersions) })
  .meta({ description: 'warnings, newest first, each with all its versions' })

const Approval = row({ operator: z.string(), decision: z.string(), at: EpochMs })
const Escalation = row({
  id: z.number(),
  warningId: z.string(),
  tier: z.number().int(),
  region: z.string(),
  people: z.array(row({ id: z.string(), name: z.string(), phone: z.string().nullable() })).readonly(),
  at: EpochMs,
})
const Callout = row({
  id: z.number(),
  warningId: z.string(),
  version: z.number().int(),
  personId: z.string(),
  personName: z.string().nullable(),
  phone: z.string().nullable(),
  region: z.string(),
  state: z.enum(['waiting', 'answered', 'escalated', 'closed']),
  sends: z.number().int(),
  dueAt: EpochMs,
  answeredAt: EpochMs.nullable(),
  via: z.enum(['sms', 'api']).nullable(),
  escalatedFrom: z.number().nullable(),
})
const SmsMessage = row({
  id: z.number(),
  warningId: z.string(),
  version: z.number().int(),
  purpose: z.enum(['warning', 'callout']),
  personId: z.string().nullable(),
  phone: z.string(),
  state: z.string(),
  attempts: z.number().int(),
  parts: z.number().int(),
  delivered: z.number().int(),
  error: z.string().nullable(),
  createdAt: EpochMs,
  submittedAt: EpochMs.nullable(),
  deliveredAt: EpochMs.nullable(),
})
export const AuditEntry = row({
  id: z.number(),
  at: EpochMs,
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  detail: z.unknown(),
}).meta({ id: 'AuditEntry' })

export const WarningDetail = Warning.extend({
  versions: z.array(Version.extend({ approvals: z.array(Approval) })),
  escalations: z.array(Escalation),
  callouts: z.array(Callout),
  sms: z.array(SmsMessage),
  audit: z.array(AuditEntry),
}).meta({ description: 'the warning and everything that happened to it' })

export const Delivery = row({
  warningId: z.string(),
  version: z.number().int(),
  terminalId: z.string(),
  state: z.string(),
  detail: z.string().nullable(),
  queuedAt: EpochMs,
  sentAt: EpochMs.nullable(),
  updatedAt: EpochMs,
  attempts: z.number().int(),
  lastSentAt: EpochMs.nullable(),
})
export const Deliveries = z
  .object({
    warningId: z.string(),
    summary: z
      .record(z.string(), z.record(z.string(), z.number().int()))
      .meta({ description: 'per version, the number of deliveries in each state' }),
    deliveries: z.array(Delivery),
  })
  .meta({ description: 'per-terminal deliveries of every version, and their count per state' })

export const VersionCoverage = row({
  version: z.number().int(),
  action: Action,
  level: Level.nullable(),
  targeted: z.number().int(),
  reached: z.number().int(),
  played: z.number().int(),
  failed: z.number().int(),
  offline: z.number().int(),
  unanswered: z.number().int(),
  firstPlayMs: z.number().nullable(),
  p95PlayMs: z.number().nullable(),
  sms: z.object({ targeted: z.number().int(), delivered: z.number().int() }),
  callouts: z.object({ called: z.number().int(), answered: z.number().int() }),
})
export const Coverage = z
  .object({ warningId: z.string(), versions: z.array(VersionCoverage) })
  .meta({ description: 'per released version, how far it reached' })

export const Pending = z
  .object({
    pending: z.array(
      Version.extend({
        warning: Warning.optional(),
        approvals: z.array(Approval),
        approvalsNeeded: z
          .number()
          .int()
          .meta({ description: 'approvals its policy needs before release (2 under the two-person rule)' }),
      }),
    ),
  })
  .meta({ description: 'versions waiting for approval' })

export const SilenceRow = row({
  id: z.number(),
  stationId: z.string().nullable(),
  region: z.string().nullable(),
  hazard: z.string().nullable(),
  startsAt: EpochMs,
  endsAt: EpochMs,
  author: z.string(),
  reason: z.string(),
  createdAt: EpochMs,
  endedAt: EpochMs.nullable(),
}).meta({ id: 'Silence' })
export const Silences = z
  .object({ silences: z.array(SilenceRow) })
  .meta({ description: 'silences, newest first' })

export const Alert = row({
  ruleId: z.string(),
  stationId: z.string(),
  level: Level,
  since: EpochMs,
  mutedBy: z.number().nullable(),
  hazard: z.string(),
  key: z.string(),
  region: z.string(),
  explanation: z.unknown(),
  muted: z.boolean(),
  silence: SilenceRow.nullable(),
})
export const Alerts = z
  .object({ alerts: z.array(Alert) })
  .meta({ description: 'every alert (rule × station) in force' })

export const RuleStats = z
  .object({
    quickLiftWithinMs: z.number(),
    rules: z.array(
      z.object({
        ruleId: z.string(),
        fired: z.number().int(),
        cleared: z.number().int(),
        quickLifts: z.number().int(),
        flaps: z.number().int(),
      }),
    ),
  })
  .meta({ description: 'per rule: fired, cleared, quick lifts, flap episodes' })
/** GET /api/rules/stats. */
export type RuleStats = z.infer<typeof RuleStats>

export const Audit = z
  .object({ audit: z.array(AuditEntry) })
  .meta({ description: 'audit entries, newest first' })

export const Fault = row({
  id: z.number(),
  sensorId: z.string(),
  stationId: z.string(),
  kind: z.string(),
  detail: z.string(),
  since: EpochMs,
  clearedAt: EpochMs.nullable(),
})
export const Faults = z.object({ faults: z.array(Fault) }).meta({ description: 'equipment faults' })

export const SmsStatus = z
  .object({ bound: z.boolean(), configured: z.boolean(), backlog: z.number().int() })
  .meta({ description: 'the SMS channel' })

// ---- command outcomes -----------------------------------------------------------------------

const done = <S extends z.core.$ZodLooseShape>(shape: S) => row({ ok: z.literal(true), ...shape })
export const Issued = done({ warningId: z.string(), version: z.number().int(), release: Release }).meta({
  description: 'issued: the warning, its first version and whether it went out or waits for approval',
})
export const Updated = done({ version: z.number().int(), release: Release }).meta({
  description: 'the new version, and whether it went out',
})
export const Lifted = done({ version: z.number().int() }).meta({ description: 'lifted: the lift version' })
export const Acked = done({ ackedAt: EpochMs }).meta({ description: 'acknowledged' })
export const Decided = done({ release: Release, approvals: z.number().int() }).meta({
  description: 'the version’s release after this decision, and its approvals so far',
})
export const ResetDone = done({
  warningId: z.string(),
  version: z.number().int(),
  state: z.literal('lifted'),
}).meta({ description: 'the latch is reset and the warning lifted' })
export const Answered = done({ answered: z.number().int() }).meta({
  description: 'the number of waiting calls answered',
})
export const SilenceAdded = done({ id: z.number() }).meta({ description: 'the silence in force' })
export const Ended = done({}).meta({ description: 'the silence ended' })
/** What an upstream CAP alert became: a new warning, a new version of one, or its lift. */
export const Relayed = done({
  warningId: z.string().optional(),
  version: z.number().int(),
  release: Release.optional(),
}).meta({ description: 'the warning the alert issued, updated or lifted' })

// ---- operators, sessions and API tokens --------------------------------------------------------

/** The shortest password a person may choose (a generated one is 43 characters). */
export const PASSWORD_MIN_LENGTH = 12
export const OPERATOR_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/
export const OperatorId = z
  .string()
  .regex(OPERATOR_ID_PATTERN, 'an operator id is 1-64 of A-Z a-z 0-9 _ . -')
  .meta({ example: 'zhang.san' })
const Password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `a password has at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(1024, 'a password has at most 1024 characters')
/** A password given to prove who one is: whatever it is, it is checked, never judged. */
const GivenPassword = z.string().min(1).max(1024)
const Roles = z
  .array(OperatorRole)
  .min(1, 'at least one role')
  .refine((rs) => new Set(rs).size === rs.length, 'each role once')
const Name = z.string().trim().min(1).max(100)

export const OperatorParams = z.strictObject({ id: z.string().min(1).max(64) })
export const TokenParams = z.strictObject({
  id: z.string().min(1).max(64),
  tokenId: z.string().min(1).max(64),
})

export const Login = z
  .strictObject({ username: z.string().min(1).max(64), password: GivenPassword })
  .meta({ id: 'Login', description: 'an operator account’s id and password' })
export const NewOperator = z
  .strictObject({
    id: OperatorId,
    name: Name,
    roles: Roles,
    /** Absent: the gateway generates one and answers it, once. */
    password: Password.optional(),
  })
  .meta({ id: 'NewOperator', description: 'an operator account; without a password one is generated' })
export const OperatorPatch = z
  .strictObject({ name: Name.optional(), roles: Roles.optional(), disabled: z.boolean().optional() })
  .refine((p) => p.name !== undefined || p.roles !== undefined || p.disabled !== undefined, {
    message: 'change at least one of name, roles, disabled',
    path: ['name'],
  })
  .meta({ id: 'OperatorPatch' })
export const PasswordChange = z
  .strictObject({
    /** Absent: the gateway generates one and answers it, once. */
    password: Password.optional(),
    /** Needed to change one's own password (an admin's too). */
    oldPassword: GivenPassword.optional(),
  })
  .meta({ id: 'PasswordChange', description: 'a new password; one’s own needs the old one' })
export const NewToken = z
  .strictObject({
    name: Name,
    /** The token's scope: roles its owner has. */
    roles: Roles,
    expiresAt: Instant.optional(),
  })
  .meta({
    id: 'NewToken',
    description: 'an API token for an integration, scoped to some of its owner’s roles',
  })

const Via = z.enum(['session', 'api_token', 'config_token', 'cli'])
export const Me = z
  .object({
    id: z.string(),
    name: z.string(),
    roles: z.array(OperatorRole),
    via: Via,
    tokenId: z.string().optional(),
    /** When the credential stops working if unused (a session: idle or absolute, the earlier). */
    expiresAt: EpochMs.nullable(),
  })
  .meta({ id: 'Me', description: 'who the bearer token is, and how it authenticated' })
export const LoggedIn = z
  .object({
    token: z.string().meta({ description: 'the session token: Authorization: Bearer <token>' }),
    expiresAt: EpochMs.meta({ description: 'the latest the session lasts (epoch ms)' }),
    idleTimeoutMs: z.number().int().meta({ description: 'unused this long, it ends sooner' }),
    operator: z.object({ id: z.string(), name: z.string(), roles: z.array(OperatorRole) }),
  })
  .meta({ id: 'LoggedIn', description: 'a session for the console' })
export const Account = z
  .object({
    id: z.string(),
    name: z.string(),
    roles: z.array(OperatorRole),
    disabled: z.boolean(),
    disabledAt: EpochMs.nullable(),
    locked: z.boolean(),
    lockedUntil: EpochMs.nullable(),
    failedLogins: z.number().int(),
    demo: z.boolean(),
    passwordChangedAt: EpochMs,
    createdAt: EpochMs,
    updatedAt: EpochMs,
  })
  .meta({ id: 'OperatorAccount' })
export const Accounts = z
  .object({
    operators: z.array(Account),
    configured: z
      .array(z.object({ id: z.string(), name: z.string(), roles: z.array(OperatorRole) }))
      .meta({ description: 'operators of the configuration file (bearer tokens, no password)' }),
  })
  .meta({ description: 'operator accounts, and the configuration’s operators' })
export const TokenView = z
  .object({
    id: z.string(),
    name: z.string(),
    roles: z.array(OperatorRole),
    createdBy: z.string(),
    createdAt: EpochMs,
    expiresAt: EpochMs.nullable(),
    lastUsedAt: EpochMs.nullable(),
    revokedAt: EpochMs.nullable(),
  })
  .meta({ id: 'ApiToken' })
export const Tokens = z
  .object({ tokens: z.array(TokenView) })
  .meta({ description: 'an account’s API tokens (never the tokens themselves)' })
/** The error responses of a login. */
export const loginErrors = { 400: BadRequest, 401: AuthError } as const

export const OperatorAdded = done({
  id: z.string(),
  password: z.string().optional().meta({ description: 'the generated password, shown this once' }),
}).meta({ description: 'the account' })
export const OperatorChanged = done({ operator: Account }).meta({ description: 'the account as it is now' })
export const PasswordSet = done({
  password: z.string().optional().meta({ description: 'the generated password, shown this once' }),
  sessionsEnded: z.number().int(),
}).meta({ description: 'the new password is in force; the account’s other sessions have ended' })
export const Unlocked = done({ unlocked: z.boolean() }).meta({
  description: 'the lock and the failures are cleared (false: there were none)',
})
export const TokenCreated = done({
  id: z.string(),
  token: z.string().meta({ description: 'the token, shown this once: Authorization: Bearer <token>' }),
  name: z.string(),
  roles: z.array(OperatorRole),
  expiresAt: EpochMs.nullable(),
}).meta({ description: 'the API token' })
export const Done = done({}).meta({ description: 'done' })

// ---- the event stream --------------------------------------------------------------------------

/** The types of the event stream (gateway/src/events/types.ts gives each its payload). */
export const EVENT_TYPES = [
  'warning.released',
  'approval.needed',
  'approval.given',
  'version.held',
  'warning.acknowledged',
  'warning.escalated',
  'delivery.changed',
  'callout.answered',
  'fault.raised',
  'fault.cleared',
  'reading.refused',
] as const
export const EventTypeName = z.enum(EVENT_TYPES)

/** GET /api/events: which events, and where to resume. */
export const EventsQuery = z.strictObject({
  types: z
    .string()
    .transform((s) => s.split(',').filter((t) => t !== ''))
    .pipe(z.array(EventTypeName))
    .optional()
    .meta({
      description: 'comma-separated event types (all when absent)',
      example: 'warning.released,fault.raised',
    }),
  region: RegionCode.optional().meta({ description: 'only events of places inside this region' }),
  hazard: Hazard.optional(),
  lastEventId: z.coerce
    .number()
    .int()
    .nonnegative()
    .optional()
    .meta({ description: 'resume after this id, for clients that cannot send the Last-Event-ID header' }),
})

// ---- documents ------------------------------------------------------------------------------

/** A response that is not JSON: the console's page, metrics, CAP alerts, the Atom feed. */
export const text = (contentType: string, description: string) => ({
  description,
  content: { [contentType]: { schema: z.string() } },
})
