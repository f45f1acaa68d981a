/**
 * Operators: who acts through the API, with which roles, and how they prove it.
 *
 * Three kinds of bearer token name an operator: a login session (an account's password, through
 * `POST /api/login`), an API token an admin issued to an account for an integration (scoped to some
 * of the account's roles), and a token of the configuration file's `operators`. Sessions and API
 * tokens are 32 random bytes stored only as their SHA-256.
 *
 * Password logins resist guessing: `maxFailures` wrong passwords in a row lock the account for
 * `lockFor`; an unknown user, a wrong password, a disabled and a locked account all get the same
 * answer, and each costs one scrypt verification (a dummy one where there is no hash to check), so
 * neither the answer nor its timing tells which. Guesses sent in parallel count before they are
 * checked, so no more than `maxFailures` are ever verified between two locks.
 *
 * Every time here comes from the injected clock.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { durationMs } from '../../../rules/src/index.js'
import type { GatewayConfigFile } from '../config/schema.js'
import {
  OPERATOR_ID_PATTERN,
  OPERATOR_ROLES,
  PASSWORD_MIN_LENGTH,
  type OperatorRole,
} from '../contracts/api.js'
import { refuse, type Outcome } from '../core/outcome.js'
import { SYSTEM } from '../warnings/model.js'
import type { OperatorAccount, OperatorStore, TokenRow } from '../store/operators.js'
import { isLoopback } from './defaults.js'
import { COST, generateSecret, hashPassword, verifyPassword, type ScryptCost } from './passwords.js'

export type ConfigOperator = GatewayConfigFile['operators'][number]

/** An authenticated caller: an account (by session or API token), a configured operator, or the CLI. */
export interface Principal {
  readonly id: string
  readonly name: string
  /** The roles in force for this credential (an API token's scope within its owner's roles). */
  readonly roles: readonly OperatorRole[]
  readonly via: 'session' | 'api_token' | 'config_token' | 'cli'
  readonly sessionId?: number
  readonly tokenId?: string
  /** When the credential stops working if unused; null: it does not expire. */
  readonly expiresAt: number | null
}

/** What each role implies besides itself: every role reads, and none implies another's powers. */
const IMPLIES: Record<OperatorRole, readonly OperatorRole[]> = {
  viewer: [],
  operator: ['viewer'],
  approver: ['viewer'],
  admin: ['viewer'],
}

/** Whether roles grant `role` (itself, or a role that implies it). */
export const grants = (roles: readonly OperatorRole[], role: OperatorRole): boolean =>
  roles.some((r) => r === role || IMPLIES[r].includes(role))

/** Whether a GET needs a signed-in viewer: as configured, else whenever the listener is not loopback. */
export const readsNeedViewer = (http: { host: string; readsNeedViewer?: boolean | undefined }): boolean =>
  http.readsNeedViewer ?? !isLoopback(http.host)

/** Ids that name the gateway's own actors in the audit log; no account may take them. */
export const RESERVED_IDS: readonly string[] = [SYSTEM, 'cli']

export const sha256Hex = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')

/** Login sessions and API tokens say what they are (a leaked one is easy to recognise). */
const SESSION_PREFIX = 'sbs_'
const TOKEN_PREFIX = 'sbt_'

export interface OperatorPolicy {
  readonly maxFailures: number
  readonly lockForMs: number
  readonly sessionIdleMs: number
  readonly sessionMaxMs: number
}

export const policyOf = (c: GatewayConfigFile['security']['operators']): OperatorPolicy => ({
  maxFailures: c.maxFailures,
  lockForMs: durationMs(c.lockFor),
  sessionIdleMs: durationMs(c.sessionIdle),
  sessionMaxMs: durationMs(c.sessionMax),
})

/** How a login ended, as counted: let in, refused (unknown, wrong, disabled), or refused while locked. */
export type LoginOutcome = 'success' | 'refused' | 'locked'

export type LoginResult =
  { ok: true; token: string; expiresAt: number; idleTimeoutMs: number; operator: Principal } | { ok: false }

