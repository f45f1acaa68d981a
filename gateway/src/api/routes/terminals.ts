/** The village loudspeakers of the registry. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { Terminals } from '../../contracts/api.js'
import type { ApiDeps } from '../server.js'

export const terminalRoutes =
  (deps: Pick<ApiDeps, 'runtime'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/terminals',
      { schema: { tags: ['terminals'], summary: 'loudspeakers', response: { 200: Terminals } } },
      async () => ({ terminals: [...deps.runtime().registry.terminals] }),
    )
  }
