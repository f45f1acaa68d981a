/**
 * Warnings by hand: an operator issues a warning to chosen regions (relaying the bureau's, say) and
 * changes its level or text. They follow no alerts; they go through approval, inhibition and
 * release like any other version.
 */
import { randomUUID } from 'node:crypto'
import type { Level } from '../../../rules/src/index.js'
import { SYSTEM, type WarningRow } from '../warnings/model.js'
import { manualText } from '../warnings/text.js'
import { warningIdOf } from './aggregate.js'
import type { AlertingDeps } from './context.js'
import type { Escalation } from './escalate.js'
import type { Proposal } from './stage.js'

/** What an operator asks for when issuing by hand. */
export interface ManualIssue {
  readonly hazard: string
  readonly level: Level
  readonly regions: readonly string[]
  readonly text?: string | undefined
  readonly status?: WarningRow['status'] | undefined
  /** `sender,identifier` of the upstream CAP alert relayed. */
  readonly upstream?: string | undefined
}

/** Who acts, and whether their making a version also approves it. */
export interface Actor {
  readonly id: string
  readonly approver: boolean
}

/** The version an operator makes, and its release as the stages start it. */
function byHand(
  v: { action: 'issue' | 'update'; level: Level; prevLevel: Level | null; text: string; now: number },
  operator: Actor,
  explanation: Record<string, unknown> = {},
): Pick<Proposal, 'version' | 'release' | 'due' | 'releasedBy'> {
  return {
    version: {
      action: v.action,
      level: v.level,
      prevLevel: v.prevLevel,
      ts: v.now,
      text: v.text,
      explanation: { manual: true, by: operator.id, ...explanation },
      reason: 'manual',
      verified: true,
      alerts: [],
      approvedBy: operator.approver ? [operator.id] : [],
    },
    release: 'released',
    due: null,
    releasedBy: [SYSTEM],
  }
}

export class ManualWarnings {
  constructor(
    private readonly deps: AlertingDeps,
    private readonly escalation: Escalation,
  ) {}

  /** The broadcast text composed from hazard, level and the regions' names, when none is given. */
  private composed(hazard: string, level: Level, regions: readonly string[]): string {
    const { registry } = this.deps.runtime()
    return manualText(
      hazard,
      level,
      regions.map((r) => registry.placeName(r)),
    )
  }

  /** Regions of the request the registry does not know. */
  unknownRegions(regions: readonly string[]): string[] {
    const { registry } = this.deps.runtime()
    return regions.filter((r) => registry.regionName(r) === r)
  }

  /** The first version of a warning issued by hand. */
  issue(input: ManualIssue, operator: Actor, now: number): Proposal {
    const key = `manual|${input.hazard}|${now.toString(36)}${randomUUID().slice(0, 8)}`
    const region = input.regions[0]!
    const text = input.text ?? this.composed(input.hazard, input.level, input.regions)
    return {
      warning: {
        id: warningIdOf(now, key),
        key,
        origin: 'manual',
        ruleId: 'manual',
        stationId: '',
        hazard: input.hazard,
        region,
        targets: [...input.regions],
        level: input.level,
        state: 'active',
        issuedAt: now,
        updatedAt: now,
        liftedAt: null,
        endReason: null,
        ...this.escalation.fieldsAfter(undefined, input.level, region, now),
        holdUntil: null,
        status: input.status ?? 'Actual',
        upstream: input.upstream ?? null,
      },
      ...byHand({ action: 'issue', level: input.level, prevLevel: null, text, now }, operator, {
        ...(input.upstream ? { upstream: input.upstream } : {}),
      }),
    }
  }

  /** A new level (or text) of a warning issued by hand. */
  update(
    w: WarningRow,
    input: { level: Level; text?: string | undefined },
    operator: Actor,
    now: number,
  ): Proposal {
    const text = input.text ?? this.composed(w.hazard, input.level, w.targets)
    const { version: _version, ...rest } = w
    return {
      warning: {
        ...rest,
        level: input.level,
        updatedAt: now,
        ...this.escalation.fieldsAfter(w, input.level, w.region, now),
      },
      ...byHand({ action: 'update', level: input.level, prevLevel: w.level, text, now }, operator),
    }
  }
}
