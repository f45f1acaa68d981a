/**
 * Test devices log in as real ones do: every registry sensor and terminal gets an identity whose
 * username is its id (the same as the client id the tests use) and whose password is derived from
 * it, so a test names a device and knows its password. Hashes use a cheap scrypt cost (test only:
 * the stored hash carries its parameters, and the gateway verifies whatever it stores), computed
 * once per username per test process.
 *
 * Beside them: `test-monitor`, an integration allowed by the test ACL file to read terminal
 * commands (the harness watches what loudspeakers are told), and `test-concentrator`, a logger
 * covering every station, for simulators sharing connections, and `test-bridge` (see TEST_ACL).
 */
import { readFileSync } from 'node:fs'
import type { IClientOptions } from 'mqtt'
import { parse } from 'yaml'
import { loadConfig } from '../../gateway/src/config/load.js'
import { registryIdentities, type NewDevice } from '../../gateway/src/security/enroll.js'
import { hashPassword, type ScryptCost } from '../../gateway/src/security/passwords.js'
import { openDb } from '../../gateway/src/store/db.js'
import { DeviceStore } from '../../gateway/src/store/devices.js'
import type { SimCredentials } from '../../sensors-sim/src/credentials.js'

export const MONITOR = 'test-monitor'
export const CONCENTRATOR = 'test-concentrator'
export const BRIDGE = 'test-bridge'
/**
 * The ACL file every test gateway gets: the monitor may read what terminals are sent (and use the
 * harness's own test/# topics, last wills among them); the bridge
 * (a legacy data concentrator's integration) may write any sensor topic, so the ingest's own
 * refusals of topics (unknown sensor, wrong kind, malformed) can be reached.
 */
export const TEST_ACL = [
  '# test harness',
  `user ${MONITOR}`,
  'topic read terminals/#',
  'topic readwrite test/#',
  `user ${BRIDGE}`,
  'topic write sensors/#',
  '',
].join('\n')

const TEST_COST: ScryptCost = { ln: 4, r: 8, p: 1 }
export const testPassword = (username: string): string => `test-secret-${username}`

const hashes = new Map<string, Promise<string>>()
const testHash = (username: string) => {
  let h = hashes.get(username)
  if (!h) hashes.set(username, (h = hashPassword(testPassword(username), TEST_COST)))
  return h
}

/** Enrolls the test identities of the registry the configuration names (before the gateway starts). */
export async function enrollTestDevices(configPath: string): Promise<void> {
  const loaded = loadConfig(configPath)
  if (!loaded.ok) return // the gateway itself reports the refusal the test expects
  const { registry, config } = loaded.value
  const ids = [
    ...registryIdentities(registry),
    { username: MONITOR, role: 'integration' as const, subjects: ['*'] },
    { username: CONCENTRATOR, role: 'station' as const, subjects: registry.stations.map((s) => s.id) },
    { username: BRIDGE, role: 'integration' as const, subjects: ['*'] },
  ]
  const rows: NewDevice[] = await Promise.all(
    ids.map(async (d) => ({ ...d, hash: await testHash(d.username), demo: false, note: 'test' })),
  )
  const db = openDb({ dataDir: config.dataDir, synchronous: 'normal' })
  try {
    new DeviceStore(db).upsertAll(rows, Date.now())
  } finally {
    db.close()
  }
}

/** Connect options for a test device: client id and username its id, its test password. */
export function device(id: string, extra: IClientOptions = {}): IClientOptions {
  return { clientId: id, username: id, password: testPassword(id), ...extra }
}

/** Connect options for the monitor (a distinct client id per connection). */
export function monitor(extra: IClientOptions = {}): IClientOptions {
  return {
    clientId: `${MONITOR}-${Math.random().toString(36).slice(2, 10)}`,
    username: MONITOR,
    password: testPassword(MONITOR),
    ...extra,
  }
}

/** Connect options for the bridge (TEST_ACL lets it write all of sensors/#). */
export function bridgeLogin(extra: IClientOptions = {}): IClientOptions {
  return { clientId: BRIDGE, username: BRIDGE, password: testPassword(BRIDGE), ...extra }
}

/** The simulator's credentials for these devices (sensors or terminals by id; shared links as the concentrator). */
export function simCredentials(ids: Iterable<string>): SimCredentials {
  const devices: Record<string, string> = { [CONCENTRATOR]: testPassword(CONCENTRATOR) }
  for (const id of ids) devices[id] = testPassword(id)
  return { devices, concentrator: CONCENTRATOR }
}

/** The simulator's credentials for every sensor and terminal of a registry file (and the concentrator). */
export function registryCredentials(registryFile: string): SimCredentials {
  const doc = parse(readFileSync(registryFile, 'utf8')) as {
    stations?: { sensors?: { id: string }[] }[]
    terminals?: { id: string }[]
  }
  return simCredentials([
    ...(doc.stations ?? []).flatMap((s) => (s.sensors ?? []).map((x) => x.id)),
    ...(doc.terminals ?? []).map((t) => t.id),
  ])
}
