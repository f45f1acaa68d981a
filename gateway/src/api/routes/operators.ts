/**
 * Operators: password login and logout (the console's sessions), who the caller is, and the
 * accounts and API tokens admins manage. A refused login says only that it was refused.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import {
  Accounts,
  commandErrors,
  Done,
  Empty,
  LoggedIn,
  Login,
  loginErrors,
  Me,
  NewOperator,
  NewToken,
  OperatorAdded,
  OperatorChanged,
  OperatorParams,
  OperatorPatch,
  PasswordChange,
  PasswordSet,
  TokenCreated,
  TokenParams,
  Tokens,
  Unlocked,
} from '../../contracts/api.js'
import { grants } from '../../security/operators.js'
import { operatorOf } from '../auth.js'
import { badRequest, sendOutcome } from '../reply.js'
import type { ApiDeps } from '../server.js'

/** The one answer to every refused login: unknown user, wrong password, disabled or locked alike. */
export const LOGIN_REFUSED = 'wrong username or password (or the account is disabled or locked)'

export const operatorRoutes =
  (deps: Pick<ApiDeps, 'accounts' | 'now'>): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['operators']
    const security = [{ operator: [] }]
    const admin = app.requireRole('admin')
    const signedIn = app.requireRole('viewer')
    const accounts = deps.accounts

    app.post(
      '/api/login',
      {
        schema: {
          tags,
          summary: 'log in with an account’s password: a session token for the console',
          body: Login,
          response: { 200: LoggedIn, ...loginErrors },
        },
      },
      async (req, reply) => {
        const r = await accounts.login(req.body.username, req.body.password)
        if (!r.ok) return reply.code(401).send({ error: 'unauthorized', message: LOGIN_REFUSED })
        req.operator = r.operator // the call's audit entry names who logged in
        const { id, name, roles } = r.operator
        return {
          token: r.token,
          expiresAt: r.expiresAt,
          idleTimeoutMs: r.idleTimeoutMs,
          operator: { id, name, roles: [...roles] },
        }
      },
    )

    app.post(
      '/api/logout',
      {
        onRequest: signedIn,
        schema: {
          tags,
          security,
          summary: 'end the session the token is',
          body: Empty,
          response: { 200: Done, ...commandErrors },
        },
      },
      async (req, reply) => sendOutcome(reply, accounts.logout(operatorOf(req))),
    )

    app.get(
      '/api/me',
      {
        onRequest: signedIn,
        schema: {
          tags,
          security,
          summary: 'who the token is: id, name, roles, how it authenticated, until when',
          response: { 200: Me, ...commandErrors },
        },
      },
      async (req) => {
        const op = operatorOf(req)
        return {
          id: op.id,
          name: op.name,
          roles: [...op.roles],
          via: op.via,
          ...(op.tokenId !== undefined ? { tokenId: op.tokenId } : {}),
          expiresAt: op.expiresAt,
        }
      },
    )

    app.get(
      '/api/operators',
      {
        onRequest: admin,
        schema: {
          tags,
          security,
          summary: 'admin: operator accounts, and the configuration’s operators',
          response: { 200: Accounts, ...commandErrors },
        },
      },
      async () => ({
        operators: accounts.accounts().map((a) => ({ ...a, roles: [...a.roles] })),
        configured: accounts.configured(),
      }),
    )

    app.post(
      '/api/operators',
      {
        onRequest: admin,
        schema: {
          tags,
          security,
          summary: 'admin: add an operator account (without a password, one is generated and shown once)',
          body: NewOperator,
          response: { 200: OperatorAdded, ...commandErrors },
        },
      },
      async (req, reply) => sendOutcome(reply, await accounts.create(req.body, operatorOf(req))),
    )

    app.patch(
      '/api/operators/:id',
      {
        onRequest: admin,
        schema: {
          tags,
          security,
          summary: 'admin: rename, change the roles of, disable or enable an account',
          params: OperatorParams,
          body: OperatorPatch,
          response: { 200: OperatorChanged, ...commandErrors },
        },
      },
      async (req, reply) => {
        const r = accounts.update(req.params.id, req.body, operatorOf(req))
        return sendOutcome(
          reply,
          r.ok ? { ...r, operator: { ...r.operator, roles: [...r.operator.roles] } } : r,
        )
      },
    )

    // One's own password, or an admin: decided on request too, before the body is looked at.
    const selfOrAdmin = async (req: FastifyRequest, reply: FastifyReply) => {
      const op = operatorOf(req)
      const { id } = req.params as { id?: string }
      const own = (op.via === 'session' || op.via === 'api_token') && op.id === id
      if (!own && !grants(op.roles, 'admin'))
        return reply.code(403).send({
          error: 'forbidden',
          message: `${op.id} lacks the admin role (needed for another’s password)`,
        })
    }

    app.post(
      '/api/operators/:id/password',
      {
        onRequest: [signedIn, selfOrAdmin],
        schema: {
          tags,
          security,
          summary:
            'a new password: one’s own with the old one, or (admin) anyone’s; the account’s other sessions end',
          params: OperatorParams,
          body: PasswordChange,
          response: { 200: PasswordSet, ...commandErrors },
        },
      },
      async (req, reply) =>
        sendOutcome(reply, await accounts.setPassword(req.params.id, req.body, operatorOf(req))),
    )

    app.post(
      '/api/operators/:id/unlock',
      {
        onRequest: admin,
        schema: {
          tags,
          security,
          summary: 'admin: lift a lockout after repeated wrong passwords',
          params: OperatorParams,
          body: Empty,
          response: { 200: Unlocked, ...commandErrors },
        },
      },
      async (req, reply) => sendOutcome(reply, accounts.unlock(req.params.id, operatorOf(req))),
    )

    app.get(
      '/api/operators/:id/tokens',
      {
        onRequest: admin,
        schema: {
          tags,
          security,
          summary: 'admin: an account’s API tokens (never the tokens themselves)',
          params: OperatorParams,
          response: { 200: Tokens, ...commandErrors },
        },
      },
      async (req, reply) => {
        const r = accounts.tokens(req.params.id)
        if (!r.ok) return sendOutcome(reply, r)
        return { tokens: r.tokens.map((t) => ({ ...t, roles: [...t.roles] })) }
      },
    )

    app.post(
      '/api/operators/:id/tokens',
      {
        onRequest: admin,
        schema: {
          tags,
          security,
          summary: 'admin: issue an API token to an account, scoped to roles it has (shown once)',
          params: OperatorParams,
          body: NewToken,
          response: { 200: TokenCreated, ...commandErrors },
        },
      },
      async (req, reply) => {
        if (req.body.expiresAt !== undefined && req.body.expiresAt <= deps.now())
          return reply.code(400).send(badRequest([{ field: 'expiresAt', message: 'must be in the future' }]))
        return sendOutcome(reply, accounts.createToken(req.params.id, req.body, operatorOf(req)))
      },
    )

    app.delete(
      '/api/operators/:id/tokens/:tokenId',
      {
        onRequest: admin,
        schema: {
          tags,
          security,
          summary: 'admin: revoke an API token',
          params: TokenParams,
          response: { 200: Done, ...commandErrors },
        },
      },
      async (req, reply) =>
        sendOutcome(reply, accounts.revokeToken(req.params.id, req.params.tokenId, operatorOf(req))),
    )
  }
