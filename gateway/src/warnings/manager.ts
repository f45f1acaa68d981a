/**
 * The alert manager: between the rules' level transitions and the channels, in the order
 * Alertmanager taught (grouping, inhibition, silencing as separate stages) plus what Chinese
 * warning practice needs (approval before release, acknowledgement and escalation by tier).
 *
 * - An alert is one rule's level at one station (or k-of-n group). Alerts are grouped into one
 *   warning per key: hazard + village for public warnings, hazard + site for enterprise alarms
 *   (configurable). The warning's level is the most severe unmuted alert's.
 * - Every change of a warning is a new version (issue / update / lift; 首报 / 续报 / 终报) with its
 *   reason and the alerts behind it. A version is released at once, waits for approval (timeout
 *   releases it), or is inhibited by a higher warning of its hazard covering its region.
 * - Silences mute matching alerts (never invisibly: the alert shows the silence). Flapping
 *   warnings hold their steps down. Unacknowledged warnings escalate village → township → county.
 * - Everything is in SQLite, with an append-only audit log; wall-clock work runs in tick().
 */
import { randomUUID } from 'node:crypto'
import { refuse, type Outcome } from '../core/outcome.js'
import type { Logger } from 'pino'
import { durationMs, isAlarmStage, rank, type Level, type Transition } from '../../../rules/src/index.js'
import type { LoudspeakerChannel } from '../channels/loudspeaker/channel.js'
import type { WarningsConfig } from '../config/schema.js'
import type { TerminalCommand, TerminalReceipt } from '../contracts/payloads.js'
import { warningTopic } from '../contracts/topics.js'
import type { Metrics } from '../metrics.js'
import { codeOfPrefix, levelOfCode, regionAt, regionContains } from '../../../rules/src/index.js'
import type { Station } from '../registry/schema.js'
import type { CurrentRuntime } from '../runtime.js'
import type {
  AlertRow,
  DeliveryRow,
  Release,
  SilenceRow,
  VersionReason,
  VersionRow,
  WarningAction,
  WarningRepo,
  WarningRow,
} from './repo.js'
import { expiresAt as expiryOf } from './expiry.js'
import { localizedText, manualText, warningText } from './text.js'
import { inPolygon, policyFor } from '../dissemination/policy.js'

export interface WarningManagerDeps {
  readonly repo: WarningRepo
  /** Registry and rules in force (a reload swaps them). */
  readonly runtime: CurrentRuntime
  /** Whether a station has an active equipment fault: its hazard versions are then unverified. */
  readonly stationFaulty: (stationId: string) => boolean
  readonly loudspeakers: LoudspeakerChannel
  /** Publishes the retained current state on `warnings/{region}/{hazard}`. */
  readonly publish: (topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean }) => Promise<void>
  readonly metrics: Metrics
  readonly log: Logger
  /** Wall clock, epoch ms: delivery, approval, escalation and expiry run on it; rules never do. */
  readonly now: () => number
  readonly config: WarningsConfig
  /** Called for every version that goes out (SMS and 叫应 to the people of its regions). */
  readonly onReleased?: (w: WarningRow, v: VersionRow) => void
}

/** Who acts: an operator's id, or the gateway itself. */
export const SYSTEM = 'system'

/**
 * Emergency content pre-empts routine broadcasts; higher levels pre-empt lower. A gas alarm's
 * second stage calls for evacuation like a red warning, its first stage for action like orange.
 */
const priorityOf = (level: Level): number => 100 + 10 * (isAlarmStage(level) ? rank(level) + 2 : rank(level))

/** Readable id from event time and key, so a replay of the same readings names it the same. */
const warningId = (ts: number, key: string): string =>
  `${new Date(ts)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${key.replace(/[|:]/g, '-')}`

/** Escalation tier of a region: a village is 0, a township 1, a county (or above) 2. */
const tierOf = (code: string): number => {
  const l = levelOfCode(code)
  return l === 'village' ? 0 : l === 'township' ? 1 : 2
}

export class WarningManager {
  private readonly log: Logger
  /** Per warning key: event times of its recent level changes, for flap detection. */
  private readonly changes = new Map<string, number[]>()
  private readonly ms

  constructor(private readonly deps: WarningManagerDeps) {
    this.log = deps.log.child({ component: 'warnings' })
    const c = deps.config
    this.ms = {
      playableFor: durationMs(c.playableFor),
      flapWindow: durationMs(c.flap.window),
      flapHold: durationMs(c.flap.hold),
      escalateAfter: durationMs(c.escalation.after),
      expireAfter: durationMs(c.expireAfter),
      quickLift: durationMs(c.quickLift),
      retryAfter: durationMs(c.delivery.retryAfter),
    }
  }

  get quickLiftMs(): number {
    return this.ms.quickLift
  }

  /** How long a released version stays playable (and valid, in its CAP alert). */
  get playableForMs(): number {
    return this.ms.playableFor
  }

  /**
   * After a restart: send the deliveries that were recorded but never handed to the broker.
   * Deliveries already sent are not sent again. (Alert levels are restored with the runtime.)
   */
  async resendQueued(): Promise<void> {
    const { repo } = this.deps
    const active = repo.countActive()
    this.deps.metrics.activeWarnings.set(active)
    const commands = repo.queued().flatMap((d) => {
      const w = repo.get(d.warningId)
      const v = repo.version(d.warningId, d.version)
      const terminal = this.deps.runtime().registry.terminal(d.terminalId)
      if (!w || !v || !terminal) return []
      const expiresAt = expiryOf(v, this.ms.playableFor)
      if (expiresAt <= this.deps.now()) return [] // an expired warning is never played
      return [{ terminalId: d.terminalId, command: this.command(w, v, expiresAt, terminal.language) }]
    })
    if (active > 0 || commands.length > 0)
      this.log.info({ active, resending: commands.length }, 'warnings restored')
    await this.deps.loudspeakers.send(commands)
  }

