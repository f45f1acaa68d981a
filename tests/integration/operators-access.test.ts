/**
 * Who may call what, against a real gateway over real HTTP (operators.test.ts has logins,
 * sessions, lockout and tokens one by one): for every route that changes state, enumerated from the
 * gateway's own route table, 401 without a token, 403 with each role that is not enough, through
 * with the right one, and an audit entry naming who; every read needing a viewer where reads need
 * one; the login counters; the demo's operator accounts. Nothing listens beyond 127.0.0.1.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { startGateway } from '../../gateway/src/app.js'
import { enrollDemo } from '../../gateway/src/cli/demo-identities.js'
import { operatorMain } from '../../gateway/src/cli/operators.js'
import type { Role } from '../../gateway/src/api/auth.js'
import {
  api,
  captureLogger,
  getJson,
  makeConfigDir,
  metric,
  startTestGateway,
  TOKENS,
} from '../helpers/gateway.js'
import { clock } from '../helpers/wait.js'

const M = 60_000
const pw = (id: string) => `password-of-${id}-long-enough`
const REFUSED = {
  error: 'unauthorized',
  message: 'wrong username or password (or the account is disabled or locked)',
}

/** Runs `shaobing operator …` against a configuration's store; its exit code and output. */
async function cli(config: string, ...argv: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = []
  const log = vi.spyOn(console, 'log').mockImplementation((s: unknown) => void out.push(String(s)))
  const err = vi.spyOn(console, 'error').mockImplementation((s: unknown) => void out.push(String(s)))
  try {
    return { code: await operatorMain([...argv, '--config', config]), out }
  } finally {
    log.mockRestore()
    err.mockRestore()
  }
}
const printed = (out: string[], what: string) =>
  new RegExp(`^${what}: (\\S+)$`).exec(out.find((l) => l.startsWith(`${what}: `)) ?? '')?.[1]

const c = clock()
let gw: RunningGateway
let base: string
let config: string
/** The first admin's API token (made with the CLI before the gateway started): no idle expiry. */
let ADMIN: string

beforeAll(async () => {
  ;({ config } = makeConfigDir())
  const added = await cli(config, 'add', 'boss', '--role', 'admin', '--name', '系统管理员')
  expect(added.code).toBe(0)
  expect(printed(added.out, 'password')).toMatch(/^[A-Za-z0-9_-]{43}$/)
  const token = await cli(config, 'token', 'create', 'boss', '--name', 'the tests', '--role', 'admin')
  expect(token.code).toBe(0)
  ADMIN = printed(token.out, 'token')!
  ;({ gw } = await startTestGateway(config, c.now))
  base = gw.urls.http
})
afterAll(async () => gw?.stop())

const login = async (username: string, password: string) => {
  const res = await api(base, 'POST', '/api/login', { username, password }, '')
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}
const session = async (id: string, password = pw(id)): Promise<string> => {
  const r = await login(id, password)
  if (r.status !== 200) throw new Error(`${id} could not log in: ${JSON.stringify(r.body)}`)
  return r.body.token as string
}
/** Adds an account through the API as the admin; its password is pw(id). */
const account = async (id: string, roles: Role[]) => {
  const res = await api(base, 'POST', '/api/operators', { id, name: id, roles, password: pw(id) }, ADMIN)
  expect([res.status, await res.json()]).toEqual([200, { ok: true, id }])
}
const me = (token: string) => api(base, 'GET', '/api/me', undefined, token)
const logins = (outcome: string) => metric(base, 'shaobing_operator_login_total', `outcome="${outcome}"`)

describe('logins on /metrics', () => {
  test('refused, locked and successful logins and lockouts are counted', async () => {
    await account('counted', ['viewer'])
    const before = {
      success: await logins('success'),
      refused: await logins('refused'),
      locked: await logins('locked'),
      lockouts: await metric(base, 'shaobing_operator_lockouts_total'),
    }
    expect(await login('someone-unknown', 'whatever-it-is')).toEqual({ status: 401, body: REFUSED })
    for (let i = 0; i < 5; i++) await login('counted', `wrong-guess-${i}`)
    expect(await login('counted', pw('counted'))).toEqual({ status: 401, body: REFUSED })
    c.advance(15 * M)
    expect((await login('counted', pw('counted'))).status).toBe(200)
    expect({
      success: await logins('success'),
      refused: await logins('refused'),
      locked: await logins('locked'),
      lockouts: await metric(base, 'shaobing_operator_lockouts_total'),
    }).toEqual({
      success: before.success + 1,
      refused: before.refused + 6,
      locked: before.locked + 1,
      lockouts: before.lockouts + 1,
    })
    // The lock and who lifted nothing: the audit log says when it locked, never an unknown name.
    const audit = await getJson<{ audit: { actor: string; action: string }[] }>(
      base,
      '/api/audit?subject=operator:counted&limit=100',
    )
    expect(audit.audit.filter((a) => a.action === 'login_failed')).toHaveLength(5)
    expect(audit.audit.filter((a) => a.action === 'operator_locked')).toHaveLength(1)
    expect(JSON.stringify(await getJson(base, '/api/audit?limit=1000'))).not.toContain('someone-unknown')
  })
})

