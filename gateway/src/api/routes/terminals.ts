/** The village loudspeakers of the registry, with their presence and last receipt. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { Terminals } from '../../contracts/api.js'
import type { ApiDeps } from '../server.js'

export const terminalRoutes =
  (deps: Pick<ApiDeps, 'runtime' | 'warnings'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/terminals',
      {
        schema: {
          tags: ['terminals'],
          summary: 'loudspeakers, each with its presence (online/offline since) and last receipt',
          response: { 200: Terminals },
        },
      },
      async () => {
        const presence = deps.warnings.terminalPresence()
        const receipts = deps.warnings.lastReceipts()
        return {
          terminals: deps.runtime().registry.terminals.map((t) => ({
            ...t,
            presence: presence.get(t.id) ?? null,
            lastReceipt: receipts.get(t.id) ?? null,
          })),
        }
      },
    )
  }
