/**
 * The moscajs/aedes#193 scenario: a subscriber to `sensors/#` stops reading while many publishers
 * flood QoS 0 readings, so the broker queues deliveries for it; then the subscriber's connection
 * dies. Bare aedes 1.2 then recurses through its queue and dies with "Maximum call stack size exceeded".
 */
import mqtt from 'mqtt'

export async function floodThenDropSubscriber(
  url: string,
  opts: {
    publishers: number
    durationMs: number
    topic: (i: number) => string
    payload: (n: number) => string
  },
) {
  const sub = await mqtt.connectAsync(url, { clientId: 'slow-subscriber', reconnectPeriod: 0 })
  sub.on('error', () => {})
  await sub.subscribeAsync('sensors/#', { qos: 0 })
  sub.stream.pause() // stop reading: the broker's writes to this client back up
  const pubs = await Promise.all(
    Array.from({ length: opts.publishers }, (_, k) =>
      mqtt.connectAsync(url, { clientId: `flood-${k}`, reconnectPeriod: 0 }),
    ),
  )
  for (const p of pubs) p.on('error', () => {})
  let n = 0
  const until = Date.now() + opts.durationMs
  while (Date.now() < until) {
    for (let i = 0; i < 2000; i++, n++)
      pubs[i % pubs.length]!.publish(opts.topic(i % pubs.length), opts.payload(n), { qos: 0 })
    await new Promise((r) => setImmediate(r))
  }
  sub.stream.destroy() // the slow subscriber's connection dies with deliveries queued
  await new Promise((r) => setTimeout(r, 1500))
  for (const p of pubs) p.end(true)
  sub.end(true)
  return n
}
