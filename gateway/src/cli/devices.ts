/**
 * `shaobing device …`: device identities in the gateway's SQLite file. A running gateway applies
 * every change within a second (a disabled or re-keyed device's connections are closed), so
 * credentials change without a restart.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { formatFileIssue } from '../../../rules/src/index.js'
import { DEMO_CONFIG, loadConfig, type LoadedConfig } from '../config/load.js'
import { identityProblem, parseMosquittoPasswd, provision, type NewDevice } from '../security/enroll.js'
import { COST, generateSecret, hashPassword } from '../security/passwords.js'
import { describeSubjects } from '../security/roles.js'
import { openDb } from '../store/db.js'
import { DEVICE_ROLES, DeviceStore, type DeviceRole } from '../store/devices.js'

export const DEVICE_USAGE = `usage:
  shaobing device add USERNAME --role sensor|station|terminal|integration [--subject ID]...
                  [--password-stdin | --certificate-only] [--note TEXT]     prints a generated password
  shaobing device rotate USERNAME [--password-stdin]                        new password; old connections closed
  shaobing device disable|enable USERNAME
  shaobing device list [--json]
  shaobing device import PASSWD_FILE --role ROLE [--subject ID]...          Mosquitto password file ($7$, $6$);
                                                                           sensor and terminal subjects default to the username
  shaobing device provision [--out FILE]      an identity for every registry sensor and terminal without one;
                                               passwords written to FILE (0600, the simulator's --credentials format)
  all take [--config FILE] (default: the demo county)
  a sensor identity is one sensor id; station: station ids (a logger or concentrator); terminal: one
  terminal id; integration: station ids whose readings it reads, or '*' (always warnings/# and faults/#)`

const OPTIONS = {
  config: { type: 'string' },
  role: { type: 'string' },
  subject: { type: 'string', multiple: true },
  'password-stdin': { type: 'boolean' },
  'certificate-only': { type: 'boolean' },
  note: { type: 'string' },
  json: { type: 'boolean' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

export async function deviceMain(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${DEVICE_USAGE}`)
    return 2
  }
  const { values: v, positionals } = parsed
  const [command, target] = positionals
  if (v.help || command === undefined) {
    console.log(DEVICE_USAGE)
    return command === undefined && !v.help ? 2 : 0
  }
  const loaded = loadConfig(v.config ?? DEMO_CONFIG)
  if (!loaded.ok) {
    for (const i of loaded.error) console.error(formatFileIssue(i))
    return 1
  }
  const db = openDb({ dataDir: loaded.value.config.dataDir, synchronous: 'normal' })
  try {
    return await run(command, target, v, loaded.value, new DeviceStore(db))
  } finally {
    db.close()
  }
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

async function run(
  command: string,
  target: string | undefined,
  v: Values,
  loaded: LoadedConfig,
  devices: DeviceStore,
): Promise<number> {
  const { registry } = loaded
  const now = Date.now()
  // A password a person typed is stretched; a generated secret needs no stretching (passwords.ts).
  const cost = () => (v['password-stdin'] ? COST.device : COST.generated)
  const needTarget = () => {
    if (target === undefined) throw new Usage(`device ${command} needs a USERNAME`)
    return target
  }
  const role = (): DeviceRole => {
    if (!DEVICE_ROLES.includes(v.role as DeviceRole))
      throw new Usage(`--role must be one of ${DEVICE_ROLES.join(', ')}`)
    return v.role as DeviceRole
  }
  const secret = async (): Promise<string> => {
    if (!v['password-stdin']) return generateSecret()
    const pw = readFileSync(0, 'utf8').replace(/\r?\n$/, '')
    // A chosen password must be long: the fast device hash cost assumes a generated secret.
    if (pw.length < 16) throw new Usage('a device password must be at least 16 characters')
    return pw
  }
  try {
    switch (command) {
      case 'add': {
        const username = needTarget()
        const r = role()
        const subjects = v.subject ?? (r === 'sensor' || r === 'terminal' ? [username] : [])
        const problem = identityProblem({ username, role: r, subjects }, registry)
        if (problem) return fail(problem)
        const pw = v['certificate-only'] ? undefined : await secret()
        const added = devices.add(
          {
            username,
            role: r,
            subjects,
            hash: pw === undefined ? null : await hashPassword(pw, cost()),
            demo: false,
            note: v.note ?? null,
          },
          now,
        )
        if (!added) return fail(`${username} exists; use rotate to give it a new password`)
        console.log(`added ${username} (${r}: ${describeSubjects({ role: r, subjects }, registry)})`)
        if (pw !== undefined && !v['password-stdin']) console.log(`password: ${pw}`)
        if (pw === undefined) console.log('certificate only: the client certificate’s CN must be ' + username)
        return 0
      }
      case 'rotate': {
        const username = needTarget()
        if (!devices.get(username)) return fail(`no device ${username}`)
        const pw = await secret()
        devices.setHash(username, await hashPassword(pw, cost()), now)
        console.log(`rotated ${username}; its connections with the old password are closed`)
        if (!v['password-stdin']) console.log(`password: ${pw}`)
        return 0
      }
      case 'disable':
      case 'enable': {
        const username = needTarget()
        if (!devices.get(username)) return fail(`no device ${username}`)
        const changed = devices.setDisabled(username, command === 'disable', now)
        console.log(changed ? `${command}d ${username}` : `${username} was already ${command}d`)
        return 0
      }
      case 'list': {
        const rows = devices.list()
        if (v.json) {
          console.log(
            JSON.stringify(
              rows.map(({ hash, ...d }) => ({
                ...d,
                auth: hash === null ? 'certificate' : 'password',
                is: describeSubjects(d, registry),
              })),
              null,
              2,
            ),
          )
          return 0
        }
        for (const d of rows)
          console.log(
            [
              d.username.padEnd(24),
              d.role.padEnd(12),
              (d.disabledAt !== null ? 'disabled' : d.demo ? 'demo' : 'enabled').padEnd(9),
              describeSubjects(d, registry),
            ].join(' '),
          )
        console.log(`${rows.length} device identities`)
        return 0
      }
      case 'import': {
        const file = needTarget()
        const r = role()
        const { entries, problems } = parseMosquittoPasswd(readFileSync(file, 'utf8'))
        const rows: NewDevice[] = []
        for (const e of entries) {
          const subjects = v.subject ?? (r === 'sensor' || r === 'terminal' ? [e.username] : [])
          const problem = identityProblem({ username: e.username, role: r, subjects }, registry)
          if (problem) problems.push(`${e.username}: ${problem}`)
          else
            rows.push({
              username: e.username,
              role: r,
              subjects,
              hash: e.hash,
              demo: false,
              note: `imported from ${file}`,
            })
        }
        if (problems.length > 0) {
          for (const p of problems) console.error(`${file}: ${p}`)
          return fail(`${problems.length} problem(s); nothing imported`)
        }
        devices.upsertAll(rows, now)
        console.log(`imported ${rows.length} identities as ${r} from ${file}`)
        return 0
      }
      case 'provision': {
        const secrets = await provision(devices, registry, { at: now })
        const n = Object.keys(secrets).length
        if (v.out !== undefined) {
          writeFileSync(v.out, JSON.stringify({ devices: secrets }, null, 2) + '\n', { mode: 0o600 })
          console.log(`provisioned ${n} identities; passwords in ${v.out}`)
        } else {
          for (const [u, pw] of Object.entries(secrets)) console.log(`${u}\t${pw}`)
          console.log(`provisioned ${n} identities`)
        }
        return 0
      }
      default:
        throw new Usage(`unknown device command ${command}`)
    }
  } catch (e) {
    if (e instanceof Usage) {
      console.error(`${e.message}\n\n${DEVICE_USAGE}`)
      return 2
    }
    throw e
  }
}

class Usage extends Error {}

function fail(message: string): number {
  console.error(message)
  return 1
}
