/**
 * Nobody forges a reading, a receipt or a command: every refusal of issue 12's device security
 * through real clients (mqtt.js, and Mosquitto's own mosquitto_pub / mosquitto_sub / mosquitto_passwd)
 * against a real gateway. "Nothing was stored / forwarded" is always checked against a later
 * message from the same connection that was, never after a pause.
 */
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { IClientOptions, MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { startGateway } from '../../gateway/src/app.js'
import { deviceMain } from '../../gateway/src/cli/devices.js'
import {
  sensorDataTopic,
  terminalCmdTopic,
  terminalReceiptTopic,
} from '../../gateway/src/contracts/topics.js'
import { device, monitor, testPassword } from '../helpers/devices.js'
import {
  captureLogger,
  connect,
  getJson,
  makeConfigDir,
  metric,
  refusedWith as refusedOn,
  startTestGateway,
} from '../helpers/gateway.js'
import { requireBinary } from '../helpers/requires.js'
import { until } from '../helpers/wait.js'

const run = promisify(execFile)
const T0 = Date.UTC(2026, 6, 15)
const M = 60_000
const hasMosquitto = requireBinary('/usr/bin/mosquitto_passwd', 'mosquitto')
const hasClients = requireBinary('/usr/bin/mosquitto_pub', 'mosquitto-clients')

let gw: RunningGateway
let lines: Record<string, unknown>[]
let dir: string
let config: string
beforeAll(async () => {
  ;({ dir, config } = makeConfigDir())
  ;({ gw, lines } = await startTestGateway(config))
})
afterAll(async () => gw?.stop())

/** The CONNACK return code an attempt on the test gateway is refused with (undefined: accepted). */
const refusedWith = (opts: IClientOptions) => refusedOn(gw.urls.mqtt, opts)

/** Runs `shaobing device …` against the test gateway's store; returns its exit code and output. */
async function cli(...argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = []
  const spy = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)))
  const err = vi.spyOn(console, 'error').mockImplementation((s: unknown) => void out.push(String(s)))
  try {
    return { code: await deviceMain([...argv, '--config', config]), out }
  } finally {
    spy.mockRestore()
    err.mockRestore()
  }
}

/** Connections refused for `reason` (shaobing_mqtt_auth_total), and messages denied by action and reason. */
const refusals = (reason: string) =>
  metric(gw.urls.http, 'shaobing_mqtt_auth_total', `result="refused",reason="${reason}"`)
const denials = (action: string, reason: string) =>
  metric(gw.urls.http, 'shaobing_mqtt_denied_total', `action="${action}",reason="${reason}"`)

/** The SUBACK return codes for these filters, in order (mqtt.js rejects when any is 0x80). */
async function subackCodes(c: MqttClient, filters: string[]): Promise<number[]> {
  const subs = Object.fromEntries(filters.map((f) => [f, { qos: 1 as const }]))
  try {
    const granted = await c.subscribeAsync(subs)
    return granted.map((g) => g.qos)
  } catch (e) {
    return (e as { packet?: { granted?: number[] } }).packet?.granted ?? []
  }
}

const reading = (ts: number, stage: number) => JSON.stringify({ ts, values: { stage_m: stage } })
const storedTs = async (station: string) =>
  (
    await getJson<{ readings: { ts: number }[] }>(
      gw.urls.http,
      `/api/stations/${station}/readings?from=0&limit=1000`,
    )
  ).readings.map((r) => r.ts)

