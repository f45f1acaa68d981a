/**
 * SL 651 benchmark: hydrology RTUs over TCP beside the same readings as JSON over MQTT, measured in
 * the same run on the same machine (shared and noisy: read the ratio), written to bench/out/.
 *
 *   npm run build && npm run bench:sl651 -- [--rtus 1000] [--reports 50] [--rounds 3] [--quick]
 *
 * Both paths get a gateway of their own, started afresh from the same build with the same registry
 * (every river station has its SL 651 mapping and its sensor's MQTT identity) and an empty data
 * directory, so neither inherits the other's rows, warmed-up JIT or rule windows. Each RTU is one
 * TCP connection that sends a timed report (32H, HEX: Z and VT), waits for its confirmation (EOT,
 * sent after the commit) and checks its serial before the next; each MQTT sensor publishes the
 * same reading (stage_m, supply_v at the same event time) at QoS 1 and waits for its PUBACK (sent
 * after the commit) before the next. Afterwards every reading must be stored exactly once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { MqttClient } from 'mqtt'
import { decodeBody, encodeReport, FN } from '../gateway/src/contracts/sl651/body.js'
import { encodeFrame, EOT, ETX, FrameReader, type Frame } from '../gateway/src/contracts/sl651/frame.js'
import { closeAll, connectMany, percentile, sensorId, topicOf } from './lib/load.js'
import { markdownTable, writeResults } from './lib/report.js'
import {
  BENCH_MQTT_YAML,
  requireBuild,
  rssMb,
  startGatewayProcess,
  type GatewayProc,
  type Proc,
} from './lib/procs.js'

const { values: args } = parseArgs({
  options: {
    rtus: { type: 'string', default: '1000' },
    /** Per RTU (and per MQTT sensor); default 50, 10 with --quick. */
    reports: { type: 'string' },
    /** Each round runs both paths, the order swapped from round to round; the best of each is kept. */
    rounds: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
})
const quick = args.quick
const RTUS = Number(args.rtus)
const REPORTS = Number(args.reports ?? (quick ? 10 : 50))
const ROUNDS = Number(args.rounds ?? (quick ? 1 : 3))
const N = RTUS * REPORTS
if (!(RTUS >= 1 && RTUS <= 5000 && REPORTS >= 1 && REPORTS <= 1000 && ROUNDS >= 1 && ROUNDS <= 5)) {
  // Bounded: the machine is shared, and a serial must stay within 1–65535.
  console.error('--rtus 1–5000, --reports 1–1000, --rounds 1–5')
  process.exit(2)
}

requireBuild()

/** Beijing time: the RTUs' clocks, as the listener's default utcOffset (+08:00) reads them. */
const BEIJING = 480
const FIVE_MIN = 5 * 60_000
const CENTER = 1
/** 00 and an 8-digit station code (BCD, §6.2.3.2); each RTU its own password. */
const addressOf = (i: number) => `00${String(61_000_000 + i).padStart(8, '0')}`
const passwordOf = (i: number) => (0x1000 + i).toString(16).toUpperCase().padStart(4, '0')
const stationOf = (i: number) => `RV-${String(i).padStart(5, '0')}`

// Event times: 5 minutes apart, on the minute (SL 651 observation times carry minutes), ending
// before the wall clock so no reading is ahead of the gateway's clock (a clock fault). Shared by
// both paths and every round: each gateway starts empty.
const EVENT0 = Math.floor((Date.now() - (REPORTS + 2) * FIVE_MIN) / FIVE_MIN) * FIVE_MIN
const eventTs = (k: number) => EVENT0 + k * FIVE_MIN
/** Plausible river stages, as bench/lib/load.ts's: 30.00–31.90 m, 1 cm per report, each gauge its own phase. */
const stageOf = (i: number, k: number) => {
  const step = (i * 7 + k) % 380
  return (3000 + (step < 190 ? step : 380 - step)) / 100
}
const SUPPLY_V = 12.6

