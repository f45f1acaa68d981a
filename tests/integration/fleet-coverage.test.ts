/**
 * Coverage that stays true on a fleet that misbehaves: a tenth of the loudspeakers are flaky (half
 * their plays fail with an amplifier fault) and a twentieth are away when the warning goes out and
 * come back later. At every look the gateway's coverage claims no more than the terminals really
 * did; at the end every terminal played the version exactly once and the figures equal the fleet's
 * own record.
 */
import { afterEach, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { registryTerminals } from '../../sensors-sim/src/main.js'
import { startTerminals, type TerminalFleet } from '../../sensors-sim/src/terminals.js'
import { registryCredentials } from '../helpers/devices.js'
import { api, DEMO_REGISTRY, getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

let gw: RunningGateway | undefined
let fleet: TerminalFleet | undefined
afterEach(async () => {
  await fleet?.close()
  await gw?.stop()
})

interface Coverage {
  versions: Record<string, number | null>[]
}

test('a tenth flaky and a twentieth away: coverage never claims more than was played, and ends exact', async () => {
  ;({ gw } = await startTestGateway(
    makeConfigDir(
      undefined,
      'warnings: { tickEvery: 20ms, playableFor: 1h, delivery: { retryAfter: 150ms, maxAttempts: 50 } }',
    ).config,
  ))
  const terminals = registryTerminals(DEMO_REGISTRY)
  fleet = await startTerminals({
    url: gw.urls.mqtt,
    terminals,
    flakyFraction: 0.1,
    offlineFraction: 0.05,
    offlineReturnAfterMs: 1500,
    playMs: 5,
    seed: 11,
    credentials: registryCredentials(DEMO_REGISTRY),
  })
  expect(fleet.offline.length).toBeGreaterThan(0)
  const r = await api(gw.urls.http, 'POST', '/api/warnings', {
    hazard: 'flood',
    level: 'orange',
    regions: ['511823000000'],
  })
  const { warningId } = (await r.json()) as { warningId: string }
  const truth = () =>
    new Set(
      fleet!
        .played()
        .filter((p) => p.warningId === warningId)
        .map((p) => p.terminalId),
    )
  const looks: number[] = []
  const final = await until(
    async () => {
      // Read the terminals' record after the gateway's figures: it can only have grown since.
      const cov = await getJson<Coverage>(gw!.urls.http, `/api/warnings/${warningId}/coverage`)
      const d = await getJson<{ deliveries: { terminalId: string; state: string }[] }>(
        gw!.urls.http,
        `/api/warnings/${warningId}/deliveries`,
      )
      const real = truth()
      const claimed = d.deliveries.filter((x) => x.state === 'played').map((x) => x.terminalId)
      // Never a terminal counted played that did not play.
      for (const t of claimed) expect(real.has(t)).toBe(true)
      const ls = cov.versions[0]!
      // Read before the terminals' record, so it can only be behind it, never ahead.
      expect(ls.played).toBeLessThanOrEqual(real.size)
      expect(ls.played).toBeLessThanOrEqual(claimed.length)
      expect(ls.targeted).toBe(terminals.length)
      looks.push(claimed.length)
      return { ls, claimed, real }
    },
    (x) => x.ls.played === terminals.length,
    'every loudspeaker played',
    20_000,
  )
  await fleet.returned
  expect(final.real.size).toBe(terminals.length)
  // Played once each, flaky ones after their failed attempts, the returning ones after coming back.
  const plays = fleet.played().filter((p) => p.warningId === warningId)
  expect(plays).toHaveLength(terminals.length)
  const failed = fleet.receipts().filter((x) => x.warningId === warningId && x.state === 'failed')
  expect(failed.length).toBeGreaterThan(0)
  expect(final.ls).toMatchObject({ targeted: 28, played: 28, failed: 0, offline: 0, unanswered: 0 })
  // The figures rose as the terminals played, never back.
  expect(looks).toEqual([...looks].sort((a, b) => a - b))
}, 40_000)
