import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { parse } from 'yaml'
import { formatFileIssue } from '../../../rules/src/index.js'
import { mulberry32 } from '../../../sensors-sim/src/prng.js'
import { loadScenario, Scenario } from '../../../sensors-sim/src/scenario.js'
import { endsNow } from '../../../sensors-sim/src/sensors.js'
import { Simulation } from '../../../sensors-sim/src/signals.js'

const DEMO = join(import.meta.dirname, '../../../sensors-sim/scenarios/demo-flood.yaml')
const T0 = Date.UTC(2026, 6, 15)
const H = 3_600_000

/** The scenario document, validated; a test fails with the issues if it is not valid. */
function valid(doc: unknown): Scenario {
  const r = Scenario.safeParse(doc)
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'))
  return r.data
}

function demo() {
  const loaded = loadScenario(readFileSync(DEMO, 'utf8'), DEMO)
  if (!loaded.ok) throw new Error(loaded.error.map(formatFileIssue).join('\n'))
  return loaded.value
}

describe('scenario files', () => {
  test('errors carry file, line and path', () => {
    const text = [
      'name: bad',
      'description: d',
      'duration: 2 hours',
      'speed: 10',
      'interval: 10m',
      'sensors:',
      '  - { id: wl-1, kind: water_level, model: river, params: { base_m: 1, upstream: [nope], m_per_mm: 0.1 } }',
      'events:',
      '  - { at: 1h, type: rain, sensors: [wl-1], rate_mm_h: 10, for: 1h }',
      '',
    ].join('\n')
    const loaded = loadScenario(text, 's.yaml')
    expect(!loaded.ok && loaded.error.map(formatFileIssue)).toEqual([
      's.yaml:3: duration: expected a duration like 30s, 10m, 3h, 1d',
      's.yaml:7: sensors.0.params.upstream.0: nope is not a rain or weather sensor of this scenario',
      's.yaml:9: events.0.sensors.0: wl-1 is not a rain or weather sensor of this scenario',
    ])
  })

  test('the shipped demo scenario validates', () => {
    expect(demo().name).toBe('demo-flood')
  })

  test('every shipped scenario validates and plays only sensors its registry registers, as their kind; RTUs as mapped', () => {
    type Registry = {
      stations: {
        sensors: { id: string; kind: string }[]
        sl651?: { address: string; elements: { element: string; sensor: string; quantity: string }[] }
      }[]
    }
    const read = (file: string) =>
      parse(readFileSync(join(import.meta.dirname, '../../../gateway/config', file), 'utf8')) as Registry
    // The demo county, but for scenarios played with an example configuration of their own.
    const registryOf: Record<string, string> = { 'sl651-river.yaml': 'examples/sl651/registry.yaml' }
    const dir = join(import.meta.dirname, '../../../sensors-sim/scenarios')
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
    expect(files.length).toBeGreaterThanOrEqual(9)
    for (const f of files) {
      const registry = read(registryOf[f] ?? 'demo/county.yaml')
      const registered = new Map(
        registry.stations.flatMap((st) => st.sensors.map((x) => [x.id, x.kind] as const)),
      )
      const loaded = loadScenario(readFileSync(join(dir, f), 'utf8'), f)
      if (!loaded.ok) throw new Error(loaded.error.map(formatFileIssue).join('\n'))
      expect(loaded.value.name).toBe(f.replace(/\.yaml$/, ''))
      for (const x of loaded.value.sensors) expect([f, x.id, registered.get(x.id)]).toEqual([f, x.id, x.kind])
      // An RTU's elements are the registry's mapping of its station turned round.
      for (const rtu of loaded.value.rtus) {
        const station = registry.stations.find((st) => st.sl651?.address === rtu.address)
        const mapped = new Map(station?.sl651?.elements.map((e) => [e.element, [e.sensor, e.quantity]]))
        for (const [element, m] of Object.entries(rtu.elements))
          expect([f, element, mapped.get(element)]).toEqual([f, element, [m.sensor, m.quantity]])
      }
    }
  })
})

