/**
 * Derived quantities (unit conversions, GB/T 17742 intensity, STA/LTA), day aggregates, deadband,
 * defaults for station constants, and k-of-n rules across stations.
 */
import { describe, expect, test } from 'vitest'
import { Catalogue, RulesEngine, type StationInfo, type Transition } from '../../../rules/src/index.js'
import { DailySeries, dayOf } from '../../../rules/src/daily.js'
import {
  instrumentalIntensity,
  IntensityProcessor,
  StaLtaTrigger,
  type Waveform,
} from '../../../rules/src/seismic.js'
import {
  beaufortFromMs,
  lelFromVol,
  mgm3FromPpm,
  msFromBeaufort,
  ppmFromMgm3,
  volFromLel,
} from '../../../rules/src/units.js'
import { H, M, T0 } from '../../helpers/catalog.js'
import { prng } from '../../helpers/wait.js'

const DAY = 24 * H
/** Midnight Beijing time on a day in July 2026. */
const BJ0 = Date.UTC(2026, 6, 14, 16)

const rule = (over: Record<string, unknown>) => ({
  name: 'test',
  hazard: 'test',
  reference: 'test',
  confidence: 'unverified',
  source: 'test',
  ...over,
})
const cat = (rules: unknown[], derive: unknown[] = []) =>
  Catalogue.parse({ catalogue: 'test', version: 1, title: 'test', derive, rules })

describe('unit conversions (thresholds.yaml unit_tables)', () => {
  test.each([
    [7.9, 4],
    [8.0, 5],
    [10.7, 5],
    [10.8, 6],
    [13.8, 6],
    [13.9, 7],
    [17.2, 8],
    [32.7, 12],
    [56.1, 17],
    [80, 17],
  ])('%f m/s is Beaufort force %i (GB/T 28591-2012)', (ms, force) => {
    expect(beaufortFromMs(ms)).toBe(force)
  })

  test('force → m/s gives each force’s lower bound, and round-trips', () => {
    expect(msFromBeaufort(6)).toBe(10.8)
    expect(msFromBeaufort(12)).toBe(32.7)
    for (let f = 0; f <= 17; f++) expect(beaufortFromMs(msFromBeaufort(f))).toBe(f)
  })

  test('mg/m³ ↔ ppm at 20 °C matches the GB/T 50493 table’s derived ppm values', () => {
    expect(ppmFromMgm3(10, 34.08)).toBeCloseTo(7.1, 1) // H2S level 1
    expect(ppmFromMgm3(20, 28.01)).toBeCloseTo(17.2, 1) // CO level 1
    expect(Math.abs(ppmFromMgm3(20, 17.03) - 28.2)).toBeLessThan(0.1) // NH3 level 1 (table: 24.04 L/mol)
    expect(mgm3FromPpm(ppmFromMgm3(1, 70.9), 70.9)).toBeCloseTo(1, 12)
  })

  test('%LEL ↔ %vol: 25 %LEL methane is 1.25 %vol, 50 %LEL hydrogen 2 %vol', () => {
    expect(volFromLel(25, 5.0)).toBe(1.25)
    expect(volFromLel(50, 4.0)).toBe(2)
    expect(lelFromVol(1.05, 2.1)).toBeCloseTo(50, 9)
  })

  test('a derive entry converts a reading before the rules see it', () => {
    const e = new RulesEngine(
      [
        cat(
          [
            rule({
              id: 'gale',
              kinds: ['weather'],
              levels: [{ level: 'blue', any_of: [{ quantity: 'wind_force', op: '>=', value: 6 }] }],
            }),
          ],
          [{ fn: 'ms_to_beaufort', kinds: ['weather'], from: 'wind_ms', quantity: 'wind_force' }],
        ),
      ],
      () => ({ params: {} }),
    )
    const r1 = e.evaluate({ stationId: 'A', kind: 'weather', ts: T0, values: { wind_ms: 10.7 } })
    expect(r1.values).toEqual({ wind_ms: 10.7, wind_force: 5 })
    expect(r1.transitions).toEqual([])
    const r2 = e.evaluate({ stationId: 'A', kind: 'weather', ts: T0 + M, values: { wind_ms: 10.8 } })
    expect(r2.transitions.map((t) => t.to)).toEqual(['blue'])
  })

  test('two derive entries making one quantity for one kind are refused', () => {
    const r = Catalogue.safeParse({
      catalogue: 'test',
      version: 1,
      title: 'test',
      derive: [
        { fn: 'ms_to_beaufort', kinds: ['weather'], from: 'wind_ms', quantity: 'f' },
        { fn: 'ms_to_beaufort', kinds: ['weather'], from: 'gust_ms', quantity: 'f' },
      ],
      rules: [
        rule({
          id: 'x',
          kinds: ['weather'],
          levels: [{ level: 'blue', any_of: [{ quantity: 'f', op: '>=', value: 6 }] }],
        }),
      ],
    })
    expect(r.success).toBe(false)
    expect(r.error?.issues[0]?.message).toMatch(/already derived/)
  })
})

