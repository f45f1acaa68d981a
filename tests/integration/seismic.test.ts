/**
 * Earthquake end to end: three strong-motion stations of the county publish 100 Hz accelerometer
 * batches over MQTT; the gateway derives GB/T 17742 intensity and STA/LTA triggers from the raw
 * samples, and the k-of-n rule raises one county-wide earthquake warning naming the stations.
 */
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { collector, connect, getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { prng } from '../helpers/wait.js'
import { device } from '../helpers/devices.js'

const T0 = Date.UTC(2026, 6, 15, 6)
const SR = 100
let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

/**
 * One second of a station's record (gal): sensor offset and gravity, noise, a P wave on the
 * vertical from `p` s and S-wave shaking of `amp` gal at 2 Hz on the horizontals from `s` s.
 */
function batch(second: number, p: number, s: number, amp: number, rnd: () => number) {
  const x: number[] = []
  const y: number[] = []
  const z: number[] = []
  for (let i = 0; i < SR; i++) {
    const t = second + i / SR
    const n = () => (rnd() - 0.5) * 0.4
    const pw = t >= p ? 12 * Math.sin(2 * Math.PI * 8 * t) * Math.exp(-(t - p) / 3) : 0
    const env = t < s ? 0 : t < s + 8 ? Math.min(1, (t - s) / 0.5) : Math.exp(-(t - s - 8) / 2)
    const sw = amp * env * Math.sin(2 * Math.PI * 2 * t)
    x.push(3 + n() + sw * 0.8)
    y.push(-2 + n() + sw * 0.6)
    z.push(980.6 + n() + pw)
  }
  return { ts: T0 + second * 1000, sr: SR, x, y, z }
}

interface Version {
  level: string
  explanation: { group?: string; contributors?: { stationId: string }[] }
}

test('three stations confirm an earthquake: one county warning, graded by intensity, naming them', async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const county = await collector(gw.urls.mqtt, 'terminals/+/cmd', { hazard: 'earthquake' })
  const stations = [
    { sensor: 'seis-hk-01', p: 15, s: 18, amp: 80 },
    { sensor: 'seis-qx-01', p: 16, s: 19.5, amp: 90 },
    { sensor: 'seis-yq-01', p: 16.5, s: 20.5, amp: 75 },
  ]
  const clients = await Promise.all(stations.map((s) => connect(gw!.urls.mqtt, device(s.sensor))))
  const rnds = stations.map((_, i) => prng(i + 1))
  for (let second = 0; second < 40; second++)
    await Promise.all(
      stations.map((st, i) =>
        clients[i]!.publishAsync(
          sensorDataTopic('seismic', st.sensor),
          JSON.stringify(batch(second, st.p, st.s, st.amp, rnds[i]!)),
          { qos: 1 },
        ),
      ),
    )

  const { warnings } = await getJson<{
    warnings: { id: string; ruleId: string; region: string; stationId: string }[]
  }>(gw.urls.http, '/api/warnings?state=all')
  const quake = warnings.filter((w) => w.ruleId === 'earthquake')
  expect(quake).toHaveLength(1)
  expect(quake[0]!.region).toBe('511823000000')
  const detail = await getJson<{ versions: Version[] }>(gw.urls.http, `/api/warnings/${quake[0]!.id}`)
  const levels = detail.versions.map((v) => v.level)
  // P triggers at three stations warn first (blue); the S waves' intensity (about VI) then grades it.
  expect(levels[0]).toBe('blue')
  expect(levels.at(-1)).toBe('orange')
  const last = detail.versions.at(-1)!.explanation
  expect(last.group).toBe('511823')
  expect(last.contributors!.map((c) => c.stationId).sort()).toEqual([
    'SEIS-HK-01',
    'SEIS-QX-01',
    'SEIS-YQ-01',
  ])

  // Every loudspeaker of the county gets every version of the earthquake warning.
  await county.waitFor(28 * levels.length)
  expect(new Set(county.messages.map((m) => m.topic)).size).toBe(28)

  // Each station's own shaking also raises its on-site strong-motion alarm.
  const strong = warnings.filter((w) => w.ruleId === 'strong-motion').map((w) => w.stationId)
  expect(strong.sort()).toEqual(['SEIS-HK-01', 'SEIS-QX-01', 'SEIS-YQ-01'])
  await Promise.all([county.close(), ...clients.map((c) => c.endAsync())])
}, 60_000)
