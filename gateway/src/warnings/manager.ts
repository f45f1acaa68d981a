/**
 * Turns the rules engine's level transitions into warnings with a lifecycle — issue, update (level
 * up or down), lift — one per (rule, station), each change a new persisted version, and hands each
 * version to the loudspeakers of the station's village.
 */
import type { Logger } from 'pino'
import { isAlarmStage, rank, type Level, type Transition } from '../../../rules/src/index.js'
import type { TerminalCommand, TerminalReceipt } from '../contracts/payloads.js'
import { warningTopic } from '../contracts/topics.js'
import type { LoudspeakerChannel } from '../channels/loudspeaker/channel.js'
import type { Metrics } from '../metrics.js'
import type { CurrentRuntime } from '../runtime.js'
import type { WarningAction, WarningRepo, WarningRow } from './repo.js'
import { warningText } from './text.js'

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
  /** Wall clock, epoch ms: delivery and expiry run on it; rules never do. */
  readonly now: () => number
  readonly playableForMs: number
  readonly repeat: number
}

/**
 * Emergency content pre-empts routine broadcasts; higher levels pre-empt lower. A gas alarm's
 * second stage calls for evacuation like a red warning, its first stage for action like orange.
 */
const priorityOf = (level: Level): number => 100 + 10 * (isAlarmStage(level) ? rank(level) + 2 : rank(level))

/** Stable, readable id derived from event time, so a replay of the same readings names it the same. */
const warningId = (t: Transition): string =>
  `${new Date(t.ts)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${t.ruleId}-${t.stationId}`

export class WarningManager {
  private readonly log: Logger

  constructor(private readonly deps: WarningManagerDeps) {
    this.log = deps.log.child({ component: 'warnings' })
  }

  /**
   * After a restart: send the deliveries that were recorded but never handed to the broker.
   * Deliveries already sent are not sent again. (Active levels are restored with the runtime.)
   */
  async resendQueued(): Promise<void> {
    const active = this.deps.repo.countActive()
    this.deps.metrics.activeWarnings.set(active)
    const queued = this.deps.repo.queued()
    const commands = queued.flatMap((d) => {
      const w = this.deps.repo.get(d.warningId)
      const v = this.deps.repo.version(d.warningId, d.version)
      const terminal = this.deps.runtime().registry.terminal(d.terminalId)
      if (!w || !v || !terminal) return []
      const expiresAt = v.createdAt + this.deps.playableForMs
      if (expiresAt <= this.deps.now()) return [] // an expired warning is never played
      return [
        {
          terminalId: d.terminalId,
          command: this.command(
            w,
            v.action,
            v.level ?? v.prevLevel!,
            v.text,
            d.version,
            expiresAt,
            terminal.language,
          ),
        },
      ]
    })
    if (active > 0 || commands.length > 0)
      this.log.info({ active, resending: commands.length }, 'warnings restored')
    await this.deps.loudspeakers.send(commands)
  }

  /**
   * Applies transitions from one reading; resolves when the commands are handed to the broker.
   * Each applyOne records its version synchronously before its first await, so versions are
   * written in the order readings arrive, whatever the broker's timing.
   */
  async apply(transitions: readonly Transition[]): Promise<void> {
    await Promise.all(transitions.map((t) => this.applyOne(t)))
  }

