/**
 * Equipment faults (设备故障) are a class apart from hazards: a silent sensor and out-of-range values
 * raise faults (API, metrics, retained MQTT), clear when the sensor recovers, and a hazard decided
 * while its station is faulty is marked unverified.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
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
import { clock, until } from '../helpers/wait.js'
import { device } from '../helpers/devices.js'

const T0 = Date.UTC(2026, 6, 15)
let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

interface Fault {
  sensorId: string
  stationId: string
  kind: string
  clearedAt: number | null
}

test('no data, out of range, recovery, and unverified hazards at a faulty station', async () => {
  const { dir } = makeConfigDir()
  // The Liuwan gauge gets a second (backup) sensor that will stay silent; both are watched closely.
  const registry = readFileSync(DEMO_REGISTRY, 'utf8').replace(
    'sensors: [{ id: wl-lw-01, kind: water_level }]',
    'sensors: [{ id: wl-lw-01, kind: water_level, noDataAfter: 400ms }, { id: wl-lw-01b, kind: water_level, noDataAfter: 400ms }]',
  )
  writeFileSync(join(dir, 'county.yaml'), registry)
  const config = join(dir, 'faults.yaml')
  writeFileSync(
    config,
    'registry: county.yaml\ndataDir: data\nmqtt: { port: 0, wsPort: null }\nhttp: { port: 0 }\nfaults: { checkEvery: 50ms }\n' +
      TEST_SECURITY_YAML,
  )
  // Silence is measured on the gateway's clock, which this test moves: the main sensor is never
  // found silent by accident, however long the machine takes between its readings.
  const c = clock()
  ;({ gw } = await startTestGateway(config, c.now))
  const base = gw.urls.http
  const active = () => getJson<{ faults: Fault[] }>(base, '/api/faults?state=active').then((r) => r.faults)

  const gauge = await connect(gw.urls.mqtt, device('wl-lw-01'))
  const stage = (min: number, v: number) =>
    gauge.publishAsync(
      sensorDataTopic('water_level', 'wl-lw-01'),
      JSON.stringify({ ts: T0 + min * 60_000, values: { stage_m: v } }),
      { qos: 1 },
    )

  // Both sensors fall silent: two no-data faults, retained for integrators.
  c.advance(400)
  const both = await until(active, (f) => f.length === 2, 'two no-data faults')
  expect(both.map((f) => [f.sensorId, f.kind]).sort()).toEqual([
    ['wl-lw-01', 'no_data'],
    ['wl-lw-01b', 'no_data'],
  ])
  expect(await metric(base, 'shaobing_sensor_faults_active', 'kind="no_data"')).toBe(2)
  const retained = await collector(gw.urls.mqtt, 'faults/WL-LW-01/+')
  await retained.waitFor(2)
  expect(retained.messages.every((m) => m.payload.state === 'active')).toBe(true)

  // The main sensor reports again: its fault clears; the backup stays faulty.
  await stage(0, 30)
  const one = await until(active, (f) => f.length === 1, 'the main sensor to recover')
  expect(one[0]).toMatchObject({ sensorId: 'wl-lw-01b', kind: 'no_data' })

  // An impossible value is a fault, not a flood.
  await stage(10, 9999)
  await until(active, (f) => f.some((x) => x.kind === 'out_of_range'), 'an out-of-range fault')
  await stage(20, 30.1)
  await until(active, (f) => !f.some((x) => x.kind === 'out_of_range'), 'the out-of-range fault to clear')

  // A real rise while the backup sensor is in fault: the warning goes out, marked unverified.
  const cmds = await collector(gw.urls.mqtt, 'terminals/T511823100201-01/cmd')
  await stage(30, 33.0)
  await cmds.waitFor(1)
  const { warnings } = await getJson<{ warnings: { versions: { level: string; verified: boolean }[] }[] }>(
    base,
    '/api/warnings?state=active',
  )
  expect(warnings[0]?.versions.map((v) => [v.level, v.verified])).toEqual([['yellow', false]])

  const history = await getJson<{ faults: Fault[] }>(base, '/api/faults?state=all')
  expect(
    history.faults
      .filter((f) => f.clearedAt !== null)
      .map((f) => f.kind)
      .sort(),
  ).toEqual(['no_data', 'out_of_range'])
  expect((await fetch(`${base}/api/faults?state=broken`)).status).toBe(400)
  await Promise.all([retained.close(), cmds.close(), gauge.endAsync()])
})

test('a spike is a fault and never a flood; a stuck gauge is a flatline fault until it moves', async () => {
  await gw?.stop()
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const base = gw.urls.http
  const active = () => getJson<{ faults: Fault[] }>(base, '/api/faults?state=active').then((r) => r.faults)
  const kinds = () => active().then((f) => f.filter((x) => x.sensorId === 'wl-lw-01').map((x) => x.kind))
  const gauge = await connect(gw.urls.mqtt, device('wl-lw-01'))
  const stage = (min: number, v: number) =>
    gauge.publishAsync(
      sensorDataTopic('water_level', 'wl-lw-01'),
      JSON.stringify({ ts: T0 + min * 60_000, values: { stage_m: v } }),
      { qos: 1 },
    )
  // 30.0 → 35.0 m within a minute (limit 0.5 m/min) would be red at this gauge; it is a spike.
  await stage(0, 30.0)
  await stage(1, 30.02)
  await stage(2, 35.0)
  await until(kinds, (k) => k.includes('spike'), 'a spike fault')
  // Back to 30.03: that jump is refused too; the next steady reading clears the fault.
  await stage(3, 30.03)
  await stage(4, 30.04)
  await until(kinds, (k) => !k.includes('spike'), 'the spike fault to clear')
  const { warnings } = await getJson<{ warnings: unknown[] }>(base, '/api/warnings?state=all')
  expect(warnings).toEqual([])
  expect(
    await metric(base, 'shaobing_reading_values_faulty_total', 'kind="water_level",quantity="stage_m"'),
  ).toBe(2)

  // The same value to the centimetre for more than 48 h of event time: stuck.
  for (const h of [12, 24, 36, 49]) await stage(4 + h * 60, 30.04)
  await until(kinds, (k) => k.includes('flatline'), 'a flatline fault')
  const [flat] = (await active()).filter((f) => f.kind === 'flatline')
  expect(flat).toMatchObject({ stationId: 'WL-LW-01' })
  await stage(4 + 50 * 60, 30.1)
  await until(kinds, (k) => !k.includes('flatline'), 'the flatline fault to clear')
  await gauge.endAsync()
})
