/**
 * Bounded storage against a real gateway and a real MQTT device: at its disk budget the store
 * first folds old readings into hourly buckets (tight retention), keeping the rules' windows raw;
 * when nothing more can go, new readings are refused and not acknowledged (the device keeps them
 * and sends them again), warnings still go out, the operator is told, and everything resumes when
 * space returns. No acknowledged reading is lost.
 */
import { writeFileSync, readFileSync } from 'node:fs'
import type { MqttClient } from 'mqtt'
import { afterEach, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { device } from '../helpers/devices.js'
import {
  api,
  collector,
  connect,
  getJson,
  makeConfigDir,
  metric,
  startTestGateway,
} from '../helpers/gateway.js'
import { until } from '../helpers/wait.js'

const STATION = 'WL-LW-01'
const SENSOR = 'wl-lw-01'
const TOPIC = sensorDataTopic('water_level', SENSOR)
const H = 3_600_000
const MB = 1024 * 1024

let gw: RunningGateway | undefined
let client: MqttClient | undefined
afterEach(async () => {
  await client?.endAsync(true).catch(() => {})
  await gw?.stop()
  gw = client = undefined
})

interface Health {
  status: string
  storage: { state: string; usedBytes: number; fileBytes: number; freeBytes: number }
}
const health = () => getJson<Health>(gw!.urls.http, '/health')

/** Sets the budget `extraMb` above what the store uses now, by a reload. */
async function budgetAbove(config: string, extraMb: number): Promise<number> {
  const used = (await health()).storage.usedBytes
  const maxMb = Math.ceil((used / MB + extraMb) * 100) / 100
  writeFileSync(
    config,
    readFileSync(config, 'utf8') +
      `\nstore: { budget: { maxMb: ${maxMb}, reserveMb: 0.1, minFreeMb: 0, checkEvery: 50ms } }\n`,
  )
  const r = gw!.reload()
  expect(r.ok).toBe(true)
  return maxMb * MB
}

const stored = async (from: number, to: number) =>
  (
    await getJson<{ readings: unknown[] }>(
      gw!.urls.http,
      `/api/stations/${STATION}/readings?from=${from}&to=${to}&limit=10000`,
    )
  ).readings.length

test('at the budget, old readings are folded into hourly buckets; the rules’ windows stay raw and nothing is lost', async () => {
  const { config } = makeConfigDir()
  ;({ gw } = await startTestGateway(config))
  const maxBytes = await budgetAbove(config, 0.35)
  client = await connect(gw.urls.mqtt, device(SENSOR, { reconnectPeriod: 100 }))
  // A reading every 10 minutes for 500 hours, ending 30 days ago: raw, more than the budget holds;
  // folded into hours (six readings to a row), it fits.
  const N = 3000
  const STEP = 10 * 60_000
  const start = Math.floor((Date.now() - 30 * 24 * H - N * STEP) / H) * H
  const value = (i: number) => 30 + (i % 10) / 10
  for (let i = 0; i < N; i += 100)
    await Promise.all(
      Array.from({ length: 100 }, (_, k) =>
        client!.publishAsync(
          TOPIC,
          JSON.stringify({ ts: start + (i + k) * STEP, values: { stage_m: value(i + k) } }),
          {
            qos: 1,
          },
        ),
      ),
    )
  // Every one acknowledged (above); a budget check after them has folded, and the budget holds.
  await until(
    async () => ({
      h: await health(),
      tight: await metric(gw!.urls.http, 'shaobing_retention_folded_total', 'pass="tight"'),
    }),
    ({ h, tight }) => tight > 0 && h.storage.usedBytes <= maxBytes && h.storage.state === 'ok',
    'tight passes keeping the store within its budget',
  )
  const latest = start + (N - 1) * STEP
  const raw = await stored(start, latest + 1)
  const folded = await getJson<{
    aggregates: { bucket: number; n: number; stats: { stage_m: Record<string, number> } }[]
  }>(gw.urls.http, `/api/stations/${STATION}/aggregates?from=${start}&to=${latest + 1}&limit=10000`)
  // The budget held without refusing anything (a refusal closes the connection, and a reading whose
  // PUBACK that loses may come again after its hour was folded: counted twice, see docs/semantics.md).
  expect(await metric(gw.urls.http, 'shaobing_readings_refused_store_full_total')).toBe(0)
  // Each reading is exactly once either raw or in its hour's bucket.
  expect(raw + folded.aggregates.reduce((n, a) => n + a.n, 0)).toBe(N)
  expect(folded.aggregates[0]).toEqual(
    expect.objectContaining({
      bucket: start,
      n: 6,
      stats: { stage_m: { min: 30, max: 30.5, sum: 181.5, n: 6, last: 30.5, lastTs: start + 5 * STEP } },
    }),
  )
  // The rules' longest window (96 h of the shipped catalogues) behind the latest reading stays raw.
  expect(await stored(latest - 96 * H, latest + 1)).toBe(96 * 6 + 1)
})

test('full: readings are refused unacknowledged, warnings still go out, and all resumes when space returns', async () => {
  const { config } = makeConfigDir()
  const started = await startTestGateway(config)
  gw = started.gw
  await budgetAbove(config, 0.3)
  client = await connect(gw.urls.mqtt, device(SENSOR, { reconnectPeriod: 100 }))
  let closed = false
  const onClose = new Promise((r) => client!.once('close', () => r('closed')))
  void onClose.then(() => (closed = true))
  // Readings a second apart, all inside the rules' windows: nothing may be folded to make room.
  const t0 = Date.now() - 2 * H
  let acked = 0
  let pending: Promise<unknown> | undefined
  for (let i = 0; !closed && i < 20_000; i++) {
    const p = client.publishAsync(TOPIC, JSON.stringify({ ts: t0 + i * 1000, values: { stage_m: 30.1 } }), {
      qos: 1,
    })
    const first = await Promise.race([p.then(() => 'acked'), onClose])
    if (first === 'acked') acked++
    else pending = p // refused: mqtt.js keeps it and sends it again after reconnecting
  }
  expect(pending).toBeDefined()
  const h = await until(health, (x) => x.storage.state === 'full', 'the store full')
  expect(h.status).toBe('degraded')
  expect(await metric(gw.urls.http, 'shaobing_store_full')).toBe(1)
  expect(await metric(gw.urls.http, 'shaobing_readings_refused_store_full_total')).toBeGreaterThan(0)
  expect(
    started.lines.some(
      (l) => l.msg === 'store at its disk budget: new readings are refused until space returns',
    ),
  ).toBe(true)
  // A warning decided now still goes out to the village's loudspeakers.
  const cmds = await collector(gw.urls.mqtt, 'terminals/+/cmd')
  const res = await api(gw.urls.http, 'POST', '/api/warnings', {
    hazard: 'flood',
    level: 'orange',
    regions: ['511823100201'],
    text: '柳湾村注意：青衣江水位上涨',
  })
  expect(res.status).toBe(200)
  const { warningId: id } = (await res.json()) as { warningId: string }
  await until(
    () => cmds.messages.filter((m) => m.payload.warningId === id).length,
    (n) => n > 0,
    'the warning on a loudspeaker',
  )
  await cmds.close()
  // Every acknowledged reading is stored.
  expect(await stored(t0, t0 + 20_000 * 1000)).toBe(acked)
  // Space returns (the budget raised): the refused reading comes again and is stored.
  writeFileSync(config, readFileSync(config, 'utf8').replace(/maxMb: [\d.]+/, 'maxMb: 4096'))
  expect(gw.reload().ok).toBe(true)
  await pending
  await until(health, (x) => x.status === 'ok', 'the store accepting readings')
  expect(await stored(t0, t0 + 20_000 * 1000)).toBe(acked + 1)
  expect(
    started.lines.some((l) => l.msg === 'store below its disk budget again: readings are accepted'),
  ).toBe(true)
})