export type AccountView = Omit<OperatorAccount, 'hash'> & { disabled: boolean; locked: boolean }
export type TokenView = TokenRow

export interface OperatorServiceDeps {
  readonly store: OperatorStore
  readonly audit: (at: number, actor: string, action: string, subject: string, detail: unknown) => void
  readonly now: () => number
  /** The policy in force (a reload may change it). */
  readonly policy: () => OperatorPolicy
  /** The configuration's operators in force (a reload may change them). */
  readonly configOperators: () => readonly ConfigOperator[]
  /** The scrypt cost of passwords it sets; people's passwords by default. */
  readonly cost?: ScryptCost
  /** Checks a password against a hash (security/passwords.ts; tests count the checks). */
  readonly verify?: (password: string, hash: string) => Promise<boolean>
  readonly onLogin?: (outcome: LoginOutcome) => void
  readonly onLockout?: () => void
}

/** Why a password may not be chosen, or undefined. */
export const passwordProblem = (pw: string): string | undefined =>
  pw.length < PASSWORD_MIN_LENGTH
    ? `a password has at least ${PASSWORD_MIN_LENGTH} characters`
    : pw.length > 1024
      ? 'a password has at most 1024 characters'
      : undefined

/** Why roles cannot be an account's or a token's, or undefined. */
export const rolesProblem = (roles: readonly string[]): string | undefined => {
  if (roles.length === 0) return 'at least one role'
  const unknown = roles.filter((r) => !(OPERATOR_ROLES as readonly string[]).includes(r))
  if (unknown.length > 0) return `unknown role ${unknown.join(', ')}: one of ${OPERATOR_ROLES.join(', ')}`
  if (new Set(roles).size !== roles.length) return 'each role once'
  return undefined
}

/** How the actor of an audit entry acted: the kind of credential, and the system user at the CLI. */
const who = (by: Principal) => ({
  via: by.via,
  ...(by.tokenId !== undefined ? { viaToken: by.tokenId } : {}),
  ...(by.via === 'cli' ? { user: by.name } : {}),
})

const view = ({ hash: _hash, ...a }: OperatorAccount, now: number): AccountView => ({
  ...a,
  disabled: a.disabledAt !== null,
  locked: a.lockedUntil !== null && now < a.lockedUntil,
})

export class OperatorService {
  private readonly store: OperatorStore
  private readonly cost: ScryptCost
  private readonly verify: (password: string, hash: string) => Promise<boolean>
  /** Password checks under way per account: counted with the failures before they are known. */
  private readonly checking = new Map<string, number>()
  /** What an unknown user's password is checked against, so that it costs what a known one does. */
  private dummy: Promise<string> | undefined

  constructor(private readonly deps: OperatorServiceDeps) {
    this.store = deps.store
    this.cost = deps.cost ?? COST.person
    this.verify = deps.verify ?? verifyPassword
  }

  // ---- authentication ------------------------------------------------------------------------

  /** The operator a bearer token names, if it is a live session, a live API token or a configured one. */
  authenticate(bearer: string): Principal | undefined {
    const sha = sha256Hex(bearer)
    const now = this.deps.now()
    const session = this.store.session(sha)
    if (session) {
      const idle = this.deps.policy().sessionIdleMs
      if (session.revokedAt !== null || now >= session.expiresAt || now >= session.lastUsedAt + idle)
        return undefined
      const a = this.store.get(session.operatorId)
      if (!a || a.disabledAt !== null) return undefined
      this.store.touchSession(session.id, now)
      return {
        id: a.id,
        name: a.name,
        roles: a.roles,
        via: 'session',
        sessionId: session.id,
        expiresAt: Math.min(session.expiresAt, now + idle),
      }
    }
    const token = this.store.token(sha)
    if (token) {
      if (token.revokedAt !== null || (token.expiresAt !== null && now >= token.expiresAt)) return undefined
      const a = this.store.get(token.operatorId)
      if (!a || a.disabledAt !== null) return undefined
      this.store.touchToken(token.id, now)
      return {
        id: a.id,
        name: a.name,
        // The owner may have lost roles since: the scope never exceeds what the owner has now.
        roles: token.roles.filter((r) => grants(a.roles, r)),
        via: 'api_token',
        tokenId: token.id,
        expiresAt: token.expiresAt,
      }
    }
    const digest = Buffer.from(sha, 'hex')
    const op = this.deps
      .configOperators()
      .find((o) => timingSafeEqual(Buffer.from(o.tokenSha256, 'hex'), digest))
    return op
      ? { id: op.id, name: op.name, roles: op.roles, via: 'config_token', expiresAt: null }
      : undefined
  }

