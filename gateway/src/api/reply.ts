/** The bodies and replies every route shares: refused fields, missing subjects, command outcomes. */
import type { FastifyReply } from 'fastify'
import type { BadRequest } from '../contracts/api.js'
import type { Outcome } from '../core/outcome.js'
import { httpOf } from './outcome.js'

/** The 400 body: each field at fault (dotted path) and why. */
export const badRequest = (issues: BadRequest['issues']): BadRequest => ({ error: 'bad_request', issues })

/** The 404 body of a read whose subject does not exist. */
export const notFound = (message: string) => ({ error: 'not_found', message })

/** Sends a command's outcome: 200 with what was done, or its refusal's status and reason. */
export function sendOutcome(reply: FastifyReply, r: Outcome): FastifyReply {
  const { status, body } = httpOf(r)
  return reply.code(status).send(body)
}
