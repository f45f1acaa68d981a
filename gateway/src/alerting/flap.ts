/**
 * Flap damping: a warning whose level changed `flap.changes` times within `flap.window` (event
 * time) is flapping; while it flaps its steps down are held for `flap.hold` (wall clock), so a
 * river hovering at its warning level does not switch the loudspeakers on and off. The step down
 * that makes it flap is the first one held; when the hold passes the warning is decided again.
 */
import { rank } from '../../../rules/src/index.js'
import { SYSTEM, type AlertRow, type WarningRow } from '../warnings/model.js'
import type { AlertingDeps, AlertingTimes, Pass } from './context.js'
import type { Proposal, Stage } from './stage.js'

export class FlapStage implements Stage {
  readonly name = 'flap'
  /** Per warning key: event times of its recent level changes. */
  private readonly changes = new Map<string, number[]>()

  constructor(
    private readonly deps: AlertingDeps,
    private readonly times: AlertingTimes,
  ) {}

  exec(pass: Pass, p: Proposal): Proposal | null {
    if (!p.flap) return p // operators' and expiry's versions are not damped
    const { key, current, anchor, holdOver } = p.flap
    const target = p.version.level
    const stepDown = current !== undefined && rank(target) < rank(current.level)
    const holding = current !== undefined && current.holdUntil !== null && pass.now < current.holdUntil
    if (stepDown && holding && !holdOver) return null
    const holdUntil = holdOver ? null : this.check(pass.now, key, p.version.ts, current, anchor)
    if (stepDown && holdUntil !== null && current) {
      this.deps.stores.warnings.updateWarning({ ...current, holdUntil })
      return null
    }
    return { ...p, warning: { ...p.warning, holdUntil: p.version.action === 'lift' ? null : holdUntil } }
  }

  /** Warnings whose hold has passed: cleared, to be decided again with `holdOver`. */
  holdsPassed(now: number): WarningRow[] {
    const { warnings } = this.deps.stores
    const passed = warnings.active().filter((w) => w.holdUntil !== null && w.holdUntil <= now)
    for (const w of passed) warnings.updateWarning({ ...w, holdUntil: null })
    return passed.map((w) => ({ ...w, holdUntil: null }))
  }

  /**
   * Records a level change of `key` at event time `ts`; when it makes the warning flap, returns the
   * wall-clock time until which its steps down are held (and audits the episode).
   */
  private check(
    now: number,
    key: string,
    ts: number,
    current: WarningRow | undefined,
    anchor: AlertRow | undefined,
  ): number | null {
    const { flapWindow: window, flapHold: hold } = this.times
    // After a restart the history comes back from the stored versions of the key's warnings.
    const known = this.changes.get(key) ?? this.deps.stores.warnings.changeTimes(key, ts - window)
    const list = known.filter((x) => x > ts - window)
    list.push(ts)
    this.changes.set(key, list)
    if (list.length < this.deps.config.flap.changes)
      return current && current.holdUntil !== null && current.holdUntil > now ? current.holdUntil : null
    const episode = !current || current.holdUntil === null || current.holdUntil <= now
    if (episode) {
      this.deps.metrics.flaps.inc()
      this.deps.stores.audit.audit(now, SYSTEM, 'flap_detected', current?.id ?? key, {
        key,
        ruleId: anchor?.ruleId ?? current?.ruleId,
        changes: list.length,
        window: this.deps.config.flap.window,
      })
      this.deps.log.warn({ key, changes: list.length }, 'warning flapping: steps down held')
    }
    return now + hold
  }
}
