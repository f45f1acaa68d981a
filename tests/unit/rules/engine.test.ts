import { describe, expect, test } from 'vitest'
import { Catalogue, RulesEngine, type Transition } from '../../../rules/src/index.js'
import { SlidingWindow } from '../../../rules/src/window.js'
import { H, M, shippedCatalogues, T0 } from '../../helpers/catalog.js'
import { prng } from '../../helpers/wait.js'

const RIVER = {
  warning_level: 32.5,
  guaranteed_level: 34.0,
  historical_max_level: 35.2,
  approach_offset_m: -0.5,
}

function engine(params: Record<string, number> = RIVER) {
  return new RulesEngine(shippedCatalogues(), () => ({ params }))
}

/** Feeds a stage series (one reading every `step`) and returns the transitions in order. */
function stageSeries(e: RulesEngine, values: number[], step = 10 * M, start = T0): Transition[] {
  return values.flatMap(
    (v, i) =>
      e.evaluate({ stationId: 'WL', kind: 'water_level', ts: start + i * step, values: { stage_m: v } })
        .transitions,
  )
}

/** Hourly rain amounts → transitions of the rainstorm rule. */
function rainSeries(e: RulesEngine, perHour: number[], start = T0): Transition[] {
  return perHour.flatMap(
    (v, i) =>
      e.evaluate({ stationId: 'RG', kind: 'rain', ts: start + (i + 1) * H, values: { rain_mm: v } })
        .transitions,
  )
}

describe('river flood levels against station constants (hydro.flood_signal)', () => {
  test.each([
    [31.99, null],
    [32.0, 'blue'],
    [32.49, 'blue'],
    [32.5, 'yellow'],
    [33.99, 'yellow'],
    [34.0, 'orange'],
    [35.19, 'orange'],
    [35.2, 'red'],
  ] as const)('stage %s m raises %s', (stage, level) => {
    const t = stageSeries(engine(), [stage])
    expect(t.map((x) => x.to)).toEqual(level === null ? [] : [level])
  })

  test('a station without approach_offset_m never raises blue but still raises yellow', () => {
    const { approach_offset_m: _omit, ...params } = RIVER
    const t = stageSeries(engine(params), [32.2, 32.6])
    expect(t.map((x) => [x.kind, x.to])).toEqual([['raise', 'yellow']])
  })

  test('escalation is immediate; stepping down waits for the 30 min dwell', () => {
    // 10-min steps: up through orange to red, then down to yellow-range values.
    const t = stageSeries(engine(), [32.6, 34.2, 35.3, 33.0, 33.0, 33.0, 33.0, 31.0, 31.0, 31.0, 31.0])
    expect(t.map((x) => [x.kind, x.from, x.to, (x.ts - T0) / M])).toEqual([
      ['raise', null, 'yellow', 0],
      ['escalate', 'yellow', 'orange', 10],
      ['escalate', 'orange', 'red', 20],
      // 33.0 from minute 30; held 30 min at minute 60 → step to yellow.
      ['deescalate', 'red', 'yellow', 60],
      // below blue from minute 70; lifted at minute 100.
      ['clear', 'yellow', null, 100],
    ])
  })

  test('a value hovering at the threshold does not flap', () => {
    const t = stageSeries(engine(), [32.5, 32.4, 32.5, 32.4, 32.5, 32.4, 32.5, 32.4], 5 * M)
    expect(t.map((x) => x.to)).toEqual(['yellow'])
  })

  test('a dip shorter than the dwell resets it', () => {
    const t = stageSeries(engine(), [34.1, 33.0, 33.0, 34.1, 33.0, 33.0, 33.0, 33.0], 10 * M)
    expect(t.map((x) => [x.kind, x.to, (x.ts - T0) / M])).toEqual([
      ['raise', 'orange', 0],
      ['deescalate', 'yellow', 70],
    ])
  })

  test('the step down goes to the most severe level seen during the dwell', () => {
    const t = stageSeries(engine(), [35.3, 32.6, 34.1, 32.6, 32.6], 10 * M)
    expect(t.map((x) => [x.kind, x.to])).toEqual([
      ['raise', 'red'],
      ['deescalate', 'orange'],
    ])
  })

  test('explanations name the value, the threshold and the station constant', () => {
    const [t] = stageSeries(engine(), [34.05])
    expect(t?.explanation.conditions).toEqual([
      {
        quantity: 'stage_m',
        agg: 'last',
        op: '>=',
        observed: 34.05,
        threshold: 34,
        ref: 'guaranteed_level',
        held: true,
      },
      // The other branch of the level, as evaluated: this station reports no discharge.
      {
        quantity: 'discharge_m3s',
        agg: 'last',
        op: '>=',
        observed: null,
        threshold: null,
        ref: 'guaranteed_discharge',
        held: false,
      },
    ])
  })

  test('late and duplicate readings are not evaluated', () => {
    const e = engine()
    e.evaluate({ stationId: 'WL', kind: 'water_level', ts: T0 + H, values: { stage_m: 30 } })
    expect(
      e.evaluate({ stationId: 'WL', kind: 'water_level', ts: T0, values: { stage_m: 36 } }),
    ).toMatchObject({
      transitions: [],
      late: true,
    })
    expect(
      e.evaluate({ stationId: 'WL', kind: 'water_level', ts: T0 + H, values: { stage_m: 36 } }).late,
    ).toBe(true)
  })

  test('two sensors of one station at one event time are both evaluated; a quantity again at that time is late', () => {
    // An SL 651 RTU stamps its stage and its rainfall with one observation time.
    const e = engine()
    const stage = e.evaluate({ stationId: 'WL', kind: 'water_level', ts: T0, values: { stage_m: 32.6 } })
    expect(stage.late).toBe(false)
    expect(stage.transitions.map((t) => t.to)).toEqual(['yellow'])
    const rain = e.evaluate({ stationId: 'WL', kind: 'rain', ts: T0, values: { rain_mm: 30 } })
    expect(rain.late).toBe(false)
    expect(e.aggregates('WL', 'rain', T0)?.rain_mm_sum_3h).toBe(30)
    // The same rainfall again (a resend) is not counted twice.
    expect(e.evaluate({ stationId: 'WL', kind: 'rain', ts: T0, values: { rain_mm: 30 } }).late).toBe(true)
    expect(e.aggregates('WL', 'rain', T0)?.rain_mm_sum_3h).toBe(30)
    expect(e.evaluate({ stationId: 'WL', kind: 'water_level', ts: T0, values: { stage_m: 36 } }).late).toBe(
      true,
    )
    // The next event time starts afresh.
    expect(e.evaluate({ stationId: 'WL', kind: 'rain', ts: T0 + 5 * M, values: { rain_mm: 1 } }).late).toBe(
      false,
    )
  })

  test('restore() sets the level a restarted gateway resumes from', () => {
    const e = engine()
    e.restore('river-flood', 'WL', 'orange')
    expect(stageSeries(e, [35.3]).map((x) => [x.kind, x.from, x.to])).toEqual([['escalate', 'orange', 'red']])
  })
})

