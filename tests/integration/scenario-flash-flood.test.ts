/**
 * The shipped flash-flood scenario end to end: a one-hour cloudburst over two villages of 河口镇,
 * played over MQTT with all the county's loudspeakers connected. Liuwan must be told to evacuate
 * (立即转移, red), Shimen to prepare (准备转移, orange), the township warned once with both gauges
 * recorded; no CMA rainstorm signal and no river flood; everything lifted after three dry hours;
 * and only 河口镇's loudspeakers speak.
 */
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { registryTerminals } from '../../sensors-sim/src/main.js'
import { startTerminals, type TerminalFleet } from '../../sensors-sim/src/terminals.js'
import { registryCredentials } from '../helpers/devices.js'
import { DEMO_REGISTRY, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { playScenario, allWarnings, type WarningView } from '../helpers/scenario.js'
import { until } from '../helpers/wait.js'

const T0 = Date.UTC(2026, 7, 3, 9) // 17:00 Beijing time
const H = 3_600_000

let gw: RunningGateway | undefined
let fleet: TerminalFleet | undefined
afterAll(async () => {
  await fleet?.close()
  await gw?.stop()
})

test('flash flood: evacuate Liuwan, prepare Shimen, one township warning, lifted after three dry hours', async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  fleet = await startTerminals({
    url: gw.urls.mqtt,
    terminals: registryTerminals(DEMO_REGISTRY),
    playMs: 5,
    credentials: registryCredentials(DEMO_REGISTRY),
  })
  const summary = await playScenario(gw.urls.mqtt, 'flash-flood', 100_000, T0)
  expect(summary.failed).toBe(0)
  expect(summary.acknowledged).toBe(summary.sent)

  const warnings = await allWarnings(gw.urls.http)
  const levels = (w: WarningView | undefined) => w?.versions.map((v) => v.level)
  const village = (station: string) =>
    warnings.find((w) => w.ruleId === 'flash-flood-village' && w.stationId === station)
  // Liuwan passes its 1 h prepare threshold (30 mm) on the way to the immediate one (40 mm); when
  // the burst ends the hourly sum falls back through them, and the lift waits three dry hours.
  expect(levels(village('RG-LW-01'))).toEqual(['orange', 'red', 'orange', null])
  expect(levels(village('RG-SM-01'))).toEqual(['orange', null])
  expect(village('RG-TY-01')).toBeUndefined()
  const township = warnings.filter((w) => w.ruleId === 'flash-flood-township')
  expect(township.map((w) => [w.region, levels(w)])).toEqual([['511823100000', ['orange', null]]])
  // Only flash-flood warnings: too short for the rainstorm signal, too small for the river.
  expect(new Set(warnings.map((w) => w.hazard))).toEqual(new Set(['flash_flood']))
  expect(warnings.every((w) => w.state === 'lifted')).toBe(true)

  // Raised inside the hour of the burst (event time), lifted no sooner than three dry hours after it.
  const lw = village('RG-LW-01')!
  expect(lw.versions[0]!.ts).toBeGreaterThan(T0 + 2 * H)
  expect(lw.versions[0]!.ts).toBeLessThanOrEqual(T0 + 3 * H)
  expect(lw.versions.at(-1)!.ts).toBeGreaterThanOrEqual(T0 + 2 * H + 50 * 60_000 + 3 * H)
  expect(lw.versions[0]!.text).toContain('准备转移')
  expect(lw.versions[1]!.text).toContain('立即转移')
  expect(village('RG-SM-01')!.versions[0]!.text).toContain('准备转移')
  for (const w of warnings) for (const v of w.versions) expect(v.text).not.toContain('。。')

  // Loudspeakers: 河口镇's villages hear it (the township warning reaches 桃园村 too); 清溪镇 and the
  // chemical park stay silent.
  const heard = (p: readonly { terminalId: string; level: string }[], village: string) =>
    new Set(p.filter((r) => r.terminalId.startsWith(`T${village}`)).map((r) => r.level))
  const played = await until(
    async () => fleet!.played(),
    (p) => heard(p, '511823100201').has('red') && heard(p, '511823100203').size > 0,
    'the red warning in Liuwan and the township warning in Taoyuan',
  )
  const villages = new Set(played.map((p) => p.terminalId.slice(1, 13)))
  expect(villages).toEqual(new Set(['511823100201', '511823100202', '511823100203']))
  expect(heard(played, '511823100202')).toEqual(new Set(['orange'])) // Shimen: prepare, never evacuate
}, 60_000)
