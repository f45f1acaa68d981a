/**
 * The alert manager schedules and applies; the stages decide (pipeline.ts shows them in order).
 * Everything one cause changes (a reading's transitions, a tick, an operator's command) is one
 * pass: decided in one transaction, so a restart finds all of it or none, and what it sends leaves
 * only after that transaction commits.
 */
import type { Transition } from '../../../rules/src/index.js'
import { refuse, type Outcome } from '../core/outcome.js'
import { SYSTEM, type Release, type SilenceRow, type WarningRow } from '../warnings/model.js'
import type { Settle } from './aggregate.js'
import type { AlertingDeps, Pass } from './context.js'
import type { Actor, ManualIssue } from './manual.js'
import { assemble, type Alerting } from './pipeline.js'
import { runStages, type Proposal } from './stage.js'

export class AlertManager {
  private readonly parts: Alerting

  constructor(private readonly deps: AlertingDeps) {
    this.parts = assemble({ ...deps, log: deps.log.child({ component: 'warnings' }) })
  }

  /** Rule statistics count a clear within this of its raise as a quick lift. */
  get quickLiftMs(): number {
    return this.parts.times.quickLift
  }

  /** Applies the transitions of one reading; resolves when what they released has been sent. */
  apply(transitions: readonly Transition[]): Promise<void> {
    return this.pass((pass) => {
      for (const t of transitions)
        for (const key of this.parts.grouper.record(t, pass.now))
          this.settle(pass, key, { ts: t.ts, reason: 'rule' })
    })
  }

  /** What is due on the wall clock: approval deadlines, silences, flap holds, escalation, expiry. */
  tick(): Promise<void> {
    return this.pass((pass) => {
      const { approvals, silencer, aggregator, flap, escalation, expiry } = this.parts
      approvals.due(pass)
      for (const key of silencer.resilence(pass.now))
        this.settle(pass, key, { ts: aggregator.lastTs(key), reason: 'rule' })
      for (const w of flap.holdsPassed(pass.now))
        this.settle(pass, w.key, { ts: w.updatedAt, reason: 'rule', holdOver: true })
      escalation.due(pass)
      for (const w of expiry.due(pass.now)) this.run(pass, expiry.ending(w, 'expired', SYSTEM, pass.now))
    })
  }

  // ---- operators' commands ------------------------------------------------------------------

  async decide(
    warningId: string,
    version: number,
    operator: string,
    decision: 'approve' | 'reject',
  ): Promise<Outcome<{ release: Release; approvals: number }>> {
    return this.command((pass) => this.parts.approvals.decide(pass, warningId, version, operator, decision))
  }

  ack(warningId: string, operator: string): Promise<Outcome<{ ackedAt: number }>> {
    return this.command((pass) => this.parts.escalation.ack(pass, warningId, operator))
  }

  issueManual(
    input: ManualIssue,
    operator: Actor,
  ): Promise<Outcome<{ warningId: string; version: number; release: Release }>> {
    return this.command((pass) => {
      const unknown = this.parts.manual.unknownRegions(input.regions)
      if (unknown.length > 0) return refuse('unknown_region', `unknown region(s): ${unknown.join(', ')}`)
      const p = this.parts.manual.issue(input, operator, pass.now)
      this.run(pass, p)
      const { warnings } = this.deps.stores
      const w = warnings.activeByKey(p.warning.key)!
      return {
        ok: true,
        warningId: w.id,
        version: w.version,
        release: warnings.version(w.id, w.version)!.release,
      }
    })
  }

  updateManual(
    id: string,
    input: { level: WarningRow['level'] & string; text?: string | undefined },
    operator: Actor,
  ): Promise<Outcome<{ version: number; release: Release }>> {
    return this.command((pass) => {
      const { warnings } = this.deps.stores
      const w = warnings.get(id)
      if (!w || w.state !== 'active') return refuse('not_found', `no active warning ${id}`)
      if (w.origin !== 'manual')
        return refuse('rule_issued', 'a rule-issued warning follows its alerts; lift it or silence them')
      this.run(pass, this.parts.manual.update(w, input, operator, pass.now))
      const after = warnings.get(id)!
      return { ok: true, version: after.version, release: warnings.version(id, after.version)!.release }
    })
  }

