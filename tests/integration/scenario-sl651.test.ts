/**
 * The shipped sl651-river scenario end to end, with the example configuration
 * (gateway/config/examples/sl651/) on loopback port 0: the river station's simulated RTU reports
 * over SL 651-2014 (TCP, M2 confirmations; HEX as shipped, and ASCII) and its twin the same
 * readings over MQTT. Both stations
 * must get the same warnings (levels in the same order, the same event times) and the same stored
 * readings; no report or message failed.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, expect, test } from 'vitest'
import { parse } from 'yaml'
import type { RunningGateway } from '../../gateway/src/app.js'
import { runScenario } from '../../sensors-sim/src/sensors.js'
import { simCredentials } from '../helpers/devices.js'
import { getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { allWarnings, shippedScenario, type WarningView } from '../helpers/scenario.js'

const EXAMPLE = join(import.meta.dirname, '../../gateway/config/examples/sl651')
const T0 = Date.UTC(2026, 7, 3, 0) // 08:00 Beijing time
const SL651 = 'HY-LW-SL'
const TWIN = 'HY-SM-MQ'

/**
 * The example gateway.yaml with the test's listeners: its registry, kinds, catalogue and SL 651
 * settings as shipped (paths made absolute), every port 0 on loopback, a fresh data directory.
 */
function exampleConfig(): string {
  const doc = parse(readFileSync(join(EXAMPLE, 'gateway.yaml'), 'utf8')) as {
    kinds: string
    rules: string[]
    sl651: Record<string, unknown>
  }
  const extra = [
    `kinds: ${JSON.stringify(join(EXAMPLE, doc.kinds))}`,
    `rules: ${JSON.stringify(doc.rules.map((r) => join(EXAMPLE, r)))}`,
    `sl651: ${JSON.stringify({ ...doc.sl651, host: '127.0.0.1', port: 0 })}`,
  ].join('\n')
  return makeConfigDir(join(EXAMPLE, 'registry.yaml'), extra).config
}

let gw: RunningGateway | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

type Reading = { sensorId: string; ts: number; values: Record<string, number> }
const readings = (station: string, from: number, to: number) =>
  getJson<{ readings: Reading[] }>(
    gw!.urls.http,
    `/api/stations/${station}/readings?from=${from}&to=${to}&limit=10000`,
  ).then((r) => r.readings)

// As shipped (HEX/BCD), and with the RTU switched to the ASCII encoding.
test.each(['hex', 'ascii'] as const)(
  'sl651-river (%s): the SL 651 station and its MQTT twin get the same warnings and readings',
  async (encoding) => {
    ;({ gw } = await startTestGateway(exampleConfig()))
    expect(gw.urls.sl651).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    const shipped = shippedScenario('sl651-river')
    expect(shipped.rtus.map((r) => r.encoding)).toEqual(['hex'])
    const scenario = { ...shipped, rtus: shipped.rtus.map((r) => ({ ...r, encoding })) }
    const summary = await runScenario({
      url: gw.urls.mqtt,
      sl651Url: gw.urls.sl651!,
      scenario,
      speed: 100_000,
      startMs: T0,
      credentials: simCredentials(scenario.sensors.map((s) => s.id)),
    })
    const steps = 16 * 6
    // Nothing failed on either path: every MQTT message acknowledged, every SL 651 report confirmed.
    expect(summary.failed).toBe(0)
    expect(summary.acknowledged).toBe(summary.sent)
    expect(summary.sl651).toMatchObject({ rtus: 1, sent: steps, confirmed: steps, failed: 0 })
    expect(summary.perKind.water_level).toMatchObject({ sent: steps, acknowledged: steps }) // the twin
    expect(summary.perKind.rain).toMatchObject({ sent: steps, acknowledged: steps })

    // The gateway's side: no frame refused, no reading rejected or evaluated late, none stored twice.
    const metrics = (await (await fetch(`${gw.urls.http}/metrics`)).text()).split('\n')
    const total = (name: string) =>
      metrics
        .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
        .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0)
    for (const name of [
      'shaobing_sl651_refused_total',
      'shaobing_readings_rejected_total',
      'shaobing_readings_late_total',
      'shaobing_readings_duplicate_total',
    ])
      expect([name, total(name)]).toEqual([name, 0])
    expect(total('shaobing_readings_stored_total')).toBe(3 * steps)

    // Stored for both: the same stage at the same event times; the RTU's also its supply voltage.
    const end = T0 + 16 * 3_600_000 + 1
    const [rtu, twin, rain] = await Promise.all([
      readings(SL651, T0, end),
      readings(TWIN, T0, end),
      readings('RG-LW-MQ', T0, end),
    ])
    const series = (rs: Reading[], sensor: string, q: string) =>
      rs.filter((r) => r.sensorId === sensor).map((r) => [r.ts, r.values[q]])
    expect(series(rtu, 'wl-lw-sl', 'stage_m')).toHaveLength(steps)
    expect(series(rtu, 'wl-lw-sl', 'stage_m')).toEqual(series(twin, 'wl-sm-mq', 'stage_m'))
    expect(series(rain, 'rg-lw-mq', 'rain_mm')).toHaveLength(steps)
    const volts = series(rtu, 'wl-lw-sl', 'supply_v').map(([, v]) => v)
    expect(volts.every((v) => typeof v === 'number' && v > 12 && v < 14)).toBe(true)

    // The same warnings: the river passes approach, warning and guaranteed levels and recedes.
    const warnings = await allWarnings(gw.urls.http)
    const of = (station: string) =>
      warnings
        .filter((w) => w.stationId === station)
        .map((w: WarningView) => ({
          ruleId: w.ruleId,
          hazard: w.hazard,
          state: w.state,
          versions: w.versions.map((v) => ({ action: v.action, level: v.level, ts: v.ts })),
        }))
    const fromRtu = of(SL651)
    expect(fromRtu).toEqual(of(TWIN))
    expect(fromRtu.map((w) => w.ruleId)).toEqual(['river-flood'])
    const levels = fromRtu[0]!.versions.map((v) => v.level)
    expect(levels).toEqual(['blue', 'yellow', 'orange', 'yellow', 'blue', null])
    expect(fromRtu[0]!.state).toBe('lifted')
    // Warned in event time (the observation times), inside the scenario.
    for (const v of fromRtu[0]!.versions) expect(v.ts).toBeGreaterThan(T0)
    for (const v of fromRtu[0]!.versions) expect(v.ts).toBeLessThan(end)
  },
  120_000,
)
