/**
 * The shipped demo scenario end to end, at high speed: simulated sensors and all the county's
 * simulated loudspeakers over real MQTT, and the warnings the gateway produced checked.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { formatFileIssue } from '../../rules/src/index.js'
import { registryTerminals } from '../../sensors-sim/src/main.js'
import { loadScenario } from '../../sensors-sim/src/scenario.js'
import { runScenario } from '../../sensors-sim/src/sensors.js'
import { startTerminals, type TerminalFleet } from '../../sensors-sim/src/terminals.js'
import { DEMO_REGISTRY, getJson, makeConfigDir, sleep, startTestGateway } from '../helpers/gateway.js'

const DEMO = join(import.meta.dirname, '../../sensors-sim/scenarios/demo-flood.yaml')
let gw: RunningGateway | undefined
let fleet: TerminalFleet | undefined
afterAll(async () => {
  await fleet?.close()
  await gw?.stop()
})

interface Warning {
  id: string
  ruleId: string
  stationId: string
  state: string
  versions: { action: string; level: string | null }[]
}

test('demo-flood: flood and rainstorm warnings rise to red and are lifted; Liuwan and Shimen loudspeakers play every version', async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const loaded = loadScenario(readFileSync(DEMO, 'utf8'), DEMO)
  if (!loaded.ok) throw new Error(loaded.error.map(formatFileIssue).join('\n'))
  fleet = await startTerminals({ url: gw.urls.mqtt, terminals: registryTerminals(DEMO_REGISTRY), playMs: 5 })
  expect(fleet.online).toHaveLength(28)

  const summary = await runScenario({
    url: gw.urls.mqtt,
    scenario: loaded.value,
    speed: 60_000,
    startMs: Date.UTC(2026, 6, 15),
  })
  expect(summary.failed).toBe(0)
  expect(summary.acknowledged).toBe(summary.sent)
  expect(summary.sent).toBe(6 * 108)

  const { warnings } = await getJson<{ warnings: Warning[] }>(gw.urls.http, '/api/warnings?state=all')
  const byStation = new Map(warnings.map((w) => [w.stationId, w]))
  expect([...byStation.keys()].sort()).toEqual(['RG-LW-01', 'RG-SM-01', 'WL-LW-01'])
  const flood = byStation.get('WL-LW-01')!
  expect(flood.state).toBe('lifted')
  expect(flood.versions.map((v) => v.level)).toEqual([
    'blue',
    'yellow',
    'orange',
    'red',
    'orange',
    'yellow',
    'blue',
    null,
  ])
  for (const id of ['RG-LW-01', 'RG-SM-01']) {
    const rain = byStation.get(id)!
    expect(rain.state).toBe('lifted')
    expect(rain.versions.map((v) => v.level)).toContain('red')
  }

  // Every delivery of every version was played by the four terminals of its village, and by no other.
  let played = 0
  const expected = warnings.reduce((n, w) => n + w.versions.length * 4, 0)
  for (let i = 0; i < 50 && played < expected; i++) {
    await sleep(100)
    played = fleet.played().length
  }
  expect(played).toBe(expected)
  const villages = new Set(fleet.played().map((p) => p.terminalId.slice(1, 13)))
  expect(villages).toEqual(new Set(['511823100201', '511823100202']))
  for (const w of warnings) {
    const { summary: counts } = await getJson<{ summary: Record<string, Record<string, number>> }>(
      gw.urls.http,
      `/api/warnings/${w.id}/deliveries`,
    )
    expect(Object.values(counts)).toEqual(w.versions.map(() => ({ played: 4 })))
  }
}, 60_000)