  private async applyOne(t: Transition): Promise<void> {
    const { repo } = this.deps
    const { registry, rules } = this.deps.runtime()
    const station = registry.station(t.stationId)
    const rule = rules.get(t.ruleId)
    if (!station || !rule) return
    const current = repo.activeByKey(t.ruleId, t.stationId)
    let action: WarningAction
    if (t.to === null) {
      if (!current) return // nothing to lift (e.g. the warning was lifted by hand)
      action = 'lift'
    } else if (!current) action = 'issue'
    else if (current.level === t.to)
      return // already at this level (e.g. replay after a restart)
    else action = 'update'

    const now = this.deps.now()
    const id = current?.id ?? warningId(t)
    const prevLevel = current?.level ?? null
    // A k-of-n rule warns its whole group (e.g. the county), not the raising station's village.
    const region = t.group !== undefined && t.group !== '*' ? t.group.padEnd(12, '0') : station.region
    const place = this.placeName(region)
    const text = warningText({
      action,
      level: t.to,
      prevLevel,
      place,
      station: station.name,
      hazard: t.hazard,
      ruleName: rule.name,
      explanation: t.explanation,
    })
    const terminals = registry.terminalsIn(region)
    const warning: Omit<WarningRow, 'version'> = {
      id,
      ruleId: t.ruleId,
      stationId: t.stationId,
      hazard: t.hazard,
      region,
      level: t.to,
      state: action === 'lift' ? 'lifted' : 'active',
      issuedAt: current?.issuedAt ?? t.ts,
      updatedAt: t.ts,
      liftedAt: action === 'lift' ? t.ts : null,
    }
    const version = repo.addVersion(
      {
        warning,
        version: {
          action,
          level: t.to,
          prevLevel,
          ts: t.ts,
          createdAt: now,
          text,
          // k-of-n rules record the group and the stations that confirmed it.
          explanation: t.contributors
            ? { ...t.explanation, group: t.group, contributors: t.contributors }
            : t.explanation,
          verified: !(t.contributors?.map((c) => c.stationId) ?? [t.stationId]).some((id) =>
            this.deps.stationFaulty(id),
          ),
        },
        terminals: terminals.map((x) => x.id),
      },
      now,
    )
    this.deps.metrics.transitions.labels(action, t.to ?? 'none').inc()
    this.deps.metrics.activeWarnings.set(repo.countActive())
    this.log.info(
      { warningId: id, version, action, level: t.to, from: prevLevel, stationId: t.stationId, ts: t.ts },
      'warning changed',
    )

    const full = { ...warning, version }
    const level = t.to ?? prevLevel!
    const expiresAt = now + this.deps.playableForMs
    await Promise.all([
      this.deps.loudspeakers.send(
        terminals.map((term) => ({
          terminalId: term.id,
          command: this.command(full, action, level, text, version, expiresAt, term.language),
        })),
      ),
      this.deps
        .publish(
          warningTopic(station.region, t.hazard),
          JSON.stringify({ ...full, stationName: station.name, text }),
          { qos: 1, retain: true },
        )
        .catch((e: unknown) => this.log.warn({ err: e }, 'warning state not published')),
    ])
  }

  /**
   * Operator reset of a latched alarm (GB/T 50493 gas alarms hold until reset). Refused while a
   * level's condition still holds at the station's latest reading; otherwise the warning is lifted
   * through the same path as any other transition. Audited.
   */
  async reset(
    warningId: string,
    by: string,
  ): Promise<
    { ok: true; version: number } | { ok: false; status: 404 | 409; message: string; holds?: unknown }
  > {
    const w = this.deps.repo.get(warningId)
    if (!w || w.state !== 'active')
      return { ok: false, status: 404, message: `no active warning ${warningId}` }
    const { engine, rules } = this.deps.runtime()
    if (!rules.get(w.ruleId)?.latch)
      return {
        ok: false,
        status: 409,
        message: `rule ${w.ruleId} does not latch; its warnings lift by themselves`,
      }
    const r = engine.reset(w.ruleId, w.stationId)
    if (!r.ok) return { ok: false, status: 409, message: 'the alarm condition still holds', holds: r.holds }
    this.log.info(
      { audit: true, by, warningId, ruleId: w.ruleId, stationId: w.stationId },
      'latched alarm reset',
    )
    if (r.transition) await this.apply([r.transition])
    return { ok: true, version: this.deps.repo.get(warningId)?.version ?? w.version }
  }

  /** Records a terminal's receipt against its delivery. */
  receipt(terminalId: string, r: TerminalReceipt): void {
    this.deps.metrics.terminalReceipts.labels(r.state).inc()
    const known = this.deps.repo.receipt(
      r.warningId,
      r.version,
      terminalId,
      r.state,
      r.detail ?? null,
      this.deps.now(),
    )
    if (!known)
      this.log.debug(
        { terminalId, warningId: r.warningId, version: r.version },
        'receipt for unknown delivery',
      )
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
    w: Pick<WarningRow, 'id' | 'hazard'>,
    action: WarningAction,
    level: Level,
    text: string,
    version: number,
    expiresAt: number,
    _language: string,
  ): TerminalCommand {
    return {
      action: 'play',
      warningId: w.id,
      version,
      kind: action,
      level,
      hazard: w.hazard,
      text,
      // Only Mandarin templates exist yet; minority-language templates come with dissemination policy.
      language: 'zh-CN',
      priority: priorityOf(level),
      repeat: action === 'lift' ? 1 : this.deps.repeat,
      expiresAt,
      sentAt: this.deps.now(),
    }
  }

  /** "示范县河口镇柳湾村": the names from county down to the village. */
  private placeName(code: string): string {
    const { registry } = this.deps.runtime()
    const parts = [code.slice(0, 6) + '000000', code.slice(0, 9) + '000', code]
    return [...new Set(parts)]
      .map((c) => registry.regionName(c))
      .filter((n) => !/^\d+$/.test(n))
      .join('')
  }
}
