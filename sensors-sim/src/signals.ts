/**
 * Signal models: pure functions of scenario time and their own state, deterministic for a seed.
 * `Simulation.step()` advances every sensor by one reporting interval and returns its values.
 */
import { durationMs } from '../../rules/src/index.js'
import { gaussian, mulberry32, type Rng } from './prng.js'
import { distanceKm, seismicBatch, VS_KMS } from './seismic.js'
import type { Scenario, ScenarioEvent, ScenarioSensor } from './scenario.js'

/** A seismic batch as the device sends it on `sensors/seismic/{id}/data`. */
export interface SimBatch {
  readonly sensorId: string
  readonly kind: 'seismic'
  readonly ts: number
  readonly batch: { ts: number; sr: number; x: number[]; y: number[]; z: number[] }
}

export interface SimReading {
  readonly sensorId: string
  readonly kind: string
  /** Event time as the device stamps it, epoch ms (wrong while its clock is at fault). */
  readonly ts: number
  readonly seq: number
  readonly values: Record<string, number>
}

const H = 3_600_000

type FaultType = Extract<ScenarioEvent, { type: 'fault' }>['fault']

/** Centre of a moving storm cell at scenario time t: straight line from `from` to `to`. */
function stormCentre(c: StormCell, t: number): { lat: number; lon: number } {
  const f = (t - c.fromMs) / (c.toMs - c.fromMs)
  return { lat: c.from.lat + (c.to.lat - c.from.lat) * f, lon: c.from.lon + (c.to.lon - c.from.lon) * f }
}
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits

/** A device status report on `sensors/{kind}/{id}/status`: alive, with its battery charge. */
export interface SimStatus {
  readonly sensorId: string
  readonly kind: string
  readonly ts: number
  readonly battery: number
}

interface RainCell {
  readonly fromMs: number
  readonly toMs: number
  readonly rateMmH: number
  readonly sensors: ReadonlySet<string>
}

interface StormCell {
  readonly fromMs: number
  readonly toMs: number
  readonly rateMmH: number
  readonly radiusKm: number
  readonly from: { lat: number; lon: number }
  readonly to: { lat: number; lon: number }
}

export class Simulation {
  readonly intervalMs: number
  readonly durationMs: number
  private readonly rng: Rng
  private readonly cells: RainCell[]
  private readonly storms: StormCell[]
  private readonly kindOf: ReadonlyMap<string, string>
  /** Where each located rain or weather sensor stands. */
  private readonly position = new Map<string, { lat: number; lon: number }>()
  /** Runoff held in each river's catchment, mm (linear reservoir). */
  private readonly storage = new Map<string, number>()
  /** Water level of each reservoir, m. */
  private readonly level = new Map<string, number>()
  private readonly seismicRng = new Map<string, Rng>()
  /** The values each sensor last sent (what a stuck sensor repeats). */
  private readonly lastSent = new Map<string, Record<string, number>>()
  private step_ = 0

  constructor(
    readonly scenario: Scenario,
    readonly startMs: number,
  ) {
    this.intervalMs = durationMs(scenario.interval)
    this.durationMs = durationMs(scenario.duration)
    this.rng = mulberry32(scenario.seed)
    this.cells = scenario.events.flatMap((e) =>
      e.type === 'rain'
        ? [
            {
              fromMs: durationMs(e.at),
              toMs: durationMs(e.at) + durationMs(e.for),
              rateMmH: e.rate_mm_h,
              sensors: new Set(e.sensors),
            },
          ]
        : [],
    )
    this.storms = scenario.events.flatMap((e) =>
      e.type === 'storm'
        ? [
            {
              fromMs: durationMs(e.at),
              toMs: durationMs(e.at) + durationMs(e.for),
              rateMmH: e.rate_mm_h,
              radiusKm: e.radius_km,
              from: e.from,
              to: e.to,
            },
          ]
        : [],
    )
    this.kindOf = new Map(scenario.sensors.map((s) => [s.id, s.kind]))
    for (const s of scenario.sensors)
      if ((s.model === 'rain' || s.model === 'weather') && s.lat !== undefined && s.lon !== undefined)
        this.position.set(s.id, { lat: s.lat, lon: s.lon })
    // Each seismic station gets its own noise source, so adding a station changes no other.
    for (const s of scenario.sensors)
      if (s.model === 'seismic')
        this.seismicRng.set(s.id, mulberry32(scenario.seed * 7919 + this.seismicRng.size + 1))
  }

