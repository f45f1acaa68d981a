/** The append-only audit log. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { Audit, AuditQuery, queryErrors } from '../../contracts/api.js'
import type { ApiDeps } from '../server.js'

export const auditRoutes =
  (deps: Pick<ApiDeps, 'warnings'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/audit',
      {
        schema: {
          tags: ['audit'],
          summary: 'the audit log, newest first',
          querystring: AuditQuery,
          response: { 200: Audit, ...queryErrors },
        },
      },
      async (req) => ({ audit: deps.warnings.auditLog(req.query) }),
    )
  }
