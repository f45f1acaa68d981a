/**
 * Scenario files (YAML, validated): which sensors report, with which signal model, and a timeline
 * of events in scenario time. Event time stays exact under acceleration: a reading's `ts` is the
 * scenario start plus simulated time, never the wall clock.
 */
import { Sl651Address, Sl651Password } from '../../gateway/src/contracts/sl651/schema.js'
import { z } from 'zod'
import { elementById } from '../../gateway/src/contracts/sl651/elements.js'
import { Duration, durationMs, parseYaml, type Parsed } from '../../rules/src/index.js'

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

/**
 * A reservoir behind a dam: its catchment's runoff (routed like a river's) flows in; water leaves by
 * a steady release and, above the crest, over an ungated spillway (weir: Q = 1.7 · width · head^1.5).
 * The level follows the water balance over a constant surface area.
 */
const ReservoirParams = z.strictObject({
  /** Level at the start, m. */
  level_m: z.number(),
  /** Rain sensors over its catchment. */
  upstream: z.array(Id).min(1),
  catchment_km2: z.number().positive(),
  runoff_coefficient: z.number().min(0).max(1).default(0.5),
  recession: Duration.default('3h'),
  /** Water surface area, km² (taken as constant over the range of levels played). */
  area_km2: z.number().positive(),
  /** Spillway crest level, m. */
  crest_m: z.number(),
  spillway_width_m: z.number().positive(),
  /** Steady release (turbines, irrigation, ecological flow), m³/s. */
  release_m3s: z.number().nonnegative().default(0),
  noise_m: z.number().nonnegative().default(0.005),
})

const Lat = z.number().min(-90).max(90)
const Lon = z.number().min(-180).max(180)
const Point = z.strictObject({ lat: Lat, lon: Lon })

/** Where a rain or weather sensor stands: needed for storm cells that move over the county. */
const Located = { lat: Lat.optional(), lon: Lon.optional() }

const Sensor = z.discriminatedUnion('model', [
  z.strictObject({ id: Id, kind: z.literal('rain'), model: z.literal('rain'), ...Located }),
  z.strictObject({ id: Id, kind: z.literal('water_level'), model: z.literal('river'), params: RiverParams }),
  z.strictObject({
    id: Id,
    kind: z.literal('water_level'),
    model: z.literal('reservoir'),
    params: ReservoirParams,
  }),
  z.strictObject({ id: Id, kind: z.literal('weather'), model: z.literal('weather'), ...Located }),
  z.strictObject({ id: Id, kind: z.literal('gas'), model: z.literal('gas') }),
  z.strictObject({ id: Id, kind: z.literal('dust'), model: z.literal('dust') }),
  /** A strong-motion station: 100 Hz three-component batches during earthquakes. */
  z.strictObject({
    id: Id,
    kind: z.literal('seismic'),
    model: z.literal('seismic'),
    params: Point,
  }),
  /**
   * A second device reporting exactly what sensor `of` measures (its values, drawn once from the
   * seed): a twin over another protocol, a redundant gauge. It draws nothing from the seed itself,
   * so adding one changes no other sensor's values; its own faults and outages are its own.
   */
  z.strictObject({
    id: Id,
    kind: z.enum(['rain', 'water_level', 'weather', 'gas', 'dust']),
    model: z.literal('twin'),
    of: Id,
  }),
])
export type ScenarioSensor = z.infer<typeof Sensor>

/**
 * Many sensors of one model at once, for county- and province-scale runs: `id` holds `{n}`, which
 * becomes 1…count zero-padded (`rg-{n}` with count 10000: rg-00001 … rg-10000). With `area`, the
 * sensors stand on an even grid over that box, so storm cells reach them by where they are.
 */
const Fleet = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{0,40}\{n\}[A-Za-z0-9_.:-]{0,16}$/, 'a fleet id holds {n}, e.g. rg-{n}'),
  count: z.number().int().min(1).max(1_000_000),
  model: z.enum(['rain', 'weather', 'gas', 'dust']),
  area: z
    .strictObject({ south: Lat, west: Lon, north: Lat, east: Lon })
    .refine((a) => a.south < a.north && a.west < a.east, 'south < north and west < east')
    .optional(),
})
type Fleet = z.infer<typeof Fleet>

