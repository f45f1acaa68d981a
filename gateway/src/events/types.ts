/**
 * Everything that happens, as one typed stream. Alerting, channels, faults and ingest emit; the
 * dissemination dispatcher, the console, Node-RED and future sinks (InfluxDB, upstream gateways)
 * subscribe. A new consumer is a new subscriber, never a new call inside alerting.
 */
import type { Level } from '../../../rules/src/index.js'
import { EVENT_TYPES as CONTRACT_TYPES } from '../contracts/api.js'

/** The payloads by event type. */
export interface EventPayloads {
  /** A version went out (issue 首报, update 续报 or lift 终报): channels deliver it. */
  'warning.released': {
    readonly warningId: string
    readonly version: number
    readonly action: 'issue' | 'update' | 'lift'
    readonly level: Level | null
    readonly prevLevel: Level | null
    readonly targets: readonly string[]
    readonly status: 'Actual' | 'Exercise' | 'Test'
    readonly releasedBy: readonly string[]
    readonly text: string
  }
  /** A version waits for an approver (policy `approval`), until `due`. */
  'approval.needed': {
    readonly warningId: string
    readonly version: number
    readonly level: Level | null
    readonly due: number | null
    readonly twoPerson: boolean
  }
  /** An approver approved or rejected a version waiting for release. */
  'approval.given': {
    readonly warningId: string
    readonly version: number
    readonly by: string
    readonly decision: 'approve' | 'reject'
  }
  /** A version held back: inhibited by a higher warning, or rejected. */
  'version.held': {
    readonly warningId: string
    readonly version: number
    readonly release: 'inhibited' | 'rejected'
    readonly inhibitedBy?: string
  }
  /** An operator acknowledged a warning; its escalation stopped. */
  'warning.acknowledged': { readonly warningId: string; readonly by: string }
  /** Unacknowledged past its deadline: the next tier up was called in. */
  'warning.escalated': {
    readonly warningId: string
    readonly tier: number
    readonly people: readonly string[]
  }
  /** One recipient's delivery moved on (a loudspeaker's receipt, an SMS delivery receipt). */
  'delivery.changed': {
    readonly warningId: string
    readonly version: number
    readonly channel: 'loudspeaker' | 'sms'
    readonly recipient: string
    readonly state: string
    readonly detail?: string | null
  }
  /** A responsible person answered a 叫应 call. */
  'callout.answered': {
    readonly warningId: string
    readonly personId: string
    readonly via: 'sms' | 'api'
    readonly calls: number
  }
  /** An equipment fault (设备故障) was raised or cleared. */
  'fault.raised': FaultEvent
  'fault.cleared': FaultEvent
  /**
   * A message was refused at ingest. One event per sensor and reason per minute (with how many
   * were refused since), as the log does: a firmware bug cannot flood the stream.
   */
  'reading.refused': {
    readonly reason: string
    readonly source: string
    readonly topic: string
    readonly detail: string
    readonly suppressed: number
  }
}

/** A fault's state change. */
export interface FaultEvent {
  readonly sensorId: string
  readonly stationId: string
  readonly kind: string
  readonly detail: string
}

/** The names of the event types. */
export type EventType = keyof EventPayloads
/** The event types, in the API contract's order (a type here and there, or the build fails). */
export const EVENT_TYPES: readonly EventType[] = CONTRACT_TYPES
// Both directions: every payload has a contract name, every contract name a payload.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never
const _same: Same<EventType, (typeof CONTRACT_TYPES)[number]> = true
void _same

/** An event as emitted: its type, payload and the region and hazard it concerns (for filters). */
export type NewEvent = {
  [T in EventType]: {
    readonly type: T
    readonly data: EventPayloads[T]
    readonly region?: string | null
    readonly hazard?: string | null
  }
}[EventType]

/** An event as stored and streamed: with its sequence id and wall-clock time. */
export type GatewayEvent = NewEvent & { readonly id: number; readonly at: number }
