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

/** Done (with what the command produced), or refused with its reason and a readable message. */
export type Outcome<T = Record<string, unknown>> =
  ({ ok: true } & T) | { ok: false; reason: Refusal; message: string; detail?: unknown }

/** A refusal, for `return refuse(...)` in commands. */
export const refuse = (reason: Refusal, message: string, detail?: unknown) =>
  ({ ok: false, reason, message, ...(detail !== undefined ? { detail } : {}) }) as const
