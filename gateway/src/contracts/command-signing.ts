/**
 * Signed loudspeaker commands (Ed25519, node:crypto): the contract the gateway and every terminal
 * share. The gateway's key files are in security/command-signing.ts. Emergency-broadcast terminals sit on public
 * 4G networks: a terminal must tell the gateway's commands from a prankster's, and a command copied
 * to another terminal, altered, replayed or kept past its expiry must not play.
 *
 * What is signed (docs/command-signing.md): the bytes of `signedBytes`, a fixed-order sequence of
 * length-prefixed UTF-8 fields, beginning with the domain `shaobing-cmd-v1` and the terminal id
 * of the topic, then every field the terminal acts on, then the key id and the nonce. Numbers are
 * written in decimal. Nothing depends on JSON key order or whitespace.
 */
import { createHash, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto'
import type { TerminalCommand } from './payloads.js'

export const SIGNING_DOMAIN = 'shaobing-cmd-v1'

type Unsigned =
  | Omit<Extract<TerminalCommand, { action: 'play' }>, 'sig'>
  | Omit<Extract<TerminalCommand, { action: 'stop' }>, 'sig'>
type Sig = NonNullable<TerminalCommand['sig']>

/** The fields a command's signature covers, in their fixed order. */
function fields(terminalId: string, c: Unsigned, kid: string, nonce: string): string[] {
  const common = [SIGNING_DOMAIN, terminalId, c.action, c.warningId, String(c.version)]
  const body =
    c.action === 'play'
      ? [
          c.kind,
          c.level,
          c.hazard,
          c.text,
          c.language,
          String(c.priority),
          String(c.repeat),
          String(c.round),
          String(c.expiresAt),
          String(c.sentAt),
        ]
      : [String(c.sentAt)]
  return [...common, ...body, kid, nonce]
}

/** The exact bytes signed: each field as a 4-byte big-endian length, then its UTF-8. */
export function signedBytes(terminalId: string, c: Unsigned, kid: string, nonce: string): Buffer {
  const parts: Buffer[] = []
  for (const f of fields(terminalId, c, kid, nonce)) {
    const b = Buffer.from(f, 'utf8')
    const len = Buffer.alloc(4)
    len.writeUInt32BE(b.length)
    parts.push(len, b)
  }
  return Buffer.concat(parts)
}

/** A key id: the first 16 hex digits of the SHA-256 of the raw 32-byte public key. */
export function keyId(publicKey: KeyObject): string {
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
  return createHash('sha256').update(raw).digest('hex').slice(0, 16)
}

const unsigned = (c: TerminalCommand): Unsigned => {
  const { sig: _sig, ...rest } = c
  return rest as Unsigned
}

export class CommandSigner {
  private key!: KeyObject
  private kidValue!: string

  constructor(privateKey: KeyObject) {
    this.use(privateKey)
  }

  /** Rotation: commands are signed with this key from now on. */
  use(privateKey: KeyObject): void {
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the command-signing key must be Ed25519')
    this.key = privateKey
    this.kidValue = keyId(createPublicKey(privateKey))
  }

  get kid(): string {
    return this.kidValue
  }

  get publicKeyPem(): string {
    return createPublicKey(this.key).export({ format: 'pem', type: 'spki' }).toString()
  }

  /** The command as sent to `terminalId`, with a fresh nonce and its signature. */
  sign(
    terminalId: string,
    c: TerminalCommand,
    nonce = randomBytes(16).toString('base64url'),
  ): TerminalCommand {
    const u = unsigned(c)
    const value = sign(null, signedBytes(terminalId, u, this.kidValue, nonce), this.key).toString('base64')
    const sig: Sig = { alg: 'Ed25519', kid: this.kidValue, nonce, value }
    return { ...u, sig } as TerminalCommand
  }
}

export type VerifyRefusal = 'unsigned' | 'unknown_kid' | 'bad_signature' | 'replayed' | 'expired' | 'future'

export interface VerifierOptions {
  readonly now?: () => number
  /** How far a command's sentAt may be ahead of the terminal's clock. */
  readonly skewMs?: number
  /** Nonces remembered; the oldest are forgotten first. */
  readonly maxNonces?: number
}

/**
 * A terminal's check of each command: signed by a trusted key (several during a rotation), for this
 * terminal, unaltered, not seen before, not expired and not sent from the future.
 */
export class CommandVerifier {
  private readonly keys = new Map<string, KeyObject>()
  private readonly nonces = new Set<string>()
  private readonly now: () => number
  private readonly skewMs: number
  private readonly maxNonces: number

  constructor(trustedPublicKeys: readonly (string | KeyObject)[], o: VerifierOptions = {}) {
    for (const k of trustedPublicKeys) {
      const key = typeof k === 'string' ? createPublicKey(k) : k
      this.keys.set(keyId(key), key)
    }
    this.now = o.now ?? Date.now
    this.skewMs = o.skewMs ?? 5 * 60_000
    this.maxNonces = o.maxNonces ?? 10_000
  }

  verify(terminalId: string, c: TerminalCommand): { ok: true } | { ok: false; reason: VerifyRefusal } {
    const sig = c.sig
    if (!sig) return { ok: false, reason: 'unsigned' }
    const key = this.keys.get(sig.kid)
    if (!key) return { ok: false, reason: 'unknown_kid' }
    const good = verify(
      null,
      signedBytes(terminalId, unsigned(c), sig.kid, sig.nonce),
      key,
      Buffer.from(sig.value, 'base64'),
    )
    if (!good) return { ok: false, reason: 'bad_signature' }
    const t = this.now()
    if (c.sentAt > t + this.skewMs) return { ok: false, reason: 'future' }
    if (c.action === 'play' && t >= c.expiresAt) return { ok: false, reason: 'expired' }
    if (this.nonces.has(sig.nonce)) return { ok: false, reason: 'replayed' }
    this.nonces.add(sig.nonce)
    if (this.nonces.size > this.maxNonces) this.nonces.delete(this.nonces.values().next().value!)
    return { ok: true }
  }
}
