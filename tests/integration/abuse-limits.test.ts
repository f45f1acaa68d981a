/**
 * Abuse limits (mqtt.limits) through real clients against a real gateway: a flooding client is
 * paced while a river gauge's readings are stored and its warning goes out; a paced QoS 1 flood
 * loses nothing; a packet larger than the limit is cut off before it is read; connections over the
 * per-address rate or the ceiling get CONNACK 3; a client asking for no keepalive is still reaped.
 */
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { device, monitor, testPassword } from '../helpers/devices.js'
import {
  collector,
  connect,
  getJson,
  makeConfigDir,
  metric,
  refusedWith,
  startTestGateway,
} from '../helpers/gateway.js'
import { requireBinary } from '../helpers/requires.js'
import { until } from '../helpers/wait.js'

const run = promisify(execFile)
const hasClients = requireBinary('/usr/bin/mosquitto_pub', 'mosquitto-clients')
const T0 = Date.UTC(2026, 6, 15)
const M = 60_000
const VILLAGE = '511823100201'

/** A test gateway whose `mqtt:` mapping carries these limits. */
async function gatewayWithLimits(limits: string) {
  const { dir, config } = makeConfigDir(undefined, '', {
    mqtt: `{ host: 127.0.0.1, port: 0, wsPort: 0, limits: ${limits} }`,
  })
  return { dir, ...(await startTestGateway(config)) }
}

const limited = (gw: RunningGateway, limit: string) =>
  metric(gw.urls.http, 'shaobing_mqtt_limited_total', `limit="${limit}"`)

const rain = (i: number) => JSON.stringify({ ts: T0 + i, seq: i, values: { rain_mm: 0 } })

async function storedCount(gw: RunningGateway, station: string): Promise<number> {
  const body = await getJson<{ readings: unknown[] }>(
    gw.urls.http,
    `/api/stations/${station}/readings?from=0&limit=1000`,
  )
  return body.readings.length
}

/** The CONNACK code device `id`'s attempt is refused with (undefined: accepted). */
const refusedAs = (url: string, id: string) => refusedWith(url, device(id, { connectTimeout: 15_000 }))

describe('one flooding client never starves the others', () => {
  let gw: RunningGateway
  let lines: Record<string, unknown>[]
  beforeAll(async () => {
    ;({ gw, lines } = await gatewayWithLimits(
      '{ perClient: { messagesPerSecond: 200, messageBurst: 100 }, perAddress: { connectsPerSecond: 0 } }',
    ))
  })
  afterAll(async () => gw?.stop())

  test('while a rain gauge floods at QoS 0, the river gauge is stored and its warning reaches the village', async () => {
    const N = 20_000
    const cmds = await collector(gw.urls.mqtt, `terminals/+/cmd`, { hazard: 'flood' })
    const flooder = await connect(gw.urls.mqtt, device('rg-yq-01'))
    const floodTopic = sensorDataTopic('rain', 'rg-yq-01')
    for (let i = 0; i < N; i++) flooder.publish(floodTopic, rain(i), { qos: 0 })

    const gauge = await connect(gw.urls.mqtt, device('wl-lw-01'))
    // Above the warning level (32.5 m): a flood warning for the village's four loudspeakers.
    for (const [i, stage] of [30.0, 32.6, 33.1].entries())
      await gauge.publishAsync(
        sensorDataTopic('water_level', 'wl-lw-01'),
        JSON.stringify({ ts: T0 + i * 10 * M, seq: i, values: { stage_m: stage } }),
        { qos: 1 },
      )
    await cmds.waitFor(4, 30_000)
    expect(new Set(cmds.messages.map((m) => m.topic.split('/')[1]))).toEqual(
      new Set([1, 2, 3, 4].map((n) => `T${VILLAGE}-0${n}`)),
    )
    expect(await storedCount(gw, 'WL-LW-01')).toBe(3)
    // The flood was still being paced when the warning went out: at 200 a second it needs 100 s.
    const received = await metric(gw.urls.http, 'shaobing_readings_received_total')
    expect(received - 3).toBeLessThan(N)
    expect(await limited(gw, 'messages')).toBeGreaterThan(0)
    expect(
      lines.filter((l) => l.msg === 'mqtt client paced: over its messages rate' && l.clientId === 'rg-yq-01'),
    ).toHaveLength(1)
    flooder.end(true)
    await Promise.all([gauge.endAsync(), cmds.close()])
  })

  test('a paced QoS 1 flood loses nothing: every reading is acknowledged and stored once', async () => {
    const N = 600
    const before = await limited(gw, 'messages')
    const client = await connect(gw.urls.mqtt, device('rg-bh-01'))
    const topic = sensorDataTopic('rain', 'rg-bh-01')
    await Promise.all(Array.from({ length: N }, (_, i) => client.publishAsync(topic, rain(i), { qos: 1 })))
    expect(await limited(gw, 'messages')).toBeGreaterThan(before)
    await until(
      () => storedCount(gw, 'RG-BH-01'),
      (n) => n === N,
      `${N} readings of RG-BH-01 stored`,
    )
    await client.endAsync()
  })
})

