/**
 * County-scale dissemination benchmark (issue 5's figures), bounded (a few minutes), on loopback:
 *
 * 1. Loudspeakers: a county of 100 villages × 10 terminals (1,000), 10 % flaky (half their plays
 *    fail), 5 % offline that come back after 20 s. A river gauge crosses its warning level; the
 *    warning (grouped county-wide) goes out on the automatic path. Measured: the share of targeted
 *    terminals whose "played" receipt came within 60 s of the crossing (target ≥ 99 %), the share
 *    of returning terminals served (100 %), and, in a second run where the warning is playable for
 *    10 s only, expired warnings played by the returning terminals (target 0). Reference: the same
 *    commands published straight to the same terminals through the same broker, no alert manager.
 * 2. SMS through a real SMPP peer (the simulated SMSC): 2,000 recipients of one warning, messages
 *    per second submitted and delivered; then the same after an SMSC outage, the time to drain and
 *    the duplicates. Reference: a bare `smpp` client submitting the same messages to the same SMSC.
 *
 *   npm run bench:dissemination [-- --terminals 10000 --flaky 0.1 --offline 0.05 --only loudspeakers]
 *
 * `--terminals` (a multiple of 100: that many per village / 100) raises the county for issue 17's
 * reconnect storm: every online terminal connects at once, as after a power cut, retrying like a
 * device (sensors-sim/src/connect.ts). The gateway runs as its own process from the build (its RSS
 * is its own); the bench's gateways turn the per-address connection rate off, since every
 * simulated terminal comes from 127.0.0.1 (bench/lib/procs.ts, BENCH_MQTT_YAML).
 */
import { createHash } from 'node:crypto'
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import { createServer, type AddressInfo } from 'node:net'
import mqtt from 'mqtt'
import { parseArgs } from 'node:util'
import * as smpp from 'smpp'
import { sensorDataTopic, terminalCmdTopic } from '../gateway/src/contracts/topics.js'
import { startSmsc } from '../sensors-sim/src/smsc.js'
import { startTerminals, type TerminalFleet } from '../sensors-sim/src/terminals.js'
import { countyRegistry, countyTerminalIds } from './lib/county.js'
import { requireBuild, rssMb, startGatewayProcess } from './lib/procs.js'
import { markdownTable, writeResults } from './lib/report.js'
import { device, simCredentials } from '../tests/helpers/devices.js'

const { values: args } = parseArgs({
  options: {
    terminals: { type: 'string', default: '1000' },
    flaky: { type: 'string', default: '0.1' },
    offline: { type: 'string', default: '0.05' },
    only: { type: 'string', default: 'all' },
    help: { type: 'boolean', default: false },
  },
})
if (args.help) {
  console.log(
    'npm run bench:dissemination -- [--terminals 1000] [--flaky 0.1] [--offline 0.05] [--only all|loudspeakers|sms]',
  )
  process.exit(0)
}
requireBuild()
const TERMINALS = Number(args.terminals)
if (!Number.isInteger(TERMINALS / 100) || TERMINALS < 100) throw new Error('--terminals: a multiple of 100')
const PER_VILLAGE = TERMINALS / 100
const FLAKY = Number(args.flaky)
const OFFLINE = Number(args.offline)

const TOKEN = 'bench-token'
const PEOPLE = 2000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The gateway process a run talks to, and the file its log goes to. */
interface Gw {
  readonly urls: { readonly mqtt: string; readonly http: string }
  readonly pid: number
  readonly logFile: string
  stop(): Promise<void>
}

