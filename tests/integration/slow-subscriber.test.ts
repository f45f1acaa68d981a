/**
 * A subscriber to `sensors/#` that disconnects while a QoS 0 flood is queued for it must not bring
 * the gateway down (moscajs/aedes#193). The control run shows the same flood kills bare aedes 1.2,
 * so this test keeps proving something as long as the bug exists upstream.
 *
 * "The same flood" is a backlog, not a duration: both brokers are flooded until their own router
 * reports BACKLOG messages queued behind the stuck subscriber (bare aedes dies at a few thousand),
 * however fast or slow the machine, and only then is the subscriber dropped.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { startChildGateway, type ChildGateway } from '../helpers/child-gateway.js'
import { floodThenDropSubscriber } from '../helpers/flood.js'
import { device, monitor } from '../helpers/devices.js'
import { getJson, makeConfigDir, metric } from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

const ROOT = join(import.meta.dirname, '../..')
const PROBE = join(ROOT, 'tests/fixtures/router-backlog.ts')
// Messages queued at the drop. Bare aedes 1.2 on Node 20 overflows its stack from about 2,000;
// 20 publishers keep about 14,000 queued at most, whatever the machine.
const BACKLOG = 8000
let gw: ChildGateway | undefined
afterAll(() => {
  gw?.proc.kill('SIGTERM')
})

test('control: the flood kills bare aedes with a stack overflow', () => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'tests/fixtures/bare-aedes-193.ts'), String(BACKLOG)],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 90_000,
    },
  )
  expect(run.stdout).toContain('crashed: Maximum call stack size exceeded')
}, 100_000)

test('the gateway survives the same flood and keeps serving', async () => {
  // In its own process, like the control, so a crash shows as an exit rather than a test-runner error.
  const { dir, config } = makeConfigDir()
  const file = join(dir, 'router-backlog.json')
  gw = await startChildGateway(config, {
    nodeArgs: ['--import', 'tsx', '--import', PROBE],
    env: { SHAOBING_TEST_BACKLOG_FILE: file },
  })
  const child = gw
  let asked = 0
  // The gateway's router, asked through the probe preloaded into its process.
  const backlog = async () => {
    const n = ++asked
    child.proc.kill('SIGUSR2')
    const a = await until(
      () => {
        try {
          return JSON.parse(readFileSync(file, 'utf8')) as { answer: number; queued: number }
        } catch {
          return undefined // not written yet
        }
      },
      (x) => x !== undefined && x.answer >= n,
      "the gateway's router backlog",
      30_000,
    )
    return a!.queued
  }
  const flood = await Promise.race([
    floodThenDropSubscriber(gw.mqttUrl, {
      publishers: 20,
      topic: () => sensorDataTopic('water_level', 'wl-lw-01'),
      payload: (n) => JSON.stringify({ ts: Date.UTC(2026, 6, 15) + n, values: { stage_m: 30 } }),
      backlog,
      atLeast: BACKLOG,
      // The watchers are the test monitor (the test ACL lets it use test/#); the publishers all log
      // in as the gauge whose topic they flood, each with its own client id.
      login: (who, clientId) =>
        who === 'publisher' ? device('wl-lw-01', { clientId }) : monitor({ clientId }),
    }),
    gw.exited.then(({ code, signal }) => {
      throw new Error(`the gateway died during the flood (${code ?? signal})`)
    }),
  ])
  // The flood was as deep as the one that kills bare aedes, by the gateway's own count.
  expect(flood.backlog).toBeGreaterThanOrEqual(BACKLOG)
  expect(gw.proc.exitCode).toBeNull()
  expect(gw.proc.signalCode).toBeNull()
  // Up, its listeners and store sound. (A flood this deep may stall the event loop on a slow
  // machine, which /health rightly reports; that is not what this test is about.)
  const health = await getJson<{ degradedBy: string[] }>(gw.httpUrl, '/health')
  expect(health.degradedBy.filter((d) => d !== 'event_loop_stall')).toEqual([])
  expect(await metric(gw.httpUrl, 'shaobing_readings_received_total')).toBeGreaterThan(0)
}, 100_000)
