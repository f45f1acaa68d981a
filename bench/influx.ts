/**
 * The InfluxDB sink's speed into a real VictoriaMetrics, beside the bare `@influxdata/influxdb-client`
 * writing the same points to the same kind of server in the same run.
 *
 * 1. Throughput: `--points` readings already in the gateway's store (a backlog, as after an outage)
 *    drained by the sink into a fresh VictoriaMetrics, timed from the server coming up until the
 *    sink counts all of them accepted; beside the bare client writing the same lines (the sink's own
 *    line protocol, the same batch size and gzip) into another fresh one, timed to its close().
 * 2. Outage: live QoS 1 readings at `--rate` through MQTT; the server is stopped for
 *    `--outage-minutes` while they keep coming, then started again: how long the sink takes to
 *    catch up with live traffic, and its drain rate (points accepted per second meanwhile) as a
 *    multiple of the live rate and of the bare client's throughput.
 *
 *   npm run build && npm run bench:influx                    # about 15 minutes (a 10-minute outage)
 *   npm run bench:influx -- --quick                          # about 2 minutes (a 1-minute outage)
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { InfluxDB } from '@influxdata/influxdb-client'
import { readingLine } from '../gateway/src/sinks/influx/lines.js'
import { openDb } from '../gateway/src/store/db.js'
import { ReadingStore } from '../gateway/src/store/readings.js'
import { gaugeRegistry } from '../tests/helpers/child-gateway.js'
import { startVictoriaMetrics, VICTORIA_METRICS, type ServiceProcess } from '../tests/helpers/services.js'
import { closeAll, connectMany, paceLoad, sensorId, T0 } from './lib/load.js'
import { requireBuild, startGatewayProcess, type GatewayProc } from './lib/procs.js'
import { markdownTable, writeResults } from './lib/report.js'
import { existsSync } from 'node:fs'

const { values: args } = parseArgs({
  options: {
    points: { type: 'string', default: '1000000' },
    sensors: { type: 'string', default: '200' },
    rate: { type: 'string', default: '2000' },
    'outage-minutes': { type: 'string', default: '10' },
    'batch-size': { type: 'string', default: '5000' },
    quick: { type: 'boolean', default: false },
    'no-outage': { type: 'boolean', default: false },
    runs: { type: 'string', default: '2' },
    // internal: this file run again as the bare client's own process (see bareClient)
    'bare-child': { type: 'string' },
  },
})
const QUICK = args.quick
const POINTS = QUICK ? 200_000 : Number(args.points)
const SENSORS = Number(args.sensors)
const RATE = Number(args.rate)
const OUTAGE_MS = (QUICK ? 1 : Number(args['outage-minutes'])) * 60_000
const BATCH = Number(args['batch-size'])
const REGION = '511823100201'

if (!existsSync(VICTORIA_METRICS)) {
  console.error(`${VICTORIA_METRICS} not found: apt-get install -y victoria-metrics`)
  process.exit(2)
}
requireBuild()

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The i-th prefilled reading: sensors in turn, one a minute each, plausible stages. */
function reading(i: number) {
  const s = i % SENSORS
  const k = Math.floor(i / SENSORS)
  return {
    stationId: `WL-${String(s).padStart(5, '0')}`,
    sensorId: sensorId(s),
    kind: 'water_level',
    ts: T0 + k * 60_000,
    values: { stage_m: 30 + (k % 190) / 100 },
  }
}

async function metricSum(httpPort: number, prefix: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .reduce((a, l) => a + Number(l.split(' ').at(-1)), 0)
}

async function waitFor(get: () => Promise<number>, ok: (n: number) => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!ok(await get())) {
    if (Date.now() > end) throw new Error('timed out')
    await sleep(20)
  }
}

function gatewayConfig(dir: string, vmUrl: string, extra = ''): string {
  writeFileSync(join(dir, 'registry.yaml'), gaugeRegistry(SENSORS))
  const config = join(dir, 'gateway.yaml')
  writeFileSync(
    config,
    [
      'registry: registry.yaml',
      'dataDir: data',
      'mqtt: { host: 127.0.0.1, port: 0, wsPort: null, limits: { perAddress: { connectsPerSecond: 0 } } }',
      'http: { host: 127.0.0.1, port: 0 }',
      'log: { level: warn }',
      `sinks: { influx: { url: ${JSON.stringify(vmUrl)}, org: shaobing, bucket: shaobing, batchSize: ${BATCH}, retry: { min: 50ms, max: 50ms }${extra} } }`,
      '',
    ].join('\n'),
  )
  return config
}

/**
 * The bare client: the same lines, the same batch size and gzip threshold, written as its users
 * write them (writeRecords, the client batching), timed until it reports every line written. (Its
 * close() resolves after the last batch only: batches still in flight are not awaited.) It runs in
 * a process of its own, started afresh each run as the gateway is: run in this one, it wrote ever
 * faster from run to run as this process warmed (measured: 309,000, 368,000, 509,000 points/s),
 * while each gateway starts cold.
 */
