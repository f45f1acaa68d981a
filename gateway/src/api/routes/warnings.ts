/**
 * Warnings: the list with their versions, one warning with its history, deliveries and coverage;
 * operators issue, update, lift, acknowledge and reset them, and record 叫应 answers.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import {
  Acked,
  Answer,
  Answered,
  commandErrors,
  Coverage,
  Deliveries,
  Empty,
  IdParams,
  Issued,
  Lifted,
  ManualIssue,
  ManualUpdate,
  queryErrors,
  readErrors,
  ResetDone,
  Updated,
  WarningDetail,
  Warnings,
  WarningsQuery,
} from '../../contracts/api.js'
import { coverage, deliverySummary } from '../../reports/coverage.js'
import { warningDetail, warningList } from '../../reports/warnings.js'
import { grants } from '../../security/operators.js'
import { operatorOf, type Operator } from '../auth.js'
import { notFound, sendOutcome } from '../reply.js'
import type { ApiDeps } from '../server.js'

/** An operator as the alert manager sees one: approvers' own versions need no second look. */
const actor = (op: Operator) => ({ id: op.id, approver: grants(op.roles, 'approver') })
const security = [{ operator: [] }]

export const warningRoutes =
  (deps: Pick<ApiDeps, 'warnings' | 'manager' | 'people' | 'sms'>): FastifyPluginAsyncZod =>
  async (app) => {
    const tags = ['warnings']
    const operator = app.requireRole('operator')

    app.get(
      '/api/warnings',
      {
        schema: {
          tags,
          summary: 'warnings with all their versions',
          querystring: WarningsQuery,
          response: { 200: Warnings, ...queryErrors },
        },
      },
      async (req) => ({ warnings: warningList(deps.warnings, req.query) }),
    )

    app.get(
      '/api/warnings/:id',
      {
        schema: {
          tags,
          summary: 'one warning: versions with approvals, escalations, 叫应 calls, SMS, its audit trail',
          params: IdParams,
          response: { 200: WarningDetail, ...readErrors },
        },
      },
      async (req, reply) =>
        warningDetail(req.params.id, deps) ?? reply.code(404).send(notFound(`no warning ${req.params.id}`)),
    )

    app.post(
      '/api/warnings',
      {
        onRequest: operator,
        schema: {
          tags,
          security,
          summary: 'operator: issue a warning by hand (relay the bureau’s) to regions',
          body: ManualIssue,
          response: { 200: Issued, ...commandErrors },
        },
      },
      async (req, reply) =>
        sendOutcome(reply, await deps.manager.issueManual(req.body, actor(operatorOf(req)))),
    )

    app.post(
      '/api/warnings/:id/update',
      {
        onRequest: operator,
        schema: {
          tags,
          security,
          summary: 'operator: change a hand-issued warning',
          params: IdParams,
          body: ManualUpdate,
          response: { 200: Updated, ...commandErrors },
        },
      },
      async (req, reply) =>
        sendOutcome(reply, await deps.manager.updateManual(req.params.id, req.body, actor(operatorOf(req)))),
    )

    app.post(
      '/api/warnings/:id/lift',
      {
        onRequest: operator,
        schema: {
          tags,
          security,
          summary: 'operator: lift any active warning',
          params: IdParams,
          body: Empty,
          response: { 200: Lifted, ...commandErrors },
        },
      },
      async (req, reply) => sendOutcome(reply, await deps.manager.lift(req.params.id, operatorOf(req).id)),
    )

    app.post(
      '/api/warnings/:id/ack',
      {
        onRequest: operator,
        schema: {
          tags,
          security,
          summary: 'operator: acknowledge; stops its escalation',
          params: IdParams,
          body: Empty,
          response: { 200: Acked, ...commandErrors },
        },
      },
      async (req, reply) => sendOutcome(reply, await deps.manager.ack(req.params.id, operatorOf(req).id)),
    )

    app.post(
      '/api/warnings/:id/reset',
      {
        onRequest: operator,
        schema: {
          tags,
          security,
          summary: 'operator: reset a latched alarm (gas); 409 with the values while its condition holds',
          params: IdParams,
          body: Empty,
          response: { 200: ResetDone, ...commandErrors },
        },
      },
      async (req, reply) => {
        const r = await deps.manager.reset(req.params.id, operatorOf(req).id)
        if (!r.ok) return sendOutcome(reply, r)
        return { ok: true as const, warningId: req.params.id, version: r.version, state: 'lifted' as const }
      },
    )

    app.get(
      '/api/warnings/:id/deliveries',
      {
        schema: {
          tags,
          summary: 'per-terminal delivery state per version, and a summary',
          params: IdParams,
          response: { 200: Deliveries, ...readErrors },
        },
      },
      async (req, reply) => {
        const w = deps.warnings.get(req.params.id)
        if (!w) return reply.code(404).send(notFound(`no warning ${req.params.id}`))
        const deliveries = deps.warnings.deliveries(w.id)
        return { warningId: w.id, summary: deliverySummary(deliveries), deliveries }
      },
    )

    app.get(
      '/api/warnings/:id/coverage',
      {
        schema: {
          tags,
          summary:
            'per released version: loudspeakers targeted, reached, played, failed, offline; SMS; 叫应; time to playback',
          params: IdParams,
          response: { 200: Coverage, ...readErrors },
        },
      },
      async (req, reply) => {
        const w = deps.warnings.get(req.params.id)
        if (!w) return reply.code(404).send(notFound(`no warning ${req.params.id}`))
        return { warningId: w.id, versions: coverage(w.id, deps) }
      },
    )

    app.post(
      '/api/warnings/:id/answer',
      {
        onRequest: operator,
        schema: {
          tags,
          security,
          summary: 'operator: record a responsible person’s answer to a 叫应 call',
          params: IdParams,
          body: Answer,
          response: { 200: Answered, ...commandErrors },
        },
      },
      async (req, reply) => {
        const n = deps.people.answer(req.body.personId, 'api', req.params.id)
        if (n === 0)
          return reply
            .code(404)
            .send(notFound(`${req.body.personId} has no waiting call for ${req.params.id}`))
        return { ok: true as const, answered: n }
      },
    )
  }
