/** Rule noise statistics: fired, cleared, quick lifts, flap episodes per rule. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { RuleStats } from '../../contracts/api.js'
import { ruleStats } from '../../reports/rule-stats.js'
import type { ApiDeps } from '../server.js'

export const ruleRoutes =
  (deps: Pick<ApiDeps, 'warnings' | 'manager'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/rules/stats',
      {
        schema: {
          tags: ['rules'],
          summary: 'per rule: fired, cleared, lifted within quickLift, flap episodes',
          response: { 200: RuleStats },
        },
      },
      async () => ruleStats(deps.warnings, deps.manager.quickLiftMs),
    )
  }
