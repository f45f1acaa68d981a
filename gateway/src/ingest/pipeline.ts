/**
 * Every client PUBLISH passes through here before the broker acknowledges it:
 * topic → sensor lookup → payload validation → rules evaluation → group-committed store → PUBACK.
 *
 * Bad input is refused with a reason, counted and logged, and still acknowledged: MQTT 3.1.1 has
 * no negative acknowledgement except dropping the connection, and dropping it would make the
 * device resend the same bad message forever while its good readings wait behind it.
 */
import type { Logger } from 'pino'
import type { z } from 'zod'
import type { Transition } from '../../../rules/src/index.js'
import { LogThrottle } from '../core/log-throttle.js'
import { parseSensorTopic, parseTerminalTopic } from '../contracts/topics.js'
import { SensorStatusPayload, TerminalReceipt } from '../contracts/payloads.js'
import type { PublishGate } from '../core/ports.js'
import type { FaultMonitor } from '../faults/monitor.js'
import type { Metrics } from '../metrics.js'
import type { CurrentRuntime } from '../runtime.js'
import type { Reading, ReadingStore } from '../store/readings.js'
import { isGatewayOnly } from '../security/roles.js'
import { decodeReading, type RejectReason } from './decode.js'
import { createReadingIntake } from './reading.js'

export interface IngestDeps {
  /** Registry and rules engine in force (a reload swaps them). */
  readonly runtime: CurrentRuntime
  readonly store: ReadingStore
  readonly metrics: Metrics
  readonly log: Logger
  /** Level transitions caused by a reading (already evaluated, in event-time order). */
  readonly onTransitions: (transitions: readonly Transition[], reading: Reading) => void
  /** Liveness and plausibility of each registered sensor (equipment faults). */
  readonly faults: Pick<FaultMonitor, 'seen' | 'inspect' | 'status' | 'clockAhead'>
  /**
   * A validated receipt from a loudspeaker terminal; its PUBACK waits for the promise (the receipt's
   * commit), so a receipt lost to a kill -9 is resent by the terminal and its command is not.
   */
  readonly onReceipt: (terminalId: string, receipt: TerminalReceipt) => void | Promise<void>
  /** A terminal's status (retained online message, or its last will). */
  readonly onTerminalStatus: (terminalId: string, state: 'online' | 'offline') => void
  /** The largest payload accepted per topic family (bytes): `mqtt.maxPayload`. */
  readonly maxPayload: { readonly sensors: number; readonly terminals: number; readonly other: number }
  /** Keep the rules' window aggregates with each reading (a history sink writes them). */
  readonly keepAggregates?: boolean
  /** Refused messages, one per source and reason a minute (as logged), for the event stream. */
  readonly onRefused?: (r: {
    reason: RejectReason
    source: string
    topic: string
    detail: string
    suppressed: number
  }) => void
}

