/**
 * A station's thresholds, for the console's charts: the simple thresholds (rules/src/thresholds.ts
 * says which are left out: k-of-n rules, rates and counts, day aggregates, conjunctions, unset
 * constants) of every rule the running engine evaluates on the station's sensor kinds, resolved
 * with the station's constants layered over its regions', and only for quantities the station
 * reports or the catalogues derive from its readings.
 */
import { ruleThresholds, type RulesEngine, type Threshold } from '../../../rules/src/index.js'
import type { Registry } from '../registry/registry.js'

export interface StationThreshold extends Threshold {
  /** The quantity's unit: the kind's (kinds.yaml), or the derive entry's (`wind_force`: Beaufort). */
  readonly unit?: string
}

/** The station's thresholds, rule by rule in the engine's order; undefined for an unknown station. */
export function stationThresholds(
  registry: Pick<Registry, 'station' | 'stationInfo' | 'kind'>,
  engine: Pick<RulesEngine, 'rules' | 'rulesFor' | 'derivedQuantities'>,
  stationId: string,
): StationThreshold[] | undefined {
  const station = registry.station(stationId)
  const info = registry.stationInfo(stationId)
  if (!station || !info) return undefined
  const kinds = [...new Set(station.sensors.map((s) => s.kind))]
  // Per kind: the quantities its readings carry, and their units.
  const reported = new Map(
    kinds.map((k) => {
      const quantities = registry.kind(k)?.quantities ?? {}
      const units = new Map<string, string | undefined>(
        Object.entries(quantities).map(([q, d]) => [q, d.unit]),
      )
      for (const [q, unit] of Object.entries(engine.derivedQuantities(k)))
        if (!units.has(q)) units.set(q, unit)
      return [k, units] as const
    }),
  )
  const bound = new Set(kinds.flatMap((k) => engine.rulesFor(k)))
  const out: StationThreshold[] = []
  for (const rule of engine.rules) {
    if (!bound.has(rule)) continue
    const units = rule.kinds.filter((k) => reported.has(k)).map((k) => reported.get(k)!)
    for (const t of ruleThresholds(rule, info.params)) {
      const of = units.find((u) => u.has(t.quantity))
      if (!of) continue // the rule reads it from another kind of sensor
      const unit = of.get(t.quantity)
      out.push({ ...t, ...(unit !== undefined ? { unit } : {}) })
    }
  }
  return out
}
