/**
 * Relaying an upstream CAP alert (already read by intake.ts): which of this registry's regions it
 * covers, and whether it issues a warning, updates the warning relaying an earlier alert, or
 * cancels it. The warnings themselves are the alert manager's; this module decides which command
 * to give it, through a port, and counts the outcome (`shaobing_cap_intake_total{outcome}`).
 */
import { refuse, type Outcome } from '../core/outcome.js'
import { outermost, regionContains, type Level } from '../../../rules/src/index.js'
import type { Relay } from './intake.js'

/** An alert intake accepted for relaying. */
export type Relayable = Exclude<Relay, { kind: 'refused' }>

/** Who relays: the operator who posted the alert. Relayed versions still go through approval. */
interface Actor {
  readonly id: string
  readonly approver: boolean
}

/** The commands the relay gives, and the one lookup it needs (the warning relaying an alert). */
export interface RelayPort {
  byUpstream(ref: string): { readonly id: string; readonly state: 'active' | 'lifted' } | undefined
  issueManual(
    input: {
      hazard: string
      level: Level
      regions: readonly string[]
      text?: string | undefined
      status?: 'Actual' | 'Exercise' | 'Test' | undefined
      upstream?: string | undefined
    },
    operator: Actor,
  ): Promise<Outcome<{ warningId: string; version: number }>>
  updateManual(
    id: string,
    input: { level: Level; text?: string | undefined },
    operator: Actor,
  ): Promise<Outcome<{ version: number }>>
  lift(id: string, operator: string): Promise<Outcome<{ version: number }>>
}

/** What the relay counts, by outcome: the labels of `shaobing_cap_intake_total`. */
export type RelayCount = 'issue' | 'update' | 'cancel' | 'not_here'

export interface RelayDeps {
  readonly warnings: RelayPort
  /** Region codes of the registry in force. */
  readonly regions: readonly string[]
  readonly count: (outcome: RelayCount) => void
}

/**
 * The alert's areas as regions of this registry: a code the registry knows stands for itself; a
 * wider one (a county code over a township registry, a province) for the registry's top regions
 * inside it.
 */
export function regionsCovered(codes: readonly string[], known: readonly string[]): string[] {
  const tops = outermost(known)
  return [
    ...new Set(
      codes.flatMap((code) => (known.includes(code) ? [code] : tops.filter((t) => regionContains(code, t)))),
    ),
  ]
}

/**
 * Relays one alert: a Cancel lifts the active warning relaying an alert it references; an Update
 * of such a warning changes it (an Update of nothing known is relayed as a new warning); an Alert
 * issues a warning to the regions it covers, refused when it covers none of them.
 */
export async function relayCap(
  relay: Relayable,
  operator: string,
  deps: RelayDeps,
): Promise<Outcome<{ warningId?: string; version: number }>> {
  const actor = { id: operator, approver: false }
  const previous = relay.references.map((r) => deps.warnings.byUpstream(r)).find((w) => w?.state === 'active')
  if (relay.kind === 'cancel') {
    deps.count('cancel')
    if (!previous) return refuse('not_found', 'no active warning relays the referenced alert')
    return deps.warnings.lift(previous.id, operator)
  }
  // intake.ts gives every Alert and Update a level; only a Cancel may lack one.
  const level = relay.level
  if (level === null) throw new Error(`CAP ${relay.kind} ${relay.ref} reached the relay without a level`)
  if (relay.kind === 'update' && previous) {
    deps.count('update')
    return deps.warnings.updateManual(previous.id, { level, text: relay.text }, actor)
  }
  const targets = regionsCovered(relay.codes, deps.regions)
  if (targets.length === 0) {
    deps.count('not_here')
    return refuse(
      'not_for_this_area',
      `none of the alert's areas (${relay.codes.join(', ') || 'no GB/T 2260 geocode'}) is in this registry`,
    )
  }
  deps.count('issue')
  return deps.warnings.issueManual(
    {
      hazard: relay.hazard,
      level,
      regions: targets,
      text: relay.text,
      status: relay.status,
      upstream: relay.ref,
    },
    actor,
  )
}
