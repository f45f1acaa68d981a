/**
 * The shipped demo scenario end to end, at high speed: simulated sensors and all the county's
 * simulated loudspeakers over real MQTT, and the warnings the gateway produced checked.
 */
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { registryTerminals } from '../../sensors-sim/src/main.js'
import { runScenario } from '../../sensors-sim/src/sensors.js'
import { startTerminals, type TerminalFleet } from '../../sensors-sim/src/terminals.js'
import { registryCredentials } from '../helpers/devices.js'
import { shippedScenario, allWarnings } from '../helpers/scenario.js'
import { DEMO_REGISTRY, getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

let gw: RunningGateway | undefined
let fleet: TerminalFleet | undefined
afterAll(async () => {
  await fleet?.close()
  await gw?.stop()
})

test('demo-flood: flood, rainstorm and flash-flood warnings rise and are lifted; every targeted loudspeaker plays every version', async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const credentials = registryCredentials(DEMO_REGISTRY)
  fleet = await startTerminals({
    url: gw.urls.mqtt,
    terminals: registryTerminals(DEMO_REGISTRY),
    playMs: 5,
    credentials,
  })
  expect(fleet.online).toHaveLength(28)

  const summary = await runScenario({
    url: gw.urls.mqtt,
    scenario: shippedScenario('demo-flood'),
    speed: 60_000,
    startMs: Date.UTC(2026, 6, 15),
    credentials,
  })
  expect(summary.failed).toBe(0)
  expect(summary.acknowledged).toBe(summary.sent)
  expect(summary.sent).toBe(6 * 108)

  const warnings = await allWarnings(gw.urls.http)
  const byKey = new Map(warnings.map((w) => [`${w.ruleId} ${w.stationId}`, w]))
  expect(warnings.every((w) => w.state === 'lifted')).toBe(true)
  const flood = byKey.get('river-flood WL-LW-01')!
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
  // Both gauges: the rainstorm signal reaches red; each gauge's village thresholds call for
  // evacuation (red = 立即转移).
  for (const id of ['RG-LW-01', 'RG-SM-01']) {
    expect(byKey.get(`rainstorm ${id}`)!.versions.map((v) => v.level)).toContain('red')
    expect(byKey.get(`flash-flood-village ${id}`)!.versions.map((v) => v.level)).toContain('red')
  }
  // The two gauges of 河口镇 confirm each other: one township-wide warning, for the township.
  const township = warnings.filter((w) => w.ruleId === 'flash-flood-township')
  expect(township.map((w) => w.region)).toEqual(['511823100000'])
  expect(new Set(warnings.map((w) => w.ruleId))).toEqual(
    new Set(['river-flood', 'rainstorm', 'flash-flood-village', 'flash-flood-township']),
  )

  // Every delivery of every version was played by every terminal of the warning's region, and
  // by no other.
  const terminals = registryTerminals(DEMO_REGISTRY)
  const inRegion = (region: string) => {
    const prefix = region.replace(/(000)+$/, '')
    // Demo terminal ids are T{village code}-NN.
    return terminals.filter((t) => t.id.slice(1, 13).startsWith(prefix))
  }
  const expected = warnings.reduce((n, w) => n + w.versions.length * inRegion(w.region).length, 0)
  const played = await until(
    () => fleet!.played().length,
    (n) => n >= expected,
    'every delivery played',
  )
  expect(played).toBe(expected)
  const villages = new Set(fleet.played().map((p) => p.terminalId.slice(1, 13)))
  expect(villages).toEqual(new Set(['511823100201', '511823100202', '511823100203']))
  for (const w of warnings) {
    const { summary: counts } = await getJson<{ summary: Record<string, Record<string, number>> }>(
      gw.urls.http,
      `/api/warnings/${w.id}/deliveries`,
    )
    expect(Object.values(counts)).toEqual(w.versions.map(() => ({ played: inRegion(w.region).length })))
    // Coverage: every version reached all its loudspeakers; time to first and to 95 % playback known.
    const { versions } = await getJson<{
      versions: { targeted: number; played: number; firstPlayMs: number | null; p95PlayMs: number | null }[]
    }>(gw.urls.http, `/api/warnings/${w.id}/coverage`)
    for (const v of versions) {
      expect(v.played).toBe(v.targeted)
      expect(v.firstPlayMs).not.toBeNull()
      expect(v.p95PlayMs).toBeGreaterThanOrEqual(v.firstPlayMs!)
    }
  }
  const text = await (await fetch(`${gw.urls.http}/metrics`)).text()
  expect(text).toMatch(/shaobing_time_to_95pct_playback_seconds_count [1-9]/)
}, 60_000)