describe('who may connect', () => {
  test('anonymous clients are refused with CONNACK 5, unknown users and wrong passwords with 4', async () => {
    expect(await refusedWith({ clientId: 'wl-lw-01' })).toBe(5)
    expect(await refusedWith({ clientId: 'ghost', username: 'ghost', password: 'whatever-it-is' })).toBe(4)
    expect(await refusedWith(device('wl-lw-01', { password: 'not-its-password' }))).toBe(4)
    expect(await refusedWith(device('wl-lw-01'))).toBeUndefined()
    expect(await refusals('no_credentials')).toBe(1)
    expect(await refusals('unknown_device')).toBe(1)
    expect(await refusals('bad_password')).toBe(1)
  })

  test('a client refused again and again is logged once a minute, and counted every time', async () => {
    const before = await refusals('bad_password')
    for (let i = 0; i < 5; i++)
      expect(await refusedWith(device('rg-lw-01', { password: 'guess-' + i }))).toBe(4)
    expect(await refusals('bad_password')).toBe(before + 5)
    const logged = lines.filter((l) => l.msg === 'mqtt connection refused' && l.clientId === 'rg-lw-01')
    expect(logged).toHaveLength(1)
    expect(logged[0]).toMatchObject({ reason: 'bad_password', code: 4, username: 'rg-lw-01' })
    expect(JSON.stringify(logged[0])).not.toContain('guess-') // passwords are never logged
  })

  test.runIf(hasClients)(
    'mosquitto_pub without credentials or with a wrong password is refused',
    async () => {
      const pub = (extra: string[]) =>
        run('/usr/bin/mosquitto_pub', [
          '-h',
          '127.0.0.1',
          '-p',
          String(gw.ports.mqtt),
          '-t',
          sensorDataTopic('water_level', 'wl-lw-01'),
          '-m',
          reading(T0, 30),
          '-q',
          '1',
          ...extra,
        ]).then(
          () => 'accepted',
          (e: { stderr: string }) => e.stderr.trim(),
        )
      expect(await pub(['-i', 'wl-lw-01'])).toMatch(/not authori[sz]ed/i)
      expect(await pub(['-i', 'wl-lw-01', '-u', 'wl-lw-01', '-P', 'wrong-password'])).toMatch(
        /bad user name or password/i,
      )
      expect(await pub(['-i', 'wl-lw-01', '-u', 'wl-lw-01', '-P', testPassword('wl-lw-01')])).toBe('accepted')
    },
  )

  test('a client id already connected under another identity is refused (CONNACK 2); the same identity takes it over', async () => {
    const first = await connect(gw.urls.mqtt, device('wl-lt-01'))
    expect(await refusedWith(device('rg-lw-01', { clientId: 'wl-lt-01' }))).toBe(2)
    expect(first.connected).toBe(true)
    const closed = new Promise<void>((r) => first.once('close', () => r()))
    const again = await connect(gw.urls.mqtt, device('wl-lt-01'))
    await closed // MQTT-3.1.4-2: the server disconnects the existing client with the same id
    await again.endAsync()
    first.end(true)
  })
})

