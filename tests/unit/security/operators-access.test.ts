/**
 * Who may do what: the role hierarchy, when reads need a viewer, the settings refused at start, and
 * the API's refusal to register a command without a role check (checked on an API that never
 * listens).
 */
import { pino } from 'pino'
import { describe, expect, test } from 'vitest'
import type { ApiDeps } from '../../../gateway/src/api/server.js'
import { buildApi } from '../../../gateway/src/api/server.js'
import { GatewayConfigFile } from '../../../gateway/src/config/schema.js'
import { OPERATOR_ROLES } from '../../../gateway/src/contracts/api.js'
import { insecureSettings } from '../../../gateway/src/security/defaults.js'
import { grants, readsNeedViewer } from '../../../gateway/src/security/operators.js'

describe('roles', () => {
  test('every role implies viewer and nothing else: an admin is not an operator or an approver', () => {
    const table = Object.fromEntries(
      OPERATOR_ROLES.map((held) => [held, OPERATOR_ROLES.filter((r) => grants([held], r))]),
    )
    expect(table).toEqual({
      viewer: ['viewer'],
      operator: ['viewer', 'operator'],
      approver: ['viewer', 'approver'],
      admin: ['viewer', 'admin'],
    })
    expect(grants(['operator', 'approver'], 'approver')).toBe(true)
    expect(grants([], 'viewer')).toBe(false)
  })
})

describe('reads need a viewer', () => {
  test('when the listener is beyond loopback, unless the configuration says otherwise', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', 'localhost'])
      expect(readsNeedViewer({ host }), host).toBe(false)
    for (const host of ['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', 'gateway.county.local', '128.0.0.1'])
      expect(readsNeedViewer({ host }), host).toBe(true)
    expect(readsNeedViewer({ host: '127.0.0.1', readsNeedViewer: true })).toBe(true)
    expect(readsNeedViewer({ host: '0.0.0.0', readsNeedViewer: false })).toBe(false)
  })

  test('leaving reads open on a network listener is an insecure setting; on loopback it is the default', () => {
    const config = (http: Record<string, unknown>) =>
      GatewayConfigFile.parse({ registry: 'county.yaml', http, mqtt: { host: '127.0.0.1' } })
    const settings = (http: Record<string, unknown>) =>
      insecureSettings(config(http), { demo: false, demoDevices: 0 }).map((i) => i.setting)
    expect(settings({ host: '0.0.0.0', readsNeedViewer: false })).toEqual([
      'http.readsNeedViewer',
      'plainListenerOnNetwork',
    ])
    expect(settings({ host: '0.0.0.0' })).toEqual(['plainListenerOnNetwork'])
    expect(settings({ host: '127.0.0.1', readsNeedViewer: false })).toEqual([])
  })
})

describe('demo operator accounts', () => {
  test('refuse a real start, naming them, and are expected in the demo', () => {
    const config = GatewayConfigFile.parse({ registry: 'county.yaml' })
    const found = insecureSettings(config, { demo: false, demoDevices: 0, demoOperators: ['admin', 'duty'] })
    expect(found).toEqual([
      {
        setting: 'demoCredentials',
        why: expect.stringMatching(/operator accounts admin, duty .*shaobing operator passwd\|disable/),
      },
    ])
    expect(insecureSettings(config, { demo: true, demoDevices: 0, demoOperators: ['admin'] })).toEqual([])
  })
})

describe('the API registers no command without a role check', () => {
  // Only what building the API touches: nothing is listened on or called.
  const deps = () =>
    ({
      log: pino({ level: 'silent' }),
      events: { bus: {}, store: {} },
      accounts: { authenticate: () => undefined },
      readsNeedViewer: () => false,
    }) as unknown as ApiDeps

  test('a route that changes state without requireRole refuses the start', async () => {
    const app = buildApi(deps())
    void app.register(async (a) => {
      a.delete('/api/oops', async () => ({ ok: true }))
    })
    await expect(app.ready()).rejects.toThrow('DELETE /api/oops changes state but has no requireRole hook')
  })

  test('each route’s access is recorded: commands their role, reads a viewer check, login open', async () => {
    const app = buildApi(deps())
    await app.ready()
    const access = (method: string, url: string) =>
      app.routeAccess.find((r) => r.method === method && r.url === url)?.access
    expect(access('POST', '/api/warnings/:id/lift')).toBe('operator')
    expect(access('POST', '/api/warnings/:id/versions/:version/approve')).toBe('approver')
    expect(access('POST', '/api/operators')).toBe('admin')
    expect(access('GET', '/api/operators')).toBe('admin')
    expect(access('GET', '/api/warnings')).toBe('read')
    expect(access('HEAD', '/api/warnings')).toBe('read')
    expect(access('POST', '/api/login')).toBe('open')
    expect(access('GET', '/metrics')).toBe('open')
    expect(access('GET', '/health')).toBe('open')
    const commands = app.routeAccess.filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method))
    expect(commands.filter((r) => r.access === 'read')).toEqual([])
    await app.close()
  })
})
