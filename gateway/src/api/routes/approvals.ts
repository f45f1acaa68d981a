/** Versions waiting for approval; approvers release them or keep them off the air. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { commandErrors, Decided, Pending, VersionParams } from '../../contracts/api.js'
import { pendingApprovals } from '../../reports/warnings.js'
import { operatorOf } from '../auth.js'
import { sendOutcome } from '../reply.js'
import type { ApiDeps } from '../server.js'

export const approvalRoutes =
  (deps: Pick<ApiDeps, 'warnings' | 'manager' | 'approvalsNeeded'>): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['approvals']

    app.get(
      '/api/approvals',
      {
        schema: {
          tags,
          summary: 'versions waiting for approval, with their deadlines',
          response: { 200: Pending },
        },
      },
      async () => ({ pending: pendingApprovals(deps.warnings, deps.approvalsNeeded) }),
    )

    for (const decision of ['approve', 'reject'] as const)
      app.post(
        `/api/warnings/:id/versions/:version/${decision}`,
        {
          onRequest: app.requireRole('approver'),
          schema: {
            tags,
            security: [{ operator: [] }],
            summary:
              decision === 'approve'
                ? 'approver: release a version waiting for approval'
                : 'approver: keep a version waiting for approval off the air',
            params: VersionParams,
            response: { 200: Decided, ...commandErrors },
          },
        },
        async (req, reply) =>
          sendOutcome(
            reply,
            await deps.manager.decide(req.params.id, req.params.version, operatorOf(req).id, decision),
          ),
      )
  }