async function gateway(opts: { playableFor: string; smsPort?: number }): Promise<Gw> {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-bench-diss-'))
  writeFileSync(join(dir, 'county.yaml'), countyRegistry({ people: PEOPLE, perVillage: PER_VILLAGE }))
  writeFileSync(
    join(dir, 'gateway.yaml'),
    [
      'registry: county.yaml',
      'dataDir: data',
      // Bench-specific: all terminals share 127.0.0.1, where the field has an address per device
      // or per village NAT; the per-address connect rate is off, every other limit its default.
      'mqtt: { host: 127.0.0.1, port: 0, wsPort: null, limits: { perAddress: { connectsPerSecond: 0 } } }',
      'http: { host: 127.0.0.1, port: 0 }',
      `warnings: { groupBy: { public: county }, playableFor: ${opts.playableFor}, tickEvery: 100ms, delivery: { retryAfter: 5s, maxAttempts: 10 } }`,
      'callout: { levels: [] }',
      ...(opts.smsPort !== undefined
        ? [
            `sms: { url: 'smpp://127.0.0.1:${opts.smsPort}', systemId: bench, password: bench, ratePerSecond: 10000 }`,
          ]
        : []),
      'log: { level: warn }',
      `operators: [{ id: bench, name: bench, roles: [operator, approver], tokenSha256: ${createHash('sha256').update(TOKEN).digest('hex')} }]`,
    ].join('\n'),
  )
  // The terminals log in as the tests' do (startGatewayProcess enrolls the same identities).
  const g = await startGatewayProcess(join(dir, 'gateway.yaml'))
  const logFile = join(dir, 'gateway.log')
  g.proc.stdout!.pipe(createWriteStream(logFile))
  g.proc.stderr!.pipe(createWriteStream(join(dir, 'gateway.stderr')))
  // A gateway that dies mid-run is the finding, not a hang of the clients retrying against nothing.
  const exited = (code: number | null, signal: string | null) => {
    console.error(`gateway exited (${code ?? signal}); its log: ${logFile}, stderr beside it`)
    process.exit(1)
  }
  g.proc.once('exit', exited)
  return {
    urls: { mqtt: `mqtt://127.0.0.1:${g.mqttPort}`, http: `http://127.0.0.1:${g.httpPort}` },
    pid: g.pid,
    logFile,
    stop: () => (g.proc.off('exit', exited), g.stop()),
  }
}

/** The gateway's log lines whose `msg` starts with `msg`. */
const logLines = (gw: Gw, msg: string): number =>
  readFileSync(gw.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`)).length

/** Samples the gateway's RSS every 250 ms until stopped; the peak, MB. */
function rssPeak(pid: number): { stop(): number } {
  let peak = rssMb(pid)
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid))
    } catch {
      // the process is gone
    }
  }, 250)
  return {
    stop() {
      clearInterval(t)
      return peak
    },
  }
}

const terminalIds = () => countyTerminalIds(PER_VILLAGE)
const targetedCount = TERMINALS

/** Logins for the generated county's terminals (bare aedes takes them anonymously). */
const credentials = () => simCredentials(terminalIds().map((t) => t.id))

/** Publishes the crossing reading; returns its wall-clock time. */
async function cross(gw: Gw): Promise<number> {
  const c = await mqtt.connectAsync(gw.urls.mqtt, device('wl-1'))
  const t0 = Date.now()
  await c.publishAsync(
    sensorDataTopic('water_level', 'wl-1'),
    JSON.stringify({ ts: t0, values: { stage_m: 33.0 } }),
    {
      qos: 1,
    },
  )
  await c.endAsync()
  return t0
}

const firstPlayed = (fleet: TerminalFleet, warningId?: string) => {
  const m = new Map<string, number>()
  for (const p of fleet.played())
    if ((warningId === undefined || p.warningId === warningId) && !m.has(p.terminalId))
      m.set(p.terminalId, p.at)
  return m
}

/** Raw figures for bench/out/. */
const figures: Record<string, unknown> = {}

const pct = (n: number, d: number) => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(2)} %`)

