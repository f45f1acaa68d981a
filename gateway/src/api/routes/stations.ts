/** Stations with their constants, sensors and latest reading, and a station's stored readings. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { IdParams, Readings, ReadingsQuery, queryErrors, readErrors, Stations } from '../../contracts/api.js'
import { stationList } from '../../reports/stations.js'
import { notFound } from '../reply.js'
import type { ApiDeps } from '../server.js'

export const stationRoutes =
  (deps: Pick<ApiDeps, 'runtime' | 'store'>): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['stations']

    app.get(
      '/api/stations',
      {
        schema: {
          tags,
          summary: 'stations with constants, sensors and latest reading',
          response: { 200: Stations },
        },
      },
      async () => ({ stations: stationList(deps.runtime().registry, deps.store) }),
    )

    app.get(
      '/api/stations/:id/readings',
      {
        schema: {
          tags,
          summary: 'a station’s stored readings with event time in [from, to), oldest first',
          params: IdParams,
          querystring: ReadingsQuery,
          response: { 200: Readings, ...queryErrors, ...readErrors },
        },
      },
      async (req, reply) => {
        if (!deps.runtime().registry.station(req.params.id))
          return reply.code(404).send(notFound(`no station ${req.params.id}`))
        const { from, to, limit } = req.query
        return { readings: deps.store.history(req.params.id, from, to, limit) }
      },
    )
  }
