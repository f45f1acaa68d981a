/**
 * What an operator's command comes to: done, or refused for a domain reason. The reasons say what
 * is wrong in the domain's words; only the API turns them into HTTP statuses (api/outcome.ts).
 */

/** Why a command was refused. */
export type Refusal =
  /** No such warning, version or silence (or not in the state the command needs, e.g. not active). */
  | 'not_found'
  /** A region the registry does not know. */
  | 'unknown_region'
  /** The version is not waiting for approval (released, rejected, superseded…). */
  | 'not_pending'
  /** This operator has already approved or rejected the version. */
  | 'already_decided'
  /** The warning is already acknowledged. */
  | 'already_acknowledged'
  /** A rule-issued warning follows its alerts; it cannot be changed by hand. */
  | 'rule_issued'
  /** Reset asked of a warning with no latched alarm. */
  | 'not_latched'
  /** A latched alarm's condition still holds at the latest reading. */
  | 'condition_holds'
  /** An upstream alert none of whose areas is in this registry. */
  | 'not_for_this_area'
  /** An account (or a configured operator) with this id exists already. */
  | 'already_exists'
  /** An admin may not take roles from, or disable, their own account. */
  | 'own_account'
  /** The password given to prove who one is (changing one's own) is wrong, or the account is locked. */
  | 'wrong_password'
  /** An API token may not have a role its owner lacks. */
  | 'scope_exceeds_owner'
  /** Logout ends a login session; the token given is not one. */
  | 'not_a_session'

/** Done (with what the command produced), or refused with its reason and a readable message. */
export type Outcome<T = Record<string, unknown>> =
  ({ ok: true } & T) | { ok: false; reason: Refusal; message: string; detail?: unknown }

/** A refusal, for `return refuse(...)` in commands. */
export const refuse = (reason: Refusal, message: string, detail?: unknown) =>
  ({ ok: false, reason, message, ...(detail !== undefined ? { detail } : {}) }) as const