  /** Number of reporting intervals in the scenario. */
  get steps(): number {
    return Math.floor(this.durationMs / this.intervalMs)
  }

  /** Rain rate over a sensor at scenario time t (ms), mm/h. */
  rainRate(sensorId: string, t: number): number {
    let r = 0
    for (const c of this.cells) if (c.sensors.has(sensorId) && t >= c.fromMs && t < c.toMs) r += c.rateMmH
    const at = this.position.get(sensorId)
    if (at)
      for (const c of this.storms) {
        if (t < c.fromMs || t >= c.toMs) continue
        const d = distanceKm(at, stormCentre(c, t))
        if (d < c.radiusKm) r += c.rateMmH * Math.cos(((Math.PI / 2) * d) / c.radiusKm) ** 2
      }
    return r
  }

  /** Rain that fell on a sensor during (t0, t1], mm (integrated at one-minute resolution). */
  rainBetween(sensorId: string, t0: number, t1: number): number {
    let mm = 0
    for (let t = t0; t < t1; t += 60_000) mm += (this.rainRate(sensorId, t) * Math.min(60_000, t1 - t)) / H
    return mm
  }

  /**
   * Advances one interval; returns one reading per sensor, stamped at the end of the interval,
   * with the scenario's faults applied (dropouts send nothing, stuck sensors repeat, spikes jump).
   */
  step(): SimReading[] {
    const i = ++this.step_
    const t1 = i * this.intervalMs
    const t0 = t1 - this.intervalMs
    const out: SimReading[] = []
    // Originals first, in file order (so twins draw nothing from the seed), then each sensor's own faults.
    const truth = new Map<string, Record<string, number>>()
    for (const s of this.scenario.sensors)
      if (s.model !== 'seismic' && s.model !== 'twin') truth.set(s.id, this.valuesOf(s, t0, t1))
    for (const s of this.scenario.sensors) {
      if (s.model === 'seismic') continue
      // Computed always, so a fault leaves the physics as it was.
      let values = { ...truth.get(s.model === 'twin' ? s.of : s.id)! }
      const fault = this.faultAt(s.id, t1)
      if (fault?.fault === 'dropout') continue
      if (fault?.fault === 'stuck') values = this.lastSent.get(s.id) ?? values
      if (fault?.fault === 'spike' && t1 - durationMs(fault.at) <= this.intervalMs) {
        const factor = fault.factor
        values = Object.fromEntries(Object.entries(values).map(([q, v]) => [q, round(v * factor, 3)]))
      }
      this.lastSent.set(s.id, values)
      const clock = this.faultAt(s.id, t1, 'clock')
      const skew = clock
        ? clock.ahead !== undefined
          ? durationMs(clock.ahead)
          : -durationMs(clock.behind!)
        : 0
      out.push({ sensorId: s.id, kind: s.kind, ts: this.startMs + t1 + skew, seq: i, values })
    }
    return out
  }

  /** %LEL added by leaks at a detector at scenario time t: ramp, hold, exponential decay. */
  private leak(sensorId: string, t: number): number {
    let lel = 0
    for (const e of this.scenario.events) {
      if (e.type !== 'leak' || !e.sensors.includes(sensorId)) continue
      const at = durationMs(e.at)
      if (t <= at) continue
      const ramp = durationMs(e.ramp)
      const end = at + durationMs(e.for)
      const level = e.peak_lel * Math.min(1, (Math.min(t, end) - at) / ramp)
      lel += t <= end ? level : level * Math.exp(-(t - end) / durationMs(e.decay))
    }
    return lel
  }

