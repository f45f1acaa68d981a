/**
 * Password hashes for devices and operators. New hashes are scrypt (node:crypto) in the PHC string
 * format `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>` (salt and hash in unpadded base64). For
 * sites migrating from Mosquitto, its `mosquitto_passwd` hashes verify as they are: `$7$` is
 * PBKDF2-SHA512 (`$7$<iterations>$<salt>$<hash>`, standard base64) and `$6$` a salted SHA-512
 * (`$6$<salt>$<hash>`), the format of Mosquitto 1.x. Verification is constant-time.
 */
import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

export interface ScryptCost {
  /** log2 of scrypt's N (CPU and memory cost). */
  readonly ln: number
  readonly r: number
  readonly p: number
}

/**
 * People choose passwords: 2^15 × 8 × 1 (32 MiB, ~80 ms here) is OWASP's scrypt recommendation
 * for them, and a device password a person chose (`--password-stdin`) gets 2^10 (~3 ms). Secrets
 * the gateway generates have 256 bits of entropy, which no hash cost adds to (a cost only slows the
 * guessing of guessable secrets): 2^6 (~0.3 ms) keeps a storm of 10,000 devices reconnecting to a
 * gateway that lost power to about a second of hashing, and a stolen hash still gives nothing away.
 */
export const COST = {
  person: { ln: 15, r: 8, p: 1 },
  device: { ln: 10, r: 8, p: 1 },
  generated: { ln: 6, r: 8, p: 1 },
} as const satisfies Record<string, ScryptCost>

const KEY_LEN = 32
const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '')

const scryptAsync = (pw: string, salt: Buffer, len: number, c: ScryptCost) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(
      pw,
      salt,
      len,
      { N: 2 ** c.ln, r: c.r, p: c.p, maxmem: 256 * 2 ** c.ln * c.r + 2 ** 20 },
      (e, k) => (e ? reject(e) : resolve(k)),
    ),
  )

export async function hashPassword(password: string, cost: ScryptCost = COST.person): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, KEY_LEN, cost)
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(key)}`
}

/** A random secret for a device or token: 32 bytes, base64url (43 characters). */
export const generateSecret = (): string => randomBytes(32).toString('base64url')

export type HashFormat = 'scrypt' | 'mosquitto-pbkdf2-sha512' | 'mosquitto-sha512'

/** The format of a stored hash, or undefined when it is none this module verifies. */
export function hashFormat(stored: string): HashFormat | undefined {
  if (/^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.test(stored)) return 'scrypt'
  if (/^\$7\$\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/.test(stored)) return 'mosquitto-pbkdf2-sha512'
  if (/^\$6\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/.test(stored)) return 'mosquitto-sha512'
  return undefined
}

const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b)

/** Whether `password` matches `stored`; false for a malformed or unknown hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$')
  switch (hashFormat(stored)) {
    case 'scrypt': {
      const [, , params, salt, hash] = parts as [string, string, string, string, string]
      const [ln, r, p] = params.split(',').map((kv) => Number(kv.split('=')[1])) as [number, number, number]
      if (ln < 1 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false
      const expected = Buffer.from(hash, 'base64')
      const key = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, { ln, r, p })
      return same(key, expected)
    }
    case 'mosquitto-pbkdf2-sha512': {
      // mosquitto_passwd: PBKDF2-HMAC-SHA512 over the password with the decoded salt, 64-byte key.
      const [, , iterations, salt, hash] = parts as [string, string, string, string, string]
      const n = Number(iterations)
      if (!Number.isInteger(n) || n < 1 || n > 10_000_000) return false
      const expected = Buffer.from(hash, 'base64')
      const key = await new Promise<Buffer>((resolve, reject) =>
        pbkdf2(password, Buffer.from(salt, 'base64'), n, expected.length, 'sha512', (e, k) =>
          e ? reject(e) : resolve(k),
        ),
      )
      return same(key, expected)
    }
    case 'mosquitto-sha512': {
      // Mosquitto 1.x: SHA-512 over the password followed by the decoded salt.
      const [, , salt, hash] = parts as [string, string, string, string]
      const key = createHash('sha512').update(password, 'utf8').update(Buffer.from(salt, 'base64')).digest()
      return same(key, Buffer.from(hash, 'base64'))
    }
    default:
      return false
  }
}
