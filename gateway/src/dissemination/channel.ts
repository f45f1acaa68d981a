/**
 * The one interface every way out implements: loudspeakers (MQTT), SMS (SMPP), 叫应 calls,
 * webhooks, the retained warning topic for integrators; InfluxDB, Node-RED and upstream gateways
 * next. The dispatcher hands each released version to every channel its policy names, with the
 * targets resolved once.
 */
import type { AfterCommit } from '../events/bus.js'
import type { Person } from '../registry/schema.js'
import type { VersionRow, WarningRow } from '../warnings/model.js'
import type { Policy } from './policy.js'

/** A version that went out, with its warning as of that version. */
export interface Released {
  readonly warning: WarningRow
  readonly version: VersionRow
}

/** Who a released version is for, resolved once by targets.ts. */
export interface Targets {
  /** The dissemination policy entry that applies (hazard × level). */
  readonly policy: Policy
  /** Loudspeaker terminal ids: the regions' and the hazard polygons', drills only to drill ones. */
  readonly terminals: readonly string[]
  /** People with a phone: the policy's groups within the regions or inside the polygons. */
  readonly people: readonly Person[]
}

export interface Channel {
  readonly name: string
  /**
   * The policy channel that switches it (`loudspeaker`, `sms`, `webhook`), or undefined for a
   * channel that always carries releases (the warning topic, 叫应 calls).
   */
  readonly policyChannel: Policy['channels'][number] | undefined
  /**
   * Called inside the release's transaction: record durably what this channel owes the release
   * (so a restart neither loses nor repeats it). Returns the sending, scheduled with
   * `afterCommit` (never before the commit, never for a release rolled back), or nothing when
   * sending is the channel's own pump's business.
   */
  deliver(r: Released, targets: Targets, afterCommit: AfterCommit): Promise<void> | void
}
