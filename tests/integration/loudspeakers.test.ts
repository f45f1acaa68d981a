/**
 * Loudspeakers that are away, flaky or in a minority-language area: a terminal offline when a
 * warning goes out gets it when it comes back (and never once it has expired), a delivery without
 * a receipt or with a failure is sent again, and an Uyghur-language terminal reads Uyghur.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterEach, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import {
  terminalCmdTopic,
  terminalReceiptTopic,
  terminalStatusTopic,
} from '../../gateway/src/contracts/topics.js'
import {
  api,
  connect,
  DEMO_REGISTRY,
  getJson,
  issueMarker,
  makeConfigDir,
  metric,
  startTestGateway,
} from '../helpers/gateway.js'
import { clock, until } from '../helpers/wait.js'
import { registryTerminals } from '../../sensors-sim/src/main.js'
import { startTerminals } from '../../sensors-sim/src/terminals.js'
import { device, registryCredentials } from '../helpers/devices.js'

const LIUWAN = '511823100201'
let gw: RunningGateway | undefined
const clients: MqttClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync().catch(() => undefined)))
  await gw?.stop()
  gw = undefined
})

/** A terminal over MQTT: last will offline, retained online, receipts as told by `answer`. */
async function terminal(
  id: string,
  answer: (cmd: {
    warningId: string
    version: number
    expiresAt: number
  }) => 'played' | 'failed' | 'none' = () => 'played',
) {
  const got: Record<string, unknown>[] = []
  const c = await connect(
    gw!.urls.mqtt,
    device(id, {
      will: {
        topic: terminalStatusTopic(id),
        payload: Buffer.from('{"state":"offline"}'),
        qos: 1,
        retain: true,
      },
    }),
  )
  clients.push(c)
  c.on('message', (_t, payload) => {
    const cmd = JSON.parse(payload.toString()) as { warningId: string; version: number; expiresAt: number }
    got.push(cmd as unknown as Record<string, unknown>)
    const state = answer(cmd)
    if (state === 'none') return
    void c.publishAsync(
      terminalReceiptTopic(id),
      JSON.stringify({ warningId: cmd.warningId, version: cmd.version, state, ts: Date.now() }),
      { qos: 1 },
    )
  })
  await c.subscribeAsync(terminalCmdTopic(id), { qos: 1 })
  await c.publishAsync(terminalStatusTopic(id), '{"state":"online"}', { qos: 1, retain: true })
  return { client: c, got }
}

const deliveries = (id: string) =>
  getJson<{ deliveries: { terminalId: string; state: string; attempts: number; detail: string | null }[] }>(
    gw!.urls.http,
    `/api/warnings/${id}/deliveries`,
  ).then((r) => r.deliveries)

/** Waits until the gateway has handled `n` terminal status messages saying `state` (will or retained). */
const presence = (state: 'online' | 'offline', n: number) =>
  until(
    () => metric(gw!.urls.http, 'shaobing_terminal_presence_total', `state="${state}"`),
    (x) => x === n,
    `${n} ${state} status messages`,
  )

const config = (extra = '', registry?: string) =>
  makeConfigDir(
    registry,
    `warnings: { tickEvery: 20ms, playableFor: 1h, delivery: { retryAfter: 30s, maxAttempts: 4 } }\n${extra}`,
  ).config

