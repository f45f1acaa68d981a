/**
 * Silences: maintenance windows (by station, region and/or hazard) that mute matching alerts. A
 * muted alert stays visible with the silence that mutes it; it just does not raise its warning.
 * When silences start or end, the alerts they cover are muted or unmuted and their warnings are
 * decided again.
 */
import { regionContains } from '../../../rules/src/index.js'
import { SYSTEM, type SilenceRow } from '../warnings/model.js'
import type { AlertingDeps } from './context.js'
import type { MuteSubject, Muter, Muting } from './mute.js'

/** A silence's matchers against an alert's station, region and hazard. */
export const silenceMatches = (s: SilenceRow, x: MuteSubject): boolean =>
  (s.stationId === null || s.stationId === x.stationId) &&
  (s.region === null || regionContains(s.region, x.region)) &&
  (s.hazard === null || s.hazard === x.hazard)

export class Silencer implements Muter {
  readonly name = 'silence' as const

  constructor(private readonly deps: AlertingDeps) {}

  /** The silence in force at `now` that mutes `x`, if any. */
  silenceFor(
    x: MuteSubject,
    now: number,
    inForce = this.deps.stores.silences.silencesAt(now),
  ): SilenceRow | undefined {
    return inForce.find((s) => silenceMatches(s, x))
  }

  mutes(x: MuteSubject, now: number): Muting | undefined {
    const s = this.silenceFor(x, now)
    return s && { by: 'silence', id: String(s.id), reason: s.reason }
  }

  /**
   * Mutes the alerts under silences now in force and unmutes those whose silence ended (audited).
   * Returns the warning keys whose alerts changed, to be decided again.
   */
  resilence(now: number): Set<string> {
    const { alerts, audit, silences } = this.deps.stores
    const inForce = silences.silencesAt(now)
    const keys = new Set<string>()
    for (const a of alerts.alerts()) {
      const id = this.silenceFor(a, now, inForce)?.id ?? null
      if (id === a.mutedBy) continue
      alerts.setMuted(a.ruleId, a.stationId, id)
      audit.audit(
        now,
        SYSTEM,
        id === null ? 'alert_unsilenced' : 'alert_silenced',
        `${a.ruleId}@${a.stationId}`,
        {
          silence: id ?? a.mutedBy,
          level: a.level,
        },
      )
      if (id !== null) this.deps.metrics.alertsSilenced.inc()
      keys.add(a.key)
    }
    return keys
  }

  /** Records a silence (audited). */
  add(
    s: Pick<SilenceRow, 'stationId' | 'region' | 'hazard' | 'startsAt' | 'endsAt' | 'reason'>,
    author: string,
    now: number,
  ): number {
    const id = this.deps.stores.silences.addSilence({ ...s, author, createdAt: now })
    this.deps.stores.audit.audit(now, author, 'silence_added', `silence:${id}`, s)
    return id
  }

  /** Ends a silence in force early (audited); false when there is none. */
  end(id: number, author: string, now: number): boolean {
    if (!this.deps.stores.silences.endSilence(id, now)) return false
    this.deps.stores.audit.audit(now, author, 'silence_ended', `silence:${id}`, {})
    return true
  }
}
