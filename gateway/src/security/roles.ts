/**
 * What each kind of device may do, as ACL entries (security/acl.ts) derived from the registry:
 *
 *   sensor       publishes its own sensors/{kind}/{id}/data and …/status (its will too)
 *   station      a logger or concentrator: the same for every sensor of its stations
 *   terminal     subscribes to its own terminals/{id}/cmd; publishes its own …/receipt and …/status
 *   integration  reads warnings/#, faults/# and the readings of its stations (['*']: all)
 *
 * Nobody but the gateway publishes on terminals/+/cmd, warnings/# or faults/# (GATEWAY_ONLY),
 * whatever an ACL file grants. The site's ACL file adds to these, never removes the hard denials.
 */
import {
  sensorDataTopic,
  sensorStatusTopic,
  terminalCmdTopic,
  terminalReceiptTopic,
  terminalStatusTopic,
} from '../contracts/topics.js'
import type { Registry } from '../registry/registry.js'
import type { DeviceRow } from '../store/devices.js'
import { FilterSet, type AclEntry } from './acl.js'

/** Filters only the gateway publishes on. */
export const GATEWAY_ONLY: readonly string[] = ['terminals/+/cmd', 'warnings/#', 'faults/#', '$SYS/#']
const gatewayOnly = new FilterSet(GATEWAY_ONLY)
/** Whether `topic` is one only the gateway publishes on. */
export const isGatewayOnly = (topic: string): boolean => gatewayOnly.has(topic)

const sensorEntries = (kind: string, id: string): AclEntry[] => [
  { access: 'write', filter: sensorDataTopic(kind, id) },
  { access: 'write', filter: sensorStatusTopic(kind, id) },
]

export function roleEntries(d: Pick<DeviceRow, 'role' | 'subjects'>, registry: Registry): AclEntry[] {
  switch (d.role) {
    case 'sensor':
      return d.subjects.flatMap((id) => {
        const s = registry.sensor(id)
        return s ? sensorEntries(s.kind, s.sensorId) : []
      })
    case 'station':
      return d.subjects.flatMap((id) =>
        (registry.station(id)?.sensors ?? []).flatMap((s) => sensorEntries(s.kind, s.id)),
      )
    case 'terminal':
      return d.subjects.flatMap((id) =>
        registry.terminal(id)
          ? [
              { access: 'read' as const, filter: terminalCmdTopic(id) },
              { access: 'write' as const, filter: terminalReceiptTopic(id) },
              { access: 'write' as const, filter: terminalStatusTopic(id) },
            ]
          : [],
      )
    case 'integration': {
      const readings: AclEntry[] = d.subjects.includes('*')
        ? [{ access: 'read', filter: 'sensors/#' }]
        : d.subjects.flatMap((id) =>
            (registry.station(id)?.sensors ?? []).map((s) => ({
              access: 'read' as const,
              filter: `sensors/${s.kind}/${s.id}/#`,
            })),
          )
      return [{ access: 'read', filter: 'warnings/#' }, { access: 'read', filter: 'faults/#' }, ...readings]
    }
  }
}

/** The registry name of what an identity is, for `shaobing device list` and the logs. */
export function describeSubjects(d: Pick<DeviceRow, 'role' | 'subjects'>, registry: Registry): string {
  return d.subjects
    .map((id) => {
      if (id === '*') return 'all stations'
      if (d.role === 'terminal') {
        const t = registry.terminal(id)
        return t ? `${id} (${t.name ?? registry.placeName(t.region)})` : `${id} (not in the registry)`
      }
      if (d.role === 'sensor') {
        const s = registry.sensor(id)
        return s ? `${id} (${s.kind} at ${s.station.name})` : `${id} (not in the registry)`
      }
      const st = registry.station(id)
      return st ? `${id} (${st.name})` : `${id} (not in the registry)`
    })
    .join(', ')
}