describe('CMA rainstorm signal from sliding sums (weather.rainstorm)', () => {
  test('12 h sum of 50 mm is blue; 49.9 is not', () => {
    expect(rainSeries(engine(), Array(10).fill(4.99))).toEqual([])
    const t = rainSeries(engine(), Array(10).fill(5))
    expect(t.map((x) => [x.to, (x.ts - T0) / H])).toEqual([['blue', 10]])
  })

  test('6 h sum of 50 mm is yellow, 3 h sum of 50 is orange, 3 h sum of 100 is red', () => {
    expect(rainSeries(engine(), [10, 10, 10, 10, 10]).map((x) => x.to)).toEqual(['yellow'])
    expect(rainSeries(engine(), [20, 20, 10]).map((x) => x.to)).toEqual(['orange'])
    expect(
      rainSeries(engine(), [40, 40, 20]).map((x) => [x.to, x.explanation.conditions[0]?.observed]),
    ).toEqual([
      ['orange', 80],
      ['red', 100],
    ])
  })

  test('0.1 mm tips add up to exactly 100 mm at the red threshold', () => {
    const e = engine()
    const tips = 1000 // 100 mm in 0.1 mm tips within 3 h
    let last: Transition[] = []
    for (let i = 1; i <= tips; i++)
      last = [
        ...last,
        ...e.evaluate({ stationId: 'RG', kind: 'rain', ts: T0 + i * 10_000, values: { rain_mm: 0.1 } })
          .transitions,
      ]
    expect(last.at(-1)?.to).toBe('red')
  })

  test('the window slides on event time: rain older than 3 h drops out and the warning steps down after 1 h', () => {
    // 100 mm in the first three hours, then dry hours.
    const t = rainSeries(engine(), [40, 40, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    expect(t.map((x) => [x.kind, x.to, (x.ts - T0) / H])).toEqual([
      ['raise', 'orange', 2],
      ['escalate', 'red', 3],
      // Hour 4: 3 h sum 60 (orange). After 1 h below red, at hour 5, step to the most severe level
      // seen in the dwell: orange.
      ['deescalate', 'orange', 5],
      // Hour 6: 3 h sum 0, 6 h sum 100 (yellow) → one hour later, yellow.
      ['deescalate', 'yellow', 7],
      // Hour 8: 6 h sum 20 → blue from the 12 h sum (100) → hour 9.
      ['deescalate', 'blue', 9],
      // Hour 14: 12 h sum 20 < 50 → lifted an hour later.
      ['clear', null, 15],
    ])
  })
})

describe('incremental sliding window', () => {
  /** Deterministic pseudo-random numbers (mulberry32). */

  test.each([1, 2, 3, 4, 5])('matches brute-force recomputation (seed %i)', (seed) => {
    const rnd = prng(seed)
    const span = 30 * M
    const w = new SlidingWindow(span, true, true)
    const all: [number, number][] = []
    let ts = T0
    for (let i = 0; i < 3000; i++) {
      ts += Math.floor(rnd() * 120_000) + 1
      const v = Math.round(rnd() * 1000) / 10
      w.push(ts, v)
      all.push([ts, v])
      const inside = all.filter(([t]) => t > ts - span).map(([, x]) => x)
      const sum = inside.reduce((a, b) => a + b, 0)
      expect(w.value('count', ts)).toBe(inside.length)
      expect(w.value('sum', ts)).toBeCloseTo(sum, 6)
      expect(w.value('max', ts)).toBe(Math.max(...inside))
      expect(w.value('min', ts)).toBe(Math.min(...inside))
      expect(w.value('mean', ts)).toBeCloseTo(sum / inside.length, 6)
    }
  })

  test('a window nobody reads stays bounded (pushes evict too)', () => {
    const w = new SlidingWindow(H, false, false)
    for (let i = 0; i < 10_000; i++) w.push(T0 + i * M, 1)
    expect(w.count).toBeLessThanOrEqual(2 * 60 + 1)
    expect(w.value('count', T0 + 9_999 * M)).toBe(60)
  })

  test('an empty window has no sum but a count of 0', () => {
    const w = new SlidingWindow(H, false, false)
    w.push(T0, 5)
    expect(w.value('sum', T0 + 2 * H)).toBeUndefined()
    expect(w.value('count', T0 + 2 * H)).toBe(0)
  })
})

describe('rise rates and holds-for durations', () => {
  const catalogue = Catalogue.parse({
    catalogue: 'test',
    version: 1,
    title: 'test-only rules',
    rules: [
      {
        id: 'rise',
        name: 'rise rate',
        hazard: 'flood',
        kinds: ['water_level'],
        reference: 'hydro.flash_flood_village',
        confidence: 'unverified',
        source: 'test',
        levels: [
          {
            level: 'orange',
            any_of: [{ quantity: 'stage_m', agg: 'rate_per_h', window: '1h', op: '>=', value: 1 }],
          },
          {
            level: 'blue',
            any_of: [{ quantity: 'stage_m', agg: 'delta', window: '1h', op: '>=', value: 0.3 }],
          },
        ],
      },
      {
        id: 'sustained',
        name: 'sustained',
        hazard: 'gas_leak',
        kinds: ['gas'],
        reference: 'gas.combustible_point',
        confidence: 'confirmed',
        source: 'test',
        levels: [{ level: 'red', for: '30s', any_of: [{ quantity: 'lel_pct', op: '>=', value: 25 }] }],
      },
    ],
  })
  const e = () => new RulesEngine([catalogue], () => ({ params: {} }))

  test('delta and rate per hour over a window', () => {
    const eng = e()
    const at = (min: number, v: number) =>
      eng.evaluate({ stationId: 'S', kind: 'water_level', ts: T0 + min * M, values: { stage_m: v } })
        .transitions
    expect(at(0, 30)).toEqual([])
    expect(at(30, 30.2)).toEqual([]) // +0.2 m: below both
    const [blue] = at(50, 30.35) // window (−10, 50]: delta 0.35 m in 50 min (0.42 m/h)
    expect([blue?.to, blue?.explanation.conditions.at(-1)?.observed]).toEqual(['blue', 0.35])
    const [orange] = at(70, 30.9) // window (10, 70]: 30.2 → 30.9 in 40 min = 1.05 m/h (the 00:00 reading left)
    expect([orange?.to, orange?.explanation.conditions[0]?.observed]).toEqual(['orange', 1.05])
  })

  test('a level with `for` fires only after its condition held that long without a break', () => {
    const eng = e()
    const at = (s: number, v: number) =>
      eng
        .evaluate({ stationId: 'G', kind: 'gas', ts: T0 + s * 1000, values: { lel_pct: v } })
        .transitions.map((t) => [t.to, s])
    expect([at(0, 30), at(20, 30), at(25, 10), at(30, 30), at(50, 30)]).toEqual([[], [], [], [], []])
    expect(at(60, 31)).toEqual([['red', 60]]) // held since 30 s
  })

  test.each([1, 2, 3])('delta and rate match brute force (seed %i)', (seed) => {
    let a = seed
    const rnd = () => (a = (a * 16807) % 2147483647) / 2147483647
    const span = 20 * M
    const w = new SlidingWindow(span, false, false)
    const all: [number, number][] = []
    let ts = T0
    for (let i = 0; i < 500; i++) {
      ts += Math.floor(rnd() * 5 * M) + 1
      const v = Math.round(rnd() * 1000) / 100
      w.push(ts, v)
      all.push([ts, v])
      const inside = all.filter(([t]) => t > ts - span)
      const first = inside[0]!
      if (inside.length < 2) {
        expect(w.value('delta', ts)).toBeUndefined()
        continue
      }
      expect(w.value('delta', ts)).toBeCloseTo(v - first[1], 9)
      expect(w.value('rate_per_h', ts)).toBeCloseTo(((v - first[1]) * 3_600_000) / (ts - first[0]), 6)
    }
  })
})
