/**
 * The walking skeleton end to end, over real MQTT on loopback: readings from a river gauge become a
 * graded warning whose commands reach exactly the village's loudspeakers, which answer with receipts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { MqttClient } from 'mqtt'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic, terminalReceiptTopic } from '../../gateway/src/contracts/topics.js'
import { collector, connect, getJson, makeConfigDir, metric, startTestGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'
import { bridgeLogin, device } from '../helpers/devices.js'

const T0 = Date.UTC(2026, 6, 15)
const M = 60_000
const COUNTY = '511823000000'
const VILLAGE_TERMINALS = ['T511823100201-01', 'T511823100201-02', 'T511823100201-03', 'T511823100201-04']

interface Command {
  action: string
  warningId: string
  version: number
  kind: string
  level: string
  text: string
  priority: number
  expiresAt: number
  sentAt: number
}

let gw: RunningGateway
let lines: Record<string, unknown>[]
const terminals: MqttClient[] = []

beforeAll(async () => {
  ;({ gw, lines } = await startTestGateway(makeConfigDir().config))
  // Loudspeaker terminals of the gauge's village, answering every command as a real one would.
  for (const id of VILLAGE_TERMINALS) {
    const t = await connect(gw.urls.mqtt, device(id))
    t.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString('utf8')) as Command
      for (const state of ['accepted', 'playing', 'played'])
        t.publish(
          terminalReceiptTopic(id),
          JSON.stringify({ warningId: cmd.warningId, version: cmd.version, state, ts: Date.now() }),
          { qos: 1 },
        )
    })
    await t.subscribeAsync(`terminals/${id}/cmd`, { qos: 1 })
    terminals.push(t)
  }
})

afterAll(async () => {
  await Promise.all(terminals.map((t) => t.endAsync()))
  await gw?.stop()
})

describe('river gauge → flood warning → village loudspeakers', () => {
  test('yellow, orange, red and lift reach the four village terminals, with receipts', async () => {
    const cmds = await collector(gw.urls.mqtt, 'terminals/+/cmd')
    const gauge = await connect(gw.urls.mqtt, device('wl-lw-01'))
    // Rises through every reference level, then falls below the approach level (a dam-break
    // style drop keeps the example short; a gradual recession steps down level by level).
    const series = [30.0, 31.2, 32.6, 33.1, 34.1, 34.6, 35.3, 31.0, 30.8, 30.6, 30.5, 30.4]
    for (const [i, stage] of series.entries())
      await gauge.publishAsync(
        sensorDataTopic('water_level', 'wl-lw-01'),
        JSON.stringify({ ts: T0 + i * 10 * M, seq: i, values: { stage_m: stage } }),
        { qos: 1 },
      )
    await cmds.waitFor(16)
    // Nothing more may arrive: a marker to every terminal of the county comes after anything sent.
    await cmds.mark(gw.urls.http, COUNTY, 28)

    const got = cmds.messages.map((m) => ({
      terminal: m.topic.split('/')[1],
      ...(m.payload as unknown as Command),
    }))
    expect(got).toHaveLength(16)
    expect(new Set(got.map((c) => c.terminal))).toEqual(new Set(VILLAGE_TERMINALS))
    const versions = [...new Map(got.map((c) => [c.version, [c.kind, c.level]])).entries()].sort(
      (a, b) => a[0] - b[0],
    )
    expect(versions).toEqual([
      [1, ['issue', 'yellow']],
      [2, ['update', 'orange']],
      [3, ['update', 'red']],
      [4, ['lift', 'red']],
    ])
    const red = got.find((c) => c.version === 3)!
    expect(red.text).toContain('红色预警')
    expect(red.text).toContain('历史最高水位35.2米')
    expect(red.priority).toBeGreaterThan(got.find((c) => c.version === 1)!.priority)
    expect(red.expiresAt).toBeGreaterThan(red.sentAt)
    expect(got.find((c) => c.version === 4)!.text).toContain('预警解除')

    // Receipts arrive asynchronously; wait until all 16 deliveries are played.
    const id = red.warningId
    const deliveries = await until(
      async () =>
        (
          await getJson<{ deliveries: { state: string; terminalId: string; version: number }[] }>(
            gw.urls.http,
            `/api/warnings/${id}/deliveries`,
          )
        ).deliveries,
      (d) => d.every((x) => x.state === 'played'),
      'every delivery played',
    )
    expect(deliveries).toHaveLength(16)
    expect(deliveries.every((d) => d.state === 'played')).toBe(true)

    const warning = await getJson<{
      state: string
      version: number
      level: string | null
      versions: { action: string; level: string | null; ts: number }[]
    }>(gw.urls.http, `/api/warnings/${id}`)
    expect(warning.state).toBe('lifted')
    expect(warning.level).toBeNull()
    expect(warning.versions.map((v) => [v.action, v.level, (v.ts - T0) / M])).toEqual([
      ['issue', 'yellow', 20],
      ['update', 'orange', 40],
      ['update', 'red', 60],
      // Below the approach level (32.0 m) from minute 70; lifted after the 30 min dwell.
      ['lift', null, 100],
    ])

    // Integrators see the current state, retained.
    const state = await collector(gw.urls.mqtt, 'warnings/#')
    await state.waitFor(1)
    expect(state.messages[0]).toMatchObject({
      topic: 'warnings/511823100201/flood',
      payload: { id, state: 'lifted', version: 4 },
    })
    await Promise.all([cmds.close(), state.close(), gauge.endAsync()])
  })

  test('the rainstorm signal grades 3 h sums from a rain gauge', async () => {
    const cmds = await collector(gw.urls.mqtt, 'terminals/T511823100202-01/cmd', { hazard: 'rainstorm' })
    const gauge = await connect(gw.urls.mqtt, device('rg-sm-01'))
    // 20 mm every 30 min: 3 h sum 50 at 1 h 30 (orange... needs 3 h ≥ 50 → at 1.5 h: 60), 100 at 2.5 h.
    for (let i = 1; i <= 5; i++)
      await gauge.publishAsync(
        sensorDataTopic('rain', 'rg-sm-01'),
        JSON.stringify({ ts: T0 + i * 30 * M, values: { rain_mm: 20 } }),
        { qos: 1 },
      )
    await cmds.waitFor(2)
    expect(cmds.messages.map((m) => [m.payload.kind, m.payload.level])).toEqual([
      ['issue', 'orange'],
      ['update', 'red'],
    ])
    expect(String(cmds.messages[1]!.payload.text)).toContain('3小时降雨量100毫米')
    await Promise.all([cmds.close(), gauge.endAsync()])
  })
})

describe('bad input is refused, counted and logged, and nothing else is lost', () => {
  test('each kind of malformed message is counted by reason while a good sensor keeps reporting', async () => {
    // A sensor sends its own topics with bad payloads; topic-level mistakes (an unknown sensor, a
    // wrong kind, a malformed topic) can only come from an identity the ACL file lets write all of
    // sensors/# (a legacy concentrator, here the test bridge): a device's own ACL refuses them first.
    const bad = await connect(gw.urls.mqtt, device('gas-pk-01'))
    const bridge = await connect(gw.urls.mqtt, bridgeLogin())
    const good = await connect(gw.urls.mqtt, device('aws-qx-01'))
    const storedBefore = await metric(gw.urls.http, 'shaobing_readings_stored_total')
    const cases: [string, MqttClient, string, string][] = [
      ['bad_json', bad, sensorDataTopic('gas', 'gas-pk-01'), '{"ts": 17'],
      [
        'invalid_payload',
        bad,
        sensorDataTopic('gas', 'gas-pk-01'),
        JSON.stringify({ ts: T0, values: { lel_pct: 'high' } }),
      ],
      [
        'invalid_payload',
        bad,
        sensorDataTopic('gas', 'gas-pk-01'),
        JSON.stringify({ ts: 12, values: { lel_pct: 3 } }),
      ],
      [
        'unknown_quantity',
        bad,
        sensorDataTopic('gas', 'gas-pk-01'),
        JSON.stringify({ ts: T0, values: { lava_c: 3 } }),
      ],
      [
        'unknown_sensor',
        bridge,
        sensorDataTopic('gas', 'ghost-01'),
        JSON.stringify({ ts: T0, values: { lel_pct: 3 } }),
      ],
      [
        'kind_mismatch',
        bridge,
        sensorDataTopic('rain', 'gas-pk-01'),
        JSON.stringify({ ts: T0, values: { rain_mm: 3 } }),
      ],
      [
        'bad_topic',
        bridge,
        'sensors/gas/gas-pk-01/extra/data',
        JSON.stringify({ ts: T0, values: { lel_pct: 3 } }),
      ],
      [
        'invalid_payload',
        bridge,
        sensorDataTopic('seismic', 'seis-qx-01'),
        JSON.stringify({ ts: T0, sr: 100, x: [1, 2], y: [1], z: [1] }),
      ],
    ]
    for (const [i, [, client, topic, payload]] of cases.entries()) {
      await client.publishAsync(topic, payload, { qos: 1 }) // still acknowledged: no poison-message loop
      await good.publishAsync(
        sensorDataTopic('weather', 'aws-qx-01'),
        JSON.stringify({ ts: T0 + i * M, values: { air_temp_c: 25, rain_mm: 0 } }),
        { qos: 1 },
      )
    }
    expect(bad.connected && bridge.connected).toBe(true)
    const counts = new Map<string, number>()
    for (const [reason] of cases) counts.set(reason, (counts.get(reason) ?? 0) + 1)
    for (const [reason, n] of counts)
      expect(await metric(gw.urls.http, 'shaobing_readings_rejected_total', `reason="${reason}"`)).toBe(n)
    expect((await metric(gw.urls.http, 'shaobing_readings_stored_total')) - storedBefore).toBe(cases.length)
    const logged = lines.filter((l) => l.msg === 'message rejected')
    expect(logged.map((l) => l.reason)).toEqual(expect.arrayContaining([...counts.keys()]))
    expect(logged.find((l) => l.reason === 'unknown_quantity')?.detail).toContain('lava_c')
    await Promise.all([bad.endAsync(), bridge.endAsync(), good.endAsync()])
  })

  test('a flood of bad messages from one sensor is logged once, not per message', async () => {
    const before = lines.filter((l) => l.msg === 'message rejected' && l.source === 'dust-pk-01').length
    const bad = await connect(gw.urls.mqtt, device('dust-pk-01'))
    for (let i = 0; i < 200; i++)
      await bad.publishAsync(sensorDataTopic('dust', 'dust-pk-01'), 'not json', { qos: 1 })
    const after = lines.filter((l) => l.msg === 'message rejected' && l.source === 'dust-pk-01').length
    expect(after - before).toBe(1)
    await bad.endAsync()
  })

  test('a quantity outside its plausible range is stored but kept out of evaluation', async () => {
    const cmds = await collector(gw.urls.mqtt, 'terminals/T511823101201-01/cmd')
    const gauge = await connect(gw.urls.mqtt, device('wl-lt-01'))
    // 9999 m is beyond the water_level kind's plausible maximum: a device fault, not a flood.
    await gauge.publishAsync(
      sensorDataTopic('water_level', 'wl-lt-01'),
      JSON.stringify({ ts: T0, values: { stage_m: 9999 } }),
      { qos: 1 },
    )
    await cmds.mark(gw.urls.http, '511823101201', 1)
    expect(cmds.messages).toHaveLength(0)
    expect(
      await metric(
        gw.urls.http,
        'shaobing_reading_values_faulty_total',
        'kind="water_level",quantity="stage_m"',
      ),
    ).toBe(1)
    const stations = await getJson<{
      stations: { id: string; latest: { values: Record<string, number> } | null }[]
    }>(gw.urls.http, '/api/stations')
    expect(stations.stations.find((s) => s.id === 'WL-LT-01')?.latest?.values).toEqual({ stage_m: 9999 })
    await Promise.all([cmds.close(), gauge.endAsync()])
  })

  test('a device that publishes a loudspeaker command is disconnected', async () => {
    // A registered sensor, logged in with its own password: only the gateway publishes commands.
    const rogue = await connect(gw.urls.mqtt, device('wl-lw-01', { clientId: 'wl-lw-01-rogue' }))
    const closed = new Promise<void>((resolve) => rogue.once('close', () => resolve()))
    rogue.publish('terminals/T511823100201-01/cmd', JSON.stringify({ action: 'play' }), { qos: 1 })
    await closed
    expect(
      await metric(gw.urls.http, 'shaobing_mqtt_denied_total', 'action="publish",reason="gateway_only"'),
    ).toBe(1)
    rogue.end(true)
  })

  test('the API names the field of a bad query', async () => {
    const res = await fetch(`${gw.urls.http}/api/warnings?state=burning`)
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({
      error: 'bad_request',
      issues: [{ field: 'state', message: expect.stringContaining('active') }],
    })
    expect((await fetch(`${gw.urls.http}/api/warnings/nope`)).status).toBe(404)
  })
})

describe('broker transports', () => {
  test('MQTT over WebSocket carries readings like TCP', async () => {
    const ws = await connect(gw.urls.ws!, device('aws-qx-01', { clientId: 'aws-qx-01-ws' }))
    const stored = await metric(gw.urls.http, 'shaobing_readings_received_total')
    await ws.publishAsync(
      sensorDataTopic('weather', 'aws-qx-01'),
      JSON.stringify({ ts: T0 + 5 * 60 * M, values: { wind_ms: 3 } }),
      { qos: 1 },
    )
    expect(await metric(gw.urls.http, 'shaobing_readings_received_total')).toBe(stored + 1)
    await ws.endAsync()
  })

  test('health and info expose the chosen ports', async () => {
    const info = await getJson<{ ports: { mqtt: number; ws: number; http: number } }>(
      gw.urls.http,
      '/api/info',
    )
    expect(info.ports).toEqual(gw.ports)
    // Its listeners and store sound; an event-loop stall on a loaded machine is reported, not failed.
    const health = await getJson<{ status: string; degradedBy: string[] }>(gw.urls.http, '/health')
    expect(['ok', 'degraded']).toContain(health.status)
    expect(health.degradedBy.filter((d) => d !== 'event_loop_stall')).toEqual([])
  })
})
