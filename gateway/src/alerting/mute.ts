/**
 * Muting: what keeps an alert or a version off the air while it stays visible. Two implementations
 * of one interface: silences (an operator's maintenance window mutes matching alerts) and
 * inhibition (a released, more severe warning of the hazard covering the region mutes a lower
 * version). Each says why it muted, and the stage that asked records it.
 */
import type { Level } from '../../../rules/src/index.js'

/** What may be muted: an alert (rule at a station) or a warning's version. */
export interface MuteSubject {
  /** The warning's id (a version), when there is one. */
  readonly warningId?: string
  readonly stationId?: string
  readonly region: string
  readonly hazard: string
  readonly level: Level | null
  /** CAP status of the warning: a drill (Exercise, Test) and a real warning never mute each other. */
  readonly status?: 'Actual' | 'Exercise' | 'Test'
}

/** Why something is muted. */
export interface Muting {
  readonly by: 'silence' | 'inhibition'
  /** The silence's id, or the inhibiting warning's id. */
  readonly id: string
  readonly reason: string
}

export interface Muter {
  readonly name: Muting['by']
  /** Why `s` is muted at `now`, or undefined when it is not. */
  mutes(s: MuteSubject, now: number): Muting | undefined
}
