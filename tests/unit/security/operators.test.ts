/**
 * Operator accounts, sessions and API tokens (security/operators.ts over an in-memory store): the
 * lockout, expiry and scope rules on a clock the test moves, so nothing sleeps.
 */
import { createHash } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import type { OperatorRole } from '../../../gateway/src/contracts/api.js'
import {
  OperatorService,
  type ConfigOperator,
  type LoginOutcome,
  type Principal,
} from '../../../gateway/src/security/operators.js'
import { verifyPassword, type ScryptCost } from '../../../gateway/src/security/passwords.js'
import { AuditLog } from '../../../gateway/src/store/audit.js'
import { openMemoryDb } from '../../../gateway/src/store/db.js'
import { OperatorStore } from '../../../gateway/src/store/operators.js'

const M = 60_000
const H = 60 * M
/** Test only: the hashes carry their cost, and the service verifies whatever it stored. */
const CHEAP: ScryptCost = { ln: 4, r: 8, p: 1 }
const ADMIN: Principal = { id: 'root', name: 'root', roles: ['admin'], via: 'config_token', expiresAt: null }
const PW = 'correct horse battery'

function setup(configOperators: ConfigOperator[] = []) {
  let t = Date.UTC(2026, 6, 15, 8)
  const db = openMemoryDb()
  const audit = new AuditLog(db)
  const logins: LoginOutcome[] = []
  const checked: string[] = []
  let lockouts = 0
  const store = new OperatorStore(db)
  const service = new OperatorService({
    store,
    audit: (...e) => audit.audit(...e),
    now: () => t,
    policy: () => ({ maxFailures: 5, lockForMs: 15 * M, sessionIdleMs: 12 * H, sessionMaxMs: 24 * H }),
    configOperators: () => configOperators,
    cost: CHEAP,
    verify: (pw, hash) => {
      checked.push(hash)
      return verifyPassword(pw, hash)
    },
    onLogin: (o) => logins.push(o),
    onLockout: () => lockouts++,
  })
  const add = async (id: string, roles: OperatorRole[], password = PW) => {
    const r = await service.create({ id, name: id, roles, password }, ADMIN)
    expect(r.ok).toBe(true)
  }
  const session = async (id: string, password = PW) => {
    const r = await service.login(id, password)
    if (!r.ok) throw new Error(`${id} could not log in`)
    return r.token
  }
  return {
    service,
    store,
    hashOf: (id: string) => store.get(id)!.hash,
    add,
    session,
    logins,
    checked,
    lockouts: () => lockouts,
    advance: (ms: number) => (t += ms),
    now: () => t,
    audit: (action: string) => audit.auditLog({ action, limit: 100 }),
  }
}

