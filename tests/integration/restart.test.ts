/**
 * No warning state is lost on restart, and nothing is sent twice: a gateway stopped with an active
 * warning comes back with it, its windows rebuilt from stored readings, and resumes its lifecycle.
 */
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { collector, connect, getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { device } from '../helpers/devices.js'

const T0 = Date.UTC(2026, 6, 15)
const M = 60_000
const COUNTY = '511823000000'
let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

async function publishRain(url: string, from: number, amounts: number[]) {
  const gauge = await connect(url, device('rg-lw-01'))
  for (const [i, mm] of amounts.entries())
    await gauge.publishAsync(
      sensorDataTopic('rain', 'rg-lw-01'),
      JSON.stringify({ ts: T0 + (from + i) * 30 * M, values: { rain_mm: mm } }),
      { qos: 1 },
    )
  await gauge.endAsync()
}

test('an active warning survives a restart; the same level is not re-sent; the next change is version 2', async () => {
  const { config } = makeConfigDir()
  ;({ gw } = await startTestGateway(config))
  let cmds = await collector(gw.urls.mqtt, 'terminals/+/cmd', { hazard: 'rainstorm' })
  // 30 mm per half hour: 3 h sum reaches 60 at 1 h → orange; 4 terminals in the village.
  await publishRain(gw.urls.mqtt, 1, [30, 30])
  await cmds.waitFor(4)
  expect(new Set(cmds.messages.map((m) => `${m.payload.version}:${m.payload.level}`))).toEqual(
    new Set(['1:orange']),
  )
  await cmds.close()
  await gw.stop()

  ;({ gw } = await startTestGateway(config))
  const active = await getJson<{
    warnings: { id: string; hazard: string; level: string; version: number }[]
  }>(gw.urls.http, '/api/warnings?state=active')
  expect(active.warnings.filter((w) => w.hazard === 'rainstorm').map((w) => [w.level, w.version])).toEqual([
    ['orange', 1],
  ])
  cmds = await collector(gw.urls.mqtt, 'terminals/+/cmd', { hazard: 'rainstorm' })
  await cmds.mark(gw.urls.http, COUNTY, 28) // on every terminal, after anything sent on start
  expect(cmds.messages).toHaveLength(0) // nothing re-sent on start

  // 10 mm more keeps the 3 h sum at 70 (still orange): the restarted engine must know the window
  // (60 mm already fell) and the level, so nothing is sent…
  await publishRain(gw.urls.mqtt, 3, [10])
  await cmds.mark(gw.urls.http, COUNTY, 28)
  expect(cmds.messages).toHaveLength(0)
  // …and 30 mm more makes 100 mm in 3 h: red, as version 2 of the same warning.
  await publishRain(gw.urls.mqtt, 4, [30])
  await cmds.waitFor(4)
  expect(
    new Set(
      cmds.messages.map(
        (m) => `${m.payload.warningId}:${m.payload.version}:${m.payload.kind}:${m.payload.level}`,
      ),
    ),
  ).toEqual(new Set([`${active.warnings.find((w) => w.hazard === 'rainstorm')!.id}:2:update:red`]))
  await cmds.close()
})
