/**
 * The HTTP API (fastify, logging through the gateway's pino): one plugin per resource under
 * routes/, each thin (validate through the contract, call the domain, map the outcome). Requests
 * and responses are the zod schemas of contracts/api.ts, which also generate the OpenAPI 3
 * document (`/api/openapi.json`, rendered at `/api/docs`). Operators' actions are behind bearer
 * tokens (auth.ts); a refused request names its fields the same way on every route.
 *
 * Who may call what is decided here for every route as it is registered: a route that changes
 * state and has no `requireRole` hook is refused at start (unless it is one of OPEN: login); a
 * read without one gets the viewer check, in force when `readsNeedViewer` says so. Every call
 * that changes state and names its caller is in the audit log (`api_call`: who, by which kind of
 * token, the route, the status), beside the domain's own entries.
 */
import type { createServer as createHttpServer } from 'node:http'
import { type RequestListener } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { TlsOptions } from 'node:tls'
import { STATUS_CODES } from 'node:http'
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod'
import type { Logger } from 'pino'
import type { Level } from '../../../rules/src/index.js'
import type { SmsChannel } from '../channels/sms/channel.js'
import type { CapSender } from '../cap/cap.js'
import type { FaultMonitor } from '../faults/monitor.js'
import type { EventBus } from '../events/bus.js'
import type { Metrics } from '../metrics.js'
import type { EventStore } from '../store/events.js'
import type { CurrentRuntime } from '../runtime.js'
import type { ReadingStore } from '../store/readings.js'
import type { Aggregate } from '../store/retention.js'
import type { AlertManager } from '../alerting/manager.js'
import type { CalloutChannel } from '../channels/callout/channel.js'
import type { WarningQueries } from './queries.js'
import type { OperatorService } from '../security/operators.js'
import { guardOf, roleGuard, type Role } from './auth.js'
import { registerConsole } from './console.js'
import { registerDocs } from './docs.js'
import { badRequest } from './reply.js'
import { alertRoutes } from './routes/alerts.js'
import { approvalRoutes } from './routes/approvals.js'
import { auditRoutes } from './routes/audit.js'
import { capRoutes } from './routes/cap.js'
import { eventRoutes } from './routes/events.js'
import { faultRoutes } from './routes/faults.js'
import { infoRoutes } from './routes/info.js'
import { operatorRoutes } from './routes/operators.js'
import { regionRoutes } from './routes/regions.js'
import { ruleRoutes } from './routes/rules.js'
import { silenceRoutes } from './routes/silences.js'
import { smsRoutes } from './routes/sms.js'
import { stationRoutes } from './routes/stations.js'
import { terminalRoutes } from './routes/terminals.js'
import { warningRoutes } from './routes/warnings.js'

export interface ApiDeps {
  readonly runtime: CurrentRuntime
  readonly store: ReadingStore
  /** A station's downsampled history (store/retention.ts). */
  readonly aggregates: (stationId: string, from: number, to: number, limit: number) => Aggregate[]
  readonly warnings: WarningQueries
  readonly metrics: Metrics
  readonly log: Logger
  readonly info: () => Record<string, unknown>
  readonly faults: Pick<FaultMonitor, 'list'>
  readonly manager: AlertManager
  /** How many approvals a version of this hazard and level needs (the approval policy). */
  readonly approvalsNeeded: (hazard: string, level: Level) => number
  /** How long a released version is valid (CAP `expires`). */
  readonly playableForMs: number
  readonly people: CalloutChannel
  readonly sms: SmsChannel | undefined
  /** Operator accounts, sessions and API tokens; it also knows the configuration's operators. */
  readonly accounts: OperatorService
  /** Whether reads need a signed-in viewer now (security/operators.ts `readsNeedViewer`). */
  readonly readsNeedViewer: () => boolean
  /** Appends to the audit log. */
  readonly audit: (at: number, actor: string, action: string, subject: string, detail: unknown) => void
  /** The gateway's wall clock (silences start now unless told otherwise). */
  readonly now: () => number
  /** Who this gateway is in its CAP alerts. */
  readonly cap: CapSender
  /** The event stream: the bus to listen to, the durable window to replay from. */
  readonly events: { readonly bus: EventBus; readonly store: EventStore }
  /** Serve HTTPS with this key material. */
  readonly https?: TlsOptions | undefined
}

