/**
 * The warnings as the API shows them: each with its versions (with 首报/续报/终报 and the CAP
 * msgType), one warning with everything that happened to it, the versions waiting for approval,
 * and the alerts with the silences that mute them. Reads only, through ports onto the stores.
 */
import type { Level } from '../../../rules/src/index.js'
import { reportOf } from '../warnings/model.js'
import type {
  AlertRow,
  AuditRow,
  EscalationRow,
  SilenceRow,
  VersionRow,
  WarningRow,
} from '../warnings/model.js'
import type { CalloutRow } from '../channels/callout/channel.js'
import type { SmsRow } from '../channels/sms/channel.js'

/** The warning store as these views read it. */
export interface WarningsPort {
  get(id: string): WarningRow | undefined
  list(filter: { state?: 'active' | 'lifted'; limit: number }): WarningRow[]
  versions(warningId: string): VersionRow[]
  approvals(warningId: string, version: number): { operator: string; decision: string; at: number }[]
  escalations(warningId: string): EscalationRow[]
  auditLog(filter: { subject: string; limit: number }): AuditRow[]
  pendingVersions(): VersionRow[]
  alerts(): AlertRow[]
  silences(limit: number): SilenceRow[]
}

/** A version with its report (首报 first, 续报 follow_up, 终报 final) and CAP msgType. */
export const withReport = (v: VersionRow) => ({ ...v, ...reportOf(v.action) })

/** Entries of a warning's audit trail shown with it, newest first. */
const AUDIT_SHOWN = 200
/** Silences looked at to name the one muting an alert. */
const SILENCES_SHOWN = 1000

/** Warnings, newest first, each with all its versions. */
export function warningList(
  port: WarningsPort,
  filter: { state: 'active' | 'lifted' | 'all'; limit: number },
) {
  const rows = port.list({ ...(filter.state !== 'all' ? { state: filter.state } : {}), limit: filter.limit })
  return rows.map((w) => ({ ...w, versions: port.versions(w.id).map(withReport) }))
}

/**
 * One warning with its versions (and their approvals), escalations, 叫应 calls, SMS and audit
 * trail; undefined when there is no such warning.
 */
export function warningDetail(
  id: string,
  ports: {
    warnings: WarningsPort
    people: { callouts(warningId: string): CalloutRow[] }
    sms: { messages(warningId: string): SmsRow[] } | undefined
  },
) {
  const { warnings } = ports
  const w = warnings.get(id)
  if (!w) return undefined
  return {
    ...w,
    versions: warnings
      .versions(w.id)
      .map((v) => ({ ...withReport(v), approvals: warnings.approvals(w.id, v.version) })),
    escalations: warnings.escalations(w.id),
    callouts: ports.people.callouts(w.id),
    sms: ports.sms?.messages(w.id) ?? [],
    audit: warnings.auditLog({ subject: w.id, limit: AUDIT_SHOWN }),
  }
}

/**
 * Versions waiting for approval, each with its warning, the decisions so far and how many
 * approvals its policy needs (two under the two-person rule), so an approver sees who approved
 * and that a second one is still needed.
 */
export function pendingApprovals(port: WarningsPort, needed: (hazard: string, level: Level) => number) {
  return port.pendingVersions().map((v) => {
    const warning = port.get(v.warningId)
    return {
      ...withReport(v),
      warning,
      approvals: port.approvals(v.warningId, v.version),
      approvalsNeeded: warning && v.level ? needed(warning.hazard, v.level) : 0,
    }
  })
}

/** Every alert (rule × station), the muted ones with the silence that mutes them. */
export function alertsWithSilences(port: WarningsPort) {
  const silences = new Map(port.silences(SILENCES_SHOWN).map((s) => [s.id, s]))
  return port.alerts().map((a) => ({
    ...a,
    muted: a.mutedBy !== null,
    silence: a.mutedBy !== null ? (silences.get(a.mutedBy) ?? null) : null,
  }))
}
