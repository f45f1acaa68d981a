/**
 * A standard MQTT client (Mosquitto's mosquitto_pub / mosquitto_sub, Debian package
 * mosquitto-clients) works against the embedded broker: it publishes readings that become
 * warnings and receives loudspeaker commands, each logging in as its device does.
 */
import { execFile, spawn } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { getJson, makeConfigDir, metric, startTestGateway } from '../helpers/gateway.js'
import { MONITOR, testPassword } from '../helpers/devices.js'
import { requireBinary } from '../helpers/requires.js'
import { until } from '../helpers/wait.js'

const run = promisify(execFile)
const hasClients = requireBinary('/usr/bin/mosquitto_pub', 'mosquitto-clients')
const T0 = Date.UTC(2026, 6, 15)
/** mosquitto_pub/sub's arguments to log in as a test device: client id and username its id. */
const login = (id: string) => ['-i', id, '-u', id, '-P', testPassword(id)]

describe.runIf(hasClients)('mosquitto_pub and mosquitto_sub against the embedded broker', () => {
  let gw: RunningGateway
  beforeAll(async () => {
    ;({ gw } = await startTestGateway(makeConfigDir().config))
  })
  afterAll(async () => gw?.stop())

  test('readings published with mosquitto_pub at QoS 1 raise a warning seen by mosquitto_sub', async () => {
    const port = String(gw.ports.mqtt)
    // mosquitto_sub waits for two loudspeaker commands for one village terminal, then exits. With -d
    // it also tells when its subscription is acknowledged (debug lines; the messages are the JSON
    // ones), line by line under stdbuf (coreutils) rather than when its stdio buffer fills.
    const sub = spawn('/usr/bin/stdbuf', [
      '-oL',
      '/usr/bin/mosquitto_sub',
      '-d',
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'terminals/T511823100201-01/cmd',
      '-q',
      '1',
      '-C',
      '2',
      '-W',
      '20',
      ...login('T511823100201-01'),
    ])
    let out = ''
    sub.stdout.on('data', (d: Buffer) => (out += d.toString()))
    const done = new Promise<number | null>((resolve) => sub.once('exit', resolve))
    await until(
      () => out,
      (o) => o.includes('received SUBACK'),
      "mosquitto_sub's SUBACK",
    )
    for (const [i, stage] of [31.0, 32.7, 34.2].entries())
      await run('/usr/bin/mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        port,
        '-q',
        '1',
        ...login('wl-lw-01'),
        '-t',
        sensorDataTopic('water_level', 'wl-lw-01'),
        '-m',
        JSON.stringify({ ts: T0 + i * 600_000, values: { stage_m: stage } }),
      ])
    expect(await done).toBe(0)
    const cmds = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; kind: string })
    expect(cmds.map((c) => [c.kind, c.level])).toEqual([
      ['issue', 'yellow'],
      ['update', 'orange'],
    ])
    expect(await metric(gw.urls.http, 'shaobing_readings_stored_total')).toBe(3)
    const { warnings } = await getJson<{ warnings: { level: string }[] }>(
      gw.urls.http,
      '/api/warnings?state=active',
    )
    expect(warnings.map((w) => w.level)).toEqual(['orange'])
  })

  test('a retained warning state is delivered to a late mosquitto_sub', async () => {
    const { stdout } = await run('/usr/bin/mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(gw.ports.mqtt),
      '-t',
      'warnings/#',
      '-C',
      '1',
      '-W',
      '5',
      '-v',
      ...login(MONITOR),
    ])
    expect(stdout).toMatch(/^warnings\/511823100201\/flood \{.*"state":"active"/)
  })
})
