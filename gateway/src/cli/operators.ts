/**
 * `shaobing operator …`: operator accounts (API logins) and their API tokens in the gateway's
 * SQLite file, without a running gateway (the first admin is made here). A running gateway reads
 * these tables at every request, so a change applies at once: a disabled account's sessions and
 * tokens stop working, a new password ends its sessions. Each change is in the audit log as `cli`,
 * with the system user who ran it.
 */
import { readFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import { parseArgs } from 'node:util'
import { durationMs, formatFileIssue } from '../../../rules/src/index.js'
import { DEMO_CONFIG, loadConfig } from '../config/load.js'
import { OPERATOR_ID_PATTERN, OPERATOR_ROLES, type OperatorRole } from '../contracts/api.js'
import type { Outcome } from '../core/outcome.js'
import {
  OperatorService,
  passwordProblem,
  policyOf,
  rolesProblem,
  type Principal,
} from '../security/operators.js'
import { AuditLog } from '../store/audit.js'
import { openDb } from '../store/db.js'
import { OperatorStore } from '../store/operators.js'

export const OPERATOR_USAGE = `usage:
  shaobing operator add ID --role ROLE [--role ROLE]... [--name NAME] [--password-stdin]
                                              prints a generated password unless one is given on stdin
  shaobing operator passwd ID [--password-stdin]
                                              a new password (printed if generated); its sessions end
  shaobing operator disable|enable ID         a disabled account's sessions end and its tokens are refused
  shaobing operator unlock ID                 lift a lockout after repeated wrong passwords
  shaobing operator list [--json]
  shaobing operator token create ID --name NAME --role ROLE [--role ROLE]... [--expires 90d|ISO-8601]
                                              an API token scoped to roles the account has, printed once
  shaobing operator token list ID [--json]
  shaobing operator token revoke ID TOKEN_ID
  all take [--config FILE] (default: the demo county)
  roles: ${OPERATOR_ROLES.join(', ')} (every role implies viewer; admin manages accounts and nothing more)`

const OPTIONS = {
  config: { type: 'string' },
  role: { type: 'string', multiple: true },
  name: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  expires: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

class Usage extends Error {}

export async function operatorMain(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${OPERATOR_USAGE}`)
    return 2
  }
  const { values: v, positionals } = parsed
  if (v.help || positionals.length === 0) {
    console.log(OPERATOR_USAGE)
    return positionals.length === 0 && !v.help ? 2 : 0
  }
  const loaded = loadConfig(v.config ?? DEMO_CONFIG)
  if (!loaded.ok) {
    for (const i of loaded.error) console.error(formatFileIssue(i))
    return 1
  }
  const { config } = loaded.value
  const db = openDb({ dataDir: config.dataDir, synchronous: 'normal' })
  const audit = new AuditLog(db)
  const service = new OperatorService({
    store: new OperatorStore(db),
    audit: (...entry) => audit.audit(...entry),
    now: Date.now,
    policy: () => policyOf(config.security.operators),
    configOperators: () => config.operators,
  })
  try {
    return await run(positionals, v, service)
  } catch (e) {
    if (e instanceof Usage) {
      console.error(`${e.message}\n\n${OPERATOR_USAGE}`)
      return 2
    }
    throw e
  } finally {
    db.close()
  }
}

/** Who the CLI acts as: whoever may open the store may do what an admin does. */
function cliPrincipal(): Principal {
  let user = 'unknown'
  try {
    user = userInfo().username
  } catch {
    // no user name (a container without /etc/passwd entry): the entry still says `cli`
  }
  return { id: 'cli', name: user, roles: [...OPERATOR_ROLES], via: 'cli', expiresAt: null }
}

async function run(positionals: string[], v: Values, service: OperatorService): Promise<number> {
  const [command, ...rest] = positionals
  const by = cliPrincipal()
  const id = (i = 0): string => {
    const x = rest[i]
    if (x === undefined) throw new Usage(`operator ${command} needs an account ID`)
    return x
  }
  const roles = (): OperatorRole[] => {
    const rs = v.role ?? []
    if (rs.length === 0) throw new Usage('--role is needed (one or more)')
    const problem = rolesProblem(rs)
    if (problem) throw new Usage(`--role: ${problem}`)
    return rs as OperatorRole[]
  }
  const password = (): string | undefined => {
    if (!v['password-stdin']) return undefined
    const pw = readFileSync(0, 'utf8').replace(/\r?\n$/, '')
    const problem = passwordProblem(pw)
    if (problem) throw new Usage(problem)
    return pw
  }
  const report = <T>(r: Outcome<T>, done: (r: T) => void): number => {
    if (!r.ok) return fail(r.message)
    done(r)
    return 0
  }

  switch (command) {
    case 'add': {
      const account = id()
      if (!OPERATOR_ID_PATTERN.test(account)) return fail(`${account}: an id is 1-64 of A-Z a-z 0-9 _ . -`)
      const r = await service.create(
        { id: account, name: v.name ?? account, roles: roles(), password: password() },
        by,
      )
      return report(r, (x) => {
        console.log(`added ${account} (${(v.role ?? []).join(', ')})`)
        if (x.password !== undefined) console.log(`password: ${x.password}`)
      })
    }
    case 'passwd': {
      const account = id()
      const r = await service.setPassword(account, { password: password() }, by)
      return report(r, (x) => {
        console.log(`new password for ${account}; ${x.sessionsEnded} session(s) ended`)
        if (x.password !== undefined) console.log(`password: ${x.password}`)
      })
    }
    case 'disable':
    case 'enable': {
      const account = id()
      const before = service.account(account)
      const r = service.update(account, { disabled: command === 'disable' }, by)
      return report(r, () =>
        console.log(
          before && before.disabled === (command === 'disable')
            ? `${account} was already ${command}d`
            : `${command}d ${account}`,
        ),
      )
    }
    case 'unlock': {
      const account = id()
      return report(service.unlock(account, by), (x) =>
        console.log(x.unlocked ? `unlocked ${account}` : `${account} was not locked`),
      )
    }
    case 'list': {
      const rows = service.accounts()
      if (v.json) {
        console.log(JSON.stringify({ operators: rows, configured: service.configured() }, null, 2))
        return 0
      }
      for (const a of rows)
        console.log(
          [
            a.id.padEnd(20),
            a.roles.join(',').padEnd(28),
            (a.disabled ? 'disabled' : a.locked ? 'locked' : a.demo ? 'demo' : 'enabled').padEnd(9),
            a.name,
          ].join(' '),
        )
      for (const c of service.configured())
        console.log([c.id.padEnd(20), c.roles.join(',').padEnd(28), 'config'.padEnd(9), c.name].join(' '))
      console.log(`${rows.length} accounts, ${service.configured().length} configured operators`)
      return 0
    }
    case 'token':
      return token(rest, v, service, by, roles)
    default:
      throw new Usage(`unknown operator command ${command}`)
  }
}

function token(
  rest: string[],
  v: Values,
  service: OperatorService,
  by: Principal,
  roles: () => OperatorRole[],
): number {
  const [sub, account, tokenId] = rest
  if (account === undefined) throw new Usage(`operator token ${sub ?? ''} needs an account ID`)
  switch (sub) {
    case 'create': {
      if (v.name === undefined) throw new Usage('--name is needed: what the token is for')
      const expiresAt = v.expires === undefined ? undefined : expiry(v.expires)
      const r = service.createToken(account, { name: v.name, roles: roles(), expiresAt }, by)
      if (!r.ok) return fail(r.message)
      console.log(
        `token ${r.id} for ${account} (${r.roles.join(', ')})${r.expiresAt !== null ? `, expires ${new Date(r.expiresAt).toISOString()}` : ''}`,
      )
      console.log(`token: ${r.token}`)
      return 0
    }
    case 'list': {
      const r = service.tokens(account)
      if (!r.ok) return fail(r.message)
      if (v.json) {
        console.log(JSON.stringify(r.tokens, null, 2))
        return 0
      }
      const at = (t: number | null) => (t === null ? '-' : new Date(t).toISOString())
      for (const t of r.tokens)
        console.log(
          [
            t.id,
            t.name.padEnd(20),
            t.roles.join(',').padEnd(20),
            t.revokedAt !== null ? 'revoked' : `expires ${at(t.expiresAt)}`,
            `last used ${at(t.lastUsedAt)}`,
          ].join(' '),
        )
      console.log(`${r.tokens.length} tokens`)
      return 0
    }
    case 'revoke': {
      if (tokenId === undefined) throw new Usage('operator token revoke needs ID TOKEN_ID')
      const r = service.revokeToken(account, tokenId, by)
      if (!r.ok) return fail(r.message)
      console.log(`revoked token ${tokenId} of ${account}`)
      return 0
    }
    default:
      throw new Usage(`unknown operator token command ${sub ?? ''}: create, list or revoke`)
  }
}

/** `--expires`: a duration from now (90d, 12h) or an ISO-8601 instant with an offset. */
function expiry(s: string): number {
  if (/^\d+(ms|s|m|h|d)$/.test(s)) return Date.now() + durationMs(s)
  const t = /^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:\d\d)$/.test(s) ? Date.parse(s) : NaN
  if (Number.isNaN(t))
    throw new Usage(`--expires ${s}: a duration like 90d or an ISO-8601 time with an offset`)
  if (t <= Date.now()) throw new Usage(`--expires ${s} is in the past`)
  return t
}

function fail(message: string): number {
  console.error(message)
  return 1
}
