/**
 * Starts a real gateway in-process for a test: embedded broker and HTTP API on 127.0.0.1 port 0,
 * a SQLite file in a fresh temporary directory, the demo county registry and shipped catalogues.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { pino, type Logger } from 'pino'
import { startGateway, type RunningGateway } from '../../gateway/src/app.js'
import { enrollTestDevices, monitor, TEST_ACL } from './devices.js'
import { until } from './wait.js'

export const DEMO_REGISTRY = join(import.meta.dirname, '../../gateway/config/demo/county.yaml')

/** Operators every test gateway knows, by their bearer tokens. */
export const TOKENS = {
  /** 值班员 duty: operator and approver. */
  duty: 'test-token-duty',
  /** A second approver, for two-person approval. */
  approver: 'test-token-approver',
  /** An operator without the approver role. */
  clerk: 'test-token-clerk',
} as const
const sha = (t: string) => createHash('sha256').update(t).digest('hex')
export const OPERATORS_YAML = [
  'operators:',
  `  - { id: duty, name: 值班员张三, roles: [operator, approver], tokenSha256: ${sha(TOKENS.duty)} }`,
  `  - { id: approver2, name: 审核员李四, roles: [approver], tokenSha256: ${sha(TOKENS.approver)} }`,
  `  - { id: clerk, name: 操作员王五, roles: [operator], tokenSha256: ${sha(TOKENS.clerk)} }`,
].join('\n')

/** A request to the API as an operator (by token), with a JSON body. */
export function api(base: string, method: string, path: string, body?: unknown, token: string = TOKENS.duty) {
  return fetch(base + path, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
}

/** The configuration line naming the test ACL file (`acl.conf` beside the configuration). */
export const TEST_SECURITY_YAML = 'security: { devices: { aclFile: acl.conf } }'

/**
 * A data directory with a gateway.yaml that uses loopback and free ports, and the test ACL file
 * (`acl.conf`). A test writing its own gateway.yaml there adds TEST_SECURITY_YAML to keep it.
 */
export function makeConfigDir(
  registry = DEMO_REGISTRY,
  extra = '',
  /** The `mqtt:` and `http:` mappings in place of the loopback, free-port ones (kept on loopback). */
  listeners: { readonly mqtt?: string; readonly http?: string } = {},
): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'shaobing-test-'))
  const config = join(dir, 'gateway.yaml')
  writeFileSync(join(dir, 'acl.conf'), TEST_ACL)
  writeFileSync(
    config,
    [
      `registry: ${JSON.stringify(registry)}`,
      `dataDir: ${JSON.stringify(join(dir, 'data'))}`,
      `mqtt: ${listeners.mqtt ?? '{ host: 127.0.0.1, port: 0, wsPort: 0 }'}`,
      `http: ${listeners.http ?? '{ host: 127.0.0.1, port: 0 }'}`,
      OPERATORS_YAML,
      /^security:/m.test(extra) ? '' : TEST_SECURITY_YAML,
      extra,
    ].join('\n'),
  )
  return { dir, config }
}

/** pino logger whose JSON lines are kept in memory for assertions. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>)
      cb()
    },
  })
  return { logger: pino({ level: 'debug' }, sink), lines }
}

/** Enrolls the test devices of the configuration's registry (tests/helpers/devices.ts), then starts it. */
export async function startTestGateway(config: string, now?: () => number) {
  await enrollTestDevices(config)
  const { logger, lines } = captureLogger()
  const gw: RunningGateway = await startGateway({ configPath: config, logger, ...(now ? { now } : {}) })
  return { gw, lines }
}

export async function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts })
}

/** Hazard and text of the marker warnings `issueMarker` issues. */
export const MARKER = { hazard: 'test_marker', text: '【测试标记】test marker' } as const

/**
 * Issues a marker, the later event that proves an earlier one did not happen: an operator's blue
 * warning of hazard MARKER.hazard to `region`, released at once, for the region's loudspeakers (and
 * its people, where SMS is configured). It is decided after everything the test caused before it,
 * so it is sent after whatever they sent: the broker keeps each topic's order [MQTT-4.6.0-6] and
 * the SMS queue goes out in order. Once a terminal has the marker's command, an earlier command
 * that has not reached it was never sent. Returns the marker's warning id.
 */
export async function issueMarker(base: string, region: string): Promise<string> {
  const res = await api(base, 'POST', '/api/warnings', {
    hazard: MARKER.hazard,
    level: 'blue',
    regions: [region],
    text: MARKER.text,
  })
  const body = (await res.json()) as { warningId?: string; release?: string }
  if (res.status !== 200 || body.release !== 'released' || body.warningId === undefined)
    throw new Error(`the marker was not released: ${res.status} ${JSON.stringify(body)}`)
  return body.warningId
}

/**
 * Subscribes to `filter` and keeps the messages; `waitFor(n)` resolves once n have arrived. `hazard`
 * keeps only commands of that hazard (a rain gauge in a village with flash-flood thresholds also
 * raises flash-flood warnings). Markers (`mark`) are kept apart, never among the messages.
 */
export async function collector(url: string, filter: string, opts: { hazard?: string } = {}) {
  const client = await connect(url, monitor())
  const messages: { topic: string; payload: Record<string, unknown> }[] = []
  const markers: Record<string, unknown>[] = []
  const waiters: { n: number; resolve: () => void }[] = []
  client.on('message', (topic, payload) => {
    const json = JSON.parse(payload.toString('utf8')) as Record<string, unknown>
    if (json.hazard === MARKER.hazard) return void markers.push(json)
    if (opts.hazard !== undefined && json.hazard !== opts.hazard) return
    messages.push({ topic, payload: json })
    for (const w of [...waiters]) if (messages.length >= w.n) w.resolve()
  })
  await client.subscribeAsync(filter, { qos: 1 })
  return {
    client,
    messages,
    waitFor: (n: number, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (messages.length >= n) return resolve()
        const timer = setTimeout(
          () => reject(new Error(`only ${messages.length} of ${n} messages on ${filter}`)),
          timeoutMs,
        )
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) })
      }),
    /**
     * Issues a marker to `region` (see issueMarker) and waits until `n` of its commands are here, one
     * per terminal topic of `filter` it reaches: then nothing sent before it is still on its way.
     */
    mark: async (base: string, region: string, n: number) => {
      const id = await issueMarker(base, region)
      await until(
        () => markers.filter((m) => m.warningId === id).length,
        (k) => k >= n,
        `${n} marker commands on ${filter}`,
      )
    },
    close: () => client.endAsync(),
  }
}

export async function getJson<T = Record<string, unknown>>(base: string, path: string): Promise<T> {
  const res = await fetch(base + path)
  return (await res.json()) as T
}

/** The CONNACK return code a connection attempt is refused with (undefined: accepted, then closed). */
export async function refusedWith(url: string, opts: IClientOptions): Promise<number | undefined> {
  try {
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts })
    await c.endAsync()
    return undefined
  } catch (e) {
    return (e as { code?: number }).code
  }
}

/** Value of an unlabelled or labelled counter in Prometheus text. */
export async function metric(base: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(base + '/metrics')).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `))
  return line ? Number(line.split(' ')[1]) : 0
}
