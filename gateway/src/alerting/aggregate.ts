/**
 * Aggregation: a warning's level is the most severe unmuted alert's of its key. When that differs
 * from the warning's current level, the change is proposed as a new version (issue / update /
 * lift; 首报 / 续报 / 终报) with its reason, its broadcast text and the alerts behind it.
 */
import { rank } from '../../../rules/src/index.js'
import {
  SYSTEM,
  type AlertRow,
  type VersionReason,
  type WarningAction,
  type WarningRow,
} from '../warnings/model.js'
import { warningText } from '../warnings/text.js'
import type { AlertingDeps, Pass } from './context.js'
import type { Escalation } from './escalate.js'
import type { Proposal } from './stage.js'

/** Readable id from event time and key, so a replay of the same readings names it the same. */
export const warningIdOf = (ts: number, key: string): string =>
  `${new Date(ts)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${key.replace(/[|:]/g, '-')}`

/** Why the key is decided again, and at which event time. */
export interface Settle {
  readonly ts: number
  readonly reason: VersionReason
  /** A flap hold has passed. */
  readonly holdOver?: boolean
}

export class Aggregator {
  constructor(
    private readonly deps: AlertingDeps,
    private readonly escalation: Escalation,
  ) {}

  /** The version the alerts of `key` call for, or null when the warning already says it. */
  propose(pass: Pass, key: string, ctx: Settle): Proposal | null {
    const { alerts: alertStore, warnings } = this.deps.stores
    const alerts = alertStore.alertsOfKey(key)
    const live = alerts.filter((a) => a.mutedBy === null)
    let top: AlertRow | undefined
    for (const a of live) if (!top || rank(a.level) > rank(top.level)) top = a
    const target = top?.level ?? null
    const current = warnings.activeByKey(key)
    if (!current && target === null) return null
    if (current && current.level === target) return null
    if (current && current.origin === 'manual') return null // an operator's warning follows no alerts
    const action: WarningAction = !current ? 'issue' : target === null ? 'lift' : 'update'
    const anchor = top ?? (current ? undefined : alerts[0])
    const ruleId = anchor?.ruleId ?? current!.ruleId
    const stationId = anchor?.stationId ?? current!.stationId
    const { registry, rules } = this.deps.runtime()
    const hazard = key.split('|')[0]!
    const region = current?.region ?? (anchor ? anchor.region : '')
    const explanation = (anchor ?? alertStore.alert(current!.ruleId, current!.stationId))?.explanation ?? {
      level: current?.level,
      held: false,
      conditions: [],
    }
    const prevLevel = current?.level ?? null
    const text = warningText({
      action,
      level: target,
      prevLevel,
      place: registry.placeName(region),
      station: registry.station(stationId)?.name ?? stationId,
      hazard,
      ruleName: rules.get(ruleId)?.name ?? ruleId,
      explanation: explanation as Parameters<typeof warningText>[0]['explanation'],
    })
    const contributors = live.flatMap((a) => {
      const c = (a.explanation as { contributors?: { stationId: string }[] }).contributors
      return c ? c.map((x) => x.stationId) : [a.stationId]
    })
    const warning: Omit<WarningRow, 'version'> = {
      id: current?.id ?? warningIdOf(ctx.ts, key),
      key,
      origin: 'rule',
      ruleId,
      stationId,
      hazard,
      region,
      targets: current?.targets ?? [region],
      level: target,
      state: action === 'lift' ? 'lifted' : 'active',
      issuedAt: current?.issuedAt ?? ctx.ts,
      updatedAt: ctx.ts,
      liftedAt: action === 'lift' ? ctx.ts : null,
      endReason: action === 'lift' ? 'cleared' : null,
      ...this.escalation.fieldsAfter(current, target, region, pass.now),
      holdUntil: null, // the flap stage decides
      status: current?.status ?? 'Actual',
      upstream: null,
    }
    return {
      warning,
      version: {
        action,
        level: target,
        prevLevel,
        ts: ctx.ts,
        text,
        explanation,
        reason: ctx.reason,
        verified: !contributors.some((id) => this.deps.stationFaulty(id)),
        alerts: alerts.map((a) => ({
          ruleId: a.ruleId,
          stationId: a.stationId,
          level: a.level,
          since: a.since,
          mutedBy: a.mutedBy,
        })),
        approvedBy: [],
      },
      release: 'released',
      due: null,
      releasedBy: [SYSTEM],
      flap: { key, current, anchor: top ?? alerts[0], holdOver: ctx.holdOver ?? false },
    }
  }

  /** The latest event time known for a key (a silence change re-decides it at that time). */
  lastTs(key: string): number {
    const alerts = this.deps.stores.alerts.alertsOfKey(key)
    const w = this.deps.stores.warnings.activeByKey(key)
    return Math.max(w?.updatedAt ?? 0, ...alerts.map((a) => a.since))
  }
}
