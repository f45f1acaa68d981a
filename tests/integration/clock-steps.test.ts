/**
 * Issue 17, proven under faults: the wall clock steps forward and back by an hour. An in-process
 * gateway runs on a hand-moved clock (StartOptions.now) with its real tickers; the test steps the
 * clock and checks approval timeouts, escalation deadlines, expiry and the faults' no-data timers
 * against README "When the wall clock steps":
 *
 * - forward: whatever falls due in the step fires on the next tick, once;
 * - back: nothing that fired is undone or fired again (an expired warning stays lifted and is not
 *   re-sent), and what was pending falls due after the same elapsed time as without the step.
 *
 * "Once" and "not again" are checked after a later deadline (one more escalation, a marker warning)
 * has fired, so the tickers have certainly run past the step.
 */
import { afterEach, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import type { GatewayEvent } from '../../gateway/src/events/types.js'
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
import { clock, until } from '../helpers/wait.js'

const M = 60_000
const H = 60 * M
const LIUWAN = '511823100201'
const SHIMEN = '511823100202'

let gw: RunningGateway | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

async function started() {
  const c = clock()
  const { config } = makeConfigDir(
    undefined,
    [
      'warnings:',
      '  approval: [{ hazards: [rainstorm], levels: [orange], timeout: 10m }]',
      '  escalation: { after: 10m }',
      '  expireAfter: 90m',
      '  tickEvery: 20ms',
      'faults: { checkEvery: 20ms }',
    ].join('\n'),
  )
  const started = await startTestGateway(config, c.now)
  gw = started.gw
  const events: GatewayEvent[] = []
  gw.listen((e) => events.push(e))
  return { c, gw, events, lines: started.lines }
}

async function issue(base: string, level: string, region: string, text: string) {
  const r = await api(base, 'POST', '/api/warnings', { hazard: 'flood', level, regions: [region], text })
  expect(r.status).toBe(200)
  return (await r.json()) as { warningId: string; release: string }
}

/**
 * 60 mm of rain in the last half hour at the Liuwan gauge (stamped by the gateway's clock): an
 * orange rainstorm warning, which waits for an approver. Returns its warning id.
 */
async function pendingOrange(url: string, now: number, events: GatewayEvent[]): Promise<string> {
  const gauge = await connect(url, device('rg-lw-01'))
  for (const [ts, mm] of [
    [now - 30 * M, 30],
    [now, 30],
  ] as const)
    await gauge.publishAsync(
      sensorDataTopic('rain', 'rg-lw-01'),
      JSON.stringify({ ts, values: { rain_mm: mm } }),
      {
        qos: 1,
      },
    )
  await gauge.endAsync()
  const needed = await until(
    () => events.filter((e) => e.type === 'approval.needed' && e.hazard === 'rainstorm'),
    (l) => l.length > 0,
    'the orange rainstorm version waiting for an approver',
  )
  return (needed[0]!.data as { warningId: string }).warningId
}

const of = (events: GatewayEvent[], type: string, warningId?: string) =>
  events.filter(
    (e) =>
      e.type === type &&
      (warningId === undefined || (e.data as { warningId?: string }).warningId === warningId),
  )

test('a step forward by an hour fires what fell due in it, once each', async () => {
  const { c, gw, events } = await started()
  const base = gw.urls.http
  const yellow = await issue(base, 'yellow', LIUWAN, '【黄色预警】柳湾村 时钟前跳')
  const red = { warningId: await pendingOrange(gw.urls.mqtt, c.now(), events) }
  expect(yellow.release).toBe('released')

  c.advance(H)
  // The approval timeout (10 m), the escalation (10 m) and every sensor's no-data timer (30 m)
  // fell due inside the step: each fires.
  await until(
    () => of(events, 'warning.released', red.warningId).length,
    (n) => n >= 1,
    'the orange version released by its approval timeout',
  )
  await until(
    () => of(events, 'warning.escalated', yellow.warningId).length,
    (n) => n >= 1,
    'the yellow warning escalated',
  )
  const raised = () => of(events, 'fault.raised').map((e) => (e.data as { sensorId: string }).sensorId)
  await until(raised, (ids) => ids.includes('rg-lw-01'), 'the silent rain gauge in fault')
  // A later deadline: ten minutes on, the next tier is called in. Everything the tickers did for
  // the step is done by then.
  c.advance(10 * M)
  await until(
    () => of(events, 'warning.escalated', yellow.warningId).length,
    (n) => n >= 2,
    'the second escalation',
  )
  expect(of(events, 'warning.released', red.warningId)).toHaveLength(1)
  expect(
    of(events, 'warning.escalated', yellow.warningId).map((e) => (e.data as { tier: number }).tier),
  ).toEqual([1, 2])
  expect(raised().length).toBe(new Set(raised()).size) // each silent sensor once
  expect(await metric(base, 'shaobing_clock_steps_back_total')).toBe(0)

  // A second hour forward passes the expiry (90 m after the last version): both end, once each.
  c.advance(H)
  const lifts = () =>
    [yellow.warningId, red.warningId].map(
      (id) =>
        of(events, 'warning.released', id).filter((e) => (e.data as { action: string }).action === 'lift')
          .length,
    )
  await until(lifts, (l) => l.every((n) => n >= 1), 'both warnings expired')
  const marker = await issue(base, 'yellow', LIUWAN, '【黄色预警】柳湾村 标记')
  c.advance(10 * M)
  await until(
    () => of(events, 'warning.escalated', marker.warningId).length,
    (n) => n >= 1,
    'the later warning escalated (the tickers ran after the expiry)',
  )
  expect(lifts()).toEqual([1, 1])
})

test('a step back by an hour undoes nothing, sends nothing again, and delays no deadline', async () => {
  const { c, gw, events, lines } = await started()
  const base = gw.urls.http
  const cmds = await collector(gw.urls.mqtt, 'terminals/+/cmd')
  try {
    // A warning that expires: 90 m and a bit after its version, it is lifted (终报).
    const expired = await issue(base, 'yellow', LIUWAN, '【黄色预警】柳湾村 将过期')
    c.advance(91 * M)
    await until(
      () =>
        of(events, 'warning.released', expired.warningId).map((e) => (e.data as { action: string }).action),
      (a) => a.includes('lift'),
      'the warning expired',
    )
    const sentForExpired = () => cmds.messages.filter((m) => m.payload.warningId === expired.warningId).length
    await until(sentForExpired, (n) => n >= 8, 'issue and lift on the four Liuwan terminals')

    // Pending deadlines, then the step back: an approval (10 m), an escalation (10 m) and a
    // sensor's no-data timer (30 m), all started just before it.
    const yellow = await issue(base, 'yellow', SHIMEN, '【黄色预警】石门村 时钟回拨')
    const red = { warningId: await pendingOrange(gw.urls.mqtt, c.now(), events) }
    await until(
      () =>
        of(events, 'fault.cleared').filter((e) => (e.data as { sensorId: string }).sensorId === 'rg-lw-01'),
      (l) => l.length === 1,
      'the gauge no longer silent',
    )
    const raisedFor = (id: string) =>
      of(events, 'fault.raised').filter((e) => (e.data as { sensorId: string }).sensorId === id).length
    const raisedBefore = raisedFor('rg-lw-01')

    c.advance(-H)
    // The gateway notices the step at its next reading of the clock (its tickers read it constantly).
    await until(
      () => metric(base, 'shaobing_clock_steps_back_total'),
      (n) => n === 1,
      'the step back noticed',
    )
    // Ten minutes of the stepped-back clock are ten minutes: the approval and the escalation fall due.
    c.advance(10 * M)
    await until(
      () => of(events, 'warning.released', red.warningId).length,
      (n) => n === 1,
      'the orange version released ten minutes after it was proposed',
    )
    await until(
      () => of(events, 'warning.escalated', yellow.warningId).length,
      (n) => n === 1,
      'the yellow warning escalated ten minutes after it was issued',
    )
    // …and twenty more are the gauge's thirty minutes of silence.
    c.advance(20 * M)
    await until(
      () => raisedFor('rg-lw-01'),
      (n) => n === raisedBefore + 1,
      'the gauge silent again',
    )

    // The expired warning stayed lifted, and nothing of it went out again: the orange version's
    // commands (sent after the step) are on the Liuwan terminals, and no new one of the expired.
    await until(
      () => cmds.messages.filter((m) => m.payload.warningId === red.warningId).length,
      (n) => n >= 1,
      'the orange version on the loudspeakers',
    )
    await cmds.mark(base, LIUWAN, 4)
    const w = await getJson<{ state: string; version: number }>(base, `/api/warnings/${expired.warningId}`)
    expect(w).toMatchObject({ state: 'lifted', version: 2 })
    expect(of(events, 'warning.released', expired.warningId)).toHaveLength(2)
    expect(sentForExpired()).toBe(8)
    expect(await metric(base, 'shaobing_clock_steps_back_total')).toBe(1)
    expect(lines.filter((l) => l.msg === 'wall clock stepped back')).toEqual([
      expect.objectContaining({ component: 'clock', stepMs: H }),
    ])
  } finally {
    await cmds.close()
  }
})