  /**
   * A password login. Refused (unknown user, wrong password, disabled or locked) it says nothing
   * more than that, and takes as long either way.
   */
  async login(username: string, password: string): Promise<LoginResult> {
    const a = OPERATOR_ID_PATTERN.test(username) ? this.store.get(username) : undefined
    const verdict = await this.checkPassword(a, password, { countFailure: a?.disabledAt === null })
    if (verdict !== 'ok' || !a || a.disabledAt !== null) {
      this.deps.onLogin?.(verdict === 'locked' ? 'locked' : 'refused')
      return { ok: false }
    }
    const now = this.deps.now()
    const { sessionIdleMs, sessionMaxMs } = this.deps.policy()
    // Sessions ended a day ago can never be used again: forgotten, so the table stays small.
    this.store.pruneSessions(now - 86_400_000)
    const token = SESSION_PREFIX + generateSecret()
    const expiresAt = now + sessionMaxMs
    const sessionId = this.store.addSession(sha256Hex(token), a.id, now, expiresAt)
    this.deps.audit(now, a.id, 'login', `operator:${a.id}`, { session: sessionId })
    this.deps.onLogin?.('success')
    return {
      ok: true,
      token,
      expiresAt,
      idleTimeoutMs: sessionIdleMs,
      operator: {
        id: a.id,
        name: a.name,
        roles: a.roles,
        via: 'session',
        sessionId,
        expiresAt: Math.min(expiresAt, now + sessionIdleMs),
      },
    }
  }

  /** Ends the session the caller authenticated with. */
  logout(p: Principal): Outcome {
    if (p.via !== 'session' || p.sessionId === undefined)
      return refuse(
        'not_a_session',
        'logout ends a login session; an API token is revoked by an admin (DELETE /api/operators/{id}/tokens/{tokenId})',
      )
    const now = this.deps.now()
    this.store.revokeSession(p.sessionId, now)
    this.deps.audit(now, p.id, 'logout', `operator:${p.id}`, { session: p.sessionId })
    return { ok: true }
  }

  /**
   * Checks an account's password under the lockout: 'locked' without looking while it is locked
   * (or while the checks under way could reach the limit), else 'ok' or 'wrong', a wrong one
   * counted when `countFailure`. Always one scrypt verification.
   */
  private async checkPassword(
    a: OperatorAccount | undefined,
    password: string,
    o: { countFailure: boolean },
  ): Promise<'ok' | 'wrong' | 'locked'> {
    const now = this.deps.now()
    const policy = this.deps.policy()
    if (!a) {
      await this.verify(password, await this.dummyHash())
      return 'wrong'
    }
    const checking = this.checking.get(a.id) ?? 0
    if ((a.lockedUntil !== null && now < a.lockedUntil) || a.failedLogins + checking >= policy.maxFailures) {
      await this.verify(password, await this.dummyHash())
      return 'locked'
    }
    this.checking.set(a.id, checking + 1)
    let good: boolean
    try {
      good = await this.verify(password, a.hash)
    } finally {
      const n = (this.checking.get(a.id) ?? 1) - 1
      if (n === 0) this.checking.delete(a.id)
      else this.checking.set(a.id, n)
    }
    if (good) {
      this.store.clearFailures(a.id)
      return 'ok'
    }
    if (!o.countFailure) return 'wrong'
    const at = this.deps.now()
    const r = this.store.recordFailure(a.id, policy.maxFailures, at + policy.lockForMs)
    this.deps.audit(at, a.id, 'login_failed', `operator:${a.id}`, { failures: r.failed })
    if (r.locked) {
      this.deps.audit(at, SYSTEM, 'operator_locked', `operator:${a.id}`, {
        failures: r.failed,
        until: at + policy.lockForMs,
      })
      this.deps.onLockout?.()
    }
    return 'wrong'
  }

