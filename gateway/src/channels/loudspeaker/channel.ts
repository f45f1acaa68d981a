/**
 * Village loudspeaker terminals over MQTT: one QoS 1 command per terminal on `terminals/{id}/cmd`;
 * terminals answer on `terminals/{id}/receipt` and tell their presence on `terminals/{id}/status`
 * (retained, and as their last will).
 *
 * A released version's deliveries are recorded per terminal inside the release's transaction and
 * sent after it commits. A terminal known to be offline is not sent to: its delivery waits for it
 * to come back, unless expired. Deliveries without a receipt (or failed) are sent again after
 * `delivery.retryAfter`, up to `delivery.maxAttempts`; rounds read a version again while active.
 */
import type { Logger } from 'pino'
import { durationMs } from '../../../../rules/src/index.js'
import type { WarningsConfig } from '../../config/schema.js'
import type { TerminalCommand, TerminalReceipt } from '../../contracts/payloads.js'
import { terminalCmdTopic } from '../../contracts/topics.js'
import type { Channel, Released, Targets } from '../../dissemination/channel.js'
import { policyFor } from '../../dissemination/policy.js'
import type { AfterCommit, Emit } from '../../events/bus.js'
import type { Metrics } from '../../metrics.js'
import type { CurrentRuntime } from '../../runtime.js'
import type { DeliveryStore } from '../../store/deliveries.js'
import type { WarningStore } from '../../store/warnings.js'
import { expiresAt } from '../../warnings/expiry.js'
import type { DeliveryRow, VersionRow, WarningRow } from '../../warnings/model.js'
import type { CommandSigner } from '../../contracts/command-signing.js'
import { playCommand } from './command.js'

export interface LoudspeakerDeps {
  readonly publish: (topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean }) => Promise<void>
  /** Signs each command for the terminal it goes to (a fresh nonce for every send). */
  readonly signer?: Pick<CommandSigner, 'sign'> | undefined
  readonly deliveries: DeliveryStore
  readonly warnings: WarningStore
  readonly runtime: CurrentRuntime
  readonly config: WarningsConfig
  readonly emit: Emit
  /** One transaction around `fn` (the store's). */
  readonly atomically: <T>(fn: () => T) => T
  readonly metrics: Metrics
  readonly log: Logger
  readonly now: () => number
}

type Outgoing = { terminalId: string; command: TerminalCommand }

export class LoudspeakerChannel implements Channel {
  readonly name = 'loudspeaker'
  readonly policyChannel = 'loudspeaker' as const
  private readonly playableForMs: number
  private readonly retryAfterMs: number
  private receipts: { terminalId: string; r: TerminalReceipt }[] = []
  private flushing: Promise<void> | undefined
  /** Region and hazard of recent warnings, for their receipts' events (a warning's never change). */
  private readonly scopes = new Map<string, { region: string | null; hazard: string | null }>()
  /** When this gateway started: retries of what an earlier run sent wait `retryAfter` from here. */
  private readonly startedAt: number

  constructor(private readonly deps: LoudspeakerDeps) {
    this.playableForMs = durationMs(deps.config.playableFor)
    this.retryAfterMs = durationMs(deps.config.delivery.retryAfter)
    this.startedAt = deps.now()
  }

  /** Records one delivery per target terminal; after the commit, commands go to those online. */
  deliver(r: Released, targets: Targets, afterCommit: AfterCommit): Promise<void> {
    const { deliveries } = this.deps
    const { warning: w, version: v } = r
    const now = this.deps.now()
    deliveries.queue(w.id, v.version, targets.terminals, now)
    // A terminal known to be offline is not sent to: its delivery waits for it to come back.
    const offline = deliveries.offlineTerminals()
    deliveries.markOffline(
      targets.terminals
        .filter((id) => offline.has(id))
        .map((terminalId) => ({ warningId: w.id, version: v.version, terminalId })),
      now,
    )
    const online = targets.terminals.filter((id) => !offline.has(id))
    // The broker may write to a socket at once: nothing leaves before the release has committed.
    return afterCommit(async () => {
      const commands = online.flatMap((id) => {
        const out = this.commandFor(w, v, id)
        return out ? [out] : []
      })
      await this.send(commands)
      // Released in the pass that decided it (not held for an approver): decision → commands out.
      if (commands.length > 0 && (v.releasedAt === null || v.releasedAt === v.createdAt))
        this.deps.metrics.crossingToCommand.observe(Math.max(0, this.deps.now() - v.createdAt) / 1000)
    })
  }

  /**
   * After a restart: send the deliveries that were recorded but never handed to the broker.
   * Deliveries already sent are not sent again.
   */
  async resendQueued(): Promise<number> {
    const commands = this.deps.deliveries.queued().flatMap((d) => {
      const out = this.forDelivery(d)
      return out ? [out] : []
    })
    await this.send(commands)
    return commands.length
  }

