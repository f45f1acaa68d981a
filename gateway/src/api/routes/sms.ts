/** The SMS channel: whether it is configured and bound to its SMSC, and its backlog. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { SmsStatus } from '../../contracts/api.js'
import type { ApiDeps } from '../server.js'

export const smsRoutes =
  (deps: Pick<ApiDeps, 'sms'>): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/sms',
      {
        schema: { tags: ['sms'], summary: 'SMSC binding and the SMS backlog', response: { 200: SmsStatus } },
      },
      async () => ({
        bound: deps.sms?.isBound ?? false,
        configured: deps.sms !== undefined,
        backlog: deps.sms?.backlog() ?? 0,
      }),
    )
  }
