/**
 * Operators authenticate with a bearer token: a login session, an API token, or a token of the
 * configuration's operators (security/operators.ts says which is which). Everything that changes
 * state needs a role, and reads need the viewer role where `readsNeedViewer` says so (a listener
 * beyond loopback).
 *
 * `requireRole(role)` is the route hook that enforces it: it runs on request, before the body is
 * parsed or validated, so a caller without a token learns that first (401), and one without the
 * role 403; the operator it found is `request.operator` for the handler (and for the audit entry
 * of the call, 403s included). server.ts refuses to register a route that changes state without it.
 */
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import type { OperatorRole } from '../contracts/api.js'
import { grants, type Principal } from '../security/operators.js'

export { sha256Hex } from '../security/operators.js'

/** An authenticated caller. */
export type Operator = Principal
export type Role = OperatorRole

declare module 'fastify' {
  interface FastifyInstance {
    /** A route's `onRequest` hook: only operators with this role pass (401 / 403 otherwise). */
    requireRole(role: Role): onRequestAsyncHookHandler
  }
  interface FastifyRequest {
    /** The operator `requireRole` authenticated; null on open routes. */
    operator: Operator | null
  }
}

/** The token an `Authorization: Bearer …` header carries, if any. */
export const bearerOf = (header: string | undefined): string | undefined =>
  /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1]

/** The hooks `requireRole` made, and the role each asks for: server.ts checks every route has one. */
const GUARDS = new WeakMap<object, Role>()

/** The role a route's `onRequest` hooks ask for, if any of them is a `requireRole` hook. */
export function guardOf(hooks: unknown): Role | undefined {
  for (const h of [hooks].flat()) {
    const role = typeof h === 'function' ? GUARDS.get(h) : undefined
    if (role) return role
  }
  return undefined
}

/** `requireRole` over an authenticator (the credentials in force at each request). */
export function roleGuard(
  authenticate: (bearer: string) => Operator | undefined,
): (role: Role) => onRequestAsyncHookHandler {
  return (role) => {
    const hook = async function requireRole(req: FastifyRequest, reply: FastifyReply) {
      const bearer = bearerOf(req.headers.authorization)
      if (bearer === undefined)
        return reply.code(401).send({
          error: 'unauthorized',
          message: 'an operator token is needed: Authorization: Bearer <token>',
        })
      const op = authenticate(bearer)
      if (!op)
        return reply.code(401).send({
          error: 'unauthorized',
          message: 'the token is unknown, expired or revoked: log in again (POST /api/login)',
        })
      req.operator = op
      if (!grants(op.roles, role))
        return reply.code(403).send({ error: 'forbidden', message: `${op.id} lacks the ${role} role` })
    }
    GUARDS.set(hook, role)
    return hook
  }
}

/** The operator of a route behind `requireRole`; a route without the hook asking is a programmer error. */
export function operatorOf(req: FastifyRequest): Operator {
  if (!req.operator) throw new Error(`${req.routeOptions.url ?? req.url} has no requireRole hook`)
  return req.operator
}