const dir = mkdtempSync(join(tmpdir(), 'shaobing-bench-sl651-'))
const running = new Set<Proc>()
const track = <P extends Proc>(p: P): P => (running.add(p), p)
const stop = async (p: Proc) => {
  running.delete(p)
  await p.stop()
}
process.on('SIGINT', () => void Promise.all([...running].map((p) => p.stop())).then(() => process.exit(130)))

function writeRegistry(): string {
  const lines = [
    'regions:',
    "  - { code: '511823000000', name: 示范县, level: county }",
    "  - { code: '511823100000', name: 河口镇, level: township }",
    "  - { code: '511823100201', name: 柳湾村, level: village }",
    'stations:',
  ]
  for (let i = 0; i < RTUS; i++) {
    const s = sensorId(i)
    lines.push(
      `  - { id: ${stationOf(i)}, name: river ${i}, region: '511823100201', params: { warning_level: 32.5, guaranteed_level: 34.0, historical_max_level: 35.2 }, sensors: [{ id: ${s}, kind: water_level }], sl651: { address: '${addressOf(i)}', password: '${passwordOf(i)}', elements: [{ element: Z, sensor: ${s}, quantity: stage_m }, { element: VT, sensor: ${s}, quantity: supply_v }] } }`,
    )
  }
  lines.push('terminals:', "  - { id: T-BENCH, region: '511823100201' }")
  const file = join(dir, 'registry.yaml')
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}
const registry = writeRegistry()

let runNo = 0
/** The same configuration for both paths: MQTT and the SL 651 listener both on, a fresh data directory. */
async function startGateway(): Promise<GatewayProc & { sl651Port: number }> {
  const file = join(dir, `gateway-${++runNo}.yaml`)
  writeFileSync(
    file,
    [
      `registry: ${JSON.stringify(registry)}`,
      `dataDir: ${JSON.stringify(join(dir, `data-${runNo}`))}`,
      'log: { level: warn }',
      BENCH_MQTT_YAML,
      'sl651: { host: 127.0.0.1, port: 0 }',
      '',
    ].join('\n'),
  )
  // Every sensor's MQTT identity enrolled as bench/ingest.ts's are, for both paths alike.
  const g = track(await startGatewayProcess(file))
  const info = (await (await fetch(`http://127.0.0.1:${g.httpPort}/api/info`)).json()) as {
    ports: { sl651: number | null }
  }
  if (!info.ports.sl651) throw new Error('the gateway reports no SL 651 port')
  return { ...g, sl651Port: info.ports.sl651 }
}

/** Sum of a counter's samples (all label sets) in the gateway's Prometheus text. */
async function counters(httpPort: number, names: readonly string[]): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  const out: Record<string, number> = {}
  for (const name of names) out[name] = 0
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_:]+)(?:\{[^}]*\})? (\S+)$/.exec(line)
    if (m && m[1]! in out) out[m[1]!]! += Number(m[2])
  }
  return out
}
const COUNTERS = [
  'shaobing_readings_stored_total',
  'shaobing_readings_accepted_total',
  'shaobing_readings_duplicate_total',
  'shaobing_readings_rejected_total',
  'shaobing_readings_late_total',
  'shaobing_reading_values_faulty_total',
  'shaobing_sl651_frames_total',
  'shaobing_sl651_refused_total',
  'shaobing_sl651_duplicates_total',
  'shaobing_sl651_replies_total',
] as const

/** CPU time (user + system) a process has used, ms, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** A bare RTU: one TCP connection, frames out, the gateway's frames back in order. */
interface Rtu {
  send(bytes: Buffer): void
  reply(): Promise<Frame>
  close(): void
}

