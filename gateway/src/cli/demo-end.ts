/**
 * How the demo ends for the person watching it: once the simulator has played its scenario, the
 * gateway's own state is read after every committed event until every warning the demo raised is
 * lifted and every loudspeaker command has played (or failed, or waits for an offline one); then one summary (warnings raised and
 * lifted, loudspeakers reached and played, from the coverage read model) and where the console
 * is. While a version waits for approval, a hint says which and how to approve it.
 */
import type { RunningGateway } from '../app.js'
import type { VersionCoverage, VersionRow, WarningRow } from '../warnings/model.js'

/** Delivery states that mean the loudspeaker answered. */
const REACHED = new Set(['accepted', 'playing', 'played'])

/** Warnings looked at: far more than any shipped scenario raises. */
const WARNINGS_READ = 10_000

export interface DemoTally {
  readonly raised: number
  readonly lifted: number
  readonly active: number
  /** Versions waiting for an approver (two for a two-person approval). */
  readonly pending: readonly VersionRow[]
  /** Over every released version: loudspeaker commands sent, answered with any receipt, played. */
  readonly announcements: { readonly targeted: number; readonly reached: number; readonly played: number }
  /** Commands not played, failed or held for an offline loudspeaker yet (queued, sent, playing). */
  readonly inFlight: number
  /** Loudspeakers that answered at least one command. */
  readonly loudspeakers: number
  /** Versions that waited for approval and were overtaken (the level fell before anyone approved). */
  readonly superseded: number
}

/** What the demo has done so far: the warnings first released at or after `since` (wall clock). */
export function demoTally(gw: Pick<RunningGateway, 'warnings'>, since: number): DemoTally {
  const q = gw.warnings
  const raised: { w: WarningRow; versions: VersionRow[] }[] = []
  for (const w of q.list({ limit: WARNINGS_READ })) {
    const versions = q.versions(w.id)
    if ((versions[0]?.createdAt ?? 0) >= since) raised.push({ w, versions })
  }
  const coverage: VersionCoverage[] = []
  const terminals = new Set<string>()
  for (const { w } of raised) {
    coverage.push(...q.coverage(w.id))
    for (const d of q.deliveries(w.id)) if (REACHED.has(d.state)) terminals.add(d.terminalId)
  }
  const sum = (f: (c: VersionCoverage) => number) => coverage.reduce((n, c) => n + f(c), 0)
  const all = raised.flatMap((r) => r.versions)
  return {
    raised: raised.length,
    lifted: raised.filter((r) => r.w.state === 'lifted').length,
    active: raised.filter((r) => r.w.state === 'active').length,
    pending: all.filter((v) => v.release === 'pending'),
    announcements: {
      targeted: sum((c) => c.targeted),
      reached: sum((c) => c.reached),
      played: sum((c) => c.played),
    },
    inFlight: sum((c) => c.targeted - c.played - c.failed - c.offline),
    loudspeakers: terminals.size,
    superseded: all.filter((v) => v.release === 'superseded').length,
  }
}

/** Every warning the demo raised is lifted and every loudspeaker command has come to its end. */
export const demoDone = (t: DemoTally) => t.active === 0 && t.pending.length === 0 && t.inFlight === 0

export interface DemoLogin {
  readonly id: string
  readonly password: string
}

/** The closing lines: what the demo did, and that the gateway keeps running. */
export function summaryLines(t: DemoTally, consoleUrl: string, login: DemoLogin | undefined): string[] {
  const a = t.announcements
  return [
    `demo done: every warning lifted: ${t.raised} warning(s) raised, ${t.lifted} lifted; ` +
      `${t.loudspeakers} loudspeaker(s) reached, ${a.played} of ${a.targeted} announcement(s) played` +
      (t.superseded > 0
        ? `; ${t.superseded} version(s) waited for approval and were overtaken before anyone approved`
        : ''),
    `the gateway keeps running: console ${consoleUrl}` +
      (login ? ` (log in as ${login.id} / ${login.password})` : '') +
      '; stop with Ctrl-C',
  ]
}

