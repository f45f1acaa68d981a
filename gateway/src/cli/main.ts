/**
 * `shaobing` command line.
 *
 *   shaobing start [--config FILE] [--mqtt-port N] [--ws-port N] [--http-port N] [--sl651-port N] [--data-dir DIR] [--host H]
 *   shaobing demo  [same options]     gateway + simulated sensors and terminals, demo county
 *   shaobing check [--config FILE]    validate configuration, registry and rule catalogues
 */
import { SIGNING_PUBLIC_FILE } from '../security/command-signing.js'
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import type { Logger } from 'pino'
import { formatFileIssue } from '../../../rules/src/index.js'
import { startGateway } from '../app.js'
import {
  DEMO_CONFIG,
  DEMO_DATA_DIR,
  DEMO_SCENARIO,
  loadConfig,
  type ConfigOverrides,
} from '../config/load.js'
import { GatewayError } from '../core/errors.js'
import { deviceMain } from './devices.js'
import { operatorMain } from './operators.js'
import { rulesMain } from './rules.js'
import { enrollDemo } from './demo-identities.js'
import { watchDemoEnd } from './demo-end.js'
import { chooseLogFormat } from '../logging.js'

const USAGE = `usage:
  shaobing start [--config FILE] [--mqtt-port N] [--ws-port N] [--http-port N] [--sl651-port N] [--data-dir DIR]
                 [--host ADDR] [--log-level L] [--log-format json|pretty]
  shaobing demo  [--config FILE] [--mqtt-port N] [--http-port N] [--sl651-port N] [--data-dir DIR] [--speed N] [--scenario NAME|FILE]
                 (store: data/demo, emptied at start; scenario: demo-flood unless named, e.g. county-storm;
                 plays until every warning it raised is lifted, then keeps running until Ctrl-C)
  shaobing check [--config FILE]
  shaobing device add|rotate|disable|enable|list|import|provision …   (shaobing device --help)
  shaobing operator add|passwd|disable|enable|unlock|list|token …    (shaobing operator --help)
  shaobing rules check|test [PATH...]
  shaobing rules backtest --input FILE [--config FILE] [--registry FILE] [--rules PATH...] [--json]
  shaobing sim   --scenario FILE [--url mqtt://HOST:PORT] [--registry FILE] [--speed N]
                 [--connections N] [--terminals-offline F] [--terminals-flaky F] [--terminals-slow F]
                 [--keep-terminals] [--sl651 tcp://HOST:PORT]
                 plays a scenario (sensors-sim/scenarios/*.yaml) against a running gateway, with the
                 registry's loudspeakers simulated (shares F of them offline, flaky, slow); sensors
                 share N connections (concentrators) if given; the scenario's SL 651 RTUs report
                 to --sl651; prints progress and a summary

--config defaults to the demo county (gateway/config/demo/gateway.yaml). Ports: 0 picks a free one.
Logs: readable lines on a terminal, JSON lines otherwise; --log-format (or SHAOBING_LOG_FORMAT) decides.`

const OPTIONS = {
  config: { type: 'string' },
  'mqtt-port': { type: 'string' },
  'ws-port': { type: 'string' },
  'http-port': { type: 'string' },
  'sl651-port': { type: 'string' },
  'data-dir': { type: 'string' },
  host: { type: 'string' },
  speed: { type: 'string' },
  scenario: { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

function port(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--${name} must be a port number 0-65535, got ${v}`)
  return n
}

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  // `rules` and `sim` have their own options; everything else shares the gateway's.
  if (argv[0] === 'rules') return rulesMain(argv.slice(1))
  if (argv[0] === 'sim') return runSim(argv.slice(1))
  if (argv[0] === 'device') return deviceMain(argv.slice(1))
  if (argv[0] === 'operator') return operatorMain(argv.slice(1))
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  const command = positionals[0] ?? 'start'
  if (values.help || command === 'help') {
    console.log(USAGE)
    return 0
  }
  const configPath = values.config ?? DEMO_CONFIG
  let overrides: ConfigOverrides
  try {
    const ws = port(values['ws-port'], 'ws-port')
    const mq = port(values['mqtt-port'], 'mqtt-port')
    const hp = port(values['http-port'], 'http-port')
    const sp = port(values['sl651-port'], 'sl651-port')
    overrides = {
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(mq !== undefined ? { mqttPort: mq } : {}),
      ...(ws !== undefined ? { wsPort: ws } : {}),
      ...(hp !== undefined ? { httpPort: hp } : {}),
      ...(sp !== undefined ? { sl651Port: sp } : {}),
      ...(values['data-dir'] !== undefined ? { dataDir: values['data-dir'] } : {}),
      ...(values['log-level'] !== undefined ? { logLevel: values['log-level'] as 'info' } : {}),
    }
    // Refused here, before anything starts, with the usage.
    chooseLogFormat({ option: values['log-format'] })
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`)
    return 2
  }

  switch (command) {
    case 'check':
      return check(configPath)
    case 'start':
      return run(configPath, overrides, values['log-format'])
    case 'demo': {
      let scenario: string
      try {
        scenario = demoScenario(values.scenario)
      } catch (e) {
        console.error((e as Error).message)
        return 2
      }
      if (overrides.dataDir === undefined) {
        rmSync(DEMO_DATA_DIR, { recursive: true, force: true })
        overrides = { ...overrides, dataDir: DEMO_DATA_DIR }
      }
      return run(configPath, overrides, values['log-format'], { speed: values.speed, scenario })
    }
    default:
      console.error(`unknown command ${command}\n\n${USAGE}`)
      return 2
  }
}

