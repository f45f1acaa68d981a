/**
 * What device security costs. Prints our figures beside references measured in the same run on the
 * same machine (shared and noisy: read the ratios), and writes the table as JSON to bench/out/.
 *
 *   npm run build && npm run bench:security -- [--sensors 100] [--messages 100000] [--devices 10000] [--quick]
 *
 * 1. Ingest with authentication and ACLs on, beside the same gateway with device security turned
 *    off (`security.devices.authenticate: false`, accepted as insecure): readings/s validated,
 *    evaluated and committed, QoS 1 and QoS 0, alternating on and off twice and keeping each one's
 *    best run. Target ≥ 0.9× of off.
 * 2. A power cut: 10,000 devices connect at once, each with its own password. Once to a freshly
 *    started gateway (cold: every password hashed), then all drop at once and reconnect to the
 *    gateway that stayed up (warm: passwords it has verified are remembered by digest). Beside
 *    Mosquitto 2 with a password file of the same secrets (`mosquitto_passwd -U`, PBKDF2-SHA512
 *    `$7$`) doing the same, and beside the gateway with security off.
 *
 * The identities are provisioned as a site provisions them, with `shaobing device provision`
 * (generated secrets; passwords.ts says why their hash cost is low).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { MqttClient } from 'mqtt'
import { markdownTable, writeResults } from './lib/report.js'
import { closeAll, connectMany, payloads, publishAll, sensorId } from './lib/load.js'
import {
  gatewayCounter,
  requireBuild,
  MOSQUITTO,
  ROOT,
  rssMb,
  BENCH_MQTT_YAML,
  startGatewayProcess,
  startMosquitto,
  type Proc,
} from './lib/procs.js'

const { values: args } = parseArgs({
  options: {
    sensors: { type: 'string', default: '100' },
    messages: { type: 'string', default: '100000' },
    devices: { type: 'string', default: '10000' },
    quick: { type: 'boolean', default: false },
    /** Comma-separated subset of: ingest, reconnect. */
    only: { type: 'string', default: 'ingest,reconnect' },
  },
})
const ONLY = new Set(args.only.split(','))
const SENSORS = Number(args.sensors)
const MESSAGES = args.quick ? 30_000 : Number(args.messages)
const PER_SENSOR = Math.max(1, Math.floor(MESSAGES / SENSORS))
const N = PER_SENSOR * SENSORS
const DEVICES = args.quick ? 2000 : Number(args.devices)
const MOSQUITTO_PASSWD = '/usr/bin/mosquitto_passwd'
const CLI = join(ROOT, 'bin/shaobing.js')

requireBuild()
const hasMosquitto = existsSync(MOSQUITTO) && existsSync(MOSQUITTO_PASSWD)
if (!hasMosquitto)
  console.error(
    `\n!!! ${MOSQUITTO} or ${MOSQUITTO_PASSWD} not found: apt-get install -y mosquitto — the reference columns are skipped\n`,
  )

const dir = mkdtempSync(join(tmpdir(), 'shaobing-bench-sec-'))
const running = new Set<Proc>()
const track = <P extends Proc>(p: P): P => (running.add(p), p)
const stop = async (p: Proc) => {
  running.delete(p)
  await p.stop()
}
process.on('SIGINT', () => void Promise.all([...running].map((p) => p.stop())).then(() => process.exit(130)))
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// One station per device, each with one river gauge (the ingest clients are the first SENSORS).
const registry = join(dir, 'registry.yaml')
writeFileSync(
  registry,
  [
    'regions:',
    "  - { code: '511823000000', name: 示范县, level: county }",
    "  - { code: '511823100000', name: 河口镇, level: township }",
    "  - { code: '511823100201', name: 柳湾村, level: village }",
    'stations:',
    ...Array.from(
      { length: Math.max(SENSORS, DEVICES) },
      (_, i) =>
        `  - { id: WL-${i}, name: g${i}, region: '511823100201', params: { warning_level: 32.5, guaranteed_level: 34.0, historical_max_level: 35.2 }, sensors: [{ id: ${sensorId(i)}, kind: water_level }] }`,
    ),
    'terminals:',
    "  - { id: T-BENCH, region: '511823100201' }",
    '',
  ].join('\n'),
)

