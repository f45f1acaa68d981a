/**
 * The API describes itself: the OpenAPI 3 document generated from the contracts is valid, lists
 * every route the README documents, and Swagger UI renders it from assets the gateway serves
 * itself (a gateway in a county seat may have no internet). Refused requests keep their shape.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compileErrors, validate } from '@readme/openapi-parser'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { RunningGateway } from '../../gateway/src/app.js'
import { api, makeConfigDir, startTestGateway, TOKENS } from '../helpers/gateway.js'

let gw: RunningGateway
let base: string
beforeAll(async () => {
  ;({ gw } = await startTestGateway(makeConfigDir().config))
  base = gw.urls.http
})
afterAll(async () => {
  await gw?.stop()
})

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

/** `GET /api/warnings/{}`: path parameters renamed alike, queries dropped. */
const route = (method: string, path: string) =>
  `${method.toUpperCase()} ${path.replace(/\?.*$/, '').replace(/\{[^}]+\}/g, '{}')}`

/** The routes in the README's HTTP API table, e.g. `POST /api/warnings/{id}/lift`. */
function readmeRoutes(): string[] {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8')
  const section = readme.split('## HTTP API')[1]!.split('\n## ')[0]!
  const routes: string[] = []
  for (const row of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const cell = row.split(' | ')[0]!
    let last: { method: string; path: string } | undefined
    // `GET /a`, `POST /a/{id}/approve` (or `/reject`): the alternative replaces the last segment.
    for (const m of cell.matchAll(/`(GET|POST|PUT|PATCH|DELETE) ([^`\s]+)[^`]*`|\(or `\/([^`]+)`\)/g)) {
      if (m[1] && m[2]) last = { method: m[1], path: m[2] }
      else if (m[3] && last) last = { ...last, path: last.path.replace(/[^/]+$/, m[3]) }
      else continue
      routes.push(route(last.method, last.path))
    }
  }
  return routes
}

describe('OpenAPI document', () => {
  test('is valid OpenAPI 3 and lists every route the README documents', async () => {
    const res = await fetch(`${base}/api/openapi.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const doc = (await res.json()) as {
      openapi: string
      paths: Record<string, Partial<Record<(typeof METHODS)[number], unknown>>>
    }
    expect(doc.openapi).toMatch(/^3\./)
    // The validator dereferences what it is given: a copy.
    const result = await validate(structuredClone(doc) as Parameters<typeof validate>[0])
    expect(result.valid ? 'valid' : compileErrors(result)).toBe('valid')
    expect(result.warnings).toEqual([])

    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      METHODS.filter((m) => ops[m] !== undefined).map((m) => route(m, path)),
    )
    const readme = readmeRoutes()
    expect(readme.length).toBeGreaterThan(25)
    expect(readme.filter((r) => !documented.includes(r))).toEqual([])
    // And nothing undocumented is served: the README's table and the document agree.
    expect(documented.filter((r) => !readme.includes(r))).toEqual([])
  })

  test('describes requests and responses from the contracts', async () => {
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Record<string, unknown>>>
      components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> }
    }
    const issue = doc.paths['/api/warnings']!.post!
    expect(issue.security).toEqual([{ operator: [] }])
    expect(issue.requestBody).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ManualIssueInput' } } },
    })
    const manual = doc.components.schemas.ManualIssueInput!
    expect(manual).toMatchObject({ additionalProperties: false })
    expect(manual.required?.sort()).toEqual(['hazard', 'level', 'regions'])
    expect(Object.keys(issue.responses!)).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '404', '409']),
    )
    expect(doc.components.schemas.BadRequest!.properties).toHaveProperty('issues')
    // The CAP intake takes XML, and says it may answer 422 for an alert of another area.
    const cap = doc.paths['/api/cap']!.post!
    expect(Object.keys((cap.requestBody as { content: object }).content)).toContain('application/xml')
    expect(Object.keys(cap.responses!)).toEqual(expect.arrayContaining(['200', '415', '422']))
    // Open-ended rows keep their unknown fields.
    expect(doc.components.schemas.Warning).toMatchObject({ additionalProperties: {} })
  })

  test('Swagger UI at /api/docs loads everything from the gateway itself', async () => {
    for (const path of ['/api/docs', '/api/docs/']) {
      const page = await fetch(`${base}${path}`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toMatch(/^text\/html/)
      // The browser is told to fetch nothing from anywhere but the gateway.
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self';/)
      const html = await page.text()
      const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map(
        (m) => new URL(m[1]!, `${base}${path}`),
      )
      expect(assets.length).toBeGreaterThanOrEqual(5)
      for (const url of assets) {
        expect(url.origin).toBe(new URL(base).origin)
        const asset = await fetch(url)
        expect([url.pathname, asset.status]).toEqual([url.pathname, 200])
        const body = await asset.text()
        expect(body.length).toBeGreaterThan(0)
        if (url.pathname.endsWith('.css')) expect(body).not.toMatch(/url\(\s*['"]?https?:/)
      }
    }
    // Swagger UI reads the gateway's document and never asks the online validator.
    const init = await (await fetch(`${base}/api/docs/static/swagger-initializer.js`)).text()
    expect(init).toContain('validatorUrl: null')
    expect(init).toContain("resolveUrl('./json')")
    expect(await (await fetch(`${base}/api/docs/json`)).json()).toEqual(
      await (await fetch(`${base}/api/openapi.json`)).json(),
    )
  })
})

describe('refused requests', () => {
  test('keep their shape: every field at fault, by dotted path', async () => {
    const bad = await api(base, 'POST', '/api/warnings', {
      hazard: 'Rain storm',
      level: 'purple',
      regions: ['51'],
      colour: 'red',
    })
    expect(bad.status).toBe(400)
    const body = (await bad.json()) as { error: string; issues: { field: string; message: string }[] }
    expect(Object.keys(body).sort()).toEqual(['error', 'issues'])
    expect(body.error).toBe('bad_request')
    expect(body.issues.map((i) => i.field).sort()).toEqual(['', 'hazard', 'level', 'regions.0'])
    for (const i of body.issues) expect(Object.keys(i).sort()).toEqual(['field', 'message'])
    expect(body.issues.find((i) => i.field === '')!.message).toContain('colour')

    const version = await api(base, 'POST', '/api/warnings/w1/versions/first/approve')
    expect([version.status, await version.json()]).toEqual([
      400,
      { error: 'bad_request', issues: [{ field: 'version', message: 'expected a positive integer' }] },
    ])
    const query = await fetch(`${base}/api/audit?limit=0`)
    expect([
      query.status,
      ((await query.json()) as { issues: { field: string }[] }).issues[0]!.field,
    ]).toEqual([400, 'limit'])
  })

  test('a token is asked for before the body is looked at', async () => {
    const anon = await api(base, 'POST', '/api/warnings', { hazard: 'Rain storm' }, '')
    expect([anon.status, await anon.json()]).toEqual([
      401,
      { error: 'unauthorized', message: 'an operator token is needed: Authorization: Bearer <token>' },
    ])
    const clerk = await api(base, 'POST', '/api/warnings/w1/versions/1/approve', undefined, TOKENS.clerk)
    expect([clerk.status, await clerk.json()]).toEqual([
      403,
      { error: 'forbidden', message: 'clerk lacks the approver role' },
    ])
  })

  test('a body that is not JSON keeps fastify’s own answer', async () => {
    const res = await fetch(`${base}/api/warnings/w1/lift`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS.duty}` },
      body: '{not json',
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' })
  })

  // Found by tests/fuzz/gateway.test.ts: login's 400 schema is BadRequest alone, which fastify's
  // body broke, so an empty JSON body answered 500 (FST_ERR_RESPONSE_SERIALIZATION).
  test.each(['', '{not json'])(
    'a login whose JSON body is %j is a 400 with fastify’s reason, not a 500',
    async (body) => {
      const res = await fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({
        statusCode: 400,
        code: expect.stringMatching(/^FST_ERR_CTP_/),
      })
    },
  )
})
