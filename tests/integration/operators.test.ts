/**
 * Operator accounts against a real gateway: password login, sessions that end (logout, idle, max
 * age) on the gateway's controlled clock, the lockout, scoped API tokens, roles, and every route
 * that changes state refusing a caller without a token (401) or with only the viewer role (403).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, makeConfigDir, OPERATORS_YAML, startTestGateway, TOKENS } from '../helpers/gateway.js'

const ADMIN_TOKEN = 'test-token-admin'
const sha = (t: string) => createHash('sha256').update(t).digest('hex')

let t = Date.parse('2026-06-01T08:00:00Z')
const now = () => t
const MIN = 60_000
const HOUR = 60 * MIN

let gw: Awaited<ReturnType<typeof startTestGateway>>['gw']
let base: string

/** The first admin is an operator of the configuration file (a bearer token, no password). */
beforeAll(async () => {
  const { config } = makeConfigDir()
  const yaml = readFileSync(config, 'utf8').replace(
    OPERATORS_YAML,
    `${OPERATORS_YAML}\n  - { id: root, name: 管理员, roles: [admin], tokenSha256: ${sha(ADMIN_TOKEN)} }`,
  )
  expect(yaml).toContain('id: root')
  writeFileSync(config, yaml)
  gw = (await startTestGateway(config, now)).gw
  base = gw.urls.http
})
afterAll(async () => gw?.stop())

const asAdmin = (method: string, path: string, body?: unknown) => api(base, method, path, body, ADMIN_TOKEN)

async function addAccount(id: string, roles: string[], password = `pw-${id}-correct horse`) {
  const res = await asAdmin('POST', '/api/operators', { id, name: `name ${id}`, roles, password })
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(200)
  return password
}

async function login(username: string, password: string) {
  const res = await api(base, 'POST', '/api/login', { username, password }, '')
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

async function tokenOf(username: string, password: string): Promise<string> {
  const r = await login(username, password)
  expect(r.status, JSON.stringify(r.body)).toBe(200)
  expect(typeof r.body.token).toBe('string')
  return r.body.token as string
}

const me = (token: string) => api(base, 'GET', '/api/me', undefined, token)

describe('login and sessions', () => {
  it('a login gives a session token that /api/me knows; logout revokes it', async () => {
    const pw = await addAccount('alice', ['operator'])
    const r = await login('alice', pw)
    expect(r.status).toBe(200)
    expect(r.body.operator).toEqual({ id: 'alice', name: 'name alice', roles: ['operator'] })
    expect(r.body.expiresAt).toBe(t + 24 * HOUR)
    const token = r.body.token as string

    const who = await me(token)
    expect(who.status).toBe(200)
    expect(await who.json()).toMatchObject({ id: 'alice', roles: ['operator'], via: 'session' })

    expect((await api(base, 'POST', '/api/logout', {}, token)).status).toBe(200)
    const after = await me(token)
    expect(after.status).toBe(401)
    expect(((await after.json()) as { error: string }).error).toBe('unauthorized')
  })

  it('an unknown user and a wrong password get the same 401 body', async () => {
    await addAccount('bob', ['viewer'])
    const unknown = await login('nobody-here', 'some password 123')
    const wrong = await login('bob', 'not bob’s password')
    expect(unknown.status).toBe(401)
    expect(wrong.status).toBe(401)
    expect(wrong.body).toEqual(unknown.body)
  })

  it('5 wrong passwords lock the account, with the same 401, until the lockout has passed', async () => {
    const pw = await addAccount('carol', ['viewer'])
    const refused = await login('nobody-at-all', 'x-wrong-password')
    for (let i = 0; i < 5; i++) {
      const r = await login('carol', `wrong password ${i}`)
      expect(r.status).toBe(401)
      expect(r.body).toEqual(refused.body)
    }
    // Locked: even the right password is refused, in the same words.
    const locked = await login('carol', pw)
    expect(locked.status).toBe(401)
    expect(locked.body).toEqual(refused.body)
    const view = (await (await asAdmin('GET', '/api/operators')).json()) as {
      operators: { id: string; locked: boolean }[]
    }
    expect(view.operators.find((a) => a.id === 'carol')?.locked).toBe(true)

    t += 14 * MIN
    expect((await login('carol', pw)).status).toBe(401)
    t += 2 * MIN // past the 15 minutes
    expect((await login('carol', pw)).status).toBe(200)
  })

  it('an admin unlocks a locked account sooner', async () => {
    const pw = await addAccount('dave', ['viewer'])
    for (let i = 0; i < 5; i++) await login('dave', `wrong ${i} password`)
    expect((await login('dave', pw)).status).toBe(401)
    const res = await asAdmin('POST', '/api/operators/dave/unlock', {})
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ unlocked: true })
    expect((await login('dave', pw)).status).toBe(200)
  })

  it('a session ends after 12 h unused, and at the latest 24 h after the login', async () => {
    const pw = await addAccount('erin', ['viewer'])
    const idle = await tokenOf('erin', pw)
    t += 12 * HOUR - MIN
    expect((await me(idle)).status).toBe(200) // used: the idle clock starts again
    t += 12 * HOUR - MIN
    expect((await me(idle)).status).toBe(200)
    t += 12 * HOUR + MIN
    expect((await me(idle)).status).toBe(401)

    const busy = await tokenOf('erin', pw)
    t += 11 * HOUR
    expect((await me(busy)).status).toBe(200)
    t += 11 * HOUR
    expect((await me(busy)).status).toBe(200) // 22 h after the login
    t += 3 * HOUR // 25 h after the login, though used 3 h ago
    expect((await me(busy)).status).toBe(401)
  })

  it('disabling an account ends its sessions and refuses its login', async () => {
    const pw = await addAccount('frank', ['operator'])
    const token = await tokenOf('frank', pw)
    expect((await asAdmin('PATCH', '/api/operators/frank', { disabled: true })).status).toBe(200)
    expect((await me(token)).status).toBe(401)
    const r = await login('frank', pw)
    expect(r.status).toBe(401)
    expect(r.body).toEqual((await login('nobody-else', 'x-wrong-password')).body)
  })
})