/** The sensors a fleet stands for. */
function fleetSensors(f: Fleet): ScenarioSensor[] {
  const width = String(f.count).length
  const cols = Math.ceil(Math.sqrt(f.count))
  const rows = Math.ceil(f.count / cols)
  return Array.from({ length: f.count }, (_, i) => {
    const id = f.id.replace('{n}', String(i + 1).padStart(width, '0'))
    const at =
      f.area && (f.model === 'rain' || f.model === 'weather')
        ? {
            lat: f.area.south + ((Math.floor(i / cols) + 0.5) / rows) * (f.area.north - f.area.south),
            lon: f.area.west + (((i % cols) + 0.5) / cols) * (f.area.east - f.area.west),
          }
        : {}
    return { id, kind: f.model, model: f.model, ...at } as ScenarioSensor
  })
}

const RainEvent = z.strictObject({
  at: Duration,
  type: z.literal('rain'),
  /** Rain or weather sensors under the storm cell. */
  sensors: z.array(Id).min(1),
  rate_mm_h: z.number().positive().max(300),
  for: Duration,
})

/**
 * A convective storm cell moving in a straight line from `from` (at `at`) to `to` (after `for`):
 * rain falls within `radius_km` of its centre, at `rate_mm_h` under the core, tapering to nothing
 * at the edge (cos²). Rain and weather sensors get rain by where they stand (`lat`, `lon`).
 */
const StormEvent = z.strictObject({
  at: Duration,
  type: z.literal('storm'),
  from: Point,
  to: Point,
  radius_km: z.number().positive().max(200),
  rate_mm_h: z.number().positive().max(300),
  for: Duration,
})

/** An earthquake: P and S arrive at each listed station by distance, shaking it to its intensity. */
const QuakeEvent = z.strictObject({
  at: Duration,
  type: z.literal('earthquake'),
  epicentre: Point,
  depth_km: z.number().min(0).max(700).default(10),
  /** GB/T 17742 intensity the shaking reaches at each seismic sensor. */
  intensity: z.record(Id, z.number().min(1).max(12)),
  /** How long the strong shaking lasts. */
  duration: Duration.default('10s'),
})

/**
 * Equipment faults on purpose, over `for`:
 * - dropout: the sensor falls silent (its readings are lost, as when the logger itself fails);
 * - stuck: it repeats its last values;
 * - spike: its first reading of the span is `factor` times the true value;
 * - battery: its battery drains to `to_pct`, reported on its status topic every `every`;
 * - clock: its clock is `ahead` of or `behind` true time (the classic: Beijing time sent as UTC is
 *   8 h ahead), so its readings carry wrong event times.
 */
const FaultEvent = z.discriminatedUnion('fault', [
  z.strictObject({
    at: Duration,
    type: z.literal('fault'),
    fault: z.enum(['dropout', 'stuck', 'spike']),
    sensors: z.array(Id).min(1),
    for: Duration,
    factor: z.number().default(10),
  }),
  z.strictObject({
    at: Duration,
    type: z.literal('fault'),
    fault: z.literal('battery'),
    sensors: z.array(Id).min(1),
    for: Duration,
    from_pct: z.number().min(0).max(100).default(95),
    to_pct: z.number().min(0).max(100),
    every: Duration.default('1h'),
  }),
  z
    .strictObject({
      at: Duration,
      type: z.literal('fault'),
      fault: z.literal('clock'),
      sensors: z.array(Id).min(1),
      for: Duration,
      ahead: Duration.optional(),
      behind: Duration.optional(),
    })
    .refine(
      (e) => (e.ahead === undefined) !== (e.behind === undefined),
      'a clock fault is either ahead or behind',
    ),
])

/**
 * The network between sensors and gateway is cut (a cellular cell down, a fibre cut, a power cut at
 * the tower) for `for`: the sensors lose their connections without a goodbye (their last wills
 * fire). Loggers with storage (`buffer`, the default) keep readings and send the backlog in order
 * when the link returns; without it readings taken during the outage are lost.
 */
const OutageEvent = z.strictObject({
  at: Duration,
  type: z.literal('outage'),
  sensors: z.array(Id).min(1),
  for: Duration,
  buffer: z.boolean().default(true),
})

/**
 * Every listed sensor's connection drops at once and all reconnect together (a broker restart, a
 * cell tower coming back): the gateway must take the stampede and lose no acknowledged reading.
 */
