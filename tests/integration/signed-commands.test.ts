/**
 * Signed loudspeaker commands end to end: the real gateway's commands verify at simulated
 * terminals provisioned with its public key; after a key rotation a terminal trusting the new key
 * plays on while one trusting only the old refuses. On a broker a prankster can publish to (bare
 * aedes on port 0; the gateway's own broker lets nobody but itself publish commands), forged,
 * altered, replayed, expired and unsigned commands are refused, and a genuine one after them plays.
 */
import { execFile } from 'node:child_process'
import { generateKeyPairSync, createPrivateKey } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Aedes } from 'aedes'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import type { TerminalCommand } from '../../gateway/src/contracts/payloads.js'
import { terminalCmdTopic } from '../../gateway/src/contracts/topics.js'
import { CommandSigner } from '../../gateway/src/contracts/command-signing.js'
import { SIGNING_KEY_FILE, SIGNING_PUBLIC_FILE } from '../../gateway/src/security/command-signing.js'
import { startTerminals, type TerminalFleet } from '../../sensors-sim/src/terminals.js'
import { simCredentials } from '../helpers/devices.js'
import { connect, issueMarker, makeConfigDir, startTestGateway } from '../helpers/gateway.js'
import { requireBinary } from '../helpers/requires.js'
import { until } from '../helpers/wait.js'

const run = promisify(execFile)
const hasClients = requireBinary('/usr/bin/mosquitto_pub', 'mosquitto-clients')
const village = (v: string) => [1, 2, 3, 4].map((n) => `T5118231002${v}-0${n}`)
const A = village('01')
const B = village('02')

let gw: RunningGateway
let dataDir: string
const fleets: TerminalFleet[] = []
beforeAll(async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  dataDir = gw.loaded.config.dataDir
})
afterAll(async () => {
  await Promise.all(fleets.map((f) => f.close()))
  await gw?.stop()
})

const playedOf = (f: TerminalFleet, warningId: string) =>
  f.played().filter((r) => r.warningId === warningId).length

describe('the gateway signs, its terminals verify', () => {
  test('commands verify at terminals holding the public key; after rotation only the trusted key plays', async () => {
    const oldKey = readFileSync(join(dataDir, SIGNING_PUBLIC_FILE), 'utf8')
    const oldOnly = await startTerminals({
      url: gw.urls.mqtt,
      terminals: A.map((id) => ({ id })),
      credentials: simCredentials(A),
      trustedKeys: [oldKey],
    })
    fleets.push(oldOnly)
    const first = await issueMarker(gw.urls.http, '511823100201')
    await until(
      () => playedOf(oldOnly, first),
      (n) => n === 4,
      'four plays of a signed command',
    )
    expect(oldOnly.refused()).toEqual([])

    // Rotation: a new key in the data directory, then reload.
    const next = generateKeyPairSync('ed25519')
    writeFileSync(join(dataDir, SIGNING_KEY_FILE), next.privateKey.export({ format: 'pem', type: 'pkcs8' }))
    expect(gw.reload().ok).toBe(true)
    const newKey = readFileSync(join(dataDir, SIGNING_PUBLIC_FILE), 'utf8')
    expect(newKey).not.toBe(oldKey)
    const both = await startTerminals({
      url: gw.urls.mqtt,
      terminals: B.map((id) => ({ id })),
      credentials: simCredentials(B),
      trustedKeys: [oldKey, newKey],
    })
    fleets.push(both)
    const second = await issueMarker(gw.urls.http, '511823100201')
    const third = await issueMarker(gw.urls.http, '511823100202')
    await until(
      () => playedOf(both, third),
      (n) => n === 4,
      'four plays under the new key',
    )
    await until(
      () => oldOnly.refused().filter((r) => r.warningId === second).length,
      (n) => n === 4,
      'four refusals at terminals that trust only the old key',
    )
    expect(new Set(oldOnly.refused().map((r) => r.reason))).toEqual(new Set(['unknown_kid']))
    expect(playedOf(oldOnly, second)).toBe(0)
  })
})