describe('password login', () => {
  test('a good password opens a session the bearer token names; logout ends it', async () => {
    const s = setup()
    await s.add('duty', ['operator', 'approver'])
    const r = await s.service.login('duty', PW)
    if (!r.ok) throw new Error('refused')
    expect(r.token).toMatch(/^sbs_[A-Za-z0-9_-]{43}$/)
    expect(r.expiresAt).toBe(s.now() + 24 * H)
    expect(r.idleTimeoutMs).toBe(12 * H)
    const me = s.service.authenticate(r.token)
    expect(me).toMatchObject({ id: 'duty', roles: ['operator', 'approver'], via: 'session' })
    expect(s.service.logout(me!)).toEqual({ ok: true })
    expect(s.service.authenticate(r.token)).toBeUndefined()
    expect(s.logins).toEqual(['success'])
    expect(s.audit('login')).toHaveLength(1)
    expect(s.audit('logout')).toHaveLength(1)
  })

  test('an unknown user and a wrong password are refused alike, each after one scrypt check', async () => {
    const s = setup()
    await s.add('duty', ['operator'])
    expect(await s.service.login('nobody', PW)).toEqual({ ok: false })
    expect(await s.service.login('duty', 'wrong password!')).toEqual({ ok: false })
    expect(await s.service.login('not a valid id', PW)).toEqual({ ok: false })
    expect(s.logins).toEqual(['refused', 'refused', 'refused'])
    // One check each; the unknown users' against a dummy hash of the same cost as the real one.
    expect(s.checked).toHaveLength(3)
    const params = (h: string) => h.split('$')[2]
    expect(s.checked.map(params)).toEqual(['ln=4,r=8,p=1', 'ln=4,r=8,p=1', 'ln=4,r=8,p=1'])
    expect(s.checked[0]).not.toBe(s.checked[1])
    // Only a known account's failure is audited (unknown names may be mistyped passwords).
    expect(s.audit('login_failed').map((e) => e.actor)).toEqual(['duty'])
  })

  test('five wrong passwords lock the account for 15 minutes, even to the right one', async () => {
    const s = setup()
    await s.add('duty', ['operator'])
    for (let i = 0; i < 4; i++) expect((await s.service.login('duty', `guess-${i}-xxxxxxxx`)).ok).toBe(false)
    expect(s.lockouts()).toBe(0)
    expect((await s.service.login('duty', 'guess-4-xxxxxxxx')).ok).toBe(false)
    expect(s.lockouts()).toBe(1)
    expect(s.service.account('duty')).toMatchObject({ locked: true, lockedUntil: s.now() + 15 * M })
    s.checked.length = 0
    expect(await s.service.login('duty', PW)).toEqual({ ok: false })
    expect(s.logins.at(-1)).toBe('locked')
    // While locked its hash is not even looked at: a dummy check keeps the time alike.
    expect(s.checked).toHaveLength(1)
    expect(s.checked[0]).not.toBe(s.hashOf('duty'))
    s.advance(15 * M - 1)
    expect((await s.service.login('duty', PW)).ok).toBe(false)
    s.advance(1)
    expect((await s.service.login('duty', PW)).ok).toBe(true)
    expect(s.audit('operator_locked')).toHaveLength(1)
  })

  test('a good password clears the count: failures must be consecutive', async () => {
    const s = setup()
    await s.add('duty', ['operator'])
    for (let i = 0; i < 4; i++) await s.service.login('duty', 'wrong-password-x')
    expect((await s.service.login('duty', PW)).ok).toBe(true)
    for (let i = 0; i < 4; i++) await s.service.login('duty', 'wrong-password-x')
    expect((await s.service.login('duty', PW)).ok).toBe(true)
    expect(s.lockouts()).toBe(0)
  })

  test('guesses sent in parallel count before they are checked: no more than five are verified', async () => {
    const s = setup()
    await s.add('duty', ['operator'])
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.service.login('duty', `parallel-guess-${i}`)),
    )
    expect(results.every((r) => !r.ok)).toBe(true)
    expect(s.checked.filter((h) => h === s.hashOf('duty'))).toHaveLength(5)
    expect(s.service.account('duty')!.locked).toBe(true)
    expect(s.logins.filter((o) => o === 'locked')).toHaveLength(15)
  })

  test('unlock lifts the lock at once; a disabled account is refused like a wrong password', async () => {
    const s = setup()
    await s.add('duty', ['operator'])
    for (let i = 0; i < 5; i++) await s.service.login('duty', 'wrong-password-x')
    expect(s.service.unlock('duty', ADMIN)).toEqual({ ok: true, unlocked: true })
    expect(s.service.unlock('duty', ADMIN)).toEqual({ ok: true, unlocked: false })
    const token = await s.session('duty')
    expect(s.service.update('duty', { disabled: true }, ADMIN).ok).toBe(true)
    expect(s.service.authenticate(token)).toBeUndefined()
    expect(await s.service.login('duty', PW)).toEqual({ ok: false })
    expect(s.logins.at(-1)).toBe('refused')
    expect(s.service.update('duty', { disabled: false }, ADMIN).ok).toBe(true)
    // Disabling ended the session for good; a new login works.
    expect(s.service.authenticate(token)).toBeUndefined()
    expect((await s.service.login('duty', PW)).ok).toBe(true)
  })
})

