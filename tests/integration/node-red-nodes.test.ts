/**
 * The Node-RED nodes (`dashboards/node-red/`) in the real Node-RED runtime, through
 * node-red-node-test-helper, against a real gateway in this process (MQTT and HTTP on loopback,
 * port 0): every node, the errors a Catch node gets, the status each shows, and a warning released
 * while the warning-in node was away (Node-RED stopped, or its link cut) arriving once it is back,
 * once.
 */
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createRequire } from 'node:module'
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { device, testPassword } from '../helpers/devices.js'
import {
  api,
  connect,
  issueMarker,
  makeConfigDir,
  MARKER,
  startTestGateway,
  TOKENS,
} from '../helpers/gateway.js'
import { freePort } from '../helpers/ports.js'
import { until } from '../helpers/wait.js'

const require = createRequire(import.meta.url)
type Msg = {
  topic?: string
  payload: Record<string, unknown>
  error?: Record<string, unknown>
  statusCode?: number | null
}
type RedNode = {
  on(event: string, fn: (x: Msg & { args: unknown[] }) => void): void
  receive(msg: unknown): void
}
const helper = require('node-red-node-test-helper') as {
  init(runtime: string, settings?: Record<string, unknown>): void
  startServer(): Promise<void>
  stopServer(): Promise<void>
  load(nodes: unknown[], flow: unknown[], credentials?: Record<string, unknown>): Promise<void>
  unload(): Promise<void>
  getNode(id: string): RedNode
}
const NODES = join(import.meta.dirname, '../../dashboards/node-red/nodes')
const nodes = ['gateway', 'reading-out', 'warning-in', 'warning-action', 'fault-in', 'delivery-in'].map(
  (n) => require(join(NODES, `${n}.cjs`)) as unknown,
)
const catchNode = require('@node-red/nodes/core/common/25-catch.js') as unknown

const LIUWAN = '511823100201'
const SHIMEN = '511823100202'
const COUNTY = '511823000000'
const userDir = mkdtempSync(join(tmpdir(), 'shaobing-node-red-'))

let gw: RunningGateway
let proxy: Proxy
beforeAll(async () => {
  // Red flood warnings wait for an approver: the clerk (operator only) issues, the duty officer approves.
  const { config } = makeConfigDir(
    undefined,
    'warnings: { approval: [{ hazards: [flood], levels: [red], timeout: 10m }] }',
  )
  gw = (await startTestGateway(config)).gw
  proxy = await startProxy(new URL(gw.urls.http).port)
  helper.init(require.resolve('node-red'), { userDir })
  await helper.startServer()
})
afterEach(async () => {
  await helper.unload()
  // Each test starts with nothing on the air (a lower warning of a hazard still active is inhibited).
  const { warnings: active } = (await (
    await api(gw.urls.http, 'GET', '/api/warnings?state=active')
  ).json()) as {
    warnings: { id: string }[]
  }
  for (const w of active) await api(gw.urls.http, 'POST', `/api/warnings/${w.id}/lift`, {})
})
afterAll(async () => {
  await helper.stopServer()
  await proxy.close()
  await gw.stop()
})

