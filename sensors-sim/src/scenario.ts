/**
 * Scenario files (YAML, validated): which sensors report, with which signal model, and a timeline
 * of events in scenario time. Event time stays exact under acceleration: a reading's `ts` is the
 * scenario start plus simulated time, never the wall clock.
 */
import { z } from 'zod'
import { Duration, parseYaml, type Parsed } from '../../rules/src/index.js'

const Id = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/)

const RiverParams = z.strictObject({
  /** Stage with no storm runoff, m. */
  base_m: z.number(),
  /** Rain sensors whose rain drains to this gauge. */
  upstream: z.array(Id).min(1),
  /** Share of rain that becomes runoff. */
  runoff_coefficient: z.number().min(0).max(1).default(0.5),
  /** Linear-reservoir time constant: how slowly the catchment drains. */
  recession: Duration.default('3h'),
  /** Stage rise per mm of runoff held in the catchment. */
  m_per_mm: z.number().positive(),
  noise_m: z.number().nonnegative().default(0.005),
})

const Sensor = z.discriminatedUnion('model', [
  z.strictObject({ id: Id, kind: z.literal('rain'), model: z.literal('rain') }),
  z.strictObject({ id: Id, kind: z.literal('water_level'), model: z.literal('river'), params: RiverParams }),
  z.strictObject({ id: Id, kind: z.literal('weather'), model: z.literal('weather') }),
  z.strictObject({ id: Id, kind: z.literal('gas'), model: z.literal('gas') }),
  z.strictObject({ id: Id, kind: z.literal('dust'), model: z.literal('dust') }),
  /** A strong-motion station: 100 Hz three-component batches during earthquakes. */
  z.strictObject({
    id: Id,
    kind: z.literal('seismic'),
    model: z.literal('seismic'),
    params: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }),
  }),
])
export type ScenarioSensor = z.infer<typeof Sensor>

const RainEvent = z.strictObject({
  at: Duration,
  type: z.literal('rain'),
  /** Rain or weather sensors under the storm cell. */
  sensors: z.array(Id).min(1),
  rate_mm_h: z.number().positive().max(300),
  for: Duration,
})

/** An earthquake: P and S arrive at each listed station by distance, shaking it to its intensity. */
const QuakeEvent = z.strictObject({
  at: Duration,
  type: z.literal('earthquake'),
  epicentre: z.strictObject({ lat: z.number().min(-90).max(90), lon: z.number().min(-180).max(180) }),
  depth_km: z.number().min(0).max(700).default(10),
  /** GB/T 17742 intensity the shaking reaches at each seismic sensor. */
  intensity: z.record(Id, z.number().min(1).max(12)),
  /** How long the strong shaking lasts. */
  duration: Duration.default('10s'),
})

/**
 * Equipment faults on purpose: a sensor that falls silent (dropout), repeats its last values
 * (stuck), or reports one wild value (spike, the first reading of the window times `factor`).
 */
const FaultEvent = z.strictObject({
  at: Duration,
  type: z.literal('fault'),
  fault: z.enum(['dropout', 'stuck', 'spike']),
  sensors: z.array(Id).min(1),
  for: Duration,
  factor: z.number().default(10),
})

/**
 * A gas leak at detectors: the concentration ramps to `peak_lel` over `ramp`, holds, and decays
 * with time constant `decay` after `for` (the leak stopped).
 */
const LeakEvent = z.strictObject({
  at: Duration,
  type: z.literal('leak'),
  sensors: z.array(Id).min(1),
  peak_lel: z.number().min(0).max(100),
  ramp: Duration.default('5m'),
  for: Duration,
  decay: Duration.default('10m'),
})

/** A dust collector drifting toward a fault: hopper temperature and ΔP move linearly to the targets. */
const DriftEvent = z.strictObject({
  at: Duration,
  type: z.literal('drift'),
  sensors: z.array(Id).min(1),
  for: Duration,
  temp_to_c: z.number(),
  dp_to_pa: z.number().min(0),
})

const Event = z.discriminatedUnion('type', [RainEvent, QuakeEvent, FaultEvent, LeakEvent, DriftEvent])
export type ScenarioEvent = z.infer<typeof Event>

export const Scenario = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9-]+$/),
    description: z.string(),
    /** Event time of t = 0 (ISO-8601); omitted means the moment the run starts. */
    start: z.iso.datetime({ offset: true }).optional(),
    duration: Duration,
    /** Scenario seconds per wall-clock second. */
    speed: z.number().positive().max(1_000_000),
    /** Reporting interval of every sensor, in scenario time. */
    interval: Duration,
    seed: z.number().int().default(1),
    sensors: z.array(Sensor).min(1),
    events: z.array(Event).default([]),
  })
  .superRefine((s, ctx) => {
    const ids = new Map(s.sensors.map((x) => [x.id, x.kind]))
    if (ids.size !== s.sensors.length)
      ctx.addIssue({ code: 'custom', path: ['sensors'], message: 'sensor ids must be unique' })
    s.sensors.forEach((x, i) => {
      if (x.model !== 'river') return
      x.params.upstream.forEach((u, j) => {
        if (ids.get(u) !== 'rain' && ids.get(u) !== 'weather')
          ctx.addIssue({
            code: 'custom',
            path: ['sensors', i, 'params', 'upstream', j],
            message: `${u} is not a rain or weather sensor of this scenario`,
          })
      })
    })
    s.events.forEach((e, i) => {
      if (e.type === 'earthquake') {
        for (const id of Object.keys(e.intensity))
          if (ids.get(id) !== 'seismic')
            ctx.addIssue({
              code: 'custom',
              path: ['events', i, 'intensity', id],
              message: `${id} is not a seismic sensor of this scenario`,
            })
        return
      }
      e.sensors.forEach((id, j) => {
        if (e.type === 'leak' || e.type === 'drift') {
          const want = e.type === 'leak' ? 'gas' : 'dust'
          if (ids.get(id) !== want)
            ctx.addIssue({
              code: 'custom',
              path: ['events', i, 'sensors', j],
              message: `${id} is not a ${want} sensor of this scenario`,
            })
          return
        }
        if (e.type === 'fault') {
          if (!ids.has(id))
            ctx.addIssue({
              code: 'custom',
              path: ['events', i, 'sensors', j],
              message: `${id} is not a sensor of this scenario`,
            })
          return
        }
        if (ids.get(id) !== 'rain' && ids.get(id) !== 'weather')
          ctx.addIssue({
            code: 'custom',
            path: ['events', i, 'sensors', j],
            message: `${id} is not a rain or weather sensor of this scenario`,
          })
      })
    })
  })
export type Scenario = z.infer<typeof Scenario>

export function loadScenario(text: string, file: string): Parsed<Scenario> {
  return parseYaml(text, file, Scenario)
}