function rtu(port: number): Promise<Rtu> {
  return new Promise((resolve, reject) => {
    const socket: Socket = tcpConnect({ host: '127.0.0.1', port }, () => {
      socket.off('error', reject)
      socket.on('error', () => {})
      socket.setNoDelay(true) // a DTU sends each report as it is made
      const reader = new FrameReader()
      const frames: Frame[] = []
      const waiters: { resolve: (f: Frame) => void; reject: (e: Error) => void }[] = []
      const fail = (e: Error) => {
        for (const w of waiters.splice(0)) w.reject(e)
      }
      socket.on('data', (chunk) => {
        reader.push(chunk)
        for (let r = reader.read(); r; r = reader.read()) {
          if (!('frame' in r)) return fail(new Error(`the gateway sent a bad frame: ${r.problem.detail}`))
          const w = waiters.shift()
          if (w) w.resolve(r.frame)
          else frames.push(r.frame)
        }
      })
      socket.once('close', () => fail(new Error('the gateway closed the RTU connection')))
      resolve({
        send: (bytes) => void socket.write(bytes),
        reply: () => {
          const f = frames.shift()
          return f
            ? Promise.resolve(f)
            : new Promise<Frame>((res, rej) => waiters.push({ resolve: res, reject: rej }))
        },
        close: () => void socket.destroy(),
      })
    })
    socket.once('error', reject)
  })
}

/** RTU i's timed report k: stage (Z) and supply voltage (VT) at its event time, sent now. */
function reportFrame(i: number, k: number): Buffer {
  const address = addressOf(i)
  const body = encodeReport(
    'hex',
    {
      serial: k + 1,
      sentAt: Date.now(), // 发报时间: the RTU's clock, right; behind by over 10 min would be a fault
      stations: [
        {
          address,
          category: 'H', // 河道
          groups: [
            {
              observedAt: eventTs(k),
              elements: [
                { id: 'Z', value: stageOf(i, k) },
                { id: 'VT', value: SUPPLY_V },
              ],
            },
          ],
        },
      ],
    },
    BEIJING,
  )
  return encodeFrame({
    encoding: 'hex',
    direction: 'up',
    center: CENTER,
    address,
    password: passwordOf(i),
    fn: FN.timed,
    body,
    end: ETX,
  })
}

/** The confirmation must be the gateway's, for this RTU, of this report (table 21). */
function checkConfirmation(f: Frame, i: number, serial: number): void {
  const body = decodeBody(f.encoding, FN.keepAlive, f.body, f.address, BEIJING)
  const got = body.ok ? body.report.serial : NaN
  if (
    f.direction !== 'down' ||
    f.address !== addressOf(i) ||
    f.password !== passwordOf(i) ||
    f.center !== CENTER ||
    f.fn !== FN.timed ||
    f.end !== EOT ||
    got !== serial
  )
    throw new Error(
      `RTU ${i}: expected the confirmation (EOT) of serial ${serial}, got fn ${f.fn.toString(16)}H end ${f.end} serial ${got} for ${f.address}`,
    )
}

/** Opens `n` connections, `concurrency` at a time. */
async function openMany<T>(n: number, open: (i: number) => Promise<T>, concurrency = 200): Promise<T[]> {
  const out = new Array<T>(n)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++
        out[i] = await open(i)
      }
    }),
  )
  return out
}

interface PathResult {
  path: 'sl651' | 'mqtt'
  round: number
  readings: number
  ms: number
  rate: number
  latency: { p50: number; p99: number; max: number }
  /** Gateway CPU time per reading during the timed phase, µs. */
  gatewayCpuUsPerReading: number
  /** This (client) process's CPU time per reading, µs. */
  clientCpuUsPerReading: number
  gatewayRssMb: number
  counters: Record<string, number>
}

/** Each client sends its readings one by one, the next only after the previous is confirmed. */
async function drive(
  clients: number,
  /** Builds reading k of client i (not timed) and returns what sends it and waits for its confirmation. */
  prepare: (i: number, k: number) => () => Promise<void>,
): Promise<{ ms: number; latencies: Float64Array }> {
  const latencies = new Float64Array(N)
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: clients }, async (_, i) => {
      for (let k = 0; k < REPORTS; k++) {
        const send = prepare(i, k)
        const t = performance.now()
        await send()
        latencies[i * REPORTS + k] = performance.now() - t
      }
    }),
  )
  return { ms: performance.now() - t0, latencies }
}

