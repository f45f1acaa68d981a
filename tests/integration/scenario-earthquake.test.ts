/**
 * The shipped earthquake scenario end to end: simulated strong-motion stations send 100 Hz
 * batches over MQTT; the gateway derives intensity and P triggers, confirms the earthquake at
 * three stations, and warns the county; each station's on-site alarm follows its own intensity.
 */
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { allWarnings, playScenario } from '../helpers/scenario.js'

let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

test('earthquake: one county warning graded orange by the intensity three stations agree on; on-site alarms per station', async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const summary = await playScenario(gw.urls.mqtt, 'earthquake', 600, Date.UTC(2026, 6, 15, 6))
  expect(summary.failed).toBe(0)
  expect(summary.perKind.seismic!.acknowledged).toBe(summary.perKind.seismic!.sent)
  const warnings = await allWarnings(gw.urls.http)
  const quake = warnings.filter((w) => w.ruleId === 'earthquake')
  expect(quake).toHaveLength(1)
  expect(quake[0]!.region).toBe('511823000000')
  const levels = quake[0]!.versions.map((v) => v.level)
  // The stations' batches travel on separate connections, so which second of the P coda confirms
  // the event first varies; the S-wave intensity (VI at two stations, VII at one) makes it orange.
  expect(levels[0]).not.toBe('red')
  expect(levels).toContain('orange')
  expect(levels).not.toContain('red')
  const onSite = Object.fromEntries(
    warnings
      .filter((w) => w.ruleId === 'strong-motion')
      .map((w) => [
        w.stationId,
        w.versions
          .map((v) => v.level)
          .filter((l) => l !== null)
          .at(-1),
      ]),
  )
  expect(onSite).toEqual({ 'SEIS-HK-01': 'orange', 'SEIS-QX-01': 'orange', 'SEIS-YQ-01': 'red' })
}, 60_000)
