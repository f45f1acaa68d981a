/** Ed25519 command signatures (gateway/src/security/command-signing.ts), against a controlled clock. */
import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import type { TerminalCommand } from '../../../gateway/src/contracts/payloads.js'
import {
  CommandSigner,
  CommandVerifier,
  signedBytes,
  SIGNING_DOMAIN,
} from '../../../gateway/src/contracts/command-signing.js'

const T = Date.UTC(2026, 6, 15, 8)
const play: TerminalCommand = {
  action: 'play',
  warningId: 'W-1',
  version: 2,
  kind: 'issue',
  level: 'red',
  hazard: 'flood',
  text: '【山洪红色预警】柳湾村立即转移',
  language: 'zh-CN',
  priority: 140,
  repeat: 3,
  round: 1,
  expiresAt: T + 3_600_000,
  sentAt: T,
}
const keyPair = () => generateKeyPairSync('ed25519')
const pem = (k: ReturnType<typeof keyPair>) => k.publicKey.export({ format: 'pem', type: 'spki' }).toString()

describe('signing and verifying', () => {
  const k = keyPair()
  const signer = new CommandSigner(k.privateKey)
  const verifier = () => new CommandVerifier([pem(k)], { now: () => T + 1000 })

  test('a signed command verifies once for its own terminal; a replay is refused', () => {
    const v = verifier()
    const cmd = signer.sign('T-1', play)
    expect(cmd.sig).toMatchObject({ alg: 'Ed25519', kid: signer.kid })
    expect(v.verify('T-1', cmd)).toEqual({ ok: true })
    expect(v.verify('T-1', cmd)).toEqual({ ok: false, reason: 'replayed' })
  })

  test('copied to another terminal, or any field altered, the signature fails', () => {
    const cmd = signer.sign('T-1', play)
    expect(verifier().verify('T-2', cmd)).toEqual({ ok: false, reason: 'bad_signature' })
    const alterations: Partial<Record<keyof typeof play, unknown>> = {
      warningId: 'W-2',
      version: 3,
      kind: 'lift',
      level: 'blue',
      hazard: 'landslide',
      text: '解除',
      language: 'bo',
      priority: 1,
      repeat: 9,
      round: 2,
      expiresAt: T + 7_200_000,
      sentAt: T + 1,
    }
    for (const [field, value] of Object.entries(alterations))
      expect(verifier().verify('T-1', { ...cmd, [field]: value } as TerminalCommand), field).toEqual({
        ok: false,
        reason: 'bad_signature',
      })
    expect(verifier().verify('T-1', { ...cmd, sig: { ...cmd.sig!, nonce: 'A'.repeat(22) } })).toEqual({
      ok: false,
      reason: 'bad_signature',
    })
  })

  test('unsigned, unknown key, expired and future-dated commands are refused', () => {
    expect(verifier().verify('T-1', play)).toEqual({ ok: false, reason: 'unsigned' })
    const stranger = new CommandSigner(keyPair().privateKey)
    expect(verifier().verify('T-1', stranger.sign('T-1', play))).toEqual({ ok: false, reason: 'unknown_kid' })
    const late = new CommandVerifier([pem(k)], { now: () => play.expiresAt })
    expect(late.verify('T-1', signer.sign('T-1', play))).toEqual({ ok: false, reason: 'expired' })
    const future = signer.sign('T-1', { ...play, sentAt: T + 10 * 60_000, expiresAt: T + 20 * 60_000 })
    expect(verifier().verify('T-1', future)).toEqual({ ok: false, reason: 'future' })
  })

  test('stop commands are signed too', () => {
    const stop: TerminalCommand = { action: 'stop', warningId: 'W-1', version: 3, sentAt: T }
    const cmd = signer.sign('T-1', stop)
    expect(verifier().verify('T-1', cmd)).toEqual({ ok: true })
    expect(verifier().verify('T-1', { ...cmd, version: 4 })).toEqual({ ok: false, reason: 'bad_signature' })
  })

  test('rotation: a terminal trusting both keys accepts either; one trusting only the old refuses the new', () => {
    const next = keyPair()
    const both = new CommandVerifier([pem(k), pem(next)], { now: () => T })
    const oldOnly = new CommandVerifier([pem(k)], { now: () => T })
    const rotated = new CommandSigner(k.privateKey)
    expect(both.verify('T-1', rotated.sign('T-1', play))).toEqual({ ok: true })
    rotated.use(next.privateKey)
    expect(both.verify('T-1', rotated.sign('T-1', play))).toEqual({ ok: true })
    expect(oldOnly.verify('T-1', rotated.sign('T-1', play))).toEqual({ ok: false, reason: 'unknown_kid' })
  })
})

describe('the documented test vector (docs/command-signing.md)', () => {
  // RFC 8032 test 1's secret key, as PKCS#8.
  const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')
  const key = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8',
  })
  test('bytes, key id and signature are exactly those in the specification', () => {
    const signer = new CommandSigner(key)
    const nonce = 'AAECAwQFBgcICQoLDA0ODw'
    const { sig: _none, ...u } = play as Extract<TerminalCommand, { action: 'play' }>
    const bytes = signedBytes('T511823100201-01', u, signer.kid, nonce)
    expect(bytes.subarray(4, 4 + SIGNING_DOMAIN.length).toString()).toBe(SIGNING_DOMAIN)
    const cmd = signer.sign('T511823100201-01', play, nonce)
    expect({ kid: signer.kid, sha256: sha256(bytes), value: cmd.sig!.value }).toEqual({
      kid: '21fe31dfa154a261',
      sha256: '8847030d472fdc9cb9238cf86ead0499367b3950ae0b8c8d3153e97d4dc8ad35',
      value: 'CZpvEOz+ECzC00Sc4hmWpYkl2SldWyxzDnsNsK254FVis2SCSngBd6X0qxbI0Ws49phpQNaTmLDH6MlEBMZoBw==',
    })
  })
})

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
