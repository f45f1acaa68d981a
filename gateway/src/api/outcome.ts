/** The one place a domain refusal becomes an HTTP status. */
import type { Outcome, Refusal } from '../core/outcome.js'

const STATUS: Record<Refusal, { status: 400 | 403 | 404 | 409 | 422; error: string }> = {
  not_found: { status: 404, error: 'not_found' },
  unknown_region: { status: 400, error: 'bad_request' },
  not_pending: { status: 409, error: 'conflict' },
  already_decided: { status: 409, error: 'conflict' },
  already_acknowledged: { status: 409, error: 'conflict' },
  rule_issued: { status: 409, error: 'conflict' },
  not_latched: { status: 409, error: 'conflict' },
  condition_holds: { status: 409, error: 'conflict' },
  not_for_this_area: { status: 422, error: 'not_for_this_area' },
  already_exists: { status: 409, error: 'conflict' },
  own_account: { status: 409, error: 'conflict' },
  wrong_password: { status: 403, error: 'forbidden' },
  scope_exceeds_owner: { status: 400, error: 'bad_request' },
  not_a_session: { status: 400, error: 'bad_request' },
}

/** HTTP status and body of an outcome: 200 with what was done, or the refusal's status and reason. */
export function httpOf(r: Outcome): { status: number; body: unknown } {
  if (r.ok) return { status: 200, body: r }
  const { status, error } = STATUS[r.reason]
  return {
    status,
    body: {
      error,
      reason: r.reason,
      message: r.message,
      ...(r.detail !== undefined ? { detail: r.detail } : {}),
    },
  }
}
