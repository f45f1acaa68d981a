/**
 * Enterprise gas alarms (GB/T 50493-2019): two stages, latched until an operator resets them once
 * the concentration has fallen.
 */
import { afterAll, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { api, collector, connect, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { device } from '../helpers/devices.js'

const T0 = Date.UTC(2026, 6, 15)
let gw: RunningGateway | undefined
afterAll(async () => gw?.stop())

const reset = (id: string, token?: string) =>
  api(gw!.urls.http, 'POST', `/api/warnings/${id}/reset`, {}, token)

test('combustible gas: 一级 then 二级 alarm, latched while it falls, reset refused until clear, then lifted', async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  const cmds = await collector(gw.urls.mqtt, 'terminals/T511823200201-01/cmd')
  const detector = await connect(gw.urls.mqtt, device('gas-pk-01'))
  const lel = (s: number, v: number) =>
    detector.publishAsync(
      sensorDataTopic('gas', 'gas-pk-01'),
      JSON.stringify({ ts: T0 + s * 1000, values: { lel_pct: v } }),
      { qos: 1 },
    )

  await lel(0, 30)
  await lel(10, 55)
  await cmds.waitFor(2)
  expect(cmds.messages.map((m) => [m.payload.kind, m.payload.level])).toEqual([
    ['issue', 'level_1'],
    ['update', 'level_2'],
  ])
  const [first, second] = cmds.messages
  expect(String(first!.payload.text)).toContain('【一级报警】')
  expect(String(second!.payload.text)).toContain('可燃气体浓度55%LEL，达到或超过50%LEL')
  expect(second!.payload.priority).toBe(140) // evacuation: as urgent as a red warning
  const id = String(second!.payload.warningId)

  expect((await reset(id, '')).status).toBe(401) // only an operator may reset
  expect((await reset(id, 'wrong-token')).status).toBe(401)
  const early = await reset(id)
  expect(early.status).toBe(409)
  expect(await early.json()).toMatchObject({ error: 'conflict', detail: { level: 'level_2' } })

  await lel(20, 5) // the leak is stopped: a latched alarm does not clear by itself
  await lel(600, 2)
  await cmds.mark(gw.urls.http, '511823200201', 1)
  expect(cmds.messages).toHaveLength(2)

  const ok = await reset(id)
  expect(ok.status).toBe(200)
  expect(await ok.json()).toEqual({ ok: true, warningId: id, version: 3, state: 'lifted' })
  await cmds.waitFor(3)
  expect(cmds.messages[2]!.payload).toMatchObject({ kind: 'lift', version: 3, level: 'level_2' })
  expect(String(cmds.messages[2]!.payload.text)).toContain('【报警解除】')

  // After the reset the alarm can be raised again.
  await lel(610, 26)
  await cmds.waitFor(4)
  expect(cmds.messages[3]!.payload).toMatchObject({ kind: 'issue', level: 'level_1' })
  expect((await reset('nope')).status).toBe(404)
  await Promise.all([cmds.close(), detector.endAsync()])
})
