/**
 * The shipped sensor-faults scenario end to end: a spike, a stuck sensor and a dropout played by
 * the simulator over MQTT; the gateway raises equipment faults and no hazard warning.
 */
import { readFileSync } from 'node:fs'
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { loadScenario } from '../../sensors-sim/src/scenario.js'
import { getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { playScenario, scenarioFile } from '../helpers/scenario.js'
import { until } from '../helpers/wait.js'

const FILE = scenarioFile('sensor-faults')
let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

test('sensor faults: a spike and a flatline are faults, not floods; the dropout sends nothing', async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const summary = await playScenario(gw.urls.mqtt, 'sensor-faults', 200_000, Date.UTC(2026, 6, 15))
  expect(summary.failed).toBe(0)
  // 72 intervals; the Shimen gauge is silent for 12 of them.
  expect(summary.perKind.rain!.sent).toBe(72 + 60)
  const faults = await until(
    () =>
      getJson<{ faults: { sensorId: string; kind: string }[] }>(gw!.urls.http, '/api/faults?state=all').then(
        (r) => r.faults,
      ),
    (f) => f.some((x) => x.kind === 'flatline'),
    'the faults',
  )
  const kinds = new Set(faults.map((f) => `${f.sensorId} ${f.kind}`))
  expect(kinds).toContain('wl-lw-01 spike')
  expect(kinds).toContain('aws-qx-01 flatline')
  const { warnings } = await getJson<{ warnings: { hazard: string }[] }>(
    gw.urls.http,
    '/api/warnings?state=all',
  )
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
