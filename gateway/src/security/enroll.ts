/**
 * Adding, re-keying and importing device identities: what `shaobing device`, the demo and the test
 * harness share. Every identity is checked against the registry (a sensor identity names a
 * registered sensor, and so on) before it is written.
 */
import type { Registry } from '../registry/registry.js'
import { DEVICE_ROLES, type DeviceRole, type DeviceRow, type DeviceStore } from '../store/devices.js'
import { hashFormat, hashPassword, generateSecret, COST, type ScryptCost } from './passwords.js'

export type NewDevice = Omit<DeviceRow, 'createdAt' | 'updatedAt' | 'disabledAt'>

const USERNAME = /^[A-Za-z0-9_.:@-]{1,64}$/

/** Why this identity cannot be enrolled against the registry, or undefined. */
export function identityProblem(
  d: Pick<DeviceRow, 'username' | 'role' | 'subjects'>,
  registry: Registry,
): string | undefined {
  if (!USERNAME.test(d.username)) return `username ${d.username}: 1-64 of A-Z a-z 0-9 _ . : @ -`
  if (!DEVICE_ROLES.includes(d.role)) return `role ${String(d.role)}: one of ${DEVICE_ROLES.join(', ')}`
  if (d.subjects.length === 0) return `a ${d.role} identity names what it is (--subject)`
  const unknown = (what: string, ids: readonly string[]) =>
    ids.length > 0 ? `${what} not in the registry: ${ids.join(', ')}` : undefined
  switch (d.role) {
    case 'sensor':
      if (d.subjects.length !== 1) return 'a sensor identity is one sensor'
      return unknown(
        'sensor',
        d.subjects.filter((id) => !registry.sensor(id)),
      )
    case 'terminal':
      if (d.subjects.length !== 1) return 'a terminal identity is one terminal'
      return unknown(
        'terminal',
        d.subjects.filter((id) => !registry.terminal(id)),
      )
    case 'station':
      return unknown(
        'station',
        d.subjects.filter((id) => !registry.station(id)),
      )
    case 'integration':
      if (d.subjects.includes('*')) return d.subjects.length === 1 ? undefined : "'*' stands alone"
      return unknown(
        'station',
        d.subjects.filter((id) => !registry.station(id)),
      )
  }
}

/**
 * The identities a registry implies: one per sensor (username = sensor id) and one per terminal
 * (username = terminal id), as devices are usually provisioned, their client id the same.
 */
export function registryIdentities(registry: Registry): Pick<DeviceRow, 'username' | 'role' | 'subjects'>[] {
  return [
    ...registry.stations.flatMap((s) =>
      s.sensors.map((x) => ({ username: x.id, role: 'sensor' as DeviceRole, subjects: [x.id] })),
    ),
    ...registry.terminals.map((t) => ({ username: t.id, role: 'terminal' as DeviceRole, subjects: [t.id] })),
  ]
}

/**
 * Creates an identity for every registry device that has none, each with a generated secret;
 * returns the secrets by username (shown once: only their hashes are stored).
 */
export async function provision(
  devices: DeviceStore,
  registry: Registry,
  o: { at: number; demo?: boolean; cost?: ScryptCost },
): Promise<Record<string, string>> {
  const secrets: Record<string, string> = {}
  const wanted = registryIdentities(registry).filter((id) => !devices.get(id.username))
  // Hashed a few at a time: scrypt runs on libuv's thread pool, so this uses every core.
  const rows: NewDevice[] = []
  for (let i = 0; i < wanted.length; i += 16)
    rows.push(
      ...(await Promise.all(
        wanted.slice(i, i + 16).map(async (id) => {
          const secret = generateSecret()
          secrets[id.username] = secret
          const hash = await hashPassword(secret, o.cost ?? COST.generated)
          return { ...id, hash, demo: o.demo ?? false, note: null }
        }),
      )),
    )
  devices.upsertAll(rows, o.at)
  return secrets
}

/**
 * The entries of a Mosquitto password file (`username:hash` per line; `#` comments), each hash
 * in a format the gateway verifies; bad lines are reported with their number.
 */
export function parseMosquittoPasswd(text: string): {
  entries: { username: string; hash: string }[]
  problems: string[]
} {
  const entries: { username: string; hash: string }[] = []
  const problems: string[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const at = line.indexOf(':')
    const username = at > 0 ? line.slice(0, at) : ''
    const hash = at > 0 ? line.slice(at + 1) : ''
    if (!USERNAME.test(username)) return void problems.push(`line ${i + 1}: bad username`)
    if (!hashFormat(hash))
      return void problems.push(`line ${i + 1}: ${username}: not a $7$, $6$ or $scrypt$ hash`)
    entries.push({ username, hash })
  })
  return { entries, problems }
}
