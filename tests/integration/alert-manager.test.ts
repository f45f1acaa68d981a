/**
 * The alert manager through a real gateway: grouping and races, silences and inhibition,
 * approval with timeout and two people, acknowledgement and escalation on a controlled clock,
 * flap damping and the rules' noise statistics, manual warnings, restart in the middle of it all,
 * and the append-only audit log.
 */
import Database from 'better-sqlite3'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import {
  api,
  collector,
  connect,
  DEMO_REGISTRY,
  getJson,
  makeConfigDir,
  startTestGateway,
  TOKENS,
} from '../helpers/gateway.js'
import { clock, until } from '../helpers/wait.js'
import { device } from '../helpers/devices.js'

const T0 = Date.UTC(2026, 6, 15)
const M = 60_000
const LIUWAN = '511823100201'
const TAOYUAN = '511823100203'

interface Version {
  version: number
  action: string
  level: string | null
  release: string
  releasedBy: string[]
  reason: string
  report: string
  capMsgType: string
  alerts: { stationId: string; level: string; mutedBy: number | null }[]
}
interface Warning {
  id: string
  key: string
  hazard: string
  region: string
  level: string | null
  state: string
  tier: number
  ackedBy: string | null
  escalateAt: number | null
  versions: Version[]
}

let gw: RunningGateway | undefined
afterEach(async () => {
  await gw?.stop()
  gw = undefined
})

const warnings = (state = 'all') =>
  getJson<{ warnings: Warning[] }>(gw!.urls.http, `/api/warnings?state=${state}`).then((r) => r.warnings)
const warning = (id: string) =>
  getJson<Warning & { escalations: { tier: number; region: string; people: { id: string }[] }[] }>(
    gw!.urls.http,
    `/api/warnings/${id}`,
  )

const alertList = () =>
  getJson<{ alerts: { key: string; stationId: string }[] }>(gw!.urls.http, '/api/alerts').then(
    (r) => r.alerts,
  )
const ruleStats = (ruleId: string) =>
  getJson<{ rules: { ruleId: string; fired: number; cleared: number }[] }>(
    gw!.urls.http,
    '/api/rules/stats',
  ).then((r) => r.rules.find((x) => x.ruleId === ruleId))
/** Whether the reading of `stationId` at event time `ts` is stored (it was evaluated before). */
const stored = (stationId: string, ts: number) =>
  getJson<{ readings: { ts: number }[] }>(
    gw!.urls.http,
    `/api/stations/${stationId}/readings?from=${ts}&to=${ts + 1}`,
  ).then((r) => r.readings.length > 0)

/**
 * A probe of the wall-clock ticks: a yellow rainstorm warning to 桃园村 (nobody listens there), issued
 * now. From an operator who is no approver, under the approval tests' policy, it waits for approval
 * and is released by the first tick at its deadline (2 min on); from the duty operator it goes out at
 * once and is escalated by the first tick 10 min on. Either shows that a tick ran on the clock as
 * set, and such a tick also did whatever else was due then.
 */
async function probe(token: string): Promise<string> {
  const r = await api(
    gw!.urls.http,
    'POST',
    '/api/warnings',
    { hazard: 'rainstorm', level: 'yellow', regions: [TAOYUAN] },
    token,
  )
  expect(r.status).toBe(200)
  return ((await r.json()) as { warningId: string }).warningId
}

/** Publishes stage readings from a water-level sensor. */
async function stages(sensor: string, series: [number, number][]) {
  const c = await connect(
    gw!.urls.mqtt,
    device(sensor, { clientId: `${sensor}-${Math.random().toString(36).slice(2, 6)}` }),
  )
  for (const [min, v] of series)
    await c.publishAsync(
      sensorDataTopic('water_level', sensor),
      JSON.stringify({ ts: T0 + min * M, values: { stage_m: v } }),
      { qos: 1 },
    )
  await c.endAsync()
}

/** A config dir whose gateway.yaml adds `warnings` settings (and optional registry text). */
function config(warningsYaml: string, registry?: string) {
  const { dir } = makeConfigDir()
  let reg = DEMO_REGISTRY
  if (registry !== undefined) {
    reg = join(dir, 'county.yaml')
    writeFileSync(reg, registry)
  }
  const made = makeConfigDir(reg, `warnings:\n  tickEvery: 20ms\n${warningsYaml}`)
  return made
}

