/**
 * What a reload replaces as a whole: the registry, the rules and the engine that runs them. Built
 * completely (engine windows rebuilt from stored readings, active levels restored from stored
 * warnings) before it replaces the running one, so a reload never half-applies.
 */
import type { Rule } from '../../rules/src/index.js'
import { RulesEngine } from '../../rules/src/index.js'
import type { LoadedConfig } from './config/load.js'
import type { AclFile } from './security/acl.js'
import type { PolicyFile } from './dissemination/policy.js'
import { plausibleValues } from './ingest/decode.js'
import type { Registry } from './registry/registry.js'
import type { ReadingStore } from './store/readings.js'
import type { AlertStore } from './store/alerts.js'

export interface Runtime {
  readonly registry: Registry
  /** The dissemination policy in force (none: every channel, the usual groups). */
  readonly policy: PolicyFile | undefined
  /** The site's ACL file: grants beyond each device role's own topics. */
  readonly acl: AclFile
  readonly engine: RulesEngine
  readonly rules: ReadonlyMap<string, Rule>
  /** Readings replayed to rebuild the windows. */
  readonly replayed: number
}

/** A getter, so every stage always sees the runtime in force. */
export type CurrentRuntime = () => Runtime

export function buildRuntime(loaded: LoadedConfig, store: ReadingStore, alerts: AlertStore): Runtime {
  const { registry, catalogues } = loaded
  const engine = new RulesEngine(
    catalogues.map((c) => c.catalogue),
    (id) => registry.stationInfo(id),
  )
  const replayed = warmUp(engine, store, registry)
  // Transitions found during the replay were discarded; the levels in force are the stored alerts'.
  for (const a of alerts.alerts()) engine.restore(a.ruleId, a.stationId, a.level)
  return {
    registry,
    policy: loaded.policy,
    acl: loaded.acl,
    engine,
    rules: new Map(engine.rules.map((r) => [r.id, r])),
    replayed,
  }
}

/**
 * Rebuilds the engine's windows by replaying each station's recent readings in event-time order,
 * as far back as the longest window or dwell needs.
 */
function warmUp(engine: RulesEngine, store: ReadingStore, registry: Registry): number {
  const lookback = engine.maxLookbackMs
  let n = 0
  for (const s of registry.stations) {
    const latest = store.latestTs(s.id)
    if (latest === undefined) continue
    for (const r of store.since(s.id, latest - lookback - 1)) {
      const kind = registry.kind(r.kind)
      if (!kind) continue // a kind removed from the configuration since
      engine.evaluate({
        stationId: r.stationId,
        kind: r.kind,
        ts: r.ts,
        values: plausibleValues(r.values, kind),
      })
      n++
    }
  }
  return n
}