const ReconnectStormEvent = z.strictObject({
  at: Duration,
  type: z.literal('reconnect_storm'),
  sensors: z.union([z.literal('all'), z.array(Id).min(1)]),
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

const Event = z.discriminatedUnion('type', [
  RainEvent,
  StormEvent,
  QuakeEvent,
  FaultEvent,
  LeakEvent,
  DriftEvent,
  OutageEvent,
  ReconnectStormEvent,
])
export type ScenarioEvent = z.infer<typeof Event>

/** One element an RTU reports: which sensor's quantity, less `offset` (a relative stage's 水位基值). */
const RtuElement = z.strictObject({
  sensor: Id,
  quantity: z.string().regex(/^[a-z][a-z0-9_]*$/),
  offset: z.number().default(0),
})

/**
 * An SL 651-2014 telemetry station (遥测站) behind a DTU: the readings of the sensors its elements
 * name go to the gateway over SL 651 (TCP) instead of MQTT. The mapping is the registry's turned
 * round: element identifier (table C.1) → the sensor and quantity it reports.
 */
const Rtu = z.strictObject({
  address: Sl651Address,
  password: Sl651Password,
  encoding: z.enum(['hex', 'ascii']).default('hex'),
  /** 遥测站分类码 (appendix A.1): P 降水, H 河道, K 水库(湖泊), Z 闸坝, D 泵站, T 潮汐, M 墒情, G 地下水… */
  category: z
    .string()
    .regex(/^[A-Z]$/, 'expected the letter of appendix A.1, e.g. H (河道)')
    .default('H'),
  /** 中心站地址. */
  center: z.int().min(1).max(255).default(1),
  /**
   * timed: a 定时报 (32H) every interval with each element's value; hourly: a 小时报 (34H) at each
   * full hour, the 5-minute series (DRP, DRZn) of its twelve intervals and the other elements' last values.
   */
  function: z.enum(['timed', 'hourly']).default('timed'),
  elements: z
    .record(z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,5}$/, 'an element identifier of table C.1'), RtuElement)
    .refine((e) => Object.keys(e).length > 0, 'an RTU reports at least one element'),
  /** Wait for the centre's confirmation before sending the same frame again (at most twice). */
  confirm_timeout: Duration.default('10s'),
  /** Keep-alive (2FH) this often while idle; omitted, none. */
  keep_alive: Duration.optional(),
  /** Bodies longer than this many bytes go as several packets (M3). */
  packet_limit: z.int().min(16).max(4095).optional(),
  /** The RTU's clock runs this far behind (its send times, 发报时间, are late by it). */
  clock_behind: Duration.optional(),
})
export type ScenarioRtu = z.infer<typeof Rtu>