  /**
   * Applies transitions from one reading. The state changes are recorded synchronously, in the
   * order readings arrive (so racing readings for one key make one warning); the returned promise
   * resolves when the released versions are handed to the broker.
   */
  async apply(transitions: readonly Transition[]): Promise<void> {
    const sends: Promise<void>[] = []
    // Everything the transitions change is written in one transaction: one commit instead of one
    // per statement, and a restart finds all of it or none. Commands leave after it commits
    // (disseminate() yields before publishing).
    this.deps.repo.atomically(() => {
      for (const t of transitions) sends.push(...this.applyOne(t))
    })
    await Promise.all(sends)
  }

  private applyOne(t: Transition): Promise<void>[] {
    const { repo } = this.deps
    const { registry, rules } = this.deps.runtime()
    const station = registry.station(t.stationId)
    const rule = rules.get(t.ruleId)
    if (!station || !rule) return []
    const scope = this.scopeOf(t, station)
    const prev = repo.alert(t.ruleId, t.stationId)
    const silence = t.to === null ? undefined : this.silenceFor(t.stationId, scope.region, t.hazard)
    repo.setAlert(
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
      repo.audit(this.deps.now(), SYSTEM, 'alert_silenced', `${t.ruleId}@${t.stationId}`, {
        silence: silence.id,
        level: t.to,
        reason: silence.reason,
      })
    }
    const sends = this.reconcile(scope.key, { ts: t.ts, reason: 'rule' })
    // The alert moved to another warning (the grouping changed on a reload): settle the old one.
    if (prev && prev.key !== scope.key) sends.push(...this.reconcile(prev.key, { ts: t.ts, reason: 'rule' }))
    return sends
  }

  /** The warning key and region an alert belongs to. */
  private scopeOf(t: Transition, station: Station): { key: string; region: string } {
    if (t.group !== undefined && t.group !== '*') {
      const region = codeOfPrefix(t.group)
      return { key: `${t.hazard}|${region}`, region }
    }
    const alarm = t.to !== null ? isAlarmStage(t.to) : t.from !== null && isAlarmStage(t.from)
    const by = alarm ? this.deps.config.groupBy.alarm : this.deps.config.groupBy.public
    if (by === 'site')
      return { key: `${t.hazard}|site:${station.site ?? station.id}`, region: station.region }
    if (by === 'station') return { key: `${t.hazard}|station:${station.id}`, region: station.region }
    const region = regionAt(station.region, by)
    return { key: `${t.hazard}|${region}`, region }
  }

  /**
   * Brings the warning of `key` to the level its unmuted alerts call for: issue, update or lift
   * it, as a new version, released or held per policy. Returns the pending sends.
   */
  private reconcile(
    key: string,
    ctx: { ts: number; reason: VersionReason; holdOver?: boolean },
  ): Promise<void>[] {
    const { repo } = this.deps
    const now = this.deps.now()
    const alerts = repo.alertsOfKey(key)
    const live = alerts.filter((a) => a.mutedBy === null)
    let top: AlertRow | undefined
    for (const a of live) if (!top || rank(a.level) > rank(top.level)) top = a
    const target = top?.level ?? null
    const current = repo.activeByKey(key)
    if (!current && target === null) return []
    if (current && current.level === target) return []
    if (current && current.origin === 'manual') return [] // an operator's warning follows no alerts
    // Flap damping: while a warning flaps, its steps down wait until the hold has passed; the step
    // down that makes it flap is the first one held.
    const stepDown = current !== undefined && rank(target) < rank(current.level)
    const holding = current !== undefined && current.holdUntil !== null && now < current.holdUntil
    if (stepDown && holding && !ctx.holdOver) return []
    const holdUntil = ctx.holdOver ? null : this.flapCheck(key, ctx.ts, current, top ?? alerts[0])
    if (stepDown && holdUntil !== null && current) {
      repo.updateWarning({ ...current, holdUntil })
      return []
    }
    const action: WarningAction = !current ? 'issue' : target === null ? 'lift' : 'update'
    const anchor = top ?? (current ? undefined : alerts[0])
    const ruleId = anchor?.ruleId ?? current!.ruleId
    const stationId = anchor?.stationId ?? current!.stationId
    const { registry, rules } = this.deps.runtime()
    const station = registry.station(stationId)
    const region = current?.region ?? (anchor ? anchor.region : '')
    const explanation = (anchor ?? repo.alert(current!.ruleId, current!.stationId))?.explanation ?? {
      level: current?.level,
      held: false,
      conditions: [],
    }
    const prevLevel = current?.level ?? null
    const text = warningText({
      action,
      level: target,
      prevLevel,
      place: this.placeName(region),
      station: station?.name ?? stationId,
      hazard: key.split('|')[0]!,
      ruleName: rules.get(ruleId)?.name ?? ruleId,
      explanation: explanation as Parameters<typeof warningText>[0]['explanation'],
    })
    const contributors = live.flatMap((a) => {
      const c = (a.explanation as { contributors?: { stationId: string }[] }).contributors
      return c ? c.map((x) => x.stationId) : [a.stationId]
    })
    const warning: Omit<WarningRow, 'version'> = {
      id: current?.id ?? warningId(ctx.ts, key),
      key,
      origin: 'rule',
      ruleId,
      stationId,
      hazard: key.split('|')[0]!,
      region,
      targets: current?.targets ?? [region],
      level: target,
      state: action === 'lift' ? 'lifted' : 'active',
      issuedAt: current?.issuedAt ?? ctx.ts,
      updatedAt: ctx.ts,
      liftedAt: action === 'lift' ? ctx.ts : null,
      endReason: action === 'lift' ? 'cleared' : null,
      ...this.ackFields(current, target, region, now),
      holdUntil: action === 'lift' ? null : holdUntil,
      status: current?.status ?? 'Actual',
      upstream: null,
    }
    return this.addVersion(warning, {
      action,
      level: target,
      prevLevel,
      ts: ctx.ts,
      text,
      explanation,
      reason: ctx.reason,
      verified: !contributors.some((id) => this.deps.stationFaulty(id)),
      alerts: alerts.map((a) => ({
        ruleId: a.ruleId,
        stationId: a.stationId,
        level: a.level,
        since: a.since,
        mutedBy: a.mutedBy,
      })),
      approvedBy: [],
    })
  }

