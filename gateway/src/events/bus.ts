/**
 * The event bus. `emit` appends the event to the durable window (in the emitter's transaction, so
 * an event exists exactly when the change it reports does) and hands it, synchronously and still
 * inside that transaction, to the subscribers: the dissemination dispatcher records deliveries
 * there, before anything is sent. What a subscriber returns (its sends, which leave only after the
 * commit) is what `emit` resolves with. Listeners (the SSE stream) hear of an event once its
 * transaction has committed; one rolled back is never heard of.
 */
import type { Logger } from 'pino'
import type { EventStore } from '../store/events.js'
import type { GatewayEvent, NewEvent } from './types.js'

/** Runs `fn` once the emitting transaction has committed; never if it rolled back. */
export type AfterCommit = (fn: () => Promise<void> | void) => Promise<void>

/**
 * Reacts to an event inside the emitter's transaction; may return work that runs after it,
 * scheduled with `afterCommit` (a sender must not write to a socket before the commit).
 */
export type Subscriber = (e: GatewayEvent, afterCommit: AfterCommit) => Promise<void> | void

/** Told of committed events (the SSE stream, future sinks). */
export type Listener = (e: GatewayEvent) => void

/** What emitters need: the bus as they see it. */
export interface Emit {
  (e: NewEvent): Promise<void>
}

export class EventBus {
  private readonly subscribers: Subscriber[] = []
  private readonly listeners = new Set<Listener>()
  private readonly log: Logger

  constructor(
    private readonly store: EventStore,
    private readonly now: () => number,
    log: Logger,
  ) {
    this.log = log.child({ component: 'events' })
  }

  /** Subscribes inside emitters' transactions (in the order subscribed). */
  subscribe(s: Subscriber): void {
    this.subscribers.push(s)
  }

  /** Listens to committed events; returns the function that stops listening. */
  listen(l: Listener): () => void {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }

  get listening(): number {
    return this.listeners.size
  }

  /** Records the event and runs the subscribers; resolves when their after-commit work is done. */
  readonly emit: Emit = (e) => {
    const stored = this.store.append(e, this.now())
    // A synchronous transaction has committed (or rolled back) before any microtask runs; whether
    // the event survived is asked once, by whoever needs it first.
    let committed: Promise<boolean> | undefined
    const afterCommit: AfterCommit = (fn) =>
      (committed ??= Promise.resolve().then(() => this.store.has(stored.id))).then((ok) =>
        ok ? fn() : undefined,
      )
    const work: Promise<void>[] = []
    for (const s of this.subscribers) {
      const r = s(stored, afterCommit)
      if (r) work.push(r)
    }
    if (this.listeners.size > 0)
      work.push(
        afterCommit(() => {
          for (const l of this.listeners)
            try {
              l(stored)
            } catch (err) {
              this.log.error({ err, eventId: stored.id }, 'event listener failed')
            }
        }),
      )
    return work.length === 0 ? Promise.resolve() : Promise.all(work).then(() => undefined)
  }
}