describe('grouping', () => {
  test('twenty gauges of one village racing past the warning level make one warning', async () => {
    // 20 more gauges in Liuwan, with the river's reference levels.
    const extra = Array.from({ length: 20 }, (_, i) => {
      const n = String(i + 1).padStart(2, '0')
      return `  - { id: WL-X-${n}, name: 柳湾${n}号水位站, region: '${LIUWAN}', params: { warning_level: 32.5, guaranteed_level: 34.0, historical_max_level: 35.2 }, sensors: [{ id: wl-x-${n}, kind: water_level }] }`
    }).join('\n')
    const reg = readFileSync(DEMO_REGISTRY, 'utf8').replace('stations:\n', `stations:\n${extra}\n`)
    ;({ gw } = await startTestGateway(config('', reg).config))
    const cmds = await collector(gw.urls.mqtt, `terminals/T${LIUWAN}-01/cmd`, { hazard: 'flood' })
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => stages(`wl-x-${String(i + 1).padStart(2, '0')}`, [[i % 3, 33.0]])),
    )
    const ws = await until(warnings, (w) => w.length > 0, 'a warning')
    // Every reading's alert is recorded, and each was decided together with its alert.
    await until(
      alertList,
      (a) => a.filter((x) => x.key === `flood|${LIUWAN}`).length === 20,
      'the twenty alerts',
    )
    const flood = (await warnings()).filter((w) => w.hazard === 'flood')
    expect(flood).toHaveLength(1)
    expect(flood[0]).toMatchObject({ key: `flood|${LIUWAN}`, region: LIUWAN, level: 'yellow' })
    expect(flood[0]!.versions).toHaveLength(1)
    const alerts = await getJson<{ alerts: { key: string }[] }>(gw.urls.http, '/api/alerts')
    expect(alerts.alerts.filter((a) => a.key === `flood|${LIUWAN}`)).toHaveLength(20)
    await cmds.mark(gw.urls.http, LIUWAN, 1)
    expect(cmds.messages).toHaveLength(1)
    expect(ws.length).toBeGreaterThan(0)
    await cmds.close()
  })
})

