/**
 * Inhibition: a released, more severe warning of the same hazard (and alarm class) whose targets
 * cover a version's region mutes that version: it is recorded as `inhibited`, not sent, and goes
 * out by itself once nothing inhibits it any more. A drill (CAP Exercise or Test) only ever
 * inhibits drills: it reaches drill terminals alone, so it must never keep a real warning off the
 * loudspeakers, nor a real warning a drill.
 */
import { isAlarmStage, rank, regionContains } from '../../../rules/src/index.js'
import type { VersionRow, WarningRow } from '../warnings/model.js'
import type { AlertingDeps, Pass } from './context.js'
import type { MuteSubject, Muter, Muting } from './mute.js'
import type { Proposal, Stage } from './stage.js'

export class Inhibitor implements Muter {
  readonly name = 'inhibition' as const

  constructor(private readonly deps: AlertingDeps) {}

  /** The warning that inhibits `x`, if any. */
  inhibitor(x: MuteSubject): WarningRow | undefined {
    if (!this.deps.config.inhibit || x.level === null) return undefined
    const level = x.level
    const drill = (x.status ?? 'Actual') !== 'Actual'
    const { warnings } = this.deps.stores
    return warnings
      .activeOfHazard(x.hazard)
      .find(
        (o) =>
          o.id !== x.warningId &&
          o.level !== null &&
          (o.status !== 'Actual') === drill &&
          isAlarmStage(o.level) === isAlarmStage(level) &&
          rank(o.level) > rank(level) &&
          o.targets.some((t) => regionContains(t, x.region)) &&
          warnings.version(o.id, o.version)?.release === 'released',
      )
  }

  mutes(x: MuteSubject): Muting | undefined {
    const o = this.inhibitor(x)
    return o && { by: 'inhibition', id: o.id, reason: `${o.level} warning ${o.id} covers ${x.region}` }
  }

  /** Warnings of `hazard` (but `except`) whose current version is inhibited and no longer should be. */
  freed(hazard: string, except: string): { warning: WarningRow; version: VersionRow }[] {
    const { warnings } = this.deps.stores
    const out: { warning: WarningRow; version: VersionRow }[] = []
    for (const w of warnings.activeOfHazard(hazard)) {
      if (w.id === except) continue
      const v = warnings.version(w.id, w.version)
      if (v?.release !== 'inhibited' || this.inhibitor({ ...w, warningId: w.id })) continue
      out.push({ warning: w, version: v })
    }
    return out
  }
}

/** The stage: a version about to be released is held as `inhibited` while a muter says so. */
export class InhibitStage implements Stage {
  readonly name = 'inhibit'

  constructor(private readonly muter: Muter) {}

  exec(pass: Pass, p: Proposal): Proposal | null {
    if (p.release !== 'released' || p.version.action === 'lift') return p
    const muted = this.muter.mutes(
      { ...p.warning, warningId: p.warning.id, level: p.version.level },
      pass.now,
    )
    return muted ? { ...p, release: 'inhibited', releasedBy: [], inhibitedBy: muted.id } : p
  }
}
