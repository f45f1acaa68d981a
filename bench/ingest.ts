/**
 * Ingest benchmark. Prints our figures beside references measured in the same run on the same
 * machine (shared and noisy: read the ratios), and writes the table as JSON to bench/out/.
 *
 *   npm run build && npm run bench -- [--sensors 100] [--messages 200000] [--rate 10000] [--clients 10000] [--quick]
 *
 * Rows: readings/s fully processed by the gateway (validated, evaluated, committed) vs Mosquitto
 * forwarding the same traffic to one subscriber, and vs Mosquitto + a Node-RED grading flow;
 * threshold-crossing reading → loudspeaker command latency under background load; memory with
 * many connected sensors.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import mqtt from 'mqtt'
import { device } from '../tests/helpers/devices.js'
import { markdownTable, writeResults } from './lib/report.js'
import {
  closeAll,
  connectMany,
  paceLoad,
  payloads,
  percentile,
  publishAll,
  sensorId,
  T0,
} from './lib/load.js'
import {
  gatewayCounter,
  requireBuild,
  MOSQUITTO,
  rssMb,
  BENCH_MQTT_YAML,
  startGatewayProcess,
  startMosquitto,
  startNodeRed,
  type GatewayProc,
  type Proc,
} from './lib/procs.js'

const { values: args } = parseArgs({
  options: {
    sensors: { type: 'string', default: '100' },
    messages: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '10000' },
    clients: { type: 'string', default: '10000' },
    'latency-seconds': { type: 'string', default: '15' },
    quick: { type: 'boolean', default: false },
    'no-node-red': { type: 'boolean', default: false },
    /** Comma-separated subset of: throughput, latency, memory. */
    only: { type: 'string', default: 'throughput,latency,memory' },
  },
})
const ONLY = new Set(args.only.split(','))
const quick = args.quick
const SENSORS = Number(args.sensors)
const MESSAGES = quick ? 60_000 : Number(args.messages)
const PER_SENSOR = Math.max(1, Math.floor(MESSAGES / SENSORS))
const N = PER_SENSOR * SENSORS
const RATE = Number(args.rate)
const CLIENTS = quick ? 2000 : Number(args.clients)
const LATENCY_MS = (quick ? 6 : Number(args['latency-seconds'])) * 1000

requireBuild()
const hasMosquitto = existsSync(MOSQUITTO)
if (!hasMosquitto)
  console.error(
    `\n!!! ${MOSQUITTO} not found: apt-get install -y mosquitto — the reference columns are skipped\n`,
  )

const dir = mkdtempSync(join(tmpdir(), 'shaobing-bench-'))
const running = new Set<Proc>()
const track = <P extends Proc>(p: P): P => (running.add(p), p)
const stop = async (p: Proc | undefined) => {
  if (!p) return
  running.delete(p)
  await p.stop()
}
process.on('SIGINT', () => void Promise.all([...running].map((p) => p.stop())).then(() => process.exit(130)))

// Registry: one station per simulated sensor (enough for the memory run too), plus a probe gauge
// alone in its village with one loudspeaker, for the latency run.
function writeConfig(): string {
  const stations = Math.max(SENSORS, CLIENTS)
  const lines = [
    'regions:',
    "  - { code: '511823000000', name: 示范县, level: county }",
    "  - { code: '511823100000', name: 河口镇, level: township }",
    "  - { code: '511823100201', name: 柳湾村, level: village }",
    "  - { code: '511823100202', name: 石门村, level: village }",
    'stations:',
    "  - { id: WL-PROBE, name: probe, region: '511823100202', params: { warning_level: 32.5, guaranteed_level: 34.0, historical_max_level: 35.2 }, sensors: [{ id: wl-probe, kind: water_level }] }",
  ]
  for (let i = 0; i < stations; i++)
    lines.push(
      `  - { id: WL-${i}, name: g${i}, region: '511823100201', params: { warning_level: 32.5, guaranteed_level: 34.0, historical_max_level: 35.2 }, sensors: [{ id: ${sensorId(i)}, kind: water_level }] }`,
    )
  lines.push(
    'terminals:',
    "  - { id: T-BENCH, region: '511823100201' }",
    "  - { id: T-PROBE, region: '511823100202' }",
  )
  writeFileSync(join(dir, 'registry.yaml'), lines.join('\n') + '\n')
  return join(dir, 'registry.yaml')
}
const registry = writeConfig()
let runNo = 0
function gatewayConfig(): string {
  const file = join(dir, `gateway-${++runNo}.yaml`)
  writeFileSync(
    file,
    `registry: ${JSON.stringify(registry)}\ndataDir: ${JSON.stringify(join(dir, `data-${runNo}`))}\nlog: { level: warn }\n${BENCH_MQTT_YAML}\n`,
  )
  return file
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`)

/** Waits until `check()` reaches n (or the deadline); returns the elapsed ms since `t0`. */
async function until(
  check: () => number | Promise<number>,
  n: number,
  t0: number,
  deadlineMs = 120_000,
): Promise<number> {
  for (;;) {
    if ((await check()) >= n) return performance.now() - t0
    if (performance.now() - t0 > deadlineMs) throw new Error(`timed out at ${await check()} of ${n}`)
    await sleep(5)
  }
}

const msgs = payloads(PER_SENSOR)

async function mosquittoForward(qos: 0 | 1): Promise<number> {
  const m = track(await startMosquitto(dir))
  const url = `mqtt://127.0.0.1:${m.port}`
  const sub = await mqtt.connectAsync(url, { clientId: 'bench-sub', reconnectPeriod: 0 })
  let got = 0
  sub.on('message', () => got++)
  await sub.subscribeAsync('sensors/#', { qos })
  const pubs = await connectMany(url, SENSORS, sensorId)
  const t0 = performance.now()
  await publishAll(pubs, msgs, qos)
  const ms = await until(() => got, N, t0)
  await closeAll([...pubs, sub])
  await stop(m)
  return rate(N, ms)
}