  /** Acknowledgement and escalation fields after a change to `target`. */
  private ackFields(
    current: WarningRow | undefined,
    target: Level | null,
    region: string,
    now: number,
  ): Pick<WarningRow, 'ackedAt' | 'ackedBy' | 'tier' | 'escalateAt'> {
    const needs = target !== null && this.deps.config.escalation.levels.includes(target)
    const raised = current ? rank(target) > rank(current.level) : true
    if (target === null || !needs)
      return {
        ackedAt: current?.ackedAt ?? null,
        ackedBy: current?.ackedBy ?? null,
        tier: current?.tier ?? tierOf(region),
        escalateAt: null,
      }
    if (raised)
      // A new or higher level must be acknowledged again.
      return {
        ackedAt: null,
        ackedBy: null,
        tier: current?.tier ?? tierOf(region),
        escalateAt: now + this.ms.escalateAfter,
      }
    return {
      ackedAt: current?.ackedAt ?? null,
      ackedBy: current?.ackedBy ?? null,
      tier: current?.tier ?? tierOf(region),
      escalateAt: current?.escalateAt ?? null,
    }
  }

  /**
   * Records a level change of `key` at event time `ts`; when it makes the warning flap, returns the
   * wall-clock time until which its steps down are held (and audits the episode).
   */
  private flapCheck(
    key: string,
    ts: number,
    current: WarningRow | undefined,
    anchor: AlertRow | undefined,
  ): number | null {
    const { changes, window, hold } = {
      ...this.deps.config.flap,
      window: this.ms.flapWindow,
      hold: this.ms.flapHold,
    }
    // After a restart the history comes back from the stored versions of the key's warnings.
    const known = this.changes.get(key) ?? this.deps.repo.changeTimes(key, ts - window)
    const list = known.filter((x) => x > ts - window)
    list.push(ts)
    this.changes.set(key, list)
    const now = this.deps.now()
    if (list.length < changes)
      return current && current.holdUntil !== null && current.holdUntil > now ? current.holdUntil : null
    const episode = !current || current.holdUntil === null || current.holdUntil <= now
    if (episode) {
      this.deps.metrics.flaps.inc()
      this.deps.repo.audit(now, SYSTEM, 'flap_detected', current?.id ?? key, {
        key,
        ruleId: anchor?.ruleId ?? current?.ruleId,
        changes: list.length,
        window: this.deps.config.flap.window,
      })
      this.log.warn({ key, changes: list.length }, 'warning flapping: steps down held')
    }
    return now + hold
  }

  /**
   * Records a version and decides its release: a lift goes out if anything went out before; a
   * new level waits for approval when the policy says so, is inhibited under a higher warning of
   * its hazard, or goes out at once.
   */
  private addVersion(
    warning: Omit<WarningRow, 'version'>,
    v: Omit<
      VersionRow,
      | 'warningId'
      | 'version'
      | 'createdAt'
      | 'release'
      | 'releaseDue'
      | 'releasedAt'
      | 'releasedBy'
      | 'roundsSent'
      | 'lastRoundAt'
    > & {
      approvedBy: readonly string[]
    },
  ): Promise<void>[] {
    const { repo } = this.deps
    const now = this.deps.now()
    // Whatever still waited for approval is overtaken by this version.
    repo.supersedePending(warning.id)
    let release: Release
    let inhibitedBy: string | undefined
    let due: number | null = null
    let approvers: readonly string[] = []
    if (v.action === 'lift') {
      const earlier = repo.versions(warning.id).some((x) => x.release === 'released')
      release = earlier ? 'released' : 'superseded'
      approvers = [SYSTEM]
    } else {
      const policy = this.policyFor(warning.hazard, v.level!)
      const enough = policy ? (policy.twoPerson ? 2 : 1) : 0
      if (v.approvedBy.length < enough) {
        release = 'pending'
        due = now + durationMs(policy!.timeout)
      } else if ((inhibitedBy = this.inhibitor(warning)?.id) !== undefined) release = 'inhibited'
      else {
        release = 'released'
        approvers = v.approvedBy.length > 0 ? v.approvedBy : [SYSTEM]
      }
    }
    const terminals = release === 'released' ? this.terminalsOf(warning, v.level ?? v.prevLevel) : []
    const version = repo.addVersion(
      {
        warning,
        version: {
          ...v,
          createdAt: now,
          release,
          releaseDue: due,
          releasedAt: release === 'released' ? now : null,
          releasedBy: approvers,
        },
      },
      terminals,
      now,
    )
    const full = { ...warning, version }
    this.deps.metrics.transitions.labels(v.action, v.level ?? 'none').inc()
    this.deps.metrics.activeWarnings.set(repo.countActive())
    repo.audit(now, approvers[0] ?? SYSTEM, `warning_${v.action}`, warning.id, {
      version,
      level: v.level,
      from: v.prevLevel,
      reason: v.reason,
      release,
      key: warning.key,
      ...(inhibitedBy !== undefined ? { inhibitedBy } : {}),
    })
    this.log.info(
      { warningId: warning.id, version, action: v.action, level: v.level, from: v.prevLevel, release },
      'warning changed',
    )
    const sends: Promise<void>[] = []
    if (release === 'released')
      sends.push(this.disseminate(full, repo.version(warning.id, version)!, terminals))
    // A change of this warning may free (or newly cover) lower warnings of its hazard.
    sends.push(...this.reconsiderInhibited(warning.hazard, warning.id))
    return sends
  }

