/** The administrative regions of the registry, each with its parent and outline, for the console's tree and map. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { Regions } from '../../contracts/api.js'
import type { ApiDeps } from '../server.js'

export const regionRoutes =
  (deps: Pick<ApiDeps, 'runtime'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/regions',
      {
        schema: {
          tags: ['regions'],
          summary: 'regions in registry order, with their parent (the nearest declared one) and boundary',
          response: { 200: Regions },
        },
      },
      async () => {
        const { registry } = deps.runtime()
        return {
          regions: registry.regions.map((r) => ({
            code: r.code,
            name: r.name,
            names: r.names,
            level: r.level,
            parent: registry.parentRegion(r.code)?.code ?? null,
            boundary: r.boundary ?? null,
          })),
        }
      },
    )
  }