describe('what a device may do', () => {
  test('a sensor publishing as another sensor is acknowledged, not stored, and counted', async () => {
    const liuwan = await connect(gw.urls.mqtt, device('wl-lw-01', { clientId: 'wl-lw-01-forger' }))
    const before = await denials('publish', 'not_permitted')
    // Forged: a red-level stage for the Litian gauge. Then a genuine reading of its own.
    await liuwan.publishAsync(sensorDataTopic('water_level', 'wl-lt-01'), reading(T0 + 5 * M, 36), { qos: 1 })
    await liuwan.publishAsync(sensorDataTopic('water_level', 'wl-lw-01'), reading(T0 + 6 * M, 30.1), {
      qos: 1,
    })
    expect(liuwan.connected).toBe(true)
    expect(await storedTs('WL-LW-01')).toContain(T0 + 6 * M)
    expect(await storedTs('WL-LT-01')).not.toContain(T0 + 5 * M)
    expect(await denials('publish', 'not_permitted')).toBe(before + 1)
    const logged = lines.find((l) => l.msg === 'mqtt access denied' && l.clientId === 'wl-lw-01-forger')
    expect(logged).toMatchObject({
      username: 'wl-lw-01',
      action: 'publish',
      topic: sensorDataTopic('water_level', 'wl-lt-01'),
    })
    await liuwan.endAsync()
  })

  test('a terminal may not forge another terminal’s receipt', async () => {
    const t1 = await connect(gw.urls.mqtt, device('T511823100201-01'))
    const receipt = JSON.stringify({ warningId: 'W-FORGED', version: 1, state: 'played', at: T0 })
    const before = await denials('publish', 'not_permitted')
    await t1.publishAsync(terminalReceiptTopic('T511823100202-01'), receipt, { qos: 1 })
    expect(await denials('publish', 'not_permitted')).toBe(before + 1)
    await t1.endAsync()
  })

  test('subscribing to # or to another terminal’s commands is refused (SUBACK 0x80); its own is granted', async () => {
    const t1 = await connect(gw.urls.mqtt, device('T511823100201-01'))
    expect(
      await subackCodes(t1, [
        '#',
        terminalCmdTopic('T511823100202-01'),
        'terminals/+/cmd',
        terminalCmdTopic('T511823100201-01'),
      ]),
    ).toEqual([128, 128, 128, 1])
    const sensor = await connect(gw.urls.mqtt, device('wl-lw-01'))
    expect(await subackCodes(sensor, ['sensors/#'])).toEqual([128])
    expect(await denials('subscribe', 'not_permitted')).toBe(4)
    await Promise.all([t1.endAsync(), sensor.endAsync()])
  })

  test.runIf(hasClients)('mosquitto_sub on terminals/# as a terminal is refused', async () => {
    const r = await run('/usr/bin/mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(gw.ports.mqtt),
      '-i',
      'T511823100201-01',
      '-u',
      'T511823100201-01',
      '-P',
      testPassword('T511823100201-01'),
      '-t',
      'terminals/#',
      '-C',
      '1',
      '-W',
      '5',
    ]).then(
      (x) => x.stdout + x.stderr,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    )
    // mosquitto_sub reports the refusal and receives nothing.
    expect(r).toMatch(/All subscription requests were denied/)
  })

  test('a last will on a topic the device may not publish refuses the connection', async () => {
    expect(
      await refusedWith(
        device('wl-lw-01', {
          will: { topic: warningsTopic(), payload: Buffer.from('{}'), qos: 0, retain: true },
        }),
      ),
    ).toBe(5)
    expect(
      await refusedWith(
        device('wl-lw-01', {
          will: {
            topic: sensorDataTopic('water_level', 'wl-lt-01'),
            payload: Buffer.from('{}'),
            qos: 0,
            retain: false,
          },
        }),
      ),
    ).toBe(5)
    expect(await denials('will', 'gateway_only')).toBe(1)
    expect(await denials('will', 'not_permitted')).toBe(1)
  })

  test('a payload over mqtt.maxPayload is acknowledged and refused, reaches no subscriber; the next good reading does', async () => {
    const watcher = await connect(gw.urls.mqtt, monitor())
    const got: { topic: string; bytes: number }[] = []
    const tooLarge = await metric(gw.urls.http, 'shaobing_readings_rejected_total', 'reason="too_large"')
    watcher.on('message', (topic, p) => got.push({ topic, bytes: p.length }))
    await watcher.subscribeAsync('sensors/#', { qos: 1 })
    const gauge = await connect(gw.urls.mqtt, device('wl-lt-01'))
    await gauge.publishAsync(sensorDataTopic('water_level', 'wl-lt-01'), Buffer.alloc(300 * 1024, 0x41), {
      qos: 1,
    })
    await gauge.publishAsync(sensorDataTopic('water_level', 'wl-lt-01'), reading(T0 + 9 * M, 30.2), {
      qos: 1,
    })
    await until(
      () => got.length,
      (n) => n >= 1,
      'the good reading at the watcher',
    )
    expect(got).toEqual([
      { topic: sensorDataTopic('water_level', 'wl-lt-01'), bytes: reading(T0 + 9 * M, 30.2).length },
    ])
    // Refused as too large before anything parsed it (mqtt.maxPayload.sensors, 256 KiB by default);
    // a packet beyond mqtt.limits.maxPacketSize is not even read (abuse-limits.test.ts).
    expect(await metric(gw.urls.http, 'shaobing_readings_rejected_total', 'reason="too_large"')).toBe(
      tooLarge + 1,
    )
    expect(lines.find((l) => l.msg === 'message rejected' && l.reason === 'too_large')?.detail).toMatch(
      /^307200 bytes; sensors topics take at most 262144$/,
    )
    await Promise.all([watcher.endAsync(), gauge.endAsync()])
  })
})