  private dummyHash(): Promise<string> {
    return (this.dummy ??= hashPassword(generateSecret(), this.cost))
  }

  // ---- accounts ------------------------------------------------------------------------------

  accounts(): AccountView[] {
    const now = this.deps.now()
    return this.store.list().map((a) => view(a, now))
  }

  /** The configuration's operators (bearer tokens, no password), without their token hashes. */
  configured(): { id: string; name: string; roles: OperatorRole[] }[] {
    return this.deps.configOperators().map((o) => ({ id: o.id, name: o.name, roles: [...o.roles] }))
  }

  account(id: string): AccountView | undefined {
    const a = this.store.get(id)
    return a ? view(a, this.deps.now()) : undefined
  }

  /** Adds an account; without a password one is generated and returned (shown once). */
  async create(
    input: { id: string; name: string; roles: readonly OperatorRole[]; password?: string | undefined },
    by: Principal,
    o: { demo?: boolean } = {},
  ): Promise<Outcome<{ id: string; password?: string }>> {
    if (RESERVED_IDS.includes(input.id))
      return refuse('already_exists', `${input.id} names the gateway itself in the audit log`)
    if (this.deps.configOperators().some((c) => c.id === input.id))
      return refuse('already_exists', `${input.id} is an operator of the configuration file`)
    if (this.store.get(input.id)) return refuse('already_exists', `an account ${input.id} exists`)
    const password = input.password ?? generateSecret()
    const now = this.deps.now()
    const added = this.store.add(
      {
        id: input.id,
        name: input.name,
        roles: input.roles,
        hash: await hashPassword(password, this.cost),
        demo: o.demo ?? false,
      },
      now,
    )
    if (!added) return refuse('already_exists', `an account ${input.id} exists`)
    this.deps.audit(now, by.id, 'operator_added', `operator:${input.id}`, {
      name: input.name,
      roles: input.roles,
      ...who(by),
    })
    return { ok: true, id: input.id, ...(input.password === undefined ? { password } : {}) }
  }

