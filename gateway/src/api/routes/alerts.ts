/** Every rule firing at every station, muted ones with the silence that mutes them. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { Alerts } from '../../contracts/api.js'
import { alertsWithSilences } from '../../reports/warnings.js'
import type { ApiDeps } from '../server.js'

export const alertRoutes =
  (deps: Pick<ApiDeps, 'warnings'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/alerts',
      {
        schema: {
          tags: ['alerts'],
          summary: 'every rule firing at every station, muted ones with their silence',
          response: { 200: Alerts },
        },
      },
      async () => ({ alerts: alertsWithSilences(deps.warnings) }),
    )
  }
