/**
 * Issue 17, proven under faults: the event loop stalls, and the broker's listener dies. The stall is
 * real (the test blocks the event loop the in-process gateway shares with it, for 3 s); the listener
 * death is real (the gateway's MQTT server stops listening, and the test takes its port so it cannot
 * come straight back). Both must be noticed: logged, on /metrics, and /health `degraded` with the
 * reason; the listener is listened again once its port is free, with clients already connected
 * never cut off.
 */
import { createServer, Server } from 'node:net'
import { performance } from 'node:perf_hooks'
import { afterEach, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import type { z } from 'zod'
import type { Health as HealthSchema } from '../../gateway/src/contracts/api.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { device } from '../helpers/devices.js'
import { connect, getJson, makeConfigDir, metric, startTestGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

let gw: RunningGateway | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

type Health = z.infer<typeof HealthSchema>
const health = () => getJson<Health>(gw!.urls.http, '/health')

test('a stall of the event loop of seconds is recorded: log, metric, /health degraded', async () => {
  const started = await startTestGateway(makeConfigDir().config)
  gw = started.gw
  expect(await health()).toMatchObject({ status: 'ok', degradedBy: [], eventLoop: { stalls: 0 } })

  // Nothing runs in this process for 3 s: not the broker, not the API, not the watchdog's timer.
  const end = performance.now() + 3000
  while (performance.now() < end) {
    /* blocking on purpose */
  }

  const h = await until(health, (x) => (x.eventLoop?.stalls ?? 0) >= 1, 'the stall on /health')
  expect(h.status).toBe('degraded')
  expect(h.degradedBy).toContain('event_loop_stall')
  expect(h.eventLoop!.stalledRecently).toBe(true)
  expect(h.eventLoop!.lastStallMs).toBeGreaterThanOrEqual(2000)
  expect(h.eventLoop!.maxDelayMs).toBeGreaterThanOrEqual(h.eventLoop!.lastStallMs!)
  expect(await metric(gw.urls.http, 'shaobing_event_loop_stalls_total')).toBeGreaterThanOrEqual(1)
  expect(await metric(gw.urls.http, 'shaobing_event_loop_last_stall_seconds')).toBeGreaterThanOrEqual(2)
  expect(started.lines.find((l) => l.msg === 'event loop stalled')).toMatchObject({
    component: 'watchdog',
    stallMs: expect.any(Number) as number,
  })
})

/** The gateway's plain MQTT server, found among this process's open handles by its port. */
function mqttServer(port: number): Server {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()
  const found = handles.find(
    (h): h is Server =>
      h instanceof Server && (h.address() as { port?: number } | null)?.port === port && h.listening,
  )
  if (!found) throw new Error(`no server listening on ${port}`)
  return found
}

/** Listens on `port` from the test, or undefined when it is taken. */
const takePort = (port: number) =>
  new Promise<Server | undefined>((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(undefined))
    s.listen(port, '127.0.0.1', () => resolve(s))
  })

test('a dead MQTT listener is noticed, degrades /health, and listens again once its port is free', async () => {
  const started = await startTestGateway(makeConfigDir().config)
  gw = started.gw
  const port = gw.ports.mqtt!
  const gauge = await connect(gw.urls.mqtt, device('rg-lw-01'))
  const T = Date.UTC(2026, 6, 15, 8)
  expect(await metric(gw.urls.http, 'shaobing_mqtt_listener_up', 'listener="mqtt"')).toBe(1)

  // The listener dies; the test takes its port before the gateway can listen again (should the
  // gateway win that race, its server is killed again).
  let blocker: Server | undefined
  while (!blocker) {
    await until(
      () => {
        try {
          return mqttServer(port)
        } catch {
          return undefined
        }
      },
      (s) => s !== undefined,
      'the gateway listening',
      20_000,
    ).then((s) => s!.close())
    blocker = await takePort(port)
  }
  try {
    const down = await until(
      health,
      (h) => h.degradedBy.includes('listener_down'),
      'the dead listener on /health',
    )
    expect(down.status).toBe('degraded')
    expect(down.listeners).toContainEqual({ name: 'mqtt', port, up: false, restarts: 0 })
    expect(await metric(gw.urls.http, 'shaobing_mqtt_listener_up', 'listener="mqtt"')).toBe(0)
    expect(started.lines.find((l) => l.msg === 'mqtt listener died')).toMatchObject({
      listener: 'mqtt',
      port,
    })
    // A device connected before keeps its connection: its reading is acknowledged.
    await gauge.publishAsync(
      sensorDataTopic('rain', 'rg-lw-01'),
      JSON.stringify({ ts: T, values: { rain_mm: 0 } }),
      {
        qos: 1,
      },
    )
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()))
  }

  const up = await until(
    health,
    (h) => h.listeners?.find((l) => l.name === 'mqtt')?.up === true,
    'the listener back',
    20_000,
  )
  expect(up.listeners).toContainEqual({ name: 'mqtt', port, up: true, restarts: 1 })
  expect(up.status).toBe('ok')
  expect(await metric(gw.urls.http, 'shaobing_mqtt_listener_restarts_total', 'listener="mqtt"')).toBe(1)
  expect(await metric(gw.urls.http, 'shaobing_mqtt_listener_up', 'listener="mqtt"')).toBe(1)
  expect(started.lines.find((l) => l.msg === 'mqtt listener listening again')).toMatchObject({ restarts: 1 })
  const again = await connect(gw.urls.mqtt, device('rg-lw-01', { clientId: 'rg-lw-01' }))
  await again.publishAsync(
    sensorDataTopic('rain', 'rg-lw-01'),
    JSON.stringify({ ts: T + 60_000, values: { rain_mm: 0 } }),
    {
      qos: 1,
    },
  )
  await again.endAsync()
  await gauge.endAsync(true)
})
