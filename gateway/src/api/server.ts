/**
 * The HTTP API (fastify, logging through the gateway's pino): one plugin per resource under
 * routes/, each thin (validate through the contract, call the domain, map the outcome). Requests
 * and responses are the zod schemas of contracts/api.ts, which also generate the OpenAPI 3
 * document (`/api/openapi.json`, rendered at `/api/docs`). Operators' actions are behind bearer
 * tokens (auth.ts); a refused request names its fields the same way on every route.
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
} from 'fastify'
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod'
import type { Logger } from 'pino'
import type { SmsChannel } from '../channels/sms/channel.js'
import type { CapSender } from '../cap/cap.js'
import type { FaultMonitor } from '../faults/monitor.js'
import type { EventBus } from '../events/bus.js'
import type { Metrics } from '../metrics.js'
import type { EventStore } from '../store/events.js'
import type { CurrentRuntime } from '../runtime.js'
import type { ReadingStore } from '../store/readings.js'
import type { AlertManager } from '../alerting/manager.js'
import type { CalloutChannel } from '../channels/callout/channel.js'
import type { WarningQueries } from './queries.js'
import { roleGuard, type Operator } from './auth.js'
import { registerDocs } from './docs.js'
import { badRequest } from './reply.js'
import { alertRoutes } from './routes/alerts.js'
import { approvalRoutes } from './routes/approvals.js'
import { auditRoutes } from './routes/audit.js'
import { capRoutes } from './routes/cap.js'
import { eventRoutes } from './routes/events.js'
import { faultRoutes } from './routes/faults.js'
import { infoRoutes } from './routes/info.js'
import { ruleRoutes } from './routes/rules.js'
import { silenceRoutes } from './routes/silences.js'
import { smsRoutes } from './routes/sms.js'
import { stationRoutes } from './routes/stations.js'
import { terminalRoutes } from './routes/terminals.js'
import { warningRoutes } from './routes/warnings.js'

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
  /** The event stream: the bus to listen to, the durable window to replay from. */
  readonly events: { readonly bus: EventBus; readonly store: EventStore }
  /** Serve HTTPS with this key material. */
  readonly https?: TlsOptions | undefined
}

export function buildApi(deps: ApiDeps): FastifyInstance {
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
    // here so that the route's error schema does not reshape it.
    req.log.info({ err }, 'request refused')
    return reply.code(status).send({
      statusCode: status,
      code: err.code,
      error: STATUS_CODES[status] ?? 'Error',
      message: err.message,
    })
  })

  app.decorate('requireRole', roleGuard(deps.operators))
  app.decorateRequest('operator', null)
  // Commands that take no fields may be sent without a body; they are validated as `{}`.
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.routeOptions.schema?.body !== undefined) req.body = {}
  })

  registerDocs(app)
  void app.register(infoRoutes(deps))
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
  return app
}
