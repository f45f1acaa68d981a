/**
 * Target selection, once for every channel: per the dissemination policy (分类型、分级别、分区域、
 * 分人群), the loudspeakers of the warning's regions and, where the policy says so, those inside its
 * station's hazard polygons (a gauge's downstream villages); the people of the policy's groups in
 * the same regions and polygons. A drill (CAP Exercise or Test) reaches drill terminals only.
 */
import { regionContains, type Level } from '../../../rules/src/index.js'
import type { Registry } from '../registry/registry.js'
import type { Person } from '../registry/schema.js'
import type { WarningRow } from '../warnings/model.js'
import type { Targets } from './channel.js'
import { inPolygon, policyFor, type PolicyFile } from './policy.js'

type Area = { readonly coordinates: readonly (readonly (readonly number[])[])[] }

const inAreas = (
  p: { lat?: number | undefined; lon?: number | undefined },
  areas: readonly Area[],
): boolean =>
  p.lat !== undefined && p.lon !== undefined && areas.some((a) => inPolygon(p.lon!, p.lat!, a.coordinates))

export function resolveTargets(
  registry: Registry,
  policyFile: PolicyFile | undefined,
  w: Pick<WarningRow, 'targets' | 'status' | 'hazard' | 'stationId'>,
  level: Level,
): Targets {
  const policy = policyFor(policyFile, w.hazard, level)
  const areas = policy.polygons ? (registry.station(w.stationId)?.hazardAreas ?? []) : []
  return {
    policy,
    terminals: terminalsOf(registry, w, areas),
    people: peopleOf(registry.people, w, policy.groups, areas),
  }
}

function terminalsOf(
  registry: Registry,
  w: Pick<WarningRow, 'targets' | 'status'>,
  areas: readonly Area[],
): string[] {
  const drill = w.status !== 'Actual'
  const inRegions = w.targets.flatMap((t) => registry.terminalsIn(t))
  const inside = areas.length === 0 ? [] : registry.terminals.filter((t) => inAreas(t, areas))
  return [...new Set([...inRegions, ...inside].filter((x) => !drill || x.drill).map((x) => x.id))]
}

function peopleOf(
  people: readonly Person[],
  w: Pick<WarningRow, 'targets'>,
  groups: readonly Person['roles'][number][],
  areas: readonly Area[],
): Person[] {
  return people.filter(
    (p) =>
      p.phone !== undefined &&
      (w.targets.some((t) => regionContains(t, p.region)) || inAreas(p, areas)) &&
      p.roles.some((r) => groups.includes(r)),
  )
}
