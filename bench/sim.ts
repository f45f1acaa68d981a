/**
 * Simulator at county scale: one process (this one) drives `--sensors` rain gauges (default
 * 10,000) through `runScenario`, a storm cell crossing their grid, QoS 1, as fast as the broker
 * acknowledges. Once with a connection per sensor (every gauge its own device), once with
 * `--concentrators` shared connections (gauges behind data concentrators). Against the gateway
 * (every reading validated, evaluated by the rainstorm and flash-flood rules, stored) and, as the
 * reference in the same run, against Mosquitto, which only forwards.
 *
 *   npm run build && npm run bench:sim [-- --sensors 10000 --minutes 20 --concentrators 100]
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Scenario } from '../sensors-sim/src/scenario.js'
import { runScenario, type RunSummary } from '../sensors-sim/src/sensors.js'
import { simCredentials } from '../tests/helpers/devices.js'
import { markdownTable } from './lib/report.js'
import {
  gatewayCounter,
  requireBuild,
  MOSQUITTO,
  BENCH_MQTT_YAML,
  startGatewayProcess,
  startMosquitto,
  type Proc,
} from './lib/procs.js'

const { values: args } = parseArgs({
  options: {
    sensors: { type: 'string', default: '10000' },
    /** Event-time minutes played (one reading per gauge per minute). */
    minutes: { type: 'string', default: '20' },
    concentrators: { type: 'string', default: '100' },
  },
})
const SENSORS = Number(args.sensors)
const MINUTES = Number(args.minutes)
const CONCENTRATORS = Number(args.concentrators)

requireBuild()
if (!existsSync(MOSQUITTO)) {
  console.error(`\n!!! ${MOSQUITTO} not found: apt-get install -y mosquitto — no reference, no bench\n`)
  process.exit(2)
}

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`)
const dir = mkdtempSync(join(tmpdir(), 'shaobing-bench-sim-'))
const AREA = { south: 29.3, west: 102.5, north: 29.7, east: 102.9 }

const scenario = Scenario.parse({
  name: 'bench-county',
  description: `${SENSORS} rain gauges on a grid, one storm cell crossing`,
  duration: `${MINUTES}m`,
  speed: 1_000_000, // as fast as acknowledgements allow (the runner bounds what is in flight)
  interval: '1m',
  fleets: [{ id: 'rg-{n}', count: SENSORS, model: 'rain', area: AREA }],
  events: [
    {
      at: '0m',
      type: 'storm',
      from: { lat: AREA.north, lon: AREA.west },
      to: { lat: AREA.south, lon: AREA.east },
      radius_km: 15,
      rate_mm_h: 60,
      for: `${MINUTES}m`,
    },
  ],
})

// The same, with every gauge's connection dropping at once half-way (a tower or broker restart):
// 10,000 devices reconnect together and resend what was not acknowledged.
const stormy = Scenario.parse({
  ...scenario,
  sensors: [],
  events: [
    ...scenario.events,
    { at: `${Math.floor(MINUTES / 2)}m`, type: 'reconnect_storm', sensors: 'all' },
  ],
})

// The registry: every gauge a station in one of four villages with flash-flood thresholds.
function writeRegistry(): string {
  const villages = ['511823100201', '511823100202', '511823101201', '511823101202']
  const lines = [
    'regions:',
    "  - { code: '511823000000', name: 示范县, level: county }",
    "  - { code: '511823100000', name: 河口镇, level: township }",
    "  - { code: '511823101000', name: 清溪镇, level: township }",
    ...villages.map(
      (v, i) =>
        `  - { code: '${v}', name: 村${i}, level: village, params: { village_prepare_rain_1h_mm: 30, village_immediate_rain_1h_mm: 40 } }`,
    ),
    'stations:',
  ]
  scenario.sensors.forEach((s, i) => {
    const at = s.model === 'rain' ? `lat: ${s.lat}, lon: ${s.lon}, ` : ''
    lines.push(
      `  - { id: ${s.id.toUpperCase()}, name: ${s.id}, region: '${villages[i % villages.length]}', ${at}sensors: [{ id: ${s.id}, kind: rain }] }`,
    )
  })
  lines.push('terminals:', "  - { id: T-BENCH, region: '511823100201' }")
  const file = join(dir, 'registry.yaml')
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}
const registry = writeRegistry()
let runNo = 0
const gatewayConfig = () => {
  const file = join(dir, `gateway-${++runNo}.yaml`)
  writeFileSync(
    file,
    `registry: ${JSON.stringify(registry)}\ndataDir: ${JSON.stringify(join(dir, `data-${runNo}`))}\nlog: { level: warn }\n${BENCH_MQTT_YAML}\n`,
  )
  return file
}

interface Run {
  readonly connectS: number
  /** From the first reading to the last acknowledgement, s. */
  readonly playS: number
  readonly perS: number
  readonly summary: RunSummary
  readonly stored?: number
  readonly duplicates?: number
  readonly rssMb: number
}

async function play(url: string, connections: number | undefined, sc: typeof scenario): Promise<Run> {
  const t0 = performance.now()
  let connected = 0
  const summary = await runScenario({
    url,
    scenario: sc,
    ...(connections !== undefined ? { connections } : {}),
    connectConcurrency: 200,
    credentials: simCredentials(scenario.sensors.map((x) => x.id)),
    maxInflight: 2 * SENSORS, // pipelined: up to two intervals unacknowledged
    onReading: () => {
      if (connected === 0) connected = performance.now()
    },
  })
  const end = performance.now()
  return {
    connectS: (connected - t0) / 1000,
    playS: (end - connected) / 1000,
    perS: Math.round(summary.acknowledged / ((end - connected) / 1000)),
    summary,
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  }
}

async function against(
  system: 'gateway' | 'mosquitto',
  connections: number | undefined,
  sc = scenario,
): Promise<Run> {
  let proc: Proc & { port?: number; mqttPort?: number; httpPort?: number }
  if (system === 'mosquitto') proc = await startMosquitto(dir)
  else proc = await startGatewayProcess(gatewayConfig())
  try {
    const port = system === 'mosquitto' ? proc.port! : proc.mqttPort!
    const run = await play(`mqtt://127.0.0.1:${port}`, connections, sc)
    if (system === 'gateway')
      return {
        ...run,
        stored: await gatewayCounter(proc.httpPort!, 'shaobing_readings_stored_total'),
        duplicates: await gatewayCounter(proc.httpPort!, 'shaobing_readings_duplicate_total'),
      }
    return run
  } finally {
    await proc.stop()
  }
}