describe('silences and inhibition', () => {
  test('a silenced alert makes no warning but is shown muted; when the silence ends the warning goes out', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config('').config, c.now))
    const base = gw.urls.http
    const res = await api(base, 'POST', '/api/silences', {
      stationId: 'WL-LW-01',
      endsAt: c.now() + 60 * M,
      reason: '水位计检修 gauge maintenance',
    })
    expect(res.status).toBe(200)
    const { id } = (await res.json()) as { id: number }
    await stages('wl-lw-01', [[0, 33.0]])
    const muted = await until(
      () =>
        getJson<{ alerts: { stationId: string; muted: boolean; silence: { reason: string } | null }[] }>(
          base,
          '/api/alerts',
        ),
      (r) => r.alerts.some((a) => a.stationId === 'WL-LW-01'),
      'the alert',
    )
    expect(muted.alerts.find((a) => a.stationId === 'WL-LW-01')).toMatchObject({
      muted: true,
      silence: { reason: '水位计检修 gauge maintenance' },
    })
    expect((await warnings()).filter((w) => w.hazard === 'flood')).toEqual([])

    // Removing the silence lets the alert through: the warning is issued now.
    expect((await api(base, 'DELETE', `/api/silences/${id}`)).status).toBe(200)
    const [w] = await until(
      () => warnings('active').then((ws) => ws.filter((x) => x.hazard === 'flood')),
      (ws) => ws.length === 1,
      'the warning after the silence',
    )
    expect(w!.level).toBe('yellow')
    const audit = await getJson<{ audit: { action: string }[] }>(base, '/api/audit?limit=50')
    expect(audit.audit.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        'silence_added',
        'alert_silenced',
        'silence_ended',
        'alert_unsilenced',
        'warning_issue',
      ]),
    )
  })

  test('a silence expires by the wall clock; silences need a matcher, and only operators set them', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config('').config, c.now))
    const base = gw.urls.http
    expect((await api(base, 'POST', '/api/silences', { endsAt: c.now() + M, reason: 'x' })).status).toBe(400)
    const bad = await api(base, 'POST', '/api/silences', { region: '123', endsAt: 'soon', reason: '' })
    expect(((await bad.json()) as { issues: { field: string }[] }).issues.map((i) => i.field).sort()).toEqual(
      ['endsAt', 'reason', 'region'],
    )
    expect(
      (await api(base, 'POST', '/api/silences', { hazard: 'flood', endsAt: c.now() + M, reason: 'x' }, ''))
        .status,
    ).toBe(401)
    expect(
      (
        await api(base, 'POST', '/api/silences', {
          region: LIUWAN,
          hazard: 'flood',
          endsAt: c.now() + 10 * M,
          reason: '演练',
        })
      ).status,
    ).toBe(200)
    await stages('wl-lw-01', [[0, 33.0]])
    // The alert is recorded; the warning was decided with it.
    await until(alertList, (a) => a.some((x) => x.stationId === 'WL-LW-01'), 'the alert')
    expect(await warnings('active')).toEqual([])
    c.advance(10 * M)
    await until(
      () => warnings('active'),
      (ws) => ws.length === 1,
      'the warning once the silence expired',
    )
  })

  test('a red warning for the township inhibits a lower village warning of its hazard until it is lifted', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config('').config, c.now))
    const base = gw.urls.http
    const cmds = await collector(gw.urls.mqtt, `terminals/T${LIUWAN}-01/cmd`)
    const issued = await api(base, 'POST', '/api/warnings', {
      hazard: 'flood',
      level: 'red',
      regions: ['511823100000'],
    })
    expect(issued.status).toBe(200)
    const manual = (await issued.json()) as { warningId: string; release: string }
    expect(manual.release).toBe('released')
    await cmds.waitFor(1)
    await stages('wl-lw-01', [[0, 33.0]])
    const village = await until(
      () => warnings('active').then((ws) => ws.find((w) => w.key === `flood|${LIUWAN}`)),
      (w) => w !== undefined,
      'the village warning',
    )
    expect(village!.versions[0]).toMatchObject({ level: 'yellow', release: 'inhibited' })
    await cmds.mark(base, LIUWAN, 1)
    expect(cmds.messages).toHaveLength(1) // only the township's red

    expect((await api(base, 'POST', `/api/warnings/${manual.warningId}/lift`, {})).status).toBe(200)
    await cmds.waitFor(3) // the red's lift, then the village yellow released
    expect(cmds.messages.slice(1).map((m) => [m.payload.kind, m.payload.level])).toEqual(
      expect.arrayContaining([
        ['lift', 'red'],
        ['issue', 'yellow'],
      ]),
    )
    const after = await warning(village!.id)
    expect(after.versions[0]).toMatchObject({ release: 'released', releasedBy: ['system'] })
    await cmds.close()
  })
})

describe('precedence and restart of inhibited warnings', () => {
  test('a silence wins over inhibition: a muted alert makes no warning at all, inhibited or not', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config('').config, c.now))
    const base = gw.urls.http
    await api(base, 'POST', '/api/warnings', { hazard: 'flood', level: 'red', regions: ['511823100000'] })
    await api(base, 'POST', '/api/silences', {
      stationId: 'WL-LW-01',
      endsAt: c.now() + 60 * M,
      reason: '检修',
    })
    await stages('wl-lw-01', [[0, 33.0]])
    // The alert is recorded; the warning was decided with it.
    await until(alertList, (a) => a.some((x) => x.stationId === 'WL-LW-01'), 'the alert')
    expect((await warnings()).filter((w) => w.key === `flood|${LIUWAN}`)).toEqual([])
  })

  test('an inhibited version stays inhibited across a restart and goes out when its inhibitor is lifted', async () => {
    const c = clock()
    const made = config('')
    ;({ gw } = await startTestGateway(made.config, c.now))
    const issued = (await (
      await api(gw.urls.http, 'POST', '/api/warnings', {
        hazard: 'flood',
        level: 'orange',
        regions: ['511823000000'],
      })
    ).json()) as { warningId: string }
    await stages('wl-lw-01', [[0, 33.0]])
    const village = await until(
      () => warnings('active').then((ws) => ws.find((w) => w.key === `flood|${LIUWAN}`)),
      (w) => w !== undefined,
      'the village warning',
    )
    expect(village!.versions[0]!.release).toBe('inhibited')
    const audit = await getJson<{ audit: { action: string; detail: { inhibitedBy?: string } }[] }>(
      gw.urls.http,
      `/api/audit?subject=${village!.id}`,
    )
    expect(audit.audit.find((a) => a.action === 'warning_issue')?.detail.inhibitedBy).toBe(issued.warningId)
    await gw.stop()

    ;({ gw } = await startTestGateway(made.config, c.now))
    const cmds = await collector(gw.urls.mqtt, `terminals/T${LIUWAN}-01/cmd`, { hazard: 'flood' })
    expect((await warning(village!.id)).versions[0]!.release).toBe('inhibited')
    expect((await api(gw.urls.http, 'POST', `/api/warnings/${issued.warningId}/lift`, {})).status).toBe(200)
    await cmds.waitFor(2)
    expect(cmds.messages.map((m) => [m.payload.warningId, m.payload.kind])).toEqual(
      expect.arrayContaining([
        [issued.warningId, 'lift'],
        [village!.id, 'issue'],
      ]),
    )
    await cmds.close()
  })
})