export function createIngest(deps: IngestDeps): PublishGate {
  const { metrics, log } = deps
  const intake = createReadingIntake(deps)
  const rejected = new RejectLog(log.child({ component: 'ingest' }), deps.onRefused)
  const rejectedBy = new Map<RejectReason, { inc(): void }>()
  const reject = (reason: RejectReason, source: string, topic: string, detail: string) => {
    let c = rejectedBy.get(reason)
    if (!c) {
      c = metrics.readingsRejected.labels(reason)
      rejectedBy.set(reason, c)
    }
    c.inc()
    rejected.note(reason, source, topic, detail)
  }

  /** The message as `schema`, or undefined after refusing it with its reason. */
  const readJson = <S extends z.ZodType>(
    schema: S,
    payload: Buffer | string,
    source: string,
    topic: string,
  ): z.output<S> | undefined => {
    let json: unknown
    try {
      json = JSON.parse(toBuffer(payload).toString('utf8'))
    } catch (e) {
      reject('bad_json', source, topic, (e as Error).message)
      return undefined
    }
    const r = schema.safeParse(json)
    if (r.success) return r.data as z.output<S>
    reject('invalid_payload', source, topic, r.error.issues[0]?.message ?? 'invalid payload')
    return undefined
  }

  return function authorizePublish(client, packet, callback) {
    const topic = packet.topic
    // Wills published by the broker for a vanished client have no client; let them through.
    if (client === null) return callback(null)
    if (topic.startsWith('$SYS/')) return callback(new Error('$SYS topics are reserved'))
    // Topics only the gateway publishes on (the device guard refuses them first when devices log in).
    if (isGatewayOnly(topic)) {
      reject('forbidden_topic', client.id, topic, 'only the gateway publishes here')
      return callback(new Error(`publishing to ${topic} is reserved to the gateway`))
    }
    const family = topic.startsWith('sensors/')
      ? 'sensors'
      : topic.startsWith('terminals/')
        ? 'terminals'
        : 'other'
    const bytes = packet.payload.length
    if (bytes > deps.maxPayload[family]) {
      // Refused before anything reads it: never parsed, stored or forwarded.
      reject(
        'too_large',
        client.id,
        topic,
        `${bytes} bytes; ${family} topics take at most ${deps.maxPayload[family]}`,
      )
      return callback(null, 'refused')
    }

    if (topic.startsWith('sensors/')) {
      const parsed = parseSensorTopic(topic)
      if (!parsed) {
        reject('bad_topic', client.id, topic, 'expected sensors/{kind}/{sensorId}/{data|status}')
        return callback(null, 'refused')
      }
      const { registry } = deps.runtime()
      const sensor = registry.sensor(parsed.sensorId)
      if (parsed.channel === 'status') {
        // Online, battery, or the last will: equipment state, not readings.
        if (!sensor) {
          reject('unknown_sensor', parsed.sensorId, topic, 'sensor is not in the registry')
          return callback(null, 'refused')
        }
        const status = readJson(SensorStatusPayload, packet.payload, parsed.sensorId, topic)
        if (!status) return callback(null, 'refused')
        deps.faults.status(sensor.sensorId, sensor.station.id, status.state, status.battery)
        return callback(null)
      }
      metrics.readingsReceived.inc()
      if (!sensor) {
        reject('unknown_sensor', parsed.sensorId, topic, 'sensor is not in the registry')
        return callback(null, 'refused')
      }
      if (sensor.kind !== parsed.kind) {
        reject(
          'kind_mismatch',
          parsed.sensorId,
          topic,
          `registered as ${sensor.kind}, published as ${parsed.kind}`,
        )
        return callback(null, 'refused')
      }
      deps.faults.seen(sensor.sensorId) // any message proves the device is alive
      const kind = registry.kind(sensor.kind)!
      const decoded = decodeReading(toBuffer(packet.payload), kind)
      if (!decoded.ok) {
        reject(decoded.reason, parsed.sensorId, topic, decoded.detail)
        return callback(null, 'refused')
      }
      intake(sensor, kind, decoded, (e) => callback(e ?? null))
      return
    }

    if (topic.startsWith('terminals/')) {
      const parsed = parseTerminalTopic(topic)
      const read = <S extends z.ZodType>(schema: S, source: string) =>
        readJson(schema, packet.payload, source, topic)
      if (parsed?.channel === 'receipt') {
        const receipt = read(TerminalReceipt, parsed.terminalId)
        if (!receipt) return callback(null, 'refused')
        // Acknowledged once recorded, as a reading is (the promise never rejects: failures are logged).
        void Promise.resolve(deps.onReceipt(parsed.terminalId, receipt)).then(() => callback(null))
        return
      } else if (parsed?.channel === 'status') {
        const status = read(SensorStatusPayload, parsed.terminalId)
        if (!status) return callback(null, 'refused')
        deps.onTerminalStatus(parsed.terminalId, status.state)
      }
      return callback(null)
    }
    callback(null)
  }
}

/**
 * Logs refused messages without flooding: the first per (reason, source) at once, then at most
 * one line a minute with how many were suppressed in between.
 */
class RejectLog {
  private readonly throttle = new LogThrottle()
  constructor(
    private readonly log: Logger,
    private readonly onNoted?: IngestDeps['onRefused'],
  ) {}

  note(reason: RejectReason, source: string, topic: string, detail: string): void {
    const suppressed = this.throttle.allow(`${reason}\u0000${source}`, Date.now())
    if (suppressed === undefined) return
    const line = {
      reason,
      source: source.slice(0, 64),
      topic: topic.slice(0, 200),
      detail: detail.slice(0, 300),
      suppressed,
    }
    this.log.warn(line, 'message rejected')
    this.onNoted?.(line)
  }
}

const toBuffer = (p: Buffer | string): Buffer => (typeof p === 'string' ? Buffer.from(p) : p)