/** A route and who may call it: a role, `open` to anyone, or `read` (a viewer where reads need one). */
export interface RouteAccess {
  readonly method: string
  readonly url: string
  readonly access: Role | 'open' | 'read'
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Routes open to anyone, whatever the listener: logging in; liveness and metrics (supervisors and
 * Prometheus scrape them without credentials, and they carry counts, not warnings or people); the
 * API's own description and its viewer, and the console's page and files (a browser needs them to
 * get as far as logging in; they hold no data).
 */
const OPEN = (method: string, url: string) =>
  (method === 'POST' && url === '/api/login') ||
  (READS.has(method) &&
    (url === '/health' ||
      url === '/metrics' ||
      url === '/api/openapi.json' ||
      url === '/' ||
      url.startsWith('/console/') ||
      /^\/api\/docs(\/|$)/.test(url)))

export function buildApi(deps: ApiDeps): FastifyInstance & { readonly routeAccess: readonly RouteAccess[] } {
  const app = Fastify({
    // HTTPS when the listener has a certificate (http.tls); its context is replaced on reload.
    ...(deps.https
      ? {
          serverFactory: (handler: RequestListener) =>
            createHttpsServer(deps.https!, handler) as unknown as ReturnType<typeof createHttpServer>,
        }
      : {}),
    loggerInstance: deps.log.child({ component: 'api' }) as FastifyBaseLogger,
    // Per-request lines would drown the warnings in the log; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  })
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)

  // A request the contract refuses names every field at fault and why, on every route alike.
  app.setErrorHandler<FastifyError>((err, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err))
      return reply.code(400).send(
        badRequest(
          err.validation.map((v) => ({
            field: v.instancePath.slice(1).replaceAll('/', '.'),
            message: v.message ?? 'invalid',
          })),
        ),
      )
    if (isResponseSerializationError(err)) {
      // A response outside its contract is our bug: say so in the log, not to the client.
      req.log.error(
        { url: err.url, method: err.method, issues: err.cause.issues },
        'response breaks its contract',
      )
      return reply.code(500).send({ error: 'internal_error', message: 'the response broke the API contract' })
    }
    const status = err.statusCode ?? 500
    if (status >= 500) throw err // fastify's own handler logs it and answers 500
    // Fastify's own refusals (a body that is not JSON, too large…) keep fastify's body; sent from
    // here, already serialized, so that the route's error schema does not reshape it (nor refuse
    // it: a 400 schema of BadRequest alone, as at login, turned an empty JSON body into a 500).
    req.log.info({ err }, 'request refused')
    return reply
      .code(status)
      .type('application/json; charset=utf-8')
      .send(
        JSON.stringify({
          statusCode: status,
          code: err.code,
          error: STATUS_CODES[status] ?? 'Error',
          message: err.message,
        }),
      )
  })

  const requireRole = roleGuard((bearer) => deps.accounts.authenticate(bearer))
  app.decorate('requireRole', requireRole)
  app.decorateRequest('operator', null)

  // Every route, as it is registered: a command without a role check is a bug caught at start,
  // and a read without one is checked for a viewer whenever reads need one.
  const viewer = requireRole('viewer')
  const readGuard = async function readGuard(req: FastifyRequest, reply: FastifyReply) {
    if (deps.readsNeedViewer()) return viewer.call(app, req, reply)
  }
  const routeAccess: RouteAccess[] = []
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat()
    const role = guardOf(route.onRequest)
    for (const method of methods) {
      const open = OPEN(method, route.url)
      if (role === undefined && !open && !READS.has(method))
        throw new Error(`${method} ${route.url} changes state but has no requireRole hook`)
      routeAccess.push({ method, url: route.url, access: role ?? (open ? 'open' : 'read') })
    }
    if (role === undefined && methods.every((m) => READS.has(m) && !OPEN(m, route.url)))
      route.onRequest = [readGuard, ...(route.onRequest ? [route.onRequest].flat() : [])]
  })
  // Every call that changes state and names its caller (refused ones included) is audited.
  app.addHook('onResponse', async (req, reply) => {
    const op = req.operator
    if (READS.has(req.method) || !op) return
    deps.audit(deps.now(), op.id, 'api_call', `${req.method} ${req.routeOptions.url ?? req.url}`, {
      via: op.via,
      ...(op.tokenId !== undefined ? { token: op.tokenId } : {}),
      ...(op.sessionId !== undefined ? { session: op.sessionId } : {}),
      status: reply.statusCode,
      path: req.url,
    })
  })
  // Commands that take no fields may be sent without a body; they are validated as `{}`.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.routeOptions.schema?.body !== undefined) req.body = {}
  })

  registerDocs(app)
  void app.register(async (scope) => registerConsole(scope, deps.log))
  void app.register(infoRoutes(deps))
  void app.register(regionRoutes(deps))
  void app.register(stationRoutes(deps))
  void app.register(terminalRoutes(deps))
  void app.register(warningRoutes(deps))
  void app.register(approvalRoutes(deps))
  void app.register(alertRoutes(deps))
  void app.register(silenceRoutes(deps))
  void app.register(ruleRoutes(deps))
  void app.register(auditRoutes(deps))
  void app.register(faultRoutes(deps))
  void app.register(smsRoutes(deps))
  void app.register(capRoutes(deps))
  void app.register(eventRoutes(deps))
  void app.register(operatorRoutes(deps))
  return Object.assign(app, { routeAccess })
}
