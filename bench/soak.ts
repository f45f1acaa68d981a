/**
 * Soak (issue 17): the demo county at a steady load for `--minutes` (30; `--quick`: 3), then it
 * stops by itself. The gateway runs from the build as its own process with the demo county
 * registry (plus `--sensors` generated river gauges spread over its villages), a simulated SMSC as
 * its `sms:` (delivery receipts after 50 ms), the registry's 28 loudspeakers simulated (logging in
 * as devices), and the gauges publishing authenticated QoS 1 at `--rate` readings/s from a
 * process of their own. Event time runs `--event-speed` (3,600: an hour a second) and the stage
 * swings 30.0 → 34.5 → 30.0 m every `--period-hours` of event time, so every village's flood
 * warning is raised, stepped up to orange, stepped down and lifted again and again: commands,
 * receipts and SMS flow all the time. `store.retention` keeps raw readings for the floor of the
 * rules' windows (96 h behind each station's latest reading, under two minutes at that speed)
 * and drops the folded buckets at once, so the store's used bytes must flatten.
 *
 * Every `--sample` seconds it records the gateway's RSS, heap, event-loop p99, active handles,
 * store size (from /metrics) and the flow counters; at the end it fits a least-squares slope per
 * figure over the second half (the first is warm-up), prints start, end, slope per hour, the
 * bound and pass/fail, and writes everything to bench/out/soak-<time>.json. The reference is the
 * publisher process (mqtt.js, the same run, the same machine): a Node process at the same pace
 * with no store, whose RSS and heap slopes show what flat looks like here.
 *
 *   npm run build && npm run bench:soak -- [--minutes 30] [--sensors 200] [--rate 500] [--sample 10] [--quick]
 */
import { fork } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import { parse, stringify } from 'yaml'
import { startSmsc } from '../sensors-sim/src/smsc.js'
import { startTerminals } from '../sensors-sim/src/terminals.js'
import { simCredentials } from '../tests/helpers/devices.js'
import {
  BENCH_MQTT_YAML,
  ROOT,
  requireBuild,
  rssMb,
  startGatewayProcess,
  type GatewayProc,
} from './lib/procs.js'
import { markdownTable, writeResults } from './lib/report.js'
import type { PublisherOptions, PublisherSample } from './lib/soak-publisher.js'

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    sensors: { type: 'string', default: '200' },
    rate: { type: 'string', default: '500' },
    sample: { type: 'string', default: '10' },
    'event-speed': { type: 'string', default: '3600' },
    'period-hours': { type: 'string', default: '24' },
    quick: { type: 'boolean', default: false },
  },
})
const MINUTES = args.quick ? 3 : Number(args.minutes)
const SENSORS = Number(args.sensors)
const RATE = Number(args.rate)
const SAMPLE_MS = Number(args.sample.replace(/s$/, '')) * 1000
const SPEED = Number(args['event-speed'])
const PERIOD_MS = Number(args['period-hours']) * 3_600_000
const DURATION_MS = MINUTES * 60_000

/** The stated bounds: slope per hour over the second half. */
const MB = 1024 * 1024
const BOUNDS = {
  rssBytes: 5 * MB,
  heapBytes: 5 * MB,
  handles: 1,
  loopP99Ms: 5,
} as const
/**
 * Once retention bites, the readings stop adding to the store; what still grows is the warnings'
 * history, which is never dropped (warnings, versions, deliveries, receipts, SMS, audit; the event
 * stream up to its cap). Used bytes may grow at most this many times that history's own rate.
 */
const STORE_FACTOR = 1.5

