/**
 * `shaobing operator …`: operator accounts (API logins) and their API tokens in the gateway's
 * SQLite file, through the same OperatorService the API uses, acting as `cli` in the audit log. A
 * running gateway reads the store at each request, so every change is in force at the next one.
 * This is how the first admin comes to exist where the configuration has no admin token.
 */
import { readFileSync } from 'node:fs'
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
  shaobing operator add ID --role viewer|operator|approver|admin [--role …] [--name NAME] [--password-stdin]
                                               prints a generated password unless one is given on stdin
  shaobing operator passwd ID [--password-stdin]   a new password; the account's sessions end
  shaobing operator disable|enable|unlock ID       disable ends its sessions; unlock lifts a lockout
  shaobing operator list [--json]
  shaobing operator token create ID --name NAME --role ROLE [--role …] [--expires 90d]
                                               prints the token (once); its roles are some of the account's
  shaobing operator token list ID | token revoke ID TOKEN_ID
  all take [--config FILE] (default: the demo county); changes are audited as cli`

const OPTIONS = {
  config: { type: 'string' },
  role: { type: 'string', multiple: true },
  name: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  expires: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

/** Who the CLI is in the audit log: whoever can write the store's file. */
const CLI: Principal = { id: 'cli', name: 'shaobing operator', roles: [...OPERATOR_ROLES], via: 'cli', expiresAt: null }

export async function operatorMain(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${OPERATOR_USAGE}`)
    return 2
  }
  const { values: v, positionals } = parsed
  if (v.help || positionals[0] === undefined) {
    console.log(OPERATOR_USAGE)
    return positionals[0] === undefined && !v.help ? 2 : 0
  }
  const loaded = loadConfig(v.config ?? DEMO_CONFIG)
  if (!loaded.ok) {
    for (const i of loaded.error) console.error(formatFileIssue(i))
    return 1
  }
  const { config } = loaded.value
  const db = openDb({ dataDir: config.dataDir, synchronous: 'normal' })
  try {
    const audit = new AuditLog(db)
    const service = new OperatorService({
      store: new OperatorStore(db),
      audit: (...entry) => audit.audit(...entry),
      now: Date.now,
      policy: () => policyOf(config.security.operators),
      configOperators: () => config.operators,
    })
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

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values']

async function run(positionals: string[], v: Values, service: OperatorService): Promise<number> {
  const [command, ...rest] = positionals
  const id = (): string => {
    const target = command === 'token' ? rest[1] : rest[0]
    if (target === undefined) throw new Usage(`operator ${command} needs an ID`)
    if (!OPERATOR_ID_PATTERN.test(target)) throw new Usage(`${target} is not an operator id`)
    return target
  }
  const roles = (): OperatorRole[] => {
    const given = v.role ?? []
    const problem = given.length === 0 ? 'at least one --role' : rolesProblem(given)
    if (problem) throw new Usage(problem)
    return given as OperatorRole[]
  }
  /** The password on stdin, if asked for; undefined: the service generates one. */
  const password = (): string | undefined => {
    if (!v['password-stdin']) return undefined
    const pw = readFileSync(0, 'utf8').replace(/\r?\n$/, '')
    const problem = passwordProblem(pw)
    if (problem) throw new Usage(problem)
    return pw
  }
  switch (command) {
    case 'add': {
      const target = id()
      const r = await service.create({ id: target, name: v.name ?? target, roles: roles(), password: password() }, CLI)
      return report(r, () => {
        console.log(`added ${target} (${(v.role ?? []).join(', ')})`)
        if (r.ok && r.password !== undefined) console.log(`password: ${r.password}`)
      })
    }
    case 'passwd': {
      const r = await service.setPassword(id(), { password: password() }, CLI)
      return report(r, () => {
        if (r.ok && r.password !== undefined) console.log(`password: ${r.password}`)
        if (r.ok) console.log(`${r.sessionsEnded} sessions ended`)
      })
    }
    case 'disable':
    case 'enable': {
      const target = id()
      const r = service.update(target, { disabled: command === 'disable' }, CLI)
      return report(r, () => console.log(`${target} ${command}d`))
    }
    case 'unlock': {
      const target = id()
      const r = service.unlock(target, CLI)
      return report(r, () => console.log(r.ok && r.unlocked ? `${target} unlocked` : `${target} was not locked`))
    }
    case 'list': {
      const accounts = service.accounts()
      if (v.json) {
        console.log(JSON.stringify({ operators: accounts, configured: service.configured() }, null, 2))
        return 0
      }
      for (const a of accounts)
        console.log(
          [a.id, a.roles.join(','), a.disabled ? 'disabled' : a.locked ? 'locked' : 'active', a.name].join('\t'),
        )
      for (const c of service.configured()) console.log([c.id, c.roles.join(','), 'configuration', c.name].join('\t'))
      return 0
    }
    case 'token':
      return token(rest[0], rest, v, id, roles, service)
    default:
      throw new Usage(`unknown operator command ${command}`)
  }
}

function token(
  sub: string | undefined,
  rest: string[],
  v: Values,
  id: () => string,
  roles: () => OperatorRole[],
  service: OperatorService,
): number {
  switch (sub) {
    case 'create': {
      if (v.name === undefined) throw new Usage('operator token create needs --name NAME')
      let expiresAt: number | undefined
      if (v.expires !== undefined) {
        try {
          expiresAt = Date.now() + durationMs(v.expires)
        } catch {
          throw new Usage(`--expires ${v.expires}: expected a duration such as 90d or 12h`)
        }
      }
      const r = service.createToken(
        id(),
        { name: v.name, roles: roles(), ...(expiresAt !== undefined ? { expiresAt } : {}) },
        CLI,
      )
      return report(r, () => {
        if (!r.ok) return
        console.log(`token ${r.id} (${r.roles.join(', ')})${r.expiresAt === null ? '' : `, until ${new Date(r.expiresAt).toISOString()}`}`)
        console.log(`token: ${r.token}`)
      })
    }
    case 'list': {
      const r = service.tokens(id())
      return report(r, () => {
        if (!r.ok) return
        if (v.json) return console.log(JSON.stringify({ tokens: r.tokens }, null, 2))
        for (const t of r.tokens)
          console.log(
            [
              t.id,
              t.roles.join(','),
              t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && t.expiresAt <= Date.now() ? 'expired' : 'live',
              t.name,
            ].join('\t'),
          )
      })
    }
    case 'revoke': {
      const tokenId = rest[2]
      if (tokenId === undefined) throw new Usage('operator token revoke needs ID TOKEN_ID')
      const r = service.revokeToken(id(), tokenId, CLI)
      return report(r, () => console.log(`token ${tokenId} revoked`))
    }
    default:
      throw new Usage(`operator token needs create, list or revoke`)
  }
}

/** 0 and what was done, or 1 and the refusal's reason. */
function report(r: Outcome<object>, done: () => void): number {
  if (!r.ok) {
    console.error(`refused (${r.reason}): ${r.message}`)
    return 1
  }
  done()
  return 0
}

class Usage extends Error {}
