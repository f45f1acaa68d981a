/**
 * The shipped county-storm scenario end to end: a storm cell crosses the county; every gauge reports
 * over its own MQTT connection. The gateway's rainstorm warnings are checked against an oracle that
 * replays the same simulation and applies the CMA rainstorm signal by brute force: same highest
 * level at every gauge, raised at the same event time, and raised in the order the cell passed.
 */
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { Simulation } from '../../sensors-sim/src/signals.js'
import { getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { playScenario, shippedScenario, allWarnings } from '../helpers/scenario.js'

const T0 = Date.UTC(2026, 6, 20)
const H = 3_600_000
const LEVELS = ['blue', 'yellow', 'orange', 'red'] as const

let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

/** CMA rainstorm signal (national defaults): 12 h ≥ 50 blue, 6 h ≥ 50 yellow, 3 h ≥ 50 orange, 3 h ≥ 100 red. */
function cmaLevel(rain: readonly [number, number][], t: number): number {
  const sum = (w: number) => rain.filter(([u]) => u > t - w && u <= t).reduce((a, [, mm]) => a + mm, 0)
  if (sum(3 * H) >= 100) return 3
  if (sum(3 * H) >= 50) return 2
  if (sum(6 * H) >= 50) return 1
  if (sum(12 * H) >= 50) return 0
  return -1
}

test('county storm: each gauge warned at the level and event time its own rain gives, in the order the cell passed', async () => {
  const scenario = shippedScenario('county-storm')
  // The oracle: the same simulation, the rule applied by brute force.
  const sim = new Simulation(scenario, T0)
  const rain = new Map<string, [number, number][]>()
  for (let i = 0; i < sim.steps; i++)
    for (const r of sim.step())
      if (r.values.rain_mm !== undefined) {
        const station = r.sensorId.toUpperCase()
        if (!rain.has(station)) rain.set(station, [])
        rain.get(station)!.push([r.ts, r.values.rain_mm])
      }
  const expected = new Map<string, { highest: string; firstTs: number }>()
  for (const [station, series] of rain) {
    const levels = series.map(([t]) => [t, cmaLevel(series, t)] as const)
    const first = levels.find(([, l]) => l >= 0)
    if (first)
      expected.set(station, {
        highest: LEVELS[Math.max(...levels.map(([, l]) => l))]!,
        firstTs: first[0],
      })
  }
  // The scenario is meant to warn some gauges and spare others.
  expect(expected.size).toBeGreaterThanOrEqual(4)
  expect(expected.size).toBeLessThan(rain.size)

  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const summary = await playScenario(gw.urls.mqtt, 'county-storm', 200_000, T0)
  expect(summary.failed).toBe(0)
  expect(summary.acknowledged).toBe(summary.sent)

  const warnings = await allWarnings(gw.urls.http)
  const rainstorm = warnings.filter((w) => w.ruleId === 'rainstorm')
  const got = new Map(
    rainstorm.map((w) => {
      const levels = w.versions.flatMap((v) => (v.level === null ? [] : [LEVELS.indexOf(v.level as 'red')]))
      return [w.stationId, { highest: LEVELS[Math.max(...levels)]!, firstTs: w.versions[0]!.ts }]
    }),
  )
  expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected))
  // All rainstorm warnings lifted once the 12 h sums fell below 50 mm.
  expect(rainstorm.every((w) => w.state === 'lifted')).toBe(true)

  // 龙潭水库 fills from its catchment's gauges, later than the rain (routing), past its flood-limit
  // level (yellow) but not its design flood level, and stays there: a reservoir drains slowly.
  const reservoir = warnings.filter((w) => w.stationId === 'WL-LT-01')
  expect(reservoir.map((w) => [w.ruleId, w.state, w.versions.map((v) => v.level)])).toEqual([
    ['reservoir-level', 'active', ['yellow']],
  ])
  const lastRain = Math.max(...['RG-LT-01', 'RG-BH-01'].map((id) => got.get(id)!.firstTs))
  expect(reservoir[0]!.versions[0]!.ts).toBeGreaterThan(lastRain)

  // The cell moved north-west to south-east: the gauges were warned in order of latitude, north first.
  const { stations } = await getJson<{ stations: { id: string; lat: number }[] }>(
    gw.urls.http,
    '/api/stations',
  )
  const lat = new Map(stations.map((s) => [s.id, s.lat]))
  const byTime = [...got].sort(([, a], [, b]) => a.firstTs - b.firstTs).map(([id]) => lat.get(id)!)
  for (let i = 1; i < byTime.length; i++) expect(byTime[i]!).toBeLessThanOrEqual(byTime[i - 1]! + 0.02)
}, 60_000)
