/**
 * The shipped network-outage scenario end to end: the tower serving 河口镇 fails for three hours in
 * a storm, its loggers backfill when it returns, a gauge without storage loses what it measured,
 * and later every sensor's connection drops at once. The same storm is played to a second gateway
 * with a network that never fails; the warnings must be the same, stamped with the same event times.
 */
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { runScenario } from '../../sensors-sim/src/sensors.js'
import { simCredentials } from '../helpers/devices.js'
import { getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { shippedScenario, allWarnings } from '../helpers/scenario.js'
import { until } from '../helpers/wait.js'

const T0 = Date.UTC(2026, 6, 28)
const STEPS = (14 * 60) / 10
const gateways: RunningGateway[] = []
afterAll(async () => {
  for (const g of gateways) await g.stop()
})

interface Fault {
  sensorId: string
  kind: string
  clearedAt: number | null
}

const warningsOf = async (gw: RunningGateway) =>
  (await allWarnings(gw.urls.http))
    .map((w) => ({ key: `${w.ruleId} ${w.stationId}`, versions: w.versions.map((v) => [v.level, v.ts]) }))
    .sort((a, b) => a.key.localeCompare(b.key))

test('network outage: backfilled readings give the warnings an unbroken network gives; nothing acknowledged is lost', async () => {
  const scenario = shippedScenario('network-outage')
  const { gw } = await startTestGateway(makeConfigDir().config)
  gateways.push(gw)
  const credentials = simCredentials(scenario.sensors.map((s) => s.id))
  const summary = await runScenario({ url: gw.urls.mqtt, scenario, speed: 200_000, startMs: T0, credentials })
  expect(summary.failed).toBe(0)
  expect(summary.acknowledged).toBe(summary.sent)
  // 桃园村's gauge lost the 18 readings of the three hours; the three loggers of the tower kept
  // theirs (3 × 18) and sent them when it returned; 3 links + 1 came back, then 5 after the storm.
  expect(summary.lost).toBe(18)
  expect(summary.backfilled).toBe(54)
  expect(summary.reconnects).toBe(4 + 5)

  // Every reading the loggers took is stored, in event-time order; the storageless gauge has a hole.
  const history = async (station: string) =>
    (
      await getJson<{ readings: { ts: number }[] }>(
        gw.urls.http,
        `/api/stations/${station}/readings?from=${T0}&limit=10000`,
      )
    ).readings.map((r) => r.ts)
  for (const station of ['WL-LW-01', 'RG-LW-01', 'RG-SM-01', 'AWS-QX-01']) {
    const ts = await history(station)
    expect(ts).toEqual(Array.from({ length: STEPS }, (_, i) => T0 + (i + 1) * 600_000))
  }
  // The history endpoint refuses what it cannot answer, with the reason.
  const bad = await fetch(`${gw.urls.http}/api/stations/WL-LW-01/readings?from=10&to=5`)
  expect([bad.status, ((await bad.json()) as { issues: { field: string }[] }).issues[0]!.field]).toEqual([
    400,
    'from',
  ])
  expect((await fetch(`${gw.urls.http}/api/stations/NOWHERE/readings`)).status).toBe(404)
  const ty = await history('RG-TY-01')
  expect(ty).toHaveLength(STEPS - 18)
  expect(ty.filter((t) => t > T0 + 2 * 3_600_000 && t <= T0 + 5 * 3_600_000)).toEqual([])

  // The broken connections were seen (last wills: offline faults) and every one has cleared.
  const faults = await until(
    async () =>
      (await getJson<{ faults: Fault[] }>(gw.urls.http, '/api/faults?state=all')).faults.filter(
        (f) => f.kind === 'offline',
      ),
    (f) => f.length > 0 && f.every((x) => x.clearedAt !== null),
    'the offline faults to clear',
  )
  expect(new Set(faults.map((f) => f.sensorId))).toEqual(
    new Set(['rg-lw-01', 'rg-sm-01', 'rg-ty-01', 'wl-lw-01', 'aws-qx-01']),
  )

  // The same storm over a network that never fails.
  const calm = { ...scenario, events: scenario.events.filter((e) => e.type === 'rain') }
  const { gw: reference } = await startTestGateway(makeConfigDir().config)
  gateways.push(reference)
  const calmSummary = await runScenario({
    url: reference.urls.mqtt,
    scenario: calm,
    speed: 200_000,
    startMs: T0,
    credentials,
  })
  expect(calmSummary.lost).toBe(0)
  const withOutage = await warningsOf(gw)
  const without = await warningsOf(reference)
  // 桃园村's gauge lost part of the storm, so its warnings may differ; every other station's warnings
  // are identical, level by level and event time by event time.
  // That includes the township's two-gauge confirmation: the backlog of one gauge is judged against
  // what the other held at the same event time, not against the group's latest time.
  const others = (ws: typeof without) => ws.filter((w) => !w.key.endsWith('RG-TY-01'))
  expect(others(withOutage)).toEqual(others(without))
  expect(without.find((w) => w.key.startsWith('flash-flood-township'))).toBeDefined()
  // The storm did raise warnings, some of them from readings that arrived after the tower returned.
  const flood = without.find((w) => w.key === 'river-flood WL-LW-01')!
  expect(flood.versions.map(([level]) => level)).toContain('orange')
  expect(
    others(withOutage).some((w) =>
      w.versions.some(
        ([, ts]) => (ts as number) > T0 + 2 * 3_600_000 && (ts as number) <= T0 + 5 * 3_600_000,
      ),
    ),
  ).toBe(true)
}, 60_000)
