/**
 * Issue 17, proven under faults: kill -9 in the middle of releasing a warning version. The gateway
 * runs in a child process; 200 loudspeaker terminals, each a real MQTT device that logs in with its
 * own identity, count every command that arrives (raw: they dedupe nothing) and answer with
 * receipts; a simulated SMSC counts what each phone is sent. The gateway is killed at a point of
 * the release chosen by what the terminals and the SMSC see, not by timing (the first command
 * arrived, half of them, all of them; the SMSC took the first SMS and has not answered), restarted on the same data directory and port, and then:
 *
 * - every targeted terminal has received the version exactly once (docs/architecture.md, "What the
 *   gateway promises": nothing is sent twice to one terminal for one version);
 * - every phone has the SMS at least once, and at most once more (README "Delivery after a crash":
 *   only a submit the SMSC had not answered when the gateway died goes again).
 *
 * "Nothing more arrives" is proven by a marker issued after every delivery is recorded as played:
 * once each terminal and phone has the marker, nothing of the version is still on its way.
 */
import Database from 'better-sqlite3'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, expect, onTestFinished, test } from 'vitest'
import {
  terminalCmdTopic,
  terminalReceiptTopic,
  terminalStatusTopic,
} from '../../gateway/src/contracts/topics.js'
import { startSmsc } from '../../sensors-sim/src/smsc.js'
import { startChildGateway, type ChildGateway } from '../helpers/child-gateway.js'
import { device } from '../helpers/devices.js'
import { api, issueMarker, makeConfigDir, MARKER, OPERATORS_YAML } from '../helpers/gateway.js'
import { freePort } from '../helpers/ports.js'
import { until } from '../helpers/wait.js'

const TERMINALS = 200
const VILLAGE = '511823100201'
const PHONES = ['13800000501', '13800000502', '13800000503', '13800000504']
const tid = (i: number) => `T-${String(i).padStart(4, '0')}`

function registry(): string {
  const lines = [
    'regions:',
    "  - { code: '511823000000', name: 示范县, level: county }",
    "  - { code: '511823100000', name: 河口镇, level: township }",
    `  - { code: '${VILLAGE}', name: 柳湾村, level: village }`,
    'stations:',
    `  - { id: WL-1, name: gauge, region: '${VILLAGE}', params: { warning_level: 32.5, guaranteed_level: 34.0, historical_max_level: 35.2 }, sensors: [{ id: wl-1, kind: water_level }] }`,
    'terminals:',
  ]
  for (let i = 0; i < TERMINALS; i++) lines.push(`  - { id: ${tid(i)}, region: '${VILLAGE}' }`)
  lines.push('people:')
  PHONES.forEach((p, i) =>
    lines.push(
      `  - { id: P-${i}, name: 村干部${i}, region: '${VILLAGE}', roles: [village_head], phone: '${p}' }`,
    ),
  )
  return lines.join('\n') + '\n'
}

interface Terminal {
  readonly client: MqttClient
  /** Raw arrivals per `warningId#version#round`. */
  readonly arrivals: Map<string, number>
}

/**
 * A loudspeaker terminal as the real ones behave on the wire: retained online status (and its last
 * will), a QoS 1 subscription to its commands, accepted and played receipts at QoS 1. It reconnects
 * by itself when the gateway comes back (mqtt.js resends receipts the gateway never acknowledged,
 * then resubscribes) and announces itself online again.
 */
async function terminal(id: string, url: string, onCommand: () => void): Promise<Terminal> {
  const arrivals = new Map<string, number>()
  const status = (state: 'online' | 'offline') => JSON.stringify({ state })
  const client = await mqtt.connectAsync(url, {
    ...device(id),
    reconnectPeriod: 200,
    connectTimeout: 5000,
    will: { topic: terminalStatusTopic(id), payload: Buffer.from(status('offline')), qos: 1, retain: true },
  })
  client.on('error', () => {})
  client.on('message', (_topic, payload) => {
    const cmd = JSON.parse(payload.toString('utf8')) as { warningId: string; version: number; round: number }
    const key = `${cmd.warningId}#${cmd.version}#${cmd.round}`
    arrivals.set(key, (arrivals.get(key) ?? 0) + 1)
    onCommand() // may kill the gateway: the receipts below are then in flight
    for (const state of ['accepted', 'played'] as const)
      client.publish(
        terminalReceiptTopic(id),
        JSON.stringify({ warningId: cmd.warningId, version: cmd.version, state, ts: Date.now() }),
        { qos: 1 },
      )
  })
  await client.subscribeAsync(terminalCmdTopic(id), { qos: 1 })
  const online = () => client.publish(terminalStatusTopic(id), status('online'), { qos: 1, retain: true })
  online()
  client.on('connect', online) // every reconnection (the first was before this handler)
  return { client, arrivals }
}

const figures: string[] = []
afterAll(() => {
  console.info(
    `kill -9 during a release (${TERMINALS} terminals, ${PHONES.length} phones):\n${figures.join('\n')}`,
  )
})

const points = [
  { name: 'the first command arrived', on: 'command', after: 1 },
  { name: 'half of the commands arrived', on: 'command', after: TERMINALS / 2 },
  { name: 'every command arrived (receipts in flight)', on: 'command', after: TERMINALS },
  // The SMSC has taken the message but the gateway never hears so: the at-least-once window.
  { name: 'the SMSC took the first SMS, before answering', on: 'sms', after: 1 },
] as const