/**
 * Every station's stored readings through the API: exactly one per report, at its event time, with
 * the values sent. A benchmark that loses or doubles data measures nothing.
 */
async function verify(g: GatewayProc, path: string): Promise<void> {
  const c = await counters(g.httpPort, COUNTERS)
  const expect = (name: string, want: number) => {
    if (c[name] !== want) throw new Error(`${path}: ${name} is ${c[name]}, expected ${want}`)
  }
  expect('shaobing_readings_stored_total', N)
  expect('shaobing_readings_accepted_total', N) // every reading evaluated too: no clock or range faults
  expect('shaobing_readings_duplicate_total', 0)
  expect('shaobing_readings_rejected_total', 0)
  expect('shaobing_readings_late_total', 0)
  expect('shaobing_reading_values_faulty_total', 0)
  expect('shaobing_sl651_frames_total', path === 'sl651' ? N : 0)
  expect('shaobing_sl651_replies_total', path === 'sl651' ? N : 0)
  expect('shaobing_sl651_refused_total', 0)
  expect('shaobing_sl651_duplicates_total', 0)
  await openMany(
    RTUS,
    async (i) => {
      const url = `http://127.0.0.1:${g.httpPort}/api/stations/${stationOf(i)}/readings?from=${eventTs(0)}&to=${eventTs(REPORTS)}&limit=${REPORTS + 1}`
      const res = await fetch(url)
      if (!res.ok) throw new Error(`${path}: GET ${url}: ${res.status}`)
      const { readings } = (await res.json()) as {
        readings: { sensorId: string; ts: number; values: Record<string, number> }[]
      }
      if (readings.length !== REPORTS)
        throw new Error(`${path}: ${stationOf(i)} has ${readings.length} readings, expected ${REPORTS}`)
      readings.forEach((r, k) => {
        const v = r.values
        if (
          r.sensorId !== sensorId(i) ||
          r.ts !== eventTs(k) ||
          v.stage_m !== stageOf(i, k) ||
          v.supply_v !== SUPPLY_V ||
          Object.keys(v).length !== 2
        )
          throw new Error(`${path}: ${stationOf(i)} reading ${k} is ${JSON.stringify(r)}`)
      })
    },
    20,
  )
}

