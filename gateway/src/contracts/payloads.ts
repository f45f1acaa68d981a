/**
 * zod schemas of every MQTT payload the gateway accepts or sends. Shared with sensors-sim and the
 * tests, so the simulator can never drift from what the gateway validates.
 *
 * Timestamps are epoch milliseconds (UTC). Devices may send ISO-8601 strings instead; both are
 * normalised to epoch ms here.
 */
import { z } from 'zod'

/** Earliest and latest event time we accept: 2000-01-01 .. 2100-01-01. A clock far off is a fault. */
const MIN_TS = Date.UTC(2000, 0, 1)
const MAX_TS = Date.UTC(2100, 0, 1)

export const EventTime = z
  .union([z.number().int(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))])
  .refine((ts) => ts >= MIN_TS && ts < MAX_TS, 'timestamp out of range (expected epoch ms or ISO-8601)')

const finite = z.number().refine(Number.isFinite, 'must be a finite number')

/** A scalar reading: `{ts, seq?, values: {quantity: number}}`. */
export const ReadingPayload = z.strictObject({
  ts: EventTime,
  seq: z.number().int().nonnegative().optional(),
  values: z
    .record(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'quantity names are snake_case'), finite)
    .refine((v) => Object.keys(v).length > 0, 'values must hold at least one quantity'),
})
export type ReadingPayload = z.infer<typeof ReadingPayload>

/** Most samples one seismic batch may carry per axis (10 s at 200 Hz). */
export const MAX_BATCH_SAMPLES = 2000

/**
 * A seismic accelerometer batch: `{ts, sr, x[], y[], z[]}`; `ts` is the time of the first sample,
 * `sr` the sample rate in Hz, axes in cm/s² (gal). x and y are horizontal, z vertical.
 */
export const SeismicBatchPayload = z
  .strictObject({
    ts: EventTime,
    seq: z.number().int().nonnegative().optional(),
    sr: z.number().positive().max(1000),
    x: z.array(finite).min(1).max(MAX_BATCH_SAMPLES),
    y: z.array(finite).min(1).max(MAX_BATCH_SAMPLES),
    z: z.array(finite).min(1).max(MAX_BATCH_SAMPLES),
  })
  .refine((b) => b.x.length === b.y.length && b.y.length === b.z.length, 'x, y and z must have equal length')
  // The batch's event time is its last sample's (ingest/decode.ts): a tiny sample rate must not
  // carry it past the range EventTime accepts (or to Infinity).
  .refine(
    (b) => b.ts + ((b.x.length - 1) * 1000) / b.sr < MAX_TS,
    'the last sample is out of range (timestamp and sample rate)',
  )
export type SeismicBatchPayload = z.infer<typeof SeismicBatchPayload>

/** Sensor status / LWT payload. */
export const SensorStatusPayload = z.strictObject({
  state: z.enum(['online', 'offline']),
  ts: EventTime.optional(),
  battery: z.number().min(0).max(100).optional(),
})

/** Four colours for public warnings; two alarm stages for enterprise gas and process alarms. */
export const Level = z.enum(['blue', 'yellow', 'orange', 'red', 'level_1', 'level_2'])

/** Command to a loudspeaker terminal on `terminals/{id}/cmd`. */
/**
 * The gateway's Ed25519 signature over the command and the terminal it is for
 * (gateway/src/contracts/command-signing.ts, docs/command-signing.md).
 */
export const CommandSignature = z.strictObject({
  alg: z.literal('Ed25519'),
  /** Which of the gateway's keys signed: 16 hex digits of the public key's SHA-256. */
  kid: z.string().regex(/^[0-9a-f]{16}$/),
  /** 128 random bits, base64url: a command is played once per nonce. */
  nonce: z.string().min(16).max(64),
  /** The signature, base64. */
  value: z.string().max(200),
})

export const TerminalCommand = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('play'),
    warningId: z.string(),
    version: z.number().int().positive(),
    /** issue / update / lift: what the broadcast announces. */
    kind: z.enum(['issue', 'update', 'lift']),
    level: Level,
    hazard: z.string(),
    text: z.string(),
    language: z.string(),
    /** Higher pre-empts lower; emergency warnings use 100+. */
    priority: z.number().int(),
    repeat: z.number().int().positive(),
    /** Round of a warning read again while active (1 the first); a terminal plays each round once. */
    round: z.number().int().positive().default(1),
    /** Epoch ms after which the terminal must not play this. */
    expiresAt: z.number().int(),
    sentAt: z.number().int(),
    sig: CommandSignature.optional(),
  }),
  z.strictObject({
    action: z.literal('stop'),
    warningId: z.string(),
    version: z.number().int().positive(),
    sentAt: z.number().int(),
    sig: CommandSignature.optional(),
  }),
])
export type TerminalCommand = z.infer<typeof TerminalCommand>

export const ReceiptState = z.enum(['accepted', 'playing', 'played', 'failed'])
export type ReceiptState = z.infer<typeof ReceiptState>

/** Receipt from a terminal on `terminals/{id}/receipt`. */
export const TerminalReceipt = z.strictObject({
  warningId: z.string(),
  version: z.number().int().positive(),
  state: ReceiptState,
  ts: EventTime,
  detail: z.string().max(500).optional(),
})
export type TerminalReceipt = z.infer<typeof TerminalReceipt>