describe('a prankster on the same broker', () => {
  let broker: Aedes
  let server: Server
  let url: string
  beforeAll(async () => {
    broker = await Aedes.createBroker()
    server = createServer(broker.handle)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((r) => broker.close(() => r()))
    await new Promise<void>((r) => server.close(() => r()))
  })

  test('forged, altered, replayed, expired and unsigned commands are refused; a genuine one plays', async () => {
    const T = 'T-PRANK-01'
    const gatewayKey = createPrivateKey(readFileSync(join(dataDir, SIGNING_KEY_FILE)))
    const genuine = new CommandSigner(gatewayKey)
    const fleet = await startTerminals({
      url,
      terminals: [{ id: T }],
      trustedKeys: [genuine.publicKeyPem],
    })
    fleets.push(fleet)
    const now = Date.now()
    const cmd = (warningId: string, o: Partial<TerminalCommand> = {}): TerminalCommand =>
      ({
        action: 'play',
        warningId,
        version: 1,
        kind: 'issue',
        level: 'red',
        hazard: 'flood',
        text: '【假警报】立即转移',
        language: 'zh-CN',
        priority: 140,
        repeat: 1,
        round: 1,
        expiresAt: now + 3_600_000,
        sentAt: now,
        ...o,
      }) as TerminalCommand
    const prankster = await connect(url, { clientId: 'prankster' })
    const send = (c: TerminalCommand) =>
      prankster.publishAsync(terminalCmdTopic(T), JSON.stringify(c), { qos: 1 })

    await send(cmd('W-UNSIGNED'))
    const stranger = new CommandSigner(generateKeyPairSync('ed25519').privateKey)
    await send(stranger.sign(T, cmd('W-FORGED')))
    // The gateway's key id with the prankster's signature.
    const forged = stranger.sign(T, cmd('W-FORGED-KID'))
    await send({ ...forged, sig: { ...forged.sig!, kid: genuine.kid } })
    // A genuine command captured off the air, its text changed; then sent to another terminal's topic.
    const captured = genuine.sign(T, cmd('W-CAPTURED'))
    await send({ ...captured, text: '【假警报】水库溃坝' } as TerminalCommand)
    await send(genuine.sign('T-OTHER', cmd('W-OTHER-TERMINAL')))
    await send(captured) // genuine: plays
    await send(captured) // replayed
    await send(genuine.sign(T, cmd('W-EXPIRED', { sentAt: now - 7_200_000, expiresAt: now - 3_600_000 })))
    await send(genuine.sign(T, cmd('W-FUTURE', { sentAt: now + 3_600_000, expiresAt: now + 7_200_000 })))
    if (hasClients)
      await run('/usr/bin/mosquitto_pub', [
        ...['-h', '127.0.0.1', '-p', url.split(':').pop()!, '-q', '1', '-t', terminalCmdTopic(T)],
        ...['-m', JSON.stringify(stranger.sign(T, cmd('W-MOSQUITTO-PUB')))],
      ])
    await send(genuine.sign(T, cmd('W-MARKER')))
    await until(
      () => playedOf(fleet, 'W-MARKER'),
      (n) => n === 1,
      'the genuine marker played',
    )
    expect(fleet.refused().map((r) => [r.warningId, r.reason])).toEqual([
      ['W-UNSIGNED', 'unsigned'],
      ['W-FORGED', 'unknown_kid'],
      ['W-FORGED-KID', 'bad_signature'],
      ['W-CAPTURED', 'bad_signature'],
      ['W-OTHER-TERMINAL', 'bad_signature'],
      ['W-CAPTURED', 'replayed'],
      ['W-EXPIRED', 'expired'],
      ['W-FUTURE', 'future'],
      ...(hasClients ? [['W-MOSQUITTO-PUB', 'unknown_kid']] : []),
    ])
    expect(new Set(fleet.played().map((r) => r.warningId))).toEqual(new Set(['W-CAPTURED', 'W-MARKER']))
    await prankster.endAsync()
  })
})