describe('approval', () => {
  const policy = [
    '  approval:',
    '    - { hazards: [flood], levels: [red], timeout: 2m, twoPerson: true }',
    '    - { hazards: [flood, rainstorm], levels: [yellow, orange], timeout: 2m }',
  ].join('\n')

  test('a yellow waits for an approver; approved, it goes out; the approver is recorded', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config(policy).config, c.now))
    const base = gw.urls.http
    const cmds = await collector(gw.urls.mqtt, `terminals/T${LIUWAN}-01/cmd`, { hazard: 'flood' })
    await stages('wl-lw-01', [[0, 33.0]])
    const [w] = await until(
      () => warnings('active'),
      (ws) => ws.length === 1,
      'a pending warning',
    )
    expect(w!.versions[0]).toMatchObject({ release: 'pending', report: 'first', capMsgType: 'Alert' })
    const pending = await getJson<{ pending: { warningId: string }[] }>(base, '/api/approvals')
    expect(pending.pending.map((p) => p.warningId)).toEqual([w!.id])
    await cmds.mark(base, LIUWAN, 1)
    expect(cmds.messages).toHaveLength(0)

    const path = `/api/warnings/${w!.id}/versions/1/approve`
    expect((await api(base, 'POST', path, undefined, TOKENS.clerk)).status).toBe(403) // not an approver
    const ok = await api(base, 'POST', path)
    expect(await ok.json()).toMatchObject({ ok: true, release: 'released', approvals: 1 })
    await cmds.waitFor(1)
    expect((await api(base, 'POST', path)).status).toBe(409) // no longer pending
    expect((await warning(w!.id)).versions[0]).toMatchObject({ release: 'released', releasedBy: ['duty'] })
    await cmds.close()
  })

  test('unanswered, a version is released by the gateway when its timeout passes', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config(policy).config, c.now))
    const cmds = await collector(gw.urls.mqtt, `terminals/T${LIUWAN}-01/cmd`, { hazard: 'flood' })
    // A probe put up for approval a second before the flood's version: its deadline comes 119 s
    // after the flood's version was made.
    const early = await probe(TOKENS.clerk)
    c.advance(1_000)
    await stages('wl-lw-01', [[0, 33.0]])
    await until(
      () => warnings('active').then((ws) => ws.filter((x) => x.hazard === 'flood')),
      (ws) => ws.length === 1,
      'a pending warning',
    )
    c.advance(119_000)
    // The probe's release: a tick has run 119 s after the flood's version, and left it pending.
    await until(
      () => warning(early),
      (x) => x.versions[0]!.release === 'released',
      'the probe released by a tick',
    )
    await cmds.mark(gw.urls.http, LIUWAN, 1)
    expect(cmds.messages).toHaveLength(0)
    c.advance(1_000)
    await cmds.waitFor(1)
    const w = (await warnings('active')).find((x) => x.hazard === 'flood')
    expect(w!.versions[0]).toMatchObject({ release: 'released', releasedBy: ['system'] })
    const audit = await getJson<{ audit: { action: string }[] }>(gw.urls.http, `/api/audit?subject=${w!.id}`)
    expect(audit.audit.map((a) => a.action)).toContain('approval_timeout')
    await cmds.close()
  })

  test('a public red needs two approvers; a rejection keeps it off the air', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config(policy).config, c.now))
    const base = gw.urls.http
    const cmds = await collector(gw.urls.mqtt, `terminals/T${LIUWAN}-01/cmd`, { hazard: 'flood' })
    await stages('wl-lw-01', [[0, 35.3]])
    const [w] = await until(
      () => warnings('active'),
      (ws) => ws.length === 1,
      'a pending red',
    )
    const path = (d: string) => `/api/warnings/${w!.id}/versions/1/${d}`
    expect(await (await api(base, 'POST', path('approve'))).json()).toMatchObject({
      release: 'pending',
      approvals: 1,
    })
    expect((await api(base, 'POST', path('approve'))).status).toBe(409) // the same person twice
    expect(await (await api(base, 'POST', path('approve'), undefined, TOKENS.approver)).json()).toMatchObject(
      {
        release: 'released',
        approvals: 2,
      },
    )
    await cmds.waitFor(1)
    expect((await warning(w!.id)).versions[0]!.releasedBy.sort()).toEqual(['approver2', 'duty'])

    // The river falls to orange: a new version, pending; rejected, it is never played.
    await stages('wl-lw-01', [
      [5, 34.5],
      [40, 34.5],
    ])
    const w2 = await until(
      () => warning(w!.id),
      (x) => x.versions.length === 2,
      'the orange version',
    )
    expect(w2.versions[1]).toMatchObject({ level: 'orange', release: 'pending' })
    expect(await (await api(base, 'POST', `/api/warnings/${w!.id}/versions/2/reject`)).json()).toMatchObject({
      release: 'rejected',
    })
    const later = await probe(TOKENS.clerk) // due in 2 min, as the rejected version was
    c.advance(10 * M)
    await until(
      () => warning(later),
      (x) => x.versions[0]!.release === 'released',
      'the probe released by a tick',
    )
    await cmds.mark(base, LIUWAN, 1)
    expect(cmds.messages).toHaveLength(1)
    await cmds.close()
  })
})

