/**
 * Dissemination: subscribes to `warning.released` and hands each released version, with its
 * targets resolved once, to every channel its policy names. Runs inside the release's transaction,
 * so deliveries are recorded with the version; the channels send after it commits. A channel that
 * fails is logged and does not stop the others.
 */
import type { Logger } from 'pino'
import type { AfterCommit } from '../events/bus.js'
import type { GatewayEvent } from '../events/types.js'
import type { CurrentRuntime } from '../runtime.js'
import type { WarningStore } from '../store/warnings.js'
import type { Channel } from './channel.js'
import { resolveTargets } from './targets.js'

export class Dispatcher {
  private readonly log: Logger

  constructor(
    private readonly deps: {
      readonly warnings: WarningStore
      readonly runtime: CurrentRuntime
      readonly channels: readonly Channel[]
      readonly log: Logger
    },
  ) {
    this.log = deps.log.child({ component: 'dissemination' })
  }

  /** The bus subscriber. */
  readonly onEvent = (e: GatewayEvent, afterCommit: AfterCommit): Promise<void> | void => {
    if (e.type !== 'warning.released') return
    const { warnings, runtime, channels } = this.deps
    const w = warnings.get(e.data.warningId)
    const v = warnings.version(e.data.warningId, e.data.version)
    if (!w || !v) return
    const { registry, policy } = runtime()
    const warning = { ...w, version: v.version }
    const targets = resolveTargets(registry, policy, w, (v.level ?? v.prevLevel)!)
    const work: Promise<void>[] = []
    for (const c of channels) {
      if (c.policyChannel !== undefined && !targets.policy.channels.includes(c.policyChannel)) continue
      try {
        const r = c.deliver({ warning, version: v }, targets, afterCommit)
        if (r)
          work.push(
            r.catch((err: unknown) =>
              this.log.error({ err, channel: c.name, warningId: w.id }, 'channel failed'),
            ),
          )
      } catch (err) {
        this.log.error({ err, channel: c.name, warningId: w.id }, 'channel failed')
      }
    }
    return work.length > 0 ? Promise.all(work).then(() => undefined) : undefined
  }
}
