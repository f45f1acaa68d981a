/**
 * The moscajs/aedes#193 scenario: a subscriber to `sensors/#` stops reading while many publishers
 * flood QoS 0 readings, so the broker queues deliveries for it; then the subscriber's connection
 * dies. Bare aedes 1.2 then recurses through its queue and dies with "Maximum call stack size exceeded".
 *
 * Nothing here depends on the machine's speed: the flood goes on until the broker itself reports a
 * backlog of at least `atLeast` queued messages (tests/fixtures/router-backlog.ts), however long
 * that takes, and the end of the drain is an event, not a pause: the dead subscriber's last will
 * is queued behind the backlog, so it reaches a watcher only once the broker has worked through it.
 */
import mqtt, { type IClientOptions } from 'mqtt'
import { until } from './wait.js'

/** Where the slow subscriber's last will goes; a watcher subscribes to it. */
const WILL_TOPIC = 'test/slow-subscriber/gone'

export interface FloodOptions {
  readonly publishers: number
  readonly topic: (i: number) => string
  readonly payload: (n: number) => string
  /** How many messages the broker's router holds queued (read from the broker itself). */
  readonly backlog: () => number | Promise<number>
  /** The subscriber is dropped once the backlog is at least this. */
  readonly atLeast: number
  /** Gives up (a failure, not a precondition) if the backlog is not reached in this long. */
  readonly timeoutMs?: number
  /** How each client logs in, by its client id (a broker that authenticates); none by default. */
  readonly login?: (who: 'subscriber' | 'watcher' | 'publisher', clientId: string) => IClientOptions
}

export async function floodThenDropSubscriber(
  url: string,
  opts: FloodOptions,
): Promise<{ sent: number; backlog: number }> {
  const login = opts.login ?? ((_who, clientId) => ({ clientId }))
  const sub = await mqtt.connectAsync(url, {
    ...login('subscriber', 'slow-subscriber'),
    reconnectPeriod: 0,
    will: { topic: WILL_TOPIC, payload: Buffer.from('gone'), qos: 0, retain: false },
  })
  sub.on('error', () => {})
  await sub.subscribeAsync('sensors/#', { qos: 0 })
  sub.stream.pause() // stop reading: the broker's writes to this client back up
  const watcher = await mqtt.connectAsync(url, {
    ...login('watcher', 'slow-subscriber-watcher'),
    reconnectPeriod: 0,
  })
  watcher.on('error', () => {})
  let gone = false
  watcher.on('message', (topic) => {
    if (topic === WILL_TOPIC) gone = true
  })
  await watcher.subscribeAsync(WILL_TOPIC, { qos: 0 })
  const pubs = await Promise.all(
    Array.from({ length: opts.publishers }, (_, k) =>
      mqtt.connectAsync(url, { ...login('publisher', `flood-${k}`), reconnectPeriod: 0 }),
    ),
  )
  for (const p of pubs) p.on('error', () => {})

  // Flood, and ask the broker for its backlog alongside, until it is deep enough. A publisher the
  // broker has stopped reading gets no more for now: more would only pile up in this process.
  let n = 0
  let backlog: number | undefined
  let asking: Promise<void> | undefined
  let failed: unknown
  const end = Date.now() + (opts.timeoutMs ?? 60_000)
  while (backlog === undefined) {
    if (failed !== undefined) throw failed
    if (Date.now() > end)
      throw new Error(`the broker's backlog stayed below ${opts.atLeast} after ${n} messages`)
    let wrote = false
    for (const [k, p] of pubs.entries()) {
      if (p.stream.writableLength > 256 * 1024) continue
      for (let i = 0; i < 100; i++, n++) p.publish(opts.topic(k), opts.payload(n), { qos: 0 })
      wrote = true
    }
    asking ??= Promise.resolve(opts.backlog()).then(
      (q) => {
        if (q >= opts.atLeast) backlog = q
        asking = undefined
      },
      (e: unknown) => {
        failed = e
      },
    )
    await new Promise((r) => (wrote ? setImmediate(r) : setTimeout(r, 5)))
  }

  sub.stream.destroy() // the slow subscriber's connection dies with deliveries queued
  await until(
    () => gone,
    (g) => g,
    "the slow subscriber's last will, queued behind the backlog",
    60_000,
  )
  for (const p of pubs) p.end(true)
  watcher.end(true)
  sub.end(true)
  return { sent: n, backlog }
}