async function bareClient(vm: ServiceProcess): Promise<number> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--bare-child', vm.url],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`the bare client's process exited with ${code}`)
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { rate: number }).rate
}

/** In the bare client's own process: the lines made, then written and timed. */
async function bareChild(url: string): Promise<number> {
  const lines = Array.from({ length: POINTS }, (_, i) => readingLine(reading(i), { region: REGION })!)
  let written = 0
  let failed = 0
  let done: () => void = () => {}
  const all = new Promise<void>((r) => (done = r))
  const write = new InfluxDB({ url, timeout: 30_000 }).getWriteApi('shaobing', 'shaobing', 'ms', {
    batchSize: BATCH,
    gzipThreshold: 1000,
    flushInterval: 0,
    maxRetries: 0,
    writeSuccess: (l) => {
      written += l.length
      if (written + failed >= lines.length) done()
    },
    writeFailed: (_e, l) => {
      failed += l.length
      if (written + failed >= lines.length) done()
    },
  })
  const t0 = performance.now()
  write.writeRecords(lines)
  await write.flush()
  await all
  const s = (performance.now() - t0) / 1000
  await write.close()
  if (failed > 0) throw new Error(`the bare client failed to write ${failed} of ${lines.length} lines`)
  return written / s
}

/** Our sink: the backlog prefilled in the store, drained from the moment the server answers. */
async function sinkDrain(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-bench-influx-'))
  const vm = await startVictoriaMetrics()
  await vm.stop() // down while the gateway starts: the backlog waits in the store
  const config = gatewayConfig(dir, vm.url)
  const db = openDb({ dataDir: join(dir, 'data'), synchronous: 'normal' })
  const store = new ReadingStore(db, { batchMaxMessages: 50_000, batchMaxDelayMs: 1000, now: Date.now })
  for (let i = 0; i < POINTS; i++) store.add(reading(i), () => {})
  store.close()
  db.close()
  const gw = await startGatewayProcess(config)
  try {
    await vm.start()
    const t0 = performance.now()
    await waitFor(
      () => metricSum(gw.httpPort, 'shaobing_sink_points_written_total{sink="influx",class="reading"}'),
      (n) => n >= POINTS,
      600_000,
    )
    return POINTS / ((performance.now() - t0) / 1000)
  } finally {
    await gw.stop()
    await vm.close()
  }
}

async function outage(bareRate: number) {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-bench-influx-'))
  const vm = await startVictoriaMetrics()
  const config = gatewayConfig(dir, vm.url)
  const gw: GatewayProc = await startGatewayProcess(config)
  const clients = await connectMany(`mqtt://127.0.0.1:${gw.mqttPort}`, SENSORS, sensorId)
  const stop = new AbortController()
  const load = paceLoad(clients, RATE, stop.signal)
  const backlog = () => metricSum(gw.httpPort, 'shaobing_sink_backlog_points{sink="influx",class="reading"}')
  const written = () =>
    metricSum(gw.httpPort, 'shaobing_sink_points_written_total{sink="influx",class="reading"}')
  try {
    await sleep(10_000) // live, caught up
    await vm.stop()
    process.stdout.write(
      `outage: server stopped for ${OUTAGE_MS / 60_000} min while ${RATE} readings/s keep coming…\n`,
    )
    await sleep(OUTAGE_MS)
    const waiting = await backlog()
    const before = await written()
    await vm.start()
    const t0 = performance.now()
    // Caught up: less than a second of live traffic behind.
    await waitFor(backlog, (n) => n <= RATE, 600_000)
    const s = (performance.now() - t0) / 1000
    const drained = (await written()) - before
    return {
      waiting,
      seconds: s,
      drainRate: drained / s,
      vsLive: drained / s / RATE,
      vsBare: drained / s / bareRate,
    }
  } finally {
    stop.abort()
    await load
    await closeAll(clients)
    await gw.stop()
    await vm.close()
  }
}

if (args['bare-child'] !== undefined) {
  console.log(JSON.stringify({ rate: await bareChild(args['bare-child']) }))
  process.exit(0)
}
const bare: number[] = []
const ours: number[] = []
for (let run = 0; run < Number(args.runs); run++) {
  const vm = await startVictoriaMetrics()
  bare.push(await bareClient(vm))
  await vm.close()
  ours.push(await sinkDrain())
  process.stdout.write(
    `run ${run + 1}: bare ${Math.round(bare.at(-1)!)} points/s, sink ${Math.round(ours.at(-1)!)} points/s\n`,
  )
}
const bestBare = Math.max(...bare)
const bestOurs = Math.max(...ours)
if (args['no-outage']) {
  console.log(
    `best: bare ${Math.round(bestBare)}, sink ${Math.round(bestOurs)} points/s, ratio ${(bestOurs / bestBare).toFixed(2)}`,
  )
  process.exit(0)
}
const out = await outage(bestBare)
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const table = markdownTable(
  ['figure', 'ours', 'reference', 'ratio'],
  [
    [
      `points/s into VictoriaMetrics (${fmt(POINTS)} readings, best of ${args.runs})`,
      fmt(bestOurs),
      `${fmt(bestBare)} (bare client)`,
      (bestOurs / bestBare).toFixed(2),
    ],
    [
      `drain after a ${OUTAGE_MS / 60_000}-min outage at ${fmt(RATE)} readings/s live (${fmt(out.waiting)} waiting)`,
      `${fmt(out.drainRate)} points/s, caught up in ${out.seconds.toFixed(1)} s`,
      `${fmt(RATE)}/s live; ${fmt(bestBare)}/s bare client`,
      `${out.vsLive.toFixed(1)}× live, ${out.vsBare.toFixed(2)}× bare`,
    ],
  ],
)
console.log('\n' + table + '\n')
console.log(
  `raw: ${writeResults('influx', { points: POINTS, sensors: SENSORS, rate: RATE, outageMs: OUTAGE_MS, batch: BATCH, bare, ours, outage: out })}`,
)