  /** Hopper temperature and ΔP of a collector at t: the baseline, or drifting toward a fault. */
  private drift(sensorId: string, t: number, temp0: number, dp0: number): [number, number] {
    for (const e of this.scenario.events) {
      if (e.type !== 'drift' || !e.sensors.includes(sensorId)) continue
      const at = durationMs(e.at)
      if (t <= at) continue
      const f = Math.min(1, (t - at) / durationMs(e.for))
      return [temp0 + (e.temp_to_c - temp0) * f, dp0 + (e.dp_to_pa - dp0) * f]
    }
    return [temp0, dp0]
  }

  /**
   * The fault event covering a sensor at scenario time t, if any: of the given fault, or of those
   * that change what the sensor sends (dropout, stuck, spike).
   */
  private faultAt<F extends FaultType = 'dropout' | 'stuck' | 'spike'>(
    sensorId: string,
    t: number,
    ...faults: F[]
  ): Extract<ScenarioEvent, { type: 'fault'; fault: F }> | undefined {
    const wanted: readonly FaultType[] = faults.length > 0 ? faults : ['dropout', 'stuck', 'spike']
    for (const e of this.scenario.events)
      if (
        e.type === 'fault' &&
        wanted.includes(e.fault) &&
        e.sensors.includes(sensorId) &&
        t > durationMs(e.at) &&
        t <= durationMs(e.at) + durationMs(e.for)
      )
        return e as Extract<ScenarioEvent, { type: 'fault'; fault: F }>
    return undefined
  }

  /**
   * Battery reports falling in (t0, t1] of scenario time: every `every` during a battery fault, the
   * charge falling linearly from `from_pct` to `to_pct` and staying there after the span.
   */
  statuses(t0: number, t1: number): SimStatus[] {
    const out: SimStatus[] = []
    for (const e of this.scenario.events) {
      if (e.type !== 'fault' || e.fault !== 'battery') continue
      const at = durationMs(e.at)
      const span = durationMs(e.for)
      const every = durationMs(e.every)
      for (let k = Math.max(0, Math.ceil((t0 - at) / every)); at + k * every <= t1; k++) {
        const t = at + k * every
        if (t <= t0) continue
        const pct = e.from_pct + (e.to_pct - e.from_pct) * Math.min(1, (t - at) / span)
        for (const id of e.sensors) {
          const kind = this.kindOf.get(id)!
          out.push({ sensorId: id, kind, ts: this.startMs + t, battery: Math.round(pct) })
        }
      }
    }
    return out.sort((a, b) => a.ts - b.ts)
  }

  /**
   * Seismic batches (1 s at 100 Hz) whose first sample falls in (t0, t1] of scenario time: around
   * each earthquake, from 20 s before the origin until 30 s after the strong shaking has passed
   * the farthest listed station.
   */
  batches(t0: number, t1: number): SimBatch[] {
    const out: SimBatch[] = []
    for (const e of this.scenario.events) {
      if (e.type !== 'earthquake') continue
      const at = durationMs(e.at)
      for (const s of this.scenario.sensors) {
        if (s.model !== 'seismic' || e.intensity[s.id] === undefined) continue
        const surface = distanceKm(e.epicentre, s.params)
        const hypo = Math.sqrt(surface ** 2 + e.depth_km ** 2)
        const quake = {
          originMs: this.startMs + at,
          distanceKm: hypo,
          intensity: e.intensity[s.id]!,
          durationS: durationMs(e.duration) / 1000,
        }
        const from = at - 20_000
        const to = at + (hypo / VS_KMS) * 1000 + durationMs(e.duration) + 30_000
        for (let b = from; b < to; b += 1000) {
          if (b <= t0 - 1000 || b > t1 - 1000) continue // stamped by its first sample, sent once whole
          out.push({
            sensorId: s.id,
            kind: 'seismic',
            ts: this.startMs + b,
            batch: seismicBatch(this.startMs + b, 100, 100, [quake], this.seismicRng.get(s.id)!),
          })
        }
      }
    }
    return out.sort((a, b) => a.ts - b.ts)
  }