describe('one’s own account', () => {
  it('a password change needs the old one and ends the other sessions', async () => {
    const pw = await addAccount('gina', ['viewer'])
    const first = await tokenOf('gina', pw)
    const second = await tokenOf('gina', pw)
    const bare = await api(
      base,
      'POST',
      '/api/operators/gina/password',
      { password: 'a new long password' },
      first,
    )
    expect(bare.status).toBe(403)
    expect(await bare.json()).toMatchObject({ reason: 'wrong_password' })
    const other = await api(
      base,
      'POST',
      '/api/operators/bob/password',
      { password: 'a new long password' },
      first,
    )
    expect(other.status).toBe(403)
    const res = await api(
      base,
      'POST',
      '/api/operators/gina/password',
      { password: 'a new long password', oldPassword: pw },
      first,
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ sessionsEnded: 1 })
    expect((await me(first)).status).toBe(200)
    expect((await me(second)).status).toBe(401)
    expect((await login('gina', pw)).status).toBe(401)
    expect((await login('gina', 'a new long password')).status).toBe(200)
  })

  it('an admin may not take away their own roles or disable themselves', async () => {
    const token = await tokenOf('hal', await addAccount('hal', ['admin']))
    const roles = await api(base, 'PATCH', '/api/operators/hal', { roles: ['viewer'] }, token)
    expect(roles.status).toBe(409)
    expect(await roles.json()).toMatchObject({ reason: 'own_account' })
    const off = await api(base, 'PATCH', '/api/operators/hal', { disabled: true }, token)
    expect(off.status).toBe(409)
    expect(await (await me(token)).json()).toMatchObject({ roles: ['admin'] })
  })
})

describe('API tokens', () => {
  it('are scoped to roles their owner has, and refused once revoked', async () => {
    await addAccount('ivan', ['operator', 'approver'])
    const beyond = await asAdmin('POST', '/api/operators/ivan/tokens', { name: 'too much', roles: ['admin'] })
    expect(beyond.status).toBe(400)
    expect(await beyond.json()).toMatchObject({ error: 'bad_request', reason: 'scope_exceeds_owner' })

    const created = await asAdmin('POST', '/api/operators/ivan/tokens', { name: 'ci', roles: ['operator'] })
    expect(created.status).toBe(200)
    const { id, token } = (await created.json()) as { id: string; token: string }
    const who = await me(token)
    expect(await who.json()).toMatchObject({ id: 'ivan', roles: ['operator'], via: 'api_token', tokenId: id })
    // Its scope is operator: the approver role the owner has is not the token's.
    const approve = await api(base, 'POST', '/api/warnings/w-none/versions/1/approve', {}, token)
    expect(approve.status).toBe(403)

    const list = (await (await asAdmin('GET', '/api/operators/ivan/tokens')).json()) as {
      tokens: { id: string; name: string }[]
    }
    expect(list.tokens.map((x) => x.id)).toEqual([id])
    expect(JSON.stringify(list)).not.toContain(token)

    expect((await asAdmin('DELETE', `/api/operators/ivan/tokens/${id}`)).status).toBe(200)
    expect((await me(token)).status).toBe(401)
  })

  it('lose the roles their owner loses', async () => {
    await addAccount('judy', ['operator', 'approver'])
    const created = await asAdmin('POST', '/api/operators/judy/tokens', {
      name: 'both',
      roles: ['operator', 'approver'],
    })
    const { token } = (await created.json()) as { token: string }
    expect(await (await me(token)).json()).toMatchObject({ roles: ['operator', 'approver'] })
    expect((await asAdmin('PATCH', '/api/operators/judy', { roles: ['approver'] })).status).toBe(200)
    expect(await (await me(token)).json()).toMatchObject({ roles: ['approver'] })
  })

  it('stop at their expiry on the gateway’s clock', async () => {
    await addAccount('kate', ['viewer'])
    const created = await asAdmin('POST', '/api/operators/kate/tokens', {
      name: 'short',
      roles: ['viewer'],
      expiresAt: t + HOUR,
    })
    expect(created.status).toBe(200)
    const { token } = (await created.json()) as { token: string }
    expect((await me(token)).status).toBe(200)
    t += HOUR
    expect((await me(token)).status).toBe(401)
  })
})

