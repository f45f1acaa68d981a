/**
 * SMS over SMPP 3.4 against a real SMPP server in-process (the simulated SMSC): long Chinese
 * warnings in UCS-2 split and reassembled, delivery receipts per recipient, an SMSC outage queued
 * and drained without duplicates, per-recipient caps that a red overrides, and 叫应 answered by SMS
 * reply or API, resent, then passed to the superior, on a controlled clock. Receipts that an SMSC
 * sends as soon as it has answered a part, or even ahead of the answer, still count (issue 17).
 */
import { afterEach, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { EARLY_RECEIPT_KEEP_MS } from '../../gateway/src/channels/sms/channel.js'
import { startSmsc, type Smsc } from '../../sensors-sim/src/smsc.js'
import { api, getJson, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { clock, until } from '../helpers/wait.js'

const M = 60_000
let gw: RunningGateway | undefined
let smsc: Smsc | undefined
afterEach(async () => {
  await gw?.stop()
  await smsc?.close()
  gw = undefined
  smsc = undefined
})

function gatewayConfig(port: number, extra = '') {
  return makeConfigDir(
    undefined,
    [
      `sms: { url: 'smpp://127.0.0.1:${port}', systemId: shaobing, password: secret, ratePerSecond: 200, retryAfter: 200ms, hourlyCap: 3 }`,
      'callout: { answerWithin: 5m, resends: 1 }',
      'warnings: { tickEvery: 20ms }',
      extra,
    ].join('\n'),
  ).config
}

/** A simulated SMSC and a gateway bound to it as a transceiver. */
async function boundGateway(smscOptions: Parameters<typeof startSmsc>[0] = {}, now?: () => number) {
  smsc = await startSmsc(smscOptions)
  const started = await startTestGateway(gatewayConfig(smsc.port), now)
  gw = started.gw
  await until(
    () => getJson<{ bound: boolean }>(gw!.urls.http, '/api/sms'),
    (s) => s.bound,
    'the bind',
  )
  return { smsc, gw, lines: started.lines }
}

const LIUWAN_HEAD = '13800000101'
const HEKOU_DUTY = '13800000201'
const COUNTY_DUTY = '13800000301'

interface Detail {
  sms: { phone: string; state: string; parts: number; purpose: string }[]
  callouts: {
    personId: string
    state: string
    sends: number
    via: string | null
    escalatedFrom: number | null
  }[]
}
const detail = (id: string) => getJson<Detail>(gw!.urls.http, `/api/warnings/${id}`)

describe('SMS over SMPP', () => {
  test('a long Chinese warning reaches the responsible people in UCS-2 parts, reassembled, with receipts', async () => {
    const { smsc, gw } = await boundGateway({ systemId: 'shaobing', password: 'secret' })
    const text =
      '【黄色预警】示范县河口镇柳湾村：青衣江柳湾水文站洪水黄色预警。水位33.2米，达到或超过警戒水位32.5米。请做好防范准备，低洼地带群众注意安全，听从村两委指挥，不要在河边逗留。'
    expect(text.length).toBeGreaterThan(70)
    const r = await api(gw.urls.http, 'POST', '/api/warnings', {
      hazard: 'flood',
      level: 'yellow',
      regions: ['511823100201'],
      text,
    })
    const { warningId } = (await r.json()) as { warningId: string }
    // Liuwan's village head; the township and county duty officers are not inside the village.
    const got = await until(
      () => smsc!.received(LIUWAN_HEAD),
      (m) => m.length === 1,
      'the SMS',
    )
    expect(got[0]).toEqual({ to: LIUWAN_HEAD, from: '12379', text })
    const parts = smsc.submitted.filter((s) => s.to === LIUWAN_HEAD)
    expect(parts.length).toBe(Math.ceil(text.length / 67))
    expect(new Set(parts.map((p) => p.part!.ref)).size).toBe(1)
    const d = await until(
      () => detail(warningId),
      (x) => x.sms.length > 0 && x.sms.every((s) => s.state === 'delivered'),
      'delivery receipts',
    )
    expect(d.sms).toEqual([
      expect.objectContaining({ phone: LIUWAN_HEAD, parts: parts.length, purpose: 'warning' }),
    ])
  })

  test('an SMSC outage queues durably; when it returns the queue drains and nothing is sent twice', async () => {
    const { smsc, gw } = await boundGateway()
    await smsc.down()
    await until(
      () => getJson<{ bound: boolean }>(gw!.urls.http, '/api/sms'),
      (s) => !s.bound,
      'the outage',
    )
    // A county-wide warning: every village head and duty officer of the county.
    for (const level of ['blue', 'yellow'] as const)
      await api(gw.urls.http, 'POST', '/api/warnings', {
        hazard: 'rainstorm',
        level,
        regions: ['511823000000'],
      })
    const queued = await getJson<{ backlog: number }>(gw.urls.http, '/api/sms')
    // Eight people of the county (village heads, duty officers, the park's safety officer), twice.
    expect(queued.backlog).toBe(16)
    // Nothing got out. Since smsc.down() nothing listens on its port, so this holds whenever it is
    // checked: waiting before it would prove nothing more.
    expect(smsc.submitted).toHaveLength(0)
    await smsc.up()
    await until(
      () => getJson<{ backlog: number }>(gw!.urls.http, '/api/sms'),
      (s) => s.backlog === 0,
      'the drain',
    )
    const whole = smsc.received()
    const keys = whole.map((m) => `${m.to}|${m.text}`)
    expect(new Set(keys).size).toBe(keys.length) // nothing twice
    expect(whole).toHaveLength(queued.backlog)
  })

  test('past a recipient’s hourly cap routine messages are held back; a red warning still goes', async () => {
    const { gw } = await boundGateway()
    const issue = async (level: string) => {
      const r = await api(gw!.urls.http, 'POST', '/api/warnings', {
        hazard: 'gale',
        level,
        regions: ['511823100201'],
      })
      return ((await r.json()) as { warningId: string }).warningId
    }
    const ids: string[] = []
    for (const level of ['blue', 'blue', 'blue', 'blue']) {
      ids.push(await issue(level))
      await until(
        () => detail(ids.at(-1)!),
        (d) => d.sms.every((s) => s.state !== 'queued'),
        'the send',
      )
    }
    const states = await Promise.all(ids.map(async (id) => (await detail(id)).sms.map((s) => s.state)))
    expect(states.flat().filter((s) => s === 'capped')).toHaveLength(1)
    const red = await issue('red')
    const d = await until(
      () => detail(red),
      (x) => x.sms.some((s) => s.purpose === 'warning' && s.state !== 'queued'),
      'the red',
    )
    expect(d.sms.filter((s) => s.purpose === 'warning').map((s) => s.state)).not.toContain('capped')
  })
})

/** shaobing_sms_outcomes_total by outcome, from /metrics. */
async function outcomes(): Promise<Record<string, number>> {
  const text = await (await fetch(`${gw!.urls.http}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/^shaobing_sms_outcomes_total\{outcome="(\w+)"\} (\d+)/gm))
    out[m[1]!] = Number(m[2])
  return out
}

describe('SMS delivery receipts that come early (issue 17)', () => {
  const LONG =
    '【黄色预警】示范县：县气象台发布暴雨黄色预警。预计未来6小时内全县降雨量将达50毫米以上，局地可达80毫米。请做好防范准备，低洼地带群众注意安全，远离河道和山坡，听从村两委指挥。'

  /** A county-wide warning with a long text: every person of the county gets a multi-part SMS. */
  async function countyWide() {
    const r = await api(gw!.urls.http, 'POST', '/api/warnings', {
      hazard: 'rainstorm',
      level: 'yellow',
      regions: ['511823000000'],
      text: LONG,
    })
    return ((await r.json()) as { warningId: string }).warningId
  }

  /** Waits until no SMS of the warning is waiting for the SMSC or its answer any more. */
  const settled = (warningId: string) =>
    until(
      () => detail(warningId),
      (d) => d.sms.length === 8 && d.sms.every((s) => s.state === 'delivered'),
      'every multi-part SMS delivered',
    )

  test('an SMSC that receipts each part right after answering it: every multi-part SMS ends delivered, coverage counts them', async () => {
    const { smsc } = await boundGateway({ receiptTiming: 'after-response' })
    expect(LONG.length).toBeGreaterThan(70)
    const warningId = await countyWide()
    const d = await settled(warningId)
    const parts = Math.ceil(LONG.length / 67)
    expect(d.sms.map((s) => s.parts)).toEqual(Array(8).fill(parts))
    expect(smsc.submitted).toHaveLength(8 * parts)
    const coverage = await getJson<{ versions: { sms: { targeted: number; delivered: number } }[] }>(
      gw!.urls.http,
      `/api/warnings/${warningId}/coverage`,
    )
    expect(coverage.versions.map((c) => c.sms)).toEqual([{ targeted: 8, delivered: 8 }])
    const o = await outcomes()
    expect(o.delivered_part).toBe(8 * parts)
    expect(o.receipt_unmatched ?? 0).toBe(0)
  })

  test('a receipt ahead of its submit_sm_resp is kept until its message id arrives, then applied', async () => {
    const { smsc } = await boundGateway({ receiptTiming: 'before-response' })
    const warningId = await countyWide()
    await settled(warningId)
    const n = smsc.submitted.length
    expect(n).toBe(8 * Math.ceil(LONG.length / 67))
    const o = await outcomes()
    // Every receipt came before its id: each was kept, and each applied when the id arrived.
    expect(o).toMatchObject({ receipt_early: n, receipt_early_applied: n, delivered_part: n })
  })

  test('a receipt whose message id never becomes known is counted and logged when it expires', async () => {
    const c = clock()
    const { smsc, lines } = await boundGateway({}, c.now)
    smsc.receipt('NEVER-GIVEN-1')
    await until(outcomes, (o) => o.receipt_early === 1, 'the receipt kept')
    // Expiry is on the gateway's clock: before it, the receipt waits (still 0 unmatched).
    c.advance(EARLY_RECEIPT_KEEP_MS - 1)
    expect((await outcomes()).receipt_unmatched ?? 0).toBe(0)
    // A later marker: a message sent and receipted after the first advance is handled, so the pump
    // has run meanwhile; the early receipt has still not expired.
    await api(gw!.urls.http, 'POST', '/api/warnings', {
      hazard: 'gale',
      level: 'blue',
      regions: ['511823100201'],
    })
    await until(outcomes, (o) => o.delivered_part === 1, 'a later receipt')
    expect((await outcomes()).receipt_unmatched ?? 0).toBe(0)
    c.advance(1)
    await until(outcomes, (o) => o.receipt_unmatched === 1, 'the unmatched receipt expired')
    expect(lines).toContainEqual(
      expect.objectContaining({
        component: 'sms',
        msg: 'SMS receipts for unknown message ids dropped',
        messageIds: ['NEVER-GIVEN-1'],
      }),
    )
  })
})

describe('叫应 call-and-answer', () => {
  test('orange and red calls the responsible people; replies and API answers count; silence is resent, then passed up', async () => {
    const c = clock()
    const { smsc, gw } = await boundGateway({}, c.now)
    // A township-wide red: Hekou's three village heads and its duty officer are called.
    const r = await api(gw.urls.http, 'POST', '/api/warnings', {
      hazard: 'flash_flood',
      level: 'red',
      regions: ['511823100000'],
    })
    const { warningId } = (await r.json()) as { warningId: string }
    const called = await until(
      () => detail(warningId),
      (d) => d.callouts.length === 4,
      'the calls',
    )
    expect(called.callouts.map((x) => x.personId).sort()).toEqual([
      'P-HK-DUTY',
      'P-LW-HEAD',
      'P-SM-HEAD',
      'P-TY-HEAD',
    ])
    await until(
      () => smsc!.received(LIUWAN_HEAD),
      (m) => m.some((x) => x.text.startsWith('【叫应】')),
      'the call SMS',
    )

    // Liuwan's head replies by SMS; Shimen's head is marked answered by the duty desk.
    smsc.reply(LIUWAN_HEAD, '12379', '1 收到')
    await until(
      () => detail(warningId),
      (d) => d.callouts.some((x) => x.personId === 'P-LW-HEAD' && x.state === 'answered'),
      'the SMS answer',
    )
    expect(
      (await api(gw.urls.http, 'POST', `/api/warnings/${warningId}/answer`, { personId: 'P-SM-HEAD' }))
        .status,
    ).toBe(200)
    expect(
      (await api(gw.urls.http, 'POST', `/api/warnings/${warningId}/answer`, { personId: 'P-SM-HEAD' }))
        .status,
    ).toBe(404)

    // Five minutes unanswered: the others are called again; five more: passed to the superior.
    c.advance(5 * M)
    await until(
      () => detail(warningId),
      (d) => d.callouts.filter((x) => x.sends === 2).length === 2,
      'the resends',
    )
    c.advance(5 * M)
    const up = await until(
      () => detail(warningId),
      (d) => d.callouts.some((x) => x.escalatedFrom !== null),
      'the escalation',
    )
    const byPerson = Object.fromEntries(
      up.callouts.filter((x) => x.escalatedFrom === null).map((x) => [x.personId, [x.state, x.via]]),
    )
    expect(byPerson).toEqual({
      'P-LW-HEAD': ['answered', 'sms'],
      'P-SM-HEAD': ['answered', 'api'],
      'P-TY-HEAD': ['escalated', null],
      'P-HK-DUTY': ['escalated', null],
    })
    // Taoyuan's head passes to the township duty officer, who is already called; the township duty
    // officer passes to the county's.
    expect(up.callouts.filter((x) => x.escalatedFrom !== null).map((x) => x.personId)).toEqual(['P-CO-DUTY'])
    await until(
      () => smsc!.received(COUNTY_DUTY),
      (m) => m.some((x) => x.text.startsWith('【叫应】')),
      'the county call',
    )
    expect(smsc.received(HEKOU_DUTY).length).toBeGreaterThan(0)
  })
})
