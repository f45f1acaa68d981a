/**
 * `shaobing operator …` against the store of a running gateway: the first admin is made on the
 * command line, logs in with the printed password, and each change (a token, a disable, an unlock)
 * is in force at the gateway's next request.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { main } from '../../gateway/src/cli/main.js'
import { api, makeConfigDir, startTestGateway } from '../helpers/gateway.js'

let config: string
let gw: Awaited<ReturnType<typeof startTestGateway>>['gw']
let base: string

beforeAll(async () => {
  config = makeConfigDir().config
  gw = (await startTestGateway(config)).gw
  base = gw.urls.http
})
afterAll(async () => gw?.stop())
afterEach(() => vi.restoreAllMocks())

/** Runs `shaobing operator ARGS --config …` in-process: its exit code and what it printed. */
async function cli(...args: string[]) {
  const out: string[] = []
  const err: string[] = []
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')))
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')))
  const code = await main(['operator', ...args, '--config', config])
  vi.restoreAllMocks()
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const printed = (text: string, label: string) => {
  const m = new RegExp(`^${label}: (\\S+)$`, 'm').exec(text)
  if (!m) throw new Error(`no ${label} in ${text}`)
  return m[1]!
}

const login = (username: string, password: string) =>
  api(base, 'POST', '/api/login', { username, password }, '')

describe('shaobing operator', () => {
  it('makes the first admin, who logs in and manages accounts through the API', async () => {
    const add = await cli('add', 'root', '--role', 'admin', '--name', '管理员')
    expect(add.code, add.err).toBe(0)
    const password = printed(add.out, 'password')
    const res = await login('root', password)
    expect(res.status).toBe(200)
    const { token } = (await res.json()) as { token: string }
    const created = await api(
      base,
      'POST',
      '/api/operators',
      { id: 'via-api', name: 'n', roles: ['viewer'] },
      token,
    )
    expect(created.status).toBe(200)

    const list = await cli('list', '--json')
    expect(list.code).toBe(0)
    const rows = (JSON.parse(list.out) as { operators: { id: string; roles: string[] }[] }).operators
    expect(rows.map((r) => r.id).sort()).toEqual(['root', 'via-api'])
    expect(list.out).not.toContain(password)

    expect((await cli('add', 'root', '--role', 'viewer')).code).toBe(1) // exists
    expect((await cli('add', 'bad', '--role', 'superuser')).code).toBe(2)
  })

  it('issues a token within the account’s roles; disable and enable apply at the next request', async () => {
    expect((await cli('add', 'ci-bot', '--role', 'operator')).code).toBe(0)
    const beyond = await cli('token', 'create', 'ci-bot', '--name', 'x', '--role', 'admin')
    expect(beyond.code).toBe(1)
    const made = await cli('token', 'create', 'ci-bot', '--name', 'deploy', '--role', 'operator')
    expect(made.code, made.err).toBe(0)
    const token = printed(made.out, 'token')
    const me = () => api(base, 'GET', '/api/me', undefined, token)
    expect(await (await me()).json()).toMatchObject({ id: 'ci-bot', via: 'api_token', roles: ['operator'] })

    expect((await cli('disable', 'ci-bot')).code).toBe(0)
    expect((await me()).status).toBe(401)
    expect((await cli('enable', 'ci-bot')).code).toBe(0)
    expect((await me()).status).toBe(200)

    const tokens = await cli('token', 'list', 'ci-bot', '--json')
    const [row] = JSON.parse(tokens.out) as { id: string }[]
    expect(row).toBeDefined()
    expect((await cli('token', 'revoke', 'ci-bot', row!.id)).code).toBe(0)
    expect((await me()).status).toBe(401)
  })

  it('a new password ends the sessions; unlock lifts a lockout', async () => {
    const add = await cli('add', 'night', '--role', 'viewer')
    const first = printed(add.out, 'password')
    const session = ((await (await login('night', first)).json()) as { token: string }).token
    const passwd = await cli('passwd', 'night')
    expect(passwd.code).toBe(0)
    const second = printed(passwd.out, 'password')
    expect((await api(base, 'GET', '/api/me', undefined, session)).status).toBe(401)
    expect((await login('night', first)).status).toBe(401)

    for (let i = 0; i < 5; i++) await login('night', `wrong password ${i}`)
    expect((await login('night', second)).status).toBe(401) // locked
    const unlock = await cli('unlock', 'night')
    expect(unlock.code).toBe(0)
    expect(unlock.out).toContain('unlocked night')
    expect((await login('night', second)).status).toBe(200)
  })
})