/** A 3-component batch stream: `fn(t)` gives [x, y, z] in gal at time t (s). */
function* batches(seconds: number, sr: number, fn: (t: number) => [number, number, number]) {
  for (let b = 0; b < seconds; b++) {
    const x: number[] = []
    const y: number[] = []
    const z: number[] = []
    for (let i = 0; i < sr; i++) {
      const [a, c, d] = fn(b + i / sr)
      x.push(a)
      y.push(c)
      z.push(d)
    }
    yield { t0: T0 + b * 1000, sr, x, y, z } satisfies Waveform
  }
}

describe('GB/T 17742-2020 instrumental intensity', () => {
  test('the formulas give the band edges the reference derives (VII starts at PGA 0.937, PGV 0.0813)', () => {
    expect(instrumentalIntensity(0.937, 0.0813)).toBe(6.5)
    expect(instrumentalIntensity(0.453, 0.0377)).toBe(5.5)
    expect(instrumentalIntensity(0.0248, 0.00175)).toBe(1.5)
    expect(instrumentalIntensity(0, 0)).toBe(1)
    expect(instrumentalIntensity(100, 10)).toBe(12)
  })

  test('I_V is used only when both I_A and I_V reach 6.0', () => {
    // I_A = 6.5, I_V ≈ 5.58: the mean (6.0), not I_V.
    expect(instrumentalIntensity(0.937, 0.04)).toBe(6)
    // Both ≥ 6: I_V alone (6.27 → 6.3), not the mean (6.4).
    expect(instrumentalIntensity(0.937, 0.0682)).toBe(6.3)
  })

  test.each([
    [2, 50],
    [1, 120],
    [5, 300],
  ])('a %i Hz shaking of %i gal (with gravity and offset) gives its PGA, PGV and intensity', (f, amp) => {
    const p = new IntensityProcessor()
    let pga = 0
    let pgv = 0
    const w = 2 * Math.PI * f
    for (const b of batches(40, 100, (t) => [
      12 + amp * Math.sin(w * t) * 0.6,
      -7 + amp * Math.sin(w * t) * 0.8,
      980.6 + 3,
    ])) {
      const r = p.batch(b)
      if (b.t0 >= T0 + 20_000) {
        pga = Math.max(pga, r.pga_ms2)
        pgv = Math.max(pgv, r.pgv_ms)
      }
    }
    const expectA = amp / 100
    const expectV = expectA / w
    expect(pga / expectA).toBeGreaterThan(0.97)
    expect(pga / expectA).toBeLessThan(1.03)
    expect(pgv / expectV).toBeGreaterThan(0.95)
    expect(pgv / expectV).toBeLessThan(1.05)
    expect(Math.abs(instrumentalIntensity(pga, pgv) - instrumentalIntensity(expectA, expectV))).toBeLessThan(
      0.15,
    )
  })

  test('out-of-band content is filtered: a 0.02 Hz drift and 30 Hz hum barely count', () => {
    const p = new IntensityProcessor()
    let pga = 0
    for (const b of batches(120, 200, (t) => [
      40 * Math.sin(2 * Math.PI * 0.02 * t) + 20 * Math.sin(2 * Math.PI * 30 * t),
      0,
      980,
    ]))
      pga = Math.max(pga, p.batch(b).pga_ms2)
    expect(pga).toBeLessThan(0.05)
  })

  test('the engine derives intensity from batches and grades it', () => {
    const e = new RulesEngine(
      [
        cat(
          [
            rule({
              id: 'quake',
              kinds: ['seismic'],
              levels: [
                { level: 'orange', any_of: [{ quantity: 'intensity', op: '>=', value: 5 }] },
                { level: 'blue', any_of: [{ quantity: 'intensity', op: '>=', value: 3 }] },
              ],
              clear: { for: '2m' },
            }),
          ],
          [{ fn: 'gb17742', kinds: ['seismic'], peak_window: '60s' }],
        ),
      ],
      () => ({ params: {} }),
    )
    const rnd = prng(7)
    const out: Transition[] = []
    let maxI = 0
    const peaks: [number, number][] = []
    for (const b of batches(60, 100, (t) => {
      const quake = t >= 20 && t < 35 ? 60 * Math.sin(2 * Math.PI * 2 * t) : 0
      return [quake + (rnd() - 0.5) * 0.2, (rnd() - 0.5) * 0.2, 980 + (rnd() - 0.5) * 0.2]
    })) {
      const r = e.evaluate({
        stationId: 'S1',
        kind: 'seismic',
        ts: b.t0 + 990,
        values: { pga_gal: 0 },
        waveform: b,
      })
      peaks.push([r.values.pga_ms2!, r.values.pgv_ms!])
      // Intensity is computed from the peaks over the last 60 s, i.e. all batches so far here.
      expect(r.values.intensity).toBe(
        instrumentalIntensity(Math.max(...peaks.map((p) => p[0])), Math.max(...peaks.map((p) => p[1]))),
      )
      maxI = Math.max(maxI, r.values.intensity!)
      out.push(...r.transitions)
    }
    // 0.6 m/s² at 2 Hz: about 5.7 in steady state; the abrupt onset adds velocity.
    expect(maxI).toBeGreaterThanOrEqual(5.5)
    expect(maxI).toBeLessThan(6.6)
    expect(out.map((t) => [t.kind, t.to])).toEqual([['raise', 'orange']])
    expect(out[0]!.explanation.conditions[0]).toMatchObject({ quantity: 'intensity', held: true })
  })
})

