/**
 * The broker's router queues beyond its concurrency without mqemitter's "MqEmitter leak detected"
 * process warning (a reconnect storm filled stderr with it), reports the depth instead, and
 * delivers everything. Other process warnings still go out: a marker warning emitted afterwards is
 * the only one heard.
 */
import { expect, test } from 'vitest'
import { createSafeMq } from '../../../gateway/src/broker/safe-mq.js'

/** Resolves with every process warning heard up to and including a 'marker' warning. */
function warningsUntilMarker(): Promise<string[]> {
  const heard: string[] = []
  return new Promise((resolve) => {
    const listener = (w: Error) => {
      heard.push(w.message)
      if (w.message !== 'marker') return
      process.off('warning', listener)
      resolve(heard)
    }
    process.on('warning', listener)
  })
}

test('a queue refilled after a deferred dispatch reports its depth, not a process warning', async () => {
  const heard = warningsUntilMarker()
  const depths: number[] = []
  const mq = createSafeMq(1, (d) => depths.push(d))
  const held: (() => void)[] = []
  const got: string[] = []
  // Messages named h… are slow to deliver (held until released); the rest complete at once.
  mq.on('t', (m, cb) => {
    const name = String((m as unknown as { name: string }).name)
    got.push(name)
    if (name.startsWith('h')) held.push(cb)
    else cb()
  })
  mq.emit({ topic: 't', name: 'h0' })
  const burst = Array.from({ length: 70 }, (_, i) => `s${i + 1}`)
  for (const name of burst) mq.emit({ topic: 't', name }) // queued behind h0
  expect(depths).toEqual(burst.map((_, i) => i + 1))
  held.shift()!() // h0 done: the queue drains, the aedes#193 guard deferring past its depth
  mq.emit({ topic: 't', name: 'h1' }) // a delivery starts while that dispatch is deferred
  await new Promise((r) => setImmediate(r))
  // The queue is empty and mqemitter is idle with h1 in flight: here its emit used to warn.
  mq.emit({ topic: 't', name: 'y' })
  held.shift()!()
  await new Promise((r) => setImmediate(r))
  expect(new Set(got)).toEqual(new Set(['h0', ...burst, 'h1', 'y']))
  expect(depths.length).toBe(71)
  process.emitWarning('marker')
  expect(await heard).toEqual(['marker'])
})