/**
 * While versions wait for approval: which, until when, and how to approve them; `brief`, one line
 * for each of these versions (the way to approve was printed already).
 */
export function approvalHint(
  t: DemoTally,
  consoleUrl: string,
  logins: { duty?: DemoLogin | undefined; second?: DemoLogin | undefined },
  now: number,
  brief?: readonly VersionRow[],
): string[] {
  if (t.pending.length === 0) return []
  const due = (v: VersionRow) =>
    v.releaseDue !== null
      ? `, goes out unapproved in ${Math.max(0, Math.ceil((v.releaseDue - now) / 1000))} s`
      : ''
  if (brief)
    return brief.map(
      (v) =>
        `waiting for approval: ${v.warningId} v${v.version} ${v.level ?? 'lift'}${due(v)} ` +
        `(${t.pending.length} waiting; approve as shown above)`,
    )
  const lines = [
    `waiting for approval: ${t.pending.length} version(s). Each needs an approver; the demo's red flood, ` +
      'rainstorm and flash-flood warnings need two (duty, then approver). Not approved, one goes out at its deadline:',
    ...t.pending.map((v) => `  ${v.warningId} v${v.version} ${v.level ?? 'lift'}${due(v)}`),
    `approve in the console at ${consoleUrl}` +
      (logins.duty ? ` (log in as ${logins.duty.id} / ${logins.duty.password})` : '') +
      ', or with curl:',
  ]
  const v = t.pending[0]!
  for (const who of [logins.duty, logins.second])
    if (who)
      lines.push(
        `  TOKEN=$(curl -s -X POST ${consoleUrl}/api/login -H 'content-type: application/json' ` +
          `-d '{"username":"${who.id}","password":"${who.password}"}' | sed -E 's/.*"token":"([^"]+)".*/\\1/')`,
        `  curl -s -X POST ${consoleUrl}/api/warnings/${v.warningId}/versions/${v.version}/approve -H "authorization: Bearer $TOKEN"`,
      )
  return lines
}

/**
 * Re-reads the state after each committed event: a hint whenever a version starts waiting for
 * approval (in full the first time, and again if any still waits when the scenario is played);
 * once the scenario is played and the demo done, the summary. Returns the function that stops.
 */
export function watchDemoEnd(opts: {
  readonly gw: Pick<RunningGateway, 'warnings' | 'listen' | 'urls'>
  readonly since: number
  readonly scenarioDone: Promise<void>
  readonly logins: { duty?: DemoLogin | undefined; second?: DemoLogin | undefined }
  readonly write: (lines: string[]) => void
  readonly now?: () => number
}): () => void {
  const now = opts.now ?? Date.now
  const url = opts.gw.urls.http
  let played = false
  let stopped = false
  const hinted = new Set<string>()
  let waitingSaid = false
  const check = (scenarioJustPlayed = false) => {
    if (stopped) return
    const t = demoTally(opts.gw, opts.since)
    if (played && demoDone(t)) {
      stop()
      opts.write(summaryLines(t, url, opts.logins.duty))
      return
    }
    const fresh = t.pending.filter((v) => !hinted.has(`${v.warningId}/${v.version}`))
    for (const v of fresh) hinted.add(`${v.warningId}/${v.version}`)
    if (scenarioJustPlayed && t.pending.length > 0) opts.write(approvalHint(t, url, opts.logins, now()))
    else if (fresh.length > 0)
      opts.write(approvalHint(t, url, opts.logins, now(), hinted.size > fresh.length ? fresh : undefined))
    if (played && !waitingSaid && t.pending.length === 0 && t.active > 0) {
      waitingSaid = true
      opts.write([`scenario played; waiting for ${t.active} active warning(s) to be lifted`])
    }
  }
  const unlisten = opts.gw.listen(() => check())
  const stop = () => {
    stopped = true
    unlisten()
  }
  void opts.scenarioDone.then(() => {
    played = true
    check(true)
  })
  return stop
}