/** The flow's tab: nodes without one would be taken for config nodes. */
const TAB = { id: 'flow', type: 'tab', label: 'test' }
/** A Catch node for the whole tab, wired to a helper node `caught`. */
const CATCH = [
  { id: 'catch', z: 'flow', x: 0, y: 0, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', z: 'flow', x: 0, y: 0, type: 'helper' },
]
/** A gateway config node; its credentials go in the flow's credentials. */
const gatewayNode = (id = 'gw', url = () => gw.urls.http) => ({
  id,
  type: 'shaobing-gateway',
  url: url(),
  mqttUrl: gw.urls.mqtt,
})
const creds = (token: string, username?: string) => ({
  token,
  ...(username ? { username, password: testPassword(username) } : {}),
})

/** Messages out of `id`, kept in order, through a helper node wired to it. */
function outputs(id: string): Msg[] {
  const got: Msg[] = []
  helper.getNode(id).on('input', (m) => got.push(m))
  return got
}
/** Statuses `id` showed, in order. */
function statuses(id: string): string[] {
  const got: string[] = []
  helper.getNode(id).on('call:status', (c) => got.push(String((c.args[0] as { text?: string }).text)))
  return got
}

const issue = async (region: string, hazard: string, level: string, token: string = TOKENS.duty) => {
  const res = await api(
    gw.urls.http,
    'POST',
    '/api/warnings',
    { hazard, level, regions: [region], text: `${hazard} ${level}` },
    token,
  )
  expect(res.status).toBe(200)
  return (await res.json()) as { warningId: string; release: string }
}

describe('warning in', () => {
  test('versions as released, filtered by hazard, level and region, with text, targets and coverage so far', async () => {
    await helper.load(
      nodes,
      [
        TAB,
        gatewayNode(),
        {
          id: 'in',
          z: 'flow',
          x: 0,
          y: 0,
          type: 'shaobing-warning-in',
          gateway: 'gw',
          hazards: 'flood',
          regions: COUNTY,
          minLevel: 'yellow',
          coverage: true,
          wires: [['out']],
        },
        { id: 'out', z: 'flow', x: 0, y: 0, type: 'helper' },
      ],
      { gw: creds(TOKENS.duty) },
    )
    const got = outputs('out')
    const shown = statuses('in')
    await until(
      () => shown,
      (s) => s.includes('connected'),
      'warning-in connected',
    )
    await issue(LIUWAN, 'rainstorm', 'orange') // another hazard
    await issue(SHIMEN, 'flood', 'blue') // below the level
    const w = await issue(LIUWAN, 'flood', 'orange')
    await until(
      () => got,
      (g) => g.length >= 1,
      'the orange flood warning',
    )
    const lifted = await api(gw.urls.http, 'POST', `/api/warnings/${w.warningId}/lift`, {})
    expect(lifted.status).toBe(200)
    await until(
      () => got,
      (g) => g.length >= 2,
      'its lift',
    )
    expect(got.map((m) => [m.payload.warningId, m.payload.action, m.payload.level])).toEqual([
      [w.warningId, 'issue', 'orange'],
      [w.warningId, 'lift', null],
    ])
    const first = got[0]!
    expect(first.topic).toBe(`warnings/${LIUWAN}/flood`)
    expect(first.payload).toMatchObject({
      version: 1,
      hazard: 'flood',
      region: LIUWAN,
      text: 'flood orange',
      status: 'Actual',
    })
    expect(first.payload.targets).toEqual([LIUWAN])
    expect(first.payload.coverage).toMatchObject({ version: 1, targeted: 4 })
  })

  test('a gateway out of reach: the status says so at every retry, a Catch node gets the error once', async () => {
    const closed = await freePort() // nothing listens there
    await helper.load(
      [...nodes, catchNode],
      [
        TAB,
        gatewayNode('gw', () => `http://127.0.0.1:${closed}`),
        { id: 'in', z: 'flow', x: 0, y: 0, type: 'shaobing-warning-in', gateway: 'gw', wires: [[]] },
        ...CATCH,
      ],
      { gw: creds(TOKENS.duty) },
    )
    const caught = outputs('caught')
    const shown = statuses('in')
    // Three failed attempts, each shown; one error for the Catch node.
    await until(
      () => shown.filter((t) => /ECONNREFUSED|not reached|fetch failed/.test(t)).length,
      (n) => n >= 3,
      'three failed attempts in the status',
    )
    expect(caught).toHaveLength(1)
    expect(caught[0]!.error).toMatchObject({ source: { id: 'in' } })
    expect(caught[0]!.topic).toBe('shaobing/link')
    expect(caught[0]!.payload).toMatchObject({ state: 'disconnected' })
  })
})

describe('a warning released while the warning-in node was away arrives once it is back, once', () => {
  const flow = (url: () => string, id: string) => [
    TAB,
    gatewayNode('gw', url),
    {
      id,
      z: 'flow',
      x: 0,
      y: 0,
      type: 'shaobing-warning-in',
      gateway: 'gw',
      hazards: `flood, ${MARKER.hazard}`,
      coverage: false,
      wires: [['out']],
    },
    { id: 'out', z: 'flow', x: 0, y: 0, type: 'helper' },
  ]

  test('Node-RED stopped (the flow unloaded) and started again', async () => {
    await helper.load(
      nodes,
      flow(() => gw.urls.http, 'restarted-in'),
      { gw: creds(TOKENS.duty) },
    )
    let got = outputs('out')
    const shown = statuses('restarted-in')
    await until(
      () => shown,
      (s) => s.includes('connected'),
      'connected',
    )
    const first = await issue(LIUWAN, 'flood', 'orange')
    await until(
      () => got,
      (g) => g.some((m) => m.payload.warningId === first.warningId),
      'the first warning',
    )
    await helper.unload()
    // Released while no Node-RED runs.
    const missed = await issue(SHIMEN, 'flood', 'yellow')
    await helper.load(
      nodes,
      flow(() => gw.urls.http, 'restarted-in'),
      { gw: creds(TOKENS.duty) },
    )
    got = outputs('out')
    const marker = { warningId: await issueMarker(gw.urls.http, SHIMEN) }
    await until(
      () => got,
      (g) => g.some((m) => m.payload.warningId === marker.warningId),
      'the marker after it',
    )
    expect(got.map((m) => m.payload.warningId)).toEqual([missed.warningId, marker.warningId])
  })

  test('its link cut (a proxy between them closed) and restored', async () => {
    await helper.load(
      nodes,
      flow(() => proxy.url, 'cut-in'),
      { gw: creds(TOKENS.duty) },
    )
    const got = outputs('out')
    const shown = statuses('cut-in')
    await until(
      () => shown,
      (s) => s.includes('connected'),
      'connected through the proxy',
    )
    const before = await issue(LIUWAN, 'flood', 'orange')
    await until(
      () => got,
      (g) => g.some((m) => m.payload.warningId === before.warningId),
      'a warning before the cut',
    )
    await proxy.cut()
    await until(
      () => shown,
      (s) => s.at(-1) !== 'connected',
      'the node noticing the cut',
    )
    const missed = await issue(SHIMEN, 'flood', 'yellow')
    proxy.restore()
    await until(
      () => shown,
      (s) => s.at(-1) === 'connected',
      'connected again',
    )
    const marker = { warningId: await issueMarker(gw.urls.http, SHIMEN) }
    await until(
      () => got,
      (g) => g.some((m) => m.payload.warningId === marker.warningId),
      'the marker',
    )
    expect(got.map((m) => m.payload.warningId)).toEqual([
      before.warningId,
      missed.warningId,
      marker.warningId,
    ])
  })
})

describe('warning action', () => {
  test('issue by hand waits for approval, approve releases it, acknowledge and lift; each answer is msg.payload', async () => {
    await helper.load(
      nodes,
      [
        TAB,
        gatewayNode('clerk'),
        gatewayNode('duty'),
        {
          id: 'issue',
          z: 'flow',
          x: 0,
          y: 0,
          type: 'shaobing-warning-action',
          gateway: 'clerk',
          action: 'issue',
          wires: [['out']],
        },
        {
          id: 'approve',
          z: 'flow',
          x: 0,
          y: 0,
          type: 'shaobing-warning-action',
          gateway: 'duty',
          action: 'approve',
          wires: [['out']],
        },
        {
          id: 'ack',
          z: 'flow',
          x: 0,
          y: 0,
          type: 'shaobing-warning-action',
          gateway: 'duty',
          action: 'ack',
          wires: [['out']],
        },
        {
          id: 'lift',
          z: 'flow',
          x: 0,
          y: 0,
          type: 'shaobing-warning-action',
          gateway: 'clerk',
          action: 'lift',
          wires: [['out']],
        },
        { id: 'out', z: 'flow', x: 0, y: 0, type: 'helper' },
      ],
      { clerk: creds(TOKENS.clerk), duty: creds(TOKENS.duty) },
    )
    const got = outputs('out')
    helper
      .getNode('issue')
      .receive({ payload: { hazard: 'flood', level: 'red', regions: [LIUWAN], text: '洪水红色预警' } })
    await until(
      () => got,
      (g) => g.length >= 1,
      'the issue answer',
    )
    const issued = got[0]!.payload as { warningId: string; version: number; release: string }
    expect(issued.release).toBe('pending')
    helper.getNode('approve').receive({ payload: { warningId: issued.warningId, version: 1 } })
    await until(
      () => got,
      (g) => g.length >= 2,
      'the approval',
    )
    const w1 = (await (await api(gw.urls.http, 'GET', `/api/warnings/${issued.warningId}`)).json()) as {
      versions: { release: string }[]
    }
    expect(w1.versions[0]!.release).toBe('released')
    helper.getNode('ack').receive({ warningId: issued.warningId })
    await until(
      () => got,
      (g) => g.length >= 3,
      'the acknowledgement',
    )
    helper.getNode('lift').receive({ payload: { warningId: issued.warningId } })
    await until(
      () => got,
      (g) => g.length >= 4,
      'the lift',
    )
    const w = (await (await api(gw.urls.http, 'GET', `/api/warnings/${issued.warningId}`)).json()) as {
      state: string
      acknowledged?: unknown
    }
    expect(w.state).toBe('lifted')
  })

  test('a refusal is an error for a Catch node with status and reason: approving without the approver role', async () => {
    const pending = await issue(SHIMEN, 'flood', 'red', TOKENS.clerk)
    expect(pending.release).toBe('pending')
    await helper.load(
      [...nodes, catchNode],
      [
        TAB,
        gatewayNode('clerk'),
        {
          id: 'approve',
          z: 'flow',
          x: 0,
          y: 0,
          type: 'shaobing-warning-action',
          gateway: 'clerk',
          action: 'approve',
          wires: [['out']],
        },
        { id: 'out', z: 'flow', x: 0, y: 0, type: 'helper' },
        ...CATCH,
      ],
      { clerk: creds(TOKENS.clerk) },
    )
    const caught = outputs('caught')
    const ok = outputs('out')
    helper.getNode('approve').receive({ payload: { warningId: pending.warningId, version: 1 } })
    await until(
      () => caught,
      (c) => c.length >= 1,
      'the refusal',
    )
    expect(caught[0]!.statusCode).toBe(403)
    expect(String(caught[0]!.error!.message)).toMatch(/403/)
    expect(ok).toHaveLength(0)
    helper.getNode('approve').receive({ payload: { version: 1 } })
    await until(
      () => caught,
      (c) => c.length >= 2,
      'no warning named',
    )
    expect(String(caught[1]!.error!.message)).toMatch(/needs a warning/)
  })
})

describe('reading out', () => {
  test('a reading goes in as its sensor, stored and acknowledged; one that is no reading is an error, nothing sent', async () => {
    await helper.load(
      [...nodes, catchNode],
      [
        TAB,
        gatewayNode(),
        {
          id: 'send',
          z: 'flow',
          x: 0,
          y: 0,
          type: 'shaobing-reading-out',
          gateway: 'gw',
          sensorId: 'wl-lw-01',
          kind: 'water_level',
          quantity: 'stage_m',
          wires: [['out']],
        },
        { id: 'out', z: 'flow', x: 0, y: 0, type: 'helper' },
        ...CATCH,
      ],
      { gw: creds(TOKENS.duty, 'wl-lw-01') },
    )
    const sent = outputs('out')
    const caught = outputs('caught')
    const ts = Date.UTC(2026, 6, 15, 8)
    helper.getNode('send').receive({ payload: { ts, values: { stage_m: 31.25 } } })
    helper.getNode('send').receive({ payload: 31.5, ts: undefined })
    await until(
      () => sent,
      (s) => s.length >= 2,
      'two readings acknowledged',
    )
    expect(sent[0]!.topic).toBe('sensors/water_level/wl-lw-01/data')
    const stored = (await (
      await api(gw.urls.http, 'GET', `/api/stations/WL-LW-01/readings?from=${ts}&to=${ts + 1}`)
    ).json()) as { readings: { values: Record<string, number> }[] }
    expect(stored.readings.map((r) => r.values)).toEqual([{ stage_m: 31.25 }])
    helper.getNode('send').receive({ payload: { values: { stage_m: 'high' } } })
    await until(
      () => caught,
      (c) => c.length >= 1,
      'the refusal',
    )
    expect(String(caught[0]!.error!.message)).toMatch(/stage_m is not a finite number/)
    expect(sent).toHaveLength(2)
  })
})

describe('fault in and receipt in', () => {
  test('a battery fault raised and cleared; a loudspeaker played receipt with the coverage counting it', async () => {
    await helper.load(
      nodes,
      [
        TAB,
        gatewayNode(),
        {
          id: 'faults',
          z: 'flow',
          x: 0,
          y: 0,
          type: 'shaobing-fault-in',
          gateway: 'gw',
          stations: 'RG-LW-01',
          wires: [['fout']],
        },
        { id: 'fout', z: 'flow', x: 0, y: 0, type: 'helper' },
        {
          id: 'receipts',
          z: 'flow',
          x: 0,
          y: 0,
          type: 'shaobing-delivery-in',
          gateway: 'gw',
          channels: 'loudspeaker',
          states: 'played',
          coverage: true,
          wires: [['rout']],
        },
        { id: 'rout', z: 'flow', x: 0, y: 0, type: 'helper' },
      ],
      { gw: creds(TOKENS.duty) },
    )
    const faults = outputs('fout')
    const receipts = outputs('rout')
    // A rain gauge reports its battery low, then recharged.
    const gauge = await connect(gw.urls.mqtt, device('rg-lw-01'))
    await until(
      async () => {
        await gauge.publishAsync(
          'sensors/rain/rg-lw-01/status',
          JSON.stringify({ state: 'online', battery: 5 }),
          { qos: 1, retain: true },
        )
        return faults.length
      },
      (n) => n >= 1,
      'battery_low raised',
    )
    await gauge.publishAsync(
      'sensors/rain/rg-lw-01/status',
      JSON.stringify({ state: 'online', battery: 90 }),
      { qos: 1, retain: true },
    )
    await until(
      () => faults,
      (f) => f.some((m) => m.payload.state === 'cleared'),
      'battery_low cleared',
    )
    expect(faults[0]!.payload).toMatchObject({
      state: 'raised',
      stationId: 'RG-LW-01',
      sensorId: 'rg-lw-01',
      fault: 'battery_low',
    })
    await gauge.endAsync()
    // A loudspeaker that plays what it is sent.
    const t = `T${LIUWAN}-03`
    const speaker = await connect(gw.urls.mqtt, device(t))
    speaker.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as { warningId: string; version: number }
      void speaker.publishAsync(
        `terminals/${t}/receipt`,
        JSON.stringify({ warningId: cmd.warningId, version: cmd.version, state: 'played', ts: Date.now() }),
        { qos: 1 },
      )
    })
    await speaker.subscribeAsync(`terminals/${t}/cmd`, { qos: 1 })
    await speaker.publishAsync(`terminals/${t}/status`, JSON.stringify({ state: 'online' }), {
      qos: 1,
      retain: true,
    })
    const w = await issue(LIUWAN, 'rainstorm', 'yellow')
    await until(
      () => receipts,
      (r) => r.some((m) => m.payload.warningId === w.warningId),
      'the played receipt',
    )
    const r = receipts.find((m) => m.payload.warningId === w.warningId)!
    expect(r.topic).toBe(`deliveries/${w.warningId}/loudspeaker/${t}`)
    expect(r.payload).toMatchObject({ version: 1, channel: 'loudspeaker', recipient: t, state: 'played' })
    expect((r.payload.coverage as { played: number }).played).toBeGreaterThanOrEqual(1)
    await speaker.endAsync()
  })
})