test('a terminal offline when the warning goes out gets it when it comes back; after expiry it never plays it', async () => {
  const c = clock()
  ;({ gw } = await startTestGateway(config(), c.now))
  const id = `T${LIUWAN}-01`
  const t1 = await terminal(id)
  // It drops off (its last will says offline).
  t1.client.stream.destroy()
  await presence('offline', 1)
  const r = await api(gw.urls.http, 'POST', '/api/warnings', {
    hazard: 'flood',
    level: 'orange',
    regions: [LIUWAN],
  })
  const { warningId } = (await r.json()) as { warningId: string }
  const held = await until(
    () => deliveries(warningId),
    (d) => d.some((x) => x.terminalId === id && x.state === 'offline'),
    'held',
  )
  expect(held.filter((x) => x.state === 'sent' || x.state === 'played')).toHaveLength(3)

  // Back online: served at once.
  const t2 = await terminal(id)
  await until(
    () => t2.got,
    (g) => g.length === 1,
    'the warning on reconnect',
  )
  await until(
    () => deliveries(warningId),
    (d) => d.find((x) => x.terminalId === id)?.state === 'played',
    'played',
  )

  // A second warning while it is away again, and it returns after the warning expired: never played.
  t2.client.stream.destroy()
  await presence('offline', 2)
  const r2 = await api(gw.urls.http, 'POST', '/api/warnings', {
    hazard: 'rainstorm',
    level: 'blue',
    regions: [LIUWAN],
  })
  const second = ((await r2.json()) as { warningId: string }).warningId
  c.advance(2 * 3_600_000)
  const t3 = await terminal(id)
  await presence('online', 3)
  // Anything sent to it on its return reaches it before a marker sent afterwards.
  const marker = await issueMarker(gw.urls.http, LIUWAN)
  await until(
    () => t3.got,
    (g) => g.some((x) => x.warningId === marker),
    'the marker',
  )
  expect(t3.got.filter((g) => g.warningId === second)).toEqual([])
  const d = await deliveries(second)
  expect(d.find((x) => x.terminalId === id)).toMatchObject({ state: 'failed', detail: 'expired' })
})

test('no receipt, or a failure, and the command goes again until it is played', async () => {
  const c = clock()
  ;({ gw } = await startTestGateway(config(), c.now))
  const id = `T${LIUWAN}-02`
  let n = 0
  // Silent the first time, an amplifier fault the second, played the third.
  const t = await terminal(id, () => (++n === 1 ? 'none' : n === 2 ? 'failed' : 'played'))
  const r = await api(gw.urls.http, 'POST', '/api/warnings', {
    hazard: 'flood',
    level: 'yellow',
    regions: [LIUWAN],
  })
  const { warningId } = (await r.json()) as { warningId: string }
  await until(
    () => t.got,
    (g) => g.length === 1,
    'the first send',
  )
  c.advance(31_000)
  await until(
    () => t.got,
    (g) => g.length === 2,
    'the retry after no receipt',
  )
  await until(
    () => deliveries(warningId),
    (d) => d.find((x) => x.terminalId === id)?.state === 'failed',
    'the failure',
  )
  c.advance(31_000)
  await until(
    () => t.got,
    (g) => g.length === 3,
    'the retry after the failure',
  )
  const d = await until(
    () => deliveries(warningId),
    (x) => x.find((y) => y.terminalId === id)?.state === 'played',
    'played',
  )
  expect(d.find((x) => x.terminalId === id)!.attempts).toBe(3)
})

test('a terminal whose language is Uyghur reads the Uyghur template with the Uyghur place name', async () => {
  const { dir } = makeConfigDir()
  const reg = join(dir, 'county.yaml')
  writeFileSync(
    reg,
    readFileSync(DEMO_REGISTRY, 'utf8')
      .replace('name: 柳湾村3号大喇叭,', 'name: 柳湾村3号大喇叭, language: ug,')
      .replace('    name: 柳湾村\n', "    name: 柳湾村\n    names: { ug: 'ليۇۋەن كەنتى' }\n"),
  )
  ;({ gw } = await startTestGateway(config('', reg)))
  const ug = await terminal(`T${LIUWAN}-03`)
  const zh = await terminal(`T${LIUWAN}-04`)
  await api(gw.urls.http, 'POST', '/api/warnings', { hazard: 'flood', level: 'red', regions: [LIUWAN] })
  await until(
    () => ug.got.length + zh.got.length,
    (n) => n === 2,
    'both commands',
  )
  expect(ug.got[0]).toMatchObject({ language: 'ug' })
  expect(String(ug.got[0]!.text)).toContain('كەلكۈن') // flood
  expect(String(ug.got[0]!.text)).toContain('قىزىل') // red
  expect(String(ug.got[0]!.text)).toContain('ليۇۋەن كەنتى')
  expect(zh.got[0]).toMatchObject({ language: 'zh-CN' })
  expect(String(zh.got[0]!.text)).toContain('洪水红色预警')
})