describe('STA/LTA P-wave trigger', () => {
  test('quiet noise never triggers; a P arrival does, and the trigger re-arms after it', () => {
    const rnd = prng(3)
    const trig = new StaLtaTrigger({ staS: 1, ltaS: 10, on: 3, off: 1.5, band: [1, 10] })
    const state: number[] = []
    for (const b of batches(80, 100, (t) => {
      const n = () => (rnd() - 0.5) * 0.5
      const p = t >= 30 && t < 34 ? 8 * Math.sin(2 * Math.PI * 6 * t) * Math.exp(-(t - 30)) : 0
      return [n(), n(), 980 + n() + p]
    }))
      state.push(trig.batch(b).p_trigger)
    expect(state.slice(0, 30).every((s) => s === 0)).toBe(true)
    expect(state[30]).toBe(1)
    expect(state.slice(60).every((s) => s === 0)).toBe(true)
  })
})

describe('day aggregates (Beijing calendar days)', () => {
  test('days start at 00:00 Beijing time (16:00 UTC)', () => {
    expect(dayOf(BJ0) - dayOf(BJ0 - 1)).toBe(1)
    expect(dayOf(BJ0 + DAY - 1)).toBe(dayOf(BJ0))
  })

  test('consecutive_days and daily_change match brute force (random gappy series)', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed)
      const max = new DailySeries('max', 6)
      const min = new DailySeries('min', 6)
      const all: [number, number][] = []
      let ts = BJ0
      for (let i = 0; i < 600; i++) {
        ts += Math.floor(rnd() * 10 * H) + 1
        const v = Math.round(rnd() * 200) / 10 + 25
        max.push(ts, v)
        min.push(ts, v)
        all.push([ts, v])
        const byDay = new Map<number, number[]>()
        for (const [t, x] of all) byDay.set(dayOf(t), [...(byDay.get(dayOf(t)) ?? []), x])
        const today = dayOf(ts)
        const dmax = (d: number) => (byDay.has(d) ? Math.max(...byDay.get(d)!) : undefined)
        const dmin = (d: number) => (byDay.has(d) ? Math.min(...byDay.get(d)!) : undefined)
        let run = dmax(today)! >= 35 ? 1 : 0
        for (let d = today - 1; d > today - 6 && dmax(d) !== undefined && dmax(d)! >= 35; d--) run++
        expect(max.run(ts, (x) => x >= 35)).toBe(Math.min(run, 6))
        expect(min.value(ts)).toBe(dmin(today))
        expect(min.value(ts, 2)).toBe(dmin(today - 2))
      }
    }
  })

  test('high temperature: Tmax ≥ 35 °C on three consecutive days is yellow; a cooler day ends it', () => {
    const heat = cat([
      rule({
        id: 'heat',
        kinds: ['weather'],
        levels: [
          {
            level: 'yellow',
            any_of: [
              { quantity: 'air_temp_c', agg: 'consecutive_days', of: 'max', days: 3, op: '>=', value: 35 },
            ],
          },
        ],
      }),
    ])
    /** Feeds two readings a day (09:00 and 15:00 Beijing time) with the given afternoon maxima. */
    const run = (maxima: number[]) => {
      const e = new RulesEngine([heat], () => ({ params: {} }))
      return maxima.flatMap((t, d) =>
        [
          [9, 30],
          [15, t],
        ].flatMap(
          ([h, v]) =>
            e.evaluate({
              stationId: 'A',
              kind: 'weather',
              ts: BJ0 + d * DAY + h! * H,
              values: { air_temp_c: v! },
            }).transitions,
        ),
      )
    }
    // A 34 °C day between hot days breaks the run.
    expect(run([35.2, 36, 34, 35.1, 35.5, 33])).toEqual([])
    const out = run([36, 36, 36, 31, 31])
    expect(out.map((t) => [Math.round((t.ts - BJ0) / H), t.kind, t.to])).toEqual([
      [2 * 24 + 15, 'raise', 'yellow'],
      // Day 3 is undecided until it ends; the first reading of day 4 shows it did not qualify.
      [4 * 24 + 9, 'clear', null],
    ])
    expect(out[0]!.explanation.conditions[0]).toMatchObject({ observed: 3, days: 3, threshold: 35 })
  })

  test('cold wave: daily minimum fell 10 °C in 24 h, is ≤ 4 °C, with wind force ≥ 6', () => {
    const e = new RulesEngine(
      [
        cat(
          [
            rule({
              id: 'cold',
              kinds: ['weather'],
              levels: [
                {
                  level: 'yellow',
                  all_of: [
                    { quantity: 'air_temp_c', agg: 'daily_change', of: 'min', days: 1, op: '<=', value: -10 },
                    { quantity: 'air_temp_c', agg: 'daily', of: 'min', op: '<=', value: 4 },
                    { quantity: 'wind_force', op: '>=', value: 6 },
                  ],
                },
              ],
            }),
          ],
          [{ fn: 'ms_to_beaufort', kinds: ['weather'], from: 'wind_ms', quantity: 'wind_force' }],
        ),
      ],
      () => ({ params: {} }),
    )
    const feed = (ts: number, t: number, w: number) =>
      e.evaluate({ stationId: 'A', kind: 'weather', ts, values: { air_temp_c: t, wind_ms: w } }).transitions
    expect(feed(BJ0 + 6 * H, 13, 3)).toEqual([])
    expect(feed(BJ0 + 14 * H, 22, 3)).toEqual([])
    expect(feed(BJ0 + DAY + 6 * H, 4, 9)).toEqual([]) // fell 9: not yet
    const t = feed(BJ0 + DAY + 9 * H, 2.5, 11)
    expect(t.map((x) => x.to)).toEqual(['yellow'])
    expect(t[0]!.explanation.conditions.map((c) => c.observed)).toEqual([-10.5, 2.5, 6])
  })
})