async function nodeRedPipeline(qos: 0 | 1): Promise<number> {
  const m = track(await startMosquitto(dir))
  const url = `mqtt://127.0.0.1:${m.port}`
  const watch = await mqtt.connectAsync(url, { clientId: 'bench-progress', reconnectPeriod: 0 })
  let graded = 0
  watch.on('message', (_t, p) => (graded = Math.max(graded, Number(p.toString()))))
  await watch.subscribeAsync('bench/progress', { qos: 0 })
  const red = track(await startNodeRed(dir, m.port, qos))
  // Node-RED is ready when its subscription is in place: probe until a reading is graded.
  const probe = await mqtt.connectAsync(url, { clientId: 'bench-warm', reconnectPeriod: 0 })
  const warm = payloads(1000)
  for (let i = 0; graded < 1000; i++) {
    if (i > 600) throw new Error('node-red did not start')
    if (i % 20 === 0) for (const p of warm) probe.publish('sensors/water_level/warm/data', p, { qos: 0 })
    await sleep(50)
  }
  await probe.endAsync()
  await sleep(500)
  const base = graded
  const pubs = await connectMany(url, SENSORS, sensorId)
  const t0 = performance.now()
  await publishAll(pubs, msgs, qos)
  // The flow reports every 1,000 graded readings.
  const ms = await until(() => graded - base, Math.floor(N / 1000) * 1000, t0)
  await closeAll([...pubs, watch])
  await stop(red)
  await stop(m)
  return rate(N, ms)
}

async function gatewayIngest(qos: 0 | 1): Promise<{ rate: number; rss: number }> {
  const g = track(await startGatewayProcess(gatewayConfig()))
  const url = `mqtt://127.0.0.1:${g.mqttPort}`
  const pubs = await connectMany(url, SENSORS, sensorId)
  const t0 = performance.now()
  await publishAll(pubs, msgs, qos)
  // QoS 1: every PUBACK means validated, evaluated and committed. QoS 0: wait for the commits.
  const ms = await until(() => gatewayCounter(g.httpPort, 'shaobing_readings_stored_total'), N, t0)
  const rss = rssMb(g.pid)
  await closeAll(pubs)
  await stop(g)
  return { rate: rate(N, ms), rss }
}

interface Latency {
  p50: number
  p99: number
  max: number
  samples: number
  background: number
}

