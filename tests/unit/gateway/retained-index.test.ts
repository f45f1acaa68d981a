/**
 * The exact-topic index of retained messages gives a SUBSCRIBE the same retained messages as
 * aedes's scan: the one on an exact topic, all matching a wildcard, none once cleared. A later
 * non-retained marker on the same topic shows nothing else was coming.
 */
import { Aedes } from 'aedes'
import mqtt, { type MqttClient } from 'mqtt'
import { createServer, type AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { indexRetained } from '../../../gateway/src/broker/retained-index.js'

let broker: Aedes
let url: string
let close: () => Promise<void>
beforeAll(async () => {
  broker = await Aedes.createBroker()
  indexRetained(broker)
  const server = createServer(broker.handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
  close = async () => {
    await new Promise<void>((r) => broker.close(() => r()))
    await new Promise<void>((r) => server.close(() => r()))
  }
})
afterAll(() => close())

/** Subscribes to `filter`, then publishes a marker on `markerTopic`; the messages up to the marker. */
async function retainedFor(filter: string, markerTopic: string): Promise<string[]> {
  const c: MqttClient = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  const got: string[] = []
  const done = new Promise<void>((resolve) =>
    c.on('message', (topic, payload) => {
      if (payload.toString() === 'marker') return resolve()
      got.push(`${topic}=${payload.toString()}`)
    }),
  )
  await c.subscribeAsync(filter, { qos: 1 })
  await c.publishAsync(markerTopic, 'marker', { qos: 1 })
  await done
  await c.endAsync()
  return got.sort()
}

test('exact filters come from the index, wildcards from the scan, cleared ones from neither', async () => {
  const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  await pub.publishAsync('terminals/T-1/status', 'online', { qos: 1, retain: true })
  await pub.publishAsync('terminals/T-2/status', 'offline', { qos: 1, retain: true })
  await pub.publishAsync('terminals/T-2/status', 'online', { qos: 1, retain: true })
  expect(await retainedFor('terminals/T-1/status', 'terminals/T-1/status')).toEqual([
    'terminals/T-1/status=online',
  ])
  expect(await retainedFor('terminals/+/status', 'terminals/T-9/status')).toEqual([
    'terminals/T-1/status=online',
    'terminals/T-2/status=online',
  ])
  expect(await retainedFor('terminals/T-3/status', 'terminals/T-3/status')).toEqual([])
  await pub.publishAsync('terminals/T-1/status', '', { qos: 1, retain: true })
  expect(await retainedFor('terminals/T-1/status', 'terminals/T-1/status')).toEqual([])
  await pub.endAsync()
})
