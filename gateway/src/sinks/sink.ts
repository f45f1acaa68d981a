/**
 * The port a history sink implements, beside the embedded store: it hears of committed readings,
 * of every event inside the transaction that records it, and of the rules' level transitions. The
 * composition root wires it; nothing in ingest, rules or alerting knows a sink exists.
 */
import type { Transition } from '../../../rules/src/index.js'
import type { Subscriber } from '../events/bus.js'

export interface HistorySink {
  readonly name: string
  /** Readings were committed to the store (the sink reads them from there). */
  committed(stored: number): void
  /** Subscribed to the event bus: queues its points in the event's own transaction. */
  readonly onEvent: Subscriber
  /** A reading caused level transitions at its station (`kind`: the reading's sensor kind). */
  transitions(transitions: readonly Transition[], kind: string): void
  /** The readings.id up to which its server has the readings: retention keeps what is after it. */
  readonly readingCursor: number
  start(): void
  /** Stops sending; a write in flight is finished or abandoned within its timeout. */
  stop(): Promise<void>
}
