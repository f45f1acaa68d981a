/**
 * The API's own description: an OpenAPI 3.1 document generated from the route contracts by
 * @fastify/swagger (with fastify-type-provider-zod's transforms), served at `/api/openapi.json`,
 * and Swagger UI at `/api/docs`. The UI's scripts and styles ship inside @fastify/swagger-ui and
 * are served by the gateway itself; its content security policy lets the browser load nothing
 * from anywhere else (the gateway often runs where there is no internet).
 */
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'

/** Same origin only; Swagger UI sets inline styles, and shows images from data: URIs. */
const DOCS_CSP = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
}

/** Tags of the document, one per resource plugin. */
const TAGS = [
  { name: 'gateway', description: 'liveness, ports and counts, Prometheus metrics' },
  { name: 'console', description: 'the duty officer’s console (dashboards/console/): its page and files' },
  { name: 'stations', description: 'stations with their constants, sensors and readings' },
  { name: 'terminals', description: 'village loudspeakers' },
  { name: 'warnings', description: 'warnings, their versions, deliveries, coverage; operators’ commands' },
  { name: 'approvals', description: 'versions waiting for approval, approving and rejecting them' },
  { name: 'alerts', description: 'rule firings at every station' },
  { name: 'silences', description: 'maintenance windows' },
  { name: 'rules', description: 'rule noise statistics' },
  { name: 'audit', description: 'the append-only audit log' },
  { name: 'faults', description: 'equipment faults (设备故障)' },
  { name: 'sms', description: 'the SMS channel' },
  { name: 'cap', description: 'OASIS CAP 1.2 alerts out and in, the Atom feed' },
  { name: 'events', description: 'the event stream (Server-Sent Events)' },
  { name: 'operators', description: 'login sessions, operator accounts and their API tokens' },
]

/**
 * The document without the component schemas nothing refers to: the provider emits an input and
 * an output variant of every named schema, and most are only ever one of the two.
 */
function withoutUnused<D extends object>(doc: D): D {
  const { paths, components } = doc as { paths?: unknown; components?: { schemas?: Record<string, unknown> } }
  const schemas = components?.schemas
  if (!schemas) return doc
  const used = new Set<string>()
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(visit)
    if (x === null || typeof x !== 'object') return
    for (const [k, v] of Object.entries(x)) {
      const m = k === '$ref' && typeof v === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(v) : null
      if (m && !used.has(m[1]!)) {
        used.add(m[1]!)
        visit(schemas[m[1]!])
      } else visit(v)
    }
  }
  visit(paths)
  return {
    ...doc,
    components: {
      ...components,
      schemas: Object.fromEntries(Object.entries(schemas).filter(([id]) => used.has(id))),
    },
  }
}

/** Registers the document generator (before any route, so it sees them all) and its two routes. */
export function registerDocs(app: FastifyInstance): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: '哨兵 Shaobing gateway API',
        description:
          'Changing anything needs an operator token with the role the route names (`Authorization: Bearer <token>`: ' +
          'a session from `POST /api/login`, an API token, or a configured operator token); reading needs a viewer ' +
          'when the gateway listens beyond loopback (`/health`, `/metrics` and this description stay open). ' +
          'A refused request is `{"error": "bad_request", "issues": [{"field", "message"}]}`.',
        version: '0.1.0',
      },
      tags: TAGS,
      components: {
        securitySchemes: {
          operator: {
            type: 'http',
            scheme: 'bearer',
            description: 'a session token (POST /api/login), an API token, or a configured operator token',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (doc) => withoutUnused(jsonSchemaTransformObject(doc)),
  })
  void app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: DOCS_CSP })
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
