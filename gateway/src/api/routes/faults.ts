/** Equipment faults (设备故障): no data, out of range, spikes, flatlines, offline, battery low, clock. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { Faults, FaultsQuery, queryErrors } from '../../contracts/api.js'
import type { ApiDeps } from '../server.js'

export const faultRoutes =
  (deps: Pick<ApiDeps, 'faults'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/faults',
      {
        schema: {
          tags: ['faults'],
          summary: 'equipment faults, active or all',
          querystring: FaultsQuery,
          response: { 200: Faults, ...queryErrors },
        },
      },
      async (req) => ({ faults: deps.faults.list(req.query.state, req.query.limit) }),
    )
  }