requireBuild()
const log = (s: string) => process.stderr.write(`[soak] ${new Date().toISOString().slice(11, 19)} ${s}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const dir = mkdtempSync(join(tmpdir(), 'shaobing-soak-'))
const DEMO = join(ROOT, 'gateway/config/demo')

// The demo county, plus the generated gauges spread over its villages (one station each, with the
// river-flood constants of the demo's 柳湾 station; approach_offset_m makes blue fire).
interface Doc {
  regions: { code: string; level: string }[]
  stations: Record<string, unknown>[]
  terminals: { id: string }[]
}
const county = parse(readFileSync(join(DEMO, 'county.yaml'), 'utf8')) as Doc
const villages = county.regions.filter((r) => r.level === 'village').map((r) => r.code)
const gaugeIds = Array.from({ length: SENSORS }, (_, i) => `wl-soak-${String(i).padStart(4, '0')}`)
county.stations.push(
  ...gaugeIds.map((id, i) => ({
    id: id.toUpperCase(),
    name: `soak gauge ${i}`,
    region: villages[i % villages.length]!,
    params: {
      approach_offset_m: -0.5,
      warning_level: 32.5,
      guaranteed_level: 34.0,
      historical_max_level: 35.2,
    },
    sensors: [{ id, kind: 'water_level' }],
  })),
)
writeFileSync(join(dir, 'county.yaml'), stringify(county))
const terminalIds = county.terminals.map((t) => t.id)

async function metrics(httpPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  const m = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue
    const sp = line.lastIndexOf(' ')
    m.set(line.slice(0, sp), Number(line.slice(sp + 1)))
  }
  return m
}
/** The sum of a metric over its label sets, optionally only those whose labels contain `match`. */
function sum(m: Map<string, number>, name: string, match = ''): number {
  let s = 0
  for (const [k, v] of m)
    if ((k === name || k.startsWith(name + '{')) && k.includes(match) && Number.isFinite(v)) s += v
  return s
}

interface Sample {
  /** Seconds since the load started. */
  t: number
  rssBytes: number
  heapBytes: number
  loopP99Ms: number
  handles: number
  storeUsedBytes: number
  storeFileBytes: number
  readingsStored: number
  retentionFolded: number
  raised: number
  updated: number
  lifted: number
  warningsActive: number
  commands: number
  receipts: number
  played: number
  smsQueued: number
  smsSubmitted: number
  smsDelivered: number
  smsCapped: number
  mqttClients: number
  pubRssBytes: number
  pubHeapBytes: number
  pubSent: number
  pubAcked: number
  pubErrors: number
  pubHeldBack: number
  benchRssBytes: number
  smscReceived: number
  eventTime: string
}

/** Least-squares slope of y against t (seconds), per hour. */
function slopePerHour(ts: readonly number[], ys: readonly number[]): number {
  const n = ts.length
  if (n < 2) return NaN
  const mt = ts.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (ts[i]! - mt) * (ys[i]! - my)
    den += (ts[i]! - mt) ** 2
  }
  return (num / den) * 3600
}

async function main(): Promise<void> {
  const smsc = await startSmsc({ receiptDelayMs: 50 })
  const config = join(dir, 'gateway.yaml')
  writeFileSync(
    config,
    [
      `registry: ${JSON.stringify(join(dir, 'county.yaml'))}`,
      `kinds: ${JSON.stringify(join(ROOT, 'gateway/config/kinds.yaml'))}`,
      `rules: [${JSON.stringify(join(ROOT, 'rules/catalog'))}]`,
      `dissemination: ${JSON.stringify(join(DEMO, 'dissemination.yaml'))}`,
      `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
      'log: { level: warn }',
      BENCH_MQTT_YAML,
      // Caps per recipient are far above the field's (10/h): every version of every cycle is sent.
      `sms: { url: 'smpp://127.0.0.1:${smsc.port}', systemId: soak, password: soak, ratePerSecond: 1000, hourlyCap: 1000000, dailyCap: 10000000 }`,
      // No 叫应 (call-and-answer): its calls would wait for replies nobody sends.
      'callout: { levels: [] }',
      // Raw readings for the rules' windows only (the floor), the folded buckets dropped at once.
      'store: { retention: { raw: 10m, downsampleEvery: 1h, downsampled: 1h, checkEvery: 1m } }',
    ].join('\n') + '\n',
  )
  log(
    `gateway: demo county + ${SENSORS} gauges in ${villages.length} villages, ${terminalIds.length} loudspeakers`,
  )
  const gw: GatewayProc = await startGatewayProcess(config)
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`
  const fleet = await startTerminals({
    url,
    terminals: terminalIds.map((id) => ({ id })),
    playMs: 200,
    seed: 17,
    credentials: simCredentials(terminalIds),
  })

  // Event time starts far enough back that, at the full rate, it reaches a day before the wall clock.
  const stepMs = (SENSORS / RATE) * SPEED * 1000
  const t0 = Math.floor((Date.now() - DURATION_MS * SPEED * 1.1 - 86_400_000) / 3_600_000) * 3_600_000
  const pubOpts: PublisherOptions = {
    url,
    ids: gaugeIds,
    rate: RATE,
    t0,
    stepMs,
    periodMs: PERIOD_MS,
    base: 30,
    peak: 34.5,
    maxInflight: 2000,
  }
  const pub = fork(join(import.meta.dirname, 'lib/soak-publisher.ts'), [JSON.stringify(pubOpts)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let last: PublisherSample | undefined
  const waiters: ((s: PublisherSample) => void)[] = []
  const ready = new Promise<void>((resolve, reject) => {
    pub.on('message', (m: { type: string }) => {
      if (m.type === 'ready') resolve()
      if (m.type === 'sample') {
        last = m as PublisherSample
        waiters.shift()?.(last)
      }
    })
    pub.once('exit', (code) => reject(new Error(`publisher exited (${code})`)))
  })
  await ready
  const ask = (type: 'sample' | 'stop') =>
    new Promise<PublisherSample>((resolve) => {
      waiters.push(resolve)
      pub.send({ type })
    })
  const pubPid = pub.pid!
  // Never leave the children behind if the soak is interrupted or throws.
  const killAll = () => {
    pub.kill('SIGKILL')
    gw.proc.kill('SIGKILL')
  }
  process.once('exit', killAll)
  process.once('SIGINT', () => process.exit(130))

  const start = Date.now()
  log(
    `load: ${SENSORS} sensors, ${RATE} readings/s QoS 1, event time ×${SPEED} (a reading every ${(stepMs / 60_000).toFixed(0)} min per gauge), ${MINUTES} min, sample every ${SAMPLE_MS / 1000} s`,
  )
  const samples: Sample[] = []
  const take = async () => {
    const [m, p] = await Promise.all([metrics(gw.httpPort), ask('sample')])
    const s: Sample = {
      t: (Date.now() - start) / 1000,
      rssBytes: sum(m, 'shaobing_process_resident_memory_bytes'),
      heapBytes: sum(m, 'shaobing_nodejs_heap_size_used_bytes'),
      loopP99Ms: sum(m, 'shaobing_nodejs_eventloop_lag_p99_seconds') * 1000,
      handles: sum(m, 'shaobing_nodejs_active_handles_total'),
      storeUsedBytes: sum(m, 'shaobing_store_used_bytes'),
      storeFileBytes: sum(m, 'shaobing_store_file_bytes'),
      readingsStored: sum(m, 'shaobing_readings_stored_total'),
      retentionFolded: sum(m, 'shaobing_retention_folded_total'),
      raised: sum(m, 'shaobing_warning_transitions_total', 'action="issue"'),
      updated: sum(m, 'shaobing_warning_transitions_total', 'action="update"'),
      lifted: sum(m, 'shaobing_warning_transitions_total', 'action="lift"'),
      warningsActive: sum(m, 'shaobing_warnings_active'),
      commands: sum(m, 'shaobing_terminal_commands_total'),
      receipts: sum(m, 'shaobing_terminal_receipts_total'),
      played: sum(m, 'shaobing_terminal_receipts_total', 'state="played"'),
      smsQueued: sum(m, 'shaobing_sms_queued_total'),
      smsSubmitted: sum(m, 'shaobing_sms_outcomes_total', 'outcome="submitted"'),
      smsDelivered: sum(m, 'shaobing_sms_outcomes_total', 'outcome="delivered_part"'),
      smsCapped: sum(m, 'shaobing_sms_outcomes_total', 'outcome="capped"'),
      mqttClients: sum(m, 'shaobing_mqtt_clients_connected'),
      pubRssBytes: rssMb(pubPid) * MB,
      pubHeapBytes: p.heapUsedBytes,
      pubSent: p.sent,
      pubAcked: p.acked,
      pubErrors: p.errors,
      pubHeldBack: p.heldBack,
      benchRssBytes: process.memoryUsage.rss(),
      smscReceived: smsc.submitted.length,
      eventTime: new Date(p.eventTime).toISOString(),
    }
    samples.push(s)
    log(
      `t=${s.t.toFixed(0)}s rss ${(s.rssBytes / MB).toFixed(1)} MB heap ${(s.heapBytes / MB).toFixed(1)} MB loop p99 ${s.loopP99Ms.toFixed(1)} ms handles ${s.handles} store ${(s.storeUsedBytes / MB).toFixed(1)} MB stored ${s.readingsStored} warnings +${s.raised}/~${s.updated}/-${s.lifted} cmds ${s.commands} receipts ${s.receipts} sms ${s.smsSubmitted}/${s.smsDelivered} event ${s.eventTime.slice(0, 16)}`,
    )
  }
  await take()
  while (Date.now() - start < DURATION_MS) {
    await sleep(Math.min(SAMPLE_MS, Math.max(0, start + samples.length * SAMPLE_MS - Date.now())))
    await take()
  }
  const final = await ask('stop')
  await fleet.close()
  await gw.stop()
  await smsc.close()

  // Where the store's bytes are, by table (SQLite's dbstat), with the gateway stopped.
  const sqlite = new Database(join(dir, 'data/shaobing.db'), { readonly: true })
  const tables = sqlite.prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name').all() as {
    name: string
    bytes: number
  }[]
  const versions = (sqlite.prepare('SELECT COUNT(*) AS n FROM warning_versions').get() as { n: number }).n
  sqlite.close()
  const isReadings = (name: string) => /^(sqlite_autoindex_)?readings/.test(name)
  const readingBytes = tables.filter((t) => isReadings(t.name)).reduce((a, t) => a + t.bytes, 0)
  const historyBytes = tables.filter((t) => !isReadings(t.name)).reduce((a, t) => a + t.bytes, 0)
  const historyPerVersion = historyBytes / versions

  // Second half: after warm-up (and, at the default speeds, after retention started to bite).
  const half = samples.filter((s) => s.t >= DURATION_MS / 2000)
  const first = half[0]!
  const end = half[half.length - 1]!
  const slope = (k: keyof Sample) =>
    slopePerHour(
      half.map((s) => s.t),
      half.map((s) => s[k] as number),
    )
  // What keeping every raw reading costs: used bytes per stored reading before the first fold.
  const before = samples.filter((s) => s.retentionFolded === 0)
  const b0 = before[0]!
  const b1 = before[before.length - 1]!
  const bytesPerReading =
    b1.readingsStored > b0.readingsStored
      ? (b1.storeUsedBytes - b0.storeUsedBytes) / (b1.readingsStored - b0.readingsStored)
      : NaN
  const storedPerHour = ((end.readingsStored - first.readingsStored) / (end.t - first.t)) * 3600
  const rawGrowth = bytesPerReading * storedPerHour
  const versionsPerHour =
    ((end.raised + end.updated + end.lifted - first.raised - first.updated - first.lifted) /
      (end.t - first.t)) *
    3600
  const historyGrowth = historyPerVersion * versionsPerHour
  const storeBound = STORE_FACTOR * historyGrowth
  const bitten = half.every((s) => s.retentionFolded > 0)

  const mb = (x: number) => (x / MB).toFixed(2)
  const rows: string[][] = []
  const check = (
    name: string,
    k: keyof Sample,
    bound: number,
    fmt: (x: number) => string,
    unit: string,
    extra = true,
  ) => {
    const s = slope(k)
    const ok = s <= bound && extra
    rows.push([
      name,
      fmt(first[k] as number),
      fmt(end[k] as number),
      `${fmt(s)} ${unit}/h`,
      `≤ ${fmt(bound)}`,
      ok ? 'pass' : 'FAIL',
    ])
    return { figure: k, start: first[k], end: end[k], slopePerHour: s, bound, pass: ok }
  }
  const checks = [
    check('gateway RSS (MB)', 'rssBytes', BOUNDS.rssBytes, mb, 'MB'),
    check('gateway heap used (MB)', 'heapBytes', BOUNDS.heapBytes, mb, 'MB'),
    check('gateway active handles', 'handles', BOUNDS.handles, (x) => x.toFixed(1), ''),
    check('gateway event-loop p99 (ms)', 'loopP99Ms', BOUNDS.loopP99Ms, (x) => x.toFixed(2), 'ms'),
    check(
      `store used (MB; bound ${STORE_FACTOR}× the history's ${mb(historyGrowth)} MB/h)`,
      'storeUsedBytes',
      storeBound,
      mb,
      'MB',
      bitten,
    ),
    check('store files, database + WAL (MB; same bound)', 'storeFileBytes', storeBound, mb, 'MB', bitten),
    check('reference: publisher RSS (MB)', 'pubRssBytes', BOUNDS.rssBytes, mb, 'MB'),
    check('reference: publisher heap used (MB)', 'pubHeapBytes', BOUNDS.heapBytes, mb, 'MB'),
  ]
  const d = (k: keyof Sample) => (end[k] as number) - (first[k] as number)
  const flowing = {
    readingsStored: d('readingsStored'),
    raised: d('raised'),
    updated: d('updated'),
    lifted: d('lifted'),
    commands: d('commands'),
    receipts: d('receipts'),
    played: d('played'),
    smsSubmitted: d('smsSubmitted'),
    smsPartsDelivered: d('smsDelivered'),
    retentionFolded: d('retentionFolded'),
  }
  const flowRows = Object.entries(flowing).map(([k, v]) => [
    k,
    String(v),
    `${((v / (end.t - first.t)) * 60).toFixed(1)}/min`,
    v > 0 ? 'flowing' : 'NONE',
  ])
  const allPass = checks.every((c) => c.pass) && Object.values(flowing).every((v) => v > 0)

  console.log(
    `\nSoak: ${MINUTES} min, ${SENSORS} sensors at ${RATE} readings/s (QoS 1, authenticated), slopes over the second half (${half.length} samples, t ≥ ${first.t.toFixed(0)} s)\n`,
  )
  console.log(markdownTable(['figure', 'start', 'end', 'slope', 'bound', 'result'], rows))
  console.log(
    `\nstore at the end: readings ${mb(readingBytes)} MB, warnings' history ${mb(historyBytes)} MB (${versions} versions, ${(historyPerVersion / 1024).toFixed(1)} KiB each; ${versionsPerHour.toFixed(0)} versions/h in the second half = ${mb(historyGrowth)} MB/h expected); without retention the readings alone would add ${bytesPerReading.toFixed(0)} B/reading (before the first fold) × ${(storedPerHour / 3600).toFixed(0)} readings/s = ${mb(rawGrowth)} MB/h; retention folded in every second-half sample: ${bitten ? 'yes' : 'NO'}\n`,
  )
  console.log(markdownTable(['second half', 'count', 'rate', ''], flowRows))
  console.log(
    `\npublisher: sent ${final.sent}, acknowledged ${final.acked}, errors ${final.errors}, held back ${final.heldBack} ticks; SMSC received ${smsc.submitted.length} parts; loudspeakers played ${fleet.played().length}\n${allPass ? 'all within bounds' : 'SOME FIGURES OUT OF BOUNDS'}\n`,
  )
  const out = writeResults('soak', {
    date: new Date().toISOString(),
    options: {
      minutes: MINUTES,
      sensors: SENSORS,
      rate: RATE,
      sampleMs: SAMPLE_MS,
      eventSpeed: SPEED,
      periodMs: PERIOD_MS,
    },
    bounds: { ...BOUNDS, storeFactor: STORE_FACTOR, storeBytesPerHour: storeBound },
    bytesPerReading,
    storedPerHour,
    rawGrowthPerHour: rawGrowth,
    store: {
      tables,
      versions,
      readingBytes,
      historyBytes,
      historyPerVersion,
      versionsPerHour,
      historyGrowth,
    },
    checks,
    flowing,
    publisher: final,
    samples,
  })
  log(`wrote ${out}`)
  rmSync(dir, { recursive: true, force: true })
}

await main()
