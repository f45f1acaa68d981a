/**
 * Grouping (Alertmanager's dispatch): an alert is one rule's level at one station (or k-of-n
 * group); alerts are grouped into one warning per key: hazard + village (or township, county,
 * station) for public warnings, hazard + site for enterprise alarms, as configured. Twenty gauges
 * over one village make one warning. An alert is muted as it is recorded if a silence covers it.
 */
import { codeOfPrefix, isAlarmStage, regionAt, type Transition } from '../../../rules/src/index.js'
import type { Station } from '../registry/schema.js'
import { SYSTEM } from '../warnings/model.js'
import type { AlertingDeps } from './context.js'
import type { Silencer } from './silence.js'

/** The warning an alert belongs to: its key and the region it covers. */
export interface Scope {
  readonly key: string
  readonly region: string
}

/** The warning key and region of a rule's transition at a station, per the grouping settings. */
export function scopeOf(t: Transition, station: Station, groupBy: AlertingDeps['config']['groupBy']): Scope {
  if (t.group !== undefined && t.group !== '*') {
    const region = codeOfPrefix(t.group)
    return { key: `${t.hazard}|${region}`, region }
  }
  const alarm = t.to !== null ? isAlarmStage(t.to) : t.from !== null && isAlarmStage(t.from)
  const by = alarm ? groupBy.alarm : groupBy.public
  if (by === 'site') return { key: `${t.hazard}|site:${station.site ?? station.id}`, region: station.region }
  if (by === 'station') return { key: `${t.hazard}|station:${station.id}`, region: station.region }
  const region = regionAt(station.region, by)
  return { key: `${t.hazard}|${region}`, region }
}

export class Grouper {
  constructor(
    private readonly deps: AlertingDeps,
    private readonly silencer: Silencer,
  ) {}

  /**
   * Records a transition as its alert's new level (muted if a silence covers it) and returns the
   * warning keys to decide again: its own, and the one it left if a reload regrouped it.
   */
  record(t: Transition, now: number): string[] {
    const { registry, rules } = this.deps.runtime()
    const station = registry.station(t.stationId)
    if (!station || !rules.get(t.ruleId)) return []
    const { alerts, audit } = this.deps.stores
    const scope = scopeOf(t, station, this.deps.config.groupBy)
    const prev = alerts.alert(t.ruleId, t.stationId)
    const silence =
      t.to === null
        ? undefined
        : this.silencer.silenceFor(
            { stationId: t.stationId, region: scope.region, hazard: t.hazard, level: t.to },
            now,
          )
    alerts.setAlert(
      {
        ruleId: t.ruleId,
        stationId: t.stationId,
        hazard: t.hazard,
        key: scope.key,
        region: scope.region,
        level: t.to,
        since: t.ts,
        explanation: t.contributors
          ? { ...t.explanation, group: t.group, contributors: t.contributors }
          : t.explanation,
        mutedBy: silence?.id ?? null,
      },
      prev?.level ?? null,
    )
    if (silence && (prev?.mutedBy ?? null) === null) {
      this.deps.metrics.alertsSilenced.inc()
      audit.audit(now, SYSTEM, 'alert_silenced', `${t.ruleId}@${t.stationId}`, {
        silence: silence.id,
        level: t.to,
        reason: silence.reason,
      })
    }
    // The alert moved to another warning (the grouping changed on a reload): settle the old one.
    return prev && prev.key !== scope.key ? [scope.key, prev.key] : [scope.key]
  }
}
