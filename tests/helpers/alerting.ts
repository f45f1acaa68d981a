/**
 * The alert manager on its own, for table-driven stage tests: an in-memory SQLite store, the demo
 * county's registry and the shipped catalogues, a hand-moved clock, and the events it emits (the
 * bus over the same store). No gateway, no broker, no sockets.
 */
import { join } from 'node:path'
import { pino } from 'pino'
import { RulesEngine, type Level, type Transition } from '../../rules/src/index.js'
import { AlertManager } from '../../gateway/src/alerting/manager.js'
import { WarningsConfig } from '../../gateway/src/config/schema.js'
import { loadConfig } from '../../gateway/src/config/load.js'
import { EventBus } from '../../gateway/src/events/bus.js'
import type { GatewayEvent } from '../../gateway/src/events/types.js'
import { createMetrics } from '../../gateway/src/metrics.js'
import type { Runtime } from '../../gateway/src/runtime.js'
import { openMemoryDb } from '../../gateway/src/store/db.js'
import { storesOf } from '../../gateway/src/store/index.js'
import { clock } from './wait.js'

const DEMO_CONFIG = join(import.meta.dirname, '../../gateway/config/demo/gateway.yaml')

/** Demo county codes used by the tables. */
export const PLACES = {
  county: '511823000000',
  hekou: '511823100000', // 河口镇
  liuwan: '511823100201', // 柳湾村, gauges WL-LW-01 and RG-LW-01
  shimen: '511823100202', // 石门村, rain gauge RG-SM-01
  longtan: '511823101201', // 龙潭村 (清溪镇), WL-LT-01
  park: '511823200201', // 园区社区: gas detector GAS-PK-01
} as const

/** `warnings:` settings as in gateway.yaml (defaults for what is left out). */
export type WarningsInput = Parameters<typeof WarningsConfig.parse>[0]

export function alerting(settings: WarningsInput = {}) {
  const loaded = loadConfig(DEMO_CONFIG)
  if (!loaded.ok) throw new Error('demo configuration refused')
  const { registry, catalogues } = loaded.value
  const engine = new RulesEngine(
    catalogues.map((c) => c.catalogue),
    (id) => registry.stationInfo(id),
  )
  const runtime: Runtime = {
    registry,
    policy: loaded.value.policy,
    acl: loaded.value.acl,
    engine,
    rules: new Map(engine.rules.map((r) => [r.id, r])),
    replayed: 0,
  }
  const stores = storesOf(openMemoryDb())
  const time = clock()
  const log = pino({ level: 'silent' })
  const bus = new EventBus(stores.events, time.now, log)
  const events: GatewayEvent[] = []
  bus.subscribe((e) => {
    events.push(e)
  })
  const faulty = new Set<string>()
  const manager = new AlertManager({
    stores,
    runtime: () => runtime,
    stationFaulty: (id) => faulty.has(id),
    emit: bus.emit,
    metrics: createMetrics(),
    log,
    now: time.now,
    config: WarningsConfig.parse(settings),
  })
  let ts = Date.UTC(2026, 6, 15, 6)

  /** A rule's level change at a station, at the next minute of event time. */
  const transition = (
    ruleId: string,
    stationId: string,
    from: Level | null,
    to: Level | null,
  ): Transition => {
    const rule = runtime.rules.get(ruleId)
    if (!rule) throw new Error(`no rule ${ruleId}`)
    ts += 60_000
    return {
      ruleId,
      hazard: rule.hazard,
      stationId,
      kind: from === null ? 'raise' : to === null ? 'clear' : 'escalate',
      from,
      to,
      ts,
      explanation: { level: (to ?? from)!, held: false, conditions: [] },
    }
  }
  return {
    manager,
    stores,
    clock: time,
    events,
    faulty,
    /** Applies one transition (as one reading would cause it). */
    apply: (ruleId: string, stationId: string, from: Level | null, to: Level | null) =>
      manager.apply([transition(ruleId, stationId, from, to)]),
    transition,
    /** Every warning with its versions' action, level and release, oldest first. */
    warnings: () =>
      stores.warnings
        .list({ limit: 1000 })
        .reverse()
        .map((w) => ({
          ...w,
          versions: stores.warnings.versions(w.id).map((v) => ({
            action: v.action,
            level: v.level,
            release: v.release,
            releasedBy: v.releasedBy,
          })),
        })),
    /** The released-version events, as `warningId#version level`. */
    released: () =>
      events.flatMap((e) =>
        e.type === 'warning.released'
          ? [`${e.data.warningId}#${e.data.version} ${e.data.level ?? 'lift'}`]
          : [],
      ),
    audit: (action: string) => stores.audit.auditLog({ action, limit: 1000 }),
  }
}