describe('credentials change without a restart', () => {
  test('disable closes the live connection and refuses the next (CONNACK 5); enable lets it back', async () => {
    const c = await connect(gw.urls.mqtt, device('rg-sm-01'))
    const closed = new Promise<void>((r) => c.once('close', () => r()))
    expect((await cli('disable', 'rg-sm-01')).code).toBe(0)
    await closed
    expect(await refusedWith(device('rg-sm-01'))).toBe(5)
    expect((await cli('enable', 'rg-sm-01')).code).toBe(0)
    expect(await refusedWith(device('rg-sm-01'))).toBeUndefined()
  })

  test('rotate closes the connection on the old password; the old one is refused (4), the new one works', async () => {
    const c = await connect(gw.urls.mqtt, device('aws-qx-01'))
    const closed = new Promise<void>((r) => c.once('close', () => r()))
    const { code, out } = await cli('rotate', 'aws-qx-01')
    expect(code).toBe(0)
    const password = /^password: (\S+)$/.exec(out.find((l) => l.startsWith('password: ')) ?? '')?.[1]
    expect(password).toMatch(/^[A-Za-z0-9_-]{43}$/)
    await closed
    expect(await refusedWith(device('aws-qx-01'))).toBe(4)
    expect(await refusedWith(device('aws-qx-01', { password: password! }))).toBeUndefined()
  })

  test('list says which station or terminal each identity is', async () => {
    const { out } = await cli('list', '--json')
    const rows = JSON.parse(out.join('\n')) as {
      username: string
      role: string
      is: string
      disabledAt: number | null
    }[]
    expect(rows.find((r) => r.username === 'wl-lw-01')).toMatchObject({
      role: 'sensor',
      is: expect.stringContaining('water_level at'),
    })
    expect(rows.find((r) => r.username === 'T511823100201-01')).toMatchObject({ role: 'terminal' })
    expect(out.join('\n')).not.toContain('$scrypt$') // hashes stay in the store
  })

  test('add refuses an identity the registry does not know, with the reason', async () => {
    const r = await cli('add', 'wl-nowhere', '--role', 'sensor')
    expect(r.code).toBe(1)
    expect(r.out.join('\n')).toMatch(/wl-nowhere/)
  })

  test.runIf(hasMosquitto)(
    'a Mosquitto password file is imported and its passwords work as they are',
    async () => {
      const file = join(dir, 'site.passwd')
      writeFileSync(file, '')
      await run('/usr/bin/mosquitto_passwd', ['-b', file, 'rg-yq-01', 'migrated-secret-0001'])
      const imported = await cli('import', file, '--role', 'sensor')
      expect(imported).toMatchObject({
        code: 0,
        out: [expect.stringMatching(/imported 1 identities as sensor/)],
      })
      expect(
        await refusedWith({ clientId: 'rg-yq-01', username: 'rg-yq-01', password: 'migrated-secret-0001' }),
      ).toBeUndefined()
      expect(
        await refusedWith({ clientId: 'rg-yq-01', username: 'rg-yq-01', password: 'migrated-secret-0002' }),
      ).toBe(4)
    },
  )
})

describe('safe defaults', () => {
  test('a configuration allowing anonymous devices refuses to start, naming the setting, unless accepted', async () => {
    const bad = makeConfigDir(undefined, 'security: { devices: { allowAnonymous: true } }')
    const { logger } = captureLogger()
    await expect(startGateway({ configPath: bad.config, logger })).rejects.toThrow(
      /security\.devices\.allowAnonymous/,
    )
    // Nothing is bound: the check comes before any listener opens.
    const open = makeConfigDir()
    writeFileSync(
      open.config,
      readFileSync(open.config, 'utf8').replace(
        /^mqtt: .*$/m,
        'mqtt: { host: 0.0.0.0, port: 0, wsPort: null }',
      ),
    )
    await expect(startGateway({ configPath: open.config, logger })).rejects.toThrow(
      /plainListenerOnNetwork[\s\S]*mqtt\.host 0\.0\.0\.0/,
    )
    const accepted = makeConfigDir(
      undefined,
      'security: { devices: { allowAnonymous: true }, acceptInsecure: [security.devices.allowAnonymous] }',
    )
    const c = captureLogger()
    const g = await startGateway({ configPath: accepted.config, logger: c.logger })
    try {
      expect(c.lines.find((l) => l.msg === 'running with an insecure setting')).toMatchObject({
        setting: 'security.devices.allowAnonymous',
      })
      // Anonymous clients connect, with the ACL file's anonymous entries only (none here).
      const anon = await connect(g.urls.mqtt, { clientId: 'anon-1' })
      expect(await subackCodes(anon, ['warnings/#'])).toEqual([128])
      await anon.endAsync()
    } finally {
      await g.stop()
    }
  })
})

const warningsTopic = () => 'warnings/511823100201/flood'