/**
 * Every route that changes state and the role it needs. A new route must be added here (the first
 * test fails until it is), which is where its author decides who may call it.
 */
const COMMANDS: Record<string, { guard: Role | 'open'; needs?: Role }> = {
  'POST /api/warnings': { guard: 'operator' },
  'POST /api/warnings/:id/update': { guard: 'operator' },
  'POST /api/warnings/:id/lift': { guard: 'operator' },
  'POST /api/warnings/:id/ack': { guard: 'operator' },
  'POST /api/warnings/:id/reset': { guard: 'operator' },
  'POST /api/warnings/:id/answer': { guard: 'operator' },
  'POST /api/warnings/:id/versions/:version/approve': { guard: 'approver' },
  'POST /api/warnings/:id/versions/:version/reject': { guard: 'approver' },
  'POST /api/silences': { guard: 'operator' },
  'DELETE /api/silences/:id': { guard: 'operator' },
  'POST /api/cap': { guard: 'operator' },
  'POST /api/login': { guard: 'open' },
  'POST /api/logout': { guard: 'viewer' },
  'POST /api/operators': { guard: 'admin' },
  'PATCH /api/operators/:id': { guard: 'admin' },
  // Anyone signed in reaches it (their own password); another's, as called here, needs an admin.
  'POST /api/operators/:id/password': { guard: 'viewer', needs: 'admin' },
  'POST /api/operators/:id/unlock': { guard: 'admin' },
  'POST /api/operators/:id/tokens': { guard: 'admin' },
  'DELETE /api/operators/:id/tokens/:tokenId': { guard: 'admin' },
}
const READS = ['GET', 'HEAD', 'OPTIONS']
/** A route's path with its parameters filled so that nothing is found (and so nothing changes). */
const fill = (url: string) =>
  url
    .replace(/:version/g, '1')
    .replace(/:id/g, '9999')
    .replace(/:tokenId/g, 'none')
    .replace(/\*$/, 'x')

describe('every command checks its role', () => {
  test('the gateway’s route table and this test agree on every route that changes state', () => {
    const served = Object.fromEntries(
      gw.routes.filter((r) => !READS.includes(r.method)).map((r) => [`${r.method} ${r.url}`, r.access]),
    )
    expect(served).toEqual(Object.fromEntries(Object.entries(COMMANDS).map(([k, v]) => [k, v.guard])))
  })

  test('401 without a token, 403 with each wrong role, through with the right one — and audited', async () => {
    // One account per role, each signed in; admin is neither operator nor approver.
    const holders: Record<Role, string> = {} as Record<Role, string>
    for (const role of ['viewer', 'operator', 'approver', 'admin'] as const) {
      await account(`only-${role}`, [role])
      holders[role] = await session(`only-${role}`)
    }
    const calls: { route: string; actor: string; status: number }[] = []
    for (const [route, { guard, needs }] of Object.entries(COMMANDS)) {
      if (guard === 'open') continue
      const [method, url] = route.split(' ') as [string, string]
      // A body no command accepts (so nothing changes) and ids nothing has.
      const send = (token: string) =>
        api(base, method, fill(url), method === 'DELETE' ? undefined : { unexpected: true }, token)
      const anon = await send('')
      expect([route, anon.status]).toEqual([route, 401])
      const role = needs ?? guard
      for (const [held, token] of Object.entries(holders) as [Role, string][]) {
        const res = await send(token)
        const allowed = held === role || role === 'viewer'
        if (allowed) expect([401, 403], `${route} as ${held}: ${res.status}`).not.toContain(res.status)
        else expect([route, held, res.status]).toEqual([route, held, 403])
        calls.push({ route, actor: `only-${held}`, status: res.status })
      }
    }
    // Nothing was changed by the calls let through (no logout either): every holder is still in.
    for (const token of Object.values(holders)) expect((await me(token)).status).toBe(200)
    // Every one of those calls, refused or not, is in the audit log with who made it and how.
    const audit = await getJson<{
      audit: { actor: string; action: string; subject: string; detail: { via: string; status: number } }[]
    }>(base, '/api/audit?action=api_call&limit=1000')
    for (const call of calls)
      expect(
        audit.audit.some(
          (a) =>
            a.actor === call.actor &&
            a.subject === call.route &&
            a.detail.via === 'session' &&
            a.detail.status === call.status,
        ),
        `${call.actor} ${call.route} ${call.status}`,
      ).toBe(true)
  })

  test('a login is audited as its account’s call; an anonymous refusal, which changed nothing, is not', async () => {
    await account('audited', ['viewer'])
    await session('audited')
    expect((await api(base, 'POST', '/api/warnings/8888/lift', {}, '')).status).toBe(401)
    const audit = await getJson<{ audit: { actor: string; subject: string; detail: { path: string } }[] }>(
      base,
      '/api/audit?action=api_call&limit=1000',
    )
    expect(audit.audit.filter((a) => a.subject === 'POST /api/login').map((a) => a.actor)).toContain(
      'audited',
    )
    expect(audit.audit.filter((a) => a.detail.path === '/api/warnings/8888/lift')).toEqual([])
  })
})