describe('acknowledgement and escalation', () => {
  test('unacknowledged, a village warning escalates to the township after 10 min, then to the county', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config('').config, c.now))
    await stages('wl-lw-01', [[0, 33.0]])
    const [w] = await until(
      () => warnings('active'),
      (ws) => ws.length === 1,
      'a warning',
    )
    expect(w).toMatchObject({ tier: 0, escalateAt: c.now() + 10 * M })
    c.advance(10 * M)
    const t1 = await until(
      () => warning(w!.id),
      (x) => x.tier === 1,
      'escalation to the township',
    )
    expect(t1.escalations.map((e) => [e.tier, e.region, e.people.map((p) => p.id)])).toEqual([
      [1, '511823100000', ['P-HK-DUTY']],
    ])
    c.advance(10 * M)
    const t2 = await until(
      () => warning(w!.id),
      (x) => x.tier === 2,
      'escalation to the county',
    )
    expect(t2.escalations.at(-1)).toMatchObject({
      tier: 2,
      region: '511823000000',
      people: [{ id: 'P-CO-DUTY' }],
    })
    expect(t2.escalateAt).toBeNull()
  })

  test('an acknowledged warning does not escalate; a higher level must be acknowledged again', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config('').config, c.now))
    const base = gw.urls.http
    await stages('wl-lw-01', [[0, 33.0]])
    const [w] = await until(
      () => warnings('active'),
      (ws) => ws.length === 1,
      'a warning',
    )
    c.advance(5 * M)
    expect(await (await api(base, 'POST', `/api/warnings/${w!.id}/ack`, {})).json()).toMatchObject({
      ok: true,
    })
    expect((await api(base, 'POST', `/api/warnings/${w!.id}/ack`, {})).status).toBe(409)
    const unacked = await probe(TOKENS.duty)
    c.advance(30 * M)
    // The probe, unacknowledged, escalates: a tick has looked at every warning 30 min on.
    await until(
      () => warning(unacked),
      (x) => x.tier === 1,
      'the probe escalated by a tick',
    )
    expect(await warning(w!.id)).toMatchObject({ tier: 0, ackedBy: 'duty', escalations: [] })
    await stages('wl-lw-01', [[10, 34.2]])
    const up = await until(
      () => warning(w!.id),
      (x) => x.level === 'orange',
      'orange',
    )
    expect(up).toMatchObject({ ackedBy: null, escalateAt: c.now() + 10 * M })
  })
})

