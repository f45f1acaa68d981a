/**
 * A scenario's SL 651 telemetry stations (`rtus:`): each step, the readings of the sensors an RTU
 * carries become one report of its elements (a 32H timed report, or at each full hour a 34H hourly
 * report), sent by a `SimRtu` over TCP instead of MQTT. The mapping is the registry's turned round:
 * element → sensor and quantity, less the element's offset (a relative stage's 水位基值).
 *
 * The supply voltage (VT → `supply_v`) is a reading no signal model makes: a solar-charged 12 V
 * lead-acid battery, or, during a scenario's battery fault on the sensor, a battery running down.
 */
import { FN, type ElementValue } from '../../gateway/src/contracts/sl651/body.js'
import { elementById } from '../../gateway/src/contracts/sl651/elements.js'
import { durationMs } from '../../rules/src/index.js'
import { SimRtu, zeroCounters, type RtuCounters, type RtuGroup, type RtuOutcome } from './rtu.js'
import type { Scenario, ScenarioRtu } from './scenario.js'
import type { SimReading } from './signals.js'

const H = 3_600_000
const FIVE_MIN = 300_000

/** What the scenario's RTUs did, summed. */
export interface RtuSummary extends RtuCounters {
  readonly rtus: number
  /** Reports taken while an outage cut a link without storage: never sent. */
  lost: number
}

/** A report handed to an RTU: `held` while an outage keeps its link down (it goes when the link returns). */
export interface RtuReport {
  readonly done: Promise<RtuOutcome>
  readonly held: boolean
}

/** Options of every RTU of a run (tests shorten the confirmation timeout). */
export interface RtuRunOptions {
  readonly now?: () => number
  readonly utcOffsetMin?: number
}

/**
 * A 12 V battery's voltage at event time `ts`: floating near 12.7 V at night, charged by the
 * panel to about 13.5 V at noon (Beijing time); during a battery fault it follows the charge
 * down (11.4 V empty, 12.9 V full), as SL 651's VT reports it.
 */
export function supplyVoltage(scenario: Scenario, sensorId: string, t: number, ts: number): number {
  for (const e of scenario.events) {
    if (e.type !== 'fault' || e.fault !== 'battery' || !e.sensors.includes(sensorId)) continue
    const at = durationMs(e.at)
    if (t <= at) continue
    const pct = e.from_pct + (e.to_pct - e.from_pct) * Math.min(1, (t - at) / durationMs(e.for))
    return Math.round((11.4 + (1.5 * pct) / 100) * 100) / 100
  }
  const hour = (((ts / H + 8) % 24) + 24) % 24
  const sun = Math.max(0, Math.sin((Math.PI * (hour - 7)) / 10))
  return Math.round((12.7 + 0.8 * sun) * 100) / 100
}

interface Station {
  readonly spec: ScenarioRtu
  readonly rtu: SimRtu
  /** The readings of the hour so far (hourly RTUs), by scenario time. */
  readonly hour: { t: number; ts: number; values: Map<string, number> }[]
  /** Cut by an outage without storage: reports taken meanwhile are lost. */
  losing: boolean
}

/** The scenario's RTUs and the sensors they carry. */
export class ScenarioRtus {
  private readonly stations: Station[]
  /** Sensor id → its RTU. */
  private readonly carrier = new Map<string, Station>()
  private lost = 0

  constructor(
    private readonly scenario: Scenario,
    url: string,
    private readonly startMs: number,
    opts: RtuRunOptions = {},
  ) {
    this.stations = scenario.rtus.map((spec) => ({
      spec,
      rtu: new SimRtu({
        url,
        address: spec.address,
        password: spec.password,
        encoding: spec.encoding,
        category: spec.category,
        center: spec.center,
        confirmTimeoutMs: durationMs(spec.confirm_timeout),
        ...(spec.keep_alive !== undefined ? { keepAliveMs: durationMs(spec.keep_alive) } : {}),
        ...(spec.packet_limit !== undefined ? { maxPacketBody: spec.packet_limit } : {}),
        clockErrorMs: spec.clock_behind !== undefined ? -durationMs(spec.clock_behind) : 0,
        ...(opts.now ? { now: opts.now } : {}),
        ...(opts.utcOffsetMin !== undefined ? { utcOffsetMin: opts.utcOffsetMin } : {}),
      }),
      hour: [],
      losing: false,
    }))
    for (const st of this.stations)
      for (const m of Object.values(st.spec.elements)) this.carrier.set(m.sensor, st)
  }

  /** Whether an RTU carries this sensor's readings (then they do not go over MQTT). */
  carries(sensorId: string): boolean {
    return this.carrier.has(sensorId)
  }

  get size(): number {
    return this.stations.length
  }