  /**
   * A terminal's status (its retained online message or last will). Coming back online, it gets
   * every still-valid warning version it has not played.
   */
  async presence(terminalId: string, state: 'online' | 'offline'): Promise<void> {
    const now = this.deps.now()
    this.deps.deliveries.setPresence(terminalId, state, now)
    this.deps.metrics.terminalPresence.labels(state).inc()
    if (state === 'offline') return
    const pending = this.deps.deliveries.undelivered({
      terminalId,
      sentBefore: now + 1,
      maxAttempts: Number.MAX_SAFE_INTEGER,
    })
    if (pending.length > 0)
      this.deps.log.info({ terminalId, resending: pending.length }, 'terminal back online')
    await this.resend(pending)
  }

  /** Records a terminal's receipt against its delivery. */
  receipt(terminalId: string, r: TerminalReceipt): Promise<void> {
    // Receipts come in storms (a thousand terminals, three receipts each): those of one turn of the
    // event loop are written in one transaction, each delivery's new state with its event, like the
    // readings' group commit. One commit per receipt cost more than the receipt itself.
    this.receipts.push({ terminalId, r })
    return (this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush()))
  }

  private async flush(): Promise<void> {
    const batch = this.receipts
    this.receipts = []
    this.flushing = undefined
    const sent: Promise<void>[] = []
    this.deps.atomically(() => {
      const played = new Map<string, { warningId: string; version: number; n: number }>()
      for (const { terminalId, r } of batch) sent.push(this.record(terminalId, r, played))
      // Counted once per version a batch, not once per receipt: counting a version's deliveries
      // per "played" receipt was quadratic (10,000 terminals: 10^8 rows read in the receipt storm
      // after a county warning, the event loop stalled for seconds).
      for (const { warningId, version, n } of played.values())
        this.observePlayback(warningId, version, n, this.deps.now())
    })
    await Promise.all(sent)
  }

  private record(
    terminalId: string,
    r: TerminalReceipt,
    played: Map<string, { warningId: string; version: number; n: number }>,
  ): Promise<void> {
    this.deps.metrics.terminalReceipts.labels(r.state).inc()
    const now = this.deps.now()
    const outcome = this.deps.deliveries.receipt(
      r.warningId,
      r.version,
      terminalId,
      r.state,
      r.detail ?? null,
      now,
    )
    if (outcome === 'unknown') {
      this.deps.log.debug(
        { terminalId, warningId: r.warningId, version: r.version },
        'receipt for unknown delivery',
      )
      return Promise.resolve()
    }
    if (outcome !== 'applied') return Promise.resolve()
    if (r.state === 'played') {
      const key = `${r.warningId}#${r.version}`
      const p = played.get(key)
      if (p) p.n++
      else played.set(key, { warningId: r.warningId, version: r.version, n: 1 })
    }
    return this.changed(r.warningId, r.version, terminalId, r.state, r.detail ?? null)
  }

  /** Wall-clock work: retries of deliveries without a receipt, and rounds. */
  async tick(): Promise<void> {
    const { deliveries } = this.deps
    const now = this.deps.now()
    // Deliveries without a receipt (or failed) are sent again, to terminals not known offline.
    const offline = deliveries.offlineTerminals()
    // After a restart, a terminal that got a command just before the kill has `retryAfter` to
    // reconnect and have its receipt in (its MQTT client resends an unacknowledged one first)
    // before that command is sent to it again: the wait counts from this start, not the last send.
    // (What this run sent is never due before then either.)
    const sentBefore =
      now - this.retryAfterMs < this.startedAt ? Number.MIN_SAFE_INTEGER : now - this.retryAfterMs
    const retry = deliveries
      .undelivered({
        sentBefore,
        maxAttempts: this.deps.config.delivery.maxAttempts,
      })
      .filter((d) => !offline.has(d.terminalId) && d.state !== 'queued')
    await Promise.all([retry.length > 0 ? this.resend(retry) : undefined, ...this.rounds(now)])
  }

  // ---- sending ------------------------------------------------------------------------------

  /**
   * Sends one command per terminal, after recording them all as sent (one store transaction); a
   * command the broker refused is logged, and retried as one without a receipt.
   */
  private async send(commands: readonly Outgoing[]): Promise<void> {
    if (commands.length === 0) return
    // Each delivery is recorded as handed over (one commit) before its command goes to the broker:
    // a kill -9 in the middle of a release's publishes leaves the published ones `sent`, so the
    // restart resends only those still `queued`, and none twice. One that was marked but never
    // published (killed in between, or the broker refused it) has no receipt and is sent again by
    // the retries (`delivery.retryAfter`) or when its terminal reports itself online.
    this.deps.deliveries.markSent(
      commands.map((c) => ({
        warningId: c.command.warningId,
        version: c.command.version,
        terminalId: c.terminalId,
      })),
      this.deps.now(),
    )
    const results = await Promise.all(
      commands.map(async (c) => {
        try {
          const signed = this.deps.signer ? this.deps.signer.sign(c.terminalId, c.command) : c.command
          await this.deps.publish(terminalCmdTopic(c.terminalId), JSON.stringify(signed), { qos: 1 })
          return true
        } catch (e) {
          const { terminalId, command } = c
          this.deps.log.warn(
            { terminalId, warningId: command.warningId, err: e },
            'loudspeaker command not sent',
          )
          return false
        }
      }),
    )
    this.deps.metrics.terminalCommands.inc(results.filter(Boolean).length)
  }

  /** Resends deliveries whose versions are still current and unexpired; expired ones are closed. */
  private async resend(list: readonly DeliveryRow[]): Promise<void> {
    const now = this.deps.now()
    const commands: Outgoing[] = []
    for (const d of list) {
      const out = this.forDelivery(d)
      if (out) commands.push(out)
      else if (out === null) {
        // an expired warning is never played
        this.deps.deliveries.receipt(d.warningId, d.version, d.terminalId, 'failed', 'expired', now)
      }
    }
    this.deps.metrics.deliveryRetries.inc(commands.length)
    await this.send(commands)
  }

  /** The command for a recorded delivery; null when expired, undefined when gone. */
  private forDelivery(d: DeliveryRow): Outgoing | null | undefined {
    const w = this.deps.warnings.get(d.warningId)
    const v = this.deps.warnings.version(d.warningId, d.version)
    if (!w || !v || !this.deps.runtime().registry.terminal(d.terminalId)) return undefined
    if (expiresAt(v, this.playableForMs) <= this.deps.now()) return null
    return this.commandFor(w, v, d.terminalId)
  }

  private commandFor(
    w: Pick<WarningRow, 'id' | 'hazard' | 'targets'>,
    v: VersionRow,
    terminalId: string,
    round = 1,
  ): Outgoing | undefined {
    const { registry, policy } = this.deps.runtime()
    const term = registry.terminal(terminalId)
    if (!term) return undefined
    const command = playCommand(registry, policyFor(policy, w.hazard, v.level ?? v.prevLevel!), w, v, {
      expiresAt: expiresAt(v, this.playableForMs),
      language: term.language,
      round,
      repeat: this.deps.config.repeat,
      sentAt: this.deps.now(),
    })
    return { terminalId, command }
  }

  /**
   * Rounds: while a warning stays active, its current version is read again every `every` of its
   * policy, `rounds` in all, by the loudspeakers it reached (and still unexpired).
   */
  private rounds(now: number): Promise<void>[] {
    const { warnings, deliveries } = this.deps
    const { policy } = this.deps.runtime()
    const sends: Promise<void>[] = []
    for (const w of warnings.active()) {
      const v = warnings.version(w.id, w.version)
      if (!v || v.release !== 'released' || v.level === null) continue
      const p = policyFor(policy, w.hazard, v.level)
      if (p.rounds <= v.roundsSent || p.every === undefined) continue
      const last = v.lastRoundAt ?? v.releasedAt ?? v.createdAt
      if (now - last < durationMs(p.every)) continue
      if (expiresAt(v, this.playableForMs) <= now) continue
      const round = v.roundsSent + 1
      warnings.setRound(w.id, v.version, round, now)
      const commands = deliveries
        .deliveries(w.id, v.version)
        .filter((d) => d.state !== 'offline' && d.state !== 'queued')
        .flatMap((d) => {
          const out = this.commandFor(w, v, d.terminalId, round)
          return out ? [out] : []
        })
      this.deps.log.info(
        { warningId: w.id, version: v.version, round, terminals: commands.length },
        'warning read again',
      )
      sends.push(this.send(commands))
    }
    return sends
  }

  /**
   * Time to first and to 95 % playback of a version, observed once each as receipts come in:
   * `newly` deliveries of it have just played, so each threshold is crossed by one batch only.
   */
  private observePlayback(warningId: string, version: number, newly: number, now: number): void {
    const v = this.deps.warnings.version(warningId, version)
    if (!v) return
    const { total, played } = this.deps.deliveries.playedCount(warningId, version)
    const before = played - newly
    const since = (now - (v.releasedAt ?? v.createdAt)) / 1000
    const crossed = (n: number) => before < n && played >= n
    if (crossed(1)) this.deps.metrics.firstPlayback.observe(since)
    if (crossed(Math.ceil(total * 0.95))) this.deps.metrics.playback95.observe(since)
  }

  private changed(
    warningId: string,
    version: number,
    terminalId: string,
    state: string,
    detail: string | null,
  ) {
    const w = this.deps.warnings.get(warningId)
    return this.deps.emit({
      type: 'delivery.changed',
      region: w?.region ?? null,
      hazard: w?.hazard ?? null,
      data: { warningId, version, channel: 'loudspeaker', recipient: terminalId, state, detail },
    })
  }
}