let runNo = 0
/** A fresh gateway configuration (own data directory); `secure` false turns device security off. */
function gatewayConfig(secure: boolean): string {
  const file = join(dir, `gateway-${++runNo}.yaml`)
  writeFileSync(
    file,
    [
      `registry: ${JSON.stringify(registry)}`,
      `dataDir: ${JSON.stringify(join(dir, `data-${runNo}`))}`,
      'log: { level: warn }',
      BENCH_MQTT_YAML,
      ...(secure
        ? []
        : [
            'security: { devices: { authenticate: false }, acceptInsecure: [security.devices.authenticate] }',
          ]),
      '',
    ].join('\n'),
  )
  return file
}

/** `shaobing device provision`: a generated secret for every registry device; returns them by username. */
function provision(config: string): Record<string, string> {
  const out = join(dir, `credentials-${runNo}.json`)
  execFileSync(process.execPath, [CLI, 'device', 'provision', '--config', config, '--out', out], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  return (JSON.parse(readFileSync(out, 'utf8')) as { devices: Record<string, string> }).devices
}

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)
const msgs = payloads(PER_SENSOR)

async function ingest(secure: boolean, qos: 0 | 1): Promise<number> {
  const config = gatewayConfig(secure)
  const secrets = secure ? provision(config) : {}
  const g = track(await startGatewayProcess(config, { enroll: false }))
  try {
    const url = `mqtt://127.0.0.1:${g.mqttPort}`
    const pubs = await connectMany(url, SENSORS, sensorId, 200, (i) =>
      secure
        ? { clientId: sensorId(i), username: sensorId(i), password: secrets[sensorId(i)]! }
        : { clientId: sensorId(i) },
    )
    const t0 = performance.now()
    await publishAll(pubs, msgs, qos)
    for (;;) {
      const stored = await gatewayCounter(g.httpPort, 'shaobing_readings_stored_total')
      if (stored >= N) break
      if (performance.now() - t0 > 180_000) throw new Error(`timed out at ${stored} of ${N}`)
      await sleep(5)
    }
    const ms = performance.now() - t0
    await closeAll(pubs)
    return rate(N, ms)
  } finally {
    await stop(g)
  }
}

interface Storm {
  /** All DEVICES connected, from the first attempt to the last CONNACK, ms: first, then after the cut. */
  readonly coldMs: number
  readonly warmMs: number
  readonly rssMb: number
}

/**
 * DEVICES clients connect 500 at a time (as fast as this process can open them), then every
 * connection is cut at once and they all connect again to the broker that stayed up.
 */
async function storm(url: string, pid: number, login: (i: number) => Record<string, string>): Promise<Storm> {
  const connect = async () => {
    const t0 = performance.now()
    const clients = await connectMany(url, DEVICES, sensorId, 500, login)
    return { clients, ms: performance.now() - t0 }
  }
  const first = await connect()
  // The power cut: sockets destroyed, no DISCONNECT sent.
  for (const c of first.clients) (c as MqttClient).stream.destroy()
  await closeAll(first.clients)
  await sleep(1000)
  const again = await connect()
  const rss = rssMb(pid)
  await closeAll(again.clients)
  return { coldMs: first.ms, warmMs: again.ms, rssMb: Math.round(rss) }
}

async function gatewayStorm(secure: boolean): Promise<Storm> {
  const config = gatewayConfig(secure)
  const secrets = secure ? provision(config) : {}
  const g = track(await startGatewayProcess(config, { enroll: false }))
  try {
    const r = await storm(`mqtt://127.0.0.1:${g.mqttPort}`, g.pid, (i) =>
      secure
        ? { clientId: sensorId(i), username: sensorId(i), password: secrets[sensorId(i)]! }
        : { clientId: sensorId(i) },
    )
    return r
  } finally {
    await stop(g)
  }
}

