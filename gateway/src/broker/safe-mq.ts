/**
 * The message router aedes uses (mqemitter), made safe against moscajs/aedes#193.
 *
 * When subscribers are stuck (a paused or dying socket), mqemitter queues messages beyond its
 * concurrency. If that subscriber then disconnects, every queued delivery completes synchronously
 * and mqemitter's `released` → `_do` → `released` chain recurses once per queued message: with
 * tens of thousands queued (a QoS 0 flood to `sensors/#`) the process dies with "Maximum call
 * stack size exceeded". We bound the synchronous depth and continue on the next macrotask, which
 * turns the recursion into a loop with the same order and the same total work.
 *
 * Its queue filling up is not a leak, though mqemitter says so: `emit` calls
 * `process.emitWarning('MqEmitter leak detected')` when it finds `concurrency` deliveries in
 * progress while it believes it is idle, and "recovers" by starting a queued one. The guard above
 * gets it there without any leak: a dispatch deferred to `setImmediate` has already left the count
 * when others start, so when it runs more than `concurrency` are in progress, and the last to
 * finish with an empty queue marks mqemitter idle (tests/unit/gateway/safe-mq.test.ts shows the
 * sequence). After a power cut, 10,000 loudspeakers reconnecting together each bring a last will,
 * a retained status, a subscription and aedes's `$SYS` connect notice; the queue legitimately
 * fills and empties many times a second, and stderr filled with that warning. The queue is
 * backpressure working as designed: aedes routes one PUBLISH of a client at a time and reads
 * nothing more from that client until it is routed, so the queue holds about one message per busy
 * client at most, and those messages exist anyway, queued or in flight. So the queueing branch of
 * `emit` is done here as mqemitter does it (the same "recovery" included) without the warning, and
 * the depth goes to `onQueued` (the broker's log line, once a minute); every other process warning
 * is untouched.
 *
 * `concurrency` (the broker passes 100) bounds the deliveries in progress at once, not the queue:
 * raising it would not make the queue smaller, and a subscriber that stops reading (aedes#193)
 * holds up to `concurrency` messages in progress, each up to `maxPacketSize`, until aedes drops it.
 */
import mqemitter from 'mqemitter'

/** Deeper than this, dispatch continues from `setImmediate` instead of the current stack. */
const MAX_SYNC_DEPTH = 64

/** mqemitter 7's fields this module relies on (checked when created). */
interface Internals {
  _do(message: mqemitter.Message, cb: (err?: Error) => void): unknown
  _released(): void
  readonly _messageQueue: mqemitter.Message[]
  readonly _messageCallbacks: ((err?: Error) => void)[]
  readonly _doing: boolean
  readonly current: number
  readonly concurrency: number
  readonly closed: boolean
}

const noop = () => {}

/** An mqemitter with the aedes#193 guard; `onQueued` hears the queue's depth each time a message waits. */
export function createSafeMq(concurrency: number, onQueued?: (depth: number) => void): mqemitter.MQEmitter {
  const mq = mqemitter({ concurrency }) as mqemitter.MQEmitter & Internals
  for (const k of ['_do', '_released', '_messageQueue', '_messageCallbacks', 'current'] as const)
    if (!(k in mq)) throw new Error(`mqemitter has no ${k}: safe-mq.ts needs updating for this version`)
  const emit = mq.emit.bind(mq)
  // mqemitter's emit, its queueing branch without process.emitWarning (see above).
  mq.emit = (message, cb) => {
    if (!mq.closed && mq.concurrency > 0 && mq.current >= mq.concurrency) {
      mq._messageQueue.push(message)
      mq._messageCallbacks.push(cb ?? noop)
      onQueued?.(mq._messageQueue.length)
      if (!mq._doing) mq._released()
      return mq
    }
    return emit(message, cb)
  }
  const dispatch = mq._do.bind(mq)
  let depth = 0
  mq._do = (message, cb) => {
    if (depth >= MAX_SYNC_DEPTH) {
      setImmediate(() => dispatch(message, cb))
      return mq
    }
    depth++
    try {
      return dispatch(message, cb)
    } finally {
      depth--
    }
  }
  return mq
}
