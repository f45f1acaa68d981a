/**
 * The processes a benchmark compares: Mosquitto (Debian package), Node-RED (the project's own
 * dependency), and the Shaobing gateway, each a child process on 127.0.0.1 free ports.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { freePort } from '../../tests/helpers/ports.js'
import { join } from 'node:path'
import { startChildGateway } from '../../tests/helpers/child-gateway.js'

export const ROOT = join(import.meta.dirname, '../..')
export const MOSQUITTO = '/usr/sbin/mosquitto'

/**
 * The benchmarks' gateways put thousands of simulated devices on one loopback address, where the
 * field has one address per device or per NAT: the per-address connection rate (mqtt.limits) is off
 * for them; every other limit stays at its default.
 */
export const BENCH_MQTT_YAML = 'mqtt: { limits: { perAddress: { connectsPerSecond: 0 } } }'

export interface Proc {
  readonly proc: ChildProcess
  readonly pid: number
  stop(): Promise<void>
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
      proc.once('exit', () => resolve())
      proc.kill('SIGTERM')
      setTimeout(() => proc.kill('SIGKILL'), 5000).unref()
    })
}

/** Resident set size of a process, MB (from /proc). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const { connect } = await import('node:net')
  const until = Date.now() + ms
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true)))
      s.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > until) throw new Error(`nothing listens on ${port}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Mosquitto on a free port; with `passwordFile` (mosquitto_passwd's format) it refuses anonymous clients. */
export async function startMosquitto(
  dir: string,
  opts: { passwordFile?: string } = {},
): Promise<Proc & { port: number }> {
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  // Unlimited queues so the reference drops nothing; persistence off like our in-memory broker state.
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...(opts.passwordFile
        ? ['allow_anonymous false', `password_file ${opts.passwordFile}`]
        : ['allow_anonymous true']),
      // Started as root, Mosquitto drops to the `mosquitto` user, who cannot read files in this
      // run's private temporary directory: keep the benchmark's own user instead.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'persistence false',
      'max_queued_messages 0',
      'max_inflight_messages 1000',
      'log_dest none',
      '',
    ].join('\n'),
  )
  const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' })
  await waitForPort(port)
  return { proc, pid: proc.pid!, port, stop: stopper(proc) }
}

/** Node-RED's red.js: the project's own node-red (a dependency, for the embedded editor and the nodes). */
export function ensureNodeRed(): string {
  return createRequire(import.meta.url).resolve('node-red/red.js')
}

/**
 * Node-RED with the flow users build today: mqtt-in on sensors/# → JSON → a function node that
 * grades stage_m against the yellow/orange/red levels and counts; every 1,000 graded readings it
 * publishes the count on bench/progress.
 */
export async function startNodeRed(dir: string, mqttPort: number, qos: 0 | 1): Promise<Proc> {
  const red = ensureNodeRed()
  const port = await freePort()
  const userDir = join(dir, `node-red-${qos}`)
  mkdirSync(userDir, { recursive: true })
  const flows = [
    { id: 'tab', type: 'tab', label: 'bench' },
    {
      id: 'broker',
      type: 'mqtt-broker',
      broker: '127.0.0.1',
      port: String(mqttPort),
      clientid: `nodered-${qos}`,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
    },
    {
      id: 'in',
      type: 'mqtt in',
      z: 'tab',
      topic: 'sensors/#',
      qos: String(qos),
      datatype: 'json',
      broker: 'broker',
      wires: [['grade']],
    },
    {
      id: 'grade',
      type: 'function',
      z: 'tab',
      func: [
        'const v = msg.payload && msg.payload.values && msg.payload.values.stage_m',
        "const level = v >= 35.2 ? 'red' : v >= 34.0 ? 'orange' : v >= 32.5 ? 'yellow' : null",
        "const n = (context.get('n') || 0) + 1",
        "context.set('n', n)",
        'if (level) { const c = (context.get(level) || 0) + 1; context.set(level, c) }',
        "if (n % 1000 === 0) return { topic: 'bench/progress', payload: String(n) }",
        'return null',
      ].join('\n'),
      outputs: 1,
      wires: [['out']],
    },
    {
      id: 'out',
      type: 'mqtt out',
      z: 'tab',
      topic: '',
      qos: '0',
      retain: 'false',
      broker: 'broker',
      wires: [],
    },
  ]
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows))
  writeFileSync(
    join(userDir, 'settings.js'),
    `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, flowFile: 'flows.json', httpAdminRoot: false, httpNodeRoot: false, logging: { console: { level: 'warn' } }, editorTheme: { tours: false } }\n`,
  )
  const proc = spawn(process.execPath, [red, '-u', userDir, '-s', join(userDir, 'settings.js')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout!.resume()
  proc.stderr!.resume()
  return { proc, pid: proc.pid!, stop: stopper(proc) }
}

/** The benchmarks run the gateway from dist/, as `shaobing start` does: stop here if it is not built. */
export function requireBuild(): void {
  if (existsSync(join(ROOT, 'dist/gateway/src/cli/main.js'))) return
  console.error('build first: npm run build')
  process.exit(2)
}

export interface GatewayProc extends Proc {
  readonly mqttPort: number
  readonly httpPort: number
}

/**
 * The gateway as `shaobing start` runs it, from the build, with the tests' device identities
 * enrolled unless `enroll` is false (the benchmark provisioned its own). BENCH_NODE_ARGS passes Node flags to it,
 * e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
export async function startGatewayProcess(
  config: string,
  opts: { enroll?: boolean } = {},
): Promise<GatewayProc> {
  const g = await startChildGateway(config, {
    ...opts,
    entry: 'built',
    nodeArgs: process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
    readyTimeoutMs: 60_000,
  })
  g.proc.stdout!.resume()
  return { proc: g.proc, pid: g.proc.pid!, mqttPort: g.mqttPort, httpPort: g.httpPort, stop: stopper(g.proc) }
}

/** A counter from the gateway's Prometheus text. */
export async function gatewayCounter(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(name + ' '))
  return line ? Number(line.split(' ')[1]) : 0
}
