/**
 * The message router aedes uses (mqemitter), made safe against moscajs/aedes#193.
 *
 * When subscribers are stuck (a paused or dying socket), mqemitter queues messages beyond its
 * concurrency. If that subscriber then disconnects, every queued delivery completes synchronously
 * and mqemitter's `released` → `_do` → `released` chain recurses once per queued message: with
 * tens of thousands queued (a QoS 0 flood to `sensors/#`) the process dies with "Maximum call
 * stack size exceeded". We bound the synchronous depth and continue on the next macrotask, which
 * turns the recursion into a loop with the same order and the same total work.
 */
import mqemitter from 'mqemitter'

/** Deeper than this, dispatch continues from `setImmediate` instead of the current stack. */
const MAX_SYNC_DEPTH = 64

interface Internals {
  _do(message: mqemitter.Message, cb: (err?: Error) => void): unknown
}

export function createSafeMq(concurrency: number): mqemitter.MQEmitter {
  const mq = mqemitter({ concurrency }) as mqemitter.MQEmitter & Internals
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
