/**
 * A subscriber to `sensors/#` that disconnects while a QoS 0 flood is queued for it must not bring
 * the gateway down (moscajs/aedes#193). The control run shows the same flood kills bare aedes 1.2,
 * so this test keeps proving something as long as the bug exists upstream.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { startChildGateway, type ChildGateway } from '../helpers/child-gateway.js'
import { floodThenDropSubscriber } from '../helpers/flood.js'
import { getJson, makeConfigDir, metric } from '../helpers/gateway.js'

const ROOT = join(import.meta.dirname, '../..')
let gw: ChildGateway | undefined
afterAll(() => {
  gw?.proc.kill('SIGTERM')
})

test('control: the flood kills bare aedes with a stack overflow', () => {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'tests/fixtures/bare-aedes-193.ts')],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    },
  )
  expect(run.stdout).toContain('crashed: Maximum call stack size exceeded')
}, 70_000)

test('the gateway survives the same flood and keeps serving', async () => {
  // In its own process, like the control, so a crash shows as an exit rather than a test-runner error.
  gw = await startChildGateway(makeConfigDir().config)
  const sent = await floodThenDropSubscriber(gw.mqttUrl, {
    publishers: 20,
    durationMs: 3000,
    topic: () => sensorDataTopic('water_level', 'wl-lw-01'),
    payload: (n) => JSON.stringify({ ts: Date.UTC(2026, 6, 15) + n, values: { stage_m: 30 } }),
  })
  expect(sent).toBeGreaterThan(100_000)
  expect(gw.proc.exitCode).toBeNull()
  expect(gw.proc.signalCode).toBeNull()
  expect((await getJson(gw.httpUrl, '/health')).status).toBe('ok')
  expect(await metric(gw.httpUrl, 'shaobing_readings_received_total')).toBeGreaterThan(0)
}, 70_000)
