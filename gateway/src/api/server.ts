/**
 * The HTTP API (fastify, logging through the gateway's pino): health, stations, warnings with
 * their versions and deliveries, Prometheus metrics, and a minimal status page.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Metrics } from '../metrics.js'
import type { FaultMonitor } from '../faults/monitor.js'
import type { CurrentRuntime } from '../runtime.js'
import type { ReadingStore } from '../store/readings.js'
import type { WarningRepo } from '../warnings/repo.js'
import { STATUS_PAGE } from './status-page.js'

export interface ApiDeps {
  readonly runtime: CurrentRuntime
  readonly store: ReadingStore
  readonly warnings: WarningRepo
  readonly metrics: Metrics
  readonly log: Logger
  readonly info: () => Record<string, unknown>
  readonly faults: Pick<FaultMonitor, 'list'>
  /** Operator reset of a latched alarm. */
  readonly reset: (
    warningId: string,
    by: string,
  ) => Promise<
    { ok: true; version: number } | { ok: false; status: 404 | 409; message: string; holds?: unknown }
  >
}

const ResetBody = z.strictObject({
  /** Who resets: recorded in the audit log. */
  by: z.string().min(1).max(100),
})

const FaultsQuery = z.strictObject({
  state: z.enum(['active', 'all']).default('active'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

const WarningsQuery = z.strictObject({
  state: z.enum(['active', 'lifted', 'all']).default('all'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log.child({ component: 'api' }) as FastifyBaseLogger,
    // Per-request lines would drown the warnings in the log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  })

  // Bad requests name the field and the reason.
  const parse = <S extends z.ZodType>(schema: S, value: unknown) => {
    const r = schema.safeParse(value)
    if (r.success) return { ok: true as const, value: r.data as z.output<S> }
    return {
      ok: false as const,
      error: {
        error: 'bad_request',
        issues: r.error.issues.map((i) => ({ field: i.path.map(String).join('.'), message: i.message })),
      },
    }
  }

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(STATUS_PAGE))

  app.get('/health', async () => ({ status: 'ok', ...deps.info() }))
  app.get('/api/info', async () => deps.info())

  app.get('/api/stations', async () => {
    const { registry } = deps.runtime()
    return {
      stations: registry.stations.map((s) => ({
        id: s.id,
        name: s.name,
        region: s.region,
        regionName: registry.regionName(s.region),
        lat: s.lat ?? null,
        lon: s.lon ?? null,
        params: s.params,
        sensors: s.sensors,
        latest: deps.store.latest(s.id) ?? null,
      })),
    }
  })

  app.get('/api/terminals', async () => ({ terminals: deps.runtime().registry.terminals }))

  app.get('/api/warnings', async (req, reply) => {
    const q = parse(WarningsQuery, req.query)
    if (!q.ok) return reply.code(400).send(q.error)
    const rows = deps.warnings.list({
      ...(q.value.state !== 'all' ? { state: q.value.state } : {}),
      limit: q.value.limit,
    })
    return { warnings: rows.map((w) => ({ ...w, versions: deps.warnings.versions(w.id) })) }
  })

  app.get<{ Params: { id: string } }>('/api/warnings/:id', async (req, reply) => {
    const w = deps.warnings.get(req.params.id)
    if (!w) return reply.code(404).send({ error: 'not_found', message: `no warning ${req.params.id}` })
    return { ...w, versions: deps.warnings.versions(w.id) }
  })

  app.get<{ Params: { id: string } }>('/api/warnings/:id/deliveries', async (req, reply) => {
    const w = deps.warnings.get(req.params.id)
    if (!w) return reply.code(404).send({ error: 'not_found', message: `no warning ${req.params.id}` })
    const deliveries = deps.warnings.deliveries(w.id)
    const summary: Record<number, Record<string, number>> = {}
    for (const d of deliveries) {
      const s = (summary[d.version] ??= {})
      s[d.state] = (s[d.state] ?? 0) + 1
    }
    return { warningId: w.id, summary, deliveries }
  })

  app.post<{ Params: { id: string } }>('/api/warnings/:id/reset', async (req, reply) => {
    const body = parse(ResetBody, req.body ?? {})
    if (!body.ok) return reply.code(400).send(body.error)
    const r = await deps.reset(req.params.id, body.value.by)
    if (!r.ok)
      return reply
        .code(r.status)
        .send({ error: r.status === 404 ? 'not_found' : 'conflict', message: r.message, holds: r.holds })
    return { warningId: req.params.id, version: r.version, state: 'lifted' }
  })

  app.get('/api/faults', async (req, reply) => {
    const q = parse(FaultsQuery, req.query)
    if (!q.ok) return reply.code(400).send(q.error)
    return { faults: deps.faults.list(q.value.state, q.value.limit) }
  })

  app.get('/metrics', async (_req, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  )

  return app
}
