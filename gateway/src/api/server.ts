/**
 * The HTTP API (fastify, logging through the gateway's pino): health, stations, warnings with
 * their versions, approvals, escalations and deliveries; alerts (muted ones with their silence),
 * silences, rule noise statistics, the audit log; operators' actions (issue, update, lift,
 * acknowledge, approve, silence, reset) behind bearer tokens; Prometheus metrics.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Metrics } from '../metrics.js'
import type { FaultMonitor } from '../faults/monitor.js'
import type { CurrentRuntime } from '../runtime.js'
import type { ReadingStore } from '../store/readings.js'
import { LEVELS } from '../../../rules/src/index.js'
import { RegionCode } from '../registry/schema.js'
import { outermost, regionContains } from '../../../rules/src/index.js'
import type { Outcome } from '../core/outcome.js'
import type { AlertManager } from '../alerting/manager.js'
import { reportOf, type VersionRow, type WarningRow } from '../warnings/model.js'
import type { WarningQueries } from './queries.js'
import { httpOf } from './outcome.js'
import { expiresAt } from '../warnings/expiry.js'
import { atomFeed, capAlert, type CapSender } from '../cap/cap.js'
import { readCap } from '../cap/intake.js'
import type { SmsChannel } from '../channels/sms/channel.js'
import type { CalloutChannel } from '../channels/callout/channel.js'
import { authenticate, type Operator, type Role } from './auth.js'
import { STATUS_PAGE } from './status-page.js'

export interface ApiDeps {
  readonly runtime: CurrentRuntime
  readonly store: ReadingStore
  readonly warnings: WarningQueries
  readonly metrics: Metrics
  readonly log: Logger
  readonly info: () => Record<string, unknown>
  readonly faults: Pick<FaultMonitor, 'list'>
  readonly manager: AlertManager
  /** How long a released version is valid (CAP `expires`). */
  readonly playableForMs: number
  readonly people: CalloutChannel
  readonly sms: SmsChannel | undefined
  /** The operators in force (a reload may change them). */
  readonly operators: () => readonly Operator[]
  /** The gateway's wall clock (silences start now unless told otherwise). */
  readonly now: () => number
  /** Who this gateway is in its CAP alerts. */
  readonly cap: CapSender
}

const Level = z.enum(LEVELS)
const Hazard = z.string().regex(/^[a-z][a-z0-9_]*$/, 'hazards are snake_case, e.g. flood, rainstorm')

const ManualIssue = z.strictObject({
  hazard: Hazard,
  level: Level,
  /** CAP status: Exercise and Test go only to drill terminals. */
  status: z.enum(['Actual', 'Exercise', 'Test']).default('Actual'),
  /** Regions whose loudspeakers it goes to: 12-digit codes (a county covers its villages). */
  regions: z.array(RegionCode).min(1).max(500),
  /** The broadcast text; by default one is composed from hazard, level and places. */
  text: z.string().min(1).max(1000).optional(),
})
const ManualUpdate = z.strictObject({ level: Level, text: z.string().min(1).max(1000).optional() })
const Silence = z
  .strictObject({
    stationId: z.string().min(1).max(64).optional(),
    region: RegionCode.optional(),
    hazard: Hazard.optional(),
    /** Epoch ms or ISO-8601; default now. */
    startsAt: z
      .union([z.number().int(), z.iso.datetime({ offset: true }).transform((x) => Date.parse(x))])
      .optional(),
    endsAt: z.union([z.number().int(), z.iso.datetime({ offset: true }).transform((x) => Date.parse(x))]),
    reason: z.string().min(1).max(500),
  })
  .refine((x) => x.stationId !== undefined || x.region !== undefined || x.hazard !== undefined, {
    message: 'a silence needs at least one of stationId, region, hazard',
    path: ['stationId'],
  })
const AuditQuery = z.strictObject({
  subject: z.string().max(200).optional(),
  action: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})
const Empty = z.strictObject({})
const Answer = z.strictObject({ personId: z.string().min(1).max(64) })