/** The demo's scenario: a shipped one by name, or a file; the flood demo when none is named. */
function demoScenario(name: string | undefined): string {
  if (name === undefined) return DEMO_SCENARIO
  if (existsSync(name)) return resolve(name)
  const dir = dirname(DEMO_SCENARIO)
  const file = join(dir, `${name}.yaml`)
  if (existsSync(file)) return file
  const shipped = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
  throw new UsageError(
    `--scenario ${name}: no such file or shipped scenario (shipped: ${shipped.join(', ')})`,
  )
}

function check(configPath: string): number {
  const loaded = loadConfig(configPath)
  if (!loaded.ok) {
    for (const i of loaded.error) console.error(formatFileIssue(i))
    console.error(`${loaded.error.length} problem(s); configuration refused`)
    return 1
  }
  for (const w of loaded.value.warnings) console.log(`warning: ${w}`)
  for (const n of loaded.value.notices) console.log(`note: ${n}`)
  const { registry, catalogues } = loaded.value
  console.log(
    `ok: ${registry.stations.length} stations, ${registry.terminals.length} terminals, ` +
      `${catalogues.reduce((n, c) => n + c.catalogue.rules.length, 0)} rules in ${catalogues.length} catalogues`,
  )
  return 0
}

async function run(
  configPath: string,
  overrides: ConfigOverrides,
  logFormat: string | undefined,
  demo?: { speed: string | undefined; scenario: string },
): Promise<number> {
  let gw
  let identities: Awaited<ReturnType<typeof enrollDemo>> | undefined
  const startedAt = Date.now()
  try {
    // The demo's devices log in like real ones: identities with generated passwords, written
    // where the simulator (and the person trying the demo) can read them.
    if (demo) identities = await enrollDemo(configPath, overrides)
    gw = await startGateway({ configPath, overrides, logFormat, demo: demo !== undefined })
  } catch (e) {
    if (e instanceof GatewayError) {
      console.error(e.message)
      return 1
    }
    const err = e as NodeJS.ErrnoException & { address?: string; port?: number }
    if (err.code === 'EADDRINUSE' || err.code === 'EACCES') {
      console.error(
        `cannot listen on ${err.address ?? ''}:${err.port ?? ''} (${err.code === 'EADDRINUSE' ? 'already in use: another gateway or broker?' : 'permission denied'}); ` +
          'choose other ports with --mqtt-port, --ws-port and --http-port (0 picks a free one)',
      )
      return 1
    }
    throw e
  }
  const children: ChildProcess[] = []
  let scenarioPlayed: Promise<void> | undefined
  if (demo) {
    const sim = simEntry()
    const args = [
      '--url',
      gw.urls.mqtt,
      '--scenario',
      demo.scenario,
      '--registry',
      gw.loaded.config.registry,
      '--keep-terminals',
      ...(identities ? ['--credentials', identities.file] : []),
      // A scenario's SL 651 RTUs report to the gateway's listener, when it has one.
      ...(gw.urls.sl651 ? ['--sl651', gw.urls.sl651] : []),
      // The demo's loudspeakers are provisioned with the gateway's public key, as real ones are.
      '--command-key',
      join(gw.loaded.config.dataDir, SIGNING_PUBLIC_FILE),
    ]
    if (demo.speed !== undefined) args.push('--speed', demo.speed)
    // The simulator's lines become the gateway's log lines (component sim): readable on a
    // terminal, JSON in a pipe, in order with the rest.
    const child = fork(sim, args, { stdio: ['inherit', 'pipe', 'pipe', 'ipc'] })
    logLines(child, gw.log.child({ component: 'sim' }))
    scenarioPlayed = new Promise((played) => {
      child.on('message', (m) => {
        if ((m as { type?: unknown }).type === 'scenario-done') played()
      })
    })
    child.once('exit', (code, signal) => {
      if (code !== 0 && signal === null)
        gw.log.warn({ component: 'sim', code }, 'the simulator stopped with an error')
    })
    children.push(child)
  }
  const duty = identities?.operators.find((o) => o.id === 'duty')
  const second = identities?.operators.find((o) => o.id === 'approver')
  const banner = [
    '',
    '  哨兵 Shaobing is running',
    '',
    `  ▶ console        ${gw.urls.http}/`,
    duty ? `    demo login     ${duty.id} / ${duty.password}   (operator and approver)` : '',
    '',
    `  console and API  ${gw.urls.http}   (/api/warnings, /api/stations, /metrics)`,
    `  MQTT broker      ${gw.urls.mqtt}${gw.urls.ws ? `   WebSocket ${gw.urls.ws}` : ''}`,
    ...(gw.urls.nodeRed
      ? [`  Node-RED editor  ${gw.urls.nodeRed}   (log in as ${gw.loaded.config.nodeRed.admin?.username})`]
      : []),
    ...(gw.urls.sl651
      ? [`  SL 651 RTUs      ${gw.urls.sl651}   (hydrology telemetry stations, HEX/BCD and ASCII)`]
      : []),
    demo
      ? demo.scenario === DEMO_SCENARIO
        ? '  demo scenario    rain → river rises → yellow, orange, red → recedes → lift (about two minutes)'
        : `  demo scenario    ${basename(demo.scenario, '.yaml')} (sensors-sim/README.md says what it plays)`
      : '',
    identities
      ? `  demo identities  ${identities.count} devices, passwords in ${identities.file}\n` +
        `                   try: mosquitto_sub -h 127.0.0.1 -p ${gw.ports.mqtt} -u ${identities.integration.username} -P ${identities.integration.password} -t 'warnings/#' -v\n` +
        `  demo operators   ${identities.operators.map((o) => `${o.id} (${o.roles.join(', ')}) ${o.password}`).join('\n                   ')}\n` +
        `                   try: curl -s -X POST ${gw.urls.http}/api/login -H 'content-type: application/json' -d '{"username":"${identities.operators[0]!.id}","password":"${identities.operators[0]!.password}"}'`
      : '',
    '  stop with Ctrl-C',
  ]
    .filter((l, i, all) => l !== '' || (all[i - 1] !== '' && i > 0))
    .join('\n')
  process.stderr.write(`${banner}\n\n`)

  // The demo ends when the gateway says every warning it raised is lifted, not after a time.
  const stopWatching = scenarioPlayed
    ? watchDemoEnd({
        gw,
        since: startedAt,
        scenarioDone: scenarioPlayed,
        logins: { duty, second },
        write: (lines) => process.stderr.write(`\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`),
      })
    : undefined

  // SIGHUP reloads configuration, registry and rules: all validated first, or nothing changes.
  process.on('SIGHUP', () => {
    const r = gw.reload()
    process.stderr.write(
      r.ok
        ? `reloaded: ${r.value.stations} stations, ${r.value.terminals} terminals, ${r.value.rules} rules\n`
        : `reload refused, the running configuration stays:\n${r.error.map((i) => '  ' + formatFileIssue(i)).join('\n')}\n`,
    )
  })
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  stopWatching?.()
  for (const c of children) c.kill('SIGTERM')
  await gw.stop()
  return 0
}

