/**
 * Operators authenticate with a bearer token; the configuration holds only its SHA-256. Read-only
 * endpoints are open on the (loopback by default) HTTP port; everything that changes state needs
 * an operator, and approving needs the approver role.
 *
 * `requireRole(role)` is the route hook that enforces it: it runs on request, before the body is
 * parsed or validated, so a caller without a token learns that first (401), and one without the
 * role 403; the operator it found is `request.operator` for the handler.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import type { GatewayConfigFile } from '../config/schema.js'

export type Operator = GatewayConfigFile['operators'][number]
export type Role = Operator['roles'][number]

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

export const sha256Hex = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')

/** The operator whose token the `Authorization: Bearer …` header carries, if any. */
export function authenticate(
  header: string | undefined,
  operators: readonly Operator[],
): Operator | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '')
  if (!m) return undefined
  const digest = Buffer.from(sha256Hex(m[1]!), 'hex')
  return operators.find((o) => timingSafeEqual(Buffer.from(o.tokenSha256, 'hex'), digest))
}

/** `requireRole` over the operators in force (a reload may change them). */
export function roleGuard(operators: () => readonly Operator[]): (role: Role) => onRequestAsyncHookHandler {
  return (role) =>
    async function requireRole(req: FastifyRequest, reply: FastifyReply) {
      const op = authenticate(req.headers.authorization, operators())
      if (!op)
        return reply.code(401).send({
          error: 'unauthorized',
          message: 'an operator token is needed: Authorization: Bearer <token>',
        })
      if (!op.roles.includes(role))
        return reply.code(403).send({ error: 'forbidden', message: `${op.id} lacks the ${role} role` })
      req.operator = op
    }
}

/** The operator of a route behind `requireRole`; a route without the hook asking is a programmer error. */
export function operatorOf(req: FastifyRequest): Operator {
  if (!req.operator) throw new Error(`${req.routeOptions.url ?? req.url} has no requireRole hook`)
  return req.operator
}
