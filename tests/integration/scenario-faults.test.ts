/**
 * The shipped sensor-faults scenario end to end: a spike, a stuck sensor, a dropout, a clock 8 h
 * ahead and a battery running down, played by the simulator over MQTT; the gateway raises
 * equipment faults and no hazard warning. The scenario ends at the wall clock's present, so the
 * skewed clock stamps readings in the gateway's future, as it would in the field.
 */
import { readFileSync } from 'node:fs'
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { loadScenario } from '../../sensors-sim/src/scenario.js'
import { getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { allWarnings, playScenario, scenarioFile } from '../helpers/scenario.js'
import { until } from '../helpers/wait.js'

const FILE = scenarioFile('sensor-faults')
let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

const H = 3_600_000

test('sensor faults: spike, flatline, wrong clock and low battery are faults, not floods; the dropout sends nothing', async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const start = Math.floor((Date.now() - 12 * H) / 600_000) * 600_000
  const summary = await playScenario(gw.urls.mqtt, 'sensor-faults', 200_000, start)
  expect(summary.failed).toBe(0)
  // 72 intervals; the Shimen gauge is silent for 12 of them.
  expect(summary.perKind.rain!.sent).toBe(72 + 60)
  // Battery reports every hour from 1 h: 60, 52, 44, 36, 28, 20, 12 %, then 12 % to the end.
  expect(summary.perKind.status!.sent).toBe(12)
  const faults = await until(
    () =>
      getJson<{ faults: { sensorId: string; kind: string; detail: string; clearedAt: number | null }[] }>(
        gw!.urls.http,
        '/api/faults?state=all',
      ).then((r) => r.faults),
    (f) => ['flatline', 'clock', 'battery_low'].every((k) => f.some((x) => x.kind === k)),
    'the faults',
  )
  const kinds = new Set(faults.map((f) => `${f.sensorId} ${f.kind}`))
  expect(kinds).toContain('wl-lw-01 spike')
  expect(kinds).toContain('aws-qx-01 flatline')
  const clock = faults.find((f) => f.kind === 'clock')!
  expect(clock.sensorId).toBe('rg-sm-01')
  expect(clock.detail).toMatch(/min ahead of the gateway clock/)
  expect(clock.clearedAt).not.toBeNull() // the clock was put right two hours later
  const battery = faults.find((f) => f.kind === 'battery_low')!
  expect([battery.sensorId, battery.detail, battery.clearedAt]).toEqual([
    'rg-lw-01',
    'battery 12 % (below 20 %)',
    null,
  ])
  // Readings stamped by the wrong clock are kept, with the time the device gave them.
  const { readings } = await getJson<{ readings: { ts: number }[] }>(
    gw.urls.http,
    `/api/stations/RG-SM-01/readings?from=${start + 16 * H}&limit=100`,
  )
  expect(readings.map((r) => r.ts)).toEqual(
    Array.from({ length: 12 }, (_, i) => start + 16 * H + (i + 1) * 600_000),
  )
  const warnings = await allWarnings(gw.urls.http)
  expect(warnings.filter((w) => w.hazard === 'flood')).toEqual([])
}, 60_000)

test('a fault event naming an unknown sensor is refused with its place', () => {
  const text = readFileSync(FILE, 'utf8').replace(
    'sensors: [rg-sm-01], for: 2h',
    'sensors: [rg-nowhere], for: 2h',
  )
  const r = loadScenario(text, FILE)
  expect(!r.ok && r.error.map((i) => [i.path, i.message])).toEqual([
    ['events.2.sensors.0', 'rg-nowhere is not a sensor of this scenario'],
  ])
})
