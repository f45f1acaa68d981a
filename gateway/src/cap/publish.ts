/**
 * What the gateway publishes as CAP: the alert of one released version (with the earlier released
 * versions it references and its expiry) and the Atom feed of the active warnings. cap.ts writes
 * the XML; this module gathers what goes into it, through a port onto the warnings.
 */
import { refuse, type Outcome } from '../core/outcome.js'
import { expiresAt } from '../warnings/expiry.js'
import type { VersionRow, WarningRow } from '../warnings/model.js'
import { atomFeed, capAlert, type CapContext, type CapSender, type FeedEntry } from './cap.js'

/** The warnings as CAP publishing reads them. */
export interface PublishPort {
  get(id: string): WarningRow | undefined
  version(warningId: string, version: number): VersionRow | undefined
  /** A warning's versions, oldest first. */
  versions(warningId: string): readonly VersionRow[]
  active(): readonly WarningRow[]
}

export interface PublishDeps {
  readonly warnings: PublishPort
  readonly sender: CapSender
  /** "示范县河口镇柳湾村": a region's place name. */
  readonly placeName: (code: string) => string
  /** How long a released version stays valid (its CAP `expires`). */
  readonly playableForMs: number
}

function context(w: WarningRow, v: VersionRow, deps: PublishDeps): CapContext {
  return {
    sender: deps.sender,
    areaDesc: w.targets.map((t) => deps.placeName(t)),
    earlier: deps.warnings.versions(w.id).filter((x) => x.version < v.version && x.release === 'released'),
    expiresAt: expiresAt(v, deps.playableForMs),
    status: w.status,
  }
}

/** The CAP 1.2 alert of a released version; only released versions have one. */
export function capAlertOf(warningId: string, version: number, deps: PublishDeps): Outcome<{ xml: string }> {
  const w = deps.warnings.get(warningId)
  const v = w && deps.warnings.version(w.id, version)
  if (!w || !v) return refuse('not_found', 'no such warning version')
  if (v.release !== 'released')
    return refuse('not_found', `version ${v.version} is ${v.release}, not released`)
  return { ok: true, xml: capAlert(w, v, context(w, v, deps)) }
}

/**
 * The Atom feed of the active warnings, each entry the latest released version linking to its CAP
 * alert under `base` (the URL the feed was asked for, so links work behind any host name).
 */
export function capFeed(base: string, now: number, deps: PublishDeps): string {
  const entries = deps.warnings.active().flatMap((w): FeedEntry[] => {
    const v = deps.warnings
      .versions(w.id)
      .filter((x) => x.release === 'released')
      .at(-1)
    if (!v) return []
    return [
      {
        warning: w,
        version: v,
        headline: `${w.targets.map((t) => deps.placeName(t)).join('、')} ${v.text.slice(0, 60)}`,
        capUrl: `${base}/api/warnings/${encodeURIComponent(w.id)}/versions/${v.version}/cap`,
      },
    ]
  })
  return atomFeed(entries, `${base}/api/cap/feed.atom`, deps.sender, now)
}
