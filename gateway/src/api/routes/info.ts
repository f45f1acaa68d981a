/** Liveness, the gateway's ports and counts, and Prometheus metrics. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { Health, Info, text } from '../../contracts/api.js'
import type { ApiDeps } from '../server.js'

export const infoRoutes =
  (deps: Pick<ApiDeps, 'info' | 'metrics'>): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['gateway']
    // info() is the composition root's open-ended record; the serializer checks it against Info.
    const info = () => deps.info() as Info

    app.get(
      '/health',
      { schema: { tags, summary: 'liveness, with ports and counts', response: { 200: Health } } },
      async () => {
        const i = info()
        const degradedBy = [
          ...(i.storage?.state === 'full' ? (['storage_full'] as const) : []),
          ...(i.eventLoop?.stalledRecently ? (['event_loop_stall'] as const) : []),
          ...(i.listeners?.some((l) => !l.up) ? (['listener_down'] as const) : []),
        ]
        return { status: degradedBy.length > 0 ? ('degraded' as const) : ('ok' as const), degradedBy, ...i }
      },
    )

    app.get(
      '/api/info',
      { schema: { tags, summary: 'ports, URLs and counts', response: { 200: Info } } },
      async () => info(),
    )

    app.get(
      '/metrics',
      {
        schema: {
          tags,
          summary: 'Prometheus metrics',
          response: { 200: text('text/plain', 'Prometheus text exposition format') },
        },
      },
      async (_req, reply) =>
        reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
    )
  }
