/**
 * Reload is validate-all-then-swap: a good change takes effect without a restart and without
 * losing window state; a bad file is refused with its location and the old rules keep running.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { CATALOG_DIR } from '../helpers/catalog.js'
import {
  collector,
  connect,
  DEMO_REGISTRY,
  getJson,
  makeConfigDir,
  TEST_SECURITY_YAML,
  metric,
  startTestGateway,
} from '../helpers/gateway.js'
import { device } from '../helpers/devices.js'

const T0 = Date.UTC(2026, 6, 15)
const M = 60_000
let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

test('a changed station constant applies at reload; a broken catalogue is refused and the old rules keep running', async () => {
  const { dir } = makeConfigDir()
  const registry = join(dir, 'county.yaml')
  cpSync(DEMO_REGISTRY, registry)
  cpSync(CATALOG_DIR, join(dir, 'rules'), { recursive: true })
  const config = join(dir, 'reload.yaml')
  writeFileSync(
    config,
    `registry: county.yaml\nrules: [rules]\ndataDir: data\nmqtt: { port: 0, wsPort: null }\nhttp: { port: 0 }\n${TEST_SECURITY_YAML}\n`,
  )
  ;({ gw } = await startTestGateway(config))
  const cmds = await collector(gw.urls.mqtt, 'terminals/T511823100201-01/cmd')
  const gauge = await connect(gw.urls.mqtt, device('wl-lw-01'))
  const stage = (min: number, v: number) =>
    gauge.publishAsync(
      sensorDataTopic('water_level', 'wl-lw-01'),
      JSON.stringify({ ts: T0 + min * M, values: { stage_m: v } }),
      { qos: 1 },
    )

  await stage(0, 33.2) // yellow under the shipped guaranteed level of 34.0 m
  await cmds.waitFor(1)
  expect(cmds.messages.map((m) => m.payload.level)).toEqual(['yellow'])

  // The hydrology bureau lowers the station's guaranteed level to 33.0 m.
  writeFileSync(
    registry,
    readFileSync(registry, 'utf8').replace(
      'guaranteed_level: 34.0, historical_max_level: 35.2',
      'guaranteed_level: 33.0, historical_max_level: 35.2',
    ),
  )
  const applied = gw.reload()
  const shipped = gw.loaded.catalogues.reduce((n, c) => n + c.catalogue.rules.length, 0)
  expect(applied).toMatchObject({ ok: true, value: { rules: shipped } })
  await stage(10, 33.3)
  await cmds.waitFor(2)
  expect(cmds.messages.map((m) => [m.payload.kind, m.payload.level])).toEqual([
    ['issue', 'yellow'],
    ['update', 'orange'],
  ])
  const stations = await getJson<{ stations: { id: string; params: Record<string, number> }[] }>(
    gw.urls.http,
    '/api/stations',
  )
  expect(stations.stations.find((s) => s.id === 'WL-LW-01')?.params.guaranteed_level).toBe(33)

  // A broken catalogue: refused, located, and the running rules stay in force.
  writeFileSync(
    join(dir, 'rules', 'broken.yaml'),
    'catalogue: broken\nversion: 1\ntitle: t\nrules:\n  - id: Bad Id\n',
  )
  const refused = gw.reload()
  expect(refused.ok).toBe(false)
  expect(
    !refused.ok && refused.error.map((i) => [i.file.endsWith('broken.yaml'), i.line, i.path]),
  ).toContainEqual([true, 5, 'rules.0.id'])
  expect(await metric(gw.urls.http, 'shaobing_config_reloads_total', 'outcome="refused"')).toBe(1)
  await stage(20, 35.3)
  await cmds.waitFor(3)
  expect(cmds.messages.at(-1)?.payload.level).toBe('red')
  await Promise.all([cmds.close(), gauge.endAsync()])
})

test('windows survive a reload: a rain sum spanning it is graded whole', async () => {
  const { config } = makeConfigDir()
  const g = await startTestGateway(config)
  try {
    const cmds = await collector(g.gw.urls.mqtt, 'terminals/T511823100201-01/cmd', { hazard: 'rainstorm' })
    const gaugeC = await connect(g.gw.urls.mqtt, device('rg-lw-01'))
    const rain = (min: number, mm: number) =>
      gaugeC.publishAsync(
        sensorDataTopic('rain', 'rg-lw-01'),
        JSON.stringify({ ts: T0 + min * M, values: { rain_mm: mm } }),
        { qos: 1 },
      )
    await rain(30, 30)
    expect(g.gw.reload().ok).toBe(true)
    await rain(60, 30) // 60 mm in 3 h only if the first 30 mm survived the reload
    await cmds.waitFor(1)
    expect(cmds.messages.map((m) => m.payload.level)).toEqual(['orange'])
    await Promise.all([cmds.close(), gaugeC.endAsync()])
  } finally {
    await g.gw.stop()
  }
})