  /** An operator lifts any active warning. Its alerts stay as they are; a new change re-issues. */
  lift(id: string, operator: string): Promise<Outcome<{ version: number }>> {
    return this.command((pass) => {
      const { warnings } = this.deps.stores
      const w = warnings.get(id)
      if (!w || w.state !== 'active') return refuse('not_found', `no active warning ${id}`)
      this.run(pass, this.parts.expiry.ending(w, 'lifted', operator, pass.now))
      return { ok: true, version: warnings.get(id)!.version }
    })
  }

  /**
   * Operator reset of a latched alarm (GB/T 50493 gas alarms hold until reset). Refused while a
   * level's condition still holds at the station's latest reading; otherwise the alarm clears
   * through the same path as any other transition. Audited.
   */
  async reset(warningId: string, by: string): Promise<Outcome<{ version: number }>> {
    const { warnings, alerts, audit } = this.deps.stores
    const w = warnings.get(warningId)
    if (!w || w.state !== 'active') return refuse('not_found', `no active warning ${warningId}`)
    const { engine, rules } = this.deps.runtime()
    const latched = alerts.alertsOfKey(w.key).filter((a) => rules.get(a.ruleId)?.latch)
    if (latched.length === 0)
      return refuse('not_latched', `warning ${warningId} has no latched alarm; it lifts by itself`)
    const results = latched.map((a) => engine.reset(a.ruleId, a.stationId))
    const holding = results.find((r) => !r.ok)
    if (holding && !holding.ok)
      return refuse('condition_holds', 'the alarm condition still holds', holding.holds)
    audit.audit(this.deps.now(), by, 'alarm_reset', warningId, {
      alerts: latched.map((a) => `${a.ruleId}@${a.stationId}`),
    })
    this.deps.log.info({ component: 'warnings', audit: true, by, warningId }, 'latched alarm reset')
    await this.apply(results.flatMap((r) => (r.ok && r.transition ? [r.transition] : [])))
    return { ok: true, version: warnings.get(warningId)?.version ?? w.version }
  }

  /** Silences alerts by station, region and/or hazard for a maintenance window. */
  addSilence(
    s: Pick<SilenceRow, 'stationId' | 'region' | 'hazard' | 'startsAt' | 'endsAt' | 'reason'>,
    author: string,
  ): Promise<Outcome<{ id: number }>> {
    return this.command((pass) => {
      const id = this.parts.silencer.add(s, author, pass.now)
      this.resilence(pass)
      return { ok: true, id }
    })
  }

  endSilence(id: number, author: string): Promise<Outcome> {
    return this.command((pass) => {
      if (!this.parts.silencer.end(id, author, pass.now))
        return refuse('not_found', `no silence ${id} in force`)
      this.resilence(pass)
      return { ok: true }
    })
  }

  // ---- scheduling -----------------------------------------------------------------------------

  /** Runs `decide` as one pass in one transaction; resolves when its sends are done. */
  private async pass(decide: (pass: Pass) => void): Promise<void> {
    const pass: Pass = { now: this.deps.now(), work: [] }
    this.deps.stores.atomically(() => decide(pass))
    await Promise.all(pass.work)
  }

  private async command<T extends Outcome<object>>(decide: (pass: Pass) => T): Promise<T> {
    let out: T | undefined
    await this.pass((pass) => {
      out = decide(pass)
    })
    return out!
  }

  /** Decides the warning of `key` again from its alerts. */
  private settle(pass: Pass, key: string, ctx: Settle): void {
    const p = this.parts.aggregator.propose(pass, key, ctx)
    if (p) this.run(pass, p)
  }

  /** Passes a proposal through the stages; a version recorded may free lower warnings. */
  private run(pass: Pass, p: Proposal): void {
    const out = runStages(this.parts.stages, pass, p)
    if (out) this.reconsider(pass, out.warning)
  }

  /** A change of `w` may free (or newly cover) lower warnings of its hazard. */
  private reconsider(pass: Pass, w: Pick<WarningRow, 'id' | 'hazard'>): void {
    for (const freed of this.parts.inhibitor.freed(w.hazard, w.id))
      this.parts.releaser.releaseHeld(pass, freed.warning, freed.version, [SYSTEM], 'inhibition_ended')
  }

  private resilence(pass: Pass): void {
    for (const key of this.parts.silencer.resilence(pass.now))
      this.settle(pass, key, { ts: this.parts.aggregator.lastTs(key), reason: 'rule' })
  }
}