  private policyFor(hazard: string, level: Level): WarningsConfig['approval'][number] | undefined {
    return this.deps.config.approval.find(
      (p) => p.levels.includes(level) && (p.hazards.includes('*') || p.hazards.includes(hazard)),
    )
  }

  /** A released, more severe warning of the same hazard whose targets cover this one's region. */
  private inhibitor(w: Pick<WarningRow, 'id' | 'hazard' | 'region' | 'level'>): WarningRow | undefined {
    if (!this.deps.config.inhibit || w.level === null) return undefined
    return this.deps.repo
      .activeOfHazard(w.hazard)
      .find(
        (o) =>
          o.id !== w.id &&
          o.level !== null &&
          isAlarmStage(o.level) === isAlarmStage(w.level!) &&
          rank(o.level) > rank(w.level) &&
          o.targets.some((t) => regionContains(t, w.region)) &&
          this.deps.repo.version(o.id, o.version)?.release === 'released',
      )
  }

  /** Warnings whose current version was inhibited go out once nothing inhibits them any more. */
  private reconsiderInhibited(hazard: string, except: string): Promise<void>[] {
    const { repo } = this.deps
    const sends: Promise<void>[] = []
    for (const w of repo.activeOfHazard(hazard)) {
      if (w.id === except) continue
      const v = repo.version(w.id, w.version)
      if (v?.release !== 'inhibited' || this.inhibitor(w)) continue
      sends.push(this.releaseVersion(w, v, [SYSTEM], 'inhibition_ended'))
    }
    return sends
  }

  /** Releases a held version (approved, timed out, or no longer inhibited) and sends it. */
  private releaseVersion(w: WarningRow, v: VersionRow, by: readonly string[], why: string): Promise<void> {
    const now = this.deps.now()
    const terminals = this.terminalsOf(w, v.level ?? v.prevLevel)
    this.deps.repo.release(w.id, v.version, by, terminals, now)
    this.deps.repo.audit(now, by[0] ?? SYSTEM, 'version_released', w.id, { version: v.version, why, by })
    this.log.info({ warningId: w.id, version: v.version, why, by }, 'warning version released')
    return this.disseminate(w, this.deps.repo.version(w.id, v.version)!, terminals)
  }

  /**
   * The loudspeakers a version goes to, per the dissemination policy: those of the warning's
   * regions and, if the policy says so, those inside its station's hazard polygons; a drill (CAP
   * Exercise or Test) only to drill terminals; none if the policy has no loudspeaker channel.
   */
  private terminalsOf(
    w: Pick<WarningRow, 'targets' | 'status' | 'hazard' | 'stationId'>,
    level: Level | null,
  ): string[] {
    const { registry, policy } = this.deps.runtime()
    const p = policyFor(policy, w.hazard, level ?? 'blue')
    if (!p.channels.includes('loudspeaker')) return []
    const drill = w.status !== 'Actual'
    const inRegions = w.targets.flatMap((t) => registry.terminalsIn(t))
    const areas = p.polygons ? (registry.station(w.stationId)?.hazardAreas ?? []) : []
    const inAreas =
      areas.length === 0
        ? []
        : registry.terminals.filter(
            (t) =>
              t.lat !== undefined &&
              t.lon !== undefined &&
              areas.some((a) => inPolygon(t.lon!, t.lat!, a.coordinates)),
          )
    return [...new Set([...inRegions, ...inAreas].filter((x) => !drill || x.drill).map((x) => x.id))]
  }

  private async disseminate(w: WarningRow, v: VersionRow, terminals: readonly string[]): Promise<void> {
    const { registry } = this.deps.runtime()
    try {
      this.deps.onReleased?.(w, v)
    } catch (e) {
      this.log.error({ err: e, warningId: w.id }, 'people not notified')
    }
    const expiresAt = expiryOf(v, this.ms.playableFor)
    // A terminal known to be offline is not sent to: its delivery waits for it to come back.
    const offline = this.deps.repo.offlineTerminals()
    this.deps.repo.markOffline(
      terminals
        .filter((id) => offline.has(id))
        .map((terminalId) => ({ warningId: w.id, version: v.version, terminalId })),
      this.deps.now(),
    )
    // Nothing leaves before the transaction this was written in has committed: the broker may
    // write to a socket at once. A version rolled back with it is not sent at all.
    await Promise.resolve()
    if (!this.deps.repo.version(w.id, v.version)) return
    await Promise.all([
      this.deps.loudspeakers.send(
        terminals.flatMap((id) => {
          const term = registry.terminal(id)
          if (!term || offline.has(id)) return []
          return [{ terminalId: id, command: this.command(w, v, expiresAt, term.language) }]
        }),
      ),
      this.deps
        .publish(
          warningTopic(w.region, w.hazard),
          JSON.stringify({ ...w, version: v.version, text: v.text, report: reportOf(v.action) }),
          { qos: 1, retain: true },
        )
        .catch((e: unknown) => this.log.warn({ err: e }, 'warning state not published')),
    ])
  }

