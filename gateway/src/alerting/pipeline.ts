/**
 * The one place alerting is assembled. A rule's transition is grouped into its warning's alerts
 * (group.ts, muted by silences: silence.ts); the alerts' level is aggregated into a proposed
 * version (aggregate.ts), which passes the stages in this order:
 *
 *   flap (hold steps down while flapping) → approve (wait for an approver) →
 *   inhibit (held under a higher warning) → release (record; a released version is an event)
 *
 * Operators' versions (manual.ts) and lifts (expire.ts) take the same path; flap damping passes
 * them through. Escalation (escalate.ts) and approval deadlines run on the wall clock.
 */
import { Aggregator } from './aggregate.js'
import { ApprovalStage, Approvals } from './approve.js'
import { timesOf, type AlertingDeps, type AlertingTimes } from './context.js'
import { Escalation } from './escalate.js'
import { Expiry } from './expire.js'
import { FlapStage } from './flap.js'
import { Grouper } from './group.js'
import { Inhibitor, InhibitStage } from './inhibit.js'
import { ManualWarnings } from './manual.js'
import { Releaser } from './release.js'
import { Silencer } from './silence.js'
import type { Stage } from './stage.js'

/** The parts of alerting, wired. */
export interface Alerting {
  readonly times: AlertingTimes
  readonly silencer: Silencer
  readonly inhibitor: Inhibitor
  readonly grouper: Grouper
  readonly aggregator: Aggregator
  readonly flap: FlapStage
  readonly releaser: Releaser
  readonly approvals: Approvals
  readonly escalation: Escalation
  readonly expiry: Expiry
  readonly manual: ManualWarnings
  /** The stages every proposed version passes, in order. */
  readonly stages: readonly Stage[]
}

export function assemble(deps: AlertingDeps): Alerting {
  const times = timesOf(deps.config)
  const silencer = new Silencer(deps)
  const inhibitor = new Inhibitor(deps)
  const escalation = new Escalation(deps, times)
  const flap = new FlapStage(deps, times)
  const releaser = new Releaser(deps)
  return {
    times,
    silencer,
    inhibitor,
    grouper: new Grouper(deps, silencer),
    aggregator: new Aggregator(deps, escalation),
    flap,
    releaser,
    approvals: new Approvals(deps, inhibitor, releaser),
    escalation,
    expiry: new Expiry(deps, times),
    manual: new ManualWarnings(deps, escalation),
    stages: [flap, new ApprovalStage(deps), new InhibitStage(inhibitor), releaser],
  }
}