export const Scenario = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9-]+$/),
    description: z.string(),
    /**
     * Event time of t = 0 (ISO-8601); omitted, the run is placed to end at the present (event time
     * catching up with the wall clock), so no reading is stamped in the future.
     */
    start: z.iso.datetime({ offset: true }).optional(),
    duration: Duration,
    /** Scenario seconds per wall-clock second. */
    speed: z.number().positive().max(1_000_000),
    /** Reporting interval of every sensor, in scenario time. */
    interval: Duration,
    seed: z.number().int().default(1),
    sensors: z.array(Sensor).default([]),
    fleets: z.array(Fleet).default([]),
    events: z.array(Event).default([]),
    /** SL 651 telemetry stations carrying some of the sensors (the rest report over MQTT). */
    rtus: z.array(Rtu).default([]),
  })
  .superRefine((file, ctx) => {
    // Checked with the fleets expanded, so events may name fleet members; reported on the file's paths.
    // (A fleet id without {n} is reported by its schema; expanding it would only add duplicates.)
    const fleets = file.fleets.filter((f) => f.id.includes('{n}'))
    const s = { ...file, sensors: [...file.sensors, ...fleets.flatMap(fleetSensors)] }
    if (file.sensors.length === 0 && file.fleets.length === 0)
      ctx.addIssue({ code: 'custom', path: ['sensors'], message: 'a scenario needs sensors (or fleets)' })
    const ids = new Map(s.sensors.map((x) => [x.id, x.kind]))
    if (ids.size !== s.sensors.length)
      ctx.addIssue({ code: 'custom', path: ['sensors'], message: 'sensor ids must be unique' })
    s.sensors.forEach((x, i) => {
      if (x.model !== 'river' && x.model !== 'reservoir') return
      x.params.upstream.forEach((u, j) => {
        if (ids.get(u) !== 'rain' && ids.get(u) !== 'weather')
          ctx.addIssue({
            code: 'custom',
            path: ['sensors', i, 'params', 'upstream', j],
            message: `${u} is not a rain or weather sensor of this scenario`,
          })
      })
    })
    const sensorIssue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message })
    s.sensors.forEach((x, i) => {
      if (x.model !== 'twin') return
      const of = s.sensors.find((y) => y.id === x.of)
      if (!of) sensorIssue(['sensors', i, 'of'], `${x.of} is not a sensor of this scenario`)
      else if (of.model === 'twin' || of.model === 'seismic')
        sensorIssue(
          ['sensors', i, 'of'],
          `${x.of} is ${of.model === 'twin' ? 'a twin itself' : 'seismic'}: twin its original`,
        )
      else if (of.kind !== x.kind)
        sensorIssue(['sensors', i, 'kind'], `${x.of} is a ${of.kind} sensor: its twin is one too`)
    })
    rtuIssues(file.rtus, s.sensors, durationMs(file.interval), sensorIssue)
    s.events.forEach((e, i) => {
      switch (e.type) {
        case 'earthquake':
          for (const id of Object.keys(e.intensity))
            if (ids.get(id) !== 'seismic')
              sensorIssue(['events', i, 'intensity', id], `${id} is not a seismic sensor of this scenario`)
          return
        case 'storm':
          file.sensors.forEach((x, j) => {
            if ((x.model === 'rain' || x.model === 'weather') && (x.lat === undefined || x.lon === undefined))
              sensorIssue(['sensors', j], `${x.id} needs lat and lon: a storm cell moves over the county`)
          })
          file.fleets.forEach((f, j) => {
            if ((f.model === 'rain' || f.model === 'weather') && f.area === undefined)
              sensorIssue(['fleets', j], `${f.id} needs an area: a storm cell moves over the county`)
          })
          return
      }
      const listed = e.sensors
      if (listed === 'all') return
      const want =
        e.type === 'leak'
          ? 'gas'
          : e.type === 'drift'
            ? 'dust'
            : e.type === 'rain'
              ? 'rain or weather'
              : undefined
      listed.forEach((id, j) => {
        const kind = ids.get(id)
        const ok =
          want === undefined
            ? kind !== undefined
            : want === 'rain or weather'
              ? kind === 'rain' || kind === 'weather'
              : kind === want
        if (!ok)
          sensorIssue(
            ['events', i, 'sensors', j],
            `${id} is not a ${want ? `${want} ` : ''}sensor of this scenario`,
          )
      })
    })
  })
  .transform((s) => ({ ...s, sensors: [...s.sensors, ...s.fleets.flatMap(fleetSensors)] }))
export type Scenario = z.infer<typeof Scenario>

/** Addresses unique, elements of table C.1 that carry values, sensors of the scenario each carried once. */
function rtuIssues(
  rtus: readonly ScenarioRtu[],
  sensors: readonly ScenarioSensor[],
  intervalMs: number,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const addresses = new Set<string>()
  const carried = new Map<string, string>()
  rtus.forEach((r, i) => {
    if (addresses.has(r.address)) issue(['rtus', i, 'address'], `address ${r.address} is another RTU's too`)
    addresses.add(r.address)
    for (const [id, m] of Object.entries(r.elements)) {
      const at = ['rtus', i, 'elements', id]
      const e = elementById(id)
      if (!e || e.form === 'raw' || e.form === 'step' || e.form === 'bits')
        issue(
          at,
          `${id} is not an SL 651-2014 element with values (table C.1: Z, ZU, PJ, PT, DRP, DRZ1, Q, VT…)`,
        )
      else if ((e.form === 'rain5min' || e.form === 'stage5min') && r.function !== 'hourly')
        issue(at, `${id} is a 5-minute series of the hour: only an hourly RTU (function: hourly) sends it`)
      else if ((e.form === 'rain5min' || e.form === 'stage5min') && intervalMs !== 300_000)
        issue(at, `${id} holds a value per 5 minutes: the scenario's interval must be 5m`)
      const sensor = sensors.find((x) => x.id === m.sensor)
      if (!sensor) issue([...at, 'sensor'], `${m.sensor} is not a sensor of this scenario`)
      else if (sensor.model === 'seismic')
        issue([...at, 'sensor'], `${m.sensor} is seismic: no RTU element carries it`)
      const other = carried.get(m.sensor)
      if (other !== undefined && other !== r.address)
        issue([...at, 'sensor'], `${m.sensor} is carried by RTU ${other} already`)
      carried.set(m.sensor, r.address)
    }
  })
}

export function loadScenario(text: string, file: string): Parsed<Scenario> {
  return parseYaml(text, file, Scenario)
}