  /**
   * A terminal's status (its retained online message or last will). Coming back online, it gets
   * every still-valid warning version it has not played.
   */
  async presence(terminalId: string, state: 'online' | 'offline'): Promise<void> {
    const now = this.deps.now()
    this.deps.repo.setPresence(terminalId, state, now)
    this.deps.metrics.terminalPresence.labels(state).inc()
    if (state === 'offline') return
    const pending = this.deps.repo.undelivered({
      terminalId,
      sentBefore: now + 1,
      maxAttempts: Number.MAX_SAFE_INTEGER,
    })
    if (pending.length > 0) this.log.info({ terminalId, resending: pending.length }, 'terminal back online')
    await this.resend(pending)
  }

  /** Resends deliveries whose versions are still current and unexpired; expired ones are closed. */
  private async resend(deliveries: readonly DeliveryRow[]): Promise<void> {
    const { repo } = this.deps
    const { registry } = this.deps.runtime()
    const now = this.deps.now()
    const expired: DeliveryRow[] = []
    const commands = deliveries.flatMap((d) => {
      const w = repo.get(d.warningId)
      const v = repo.version(d.warningId, d.version)
      const terminal = registry.terminal(d.terminalId)
      if (!w || !v || !terminal) return []
      const expiresAt = expiryOf(v, this.ms.playableFor)
      if (expiresAt <= now) {
        expired.push(d) // an expired warning is never played
        return []
      }
      return [{ terminalId: d.terminalId, command: this.command(w, v, expiresAt, terminal.language) }]
    })
    for (const d of expired) repo.receipt(d.warningId, d.version, d.terminalId, 'failed', 'expired', now)
    this.deps.metrics.deliveryRetries.inc(commands.length)
    await this.deps.loudspeakers.send(commands)
  }

  // ---- wall-clock work --------------------------------------------------------------------

  /**
   * Runs what is due on the wall clock: approval timeouts, silences starting and ending, flap holds
   * that have passed, escalations of unacknowledged warnings, and expiry.
   */
  async tick(): Promise<void> {
    const { repo } = this.deps
    const now = this.deps.now()
    const sends: Promise<void>[] = []
    for (const v of repo.pendingVersions()) {
      if (v.releaseDue === null || v.releaseDue > now) continue
      const w = repo.get(v.warningId)
      if (!w || w.state !== 'active' || w.version !== v.version) {
        repo.setRelease(v.warningId, v.version, 'superseded')
        continue
      }
      repo.audit(now, SYSTEM, 'approval_timeout', w.id, { version: v.version })
      if (this.inhibitor(w)) repo.setRelease(w.id, v.version, 'inhibited')
      else sends.push(this.releaseVersion(w, v, [SYSTEM], 'approval_timeout'))
    }
    sends.push(...this.resilence(now))
    // Deliveries without a receipt (or failed) are sent again, to terminals not known offline.
    const offline = repo.offlineTerminals()
    const retry = repo
      .undelivered({
        sentBefore: now - this.ms.retryAfter,
        maxAttempts: this.deps.config.delivery.maxAttempts,
      })
      .filter((d) => !offline.has(d.terminalId) && d.state !== 'queued')
    if (retry.length > 0) sends.push(this.resend(retry))
    for (const w of repo.active()) {
      if (w.holdUntil !== null && w.holdUntil <= now) {
        repo.updateWarning({ ...w, holdUntil: null })
        sends.push(...this.reconcile(w.key, { ts: w.updatedAt, reason: 'rule', holdOver: true }))
      }
    }
    sends.push(...this.rounds(now))
    for (const w of repo.active()) {
      if (w.escalateAt !== null && w.escalateAt <= now && w.ackedAt === null) this.escalate(w, now)
      const last = repo.version(w.id, w.version)
      if (last && now - last.createdAt >= this.ms.expireAfter) sends.push(...this.end(w, 'expired', SYSTEM))
    }
    await Promise.all(sends)
  }

  /**
   * Rounds: while a warning stays active, its current version is read again every `every` of its
   * policy, `rounds` in all, by the loudspeakers it reached (and still unexpired).
   */
  private rounds(now: number): Promise<void>[] {
    const { repo } = this.deps
    const { registry, policy } = this.deps.runtime()
    const sends: Promise<void>[] = []
    for (const w of repo.active()) {
      const v = repo.version(w.id, w.version)
      if (!v || v.release !== 'released' || v.level === null) continue
      const p = policyFor(policy, w.hazard, v.level)
      if (p.rounds <= v.roundsSent || p.every === undefined) continue
      const last = v.lastRoundAt ?? v.releasedAt ?? v.createdAt
      if (now - last < durationMs(p.every)) continue
      const expiresAt = expiryOf(v, this.ms.playableFor)
      if (expiresAt <= now) continue
      const round = v.roundsSent + 1
      repo.setRound(w.id, v.version, round, now)
      const commands = repo
        .deliveries(w.id, v.version)
        .filter((d) => d.state !== 'offline' && d.state !== 'queued')
        .flatMap((d) => {
          const term = registry.terminal(d.terminalId)
          return term
            ? [{ terminalId: d.terminalId, command: this.command(w, v, expiresAt, term.language, round) }]
            : []
        })
      this.log.info(
        { warningId: w.id, version: v.version, round, terminals: commands.length },
        'warning read again',
      )
      sends.push(this.deps.loudspeakers.send(commands))
    }
    return sends
  }