  /** Renames, re-roles, disables or enables an account; an admin's own roles and account stay. */
  update(
    id: string,
    patch: {
      name?: string | undefined
      roles?: readonly OperatorRole[] | undefined
      disabled?: boolean | undefined
    },
    by: Principal,
  ): Outcome<{ operator: AccountView }> {
    const a = this.store.get(id)
    if (!a) return refuse('not_found', `no operator account ${id}`)
    const self = by.via !== 'config_token' && by.via !== 'cli' && by.id === id
    const rolesChange =
      patch.roles !== undefined &&
      (patch.roles.length !== a.roles.length || patch.roles.some((r) => !a.roles.includes(r)))
    if (self && (rolesChange || patch.disabled === true))
      return refuse(
        'own_account',
        'an admin may not change the roles of, or disable, their own account: another admin does',
      )
    const now = this.deps.now()
    this.store.update(
      id,
      {
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.roles ? { roles: patch.roles } : {}),
      },
      now,
    )
    let sessionsEnded = 0
    if (patch.disabled !== undefined && this.store.setDisabled(id, patch.disabled, now) && patch.disabled)
      sessionsEnded = this.store.revokeSessions(id, now)
    this.deps.audit(now, by.id, 'operator_changed', `operator:${id}`, {
      ...patch,
      ...(patch.roles ? { previousRoles: a.roles } : {}),
      sessionsEnded,
      ...who(by),
    })
    return { ok: true, operator: view(this.store.get(id)!, now) }
  }

  /**
   * A new password for an account (generated when none is given, and returned once). One's own
   * needs the old password, checked under the lockout like a login; an admin sets anyone else's.
   * The account's sessions end, but for the one that changed its own password.
   */
  async setPassword(
    id: string,
    input: { password?: string | undefined; oldPassword?: string | undefined },
    by: Principal,
  ): Promise<Outcome<{ password?: string; sessionsEnded: number }>> {
    const a = this.store.get(id)
    if (!a) return refuse('not_found', `no operator account ${id}`)
    const self = (by.via === 'session' || by.via === 'api_token') && by.id === id
    if (self) {
      if (input.oldPassword === undefined)
        return refuse('wrong_password', 'changing one’s own password needs the old one (oldPassword)')
      const verdict = await this.checkPassword(a, input.oldPassword, { countFailure: true })
      if (verdict !== 'ok')
        return refuse('wrong_password', 'the old password is wrong, or the account is locked')
    }
    const password = input.password ?? generateSecret()
    const now = this.deps.now()
    this.store.setHash(id, await hashPassword(password, this.cost), now)
    const sessionsEnded = this.store.revokeSessions(id, now, self ? by.sessionId : undefined)
    this.deps.audit(now, by.id, 'operator_password_set', `operator:${id}`, {
      own: self,
      sessionsEnded,
      ...who(by),
    })
    return { ok: true, sessionsEnded, ...(input.password === undefined ? { password } : {}) }
  }

  /** Lifts a lockout and forgets the failures. */
  unlock(id: string, by: Principal): Outcome<{ unlocked: boolean }> {
    if (!this.store.get(id)) return refuse('not_found', `no operator account ${id}`)
    const now = this.deps.now()
    const unlocked = this.store.unlock(id, now)
    if (unlocked) this.deps.audit(now, by.id, 'operator_unlocked', `operator:${id}`, { ...who(by) })
    return { ok: true, unlocked }
  }

  // ---- API tokens ----------------------------------------------------------------------------

  tokens(id: string): Outcome<{ tokens: TokenView[] }> {
    if (!this.store.get(id)) return refuse('not_found', `no operator account ${id}`)
    return { ok: true, tokens: this.store.tokens(id) }
  }

  /** Issues an API token to an account, scoped to roles it has; the token is returned once. */
  createToken(
    id: string,
    input: { name: string; roles: readonly OperatorRole[]; expiresAt?: number | undefined },
    by: Principal,
  ): Outcome<{ id: string; token: string; name: string; roles: OperatorRole[]; expiresAt: number | null }> {
    const a = this.store.get(id)
    if (!a) return refuse('not_found', `no operator account ${id}`)
    const beyond = input.roles.filter((r) => !grants(a.roles, r))
    if (beyond.length > 0)
      return refuse(
        'scope_exceeds_owner',
        `${id} lacks the ${beyond.join(', ')} role${beyond.length > 1 ? 's' : ''}: a token’s roles are some of its owner’s (${a.roles.join(', ')})`,
      )
    const now = this.deps.now()
    const token = TOKEN_PREFIX + generateSecret()
    const tokenId = randomBytes(6).toString('hex')
    const row = {
      id: tokenId,
      operatorId: id,
      name: input.name,
      roles: [...input.roles],
      createdBy: by.id,
      createdAt: now,
      expiresAt: input.expiresAt ?? null,
    }
    this.store.addToken(row, sha256Hex(token))
    this.deps.audit(now, by.id, 'operator_token_created', `operator:${id}`, {
      token: tokenId,
      name: input.name,
      roles: input.roles,
      expiresAt: row.expiresAt,
      ...who(by),
    })
    return { ok: true, id: tokenId, token, name: input.name, roles: row.roles, expiresAt: row.expiresAt }
  }

  revokeToken(id: string, tokenId: string, by: Principal): Outcome {
    if (!this.store.get(id)) return refuse('not_found', `no operator account ${id}`)
    const now = this.deps.now()
    if (!this.store.revokeToken(id, tokenId, now))
      return refuse('not_found', `${id} has no live API token ${tokenId}`)
    this.deps.audit(now, by.id, 'operator_token_revoked', `operator:${id}`, { token: tokenId, ...who(by) })
    return { ok: true }
  }
}