describe('sessions', () => {
  test('a session unused for 12 hours ends; one in use lasts until 24 hours after the login', async () => {
    const s = setup()
    await s.add('duty', ['operator'])
    const idle = await s.session('duty')
    const busy = await s.session('duty')
    s.advance(12 * H - 1)
    expect(s.service.authenticate(busy)?.expiresAt).toBe(s.now() + 12 * H) // idle, moved by use
    s.advance(1)
    expect(s.service.authenticate(idle)).toBeUndefined()
    expect(s.service.authenticate(busy)).toBeDefined() // used 1 ms ago
    s.advance(10 * H)
    expect(s.service.authenticate(busy)?.expiresAt).toBe(s.now() + 2 * H) // the absolute end is nearer
    s.advance(2 * H - 1)
    expect(s.service.authenticate(busy)).toBeDefined()
    s.advance(1)
    expect(s.service.authenticate(busy)).toBeUndefined()
  })

  test('a new password ends the account’s other sessions; one’s own change keeps the session making it', async () => {
    const s = setup()
    await s.add('duty', ['operator'])
    const a = await s.session('duty')
    const b = await s.session('duty')
    const me = s.service.authenticate(a)!
    expect(await s.service.setPassword('duty', { password: 'new password 1234' }, me)).toMatchObject({
      ok: false,
      reason: 'wrong_password',
    })
    expect(
      await s.service.setPassword(
        'duty',
        { password: 'new password 1234', oldPassword: 'not it at all' },
        me,
      ),
    ).toMatchObject({ ok: false, reason: 'wrong_password' })
    expect(s.service.account('duty')!.failedLogins).toBe(1) // a wrong old password counts like a login
    expect(
      await s.service.setPassword('duty', { password: 'new password 1234', oldPassword: PW }, me),
    ).toEqual({ ok: true, sessionsEnded: 1 })
    expect(s.service.authenticate(a)).toBeDefined()
    expect(s.service.authenticate(b)).toBeUndefined()
    expect((await s.service.login('duty', PW)).ok).toBe(false)
    const c = await s.session('duty', 'new password 1234')
    // An admin sets it without the old one, generates one when none is given, and ends them all.
    const r = await s.service.setPassword('duty', {}, ADMIN)
    if (!r.ok) throw new Error(r.message)
    expect(r.password).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(r.sessionsEnded).toBe(2)
    expect(s.service.authenticate(c)).toBeUndefined()
    expect((await s.service.login('duty', r.password!)).ok).toBe(true)
  })
})

describe('API tokens', () => {
  test('a token’s scope is within its owner’s roles, now as when it was made', async () => {
    const s = setup()
    await s.add('nodered', ['operator', 'approver'])
    expect(s.service.createToken('nodered', { name: 'x', roles: ['admin'] }, ADMIN)).toMatchObject({
      ok: false,
      reason: 'scope_exceeds_owner',
      message: expect.stringContaining('lacks the admin role'),
    })
    const t = s.service.createToken(
      'nodered',
      { name: 'node-red flows', roles: ['operator', 'viewer'] },
      ADMIN,
    )
    if (!t.ok) throw new Error(t.message)
    expect(t.token).toMatch(/^sbt_[A-Za-z0-9_-]{43}$/)
    expect(s.service.authenticate(t.token)).toMatchObject({
      id: 'nodered',
      roles: ['operator', 'viewer'],
      via: 'api_token',
      tokenId: t.id,
    })
    // The owner loses operator: so does the token (viewer stays, implied by approver).
    expect(s.service.update('nodered', { roles: ['approver'] }, ADMIN).ok).toBe(true)
    expect(s.service.authenticate(t.token)?.roles).toEqual(['viewer'])
    // Only the SHA-256 is stored, and listing never shows it.
    expect(JSON.stringify(s.service.tokens('nodered'))).not.toContain(t.token)
    expect(s.service.revokeToken('nodered', t.id, ADMIN)).toEqual({ ok: true })
    expect(s.service.authenticate(t.token)).toBeUndefined()
    expect(s.service.revokeToken('nodered', t.id, ADMIN)).toMatchObject({ ok: false, reason: 'not_found' })
  })

  test('an expiring token stops at its time; a disabled owner’s tokens are refused', async () => {
    const s = setup()
    await s.add('feed', ['viewer'])
    const t = s.service.createToken(
      'feed',
      { name: 'feed', roles: ['viewer'], expiresAt: s.now() + H },
      ADMIN,
    )
    const u = s.service.createToken('feed', { name: 'other', roles: ['viewer'] }, ADMIN)
    if (!t.ok || !u.ok) throw new Error('not made')
    s.advance(H - 1)
    expect(s.service.authenticate(t.token)).toBeDefined()
    s.advance(1)
    expect(s.service.authenticate(t.token)).toBeUndefined()
    const listed = s.service.tokens('feed')
    if (!listed.ok) throw new Error(listed.message)
    expect(listed.tokens.find((x) => x.id === t.id)?.lastUsedAt).toBe(s.now() - 1)
    expect(listed.tokens.find((x) => x.id === u.id)?.lastUsedAt).toBeNull()
    s.service.update('feed', { disabled: true }, ADMIN)
    expect(s.service.authenticate(u.token)).toBeUndefined()
  })
})