/**
 * Each line a child writes becomes a log line: its progress (`[sim] …`, the prefix dropped) at
 * info, anything else it writes to stderr (its errors) at warn.
 */
function logLines(child: ChildProcess, log: Logger): void {
  for (const [stream, other] of [
    [child.stdout, 'info'],
    [child.stderr, 'warn'],
  ] as const)
    if (stream)
      createInterface({ input: stream }).on('line', (line) => {
        const progress = /^\[sim\] ?/.exec(line)
        const text = progress ? line.slice(progress[0].length) : line
        if (text.trim() !== '') log[progress ? 'info' : other](text)
      })
}

/** `shaobing sim …`: the simulator runs as its own process (the gateway never imports its clients). */
function runSim(args: string[]): Promise<number> {
  let sim: string
  try {
    sim = simEntry()
  } catch (e) {
    console.error((e as Error).message)
    return Promise.resolve(1)
  }
  const child = fork(sim, args, { stdio: 'inherit' })
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal)
  process.once('SIGINT', forward('SIGINT'))
  process.once('SIGTERM', forward('SIGTERM'))
  return new Promise((resolveExit) => child.on('exit', (code) => resolveExit(code ?? 1)))
}

/**
 * The simulator entry: the compiled one next to this file's compiled twin; run from source (tsx,
 * as the tests do), its TypeScript source, which the child runs with the same loader.
 */
function simEntry(): string {
  const file = fileURLToPath(import.meta.url)
  const here = dirname(file)
  const candidates = [
    ...(file.endsWith('.ts') ? [resolve(here, '../../../sensors-sim/src/main.ts')] : []),
    resolve(here, '../../../sensors-sim/src/main.js'),
    resolve(here, '../../../dist/sensors-sim/src/main.js'),
  ]
  const found = candidates.find((c) => existsSync(c))
  if (!found) throw new Error(`simulator not built; run npm run build (looked in ${candidates.join(', ')})`)
  return found
}
