/**
 * CAP 1.2: each released version as an alert, the Atom feed of the active warnings, and the
 * intake of upstream alerts (the bureau's signal), relayed to the regions of the registry.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import {
  CAP_CONTENT_TYPES,
  CapXml,
  commandErrors,
  queryErrors,
  Refused,
  Relayed,
  text,
  UnsupportedMediaType,
  VersionParams,
} from '../../contracts/api.js'
import { readCap } from '../../cap/intake.js'
import { capAlertOf, capFeed, type PublishDeps } from '../../cap/publish.js'
import { relayCap } from '../../cap/relay.js'
import { operatorOf } from '../auth.js'
import { badRequest, sendOutcome } from '../reply.js'
import type { ApiDeps } from '../server.js'

/** Upstream alerts are small; a megabyte is far more than any CAP message needs. */
const CAP_BODY_LIMIT = 1_048_576

export const capRoutes =
  (
    deps: Pick<
      ApiDeps,
      'warnings' | 'manager' | 'runtime' | 'metrics' | 'log' | 'now' | 'cap' | 'playableForMs'
    >,
  ): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['cap']
    const log = deps.log.child({ component: 'cap' })
    const publish = (): PublishDeps => ({
      warnings: deps.warnings,
      sender: deps.cap,
      placeName: (code) => deps.runtime().registry.placeName(code),
      playableForMs: deps.playableForMs,
    })

    app.get(
      '/api/warnings/:id/versions/:version/cap',
      {
        schema: {
          tags,
          summary: 'the released version as an OASIS CAP 1.2 alert',
          params: VersionParams,
          response: { 200: text('application/cap+xml', 'a CAP 1.2 alert'), ...queryErrors, 404: Refused },
        },
      },
      async (req, reply) => {
        const r = capAlertOf(req.params.id, req.params.version, publish())
        if (!r.ok) return sendOutcome(reply, r)
        return reply.type('application/cap+xml; charset=utf-8').send(r.xml)
      },
    )

    app.get(
      '/api/cap/feed.atom',
      {
        schema: {
          tags,
          summary: 'Atom feed of the active warnings, each entry linking to its CAP alert',
          response: { 200: text('application/atom+xml', 'an Atom 1.0 feed') },
        },
      },
      async (req, reply) =>
        reply
          .type('application/atom+xml; charset=utf-8')
          .send(capFeed(`${req.protocol}://${req.host}`, deps.now(), publish())),
    )

    // Upstream alerts arrive as XML text; in this plugin only.
    app.addContentTypeParser(
      [...CAP_CONTENT_TYPES],
      { parseAs: 'string', bodyLimit: CAP_BODY_LIMIT },
      (_req, body, done) => done(null, body),
    )

    app.post(
      '/api/cap',
      {
        onRequest: app.requireRole('operator'),
        // Anything but text (JSON, say) is the wrong kind of body, not a malformed alert.
        preValidation: async (req, reply) => {
          if (typeof req.body !== 'string')
            return reply
              .code(415)
              .send({ error: 'unsupported_media_type', message: 'send the CAP alert as application/xml' })
        },
        schema: {
          tags,
          security: [{ operator: [] }],
          summary:
            'operator: relay an upstream CAP alert to the registry’s regions it covers; Update and Cancel follow its references',
          consumes: [...CAP_CONTENT_TYPES],
          body: CapXml,
          response: { 200: Relayed, ...commandErrors, 415: UnsupportedMediaType, 422: Refused },
        },
      },
      async (req, reply) => {
        const relay = readCap(req.body)
        if (relay.kind === 'refused') {
          deps.metrics.capIntake.labels('refused').inc()
          log.warn({ reasons: relay.reasons }, 'upstream CAP alert refused')
          return reply
            .code(400)
            .send(badRequest(relay.reasons.map((message) => ({ field: 'alert', message }))))
        }
        const outcome = await relayCap(relay, operatorOf(req).id, {
          warnings: {
            byUpstream: (ref) => deps.warnings.byUpstream(ref),
            issueManual: (input, actor) => deps.manager.issueManual(input, actor),
            updateManual: (id, input, actor) => deps.manager.updateManual(id, input, actor),
            lift: (id, by) => deps.manager.lift(id, by),
          },
          regions: deps.runtime().registry.file.regions.map((r) => r.code),
          count: (outcome) => deps.metrics.capIntake.labels(outcome).inc(),
        })
        return sendOutcome(reply, outcome)
      },
    )
  }
