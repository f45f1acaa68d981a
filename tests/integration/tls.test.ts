/**
 * TLS listeners with a CA generated here by openssl: MQTTS, WSS and HTTPS with the plain listeners
 * off; mutual TLS where the certificate's CN names the device; a certificate from another CA and a
 * client that does not trust the gateway refused; a renewed certificate served after reload.
 */
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { request } from 'node:https'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { sensorDataTopic } from '../../gateway/src/contracts/topics.js'
import { device, testPassword } from '../helpers/devices.js'
import { makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { requireBinary } from '../helpers/requires.js'

const run = promisify(execFile)
const hasOpenssl = requireBinary('/usr/bin/openssl', 'openssl')
const hasClients = requireBinary('/usr/bin/mosquitto_pub', 'mosquitto-clients')

let dir: string
let gw: RunningGateway
const file = (n: string) => join(dir, n)
const pem = (n: string) => readFileSync(file(n))

async function openssl(...args: string[]) {
  await run('/usr/bin/openssl', args, { cwd: dir })
}
/** A self-signed CA: `${ca}.crt` and `${ca}.key`. */
async function makeCa(ca: string) {
  await openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'],
    ...['-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-subj', `/CN=${ca}`],
  )
}
/** A certificate signed by `ca` for `cn` (with a subjectAltName for a server). */
async function makeCert(ca: string, name: string, cn: string, san?: string) {
  await openssl(
    ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`],
  )
  if (san) writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\n`)
  await openssl(
    ...['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial'],
    ...['-days', '2', '-out', `${name}.crt`, ...(san ? ['-extfile', `${name}.ext`] : [])],
  )
}

beforeAll(async () => {
  if (!hasOpenssl) return
  const tls = '{ cert: server.crt, key: server.key, ca: ca.crt, requestCert: true, port: 0, wsPort: 0 }'
  const made = makeConfigDir(undefined, '', {
    mqtt: `{ host: 127.0.0.1, port: null, wsPort: null, tls: ${tls} }`,
    http: '{ host: 127.0.0.1, port: 0, tls: { cert: server.crt, key: server.key } }',
  })
  dir = made.dir
  await makeCa('ca')
  await makeCa('rogue')
  await makeCert('ca', 'server', 'shaobing-test', 'IP:127.0.0.1,DNS:localhost')
  await makeCert('ca', 'wl', 'wl-lw-01')
  await makeCert('rogue', 'forged', 'wl-lw-01')
  ;({ gw } = await startTestGateway(made.config))
})
afterAll(async () => gw?.stop())

const secure = (extra: mqtt.IClientOptions = {}): mqtt.IClientOptions => ({
  ca: pem('ca.crt'),
  reconnectPeriod: 0,
  connectTimeout: 5000,
  ...extra,
})

/** The CONNACK code or handshake error an attempt ends with; 'connected' when it is let in. */
async function outcome(url: string, opts: mqtt.IClientOptions): Promise<string | number> {
  try {
    const c = await mqtt.connectAsync(url, opts)
    await c.endAsync()
    return 'connected'
  } catch (e) {
    const err = e as { code?: number | string; message: string }
    return typeof err.code === 'number' ? err.code : err.message
  }
}

describe.runIf(hasOpenssl)('TLS listeners', () => {
  test('only MQTTS, WSS and HTTPS listen; a device logs in by password over each MQTT listener', async () => {
    expect(gw.ports.mqtt).toBeNull()
    expect(gw.ports.ws).toBeNull()
    expect(gw.urls.mqtt).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/)
    expect(gw.urls.http).toMatch(/^https:/)
    expect(await outcome(gw.urls.mqtts!, secure(device('wl-lw-01')))).toBe('connected')
    expect(await outcome(gw.urls.wss!, secure(device('wl-lw-01')))).toBe('connected')
    const c = await mqtt.connectAsync(gw.urls.mqtts!, secure(device('wl-lw-01')))
    await c.publishAsync(
      sensorDataTopic('water_level', 'wl-lw-01'),
      JSON.stringify({ ts: 1, values: { stage_m: 30 } }),
      {
        qos: 1,
      },
    )
    await c.endAsync()
  })

  test('mutual TLS: a certificate from the CA whose CN is the device logs it in without a password', async () => {
    const opts = secure({ clientId: 'wl-lw-01', cert: pem('wl.crt'), key: pem('wl.key') })
    expect(await outcome(gw.urls.mqtts!, opts)).toBe('connected')
    const metrics = (await fetchHttps(gw.urls.http + '/metrics')).toString()
    expect(metrics).toMatch(/shaobing_mqtt_auth_total\{result="accepted",reason="certificate"\} 1/)
  })

  test('a certificate from another CA does not log in (CONNACK 5); a client that does not trust the gateway fails the handshake', async () => {
    const forged = secure({ clientId: 'wl-lw-01', cert: pem('forged.crt'), key: pem('forged.key') })
    expect(await outcome(gw.urls.mqtts!, forged)).toBe(5)
    const untrusting = { ...device('wl-lw-01'), reconnectPeriod: 0, connectTimeout: 5000 }
    expect(String(await outcome(gw.urls.mqtts!, untrusting))).toMatch(
      /self[- ]signed|unable to verify|certificate/i,
    )
  })

  test.runIf(hasClients)('mosquitto_pub over MQTTS, by certificate and by password', async () => {
    const base = ['-h', '127.0.0.1', '-p', String(gw.ports.mqtts), '--cafile', file('ca.crt'), '-q', '1']
    const topic = [
      '-t',
      sensorDataTopic('water_level', 'wl-lw-01'),
      '-m',
      JSON.stringify({ ts: 2, values: { stage_m: 30 } }),
    ]
    await run('/usr/bin/mosquitto_pub', [
      ...base,
      '-i',
      'wl-lw-01',
      '--cert',
      file('wl.crt'),
      '--key',
      file('wl.key'),
      ...topic,
    ])
    await run('/usr/bin/mosquitto_pub', [
      ...base,
      '-i',
      'wl-lw-01',
      '-u',
      'wl-lw-01',
      '-P',
      testPassword('wl-lw-01'),
      ...topic,
    ])
  })

  test('HTTPS serves the API; a renewed certificate is served after reload without a restart', async () => {
    expect(JSON.parse((await fetchHttps(gw.urls.http + '/health')).toString())).toHaveProperty('status')
    const before = await serverSerial(gw.ports.mqtts!)
    expect(await serverSerial(gw.ports.http)).toBe(before)
    await makeCert('ca', 'server', 'shaobing-test-renewed', 'IP:127.0.0.1,DNS:localhost')
    expect(gw.reload().ok).toBe(true)
    const after = await serverSerial(gw.ports.mqtts!)
    expect(after).not.toBe(before)
    expect(await serverSerial(gw.ports.http)).toBe(after)
    expect(await outcome(gw.urls.mqtts!, secure(device('wl-lw-01')))).toBe('connected')
  })
})

function fetchHttps(url: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    request(url, { ca: pem('ca.crt') }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('end', () => resolve(Buffer.concat(parts)))
    })
      .on('error', reject)
      .end()
  })
}

/** The serial number of the certificate a listener presents now. */
function serverSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca: pem('ca.crt') }, () => {
      const serial = s.getPeerCertificate().serialNumber
      s.end()
      resolve(serial)
    })
    s.on('error', reject)
  })
}
