/**
 * Stations with their constants, sensors and latest reading; a station's stored readings; and the
 * thresholds its rules grade it against (reports/thresholds.ts says which rules are left out).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import {
  Aggregates,
  IdParams,
  Readings,
  ReadingsQuery,
  queryErrors,
  readErrors,
  Stations,
  Thresholds,
} from '../../contracts/api.js'
import { stationList } from '../../reports/stations.js'
import { stationThresholds } from '../../reports/thresholds.js'
import { notFound } from '../reply.js'
import type { ApiDeps } from '../server.js'

export const stationRoutes =
  (deps: Pick<ApiDeps, 'runtime' | 'store' | 'aggregates'>): FastifyPluginAsyncZod =>
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

    app.get(
      '/api/stations/:id/aggregates',
      {
        schema: {
          tags,
          summary:
            'a station’s downsampled history (readings past their raw retention) with bucket start in [from, to)',
          params: IdParams,
          querystring: ReadingsQuery,
          response: { 200: Aggregates, ...queryErrors, ...readErrors },
        },
      },
      async (req, reply) => {
        if (!deps.runtime().registry.station(req.params.id))
          return reply.code(404).send(notFound(`no station ${req.params.id}`))
        const { from, to, limit } = req.query
        return { aggregates: deps.aggregates(req.params.id, from, to, limit) }
      },
    )

    app.get(
      '/api/stations/:id/thresholds',
      {
        schema: {
          tags,
          summary:
            'the simple thresholds (a quantity or window sum against a constant) the station’s rules grade it against, with its constants',
          params: IdParams,
          response: { 200: Thresholds, ...queryErrors, ...readErrors },
        },
      },
      async (req, reply) => {
        const { registry, engine } = deps.runtime()
        const thresholds = stationThresholds(registry, engine, req.params.id)
        if (!thresholds) return reply.code(404).send(notFound(`no station ${req.params.id}`))
        return { stationId: req.params.id, thresholds }
      },
    )
  }