test.each(points)(
  'kill -9 when $name: each terminal gets the version once, each phone at most once more',
  { timeout: 120_000 },
  async ({ name, on, after }) => {
    let killed = false
    let kill = () => {}
    const smsc = await startSmsc({
      systemId: 'shaobing',
      password: 'secret',
      onSubmit: () => {
        if (on === 'sms') kill()
      },
    })
    onTestFinished(() => smsc.close())
    const { dir, config } = makeConfigDir() // its directory and ACL file; gateway.yaml is ours
    writeFileSync(join(dir, 'registry.yaml'), registry())
    writeFileSync(
      config,
      [
        'registry: registry.yaml',
        'dataDir: data',
        'log: { level: warn }',
        'mqtt: { host: 127.0.0.1 }',
        'http: { host: 127.0.0.1 }',
        `sms: { url: 'smpp://127.0.0.1:${smsc.port}', systemId: shaobing, password: secret, ratePerSecond: 100 }`,
        // Retries are not what this test is about, but a restart must not provoke them either.
        'warnings: { tickEvery: 100ms, delivery: { retryAfter: 10s } }',
        'security: { devices: { aclFile: acl.conf } }',
        OPERATORS_YAML,
      ].join('\n') + '\n',
    )
    const port = await freePort()
    const args = { extraArgs: ['--mqtt-port', String(port)] }
    let gw: ChildGateway = await startChildGateway(config, args)
    onTestFinished(() => {
      gw.proc.kill('SIGKILL')
    })

    let seen = 0
    kill = () => {
      if (killed || ++seen < after) return
      killed = true
      gw.proc.kill('SIGKILL') // synchronously, in the step that saw the command (or SMS) arrive
    }
    const terminals: Terminal[] = []
    for (let i = 0; i < TERMINALS; i += 20)
      terminals.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(20, TERMINALS - i) }, (_, k) =>
            terminal(tid(i + k), gw.mqttUrl, () => {
              if (on === 'command') kill()
            }),
          ),
        )),
      )
    onTestFinished(async () => {
      await Promise.all(terminals.map((t) => t.client.endAsync(true)))
    })
    await until(
      async () => (await fetch(`${gw.httpUrl}/api/sms`).then((r) => r.json())) as { bound: boolean },
      (s) => s.bound,
      'the SMSC bind',
    )

    const token = `KILLTEST-${after}`
    // The kill may come before the API answers: the command's arrival proves the release committed.
    await api(gw.httpUrl, 'POST', '/api/warnings', {
      hazard: 'flood',
      level: 'yellow',
      regions: [VILLAGE],
      text: `【黄色预警】${token} 柳湾村洪水黄色预警`,
    }).catch(() => undefined)
    const { signal } = await gw.exited
    expect(signal).toBe('SIGKILL')
    const atKill = terminals.filter((t) => t.arrivals.size > 0).length
    const smsAtKill = PHONES.map((p) => smsc.received(p).filter((m) => m.text.includes(token)).length)

    gw = await startChildGateway(config, { ...args, enroll: false })
    const key = [...terminals.find((t) => t.arrivals.size > 0)!.arrivals.keys()][0]!
    const [warningId] = key.split('#') as [string]
    await until(
      () => terminals.filter((t) => (t.arrivals.get(key) ?? 0) >= 1).length,
      (n) => n === TERMINALS,
      'the version on every terminal after the restart',
      60_000,
    )
    // Every delivery recorded as played: no retry of this version can be owed any more …
    const db = new Database(join(dir, 'data', 'shaobing.db'), { readonly: true })
    onTestFinished(() => {
      db.close()
    })
    await until(
      () =>
        db
          .prepare(
            "SELECT count(*) AS n FROM deliveries WHERE warning_id = ? AND version = 1 AND state = 'played'",
          )
          .get(warningId) as { n: number },
      (r) => r.n === TERMINALS,
      'every delivery played',
      60_000,
    )
    await until(
      () => PHONES.filter((p) => smsc.received(p).some((m) => m.text.includes(token))).length,
      (n) => n === PHONES.length,
      'the SMS on every phone',
      60_000,
    )
    // … and the marker, sent after everything decided before it, proves nothing else is on its way.
    const marker = await issueMarker(gw.httpUrl, VILLAGE)
    await until(
      () => terminals.filter((t) => [...t.arrivals.keys()].some((k) => k.startsWith(`${marker}#`))).length,
      (n) => n === TERMINALS,
      'the marker on every terminal',
      30_000,
    )
    await until(
      () => PHONES.filter((p) => smsc.received(p).some((m) => m.text.includes(MARKER.text))).length,
      (n) => n === PHONES.length,
      'the marker SMS on every phone',
      30_000,
    )

    const counts = terminals.map((t) => t.arrivals.get(key) ?? 0)
    const twice = counts.filter((n) => n > 1).length
    const sms = PHONES.map((p) => smsc.received(p).filter((m) => m.text.includes(token)).length)
    figures.push(
      `  ${name}: terminals with it at the kill ${atKill}/${TERMINALS}; after restart received once ${counts.filter((n) => n === 1).length}, twice or more ${twice}, never ${counts.filter((n) => n === 0).length}; SMS per phone at the kill [${smsAtKill.join(', ')}], in all [${sms.join(', ')}]`,
    )
    if (on === 'command') expect(atKill).toBeGreaterThanOrEqual(after)
    else expect(smsAtKill.some((n) => n === 1)).toBe(true)
    expect(twice).toBe(0)
    expect(counts.every((n) => n === 1)).toBe(true)
    for (const n of sms) {
      expect(n).toBeGreaterThanOrEqual(1)
      expect(n).toBeLessThanOrEqual(2)
    }
  },
)
