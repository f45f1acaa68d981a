/**
 * Expiry and lifting: a warning whose last version is older than `warnings.expireAfter` is lifted
 * as expired; an operator may lift any active warning. Both end it with a lift version (终报).
 */
import { manualText, warningText } from '../warnings/text.js'
import { SYSTEM, type WarningRow } from '../warnings/model.js'
import type { AlertingDeps, AlertingTimes } from './context.js'
import type { Proposal } from './stage.js'

export class Expiry {
  constructor(
    private readonly deps: AlertingDeps,
    private readonly times: AlertingTimes,
  ) {}

  /** Active warnings whose last version is older than the expiry, as of `now`. */
  due(now: number): WarningRow[] {
    const { warnings } = this.deps.stores
    return warnings.active().filter((w) => {
      const last = warnings.version(w.id, w.version)
      return last !== undefined && now - last.createdAt >= this.times.expireAfter
    })
  }

  /** The lift version that ends `w` (an operator's lift, or expiry). */
  ending(w: WarningRow, why: 'lifted' | 'expired', actor: string, now: number): Proposal {
    const { registry, rules } = this.deps.runtime()
    const text =
      w.origin === 'manual'
        ? manualText(
            w.hazard,
            null,
            w.targets.map((r) => registry.placeName(r)),
            w.level,
          )
        : warningText({
            action: 'lift',
            level: null,
            prevLevel: w.level,
            place: registry.placeName(w.region),
            station: registry.station(w.stationId)?.name ?? '',
            hazard: w.hazard,
            ruleName: rules.get(w.ruleId)?.name ?? w.ruleId,
            explanation: { level: w.level!, held: false, conditions: [] },
          })
    const { version: _version, ...rest } = w
    return {
      warning: {
        ...rest,
        level: null,
        state: 'lifted',
        updatedAt: w.origin === 'manual' ? now : w.updatedAt,
        liftedAt: now,
        endReason: why,
        escalateAt: null,
        holdUntil: null,
      },
      version: {
        action: 'lift',
        level: null,
        prevLevel: w.level,
        ts: w.origin === 'manual' ? now : w.updatedAt,
        text,
        explanation: { [why]: true, by: actor },
        reason: why === 'expired' ? 'expired' : 'manual',
        verified: true,
        alerts: [],
        approvedBy: [actor],
      },
      release: 'released',
      due: null,
      releasedBy: [SYSTEM],
    }
  }
}