describe('signal models', () => {
  test('the PRNG is deterministic per seed', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const xs = Array.from({ length: 5 }, () => a())
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs)
    expect(mulberry32(43)()).not.toBe(xs[0])
  })

  test('the demo storm makes the river rise through every reference level and recede', () => {
    const sim = new Simulation(demo(), T0)
    const stage: [number, number][] = []
    const rain: [number, number][] = []
    for (let i = 0; i < sim.steps; i++)
      for (const r of sim.step()) {
        if (r.sensorId === 'wl-lw-01') stage.push([r.ts, r.values.stage_m!])
        if (r.sensorId === 'rg-lw-01') rain.push([r.ts, r.values.rain_mm!])
      }
    const peak = Math.max(...stage.map(([, v]) => v))
    expect(peak).toBeGreaterThan(35.2)
    expect(peak).toBeLessThan(36.5)
    // Crosses approach, warning, guaranteed and historical-maximum levels in that order on the way up.
    const firstAbove = (level: number) => stage.find(([, v]) => v >= level)![0]
    const crossings = [32.0, 32.5, 34.0, 35.2].map(firstAbove)
    expect([...crossings].sort((a, b) => a - b)).toEqual(crossings)
    expect(stage.at(-1)![1]).toBeLessThan(31.5)
    // The river must fall below the approach level long enough before the end for the lift.
    const lastAbove = stage.filter(([, v]) => v >= 32.0).at(-1)![0]
    expect(T0 + 18 * H - lastAbove).toBeGreaterThan(2 * H)
    // Rain: the 3 h sum passes 100 mm (CMA red) at some point; the total is about 138 mm.
    const sum3h = rain.map(([t]) =>
      rain.filter(([u]) => u > t - 3 * H && u <= t).reduce((a, [, v]) => a + v, 0),
    )
    expect(Math.max(...sum3h)).toBeGreaterThanOrEqual(100)
    expect(rain.reduce((a, [, v]) => a + v, 0)).toBeCloseTo(138, -1)
  })

  test('readings are stamped with exact event time: start + step × interval', () => {
    const sim = new Simulation(demo(), T0)
    sim.step()
    const second = sim.step()
    expect(new Set(second.map((r) => r.ts))).toEqual(new Set([T0 + 20 * 60_000]))
    expect(second.every((r) => r.seq === 2)).toBe(true)
  })

  test('a storm cell gives a gauge on its track peak × radius / speed of rain, and none beyond its reach', () => {
    // Due north–south track, 60 km in 6 h (10 km/h), radius 10 km, 40 mm/h under the core: a gauge
    // on the track sees the whole cos² profile pass, 40 × 10 / 10 = 40 mm; one 10 km off sees none.
    const value = valid({
      name: 'cell',
      description: 'one cell',
      duration: '8h',
      speed: 1,
      interval: '5m',
      sensors: [
        { id: 'on', kind: 'rain', model: 'rain', lat: 30.0, lon: 103.0 },
        {
          id: 'edge',
          kind: 'rain',
          model: 'rain',
          lat: 30.0,
          lon: 103.0 + 10.5 / (111.2 * Math.cos(Math.PI / 6)),
        },
      ],
      events: [
        {
          at: '1h',
          type: 'storm',
          from: { lat: 30.0 + 30 / 111.2, lon: 103.0 },
          to: { lat: 30.0 - 30 / 111.2, lon: 103.0 },
          radius_km: 10,
          rate_mm_h: 40,
          for: '6h',
        },
      ],
    })
    const sim = new Simulation(value, T0)
    expect(sim.rainBetween('on', 0, 8 * H)).toBeCloseTo(40, 0)
    expect(sim.rainBetween('edge', 0, 8 * H)).toBe(0)
    // The core passes the gauge at 4 h (half-way): the rate peaks there.
    expect(sim.rainRate('on', 4 * H)).toBeCloseTo(40, 0)
    expect(sim.rainRate('on', 3.5 * H)).toBeLessThan(40)
  })

  test('a reservoir keeps its water balance: runoff in, release and spillway out', () => {
    const reservoir = (level: number, release: number, rain: number) =>
      valid({
        name: 'res',
        description: 'water balance',
        duration: '48h',
        speed: 1,
        interval: '1h',
        sensors: [
          { id: 'g', kind: 'rain', model: 'rain' },
          {
            id: 'r',
            kind: 'water_level',
            model: 'reservoir',
            params: {
              level_m: level,
              upstream: ['g'],
              catchment_km2: 100,
              runoff_coefficient: 0.5,
              recession: '2h',
              area_km2: 2,
              crest_m: 100,
              spillway_width_m: 20,
              release_m3s: release,
              noise_m: 0,
            },
          },
        ],
        events: rain > 0 ? [{ at: '1h', type: 'rain', sensors: ['g'], rate_mm_h: rain, for: '2h' }] : [],
      })
    const levels = (sc: Scenario) => {
      const sim = new Simulation(sc, T0)
      return Array.from(
        { length: sim.steps },
        () => sim.step().find((r) => r.sensorId === 'r')!.values.stage_m!,
      )
    }
    // 40 mm on 100 km² at 0.5 runoff is 2 million m³: on 2 km², a metre, all of it in after 48 h.
    expect(levels(reservoir(90, 0, 20)).at(-1)).toBeCloseTo(91, 2)
    // A steady release of 10 m³/s for 48 h takes 1.728 million m³: 0.864 m.
    expect(levels(reservoir(90, 10, 0)).at(-1)).toBeCloseTo(90 - 0.864, 2)
    // Above the crest the spillway drains toward it, ever more slowly as the head falls.
    const spill = levels(reservoir(101, 0, 0))
    expect(spill.at(-1)).toBeGreaterThan(100)
    expect(spill.at(-1)).toBeLessThan(100.2)
    expect(spill[0]! - spill[1]!).toBeGreaterThan(spill.at(-2)! - spill.at(-1)!)
  })

  test('battery reports fall linearly to the target and stay; a clock fault shifts event time', () => {
    const value = valid({
      name: 'dev',
      description: 'device faults',
      duration: '4h',
      speed: 1,
      interval: '1h',
      sensors: [{ id: 'g', kind: 'gas', model: 'gas' }],
      events: [
        {
          at: '0h',
          type: 'fault',
          fault: 'battery',
          sensors: ['g'],
          for: '2h',
          from_pct: 50,
          to_pct: 10,
          every: '1h',
        },
        { at: '1h', type: 'fault', fault: 'clock', sensors: ['g'], for: '2h', behind: '30m' },
      ],
    })
    const sim = new Simulation(value, T0)
    expect(sim.statuses(-1, 4 * H).map((st) => [st.ts - T0, st.battery])).toEqual([
      [0, 50],
      [H, 30],
      [2 * H, 10],
      [3 * H, 10],
      [4 * H, 10],
    ])
    const ts = Array.from({ length: 4 }, () => sim.step()[0]!.ts - T0)
    expect(ts).toEqual([H, 2 * H - 30 * 60_000, 3 * H - 30 * 60_000, 4 * H])
  })
})