async function runPath(path: 'sl651' | 'mqtt', round: number): Promise<PathResult> {
  const g = await startGateway()
  try {
    let ms: number
    let latencies: Float64Array
    let cpu0: number
    let client0: NodeJS.CpuUsage
    if (path === 'sl651') {
      const rtus = await openMany(RTUS, () => rtu(g.sl651Port))
      cpu0 = cpuMs(g.pid)
      client0 = process.cpuUsage()
      ;({ ms, latencies } = await drive(RTUS, (i, k) => {
        const link = rtus[i]!
        const frame = reportFrame(i, k)
        return async () => {
          const confirmed = link.reply()
          link.send(frame)
          checkConfirmation(await confirmed, i, k + 1)
        }
      }))
      for (const r of rtus) r.close()
    } else {
      const clients: MqttClient[] = await connectMany(`mqtt://127.0.0.1:${g.mqttPort}`, RTUS, sensorId)
      cpu0 = cpuMs(g.pid)
      client0 = process.cpuUsage()
      ;({ ms, latencies } = await drive(RTUS, (i, k) => {
        const payload = JSON.stringify({
          ts: eventTs(k),
          seq: k + 1,
          values: { stage_m: stageOf(i, k), supply_v: SUPPLY_V },
        })
        return async () => void (await clients[i]!.publishAsync(topicOf(i), payload, { qos: 1 }))
      }))
      await closeAll(clients)
    }
    const cpu = cpuMs(g.pid) - cpu0
    const client = process.cpuUsage(client0)
    const rss = rssMb(g.pid)
    await verify(g, path)
    const sorted = Array.from(latencies).sort((a, b) => a - b)
    return {
      path,
      round,
      readings: N,
      ms,
      rate: Math.round((N / ms) * 1000),
      latency: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! },
      gatewayCpuUsPerReading: (cpu * 1000) / N,
      clientCpuUsPerReading: (client.user + client.system) / N,
      gatewayRssMb: rss,
      counters: await counters(g.httpPort, COUNTERS),
    }
  } finally {
    await stop(g)
  }
}

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`)
const fmt = (x: number, d = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a'

try {
  log(`${RTUS} RTUs / MQTT sensors × ${REPORTS} reports = ${N} readings per path; ${ROUNDS} round(s)`)
  const runs: PathResult[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    // Swapped each round: whichever runs second shares the machine's state (page cache, a neighbour's load) differently.
    const order = round % 2 === 1 ? (['sl651', 'mqtt'] as const) : (['mqtt', 'sl651'] as const)
    for (const path of order) {
      log(`round ${round}: ${path === 'sl651' ? 'SL 651 over TCP' : 'JSON over MQTT (QoS 1)'}`)
      const r = await runPath(path, round)
      log(
        `  ${fmt(r.rate)} readings/s, p50 ${fmt(r.latency.p50, 2)} ms, p99 ${fmt(r.latency.p99, 2)} ms; verified ${N} stored once`,
      )
      runs.push(r)
    }
  }
  const best = (path: 'sl651' | 'mqtt') =>
    runs.filter((r) => r.path === path).reduce((a, b) => (b.rate > a.rate ? b : a))
  const s = best('sl651')
  const m = best('mqtt')
  const rows = [
    [
      'readings/s decoded, evaluated, stored, confirmed',
      fmt(s.rate),
      fmt(m.rate),
      `${(s.rate / m.rate).toFixed(2)}×`,
    ],
    [
      'report → confirmation vs publish → PUBACK, p50 (ms)',
      fmt(s.latency.p50, 2),
      fmt(m.latency.p50, 2),
      `${(s.latency.p50 / m.latency.p50).toFixed(2)}×`,
    ],
    [
      '… p99 (ms)',
      fmt(s.latency.p99, 2),
      fmt(m.latency.p99, 2),
      `${(s.latency.p99 / m.latency.p99).toFixed(2)}×`,
    ],
    [
      'gateway CPU per reading (µs)',
      fmt(s.gatewayCpuUsPerReading, 1),
      fmt(m.gatewayCpuUsPerReading, 1),
      `${(s.gatewayCpuUsPerReading / m.gatewayCpuUsPerReading).toFixed(2)}×`,
    ],
    [
      'bench client CPU per reading (µs)',
      fmt(s.clientCpuUsPerReading, 1),
      fmt(m.clientCpuUsPerReading, 1),
      `${(s.clientCpuUsPerReading / m.clientCpuUsPerReading).toFixed(2)}×`,
    ],
    ['gateway RSS after the run (MB)', fmt(s.gatewayRssMb), fmt(m.gatewayRssMb), ''],
  ]
  console.log(
    `\n${fmt(RTUS)} clients × ${REPORTS} readings = ${fmt(N)} per path, best of ${ROUNDS} round(s); every reading verified stored exactly once\n\n` +
      markdownTable(['measure', 'SL 651 (TCP, HEX 32H)', 'JSON over MQTT (QoS 1)', 'ratio'], rows) +
      '\n\nEvery run (the spread is the machine, not the code):\n\n' +
      markdownTable(
        ['round', 'path', 'readings/s', 'p50 ms', 'p99 ms', 'gateway CPU µs/reading'],
        runs.map((r) => [
          String(r.round),
          r.path === 'sl651' ? 'SL 651' : 'MQTT JSON',
          fmt(r.rate),
          fmt(r.latency.p50, 2),
          fmt(r.latency.p99, 2),
          fmt(r.gatewayCpuUsPerReading, 1),
        ]),
      ) +
      '\n',
  )
  log(
    `written ${writeResults('sl651', { rtus: RTUS, reports: REPORTS, readings: N, rounds: ROUNDS, when: new Date().toISOString(), runs, rows })}`,
  )
} finally {
  await Promise.all([...running].map((p) => p.stop()))
  rmSync(dir, { recursive: true, force: true })
}