const readings = SENSORS * MINUTES
log(`${SENSORS} gauges × ${MINUTES} readings = ${readings} readings per run, QoS 1`)
const results: Record<string, Run> = {}
for (const [label, connections] of [
  ['device', undefined],
  ['concentrator', CONCENTRATORS],
] as const)
  for (const system of ['mosquitto', 'gateway'] as const) {
    log(`${system}, ${connections === undefined ? `${SENSORS} connections` : `${connections} concentrators`}`)
    results[`${label} ${system}`] = await against(system, connections)
  }
for (const system of ['mosquitto', 'gateway'] as const) {
  log(`${system}, ${SENSORS} connections, all dropping at once at minute ${Math.floor(MINUTES / 2)}`)
  results[`storm ${system}`] = await against(system, undefined, stormy)
}

const fmt = (n: number) => n.toLocaleString('en-US')
const rows: string[][] = []
for (const label of ['device', 'concentrator'] as const) {
  const ours = results[`${label} gateway`]!
  const ref = results[`${label} mosquitto`]!
  const conns = label === 'device' ? `${fmt(SENSORS)} connections` : `${CONCENTRATORS} concentrators`
  rows.push(
    [
      `readings/s acknowledged, ${conns}`,
      `${fmt(ours.perS)} /s`,
      `${fmt(ref.perS)} /s (Mosquitto forwarding)`,
      `${(ours.perS / ref.perS).toFixed(2)}×`,
    ],
    [
      `  sent / acknowledged / failed / stored`,
      `${fmt(ours.summary.sent)} / ${fmt(ours.summary.acknowledged)} / ${ours.summary.failed} / ${fmt(ours.stored ?? 0)}`,
      `${fmt(ref.summary.sent)} / ${fmt(ref.summary.acknowledged)} / ${ref.summary.failed}`,
      '',
    ],
    [
      `  connect ${conns}`,
      `${ours.connectS.toFixed(1)} s`,
      `${ref.connectS.toFixed(1)} s`,
      `${(ours.connectS / ref.connectS).toFixed(2)}×`,
    ],
    [`  simulator process RSS so far`, `${fmt(ours.rssMb)} MB`, `${fmt(ref.rssMb)} MB`, ''],
  )
}
{
  const ours = results['storm gateway']!
  const ref = results['storm mosquitto']!
  rows.push(
    [
      `reconnect storm: all ${fmt(SENSORS)} drop at once, play time`,
      `${ours.playS.toFixed(1)} s (calm ${results['device gateway']!.playS.toFixed(1)} s)`,
      `${ref.playS.toFixed(1)} s (calm ${results['device mosquitto']!.playS.toFixed(1)} s)`,
      `${(ours.playS / ref.playS).toFixed(2)}×`,
    ],
    [
      `  reconnects / failed / stored / copies not stored again`,
      `${fmt(ours.summary.reconnects)} / ${ours.summary.failed} / ${fmt(ours.stored ?? 0)} / ${fmt(ours.duplicates ?? 0)}`,
      `${fmt(ref.summary.reconnects)} / ${ref.summary.failed}`,
      '',
    ],
  )
}
const header = ['measure', 'against the gateway', 'reference (same simulator, Mosquitto)', 'ratio']
console.log(
  [
    '',
    markdownTable(header, rows),
    '',
    `One simulator process drove ${fmt(SENSORS)} sensors; every reading is a QoS 1 PUBLISH acknowledged by the broker.`,
  ].join('\n'),
)
