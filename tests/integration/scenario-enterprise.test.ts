/**
 * The shipped enterprise scenarios end to end: a gas leak (two-stage alarm, latched after the leak
 * stops) and a dust-collector fire precursor (first-stage alarms, then the second stage).
 */
import { afterEach, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { allWarnings, playScenario } from '../helpers/scenario.js'

let gw: RunningGateway | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

async function play(name: string) {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const summary = await playScenario(gw.urls.mqtt, name, 100_000, Date.UTC(2026, 6, 15, 2))
  expect(summary.failed).toBe(0)
  return allWarnings(gw.urls.http)
}

test('gas leak: 一级 then 二级 alarm, still latched after the leak is stopped', async () => {
  const warnings = await play('gas-leak')
  const gas = warnings.filter((w) => w.ruleId === 'combustible-gas')
  expect(gas).toHaveLength(1)
  expect(gas[0]!.versions.map((v) => v.level)).toEqual(['level_1', 'level_2'])
  expect(gas[0]).toMatchObject({ state: 'active', level: 'level_2' })
})

test('dust precursor: temperature and pressure alarms, then the combined second stage', async () => {
  const warnings = await play('dust-precursor')
  // One warning per hazard and site: the collector's alarms grouped, at the most severe stage.
  const dust = warnings.filter((w) => w.ruleId.startsWith('dust-collector'))
  expect(dust).toHaveLength(1)
  expect(dust[0]!.versions.map((v) => v.level)).toContain('level_1')
  expect(dust[0]!.versions.map((v) => v.level)).toContain('level_2')
})