/** Threshold-crossing reading → loudspeaker command, with QoS 1 background load at RATE. */
async function gatewayLatency(): Promise<Latency> {
  const g = track(await startGatewayProcess(gatewayConfig()))
  const url = `mqtt://127.0.0.1:${g.mqttPort}`
  const bg = await connectMany(url, SENSORS, sensorId)
  const probe = await mqtt.connectAsync(url, device('wl-probe', { reconnectPeriod: 0 }))
  const term = await mqtt.connectAsync(url, device('T-PROBE', { reconnectPeriod: 0 }))
  let waiter: ((kind: string) => void) | undefined
  term.on('message', (_t, p) => waiter?.((JSON.parse(p.toString()) as { kind: string }).kind))
  await term.subscribeAsync('terminals/T-PROBE/cmd', { qos: 1 })
  const ac = new AbortController()
  const load = paceLoad(bg, RATE, ac.signal)
  await sleep(1000) // let the background load settle
  const samples: number[] = []
  const storedBefore = await gatewayCounter(g.httpPort, 'shaobing_readings_stored_total')
  const tStart = performance.now()
  let pt = T0 + 5e9
  const send = (stage: number, ts: number) =>
    probe.publish('sensors/water_level/wl-probe/data', JSON.stringify({ ts, values: { stage_m: stage } }), {
      qos: 1,
    })
  const next = (kind: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${kind} command`)), 5000)
      waiter = (k) => k === kind && (clearTimeout(timer), resolve())
    })
  while (performance.now() - tStart < LATENCY_MS) {
    // Cross red: measured. Then fall and stay below for the 30 min dwell (event time) so it lifts.
    // Steps of 5.5 m are 15 min apart in event time: faster is a spike (0.5 m/min), a fault.
    const raised = next('issue')
    const t0 = performance.now()
    send(35.5, pt)
    await raised
    samples.push(performance.now() - t0)
    const lifted = next('lift')
    send(30, pt + 15 * 60_000)
    send(30, pt + 46 * 60_000)
    await lifted
    pt += 62 * 60_000
    await sleep(10)
  }
  ac.abort()
  const sent = await load
  const elapsed = performance.now() - tStart
  const stored = (await gatewayCounter(g.httpPort, 'shaobing_readings_stored_total')) - storedBefore
  await closeAll([...bg, probe, term])
  await stop(g)
  samples.sort((a, b) => a - b)
  log(`latency run: ${sent} background readings sent, ${stored} stored during the probe window`)
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: samples.at(-1)!,
    samples: samples.length,
    background: rate(stored, elapsed),
  }
}

/** Reference: Mosquitto publish → subscriber round trip, with the same background load forwarded. */
async function mosquittoLatency(): Promise<Latency> {
  const m = track(await startMosquitto(dir))
  const url = `mqtt://127.0.0.1:${m.port}`
  const sink = await mqtt.connectAsync(url, { clientId: 'bench-sink', reconnectPeriod: 0 })
  let forwarded = 0
  sink.on('message', () => forwarded++)
  await sink.subscribeAsync('sensors/#', { qos: 1 })
  const bg = await connectMany(url, SENSORS, sensorId)
  const probe = await mqtt.connectAsync(url, { clientId: 'probe-pub', reconnectPeriod: 0 })
  const term = await mqtt.connectAsync(url, { clientId: 'probe-sub', reconnectPeriod: 0 })
  let waiter: (() => void) | undefined
  term.on('message', () => waiter?.())
  await term.subscribeAsync('probe/cmd', { qos: 1 })
  const ac = new AbortController()
  const load = paceLoad(bg, RATE, ac.signal)
  await sleep(1000)
  const samples: number[] = []
  const f0 = forwarded
  const tStart = performance.now()
  while (performance.now() - tStart < LATENCY_MS) {
    const got = new Promise<void>((resolve) => (waiter = resolve))
    const t0 = performance.now()
    probe.publish('probe/cmd', '{"stage_m":35.5}', { qos: 1 })
    await got
    samples.push(performance.now() - t0)
    await sleep(10)
  }
  ac.abort()
  await load
  const elapsed = performance.now() - tStart
  const fwd = forwarded - f0
  await closeAll([...bg, probe, term, sink])
  await stop(m)
  samples.sort((a, b) => a - b)
  return {
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: samples.at(-1)!,
    samples: samples.length,
    background: rate(fwd, elapsed),
  }
}

/** RSS of the broker process with `CLIENTS` idle sensors connected. */
async function connectedMemory(target: 'gateway' | 'mosquitto'): Promise<{ idle: number; loaded: number }> {
  let p: GatewayProc | (Proc & { port: number })
  let url: string
  if (target === 'gateway') {
    const g = track(await startGatewayProcess(gatewayConfig()))
    p = g
    url = `mqtt://127.0.0.1:${g.mqttPort}`
  } else {
    const m = track(await startMosquitto(dir))
    p = m
    url = `mqtt://127.0.0.1:${m.port}`
  }
  await sleep(500)
  const idle = rssMb(p.pid)
  const clients = await connectMany(url, CLIENTS, sensorId, 500)
  await sleep(2000)
  const loaded = rssMb(p.pid)
  await closeAll(clients)
  await stop(p)
  return { idle, loaded }
}

interface Row {
  measure: string
  ours: string
  reference: string
  ratio: string
  target: string
  met: string
}
const rows: Row[] = []
const fmt = (x: number, d = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : 'n/a'
function row(
  measure: string,
  ours: number,
  ref: number | undefined,
  refName: string,
  unit: string,
  target: string,
  met: boolean | undefined,
  d = 0,
) {
  rows.push({
    measure,
    ours: `${fmt(ours, d)} ${unit}`,
    reference: ref === undefined ? 'skipped' : `${fmt(ref, d)} ${unit} (${refName})`,
    ratio: ref === undefined ? '' : `${(ours / ref).toFixed(2)}×`,
    target,
    met: met === undefined ? '' : met ? 'yes' : 'NO',
  })
}

try {
  log(
    `${SENSORS} sensors × ${PER_SENSOR} readings = ${N} per run; latency at ${RATE}/s for ${LATENCY_MS / 1000}s; ${CLIENTS} connected clients`,
  )
  const results: Record<string, unknown> = {
    sensors: SENSORS,
    messages: N,
    rate: RATE,
    clients: CLIENTS,
    when: new Date().toISOString(),
  }
  for (const qos of ONLY.has('throughput') ? ([0, 1] as const) : []) {
    log(`QoS ${qos}: Mosquitto forwarding`)
    const mq = hasMosquitto ? await mosquittoForward(qos) : undefined
    log(`QoS ${qos}: Mosquitto + Node-RED grading flow`)
    const nr = hasMosquitto && !args['no-node-red'] ? await nodeRedPipeline(qos) : undefined
    log(`QoS ${qos}: Shaobing full pipeline`)
    const gw = await gatewayIngest(qos)
    results[`qos${qos}`] = { gateway: gw.rate, mosquitto: mq, nodeRed: nr, gatewayRssMb: gw.rss }
    row(
      `QoS ${qos} readings/s, validated+evaluated+stored, vs plain forwarding`,
      gw.rate,
      mq,
      'Mosquitto → 1 subscriber',
      '/s',
      qos === 1 ? '≥ 0.5×' : '',
      qos === 1 && mq ? gw.rate / mq >= 0.5 : undefined,
    )
    row(
      `QoS ${qos} readings/s vs the pipeline users build today`,
      gw.rate,
      nr,
      'Mosquitto + Node-RED function node',
      '/s',
      '≥ 2×',
      nr ? gw.rate / nr >= 2 : undefined,
    )
  }
  if (ONLY.has('latency')) {
    log('latency: Shaobing threshold crossing → loudspeaker command')
    const lat = await gatewayLatency()
    log('latency: Mosquitto round trip')
    const ref = hasMosquitto ? await mosquittoLatency() : undefined
    results.latency = { gateway: lat, mosquitto: ref }
    row(
      `crossing → command p50 at ${fmt(lat.background)}/s background`,
      lat.p50,
      ref?.p50,
      `Mosquitto round trip at ${fmt(ref?.background ?? NaN)}/s`,
      'ms',
      '',
      undefined,
      2,
    )
    row(
      `crossing → command p99 (${lat.samples} samples)`,
      lat.p99,
      ref?.p99,
      'Mosquitto round trip',
      'ms',
      '≤ 2 ms',
      lat.p99 <= 2,
      2,
    )
    row('crossing → command max', lat.max, ref?.max, 'Mosquitto round trip', 'ms', '', undefined, 2)
  }
  if (ONLY.has('memory')) {
    log(`memory: ${CLIENTS} connected sensors`)
    const memG = await connectedMemory('gateway')
    const memM = hasMosquitto ? await connectedMemory('mosquitto') : undefined
    results.memory = { gateway: memG, mosquitto: memM }
    row(
      `RSS with ${fmt(CLIENTS)} connected sensors`,
      memG.loaded,
      memM?.loaded,
      'Mosquitto',
      'MB',
      CLIENTS >= 10_000 ? '≤ 300 MB' : '',
      CLIENTS >= 10_000 ? memG.loaded <= 300 : undefined,
      0,
    )
    row('RSS idle (before connections)', memG.idle, memM?.idle, 'Mosquitto', 'MB', '', undefined, 0)
  }

  const cols: (keyof Row)[] = ['measure', 'ours', 'reference', 'ratio', 'target', 'met']
  console.log(
    '\n' +
      markdownTable(
        cols,
        rows.map((r) => cols.map((c) => r[c])),
      ) +
      '\n',
  )
  log(`written ${writeResults('ingest', { ...results, rows })}`)
} finally {
  await Promise.all([...running].map((p) => p.stop()))
  rmSync(dir, { recursive: true, force: true })
}