describe('accounts', () => {
  test('configured operators keep their tokens; no account may take their ids or the gateway’s', async () => {
    const token = 'config-token-of-root'
    const s = setup([
      {
        id: 'root',
        name: 'root',
        roles: ['admin'],
        tokenSha256: createHash('sha256').update(token).digest('hex'),
      },
    ])
    expect(s.service.authenticate(token)).toMatchObject({ id: 'root', via: 'config_token', roles: ['admin'] })
    expect(s.service.authenticate('some other token')).toBeUndefined()
    for (const id of ['root', 'system', 'cli'])
      expect(await s.service.create({ id, name: id, roles: ['viewer'], password: PW }, ADMIN)).toMatchObject({
        ok: false,
        reason: 'already_exists',
      })
    await s.add('duty', ['viewer'])
    expect(await s.service.create({ id: 'duty', name: 'x', roles: ['viewer'] }, ADMIN)).toMatchObject({
      ok: false,
      reason: 'already_exists',
    })
  })

  test('an admin may not take roles from or disable their own account; another admin may', async () => {
    const s = setup()
    await s.add('boss', ['admin'])
    await s.add('deputy', ['admin'])
    const boss = s.service.authenticate(await s.session('boss'))!
    expect(s.service.update('boss', { roles: ['viewer'] }, boss)).toMatchObject({
      ok: false,
      reason: 'own_account',
    })
    expect(s.service.update('boss', { disabled: true }, boss)).toMatchObject({
      ok: false,
      reason: 'own_account',
    })
    expect(s.service.update('boss', { name: 'The Boss', roles: ['admin'] }, boss)).toMatchObject({
      ok: true,
      operator: { name: 'The Boss', roles: ['admin'] },
    })
    expect(s.service.update('deputy', { roles: ['viewer'] }, boss)).toMatchObject({
      ok: true,
      operator: { roles: ['viewer'] },
    })
    expect(s.audit('operator_changed')[0]!.detail).toMatchObject({
      roles: ['viewer'],
      previousRoles: ['admin'],
      via: 'session',
    })
  })

  test('a generated password is answered once and only its hash is kept', async () => {
    const s = setup()
    const r = await s.service.create({ id: 'new', name: 'New', roles: ['viewer'] }, ADMIN)
    if (!r.ok) throw new Error(r.message)
    expect(r.password).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(s.hashOf('new')).toMatch(/^\$scrypt\$ln=4,/)
    expect(JSON.stringify(s.service.accounts())).not.toContain('$scrypt$')
    expect((await s.service.login('new', r.password!)).ok).toBe(true)
  })
})
