/** Maintenance windows: silences mute alerts by station, region and/or hazard. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { commandErrors, Ended, Silence, SilenceAdded, SilenceParams, Silences } from '../../contracts/api.js'
import { operatorOf } from '../auth.js'
import { badRequest, sendOutcome } from '../reply.js'
import type { ApiDeps } from '../server.js'

/** Silences listed. */
const LISTED = 1000

export const silenceRoutes =
  (deps: Pick<ApiDeps, 'warnings' | 'manager' | 'now'>): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['silences']
    const operator = app.requireRole('operator')
    const security = [{ operator: [] }]

    app.get(
      '/api/silences',
      { schema: { tags, summary: 'maintenance windows', response: { 200: Silences } } },
      async () => ({ silences: deps.warnings.silences(LISTED) }),
    )

    app.post(
      '/api/silences',
      {
        onRequest: operator,
        schema: {
          tags,
          security,
          summary: 'operator: silence alerts for a maintenance window',
          body: Silence,
          response: { 200: SilenceAdded, ...commandErrors },
        },
      },
      async (req, reply) => {
        const b = req.body
        // Whether the window ends after it starts depends on the clock when it starts now.
        const startsAt = b.startsAt ?? deps.now()
        if (b.endsAt <= startsAt)
          return reply.code(400).send(badRequest([{ field: 'endsAt', message: 'must be after startsAt' }]))
        const silence = {
          stationId: b.stationId ?? null,
          region: b.region ?? null,
          hazard: b.hazard ?? null,
          startsAt,
          endsAt: b.endsAt,
          reason: b.reason,
        }
        return sendOutcome(reply, await deps.manager.addSilence(silence, operatorOf(req).id))
      },
    )

    app.delete(
      '/api/silences/:id',
      {
        onRequest: operator,
        schema: {
          tags,
          security,
          summary: 'operator: end a silence',
          params: SilenceParams,
          response: { 200: Ended, ...commandErrors },
        },
      },
      async (req, reply) =>
        sendOutcome(reply, await deps.manager.endSilence(req.params.id, operatorOf(req).id)),
    )
  }