async function mosquittoStorm(): Promise<Storm> {
  // The same secrets, hashed by Mosquitto's own tool into its $7$ (PBKDF2-SHA512) format.
  const config = gatewayConfig(true)
  const secrets = provision(config)
  const file = join(dir, 'mosquitto.passwd')
  writeFileSync(
    file,
    Object.entries(secrets)
      .map(([u, p]) => `${u}:${p}`)
      .join('\n') + '\n',
  )
  const t0 = performance.now()
  execFileSync(MOSQUITTO_PASSWD, ['-U', file])
  log(
    `mosquitto_passwd -U hashed ${Object.keys(secrets).length} passwords in ${Math.round(performance.now() - t0)} ms`,
  )
  const m = track(await startMosquitto(dir, { passwordFile: file }))
  try {
    return await storm(`mqtt://127.0.0.1:${m.port}`, m.pid, (i) => ({
      clientId: sensorId(i),
      username: sensorId(i),
      password: secrets[sensorId(i)]!,
    }))
  } finally {
    await stop(m)
  }
}

const HEAD = ['measure', 'ours', 'reference', 'ratio', 'target', 'met']
const table: string[][] = []
const fmt = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 })

try {
  const results: Record<string, unknown> = {
    sensors: SENSORS,
    messages: N,
    devices: DEVICES,
    when: new Date().toISOString(),
  }
  if (ONLY.has('ingest')) {
    log(`ingest: ${SENSORS} sensors × ${PER_SENSOR} readings = ${N} per run, on/off alternating twice`)
    for (const qos of [1, 0] as const) {
      const on: number[] = []
      const off: number[] = []
      for (let round = 0; round < 2; round++) {
        on.push(await ingest(true, qos))
        off.push(await ingest(false, qos))
        log(`QoS ${qos} round ${round + 1}: on ${on.at(-1)}/s, off ${off.at(-1)}/s`)
      }
      const best = { on: Math.max(...on), off: Math.max(...off) }
      results[`ingestQos${qos}`] = { on, off }
      table.push([
        `QoS ${qos} readings/s, authenticated + ACL (best of 2)`,
        `${fmt(best.on)} /s`,
        `${fmt(best.off)} /s (security off)`,
        `${(best.on / best.off).toFixed(2)}×`,
        '≥ 0.9×',
        best.on / best.off >= 0.9 ? 'yes' : 'NO',
      ])
    }
  }
  if (ONLY.has('reconnect')) {
    log(`reconnect: ${DEVICES} devices, cold then warm`)
    const ours = await gatewayStorm(true)
    const open = await gatewayStorm(false)
    const mq = hasMosquitto ? await mosquittoStorm() : undefined
    results.reconnect = { gateway: ours, gatewayOpen: open, mosquitto: mq }
    const rowsFor = (label: string, key: 'coldMs' | 'warmMs') => {
      table.push([
        `${fmt(DEVICES)} devices connect, ${label} (ms)`,
        fmt(ours[key]),
        mq ? `${fmt(mq[key])} (Mosquitto, password file)` : 'skipped',
        mq ? `${(ours[key] / mq[key]).toFixed(2)}×` : '',
        '',
        '',
      ])
      table.push([
        `… the same, gateway with security off (ms)`,
        fmt(ours[key]),
        `${fmt(open[key])} (gateway, no authentication)`,
        `${(ours[key] / open[key]).toFixed(2)}×`,
        '',
        '',
      ])
    }
    rowsFor('gateway just started (cold)', 'coldMs')
    rowsFor('after a cut, gateway stayed up (warm)', 'warmMs')
    table.push([
      `RSS with ${fmt(DEVICES)} authenticated devices (MB)`,
      fmt(ours.rssMb),
      `${fmt(open.rssMb)} (gateway, no authentication)`,
      `${(ours.rssMb / open.rssMb).toFixed(2)}×`,
      '',
      '',
    ])
  }
  console.log('\n' + markdownTable(HEAD, table) + '\n')
  log(`written ${writeResults('security', { ...results, table })}`)
} finally {
  await Promise.all([...running].map((p) => p.stop()))
  rmSync(dir, { recursive: true, force: true })
}
