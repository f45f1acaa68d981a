/**
 * The demo's device identities: one per registry sensor and terminal plus a read-only integration,
 * each with a generated password, marked as demo identities (`shaobing start` refuses to run while
 * one is enabled). The passwords go to a 0600 file in the demo's data directory in the
 * simulator's `--credentials` format.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfigOrThrow, type ConfigOverrides } from '../config/load.js'
import { provision } from '../security/enroll.js'
import { COST, generateSecret, hashPassword } from '../security/passwords.js'
import { openDb } from '../store/db.js'
import { DeviceStore } from '../store/devices.js'

export const DEMO_INTEGRATION = 'demo-integration'

export async function enrollDemo(
  configPath: string,
  overrides: ConfigOverrides,
): Promise<{ file: string; count: number; integration: { username: string; password: string } }> {
  const { config, registry } = loadConfigOrThrow(configPath, overrides)
  const db = openDb({ dataDir: config.dataDir, synchronous: 'normal' })
  try {
    const devices = new DeviceStore(db)
    const now = Date.now()
    const secrets = await provision(devices, registry, { at: now, demo: true })
    const password = generateSecret()
    devices.upsertAll(
      [
        {
          username: DEMO_INTEGRATION,
          role: 'integration',
          subjects: ['*'],
          hash: await hashPassword(password, COST.generated),
          demo: true,
          note: 'demo: reads warnings, faults and readings',
        },
      ],
      now,
    )
    secrets[DEMO_INTEGRATION] = password
    const file = join(config.dataDir, 'demo-credentials.json')
    writeFileSync(file, JSON.stringify({ devices: secrets }, null, 2) + '\n', { mode: 0o600 })
    return { file, count: Object.keys(secrets).length, integration: { username: DEMO_INTEGRATION, password } }
  } finally {
    db.close()
  }
}