async function loudspeakers(rows: string[][]) {
  // Run 1: playable 6 h; offline terminals come back after 20 s and must be served.
  const gw = await gateway({ playableFor: '6h' })
  const peak = rssPeak(gw.pid)
  const rssBefore = rssMb(gw.pid)
  // Every online terminal connects at once, as after a power cut (the gateway stayed up).
  const c0 = Date.now()
  const fleet = await startTerminals({
    url: gw.urls.mqtt,
    terminals: terminalIds(),
    flakyFraction: FLAKY,
    offlineFraction: OFFLINE,
    offlineReturnAfterMs: 20_000,
    playMs: 200,
    seed: 11,
    credentials: credentials(),
  })
  const connectedAll = Date.now() - c0
  const retriesAtStart = fleet.connectRetries()
  const rssConnected = rssMb(gw.pid)
  const t0 = await cross(gw)
  const targeted = targetedCount
  for (let i = 0; i < 180; i++) {
    await sleep(500)
    if (firstPlayed(fleet).size >= targeted) break
  }
  await fleet.returned
  const returnedAt = Math.max(...fleet.offline.map((id) => fleet.connectedAt().get(id) ?? NaN))
  const played = firstPlayed(fleet)
  const within60 = [...played.values()].filter((at) => at - t0 <= 60_000).length
  const back = fleet.offline.filter((id) => played.has(id)).length
  const rssPeakMb = peak.stop()
  rows.push([
    `targeted loudspeakers (county warning, automatic path; ${pct(FLAKY, 1)} flaky, ${pct(OFFLINE, 1)} offline)`,
    String(targeted),
    '',
    '',
    '',
  ])
  rows.push([
    `${fleet.online.length - fleet.offline.length} terminals connecting at once: time to the last CONNACK (s)`,
    (connectedAll / 1000).toFixed(2),
    `${retriesAtStart} connect retries`,
    '',
    '',
  ])
  rows.push([
    `${fleet.offline.length} returning terminals: their last CONNACK after their return (s)`,
    ((returnedAt - c0 - connectedAll - 20_000) / 1000).toFixed(2),
    `${fleet.connectRetries() - retriesAtStart} connect retries`,
    '',
    '',
  ])
  rows.push([
    'gateway RSS (MB): started / all connected / peak during the run',
    `${rssBefore.toFixed(0)} / ${rssConnected.toFixed(0)} / ${rssPeakMb.toFixed(0)}`,
    '',
    '',
    '',
  ])
  rows.push([
    "gateway log lines 'mqtt routing queued' (at most one a minute) / limits met",
    `${logLines(gw, 'mqtt routing queued')} / ${logLines(gw, 'mqtt connection refused')}`,
    '',
    '',
    '',
  ])
  rows.push([
    'played within 60 s of the crossing',
    pct(within60, targeted),
    '',
    '≥ 99.5 %',
    within60 / targeted >= 0.995 ? 'yes' : 'NO',
  ])
  rows.push([
    `returning terminals served (${fleet.offline.length} offline at the crossing, back after 20 s)`,
    pct(back, fleet.offline.length),
    '',
    '100 %',
    back === fleet.offline.length ? 'yes' : 'NO',
  ])
  figures.loudspeakers = {
    terminals: targeted,
    flaky: FLAKY,
    offline: OFFLINE,
    connectAllMs: connectedAll,
    connectRetries: fleet.connectRetries(),
    rssMb: { started: rssBefore, connected: rssConnected, peak: rssPeakMb },
    playedWithin60: within60 / targeted,
    notPlayed: targeted - played.size,
    lateIds: [...played.entries()].filter(([, at]) => at - t0 > 60_000).length,
  }
  const onlineTimes = [...played.entries()]
    .filter(([id]) => !fleet.offline.includes(id))
    .map(([, at]) => at - t0)
  const onlineCount = targeted - fleet.offline.length
  // Time until a share of the online terminals had played (first tries reach about 95 %: 10 % are
  // flaky and fail half their plays; the rest need a retry).
  const atShare = (xs: number[], n: number, share: number) =>
    [...xs].sort((a, b) => a - b)[Math.ceil(n * share) - 1] ?? NaN
  const ours90 = atShare(onlineTimes, onlineCount, 0.9)
  const ours95 = atShare(onlineTimes, onlineCount, 0.95)

  await fleet.close()
  await gw.stop()

  // Reference: the same commands published once, straight to an equal fleet (same seed, same
  // flaky share) on a bare aedes broker: MQTT fan-out and terminal time, no alert manager.
  const broker = await Aedes.createBroker()
  broker.on('clientError', () => {})
  const server = createServer(broker.handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
  const refFleet = await startTerminals({
    url,
    terminals: terminalIds(),
    flakyFraction: FLAKY,
    offlineFraction: OFFLINE,
    playMs: 200,
    seed: 11,
    credentials: credentials(),
  })
  const pub = await mqtt.connectAsync(url, { clientId: 'bench-ref' })
  const r0 = Date.now()
  const refOnline = refFleet.online
  await Promise.all(
    refOnline.map((id) =>
      pub.publishAsync(
        terminalCmdTopic(id),
        JSON.stringify({
          action: 'play',
          warningId: 'REF',
          version: 1,
          kind: 'issue',
          level: 'yellow',
          hazard: 'flood',
          text: 'reference',
          language: 'zh-CN',
          priority: 120,
          repeat: 1,
          expiresAt: Date.now() + 3_600_000,
          sentAt: Date.now(),
        }),
        { qos: 1 },
      ),
    ),
  )
  for (
    let i = 0;
    i < 40 &&
    refFleet.receipts().filter((x) => x.state !== 'accepted' && x.state !== 'playing').length <
      refOnline.length;
    i++
  )
    await sleep(250)
  const refPlayed = [...firstPlayed(refFleet, 'REF').values()].map((at) => at - r0)
  const ref90 = atShare(refPlayed, refOnline.length, 0.9)
  rows.push([
    'time to 90 % of online terminals played (ms)',
    ours90.toFixed(0),
    `${ref90.toFixed(0)} (bare fan-out of the same commands)`,
    `${(ours90 / ref90).toFixed(2)}×`,
    '',
  ])
  rows.push([
    'time to 95 % of online terminals played (ms; flaky ones need a retry)',
    ours95.toFixed(0),
    `one try reaches ${pct(refPlayed.length, refOnline.length)}`,
    '',
    '',
  ])
  await pub.endAsync()
  await refFleet.close()
  await new Promise<void>((r) => broker.close(() => r()))
  server.close()

  // Run 2: playable 10 s; the returning terminals come back after it expired and must not play it.
  const gw2 = await gateway({ playableFor: '10s' })
  const fleet2 = await startTerminals({
    url: gw2.urls.mqtt,
    terminals: terminalIds(),
    offlineFraction: OFFLINE,
    offlineReturnAfterMs: 20_000,
    playMs: 100,
    seed: 12,
    credentials: credentials(),
  })
  await cross(gw2)
  await fleet2.returned
  await sleep(3000)
  const late = fleet2.played().filter((p) => fleet2.offline.includes(p.terminalId)).length
  rows.push([
    `expired warnings played by ${fleet2.offline.length} terminals back after expiry`,
    String(late),
    '',
    '0',
    late === 0 ? 'yes' : 'NO',
  ])
  await fleet2.close()
  await gw2.stop()
}

/** Polls `get` every 50 ms until `ok`, or gives up after `ms`; returns the time it became true. */
async function when<T>(get: () => T | Promise<T>, ok: (v: T) => boolean, ms = 120_000): Promise<number> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (ok(await get())) return Date.now()
    await sleep(50)
  }
  throw new Error('timed out')
}

