/**
 * Acknowledgement and escalation by tier: a warning of a level that needs acknowledgement must be
 * acknowledged within `escalation.after`, or the next tier up (village → township → county) is
 * called in. A new or higher level must be acknowledged again.
 */
import { levelOfCode, rank, regionAt, type Level } from '../../../rules/src/index.js'
import { refuse, type Outcome } from '../core/outcome.js'
import { SYSTEM, type WarningRow } from '../warnings/model.js'
import type { AlertingDeps, AlertingTimes, Pass } from './context.js'

/** Escalation tier of a region: a village is 0, a township 1, a county (or above) 2. */
export const tierOf = (code: string): number => {
  const l = levelOfCode(code)
  return l === 'village' ? 0 : l === 'township' ? 1 : 2
}

/** The acknowledgement fields of a warning whose level changes from `current`'s to `target`. */
export type AckFields = Pick<WarningRow, 'ackedAt' | 'ackedBy' | 'tier' | 'escalateAt'>

export class Escalation {
  constructor(
    private readonly deps: AlertingDeps,
    private readonly times: AlertingTimes,
  ) {}

  /** Acknowledgement and escalation fields after a change to `target`. */
  fieldsAfter(current: WarningRow | undefined, target: Level | null, region: string, now: number): AckFields {
    const needs = target !== null && this.deps.config.escalation.levels.includes(target)
    const tier = current?.tier ?? tierOf(region)
    const kept = { ackedAt: current?.ackedAt ?? null, ackedBy: current?.ackedBy ?? null, tier }
    if (target === null || !needs) return { ...kept, escalateAt: null }
    const raised = current ? rank(target) > rank(current.level) : true
    // A new or higher level must be acknowledged again.
    if (raised) return { ackedAt: null, ackedBy: null, tier, escalateAt: now + this.times.escalateAfter }
    return { ...kept, escalateAt: current?.escalateAt ?? null }
  }

  /** An operator acknowledges a warning: its escalation stops. */
  ack(pass: Pass, warningId: string, operator: string): Outcome<{ ackedAt: number }> {
    const { warnings, audit } = this.deps.stores
    const w = warnings.get(warningId)
    if (!w || w.state !== 'active') return refuse('not_found', `no active warning ${warningId}`)
    if (w.ackedAt !== null) return refuse('already_acknowledged', `already acknowledged by ${w.ackedBy}`)
    const now = pass.now
    warnings.updateWarning({ ...w, ackedAt: now, ackedBy: operator, escalateAt: null })
    audit.audit(now, operator, 'acknowledged', warningId, {
      version: w.version,
      level: w.level,
      tier: w.tier,
    })
    pass.work.push(
      this.deps.emit({
        type: 'warning.acknowledged',
        region: w.region,
        hazard: w.hazard,
        data: { warningId, by: operator },
      }),
    )
    return { ok: true, ackedAt: now }
  }

  /** Warnings unacknowledged past their deadline call in the next tier up. */
  due(pass: Pass): void {
    for (const w of this.deps.stores.warnings.active())
      if (w.escalateAt !== null && w.escalateAt <= pass.now && w.ackedAt === null) this.escalate(pass, w)
  }

  private escalate(pass: Pass, w: WarningRow): void {
    const { warnings, audit } = this.deps.stores
    const now = pass.now
    if (w.tier >= 2) {
      warnings.updateWarning({ ...w, escalateAt: null })
      return
    }
    const tier = w.tier + 1
    const region = regionAt(w.region, tier === 1 ? 'township' : 'county')
    const people = this.deps
      .runtime()
      .registry.peopleIn(region, ['duty_officer', 'village_head'])
      .map((p) => ({ id: p.id, name: p.name, phone: p.phone ?? null }))
    warnings.addEscalation({ warningId: w.id, tier, region, people, at: now })
    warnings.updateWarning({ ...w, tier, escalateAt: tier < 2 ? now + this.times.escalateAfter : null })
    audit.audit(now, SYSTEM, 'escalated', w.id, { tier, region, people: people.map((p) => p.id) })
    this.deps.metrics.escalations.labels(String(tier)).inc()
    this.deps.log.warn(
      { warningId: w.id, tier, region, people: people.length },
      'warning escalated: not acknowledged',
    )
    pass.work.push(
      this.deps.emit({
        type: 'warning.escalated',
        region: w.region,
        hazard: w.hazard,
        data: { warningId: w.id, tier, people: people.map((p) => p.id) },
      }),
    )
  }
}