describe('packets and connections', () => {
  let gw: RunningGateway
  let lines: Record<string, unknown>[]
  let dir: string
  const BURST = 12
  beforeAll(async () => {
    // A rate so slow that no refill happens during the test: a burst of connections, then refusals.
    ;({ gw, lines, dir } = await gatewayWithLimits(
      `{ perAddress: { connectsPerSecond: 0.001, connectBurst: ${BURST}, maxWait: 1s }, maxConnections: 4, maxKeepalive: 2s }`,
    ))
  })
  afterAll(async () => gw?.stop())

  test('a 10 MB packet is cut off before it is read; nobody receives it, the next good reading arrives', async () => {
    const watcher = await connect(gw.urls.mqtt, monitor())
    const got: number[] = []
    watcher.on('message', (_t, p) => got.push(p.length))
    await watcher.subscribeAsync('sensors/#', { qos: 1 })
    const gauge = await connect(gw.urls.mqtt, device('wl-lt-01'))
    const closed = new Promise<void>((r) => gauge.once('close', () => r()))
    gauge.on('error', () => {})
    gauge.publish(sensorDataTopic('water_level', 'wl-lt-01'), Buffer.alloc(10 * 2 ** 20, 0x41), { qos: 1 })
    await closed
    expect(await limited(gw, 'packet_size')).toBe(1)
    const logged = lines.find(
      (l) => l.msg === 'mqtt client disconnected: packet larger than mqtt.limits.maxPacketSize',
    )
    expect(logged).toMatchObject({ clientId: 'wl-lt-01', max: 256 * 1024 + 65_535 + 16 })
    expect(logged?.length).toBeGreaterThan(10 * 2 ** 20)
    gauge.end(true)

    const again = await connect(gw.urls.mqtt, device('wl-lt-01'))
    const good = JSON.stringify({ ts: T0, values: { stage_m: 610.2 } })
    await again.publishAsync(sensorDataTopic('water_level', 'wl-lt-01'), good, { qos: 1 })
    await until(
      () => got.length,
      (n) => n >= 1,
      'the good reading at the watcher',
    )
    expect(got).toEqual([good.length])
    await Promise.all([watcher.endAsync(), again.endAsync()])
  })

  test.runIf(hasClients)('mosquitto_pub of a 10 MB file is cut off too', async () => {
    const file = join(dir, 'big.bin')
    writeFileSync(file, Buffer.alloc(10 * 2 ** 20, 0x42))
    const before = await limited(gw, 'packet_size')
    const r = await run('/usr/bin/mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(gw.ports.mqtt), '-i', 'wl-lt-01', '-q', '1'],
      ...['-u', 'wl-lt-01', '-P', testPassword('wl-lt-01')],
      ...['-t', sensorDataTopic('water_level', 'wl-lt-01'), '-f', file],
    ]).then(
      () => 0,
      (e: { code?: number }) => e.code ?? -1,
    )
    expect(r).not.toBe(0)
    expect(await limited(gw, 'packet_size')).toBe(before + 1)
  })

  test('a client asking for no keepalive is held to mqtt.limits.maxKeepalive and reaped when silent', async () => {
    const before = await limited(gw, 'keepalive')
    const silent = await connect(gw.urls.mqtt, device('rg-ty-01', { keepalive: 0 }))
    const closed = new Promise<void>((r) => silent.once('close', () => r()))
    await closed // 1.5 × 2 s without a packet
    expect(await limited(gw, 'keepalive')).toBe(before + 1)
    silent.end(true)
  })

  test('over maxConnections and over the per-address rate, CONNACK 3 (server unavailable)', async () => {
    // Every connection accepted so far in this block took one of the address's burst.
    const used = await metric(gw.urls.http, 'shaobing_mqtt_auth_total', 'result="accepted",reason="password"')
    expect(BURST - used).toBeGreaterThanOrEqual(4)
    const held: MqttClient[] = []
    for (const id of ['rg-lw-01', 'rg-sm-01', 'rg-lt-01', 'rg-bh-01'])
      held.push(await connect(gw.urls.mqtt, device(id)))
    // Four connected: the fifth is refused, and the refusal costs no allowance.
    expect(await refusedAs(gw.urls.mqtt, 'rg-yq-01')).toBe(3)
    expect(await limited(gw, 'connections')).toBe(1)
    await Promise.all(held.map((c) => c.endAsync()))
    await until(
      () => metric(gw.urls.http, 'shaobing_mqtt_clients_connected'),
      (n) => n === 0,
      'the four closed',
    )
    for (let left = BURST - used - 4; left > 0; left--)
      expect(await refusedAs(gw.urls.mqtt, 'rg-yq-01')).toBeUndefined()
    // The burst is used up now and the address refills once in 1,000 s.
    expect(await refusedAs(gw.urls.mqtt, 'rg-yq-01')).toBe(3)
    expect(await limited(gw, 'connect_rate')).toBe(1)
    expect(lines.find((l) => l.msg?.toString().startsWith('mqtt connection refused: '))).toMatchObject({
      limit: 'connections',
      clientId: 'rg-yq-01',
    })
    expect(
      lines.find(
        (l) => l.limit === 'connect_rate' && l.msg?.toString().startsWith('mqtt connection refused'),
      ),
    ).toMatchObject({ address: '127.0.0.1' })
  })
})