  private valuesOf(s: ScenarioSensor, t0: number, t1: number): Record<string, number> {
    const hourOfDay = ((((this.startMs + t1) / H + 8) % 24) + 24) % 24 // Beijing time
    switch (s.model) {
      case 'rain': {
        const mm = this.rainBetween(s.id, t0, t1)
        // Tipping buckets count in 0.1 mm; a little jitter on wet intervals only.
        return { rain_mm: round(Math.max(0, mm > 0 ? mm * (1 + 0.03 * gaussian(this.rng)) : 0), 1) }
      }
      case 'river': {
        const p = s.params
        const dtH = (t1 - t0) / H
        const inflowMmH =
          (p.runoff_coefficient * p.upstream.reduce((a, u) => a + this.rainBetween(u, t0, t1), 0)) /
          p.upstream.length /
          dtH
        const k = durationMs(p.recession) / H
        // Exact solution of dS/dt = inflow − S/k over the interval, for constant inflow.
        const s0 = this.storage.get(s.id) ?? 0
        const decay = Math.exp(-dtH / k)
        const s1 = s0 * decay + inflowMmH * k * (1 - decay)
        this.storage.set(s.id, s1)
        return { stage_m: round(p.base_m + p.m_per_mm * s1 + p.noise_m * gaussian(this.rng), 3) }
      }
      case 'reservoir': {
        const p = s.params
        const k = durationMs(p.recession) / H
        const area = p.area_km2 * 1e6
        let catchment = this.storage.get(s.id) ?? 0 // runoff held in the catchment, mm
        let level = this.level.get(s.id) ?? p.level_m
        // One-minute steps: the spillway's outflow changes with the head it makes.
        for (let t = t0; t < t1; t += 60_000) {
          const dt = Math.min(60_000, t1 - t)
          const dtH = dt / H
          const rainMm =
            p.upstream.reduce((a, u) => a + this.rainBetween(u, t, t + dt), 0) / p.upstream.length
          const decay = Math.exp(-dtH / k)
          const inflowMmH = (p.runoff_coefficient * rainMm) / dtH
          const c1 = catchment * decay + inflowMmH * k * (1 - decay)
          // What left the catchment in dt reached the reservoir: mm over the catchment → m³/s.
          const outMm = catchment + inflowMmH * dtH - c1
          catchment = c1
          const inflow = ((outMm / 1000) * p.catchment_km2 * 1e6) / (dt / 1000)
          const head = Math.max(0, level - p.crest_m)
          const outflow = p.release_m3s + 1.7 * p.spillway_width_m * head ** 1.5
          level += ((inflow - outflow) * (dt / 1000)) / area
        }
        this.storage.set(s.id, catchment)
        this.level.set(s.id, level)
        return { stage_m: round(level + p.noise_m * gaussian(this.rng), 3) }
      }
      case 'weather': {
        const wind = Math.max(0, 3 + 1.5 * gaussian(this.rng))
        return {
          rain_mm: round(this.rainBetween(s.id, t0, t1), 1),
          air_temp_c: round(
            24 + 5 * Math.sin(((hourOfDay - 9) / 24) * 2 * Math.PI) + 0.3 * gaussian(this.rng),
            1,
          ),
          humidity_pct: round(Math.min(100, 70 + 20 * Math.min(1, this.rainRate(s.id, t1) / 10)), 0),
          wind_ms: round(wind, 1),
          gust_ms: round(wind * (1.4 + 0.2 * this.rng()), 1),
        }
      }
      case 'gas':
        return {
          lel_pct: round(Math.min(100, Math.max(0, 1 + this.leak(s.id, t1) + 0.5 * gaussian(this.rng))), 1),
        }
      case 'dust': {
        const [temp, dp] = this.drift(s.id, t1, 35, 900)
        return {
          collector_temp_c: round(temp + 0.5 * gaussian(this.rng), 1),
          diff_pressure_pa: round(Math.max(0, dp + 30 * gaussian(this.rng)), 0),
        }
      }
      case 'seismic':
        throw new Error('seismic sensors send batches (Simulation.batches), not interval readings')
      case 'twin':
        throw new Error('a twin reports its original’s values (Simulation.step), it has no model of its own')
    }
  }
}