async function sms(rows: string[][]) {
  const smsc = await startSmsc({ receiptDelayMs: 20 })
  const gw = await gateway({ playableFor: '6h', smsPort: smsc.port })
  const base = gw.urls.http
  await when(
    () => fetch(`${base}/api/sms`).then((r) => r.json() as Promise<{ bound: boolean }>),
    (s) => s.bound,
  )
  const issue = async (level: string) => {
    const res = await fetch(`${base}/api/warnings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ hazard: 'rainstorm', level, regions: ['511823000000'] }),
    })
    return ((await res.json()) as { warningId: string }).warningId
  }
  const coverage = (id: string) =>
    fetch(`${base}/api/warnings/${id}/coverage`)
      .then((r) => r.json() as Promise<{ versions: { sms: { targeted: number; delivered: number } }[] }>)
      .then((c) => c.versions[0]!.sms)

  // Steady state: 2,000 recipients of one warning.
  const t0 = Date.now()
  const first = await issue('blue')
  const submittedAt = await when(
    () => smsc.submitted.length,
    (n) => n >= PEOPLE,
  )
  const deliveredAt = await when(
    () => coverage(first),
    (c) => c.delivered >= PEOPLE,
  )
  const submitRate = PEOPLE / ((submittedAt - t0) / 1000)
  const deliverRate = PEOPLE / ((deliveredAt - t0) / 1000)

  // Outage: the SMSC goes away, a second warning queues, the SMSC returns and the queue drains.
  await smsc.down()
  await when(
    () => fetch(`${base}/api/sms`).then((r) => r.json() as Promise<{ bound: boolean }>),
    (s) => !s.bound,
  )
  const second = await issue('yellow')
  await when(
    () => fetch(`${base}/api/sms`).then((r) => r.json() as Promise<{ backlog: number }>),
    (s) => s.backlog >= PEOPLE,
  )
  await sleep(2000)
  const up = Date.now()
  await smsc.up()
  const drainedAt = await when(
    () => fetch(`${base}/api/sms`).then((r) => r.json() as Promise<{ backlog: number }>),
    (s) => s.backlog === 0,
  )
  await when(
    () => coverage(second),
    (c) => c.delivered >= PEOPLE,
  )
  const texts = smsc.received().map((m) => `${m.to}|${m.text}`)
  const duplicates = texts.length - new Set(texts).size
  await gw.stop()

  // Reference: a bare smpp client submitting the same number of messages to the same SMSC.
  const ref = smpp.connect({ url: `smpp://127.0.0.1:${smsc.port}` })
  await new Promise<void>((resolve) =>
    ref.on('connect', () => ref.bind_transceiver({ system_id: 'ref', password: 'ref' }, () => resolve())),
  )
  const r0 = Date.now()
  await new Promise<void>((resolve) => {
    let answered = 0
    for (let i = 0; i < PEOPLE; i++)
      ref.submit_sm(
        {
          destination_addr: `1380000${String(i).padStart(4, '0')}`,
          data_coding: 8,
          short_message: { message: '【蓝色预警】示范县：暴雨蓝色预警。请注意防范。' },
        },
        () => {
          if (++answered === PEOPLE) resolve()
        },
      )
  })
  const refRate = PEOPLE / ((Date.now() - r0) / 1000)
  ref.destroy()
  await smsc.close()

  rows.push([
    `SMS submitted/s through the SMPP peer (${PEOPLE} recipients, UCS-2)`,
    submitRate.toFixed(0),
    `${refRate.toFixed(0)} (bare smpp client)`,
    `${(submitRate / refRate).toFixed(2)}×`,
    '',
  ])
  rows.push([`SMS delivered (receipted)/s, issue to last receipt`, deliverRate.toFixed(0), '', '', ''])
  rows.push([
    `drain after a ${PEOPLE}-message SMSC outage (s, from the SMSC's return)`,
    ((drainedAt - up) / 1000).toFixed(2),
    '',
    '',
    '',
  ])
  rows.push([
    `messages received twice after the outage`,
    String(duplicates),
    '',
    '0',
    duplicates === 0 ? 'yes' : 'NO',
  ])
}

async function main() {
  const rows: string[][] = []
  if (args.only !== 'sms') await loudspeakers(rows)
  if (args.only !== 'loudspeakers') await sms(rows)
  const head = ['measure', 'ours', 'reference', 'ratio / target', 'met']
  console.log('\n' + markdownTable(head, rows) + '\n')
  console.log(writeResults('dissemination', { terminals: TERMINALS, rows, figures }))
}

await main()
