/**
 * The stage interface (after Alertmanager's notify.Stage): a proposed version of a warning passes
 * through the stages in order; each shapes it (when it is released, by whom, held until when) or
 * ends it. Stages only decide and record; none sends anything or calls a channel. What goes out is
 * a `warning.released` event, which dissemination subscribes to.
 */
import type { AlertRow, Release, VersionRow, WarningRow } from '../warnings/model.js'
import type { Pass } from './context.js'

/** The version a proposal would add, before the stages decide its release. */
export type VersionDraft = Omit<
  VersionRow,
  | 'warningId'
  | 'version'
  | 'createdAt'
  | 'release'
  | 'releaseDue'
  | 'releasedAt'
  | 'releasedBy'
  | 'roundsSent'
  | 'lastRoundAt'
> & {
  /** Operators who approved it as they made it (an approver issuing by hand). */
  readonly approvedBy: readonly string[]
}

/** A change being decided: the warning's next state and the version that records it. */
export interface Proposal {
  readonly warning: Omit<WarningRow, 'version'>
  readonly version: VersionDraft
  /** How the version goes out, as decided so far (approval and inhibition may hold it). */
  readonly release: Release
  /** Approval deadline while pending. */
  readonly due: number | null
  readonly releasedBy: readonly string[]
  /** The warning that inhibits it, when inhibited. */
  readonly inhibitedBy?: string
  /** For a rule's change: what flap damping needs to know. */
  readonly flap?: {
    readonly key: string
    readonly current: WarningRow | undefined
    readonly anchor: AlertRow | undefined
    /** A hold has passed: the held step down goes through now. */
    readonly holdOver: boolean
  }
}

/** One step of deciding a version. */
export interface Stage {
  readonly name: string
  /** The proposal to pass on (possibly changed), or null when this stage ends it. */
  exec(pass: Pass, p: Proposal): Proposal | null
}

/** Runs a proposal through stages in order; the last proposal, or null if one ended it. */
export function runStages(stages: readonly Stage[], pass: Pass, p: Proposal): Proposal | null {
  let cur: Proposal | null = p
  for (const s of stages) {
    cur = s.exec(pass, cur)
    if (cur === null) return null
  }
  return cur
}