test('a policy with rounds has the loudspeakers read an active warning again every interval, and no more', async () => {
  const c = clock()
  const { dir } = makeConfigDir()
  const policy = join(dir, 'policy.yaml')
  writeFileSync(
    policy,
    "policies:\n  - { hazards: ['*'], levels: ['*'], channels: [loudspeaker], rounds: 3, every: 10m }\n",
  )
  ;({ gw } = await startTestGateway(config(`dissemination: ${JSON.stringify(policy)}`), c.now))
  const t = await terminal(`T${LIUWAN}-01`)
  const r = await api(gw.urls.http, 'POST', '/api/warnings', {
    hazard: 'flood',
    level: 'orange',
    regions: [LIUWAN],
  })
  const { warningId } = (await r.json()) as { warningId: string }
  await until(
    () => t.got,
    (g) => g.length === 1,
    'round 1',
  )
  c.advance(10 * 60_000)
  await until(
    () => t.got,
    (g) => g.length === 2,
    'round 2',
  )
  c.advance(10 * 60_000)
  await until(
    () => t.got,
    (g) => g.length === 3,
    'round 3',
  )
  // A probe warning issued now is due for its second round when the first would be for a fourth:
  // its round shows that a tick ran then, and a marker after it that nothing else was sent.
  const r2 = await api(gw.urls.http, 'POST', '/api/warnings', {
    hazard: 'gale',
    level: 'blue',
    regions: [LIUWAN],
  })
  const probe = ((await r2.json()) as { warningId: string }).warningId
  await until(
    () => t.got,
    (g) => g.some((x) => x.warningId === probe),
    'the probe',
  )
  c.advance(10 * 60_000)
  await until(
    () => t.got,
    (g) => g.some((x) => x.warningId === probe && x.round === 2),
    "the probe's second round",
  )
  const marker = await issueMarker(gw.urls.http, LIUWAN)
  await until(
    () => t.got,
    (g) => g.some((x) => x.warningId === marker),
    'the marker',
  )
  expect(t.got.filter((g) => g.warningId === warningId).map((g) => [g.warningId, g.round])).toEqual([
    [warningId, 1],
    [warningId, 2],
    [warningId, 3],
  ])
})

test('slow terminals answer late and play each version once; the county is covered all the same', async () => {
  // Retries come sooner than a slow terminal finishes: a resend must not make it play twice.
  ;({ gw } = await startTestGateway(
    makeConfigDir(
      undefined,
      'warnings: { tickEvery: 20ms, playableFor: 1h, delivery: { retryAfter: 200ms, maxAttempts: 10 } }',
    ).config,
  ))
  const fleet = await startTerminals({
    url: gw.urls.mqtt,
    terminals: registryTerminals(DEMO_REGISTRY),
    slowFraction: 0.5,
    slowPlayMs: 1200,
    playMs: 5,
    seed: 3,
    credentials: registryCredentials(DEMO_REGISTRY),
  })
  try {
    expect(fleet.slow.length).toBeGreaterThan(5)
    expect(fleet.slow.length).toBeLessThan(23)
    const r = await api(gw.urls.http, 'POST', '/api/warnings', {
      hazard: 'flood',
      level: 'orange',
      regions: ['511823000000'],
    })
    const { warningId } = (await r.json()) as { warningId: string }
    const d = await until(
      () => deliveries(warningId),
      (x) => x.length === 28 && x.every((y) => y.state === 'played'),
      'every loudspeaker played',
      15_000,
    )
    expect(d).toHaveLength(28)
    const played = fleet.played().filter((p) => p.warningId === warningId)
    // Once per terminal, slow ones included.
    expect(played.map((p) => p.terminalId).sort()).toEqual(
      registryTerminals(DEMO_REGISTRY)
        .map((t) => t.id)
        .sort(),
    )
    const slow = new Set(fleet.slow)
    const accepted = new Map(
      fleet
        .receipts()
        .filter((x) => x.warningId === warningId && x.state === 'accepted')
        .map((x) => [x.terminalId, x.at]),
    )
    for (const p of played)
      if (slow.has(p.terminalId)) expect(p.at - accepted.get(p.terminalId)!).toBeGreaterThanOrEqual(1100)
  } finally {
    await fleet.close()
  }
}, 30_000)