  /** Mutes alerts under silences now in force, unmutes those whose silence ended; re-decides. */
  private resilence(now: number): Promise<void>[] {
    const { repo } = this.deps
    const silences = repo.silencesAt(now)
    const keys = new Set<string>()
    for (const a of repo.alerts()) {
      const s = this.match(silences, a.stationId, a.region, a.hazard)
      const id = s?.id ?? null
      if (id === a.mutedBy) continue
      repo.setMuted(a.ruleId, a.stationId, id)
      repo.audit(
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
    return [...keys].flatMap((k) => this.reconcile(k, { ts: this.lastTs(k), reason: 'rule' }))
  }

  private lastTs(key: string): number {
    const alerts = this.deps.repo.alertsOfKey(key)
    const w = this.deps.repo.activeByKey(key)
    return Math.max(w?.updatedAt ?? 0, ...alerts.map((a) => a.since))
  }

  private silenceFor(stationId: string, region: string, hazard: string): SilenceRow | undefined {
    return this.match(this.deps.repo.silencesAt(this.deps.now()), stationId, region, hazard)
  }

  private match(
    silences: readonly SilenceRow[],
    stationId: string,
    region: string,
    hazard: string,
  ): SilenceRow | undefined {
    return silences.find(
      (s) =>
        (s.stationId === null || s.stationId === stationId) &&
        (s.region === null || regionContains(s.region, region)) &&
        (s.hazard === null || s.hazard === hazard),
    )
  }

  /** Unacknowledged past its deadline: the next tier up (township, county) is called in. */
  private escalate(w: WarningRow, now: number): void {
    const { repo } = this.deps
    if (w.tier >= 2) {
      repo.updateWarning({ ...w, escalateAt: null })
      return
    }
    const tier = w.tier + 1
    const region = tier === 1 ? regionAt(w.region, 'township') : regionAt(w.region, 'county')
    const people = this.deps
      .runtime()
      .registry.peopleIn(region, ['duty_officer', 'village_head'])
      .map((p) => ({ id: p.id, name: p.name, phone: p.phone ?? null }))
    repo.addEscalation({ warningId: w.id, tier, region, people, at: now })
    repo.updateWarning({ ...w, tier, escalateAt: tier < 2 ? now + this.ms.escalateAfter : null })
    repo.audit(now, SYSTEM, 'escalated', w.id, { tier, region, people: people.map((p) => p.id) })
    this.deps.metrics.escalations.labels(String(tier)).inc()
    this.log.warn(
      { warningId: w.id, tier, region, people: people.length },
      'warning escalated: not acknowledged',
    )
  }

  // ---- operators --------------------------------------------------------------------------

  /** Approves (or rejects) a version waiting for release. */
  async decide(
    warningId: string,
    version: number,
    operator: string,
    decision: 'approve' | 'reject',
  ): Promise<Outcome<{ release: Release; approvals: number }>> {
    const { repo } = this.deps
    const now = this.deps.now()
    const w = repo.get(warningId)
    const v = repo.version(warningId, version)
    if (!w || !v) return refuse('not_found', `no version ${version} of warning ${warningId}`)
    if (v.release !== 'pending')
      return refuse('not_pending', `version ${version} is ${v.release}, not waiting for approval`)
    if (!repo.addApproval(warningId, version, operator, decision, now))
      return refuse('already_decided', `${operator} has already decided on version ${version}`)
    repo.audit(now, operator, `version_${decision}d`, warningId, { version })
    if (decision === 'reject') {
      repo.setRelease(warningId, version, 'rejected')
      return { ok: true, release: 'rejected', approvals: 0 }
    }
    const approvals = repo.approvals(warningId, version).filter((a) => a.decision === 'approve')
    const policy = v.level ? this.policyFor(w.hazard, v.level) : undefined
    if (policy?.twoPerson && approvals.length < 2)
      return { ok: true, release: 'pending', approvals: approvals.length }
    if (this.inhibitor(w)) {
      repo.setRelease(warningId, version, 'inhibited')
      return { ok: true, release: 'inhibited', approvals: approvals.length }
    }
    await this.releaseVersion(
      w,
      v,
      approvals.map((a) => a.operator),
      'approved',
    )
    return { ok: true, release: 'released', approvals: approvals.length }
  }

  /** An operator acknowledges a warning: its escalation stops. */
  ack(warningId: string, operator: string): Outcome<{ ackedAt: number }> {
    const { repo } = this.deps
    const w = repo.get(warningId)
    if (!w || w.state !== 'active') return refuse('not_found', `no active warning ${warningId}`)
    if (w.ackedAt !== null) return refuse('already_acknowledged', `already acknowledged by ${w.ackedBy}`)
    const now = this.deps.now()
    repo.updateWarning({ ...w, ackedAt: now, ackedBy: operator, escalateAt: null })
    repo.audit(now, operator, 'acknowledged', warningId, { version: w.version, level: w.level, tier: w.tier })
    return { ok: true, ackedAt: now }
  }

  /** An operator issues a warning by hand (relaying the bureau's, say) to regions of the registry. */
  async issueManual(
    input: {
      hazard: string
      level: Level
      regions: readonly string[]
      text?: string | undefined
      status?: WarningRow['status'] | undefined
      /** `sender,identifier` of the upstream CAP alert relayed. */
      upstream?: string | undefined
    },
    operator: { id: string; approver: boolean },
  ): Promise<Outcome<{ warningId: string; version: number; release: Release }>> {
    const { registry } = this.deps.runtime()
    const unknown = input.regions.filter((r) => registry.regionName(r) === r)
    if (unknown.length > 0) return refuse('unknown_region', `unknown region(s): ${unknown.join(', ')}`)
    const now = this.deps.now()
    const key = `manual|${input.hazard}|${now.toString(36)}${randomUUID().slice(0, 8)}`
    const region = input.regions[0]!
    const text =
      input.text ??
      manualText(
        input.hazard,
        input.level,
        input.regions.map((r) => this.placeName(r)),
      )
    const warning: Omit<WarningRow, 'version'> = {
      id: warningId(now, key),
      key,
      origin: 'manual',
      ruleId: 'manual',
      stationId: '',
      hazard: input.hazard,
      region,
      targets: [...input.regions],
      level: input.level,
      state: 'active',
      issuedAt: now,
      updatedAt: now,
      liftedAt: null,
      endReason: null,
      ...this.ackFields(undefined, input.level, region, now),
      holdUntil: null,
      status: input.status ?? 'Actual',
      upstream: input.upstream ?? null,
    }
    await Promise.all(
      this.addVersion(warning, {
        action: 'issue',
        level: input.level,
        prevLevel: null,
        ts: now,
        text,
        explanation: {
          manual: true,
          by: operator.id,
          ...(input.upstream ? { upstream: input.upstream } : {}),
        },
        reason: 'manual',
        verified: true,
        alerts: [],
        approvedBy: operator.approver ? [operator.id] : [],
      }),
    )
    const w = this.deps.repo.activeByKey(key)!
    return {
      ok: true,
      warningId: w.id,
      version: w.version,
      release: this.deps.repo.version(w.id, w.version)!.release,
    }
  }

  /** An operator changes the level (or text) of a warning issued by hand. */
  async updateManual(
    id: string,
    input: { level: Level; text?: string | undefined },
    operator: { id: string; approver: boolean },
  ): Promise<Outcome<{ version: number; release: Release }>> {
    const { repo } = this.deps
    const w = repo.get(id)
    if (!w || w.state !== 'active') return refuse('not_found', `no active warning ${id}`)
    if (w.origin !== 'manual')
      return refuse('rule_issued', 'a rule-issued warning follows its alerts; lift it or silence them')
    const now = this.deps.now()
    const text =
      input.text ??
      manualText(
        w.hazard,
        input.level,
        w.targets.map((r) => this.placeName(r)),
      )
    await Promise.all(
      this.addVersion(
        { ...w, level: input.level, updatedAt: now, ...this.ackFields(w, input.level, w.region, now) },
        {
          action: 'update',
          level: input.level,
          prevLevel: w.level,
          ts: now,
          text,
          explanation: { manual: true, by: operator.id },
          reason: 'manual',
          verified: true,
          alerts: [],
          approvedBy: operator.approver ? [operator.id] : [],
        },
      ),
    )
    const after = repo.get(id)!
    return { ok: true, version: after.version, release: repo.version(id, after.version)!.release }
  }

  /** An operator lifts any active warning. Its alerts stay as they are; a new change re-issues. */
  async lift(id: string, operator: string): Promise<Outcome<{ version: number }>> {
    const w = this.deps.repo.get(id)
    if (!w || w.state !== 'active') return refuse('not_found', `no active warning ${id}`)
    await Promise.all(this.end(w, 'lifted', operator))
    return { ok: true, version: this.deps.repo.get(id)!.version }
  }

  private end(w: WarningRow, why: 'lifted' | 'expired', actor: string): Promise<void>[] {
    const now = this.deps.now()
    const text =
      w.origin === 'manual'
        ? manualText(
            w.hazard,
            null,
            w.targets.map((r) => this.placeName(r)),
            w.level,
          )
        : warningText({
            action: 'lift',
            level: null,
            prevLevel: w.level,
            place: this.placeName(w.region),
            station: this.deps.runtime().registry.station(w.stationId)?.name ?? '',
            hazard: w.hazard,
            ruleName: this.deps.runtime().rules.get(w.ruleId)?.name ?? w.ruleId,
            explanation: { level: w.level!, held: false, conditions: [] },
          })
    return this.addVersion(
      {
        ...w,
        level: null,
        state: 'lifted',
        updatedAt: w.origin === 'manual' ? now : w.updatedAt,
        liftedAt: now,
        endReason: why,
        escalateAt: null,
        holdUntil: null,
      },
      {
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
    )
  }

  /**
   * Operator reset of a latched alarm (GB/T 50493 gas alarms hold until reset). Refused while a
   * level's condition still holds at the station's latest reading; otherwise the alarm clears
   * through the same path as any other transition. Audited.
   */
  async reset(warningId: string, by: string): Promise<Outcome<{ version: number }>> {
    const { repo } = this.deps
    const w = repo.get(warningId)
    if (!w || w.state !== 'active') return refuse('not_found', `no active warning ${warningId}`)
    const { engine, rules } = this.deps.runtime()
    const latched = repo.alertsOfKey(w.key).filter((a) => rules.get(a.ruleId)?.latch)
    if (latched.length === 0)
      return refuse('not_latched', `warning ${warningId} has no latched alarm; it lifts by itself`)
    const results = latched.map((a) => engine.reset(a.ruleId, a.stationId))
    const holding = results.find((r) => !r.ok)
    if (holding && !holding.ok)
      return refuse('condition_holds', 'the alarm condition still holds', holding.holds)
    repo.audit(this.deps.now(), by, 'alarm_reset', warningId, {
      alerts: latched.map((a) => `${a.ruleId}@${a.stationId}`),
    })
    this.log.info({ audit: true, by, warningId }, 'latched alarm reset')
    await this.apply(results.flatMap((r) => (r.ok && r.transition ? [r.transition] : [])))
    return { ok: true, version: repo.get(warningId)?.version ?? w.version }
  }

  /** Silences alerts by station, region and/or hazard for a maintenance window. */
  async addSilence(
    s: Pick<SilenceRow, 'stationId' | 'region' | 'hazard' | 'startsAt' | 'endsAt' | 'reason'>,
    author: string,
  ): Promise<Outcome<{ id: number }>> {
    const now = this.deps.now()
    const id = this.deps.repo.addSilence({ ...s, author, createdAt: now })
    this.deps.repo.audit(now, author, 'silence_added', `silence:${id}`, s)
    await Promise.all(this.resilence(now))
    return { ok: true, id }
  }

  async endSilence(id: number, author: string): Promise<Outcome> {
    const now = this.deps.now()
    if (!this.deps.repo.endSilence(id, now)) return refuse('not_found', `no silence ${id} in force`)
    this.deps.repo.audit(now, author, 'silence_ended', `silence:${id}`, {})
    await Promise.all(this.resilence(now))
    return { ok: true }
  }

  /** Records a terminal's receipt against its delivery. */
  receipt(terminalId: string, r: TerminalReceipt): void {
    this.deps.metrics.terminalReceipts.labels(r.state).inc()
    const now = this.deps.now()
    const outcome = this.deps.repo.receipt(r.warningId, r.version, terminalId, r.state, r.detail ?? null, now)
    if (outcome === 'applied' && r.state === 'played') this.observePlayback(r.warningId, r.version, now)
    if (outcome === 'unknown')
      this.log.debug(
        { terminalId, warningId: r.warningId, version: r.version },
        'receipt for unknown delivery',
      )
  }

  /** Time to first and to 95 % playback of a version, observed once each as receipts come in. */
  private observePlayback(warningId: string, version: number, now: number): void {
    const { repo } = this.deps
    const v = repo.version(warningId, version)
    if (!v) return
    const { total, played } = repo.playedCount(warningId, version)
    const since = (now - (v.releasedAt ?? v.createdAt)) / 1000
    if (played === 1) this.deps.metrics.firstPlayback.observe(since)
    if (played === Math.ceil(total * 0.95)) this.deps.metrics.playback95.observe(since)
  }

  /** Marks deliveries as handed to the broker. */
  sent(sent: readonly { terminalId: string; command: TerminalCommand }[]): void {
    this.deps.metrics.terminalCommands.inc(sent.length)
    this.deps.repo.markSent(
      sent.map((s) => ({
        warningId: s.command.warningId,
        version: s.command.version,
        terminalId: s.terminalId,
      })),
      this.deps.now(),
    )
  }

  private command(
    w: Pick<WarningRow, 'id' | 'hazard' | 'targets'>,
    v: Pick<VersionRow, 'action' | 'level' | 'prevLevel' | 'text' | 'version'>,
    expiresAt: number,
    language: string,
    round = 1,
  ): TerminalCommand {
    const level = v.level ?? v.prevLevel!
    const policy = policyFor(this.deps.runtime().policy, w.hazard, level)
    // A terminal in a minority-language area reads the template in its language where one exists.
    const localized = localizedText(language, {
      action: v.action,
      level: v.level,
      prevLevel: v.prevLevel,
      hazard: w.hazard,
      // Only a template reads the place: named lazily, not for every Mandarin terminal.
      place: () => w.targets.map((t) => this.placeName(t, language)).join('، '),
    })
    return {
      action: 'play',
      warningId: w.id,
      version: v.version,
      kind: v.action,
      level,
      hazard: w.hazard,
      text: localized?.text ?? v.text,
      language: localized?.language ?? 'zh-CN',
      priority: policy.priority ?? priorityOf(level),
      repeat: v.action === 'lift' ? 1 : (policy.repeat ?? this.deps.config.repeat),
      round,
      expiresAt,
      sentAt: this.deps.now(),
    }
  }

  /** "示范县河口镇柳湾村": the names from county down to the region. */
  placeName(code: string, language?: string): string {
    const { registry } = this.deps.runtime()
    const parts = [regionAt(code, 'county'), regionAt(code, 'township'), code]
    return [...new Set(parts)]
      .map((c) => registry.regionName(c, language))
      .filter((n) => !/^\d+$/.test(n))
      .join('')
  }
}

/** 首报 / 续报 / 终报 of a version, and its CAP 1.2 msgType. */
export function reportOf(action: WarningAction): {
  report: 'first' | 'follow_up' | 'final'
  zh: string
  capMsgType: 'Alert' | 'Update' | 'Cancel'
} {
  if (action === 'issue') return { report: 'first', zh: '首报', capMsgType: 'Alert' }
  if (action === 'update') return { report: 'follow_up', zh: '续报', capMsgType: 'Update' }
  return { report: 'final', zh: '终报', capMsgType: 'Cancel' }
}
