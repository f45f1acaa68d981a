/**
 * Approval before release (审核签发): per the `warnings.approval` policy (hazards × levels), a
 * version waits for an approver (or two: `twoPerson`) until its timeout, which releases it. An
 * approver issuing by hand approves as they issue. A new version supersedes whatever of its
 * warning still waited. A lift goes out if anything of the warning went out before.
 */
import { durationMs, type Level } from '../../../rules/src/index.js'
import type { WarningsConfig } from '../config/schema.js'
import { refuse, type Outcome } from '../core/outcome.js'
import { SYSTEM, type Release } from '../warnings/model.js'
import type { AlertingDeps, Pass } from './context.js'
import type { Inhibitor } from './inhibit.js'
import type { Releaser } from './release.js'
import type { Proposal, Stage } from './stage.js'

/** The approval policy entry for a hazard and level, if any. */
export function approvalPolicy(
  config: WarningsConfig,
  hazard: string,
  level: Level,
): WarningsConfig['approval'][number] | undefined {
  return config.approval.find(
    (p) => p.levels.includes(level) && (p.hazards.includes('*') || p.hazards.includes(hazard)),
  )
}

/** How many approvals a policy entry asks for: none without one, two under the two-person rule. */
export const approvalsNeeded = (policy: WarningsConfig['approval'][number] | undefined): number =>
  policy ? (policy.twoPerson ? 2 : 1) : 0

export class ApprovalStage implements Stage {
  readonly name = 'approve'

  constructor(private readonly deps: AlertingDeps) {}

  exec(pass: Pass, p: Proposal): Proposal | null {
    const { warnings } = this.deps.stores
    // Whatever still waited for approval is overtaken by this version.
    warnings.supersedePending(p.warning.id)
    if (p.version.action === 'lift') {
      const earlier = warnings.versions(p.warning.id).some((x) => x.release === 'released')
      return { ...p, release: earlier ? 'released' : 'superseded', releasedBy: [SYSTEM], due: null }
    }
    const policy = approvalPolicy(this.deps.config, p.warning.hazard, p.version.level!)
    if (p.version.approvedBy.length < approvalsNeeded(policy))
      return { ...p, release: 'pending', releasedBy: [], due: pass.now + durationMs(policy!.timeout) }
    const by = p.version.approvedBy.length > 0 ? p.version.approvedBy : [SYSTEM]
    return { ...p, release: 'released', releasedBy: by, due: null }
  }
}

export class Approvals {
  constructor(
    private readonly deps: AlertingDeps,
    private readonly inhibitor: Inhibitor,
    private readonly releaser: Releaser,
  ) {}

  /** An approver approves (or rejects) a version waiting for release. */
  decide(
    pass: Pass,
    warningId: string,
    version: number,
    operator: string,
    decision: 'approve' | 'reject',
  ): Outcome<{ release: Release; approvals: number }> {
    const { warnings, audit } = this.deps.stores
    const now = pass.now
    const w = warnings.get(warningId)
    const v = warnings.version(warningId, version)
    if (!w || !v) return refuse('not_found', `no version ${version} of warning ${warningId}`)
    if (v.release !== 'pending')
      return refuse('not_pending', `version ${version} is ${v.release}, not waiting for approval`)
    if (!warnings.addApproval(warningId, version, operator, decision, now))
      return refuse('already_decided', `${operator} has already decided on version ${version}`)
    audit.audit(now, operator, `version_${decision}d`, warningId, { version })
    pass.work.push(
      this.deps.emit({
        type: 'approval.given',
        region: w.region,
        hazard: w.hazard,
        data: { warningId, version, by: operator, decision },
      }),
    )
    if (decision === 'reject') {
      warnings.setRelease(warningId, version, 'rejected')
      return { ok: true, release: 'rejected', approvals: 0 }
    }
    const approvals = warnings.approvals(warningId, version).filter((a) => a.decision === 'approve')
    const policy = v.level ? approvalPolicy(this.deps.config, w.hazard, v.level) : undefined
    if (policy?.twoPerson && approvals.length < 2)
      return { ok: true, release: 'pending', approvals: approvals.length }
    if (this.inhibitor.inhibitor({ ...w, warningId: w.id })) {
      warnings.setRelease(warningId, version, 'inhibited')
      return { ok: true, release: 'inhibited', approvals: approvals.length }
    }
    this.releaser.releaseHeld(
      pass,
      w,
      v,
      approvals.map((a) => a.operator),
      'approved',
    )
    return { ok: true, release: 'released', approvals: approvals.length }
  }

  /** Versions past their approval deadline are released (or inhibited), stale ones superseded. */
  due(pass: Pass): void {
    const { warnings, audit } = this.deps.stores
    for (const v of warnings.pendingVersions()) {
      if (v.releaseDue === null || v.releaseDue > pass.now) continue
      const w = warnings.get(v.warningId)
      if (!w || w.state !== 'active' || w.version !== v.version) {
        warnings.setRelease(v.warningId, v.version, 'superseded')
        continue
      }
      audit.audit(pass.now, SYSTEM, 'approval_timeout', w.id, { version: v.version })
      if (this.inhibitor.inhibitor({ ...w, warningId: w.id }))
        warnings.setRelease(w.id, v.version, 'inhibited')
      else this.releaser.releaseHeld(pass, w, v, [SYSTEM], 'approval_timeout')
    }
  }
}