describe('roles', () => {
  it('a viewer cannot act', async () => {
    const token = await tokenOf('viv', await addAccount('viv', ['viewer']))
    const res = await api(
      base,
      'POST',
      '/api/warnings',
      { hazard: 'rainstorm', level: 'blue', regions: ['r'], text: 'x' },
      token,
    )
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: string }).error).toBe('forbidden')
  })

  it('an admin alone can neither approve nor issue', async () => {
    const account = await tokenOf('ada', await addAccount('ada', ['admin']))
    for (const token of [ADMIN_TOKEN, account]) {
      const approve = await api(base, 'POST', '/api/warnings/w-none/versions/1/approve', {}, token)
      expect(approve.status).toBe(403)
      const issue = await api(
        base,
        'POST',
        '/api/warnings',
        { hazard: 'rainstorm', level: 'blue', regions: ['r'], text: 'x' },
        token,
      )
      expect(issue.status).toBe(403)
    }
  })

  it('only an admin manages accounts', async () => {
    for (const token of [TOKENS.duty, await tokenOf('opal', await addAccount('opal', ['operator']))]) {
      const res = await api(
        base,
        'POST',
        '/api/operators',
        { id: 'mallory', name: 'm', roles: ['admin'], password: 'a long enough password' },
        token,
      )
      expect(res.status).toBe(403)
    }
    expect((await login('mallory', 'a long enough password')).status).toBe(401)
  })
})

/**
 * Routes that change state but that any signed-in caller may use (their handlers check the rest:
 * one's own password needs the old one). A new route guarded only by `viewer` must be added here.
 */
const SIGNED_IN = new Set(['POST /api/logout', 'POST /api/operators/:id/password'])

describe('every route that changes state', () => {
  const path = (url: string) => url.replace(/:[A-Za-z]+/g, 'x1').replace(/\*$/, 'x1')

  it('is listed with who may call it', () => {
    const commands = gw.routes.filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method))
    const names = commands.map((r) => `${r.method} ${r.url}`)
    // The list is the server's own: the routes this test knows of are on it.
    for (const known of [
      'POST /api/warnings',
      'POST /api/warnings/:id/versions/:version/approve',
      'POST /api/operators',
      'DELETE /api/operators/:id/tokens/:tokenId',
      'POST /api/login',
    ])
      expect(names).toContain(known)
    // Only logging in is open.
    expect(commands.filter((r) => r.access === 'open').map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /api/login',
    ])
    for (const r of commands.filter((x) => x.access !== 'open')) expect(r.access).not.toBe('read')
    expect(
      commands
        .filter((r) => r.access === 'viewer')
        .map((r) => `${r.method} ${r.url}`)
        .sort(),
    ).toEqual([...SIGNED_IN].sort())
  })

  it('refuses a caller without a token (401) and a viewer (403)', async () => {
    const viewer = await tokenOf('vera', await addAccount('vera', ['viewer']))
    const commands = gw.routes.filter(
      (r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && r.access !== 'open',
    )
    expect(commands.length).toBeGreaterThan(15)
    const seen: string[] = []
    for (const r of commands) {
      const name = `${r.method} ${r.url}`
      const anonymous = await api(base, r.method, path(r.url), {}, '')
      expect(anonymous.status, name).toBe(401)
      expect(((await anonymous.json()) as { error: string }).error, name).toBe('unauthorized')
      const bogus = await api(base, r.method, path(r.url), {}, 'not-a-token-anyone-has')
      expect(bogus.status, name).toBe(401)
      if (SIGNED_IN.has(name)) continue
      const asViewer = await api(base, r.method, path(r.url), {}, viewer)
      expect(asViewer.status, name).toBe(403)
      expect(((await asViewer.json()) as { error: string }).error, name).toBe('forbidden')
      seen.push(name)
    }
    expect(seen.length).toBe(commands.length - SIGNED_IN.size)
    // The viewer is still signed in: the refusals were about roles, not the session.
    expect((await me(viewer)).status).toBe(200)
  })

  it('a refused caller adds nothing; an admin adds an account with a generated password', async () => {
    const res = await api(
      base,
      'POST',
      '/api/operators',
      { id: 'zed', name: 'z', roles: ['viewer'] },
      TOKENS.clerk,
    )
    expect(res.status).toBe(403)
    const created = await asAdmin('POST', '/api/operators', { id: 'zed', name: 'z', roles: ['viewer'] })
    const body = (await created.json()) as { id: string; password?: string }
    expect(body.id).toBe('zed')
    expect(typeof body.password).toBe('string') // generated, shown once
    expect((await login('zed', body.password!)).status).toBe(200)
  })
})
