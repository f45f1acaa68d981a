/**
 * What the console's map, region tree and station detail read: the regions with their parents and
 * outlines, the loudspeakers with their presence and last receipt (from a real terminal over
 * MQTT), and a station's thresholds resolved with its constants.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileErrors, validate } from '@readme/openapi-parser'
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import {
  terminalCmdTopic,
  terminalReceiptTopic,
  terminalStatusTopic,
} from '../../gateway/src/contracts/topics.js'
import { RegistryFile } from '../../gateway/src/registry/schema.js'
import { parseYaml } from '../../rules/src/index.js'
import { device } from '../helpers/devices.js'
import { api, connect, DEMO_REGISTRY, getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { clock, until } from '../helpers/wait.js'

const LIUWAN = '511823100201'
let gw: RunningGateway | undefined
const clients: MqttClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync().catch(() => undefined)))
  await gw?.stop()
  gw = undefined
})

const demo = parseYaml(readFileSync(DEMO_REGISTRY, 'utf8'), DEMO_REGISTRY, RegistryFile)
if (!demo.ok) throw new Error(JSON.stringify(demo.error))

interface RegionView {
  code: string
  name: string
  names: Record<string, string>
  level: string
  parent: string | null
  boundary: { type: string; coordinates: unknown } | null
}

describe('GET /api/regions', () => {
  test('every region of the demo in registry order, with its nearest declared parent and its outline', async () => {
    ;({ gw } = await startTestGateway(makeConfigDir().config))
    const { regions } = await getJson<{ regions: RegionView[] }>(gw.urls.http, '/api/regions')
    expect(regions.map((r) => [r.code, r.name, r.level, r.parent])).toEqual([
      ['511823000000', '示范县', 'county', null],
      ['511823100000', '河口镇', 'township', '511823000000'],
      ['511823100201', '柳湾村', 'village', '511823100000'],
      ['511823100202', '石门村', 'village', '511823100000'],
      ['511823100203', '桃园村', 'village', '511823100000'],
      ['511823101000', '清溪镇', 'township', '511823000000'],
      ['511823101201', '龙潭村', 'village', '511823101000'],
      ['511823101202', '新民村', 'village', '511823101000'],
      ['511823101203', '白鹤村', 'village', '511823101000'],
      ['511823200000', '化工园区管委会', 'township', '511823000000'],
      ['511823200201', '园区社区', 'village', '511823200000'],
    ])
    // The outlines as the registry gives them ([lon, lat], closed rings).
    for (const r of regions) {
      expect(r.names).toEqual({})
      expect(r.boundary).toEqual(demo.value.regions.find((x) => x.code === r.code)!.boundary)
    }
    expect(regions[0]!.boundary).toMatchObject({ type: 'Polygon' })
    const ring = (regions[0]!.boundary!.coordinates as number[][][])[0]!
    expect(ring[0]).toEqual([102.611, 29.452])
    expect(ring.at(-1)).toEqual(ring[0])
  })

  test('a region without a boundary has null; one whose parent is not declared has none', async () => {
    const { dir } = makeConfigDir()
    const reg = join(dir, 'regions.yaml')
    writeFileSync(
      reg,
      [
        'regions:',
        "  - { code: '511823100000', name: 镇, level: township }",
        "  - { code: '511823100201', name: 村, level: village, names: { ug: كەنت } }",
        '',
      ].join('\n'),
    )
    ;({ gw } = await startTestGateway(makeConfigDir(reg).config))
    const { regions } = await getJson<{ regions: RegionView[] }>(gw.urls.http, '/api/regions')
    expect(regions).toEqual([
      { code: '511823100000', name: '镇', names: {}, level: 'township', parent: null, boundary: null },
      {
        code: '511823100201',
        name: '村',
        names: { ug: 'كەنت' },
        level: 'village',
        parent: '511823100000',
        boundary: null,
      },
    ])
  })

  test('the three routes are in the OpenAPI document, which stays valid', async () => {
    ;({ gw } = await startTestGateway(makeConfigDir().config))
    const doc = (await (await fetch(`${gw.urls.http}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>
    }
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/regions', '/api/terminals', '/api/stations/{id}/thresholds']),
    )
    const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0])
    expect(result.valid ? 'valid' : compileErrors(result)).toBe('valid')
    expect(result.warnings).toEqual([])
  })
})

interface TerminalView {
  id: string
  region: string
  lat?: number
  lon?: number
  presence: { state: 'online' | 'offline'; since: number } | null
  lastReceipt: { warningId: string; version: number; state: string; at: number } | null
}

describe('GET /api/terminals', () => {
  test('a terminal’s presence and last receipt, after it connects, plays a warning and drops off', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(
      makeConfigDir(undefined, 'warnings: { tickEvery: 20ms, playableFor: 1h }').config,
      c.now,
    ))
    const http = gw.urls.http
    const terminals = () =>
      getJson<{ terminals: TerminalView[] }>(http, '/api/terminals').then(
        (r) => new Map(r.terminals.map((t) => [t.id, t])),
      )
    const id = `T${LIUWAN}-01`
    const before = await terminals()
    expect(before.size).toBe(28)
    expect(before.get(id)).toEqual({
      id,
      name: '柳湾村1号大喇叭',
      region: LIUWAN,
      lat: 29.571,
      lon: 102.652,
      language: 'zh-CN',
      drill: false,
      presence: null,
      lastReceipt: null,
    })

    // The terminal comes online (retained status, last will offline) and plays what it is sent.
    const onlineAt = c.now()
    const t = await connect(
      gw.urls.mqtt,
      device(id, {
        will: {
          topic: terminalStatusTopic(id),
          payload: Buffer.from('{"state":"offline"}'),
          qos: 1,
          retain: true,
        },
      }),
    )
    clients.push(t)
    t.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as { warningId: string; version: number }
      void t.publishAsync(
        terminalReceiptTopic(id),
        JSON.stringify({ warningId: cmd.warningId, version: cmd.version, state: 'played', ts: Date.now() }),
        { qos: 1 },
      )
    })
    await t.subscribeAsync(terminalCmdTopic(id), { qos: 1 })
    await t.publishAsync(terminalStatusTopic(id), '{"state":"online"}', { qos: 1, retain: true })
    const online = await until(
      () => terminals().then((m) => m.get(id)!),
      (x) => x.presence !== null,
      'the terminal online',
    )
    expect(online.presence).toEqual({ state: 'online', since: onlineAt })
    expect(online.lastReceipt).toBeNull()

    // A warning for its village: it plays it; the village's other loudspeakers (not connected) were
    // sent it but never answered, so they have no receipt.
    c.advance(60_000)
    const r = await api(http, 'POST', '/api/warnings', {
      hazard: 'flood',
      level: 'orange',
      regions: [LIUWAN],
    })
    expect(r.status).toBe(200)
    const { warningId } = (await r.json()) as { warningId: string }
    const played = await until(
      () => terminals(),
      (m) => m.get(id)!.lastReceipt !== null,
      'the receipt',
    )
    expect(played.get(id)!.lastReceipt).toEqual({
      warningId,
      version: 1,
      state: 'played',
      at: onlineAt + 60_000,
    })
    expect(played.get(id)!.presence).toEqual({ state: 'online', since: onlineAt })
    for (const other of [`T${LIUWAN}-02`, `T${LIUWAN}-03`, `T${LIUWAN}-04`])
      expect(played.get(other)).toMatchObject({ presence: null, lastReceipt: null })

    // It drops off: its last will says offline, and its last receipt stays.
    c.advance(60_000)
    t.stream.destroy()
    const gone = await until(
      () => terminals().then((m) => m.get(id)!),
      (x) => x.presence?.state === 'offline',
      'the terminal offline',
    )
    expect(gone.presence).toEqual({ state: 'offline', since: onlineAt + 120_000 })
    expect(gone.lastReceipt).toEqual({ warningId, version: 1, state: 'played', at: onlineAt + 60_000 })
  })
})

interface ThresholdsView {
  stationId: string
  thresholds: Record<string, unknown>[]
}

describe('GET /api/stations/:id/thresholds', () => {
  test('a river gauge: the flood levels from its warning, guaranteed and historical stages', async () => {
    ;({ gw } = await startTestGateway(makeConfigDir().config))
    const http = gw.urls.http
    const flood = (level: string, value: number, ref: string) => ({
      ruleId: 'river-flood',
      hazard: 'flood',
      level,
      quantity: 'stage_m',
      agg: 'last',
      op: '>=',
      value,
      unit: 'm',
      ref,
    })
    // 青衣江柳湾水文站: warning 32.5 m, guaranteed 34.0 m, historical 35.2 m, blue half a metre below
    // the warning level. Discharge, reservoir and low-water levels are not set; the rise rate is
    // a rate (and a count), not a threshold.
    expect(await getJson<ThresholdsView>(http, '/api/stations/WL-LW-01/thresholds')).toEqual({
      stationId: 'WL-LW-01',
      thresholds: [
        flood('red', 35.2, 'historical_max_level'),
        flood('orange', 34, 'guaranteed_level'),
        flood('yellow', 32.5, 'warning_level'),
        flood('blue', 32, 'warning_level'),
      ],
    })
    // The reservoir also has its characteristic levels.
    const lt = await getJson<ThresholdsView>(http, '/api/stations/WL-LT-01/thresholds')
    expect(
      lt.thresholds.filter((t) => t.ruleId === 'reservoir-level').map((t) => [t.level, t.value]),
    ).toEqual([
      ['red', 622.3],
      ['orange', 620.8],
      ['yellow', 616],
    ])
  })

  test('a rain gauge: its village’s critical rainfall over 1, 3 and 6 hours, and the CMA rainstorm sums', async () => {
    ;({ gw } = await startTestGateway(makeConfigDir().config))
    const { thresholds } = await getJson<ThresholdsView>(gw.urls.http, '/api/stations/RG-LW-01/thresholds')
    const line = (t: Record<string, unknown>) =>
      `${t.ruleId as string} ${t.level as string}: ${t.quantity as string} ${t.agg as string} ${t.window as string} ${t.op as string} ${t.value as number} ${t.unit as string}`
    expect(thresholds.map(line)).toEqual([
      'flash-flood-village red: rain_mm sum 1h >= 40 mm',
      'flash-flood-village red: rain_mm sum 3h >= 65 mm',
      'flash-flood-village red: rain_mm sum 6h >= 95 mm',
      'flash-flood-village orange: rain_mm sum 1h >= 30 mm',
      'flash-flood-village orange: rain_mm sum 3h >= 50 mm',
      'flash-flood-village orange: rain_mm sum 6h >= 70 mm',
      'rainstorm red: rain_mm sum 3h >= 100 mm',
      'rainstorm orange: rain_mm sum 3h >= 50 mm',
      'rainstorm yellow: rain_mm sum 6h >= 50 mm',
      'rainstorm blue: rain_mm sum 12h >= 50 mm',
    ])
    // The township's two-gauge confirmation (k-of-n) is no threshold of one station.
    expect(thresholds.some((t) => t.ruleId === 'flash-flood-township')).toBe(false)
  })

  test('an unknown station is 404 in the shape of every other read', async () => {
    ;({ gw } = await startTestGateway(makeConfigDir().config))
    const res = await fetch(`${gw.urls.http}/api/stations/NO-SUCH/thresholds`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'not_found', message: 'no station NO-SUCH' })
  })
})