describe('hysteresis deadband and defaults for station constants', () => {
  const tank = cat([
    rule({
      id: 'tank-high',
      kinds: ['tank'],
      levels: [
        { level: 'level_1', any_of: [{ quantity: 'level_m', op: '>=', ref: 'tank_h_m', default: 8 }] },
      ],
      clear: { deadband: 0.5 },
    }),
  ])

  test('a value hovering at the set-point raises once and clears only below set-point − deadband', () => {
    const e = new RulesEngine([tank], () => ({ params: {} }))
    const series = [7.9, 8.0, 7.99, 8.01, 7.7, 8.2, 7.5, 7.49, 7.8, 8.0]
    const out = series.flatMap((v, i) =>
      e
        .evaluate({ stationId: 'T', kind: 'tank', ts: T0 + i * M, values: { level_m: v } })
        .transitions.map((t) => `${i} ${t.kind}`),
    )
    expect(out).toEqual(['1 raise', '7 clear', '9 raise'])
  })

  test('the default applies when the station does not set the constant, and says so', () => {
    const withDefault = new RulesEngine([tank], () => ({ params: {} }))
    const t = withDefault.evaluate({ stationId: 'T', kind: 'tank', ts: T0, values: { level_m: 8 } })
    expect(t.transitions[0]!.explanation.conditions[0]).toMatchObject({ threshold: 8, defaulted: true })
    const own = new RulesEngine([tank], () => ({ params: { tank_h_m: 9 } }))
    expect(
      own.evaluate({ stationId: 'T', kind: 'tank', ts: T0, values: { level_m: 8.5 } }).transitions,
    ).toEqual([])
  })

  test('a comparison’s own deadband overrides the rule’s', () => {
    const e = new RulesEngine(
      [
        cat([
          rule({
            id: 'r',
            kinds: ['tank'],
            levels: [
              { level: 'level_1', any_of: [{ quantity: 'level_m', op: '>=', value: 8, deadband: 0.1 }] },
            ],
            clear: { deadband: 2 },
          }),
        ]),
      ],
      () => ({ params: {} }),
    )
    const kinds = [8, 7.95, 7.89].flatMap((v, i) =>
      e
        .evaluate({ stationId: 'T', kind: 'tank', ts: T0 + i * M, values: { level_m: v } })
        .transitions.map((t) => t.kind),
    )
    expect(kinds).toEqual(['raise', 'clear'])
  })
})