  /** Connects every RTU. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.stations.map((s) => s.rtu.start()))
    } catch (e) {
      for (const s of this.stations) s.rtu.destroy()
      throw e
    }
  }

  /**
   * The readings of one step (scenario time t1, ms since the start) of the sensors the RTUs
   * carry; returns the reports sent (or held by an outage), each settling when confirmed or given up.
   */
  take(readings: readonly SimReading[], t1: number): RtuReport[] {
    const bySensor = new Map(readings.filter((r) => this.carries(r.sensorId)).map((r) => [r.sensorId, r]))
    const out: RtuReport[] = []
    for (const st of this.stations) {
      const values = new Map<string, number>()
      let ts: number | undefined
      for (const [id, m] of Object.entries(st.spec.elements)) {
        const r = bySensor.get(m.sensor)
        if (!r) continue // silent (a dropout): the element is not reported
        ts ??= r.ts
        const v =
          r.values[m.quantity] ??
          (m.quantity === 'supply_v'
            ? supplyVoltage(this.scenario, m.sensor, t1, this.startMs + t1)
            : undefined)
        if (v !== undefined) values.set(id, v - m.offset)
      }
      const hourly = st.spec.function === 'hourly'
      if (hourly && ts !== undefined) st.hour.push({ t: t1, ts, values })
      const groups = hourly ? this.hourGroups(st, t1) : ts !== undefined ? [this.timedGroup(ts, values)] : []
      if (groups.length === 0) continue
      // The RTU's clock: its fixed error, plus a scenario clock fault moving its readings' times.
      const skew = (ts ?? this.startMs + t1) - (this.startMs + t1)
      st.rtu.clockErrorMs =
        (st.spec.clock_behind !== undefined ? -durationMs(st.spec.clock_behind) : 0) + skew
      if (st.losing) {
        this.lost++
        continue
      }
      out.push({ done: st.rtu.report(groups, hourly ? FN.hourly : FN.timed), held: st.rtu.isSuspended })
    }
    return out
  }

  private timedGroup(ts: number, values: ReadonlyMap<string, number>): RtuGroup {
    return { observedAt: ts, elements: [...values].map(([id, value]) => ({ id, value })) }
  }

  /**
   * At a full hour of event time: the 5-minute series of the hour (the codec's convention: the
   * time group is the first value's time, each next one 5 minutes on) and the other elements' last
   * values at their time. Before it, nothing.
   */
  private hourGroups(st: Station, t1: number): RtuGroup[] {
    if ((this.startMs + t1) % H !== 0) return []
    const rows = st.hour.splice(0)
    const end = this.startMs + t1
    const series: ElementValue[] = []
    const last: ElementValue[] = []
    let lastTs: number | undefined
    for (const id of Object.keys(st.spec.elements)) {
      const form = elementById(id)?.form
      if (form === 'rain5min' || form === 'stage5min') {
        const value = Array.from({ length: 12 }, (_, i) => {
          const t = end - H + (i + 1) * FIVE_MIN
          return rows.find((r) => this.startMs + r.t === t)?.values.get(id) ?? null
        })
        series.push({ id, value })
        continue
      }
      const row = rows.findLast((r) => r.values.has(id))
      if (row) {
        last.push({ id, value: row.values.get(id)! })
        lastTs = Math.max(lastTs ?? row.ts, row.ts)
      }
    }
    const groups: RtuGroup[] = []
    if (series.length > 0) groups.push({ observedAt: end - H + FIVE_MIN, elements: series })
    if (last.length > 0) groups.push({ observedAt: lastTs!, elements: last })
    return groups
  }

  /** An outage: the links of these sensors' RTUs drop and stay down; `buffer` false loses what is taken meanwhile. */
  cut(sensorIds: readonly string[], buffer: boolean): void {
    for (const st of this.of(sensorIds)) {
      st.rtu.suspend()
      st.losing = !buffer
    }
  }

  restore(sensorIds: readonly string[] | 'all'): void {
    for (const st of sensorIds === 'all' ? this.stations : this.of(sensorIds)) {
      st.losing = false
      st.rtu.resume()
    }
  }

  /** A reconnect storm: the links drop at once and reconnect on their own. */
  drop(sensorIds: readonly string[] | 'all'): number {
    const targets = sensorIds === 'all' ? this.stations : this.of(sensorIds)
    for (const st of targets) st.rtu.drop()
    return targets.length
  }

  private of(sensorIds: readonly string[]): Station[] {
    return [...new Set(sensorIds.flatMap((id) => this.carrier.get(id) ?? []))]
  }

  summary(): RtuSummary {
    const sum: RtuSummary = { rtus: this.stations.length, ...zeroCounters(), lost: this.lost }
    for (const { rtu } of this.stations)
      for (const k of Object.keys(rtu.counters) as (keyof RtuCounters)[]) sum[k] += rtu.counters[k]
    return sum
  }

  /** Waits for every report to be confirmed or given up, then closes the links. */
  async close(): Promise<void> {
    await Promise.all(this.stations.map((s) => s.rtu.close()))
  }

  /** Closes at once (a run that failed to start). */
  destroy(): void {
    for (const s of this.stations) s.rtu.destroy()
  }
}
