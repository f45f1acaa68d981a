/**
 * GET /api/events: the event stream as Server-Sent Events, read by a standard EventSource client
 * (the `eventsource` package, WHATWG semantics): live events, filters, resuming from Last-Event-ID
 * (by header, by query, and by the client's own reconnect across a gateway restart).
 */
import { EventSource } from 'eventsource'
import { afterEach, describe, expect, test } from 'vitest'
import { startGateway } from '../../gateway/src/app.js'
import { api, captureLogger, connect, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'
import { device } from '../helpers/devices.js'

const LIUWAN = '511823100201'
const QINGXI = '511823101000'

type Received = {
  id: string
  type: string
  data: { type: string; region: string | null; data: Record<string, unknown> }
}

/** Opens a stream and keeps what it receives, in order. */
function stream(url: string, init?: { lastEventId?: string }) {
  const received: Received[] = []
  const es = new EventSource(url, {
    fetch: (input, opts) =>
      fetch(input, {
        ...opts,
        headers: { ...opts?.headers, ...(init?.lastEventId ? { 'Last-Event-ID': init.lastEventId } : {}) },
      }),
  })
  const types = [
    'warning.released',
    'approval.needed',
    'warning.acknowledged',
    'fault.raised',
    'reading.refused',
    'gap',
  ]
  for (const t of types)
    es.addEventListener(t, (m) =>
      received.push({ id: m.lastEventId, type: t, data: JSON.parse(m.data as string) as Received['data'] }),
    )
  const opened = new Promise<void>((resolve) => es.addEventListener('open', () => resolve(), { once: true }))
  return { es, received, opened }
}

const issue = (base: string, region: string, hazard = 'flood') =>
  api(base, 'POST', '/api/warnings', {
    hazard,
    level: 'orange',
    regions: [region],
    text: `${hazard} test`,
  }).then((r) => r.json() as Promise<{ warningId: string }>)

const open: { close(): void }[] = []
const gateways: { stop(): Promise<void> }[] = []
afterEach(async () => {
  for (const s of open.splice(0)) s.close()
  for (const g of gateways.splice(0)) await g.stop()
})

describe('GET /api/events', () => {
  test('live events, then a client that resumes gets exactly what it missed, filtered as asked', async () => {
    const { config } = makeConfigDir()
    const { gw } = await startTestGateway(config)
    gateways.push(gw)
    const base = gw.urls.http

    const all = stream(`${base}/api/events`)
    open.push(all.es)
    await all.opened
    const first = await issue(base, LIUWAN)
    await until(
      () => all.received,
      (r) => r.some((e) => e.type === 'warning.released'),
      'live warning.released',
    )
    const released = all.received.find((e) => e.type === 'warning.released')!
    expect(released.data.data).toMatchObject({
      warningId: first.warningId,
      version: 1,
      action: 'issue',
      level: 'orange',
    })
    expect(released.data.region).toBe(LIUWAN)
    all.es.close()

    // Two more while nobody listens; one is in another township.
    const second = await issue(base, LIUWAN)
    const third = await issue(base, QINGXI)
    await api(base, 'POST', `/api/warnings/${second.warningId}/ack`, {})

    // Resume by header: everything after the last id seen, oldest first.
    const resumed = stream(`${base}/api/events?types=warning.released,warning.acknowledged`, {
      lastEventId: released.id,
    })
    open.push(resumed.es)
    await until(
      () => resumed.received,
      (r) => r.length >= 3,
      'replayed events',
    )
    expect(resumed.received.map((e) => `${e.type} ${String(e.data.data.warningId)}`)).toEqual([
      `warning.released ${second.warningId}`,
      `warning.released ${third.warningId}`,
      `warning.acknowledged ${second.warningId}`,
    ])
    const ids = resumed.received.map((e) => Number(e.id))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(ids[0]).toBeGreaterThan(Number(released.id))

    // Resume by query, only the region of 清溪镇: the first event there is the third warning.
    const regional = stream(`${base}/api/events?region=${QINGXI}&lastEventId=${released.id}`)
    open.push(regional.es)
    await until(
      () => regional.received,
      (r) => r.length >= 1,
      'regional replay',
    )
    // A later marker: one more warning in 清溪镇 arrives live; nothing of 柳湾 came in between.
    const fourth = await issue(base, QINGXI)
    await until(
      () => regional.received,
      (r) => r.length >= 2,
      'regional live event',
    )
    expect(regional.received.map((e) => String(e.data.data.warningId))).toEqual([
      third.warningId,
      fourth.warningId,
    ])
  })

  test("a refused reading and an equipment fault are on the stream, with the station's region", async () => {
    const { config } = makeConfigDir()
    const { gw } = await startTestGateway(config)
    gateways.push(gw)
    const s = stream(`${gw.urls.http}/api/events?types=reading.refused,fault.raised`)
    open.push(s.es)
    await s.opened
    const gauge = await connect(gw.urls.mqtt, device('wl-lw-01'))
    await gauge.publishAsync('sensors/water_level/wl-lw-01/data', '{not json', { qos: 1 })
    // A reading far outside the plausible range of a river stage: an out_of_range fault.
    await gauge.publishAsync(
      'sensors/water_level/wl-lw-01/data',
      JSON.stringify({ ts: Date.now(), values: { stage_m: 9999 } }),
      { qos: 1 },
    )
    await gauge.endAsync()
    await until(
      () => s.received,
      (r) => r.length >= 2,
      'refusal and fault events',
    )
    const [refused, fault] = s.received
    expect(refused).toMatchObject({
      type: 'reading.refused',
      data: { data: { reason: 'bad_json', source: 'wl-lw-01' } },
    })
    expect(fault).toMatchObject({
      type: 'fault.raised',
      data: { region: LIUWAN, data: { sensorId: 'wl-lw-01', stationId: 'WL-LW-01', kind: 'out_of_range' } },
    })
  })

  test('a bad filter is refused with its reason', async () => {
    const { config } = makeConfigDir()
    const { gw } = await startTestGateway(config)
    gateways.push(gw)
    const res = await fetch(`${gw.urls.http}/api/events?types=warning.released,nonsense`)
    expect(res.status).toBe(400)
    const body = (await res.json()) as { error: string; issues: { field: string }[] }
    expect(body.error).toBe('bad_request')
    expect(body.issues[0]!.field).toMatch(/^types/)
  })

  test('the client reconnects by itself after a gateway restart and misses nothing', async () => {
    const { config } = makeConfigDir()
    const { gw } = await startTestGateway(config)
    const base = gw.urls.http
    const port = gw.ports.http
    const s = stream(`${base}/api/events?types=warning.released`)
    open.push(s.es)
    await s.opened
    const before = await issue(base, LIUWAN)
    await until(
      () => s.received,
      (r) => r.length >= 1,
      'first event',
    )
    await gw.stop()

    // The same data directory on the same port: the stream's durable window survived.
    const { logger } = captureLogger()
    const again = await startGateway({ configPath: config, logger, overrides: { httpPort: port } })
    gateways.push(again)
    const after = await issue(again.urls.http, QINGXI)
    await until(
      () => s.received,
      (r) => r.length >= 2,
      'event after the restart',
      15_000,
    )
    expect(s.received.map((e) => String(e.data.data.warningId))).toEqual([before.warningId, after.warningId])
  })
})
