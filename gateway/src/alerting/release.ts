/**
 * Release: the last stage records the version as decided (released, pending, inhibited,
 * superseded) with the warning's new state, audits it, and tells the event stream. A released
 * version becomes a `warning.released` event, which dissemination turns into deliveries inside
 * the same transaction; a pending one asks for approval. Held versions are released here too,
 * when approved, timed out, or no longer inhibited.
 */
import { SYSTEM, type VersionRow, type WarningRow } from '../warnings/model.js'
import type { AlertingDeps, Pass } from './context.js'
import { approvalPolicy } from './approve.js'
import type { Proposal, Stage } from './stage.js'

export class Releaser implements Stage {
  readonly name = 'release'

  constructor(private readonly deps: AlertingDeps) {}

  exec(pass: Pass, p: Proposal): Proposal | null {
    const { warnings, audit } = this.deps.stores
    const now = pass.now
    const { approvedBy: _approvedBy, ...v } = p.version
    const version = warnings.addVersion({
      warning: p.warning,
      version: {
        ...v,
        createdAt: now,
        release: p.release,
        releaseDue: p.due,
        releasedAt: p.release === 'released' ? now : null,
        releasedBy: p.release === 'released' ? p.releasedBy : [],
      },
    })
    const w = p.warning
    this.deps.metrics.transitions.labels(v.action, v.level ?? 'none').inc()
    this.deps.metrics.activeWarnings.set(warnings.countActive())
    audit.audit(now, p.releasedBy[0] ?? SYSTEM, `warning_${v.action}`, w.id, {
      version,
      level: v.level,
      from: v.prevLevel,
      reason: v.reason,
      release: p.release,
      key: w.key,
      ...(p.inhibitedBy !== undefined ? { inhibitedBy: p.inhibitedBy } : {}),
    })
    // `warningLevel`, not `level`: that key is the log line's own (pino's 30 = info).
    this.deps.log.info(
      {
        warningId: w.id,
        version,
        action: v.action,
        warningLevel: v.level,
        from: v.prevLevel,
        release: p.release,
      },
      'warning changed',
    )
    const scope = { region: w.region, hazard: w.hazard }
    if (p.release === 'released') this.announce(pass, { ...w, version }, warnings.version(w.id, version)!)
    else if (p.release === 'pending')
      pass.work.push(
        this.deps.emit({
          type: 'approval.needed',
          ...scope,
          data: {
            warningId: w.id,
            version,
            level: v.level,
            due: p.due,
            twoPerson: (v.level && approvalPolicy(this.deps.config, w.hazard, v.level)?.twoPerson) ?? false,
          },
        }),
      )
    else if (p.release === 'inhibited')
      pass.work.push(
        this.deps.emit({
          type: 'version.held',
          ...scope,
          data: {
            warningId: w.id,
            version,
            release: 'inhibited',
            ...(p.inhibitedBy ? { inhibitedBy: p.inhibitedBy } : {}),
          },
        }),
      )
    return { ...p }
  }

  /** Releases a held version (approved, timed out, or no longer inhibited). */
  releaseHeld(pass: Pass, w: WarningRow, v: VersionRow, by: readonly string[], why: string): void {
    const { warnings, audit } = this.deps.stores
    warnings.release(w.id, v.version, by, pass.now)
    audit.audit(pass.now, by[0] ?? SYSTEM, 'version_released', w.id, { version: v.version, why, by })
    this.deps.log.info({ warningId: w.id, version: v.version, why, by }, 'warning version released')
    this.announce(pass, w, warnings.version(w.id, v.version)!)
  }

  /** The version is out: dissemination hears of it (in this transaction) and delivers it. */
  private announce(pass: Pass, w: WarningRow, v: VersionRow): void {
    pass.work.push(
      this.deps.emit({
        type: 'warning.released',
        region: w.region,
        hazard: w.hazard,
        data: {
          warningId: w.id,
          version: v.version,
          action: v.action,
          level: v.level,
          prevLevel: v.prevLevel,
          targets: w.targets,
          status: w.status,
          releasedBy: v.releasedBy,
          text: v.text,
        },
      }),
    )
  }
}