describe('k-of-n across stations', () => {
  const net = cat([
    rule({
      id: 'quake-net',
      kinds: ['seismic'],
      levels: [
        { level: 'orange', any_of: [{ quantity: 'intensity', op: '>=', value: 5 }] },
        { level: 'blue', any_of: [{ quantity: 'intensity', op: '>=', value: 3 }] },
      ],
      network: { k: 3, within: '10s', scope: 'county' },
      clear: { for: '1m' },
    }),
  ])
  const regions: Record<string, StationInfo> = {
    A: { params: {}, region: '511823100001' },
    B: { params: {}, region: '511823100002' },
    C: { params: {}, region: '511823200001' },
    D: { params: {}, region: '511823200002' },
    X: { params: {}, region: '511824100001' }, // next county
  }
  const feed = (e: RulesEngine, id: string, ts: number, i: number) =>
    e.evaluate({ stationId: id, kind: 'seismic', ts, values: { intensity: i } }).transitions

  test('three stations of a county within 10 s raise one warning naming them; fewer do not', () => {
    const e = new RulesEngine([net], (id) => regions[id])
    expect(feed(e, 'A', T0, 3.4)).toEqual([])
    expect(feed(e, 'X', T0 + 1000, 6)).toEqual([]) // another county: its own group
    expect(feed(e, 'B', T0 + 2000, 3.1)).toEqual([])
    const t = feed(e, 'C', T0 + 4000, 5.2)
    expect(t).toHaveLength(1)
    expect(t[0]).toMatchObject({ kind: 'raise', to: 'blue', group: '511823', stationId: 'C' })
    expect(t[0]!.contributors).toEqual([
      { stationId: 'A', ts: T0 },
      { stationId: 'B', ts: T0 + 2000 },
      { stationId: 'C', ts: T0 + 4000 },
    ])
    expect(e.activeLevel('quake-net', 'D')).toBe('blue')
    expect(e.activeLevel('quake-net', 'X')).toBeNull()
  })

  test('stations too far apart in time do not confirm each other', () => {
    const e = new RulesEngine([net], (id) => regions[id])
    expect([...feed(e, 'A', T0, 4), ...feed(e, 'B', T0 + 6000, 4), ...feed(e, 'C', T0 + 11_000, 4)]).toEqual(
      [],
    )
  })

  test('the group escalates when k stations reach the higher level, and clears after the dwell', () => {
    const e = new RulesEngine([net], (id) => regions[id])
    const out: Transition[] = []
    for (const [id, dt, i] of [
      ['A', 0, 5.5],
      ['B', 1000, 3.5],
      ['C', 2000, 3.2],
      ['D', 3000, 5.1],
      ['B', 4000, 5.0],
    ] as const)
      out.push(...feed(e, id, T0 + dt, i))
    for (let s = 10; s <= 200; s += 5)
      for (const id of ['A', 'B', 'C']) out.push(...feed(e, id, T0 + s * 1000, 1))
    // Orange needs three stations at ≥ 5 within 10 s; from 10 s only blue does (B, C, D), from
    // 15 s nothing; each step down waits clear.for (1 min) and goes to the highest level seen.
    expect(out.map((t) => [(t.ts - T0) / 1000, t.kind, t.to])).toEqual([
      [2, 'raise', 'blue'],
      [4, 'escalate', 'orange'],
      [70, 'deescalate', 'blue'],
      [130, 'clear', null],
    ])
    expect(out[1]!.contributors!.map((c) => c.stationId)).toEqual(['A', 'D', 'B'])
    // Every change of the group's warning names the station that raised it.
    expect(out.map((t) => t.stationId)).toEqual(['C', 'C', 'C', 'C'])
  })

  test("a station's backlog after an outage is judged at its own event time", () => {
    // A and B report every second from 0 to 120 s and both shake from 30 s; C is cut off and sends
    // its backlog after A and B are done. Three stations held blue from C's 30 s on: the warning
    // is stamped then, not when the backlog arrived, and the group does not lower on old data.
    const e = new RulesEngine([net], (id) => regions[id])
    const out: Transition[] = []
    const shake = (s: number) => (s >= 30 && s < 60 ? 5.5 : 1)
    for (let s = 0; s <= 120; s++)
      for (const id of ['A', 'B']) out.push(...feed(e, id, T0 + s * 1000, shake(s)))
    expect(out).toEqual([]) // two stations are not enough
    for (let s = 0; s <= 120; s++) out.push(...feed(e, 'C', T0 + s * 1000, shake(s)))
    expect(out.map((t) => [(t.ts - T0) / 1000, t.kind, t.to])).toEqual([[30, 'raise', 'orange']])
    expect(out[0]!.contributors!.map((c) => [c.stationId, (c.ts - T0) / 1000])).toEqual([
      ['A', 30],
      ['B', 30],
      ['C', 30],
    ])
  })
})
