/**
 * Node-RED embedded in a real gateway (`nodeRed.enabled`), on loopback port 0: the editor is
 * served, its admin API needs the admin's login (Node-RED's own OAuth token endpoint), the
 * Shaobing nodes of dashboards/node-red/ are in its palette, the configured flow file is installed
 * into the empty userDir and its flows get the configured environment; the gateway refuses to
 * start Node-RED without an admin password or on a network address without TLS.
 *
 * Node-RED is one per process and cannot be started again once stopped, so this file starts it
 * once; every refusal below happens before Node-RED would start.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startGateway, type RunningGateway } from '../../gateway/src/app.js'
import { CREDENTIAL_SECRET_FILE, nodePackageDir, PACKAGE_NAME } from '../../gateway/src/nodered/embedded.js'
import { captureLogger, makeConfigDir, startTestGateway } from '../helpers/gateway.js'

const PASSWORD_ENV = 'SHAOBING_TEST_NODE_RED_PASSWORD'
const PASSWORD = 'node-red admin pw, correct horse'
const ECHO_ENV = 'SHAOBING_TEST_NODE_RED_ECHO'
const ECHO = 'http://127.0.0.1:9/sluice-relay'

/** The package's node types and the file each is in (its package.json's `node-red.nodes`). */
const PACKAGE_DIR = nodePackageDir()
const NODES = (
  JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
    'node-red': { nodes: Record<string, string> }
  }
)['node-red'].nodes
/** Only the node files that exist yet (the package is being written beside this work). */
const PRESENT = Object.entries(NODES).filter(([, file]) => existsSync(join(PACKAGE_DIR, file)))

/** A flow: GET /api/echo answers with the environment variable ECHO_ENV, read by a change node. */
const FLOW = [
  { id: 'tab1', type: 'tab', label: 'echo' },
  { id: 'in1', type: 'http in', z: 'tab1', url: '/echo', method: 'get', wires: [['set1']] },
  {
    id: 'set1',
    type: 'change',
    z: 'tab1',
    rules: [{ t: 'set', p: 'payload', pt: 'msg', to: ECHO_ENV, tot: 'env' }],
    wires: [['out1']],
  },
  { id: 'out1', type: 'http response', z: 'tab1', statusCode: '200', wires: [] },
]

const nodeRedYaml = (fields: string) => `nodeRed: { enabled: true, port: 0, ${fields} }`
const ADMIN_YAML = `admin: { username: admin, password: { env: ${PASSWORD_ENV} } }`