describe('start of a scenario without one', () => {
  test('sped up, it ends at the present; at real speed or slower it starts now', () => {
    const now = Date.UTC(2026, 10, 25, 12)
    const eighteen = demo() // 18 h
    expect(endsNow(eighteen, 540, now)).toBe(now + (18 * H) / 540 - 18 * H)
    expect(endsNow(eighteen, 1, now)).toBe(now)
    expect(endsNow(eighteen, 0.5, now)).toBe(now)
  })
})

describe('scenario validation', () => {
  const base = {
    name: 'v',
    description: 'validation',
    duration: '1h',
    speed: 1,
    interval: '10m',
  }
  const issues = (doc: unknown) => {
    const r = Scenario.safeParse(doc)
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)
  }

  test('a storm needs every rain and weather sensor located', () => {
    expect(
      issues({
        ...base,
        sensors: [
          { id: 'a', kind: 'rain', model: 'rain', lat: 30, lon: 103 },
          { id: 'b', kind: 'weather', model: 'weather' },
        ],
        events: [
          {
            at: '0h',
            type: 'storm',
            from: { lat: 30, lon: 103 },
            to: { lat: 29, lon: 103 },
            radius_km: 5,
            rate_mm_h: 20,
            for: '1h',
          },
        ],
      }),
    ).toEqual(['sensors.1: b needs lat and lon: a storm cell moves over the county'])
  })

  test('a fleet stands for count sensors on a grid over its area; events may name its members', () => {
    const s = valid({
      ...base,
      fleets: [
        { id: 'rg-{n}', count: 12, model: 'rain', area: { south: 29, west: 102, north: 30, east: 103 } },
      ],
      events: [{ at: '0h', type: 'outage', sensors: ['rg-07'], for: '1h' }],
    })
    expect(s.sensors.map((x) => x.id)).toEqual(
      Array.from({ length: 12 }, (_, i) => `rg-${String(i + 1).padStart(2, '0')}`),
    )
    // 12 on a 4 × 3 grid, cell centres inside the box.
    const first = s.sensors[0]! as { lat: number; lon: number }
    const last = s.sensors[11]! as { lat: number; lon: number }
    expect([first.lat, first.lon]).toEqual([29 + 1 / 6, 102.125])
    expect([last.lat, last.lon]).toEqual([30 - 1 / 6, 102.875])
    expect(
      issues({
        ...base,
        fleets: [{ id: 'gas', count: 3, model: 'gas' }],
      }),
    ).toEqual(['fleets.0.id: a fleet id holds {n}, e.g. rg-{n}'])
  })

  test('a clock fault is ahead or behind, not both; outages and reconnect storms name known sensors', () => {
    expect(
      issues({
        ...base,
        sensors: [{ id: 'a', kind: 'rain', model: 'rain' }],
        events: [
          { at: '0h', type: 'fault', fault: 'clock', sensors: ['a'], for: '1h', ahead: '8h', behind: '1h' },
          { at: '0h', type: 'outage', sensors: ['zz'], for: '1h' },
          { at: '0h', type: 'reconnect_storm', sensors: ['a', 'yy'] },
          { at: '0h', type: 'reconnect_storm', sensors: 'all' },
        ],
      }),
    ).toEqual([
      'events.0: a clock fault is either ahead or behind',
      'events.1.sensors.0: zz is not a sensor of this scenario',
      'events.2.sensors.1: yy is not a sensor of this scenario',
    ])
  })

  test('a battery fault needs its target charge', () => {
    expect(
      issues({
        ...base,
        sensors: [{ id: 'a', kind: 'rain', model: 'rain' }],
        events: [{ at: '0h', type: 'fault', fault: 'battery', sensors: ['a'], for: '1h' }],
      }),
    ).toEqual(['events.0.to_pct: Invalid input: expected number, received undefined'])
  })

  test('a twin names an original of its kind; RTUs map known elements of scenario sensors, each carried once', () => {
    const rtu = { address: '0061234567', password: '1234' }
    expect(
      issues({
        ...base,
        interval: '10m',
        sensors: [
          { id: 'a', kind: 'rain', model: 'rain' },
          { id: 't1', kind: 'rain', model: 'twin', of: 'nope' },
          { id: 't2', kind: 'water_level', model: 'twin', of: 'a' },
          { id: 't3', kind: 'rain', model: 'twin', of: 't4' },
          { id: 't4', kind: 'rain', model: 'twin', of: 'a' },
        ],
        rtus: [
          {
            ...rtu,
            elements: { PJ: { sensor: 'a', quantity: 'rain_mm' }, XX: { sensor: 'a', quantity: 'x' } },
          },
          {
            ...rtu,
            address: '00612345ZZ',
            elements: { DRP: { sensor: 'a', quantity: 'rain_mm' }, Z: { sensor: 'zz', quantity: 'stage_m' } },
          },
          { ...rtu, elements: { PJ: { sensor: 't4', quantity: 'rain_mm' } } },
        ],
      }),
    ).toEqual([
      'rtus.1.address: expected the 10 hex digits of the 5-byte station address',
      'sensors.1.of: nope is not a sensor of this scenario',
      'sensors.2.kind: a is a rain sensor: its twin is one too',
      'sensors.3.of: t4 is a twin itself: twin its original',
      'rtus.0.elements.XX: XX is not an SL 651-2014 element with values (table C.1: Z, ZU, PJ, PT, DRP, DRZ1, Q, VT…)',
      'rtus.1.elements.DRP: DRP is a 5-minute series of the hour: only an hourly RTU (function: hourly) sends it',
      'rtus.1.elements.DRP.sensor: a is carried by RTU 0061234567 already',
      'rtus.1.elements.Z.sensor: zz is not a sensor of this scenario',
      "rtus.2.address: address 0061234567 is another RTU's too",
    ])
    // Checked once the addresses are valid: series need an hourly RTU, sensors are carried once.
    expect(
      issues({
        ...base,
        sensors: [{ id: 'a', kind: 'rain', model: 'rain' }],
        rtus: [
          {
            ...rtu,
            elements: { DRP: { sensor: 'a', quantity: 'rain_mm' }, Z: { sensor: 'zz', quantity: 'stage_m' } },
          },
          {
            ...rtu,
            address: '0061234568',
            function: 'hourly',
            elements: { PJ: { sensor: 'a', quantity: 'rain_mm' } },
          },
        ],
      }),
    ).toEqual([
      'rtus.0.elements.DRP: DRP is a 5-minute series of the hour: only an hourly RTU (function: hourly) sends it',
      'rtus.0.elements.Z.sensor: zz is not a sensor of this scenario',
      'rtus.1.elements.PJ.sensor: a is carried by RTU 0061234567 already',
    ])
  })

  test('a twin reports its original’s values and draws nothing from the seed; its own faults stay its own', () => {
    const sensors = [
      { id: 'r', kind: 'rain', model: 'rain' },
      {
        id: 'w',
        kind: 'water_level',
        model: 'river',
        params: { base_m: 30, upstream: ['r'], m_per_mm: 0.1 },
      },
    ]
    const events = [{ at: '0h', type: 'rain', sensors: ['r'], rate_mm_h: 20, for: '3h' }]
    const doc = { ...base, duration: '6h', seed: 7, sensors, events }
    const twinned = {
      ...doc,
      sensors: [
        { id: 'tw', kind: 'water_level', model: 'twin', of: 'w' },
        ...sensors,
        { id: 'tr', kind: 'rain', model: 'twin', of: 'r' },
      ],
      events: [...events, { at: '2h', type: 'fault', fault: 'dropout', sensors: ['tr'], for: '1h' }],
    }
    const play = (d: unknown) => {
      const sim = new Simulation(valid(d), T0)
      return Array.from({ length: sim.steps }, () => sim.step()).flat()
    }
    const plain = play(doc)
    const both = play(twinned)
    const of = (rs: typeof plain, id: string) =>
      rs.filter((r) => r.sensorId === id).map((r) => [r.ts, r.values])
    // The originals are what they were without twins, and each twin is its original.
    expect(of(both, 'w')).toEqual(of(plain, 'w'))
    expect(of(both, 'r')).toEqual(of(plain, 'r'))
    expect(of(both, 'tw')).toEqual(of(plain, 'w'))
    expect(of(plain, 'w').some(([, v]) => (v as { stage_m: number }).stage_m > 31)).toBe(true)
    // The twin's dropout silences the twin only.
    const dropped = of(both, 'r').filter(
      ([ts]) => (ts as number) <= T0 + 2 * H || (ts as number) > T0 + 3 * H,
    )
    expect(of(both, 'tr')).toEqual(dropped)
  })
})