/** A TCP proxy to the gateway's HTTP port that the test can cut and restore. */
interface Proxy {
  readonly url: string
  cut(): Promise<void>
  restore(): void
  close(): Promise<void>
}
async function startProxy(targetPort: string): Promise<Proxy> {
  const sockets = new Set<Socket>()
  let up = true
  const server: Server = createServer((client) => {
    if (!up) return void client.destroy()
    const upstream = tcpConnect(Number(targetPort), '127.0.0.1')
    sockets.add(client).add(upstream)
    client.pipe(upstream).pipe(client)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    cut: async () => {
      up = false
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    restore: () => {
      up = true
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

describe('the example flow (dashboards/node-red/examples/flood-sluice.json)', () => {
  test('a red flood warning for the village closes the sluice relay and writes the LED sign; a lower one does nothing; the lift goes to the sign', async () => {
    const core = [
      '@node-red/nodes/core/function/10-switch.js',
      '@node-red/nodes/core/function/10-function.js',
      '@node-red/nodes/core/network/21-httprequest.js',
      '@node-red/nodes/core/common/21-debug.js',
    ].map((m) => require(m) as unknown)
    // The simulated sluice relay and LED sign: HTTP endpoints that keep what they are sent.
    const relay: Record<string, unknown>[] = []
    const sign: Record<string, unknown>[] = []
    const devices = createHttpServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        ;(req.url === '/relay' ? relay : sign).push(JSON.parse(body) as Record<string, unknown>)
        res.end('ok')
      })
    })
    devices.listen(0, '127.0.0.1')
    await once(devices, 'listening')
    const at = `http://127.0.0.1:${(devices.address() as AddressInfo).port}`
    Object.assign(process.env, {
      SHAOBING_URL: gw.urls.http,
      SHAOBING_VILLAGE: LIUWAN,
      SHAOBING_SLUICE_URL: `${at}/relay`,
      SHAOBING_SIGN_URL: `${at}/sign`,
    })
    try {
      const flow = JSON.parse(
        readFileSync(
          join(import.meta.dirname, '../../dashboards/node-red/examples/flood-sluice.json'),
          'utf8',
        ),
      ) as unknown[]
      await helper.load([...nodes, catchNode, ...core], flow, {})
      const shown = statuses('f.in')
      await until(
        () => shown,
        (s) => s.includes('connected'),
        'the example connected',
      )
      await issue(LIUWAN, 'flood', 'orange') // below red: nothing
      const elsewhere = await issue(SHIMEN, 'flash_flood', 'red') // another village: nothing
      expect(elsewhere.release).toBe('released')
      const red = await issue(LIUWAN, 'flash_flood', 'red')
      expect(red.release).toBe('released')
      await until(
        () => [relay.length, sign.length],
        ([r, s]) => r! >= 1 && s! >= 1,
        'the relay closed and the sign written',
      )
      await api(gw.urls.http, 'POST', `/api/warnings/${red.warningId}/lift`, {})
      await until(
        () => sign,
        (s) => s.length >= 2,
        'the lift on the sign',
      )
      // The lift reached the sign after the issue: nothing the orange or the other village's
      // warning could have sent is still on its way.
      expect(relay).toEqual([
        { relay: 'sluice-1', action: 'close', reason: `flash_flood red ${red.warningId} v1` },
      ])
      expect(sign).toEqual([
        { line1: '红色预警', line2: 'flash_flood red', blink: true },
        { line1: '预警解除', line2: expect.any(String) as string, blink: false },
      ])
    } finally {
      devices.close()
    }
  })
})