async function token(base: string, username: string, password: string) {
  return fetch(`${base}auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: 'node-red-admin',
      grant_type: 'password',
      scope: '*',
      username,
      password,
    }).toString(),
  })
}

describe('Node-RED embedded in the gateway', () => {
  let gw: RunningGateway
  let lines: Record<string, unknown>[]
  let base: string
  let dir: string

  beforeAll(async () => {
    process.env[PASSWORD_ENV] = PASSWORD
    const made = makeConfigDir()
    dir = made.dir
    writeFileSync(join(dir, 'echo-flow.json'), JSON.stringify(FLOW))
    const env = `{ ${ECHO_ENV}: ${JSON.stringify(ECHO)} }`
    writeFileSync(
      made.config,
      `${readFileSync(made.config, 'utf8')}\n${nodeRedYaml(`${ADMIN_YAML}, flows: echo-flow.json, env: ${env}`)}\n`,
    )
    ;({ gw, lines } = await startTestGateway(join(dir, 'gateway.yaml')))
    base = gw.urls.nodeRed!
  })
  afterAll(async () => {
    await gw?.stop()
    delete process.env[PASSWORD_ENV]
  })

  test('it listens on loopback, says where, and the gateway reports it', async () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect(gw.ports.nodeRed).toBe(Number(new URL(base).port))
    expect(lines.some((l) => l.msg === `Node-RED editor on ${base}`)).toBe(true)
    const info = (await (await fetch(`${gw.urls.http}/api/info`)).json()) as Record<string, unknown>
    expect(info.nodeRedUrl).toBe(base)
    expect((info.ports as Record<string, unknown>).nodeRed).toBe(gw.ports.nodeRed)
  })

  test('the editor is served; its admin API needs a login', async () => {
    const page = await fetch(base)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<title>哨兵 Shaobing · Node-RED</title>')
    expect((await fetch(`${base}flows`)).status).toBe(401)
    expect((await fetch(`${base}nodes`, { headers: { accept: 'application/json' } })).status).toBe(401)
  })

  test('a wrong password or an unknown user gets no token', async () => {
    for (const [u, p] of [
      ['admin', 'not the password'],
      ['someone', PASSWORD],
    ] as const) {
      const res = await token(base, u, p)
      expect(res.status).toBe(403)
      expect(JSON.stringify(await res.json())).not.toContain('access_token')
    }
  })

  test('after logging in, the palette has the Shaobing nodes', async () => {
    const res = await token(base, 'admin', PASSWORD)
    expect(res.status).toBe(200)
    const { access_token } = (await res.json()) as { access_token: string }
    expect(access_token).toMatch(/\S{20,}/)
    const nodes = await fetch(`${base}nodes`, {
      headers: { accept: 'application/json', authorization: `Bearer ${access_token}` },
    })
    expect(nodes.status).toBe(200)
    const sets = (await nodes.json()) as {
      module: string
      types: string[]
      enabled: boolean
      local: boolean
      err?: string
    }[]
    const ours = sets.filter((s) => s.module === PACKAGE_NAME)
    expect(PRESENT.map(([type]) => type)).toContain('shaobing-gateway')
    for (const [type] of PRESENT) {
      const set = ours.find((s) => s.types.includes(type))
      expect(set, `node type ${type}`).toBeDefined()
      expect(set!.err, `node type ${type}`).toBeUndefined()
      expect(set!.enabled).toBe(true)
      // Found in the userDir's node_modules, where the gateway linked the package.
      expect(set!.local).toBe(true)
    }
    // The flows (installed from the configured file) are readable with the token too.
    const flows = await fetch(`${base}flows`, {
      headers: { accept: 'application/json', authorization: `Bearer ${access_token}` },
    })
    expect(((await flows.json()) as { id: string }[]).map((n) => n.id).sort()).toEqual(
      FLOW.map((n) => n.id).sort(),
    )
  })

  test('the configured flows are installed into the empty userDir and see the configured environment', async () => {
    const userDir = join(dir, 'data', 'node-red')
    expect(JSON.parse(readFileSync(join(userDir, 'flows.json'), 'utf8'))).toEqual(FLOW)
    const echo = await fetch(`${base}api/echo`)
    expect(echo.status).toBe(200)
    expect(await echo.text()).toBe(ECHO)
    // The credential secret was made and kept, private, beside the flows.
    expect(statSync(join(userDir, CREDENTIAL_SECRET_FILE)).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(userDir, CREDENTIAL_SECRET_FILE), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/)
  })

  test("Node-RED's logins and refusals are in the gateway's log, as audit lines", () => {
    const audit = lines.filter((l) => l.component === 'node-red' && l.audit === true)
    const at = (event: string) => audit.filter((l) => l.event === event)
    expect(at('auth.login').map((l) => [l.user, l.level])).toEqual([['admin', 30]])
    // The wrong password and the unknown user, each named.
    expect(at('auth.login.fail.credentials').map((l) => l.user)).toEqual(['admin', 'someone'])
    // Reads are audited at debug, not info: an editor load makes dozens.
    expect(at('flows.get').map((l) => l.level)).toEqual([20])
  })

  test('the password is in no log line', () => {
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.filter((l) => l.component === 'node-red').length).toBeGreaterThan(0)
    for (const l of lines) expect(JSON.stringify(l)).not.toContain(PASSWORD)
  })
})

describe('the gateway refuses to start Node-RED', () => {
  async function refusal(nodeRed: string, env: Record<string, string> = {}): Promise<string> {
    const { config } = makeConfigDir(undefined, nodeRed)
    Object.assign(process.env, env)
    try {
      const gw = await startGateway({ configPath: config, logger: captureLogger().logger })
      await gw.stop()
      return 'started'
    } catch (e) {
      return (e as Error).message
    } finally {
      for (const k of Object.keys(env)) delete process.env[k]
    }
  }

  test('without an admin', async () => {
    expect(await refusal(nodeRedYaml(''))).toMatch(/nodeRed\.admin: the Node-RED editor needs an admin login/)
  })

  test('with an admin whose password is not set or empty', async () => {
    expect(await refusal(nodeRedYaml(ADMIN_YAML))).toMatch(
      new RegExp(`nodeRed\\.admin\\.password\\.env: environment variable ${PASSWORD_ENV} is not set`),
    )
    expect(await refusal(nodeRedYaml(ADMIN_YAML), { [PASSWORD_ENV]: '  ' })).toMatch(
      new RegExp(`environment variable ${PASSWORD_ENV} is empty`),
    )
  })

  test('on a network address without the site accepting it', async () => {
    const message = await refusal(nodeRedYaml(`host: 0.0.0.0, ${ADMIN_YAML}`), { [PASSWORD_ENV]: PASSWORD })
    expect(message).toMatch(/refusing to start with insecure settings/)
    expect(message).toMatch(
      /plainListenerOnNetwork: nodeRed\.host 0\.0\.0\.0 \(the Node-RED editor over plain HTTP\)/,
    )
  })
})