/** A config whose only rules are one without hysteresis (no dwell), as a careless site rule would be. */
function carelessConfig() {
  const made = config('')
  const rules = join(made.dir, 'rules')
  mkdirSync(rules)
  writeFileSync(
    join(rules, 'careless.yaml'),
    [
      'catalogue: careless',
      'version: 1',
      'title: a rule without hysteresis',
      'rules:',
      '  - id: stage-no-dwell',
      '    name: 水位 (无滞回)',
      '    hazard: stage_test',
      '    kinds: [water_level]',
      '    reference: hydro.flood_signal',
      '    confidence: derived',
      '    source: test',
      '    levels:',
      "      - { level: yellow, any_of: [{ quantity: stage_m, op: '>=', ref: warning_level }] }",
      '',
    ].join('\n'),
  )
  writeFileSync(made.config, readFileSync(made.config, 'utf8') + `\nrules: [${JSON.stringify(rules)}]\n`)
  return made
}

describe('flapping', () => {
  test('a warning that keeps changing holds its steps down, and the rule statistics show the noise', async () => {
    const c = clock()
    const made = carelessConfig()
    ;({ gw } = await startTestGateway(made.config, c.now))
    const base = gw.urls.http
    // issue, lift, issue, then the fourth change (a lift) within 30 min makes it flap: held.
    await stages('wl-lw-01', [
      [0, 32.6],
      [1, 32.4],
      [2, 32.6],
      [3, 32.4],
      [4, 32.6],
      [5, 32.4],
    ])
    // The last reading's alert clearing is recorded; its warning was decided with it.
    await until(
      () => ruleStats('stage-no-dwell'),
      (r) => r?.cleared === 3,
      'the third clearing',
    )
    const all = (await warnings()).filter((w) => w.hazard === 'stage_test')
    expect(all.map((w) => [w.state, w.versions.map((v) => v.action)])).toEqual([
      ['active', ['issue']],
      ['lifted', ['issue', 'lift']],
    ])
    const stats = await getJson<{
      rules: { ruleId: string; fired: number; quickLifts: number; flaps: number }[]
    }>(base, '/api/rules/stats')
    expect(stats.rules.find((r) => r.ruleId === 'stage-no-dwell')).toMatchObject({
      fired: 3,
      quickLifts: 3,
      flaps: 1,
    })
    // The hold (15 min) passes with the river below the level: the held lift goes out.
    c.advance(15 * M)
    await until(
      () => warnings('active').then((ws) => ws.filter((w) => w.hazard === 'stage_test')),
      (ws) => ws.length === 0,
      'the held lift',
    )
  })
})

describe('flapping across a restart', () => {
  test('the flap history comes back from the stored versions: a restart does not reset it', async () => {
    const c = clock()
    const made = carelessConfig()
    ;({ gw } = await startTestGateway(made.config, c.now))
    // Three changes (issue, lift, issue), then a restart.
    await stages('wl-lw-01', [
      [0, 32.6],
      [1, 32.4],
      [2, 32.6],
    ])
    await until(
      () => ruleStats('stage-no-dwell'),
      (r) => r?.fired === 2,
      'the second raise',
    )
    await gw.stop()
    ;({ gw } = await startTestGateway(made.config, c.now))
    // The fourth change within 30 min of event time is a lift: the warning flaps, the lift is held.
    await stages('wl-lw-01', [[3, 32.4]])
    await until(
      () => ruleStats('stage-no-dwell'),
      (r) => r?.cleared === 2,
      'the second clearing',
    )
    const active = (await warnings('active')).filter((w) => w.hazard === 'stage_test')
    expect(active.map((w) => w.versions.map((v) => v.action))).toEqual([['issue']])
  })
})

