/**
 * The gateway's command-signing key (gateway/src/contracts/command-signing.ts signs with it): made
 * on first start in the data directory, re-read on reload for a rotation.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The gateway's key and the public half terminals are provisioned with, in the data directory. */
export const SIGNING_KEY_FILE = 'command-signing.key'
export const SIGNING_PUBLIC_FILE = 'command-signing.pub'

/**
 * The gateway's signing key from the data directory, made on first start (mode 0600), with its
 * public half beside it for provisioning terminals.
 */
export function loadOrCreateSigningKey(dataDir: string): { key: KeyObject; created: boolean } {
  const file = join(dataDir, SIGNING_KEY_FILE)
  let created = false
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ed25519')
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
    chmodSync(file, 0o600)
    created = true
  }
  const key = createPrivateKey(readFileSync(file))
  writeFileSync(
    join(dataDir, SIGNING_PUBLIC_FILE),
    createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString(),
  )
  return { key, created }
}