const FaultsQuery = z.strictObject({
  state: z.enum(['active', 'all']).default('active'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
})

const ReadingsQuery = z
  .strictObject({
    from: z.coerce.number().int().nonnegative().default(0),
    to: z.coerce.number().int().positive().default(Number.MAX_SAFE_INTEGER),
    limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  })
  .refine((q) => q.from < q.to, { message: 'from must be before to', path: ['from'] })

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

  /** The operator behind the request, or the reply already sent (401 / 403). */
  const who = (
    req: { headers: Record<string, unknown> },
    reply: { code(n: number): { send(x: unknown): unknown } },
    role: Role,
  ) => {
    const op = authenticate(req.headers.authorization as string | undefined, deps.operators())
    if (!op) {
      reply.code(401).send({
        error: 'unauthorized',
        message: 'an operator token is needed: Authorization: Bearer <token>',
      })
      return undefined
    }
    if (!op.roles.includes(role)) {
      reply.code(403).send({ error: 'forbidden', message: `${op.id} lacks the ${role} role` })
      return undefined
    }
    return op
  }
  /** Sends an operator action's outcome: 200 with its fields, or its status with the reason. */
  const answer = (reply: { code(n: number): { send(x: unknown): unknown } }, r: Outcome) => {
    const { status, body } = httpOf(r)
    return reply.code(status).send(body)
  }
  const withReport = (v: VersionRow) => ({ ...v, ...reportOf(v.action) })

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

  app.get<{ Params: { id: string } }>('/api/stations/:id/readings', async (req, reply) => {
    const q = parse(ReadingsQuery, req.query)
    if (!q.ok) return reply.code(400).send(q.error)
    if (!deps.runtime().registry.stations.some((s) => s.id === req.params.id))
      return reply.code(404).send({ error: 'not_found', message: `no station ${req.params.id}` })
    const { from, to, limit } = q.value
    return { readings: deps.store.history(req.params.id, from, to, limit) }
  })

  app.get('/api/terminals', async () => ({ terminals: deps.runtime().registry.terminals }))

  app.get('/api/warnings', async (req, reply) => {
    const q = parse(WarningsQuery, req.query)
    if (!q.ok) return reply.code(400).send(q.error)
    const rows = deps.warnings.list({
      ...(q.value.state !== 'all' ? { state: q.value.state } : {}),
      limit: q.value.limit,
    })
    return { warnings: rows.map((w) => ({ ...w, versions: deps.warnings.versions(w.id).map(withReport) })) }
  })

  app.get<{ Params: { id: string } }>('/api/warnings/:id', async (req, reply) => {
    const w = deps.warnings.get(req.params.id)
    if (!w) return reply.code(404).send({ error: 'not_found', message: `no warning ${req.params.id}` })
    return {
      ...w,
      versions: deps.warnings
        .versions(w.id)
        .map((v) => ({ ...withReport(v), approvals: deps.warnings.approvals(w.id, v.version) })),
      escalations: deps.warnings.escalations(w.id),
      callouts: deps.people.callouts(w.id),
      sms: deps.sms?.messages(w.id) ?? [],
      audit: deps.warnings.auditLog({ subject: w.id, limit: 200 }),
    }
  })

  app.post('/api/warnings', async (req, reply) => {
    const op = who(req, reply, 'operator')
    if (!op) return reply
    const body = parse(ManualIssue, req.body ?? {})
    if (!body.ok) return reply.code(400).send(body.error)
    return answer(
      reply,
      await deps.manager.issueManual(body.value, { id: op.id, approver: op.roles.includes('approver') }),
    )
  })

  app.post<{ Params: { id: string } }>('/api/warnings/:id/update', async (req, reply) => {
    const op = who(req, reply, 'operator')
    if (!op) return reply
    const body = parse(ManualUpdate, req.body ?? {})
    if (!body.ok) return reply.code(400).send(body.error)
    return answer(
      reply,
      await deps.manager.updateManual(req.params.id, body.value, {
        id: op.id,
        approver: op.roles.includes('approver'),
      }),
    )
  })

  app.post<{ Params: { id: string } }>('/api/warnings/:id/lift', async (req, reply) => {
    const op = who(req, reply, 'operator')
    if (!op) return reply
    const body = parse(Empty, req.body ?? {})
    if (!body.ok) return reply.code(400).send(body.error)
    return answer(reply, await deps.manager.lift(req.params.id, op.id))
  })

  app.get<{ Params: { id: string } }>('/api/warnings/:id/coverage', async (req, reply) => {
    const w = deps.warnings.get(req.params.id)
    if (!w) return reply.code(404).send({ error: 'not_found', message: `no warning ${req.params.id}` })
    const sms = deps.sms?.messages(w.id) ?? []
    const calls = deps.people.callouts(w.id)
    return {
      warningId: w.id,
      versions: deps.warnings.coverage(w.id).map((c) => ({
        ...c,
        sms: {
          targeted: sms.filter((m) => m.version === c.version && m.purpose === 'warning').length,
          delivered: sms.filter(
            (m) => m.version === c.version && m.purpose === 'warning' && m.state === 'delivered',
          ).length,
        },
        callouts: {
          called: calls.filter((x) => x.version === c.version).length,
          answered: calls.filter((x) => x.version === c.version && x.state === 'answered').length,
        },
      })),
    }
  })

  app.post<{ Params: { id: string } }>('/api/warnings/:id/answer', async (req, reply) => {
    const op = who(req, reply, 'operator')
    if (!op) return reply
    const body = parse(Answer, req.body ?? {})
    if (!body.ok) return reply.code(400).send(body.error)
    const n = deps.people.answer(body.value.personId, 'api', req.params.id)
    if (n === 0)
      return reply.code(404).send({
        error: 'not_found',
        message: `${body.value.personId} has no waiting call for ${req.params.id}`,
      })
    return { ok: true, answered: n }
  })

  app.get('/api/sms', async () => ({
    bound: deps.sms?.isBound ?? false,
    configured: deps.sms !== undefined,
    backlog: deps.sms?.backlog() ?? 0,
  }))

  app.post<{ Params: { id: string } }>('/api/warnings/:id/ack', async (req, reply) => {
    const op = who(req, reply, 'operator')
    if (!op) return reply
    const body = parse(Empty, req.body ?? {})
    if (!body.ok) return reply.code(400).send(body.error)
    return answer(reply, await deps.manager.ack(req.params.id, op.id))
  })

  for (const decision of ['approve', 'reject'] as const)
    app.post<{ Params: { id: string; version: string } }>(
      `/api/warnings/:id/versions/:version/${decision}`,
      async (req, reply) => {
        const op = who(req, reply, 'approver')
        if (!op) return reply
        const version = Number(req.params.version)
        if (!Number.isInteger(version) || version < 1)
          return reply.code(400).send({
            error: 'bad_request',
            issues: [{ field: 'version', message: 'expected a positive integer' }],
          })
        return answer(reply, await deps.manager.decide(req.params.id, version, op.id, decision))
      },
    )

  app.get('/api/approvals', async () => ({
    pending: deps.warnings
      .pendingVersions()
      .map((v) => ({ ...withReport(v), warning: deps.warnings.get(v.warningId) })),
  }))

  app.get('/api/alerts', async () => {
    const silences = new Map(deps.warnings.silences(1000).map((s) => [s.id, s]))
    return {
      alerts: deps.warnings.alerts().map((a) => ({
        ...a,
        muted: a.mutedBy !== null,
        silence: a.mutedBy !== null ? (silences.get(a.mutedBy) ?? null) : null,
      })),
    }
  })

  app.get('/api/silences', async () => ({ silences: deps.warnings.silences(1000) }))

  app.post('/api/silences', async (req, reply) => {
    const op = who(req, reply, 'operator')
    if (!op) return reply
    const body = parse(Silence, req.body ?? {})
    if (!body.ok) return reply.code(400).send(body.error)
    const b = body.value
    const startsAt = b.startsAt ?? deps.now()
    if (b.endsAt <= startsAt)
      return reply
        .code(400)
        .send({ error: 'bad_request', issues: [{ field: 'endsAt', message: 'must be after startsAt' }] })
    return answer(
      reply,
      await deps.manager.addSilence(
        {
          stationId: b.stationId ?? null,
          region: b.region ?? null,
          hazard: b.hazard ?? null,
          startsAt,
          endsAt: b.endsAt,
          reason: b.reason,
        },
        op.id,
      ),
    )
  })

  app.delete<{ Params: { id: string } }>('/api/silences/:id', async (req, reply) => {
    const op = who(req, reply, 'operator')
    if (!op) return reply
    return answer(reply, await deps.manager.endSilence(Number(req.params.id), op.id))
  })

  app.get('/api/rules/stats', async () => {
    const flaps = new Map<string, number>()
    for (const a of deps.warnings.auditLog({ action: 'flap_detected', limit: 100_000 })) {
      const rule = (a.detail as { ruleId?: string }).ruleId
      if (rule) flaps.set(rule, (flaps.get(rule) ?? 0) + 1)
    }
    const rows = deps.warnings.alertStats(deps.manager.quickLiftMs)
    const ids = new Set([...rows.map((r) => r.ruleId), ...flaps.keys()])
    return {
      quickLiftWithinMs: deps.manager.quickLiftMs,
      rules: [...ids].sort().map((id) => {
        const r = rows.find((x) => x.ruleId === id)
        return {
          ruleId: id,
          fired: r?.fired ?? 0,
          cleared: r?.cleared ?? 0,
          quickLifts: r?.quickLifts ?? 0,
          flaps: flaps.get(id) ?? 0,
        }
      }),
    }
  })

  app.get('/api/audit', async (req, reply) => {
    const q = parse(AuditQuery, req.query)
    if (!q.ok) return reply.code(400).send(q.error)
    return { audit: deps.warnings.auditLog(q.value) }
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
    const op = who(req, reply, 'operator')
    if (!op) return reply
    const body = parse(Empty, req.body ?? {})
    if (!body.ok) return reply.code(400).send(body.error)
    const r = await deps.manager.reset(req.params.id, op.id)
    if (!r.ok) return answer(reply, r)
    return { ok: true, warningId: req.params.id, version: r.version, state: 'lifted' }
  })

  app.get('/api/faults', async (req, reply) => {
    const q = parse(FaultsQuery, req.query)
    if (!q.ok) return reply.code(400).send(q.error)
    return { faults: deps.faults.list(q.value.state, q.value.limit) }
  })

  // ---- CAP 1.2 ------------------------------------------------------------------------------

  const capContext = (w: WarningRow, v: VersionRow) => ({
    sender: deps.cap,
    areaDesc: w.targets.map((t) => deps.runtime().registry.placeName(t)),
    earlier: deps.warnings.versions(w.id).filter((x) => x.version < v.version && x.release === 'released'),
    expiresAt: expiresAt(v, deps.playableForMs),
    status: w.status,
  })

  app.get<{ Params: { id: string; version: string } }>(
    '/api/warnings/:id/versions/:version/cap',
    async (req, reply) => {
      const w = deps.warnings.get(req.params.id)
      const v = w && deps.warnings.version(w.id, Number(req.params.version))
      if (!w || !v) return reply.code(404).send({ error: 'not_found', message: 'no such warning version' })
      if (v.release !== 'released')
        return reply
          .code(404)
          .send({ error: 'not_found', message: `version ${v.version} is ${v.release}, not released` })
      return reply.type('application/cap+xml; charset=utf-8').send(capAlert(w, v, capContext(w, v)))
    },
  )

  app.get('/api/cap/feed.atom', async (req, reply) => {
    const base = `${req.protocol}://${req.host}`
    const entries = deps.warnings.active().flatMap((w) => {
      const v = deps.warnings
        .versions(w.id)
        .filter((x) => x.release === 'released')
        .at(-1)
      if (!v) return []
      return [
        {
          warning: w,
          version: v,
          headline: `${w.targets.map((t) => deps.runtime().registry.placeName(t)).join('、')} ${v.text.slice(0, 60)}`,
          capUrl: `${base}/api/warnings/${encodeURIComponent(w.id)}/versions/${v.version}/cap`,
        },
      ]
    })
    return reply
      .type('application/atom+xml; charset=utf-8')
      .send(atomFeed(entries, `${base}/api/cap/feed.atom`, deps.cap, deps.now()))
  })

  // CAP intake: XML bodies arrive as text.
  app.addContentTypeParser(
    ['application/xml', 'text/xml', 'application/cap+xml'],
    { parseAs: 'string', bodyLimit: 1_048_576 },
    (_req, body, done) => done(null, body),
  )

  app.post('/api/cap', async (req, reply) => {
    const op = who(req, reply, 'operator')
    if (!op) return reply
    if (typeof req.body !== 'string')
      return reply
        .code(415)
        .send({ error: 'unsupported_media_type', message: 'send the CAP alert as application/xml' })
    const relay = readCap(req.body)
    if (relay.kind === 'refused') {
      deps.metrics.capIntake.labels('refused').inc()
      deps.log.warn({ component: 'cap', reasons: relay.reasons }, 'upstream CAP alert refused')
      return reply
        .code(400)
        .send({ error: 'bad_request', issues: relay.reasons.map((message) => ({ field: 'alert', message })) })
    }
    const { registry } = deps.runtime()
    // The alert's areas, as the regions of this registry they cover or lie in.
    const known = registry.file.regions.map((r) => r.code)
    const tops = outermost(known)
    const targets = [
      ...new Set(
        relay.codes.flatMap((code) =>
          known.includes(code) ? [code] : tops.filter((t) => regionContains(code, t)),
        ),
      ),
    ]
    const actor = { id: `${op.id}`, approver: false }
    const previous = relay.references
      .map((r) => deps.warnings.byUpstream(r))
      .find((w) => w?.state === 'active')
    if (relay.kind === 'cancel') {
      deps.metrics.capIntake.labels('cancel').inc()
      if (!previous)
        return reply
          .code(404)
          .send({ error: 'not_found', message: 'no active warning relays the referenced alert' })
      return answer(reply, await deps.manager.lift(previous.id, op.id))
    }
    if (relay.kind === 'update' && previous) {
      deps.metrics.capIntake.labels('update').inc()
      return answer(
        reply,
        await deps.manager.updateManual(previous.id, { level: relay.level!, text: relay.text }, actor),
      )
    }
    if (targets.length === 0) {
      deps.metrics.capIntake.labels('not_here').inc()
      return reply.code(422).send({
        error: 'not_for_this_area',
        message: `none of the alert's areas (${relay.codes.join(', ') || 'no GB/T 2260 geocode'}) is in this registry`,
      })
    }
    deps.metrics.capIntake.labels('issue').inc()
    return answer(
      reply,
      await deps.manager.issueManual(
        {
          hazard: relay.hazard,
          level: relay.level!,
          regions: targets,
          text: relay.text,
          status: relay.status,
          upstream: relay.ref,
        },
        actor,
      ),
    )
  })

  app.get('/metrics', async (_req, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  )

  return app
}
