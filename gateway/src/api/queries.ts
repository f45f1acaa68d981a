/**
 * What the API reads, gathered from the store modules: warnings with their versions, approvals,
 * escalations and coverage; alerts and silences; the audit log. Reads only; every change goes
 * through the alert manager's commands.
 */
import type { Stores } from '../store/index.js'
import type { VersionCoverage } from '../warnings/model.js'

export interface WarningQueries {
  readonly get: Stores['warnings']['get']
  readonly list: Stores['warnings']['list']
  readonly versions: Stores['warnings']['versions']
  readonly version: Stores['warnings']['version']
  readonly active: Stores['warnings']['active']
  readonly byUpstream: Stores['warnings']['byUpstream']
  readonly pendingVersions: Stores['warnings']['pendingVersions']
  readonly approvals: Stores['warnings']['approvals']
  readonly escalations: Stores['warnings']['escalations']
  readonly deliveries: Stores['deliveries']['deliveries']
  /** Each loudspeaker's presence and last receipt, by terminal id. */
  readonly terminalPresence: Stores['deliveries']['presence']
  readonly lastReceipts: Stores['deliveries']['lastReceipts']
  /** Loudspeaker coverage of each released version. */
  readonly coverage: (warningId: string) => VersionCoverage[]
  readonly alerts: Stores['alerts']['alerts']
  readonly alertStats: Stores['alerts']['alertStats']
  readonly silences: Stores['silences']['silences']
  readonly auditLog: Stores['audit']['auditLog']
}

export function queriesOf({ warnings, deliveries, alerts, silences, audit }: Stores): WarningQueries {
  return {
    get: (id) => warnings.get(id),
    list: (f) => warnings.list(f),
    versions: (id) => warnings.versions(id),
    version: (id, v) => warnings.version(id, v),
    active: () => warnings.active(),
    byUpstream: (ref) => warnings.byUpstream(ref),
    pendingVersions: () => warnings.pendingVersions(),
    approvals: (id, v) => warnings.approvals(id, v),
    escalations: (id) => warnings.escalations(id),
    deliveries: (id, v) => deliveries.deliveries(id, v),
    terminalPresence: () => deliveries.presence(),
    lastReceipts: () => deliveries.lastReceipts(),
    coverage: (id) =>
      deliveries.coverage(
        id,
        warnings.versions(id).filter((v) => v.release === 'released'),
      ),
    alerts: () => alerts.alerts(),
    alertStats: (q) => alerts.alertStats(q),
    silences: (n) => silences.silences(n),
    auditLog: (f) => audit.auditLog(f),
  }
}