describe('manual warnings', () => {
  test('an operator relays a warning to a township, raises it, and lifts it; reports 首报/续报/终报', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config('').config, c.now))
    const base = gw.urls.http
    const cmds = await collector(gw.urls.mqtt, 'terminals/+/cmd')
    const bad = await api(base, 'POST', '/api/warnings', {
      hazard: 'Rain storm',
      level: 'purple',
      regions: ['51'],
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { issues: { field: string }[] }).issues.map((i) => i.field).sort()).toEqual(
      ['hazard', 'level', 'regions.0'],
    )
    expect(
      (
        await api(base, 'POST', '/api/warnings', {
          hazard: 'rainstorm',
          level: 'orange',
          regions: ['511899000000'],
        })
      ).status,
    ).toBe(400)
    expect(
      (
        await api(
          base,
          'POST',
          '/api/warnings',
          { hazard: 'rainstorm', level: 'orange', regions: ['511823100000'] },
          '',
        )
      ).status,
    ).toBe(401)
    const r = await api(
      base,
      'POST',
      '/api/warnings',
      { hazard: 'rainstorm', level: 'orange', regions: ['511823100000'] },
      TOKENS.clerk,
    )
    const { warningId } = (await r.json()) as { warningId: string }
    await cmds.waitFor(12) // 河口镇: three villages, four loudspeakers each
    expect(String(cmds.messages[0]!.payload.text)).toContain('【橙色预警】示范县河口镇：暴雨橙色预警')
    expect((await api(base, 'POST', `/api/warnings/${warningId}/update`, { level: 'red' })).status).toBe(200)
    await cmds.waitFor(24)
    expect((await api(base, 'POST', `/api/warnings/${warningId}/lift`, {})).status).toBe(200)
    await cmds.waitFor(36)
    const w = await warning(warningId)
    expect(w.versions.map((v) => [v.action, v.level, v.report, v.capMsgType, v.reason])).toEqual([
      ['issue', 'orange', 'first', 'Alert', 'manual'],
      ['update', 'red', 'follow_up', 'Update', 'manual'],
      ['lift', null, 'final', 'Cancel', 'manual'],
    ])
    expect(w).toMatchObject({ state: 'lifted', endReason: 'lifted', targets: ['511823100000'] })
    await cmds.close()
  })

  test('a warning with no new version for expireAfter expires (终报)', async () => {
    const c = clock()
    ;({ gw } = await startTestGateway(config('  expireAfter: 2h').config, c.now))
    await stages('wl-lw-01', [[0, 33.0]])
    const [w] = await until(
      () => warnings('active'),
      (ws) => ws.length === 1,
      'a warning',
    )
    c.advance(2 * 3_600_000)
    const done = await until(
      () => warning(w!.id),
      (x) => x.state === 'lifted',
      'expiry',
    )
    expect(done).toMatchObject({ endReason: 'expired' })
    expect(done.versions.at(-1)).toMatchObject({ action: 'lift', reason: 'expired', report: 'final' })
  })
})

describe('restart and audit', () => {
  test('a pending approval, an escalation deadline and a silence survive a restart', async () => {
    const c = clock()
    const made = config('  approval:\n    - { hazards: [flood], levels: [yellow], timeout: 5m }')
    ;({ gw } = await startTestGateway(made.config, c.now))
    const base = gw.urls.http
    await api(base, 'POST', '/api/silences', {
      stationId: 'RG-LW-01',
      endsAt: c.now() + 3 * 3_600_000,
      reason: '检修',
    })
    await stages('wl-lw-01', [[0, 33.0]])
    const [w] = await until(
      () => warnings('active'),
      (ws) => ws.length === 1,
      'a pending warning',
    )
    await gw.stop()

    c.advance(M)
    ;({ gw } = await startTestGateway(made.config, c.now))
    const again = await warning(w!.id)
    expect(again.versions[0]!.release).toBe('pending')
    expect((await getJson<{ silences: unknown[] }>(gw.urls.http, '/api/silences')).silences).toHaveLength(1)
    const cmds = await collector(gw.urls.mqtt, `terminals/T${LIUWAN}-01/cmd`, { hazard: 'flood' })
    c.advance(4 * M)
    await cmds.waitFor(1) // the timeout, counted from before the restart
    // The engine knows the alert's level after the restart: the same stage changes nothing.
    await stages('wl-lw-01', [[20, 33.1]])
    await until(
      () => stored('WL-LW-01', T0 + 20 * M),
      (x) => x,
      'the reading stored',
    )
    expect((await warning(w!.id)).versions).toHaveLength(1)
    c.advance(10 * M)
    await until(
      () => warning(w!.id),
      (x) => x.tier === 1,
      'escalation after the restart',
    )
    await cmds.close()
  })

  test('the audit log refuses changes and deletions', async () => {
    const made = config('')
    ;({ gw } = await startTestGateway(made.config))
    await api(gw.urls.http, 'POST', '/api/warnings', {
      hazard: 'rainstorm',
      level: 'blue',
      regions: [LIUWAN],
    })
    await gw.stop()
    gw = undefined
    const db = new Database(join(made.dir, 'data', 'shaobing.db'))
    try {
      expect((db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n).toBeGreaterThan(0)
      expect(() => db.prepare("UPDATE audit_log SET actor = 'mallory'").run()).toThrow(/append-only/)
      expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/)
    } finally {
      db.close()
    }
  })
})