describe('reads', () => {
  test('are open on a loopback listener, as before', async () => {
    expect((await fetch(`${base}/api/warnings`)).status).toBe(200)
    expect((await fetch(`${base}/api/audit`)).status).toBe(200)
  })

  test('need a viewer where configured, on every read route but liveness, metrics, the API description and the console’s page', async () => {
    const dir = makeConfigDir()
    writeFileSync(
      dir.config,
      readFileSync(dir.config, 'utf8').replace(
        /^http: .*$/m,
        'http: { host: 127.0.0.1, port: 0, readsNeedViewer: true }',
      ),
    )
    const added = await cli(dir.config, 'add', 'watcher', '--role', 'viewer')
    const { gw: g } = await startTestGateway(dir.config)
    try {
      const url = g.urls.http
      const viewer = await (async () => {
        const r = await api(
          url,
          'POST',
          '/api/login',
          { username: 'watcher', password: printed(added.out, 'password') },
          '',
        )
        return ((await r.json()) as { token: string }).token
      })()
      const reads = g.routes.filter((r) => READS.includes(r.method) && r.access === 'read')
      expect(reads.map((r) => `${r.method} ${r.url}`)).toEqual(
        expect.arrayContaining([
          'GET /api/warnings',
          'HEAD /api/warnings',
          'GET /api/events',
          'GET /api/audit',
        ]),
      )
      // The console's page and files are open like the login they lead to; they hold no data.
      const open = g.routes.filter((r) => r.access === 'open').map((r) => `${r.method} ${r.url}`)
      expect(open).toEqual(expect.arrayContaining(['GET /', 'GET /console/*']))
      for (const r of reads) {
        const status = async (token?: string) => {
          const ctl = new AbortController()
          const res = await fetch(url + fill(r.url), {
            method: r.method,
            signal: ctl.signal,
            headers: token ? { authorization: `Bearer ${token}` } : {},
          })
          ctl.abort() // the event stream would not end by itself
          return res.status
        }
        expect([r.method, r.url, await status()]).toEqual([r.method, r.url, 401])
        const name = `${r.method} ${r.url}`
        expect([401, 403], `${name} as a viewer`).not.toContain(await status(viewer))
        // A configured operator's token reads too (operator implies viewer).
        expect([401, 403], `${name} as clerk`).not.toContain(await status(TOKENS.clerk))
      }
      for (const path of ['/health', '/metrics', '/api/openapi.json', '/api/docs', '/', '/console/app.js'])
        expect([path, await fetch(url + path).then(async (r) => (await r.arrayBuffer(), r.status))]).toEqual([
          path,
          200,
        ])
    } finally {
      await g.stop()
    }
  })
})

describe('the demo’s operators', () => {
  test('get printed passwords in the credentials file, and refuse a real start until changed', async () => {
    const dir = makeConfigDir()
    const demo = await enrollDemo(dir.config, {})
    expect(demo.operators.map((o) => [o.id, o.roles])).toEqual([
      ['duty', ['operator', 'approver']],
      ['approver', ['approver']],
      ['admin', ['admin']],
    ])
    const file = JSON.parse(readFileSync(demo.file, 'utf8')) as { operators: Record<string, string> }
    expect(file.operators).toEqual(Object.fromEntries(demo.operators.map((o) => [o.id, o.password])))
    const { logger } = captureLogger()
    await expect(startGateway({ configPath: dir.config, logger })).rejects.toThrow(
      /demoCredentials: operator accounts admin, approver, duty were created by the demo/,
    )
    const g = await startGateway({ configPath: dir.config, logger, demo: true })
    try {
      const duty = demo.operators[0]!
      const r = await api(
        g.urls.http,
        'POST',
        '/api/login',
        { username: 'duty', password: duty.password },
        '',
      )
      expect(r.status).toBe(200)
    } finally {
      await g.stop()
    }
    // A password of one's own (or a disabled account) makes it a real account, no longer the demo's.
    for (const id of ['duty', 'approver']) expect((await cli(dir.config, 'passwd', id)).code).toBe(0)
    expect((await cli(dir.config, 'disable', 'admin')).code).toBe(0)
    // Still refused, for the demo's devices now, but no longer for its operators.
    const refusal = await startGateway({ configPath: dir.config, logger }).then(
      async (started) => (await started.stop(), 'started'),
      (e: Error) => e.message,
    )
    expect(refusal).toMatch(/device identities were created by the demo/)
    expect(refusal).not.toMatch(/operator accounts/)
  })
})
