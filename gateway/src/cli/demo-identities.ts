/**
 * The demo's device identities: one per registry sensor and terminal plus a read-only integration,
 * each with a generated password, marked as demo identities (`shaobing start` refuses to run while
 * one is enabled). The passwords go to a 0600 file in the demo's data directory in the
 * simulator's `--credentials` format.
 *
 * And its operator accounts, for trying the API and the console: `duty` (operator and approver,
 * the county duty officer), `approver` (the leader on duty, 带班领导: the second approver of a
 * two-person approval) and `admin`, each with a fresh generated password printed at start and kept
 * in the same file under `operators`; marked as demo accounts, refused by `shaobing start`.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfigOrThrow, type ConfigOverrides } from '../config/load.js'
import { provision } from '../security/enroll.js'
import type { OperatorRole } from '../contracts/api.js'
import { COST, generateSecret, hashPassword } from '../security/passwords.js'
import { AuditLog } from '../store/audit.js'
import { openDb, type Db } from '../store/db.js'
import { DeviceStore } from '../store/devices.js'
import { OperatorStore } from '../store/operators.js'

export const DEMO_INTEGRATION = 'demo-integration'

/** The demo's operator accounts. */
export const DEMO_OPERATORS: readonly { id: string; name: string; roles: OperatorRole[] }[] = [
  { id: 'duty', name: '县应急局值班员 (demo)', roles: ['operator', 'approver'] },
  { id: 'approver', name: '带班领导 (demo)', roles: ['approver'] },
  { id: 'admin', name: '系统管理员 (demo)', roles: ['admin'] },
]

/** Creates the demo accounts, or gives existing ones a fresh password; returns the passwords. */
async function enrollDemoOperators(db: Db, at: number): Promise<Record<string, string>> {
  const store = new OperatorStore(db)
  const audit = new AuditLog(db)
  const passwords: Record<string, string> = {}
  for (const o of DEMO_OPERATORS) {
    const password = generateSecret()
    const hash = await hashPassword(password, COST.person)
    if (store.add({ ...o, hash, demo: true }, at))
      audit.audit(at, 'cli', 'operator_added', `operator:${o.id}`, { roles: o.roles, demo: true, via: 'cli' })
    else {
      store.update(o.id, { name: o.name, roles: o.roles }, at)
      store.setHash(o.id, hash, at, true)
      audit.audit(at, 'cli', 'operator_password_set', `operator:${o.id}`, { demo: true, via: 'cli' })
    }
    passwords[o.id] = password
  }
  return passwords
}

export async function enrollDemo(
  configPath: string,
  overrides: ConfigOverrides,
): Promise<{
  file: string
  count: number
  integration: { username: string; password: string }
  operators: { id: string; roles: readonly OperatorRole[]; password: string }[]
}> {
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
    const operators = await enrollDemoOperators(db, now)
    const file = join(config.dataDir, 'demo-credentials.json')
    writeFileSync(file, JSON.stringify({ devices: secrets, operators }, null, 2) + '\n', { mode: 0o600 })
    return {
      file,
      count: Object.keys(secrets).length,
      integration: { username: DEMO_INTEGRATION, password },
      operators: DEMO_OPERATORS.map((o) => ({ id: o.id, roles: o.roles, password: operators[o.id]! })),
    }
  } finally {
    db.close()
  }
}
