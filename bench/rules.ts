/**
 * Rules engine benchmark: evaluations per second on one core through the shipped catalogues for
 * 10,000 streams, memory per stream, and cost per reading as windows grow, beside a brute-force
 * re-scan of the same windows measured in the same run (what an engine without incremental
 * windows does).
 *
 *   npm run bench:rules -- [--streams 10000] [--quick]
 */
import { parseArgs } from 'node:util'
import { Catalogue, RulesEngine, type Sample } from '../rules/src/index.js'
import { shippedCatalogues } from '../tests/helpers/catalog.js'
import { markdownTable } from './lib/report.js'

const { values: args } = parseArgs({
  options: { streams: { type: 'string', default: '10000' }, quick: { type: 'boolean', default: false } },
})
const STREAMS = Number(args.streams)
const ROUNDS = args.quick ? 30 : 100
const T0 = Date.UTC(2026, 6, 15)
const M = 60_000

const params = {
  approach_offset_m: -0.5,
  warning_level: 32.5,
  guaranteed_level: 34,
  historical_max_level: 35.2,
}
const heap = () => {
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

const ids = Array.from({ length: STREAMS }, (_, i) => `S${i}`)

/** Evaluations per second for `rounds` readings of every stream, after a warm-up round. */
function throughput(engine: RulesEngine, sample: (i: number, r: number) => Sample) {
  for (let i = 0; i < STREAMS; i++) engine.evaluate(sample(i, 0))
  let transitions = 0
  const t0 = performance.now()
  for (let r = 1; r <= ROUNDS; r++)
    for (let i = 0; i < STREAMS; i++) transitions += engine.evaluate(sample(i, r)).transitions.length
  const s = (performance.now() - t0) / 1000
  return { perSecond: Math.round((ROUNDS * STREAMS) / s), transitions }
}

const rows: string[][] = []
const shipped = shippedCatalogues()

/** Rules of the shipped catalogues that evaluate readings of `kind`. */
const rulesOf = (kind: string) => shipped.flatMap((c) => c.rules).filter((r) => r.kinds.includes(kind)).length

// 1. Simple thresholds: river stage against station constants, values crossing now and then. The
// water_level kind has several rules; a river station sets only river-flood's constants, so the
// others (reservoir, rise rate, low water, flash flood) are dead there and cost nothing.
{
  const info = { params }
  const engine = new RulesEngine(shipped, () => info)
  const r = throughput(engine, (i, k) => ({
    stationId: ids[i]!,
    kind: 'water_level',
    ts: T0 + k * M,
    values: { stage_m: 31 + ((i * 7 + k * 13) % 50) / 10 },
  }))
  rows.push([
    `river stage, full catalogue (${rulesOf('water_level')} rules, 1 live), readings/s/core`,
    fmt(r.perSecond),
    '',
    '≥ 1,000,000',
    r.perSecond >= 1e6 ? 'yes' : 'NO',
  ])
}

// 1b. Gas detectors: every rule live (combustible, eight toxic gases, oxygen), with the unit
// conversions (ppm → mg/m³, %vol → %LEL) of the derive stage; all simple (latched) thresholds.
{
  const none = { params: {} }
  const engine = new RulesEngine(shipped, () => none)
  const n = rulesOf('gas')
  const r = throughput(engine, (i, k) => ({
    stationId: ids[i]!,
    kind: 'gas',
    ts: T0 + k * 10_000,
    values: { lel_pct: (i + k) % 20, h2s_ppm: ((i + k) % 9) * 0.5, co_ppm: (i * k) % 15, o2_pct_vol: 20.9 },
  }))
  rows.push([`gas detector, ${n} live rules + 9 conversions, readings/s/core`, fmt(r.perSecond), '', '', ''])
  rows.push([
    '  the same as rule evaluations/s/core',
    fmt(r.perSecond * n),
    '',
    '≥ 1,000,000',
    r.perSecond * n >= 1e6 ? 'yes' : 'NO',
  ])
}

// 2. Windowed: rain gauges in villages with flash-flood thresholds: the CMA rainstorm signal
// (3, 6, 12 h sums), the village's 1, 3, 6 h critical rainfall, and the township's k-of-n
// confirmation, 5-min readings.
{
  const before = heap()
  const village = {
    params: {
      village_prepare_rain_1h_mm: 30,
      village_prepare_rain_3h_mm: 50,
      village_prepare_rain_6h_mm: 70,
      village_immediate_rain_1h_mm: 40,
      village_immediate_rain_3h_mm: 65,
      village_immediate_rain_6h_mm: 95,
    },
  }
  const infos = ids.map((_, i) => ({ ...village, region: `5118231${String(i % 100).padStart(2, '0')}001` }))
  const engine = new RulesEngine(shipped, (id) => infos[Number(id.slice(1))])
  const r = throughput(engine, (i, k) => ({
    stationId: ids[i]!,
    kind: 'rain',
    ts: T0 + k * 5 * M,
    values: { rain_mm: (i + k) % 17 === 0 ? 8 : 0.4 },
  }))
  const perStream = (heap() - before) / STREAMS
  const n = rulesOf('rain')
  rows.push([
    `rain, windowed sums (${n} live rules, 5 windows), readings/s/core`,
    fmt(r.perSecond),
    '',
    '',
    '',
  ])
  rows.push([
    '  the same as rule evaluations/s/core',
    fmt(r.perSecond * n),
    '',
    '≥ 200,000',
    r.perSecond * n >= 2e5 ? 'yes' : 'NO',
  ])
  rows.push([`memory per stream (5 windows, ${ROUNDS + 1} readings each)`, `${fmt(perStream)} B`, '', '', ''])
}

// 3. Cost per reading as the window grows: incremental window vs brute-force re-scan.
// The first (1 h) pass only warms the JIT up and is not printed.
for (const [pass, window] of (['1h', '1h', '6h', '24h', '72h'] as const).entries()) {
  const cat = Catalogue.parse({
    catalogue: 'bench',
    version: 1,
    title: 'bench',
    rules: [
      {
        id: 'sum',
        name: 'sum',
        hazard: 'rainstorm',
        kinds: ['rain'],
        reference: 'weather.rainstorm',
        confidence: 'confirmed',
        source: 'bench',
        levels: [
          { level: 'red', any_of: [{ quantity: 'rain_mm', agg: 'sum', window, op: '>=', value: 1e9 }] },
        ],
      },
    ],
  })
  const hours = Number(window.slice(0, -1))
  const n = hours * 60 // one reading a minute fills the window
  const streams = 20
  const engine = new RulesEngine([cat], () => undefined)
  const samples: [number, number][][] = Array.from({ length: streams }, () => [])
  // Fill, then time one more window's worth of readings.
  for (let k = 0; k < n; k++)
    for (let i = 0; i < streams; i++)
      engine.evaluate({ stationId: `S${i}`, kind: 'rain', ts: T0 + k * M, values: { rain_mm: 0.1 } })
  let t = performance.now()
  for (let k = n; k < 2 * n; k++)
    for (let i = 0; i < streams; i++)
      engine.evaluate({ stationId: `S${i}`, kind: 'rain', ts: T0 + k * M, values: { rain_mm: 0.1 } })
  const ours = ((performance.now() - t) * 1e6) / (n * streams)
  // Brute force: keep every sample, re-sum the window on each reading.
  for (let k = 0; k < n; k++) for (let i = 0; i < streams; i++) samples[i]!.push([T0 + k * M, 0.1])
  let sink = 0
  t = performance.now()
  for (let k = n; k < 2 * n; k++)
    for (let i = 0; i < streams; i++) {
      const now = T0 + k * M
      const list = samples[i]!
      list.push([now, 0.1])
      while (list.length > 0 && list[0]![0] <= now - hours * 3_600_000) list.shift()
      let sum = 0
      for (const [, v] of list) sum += v
      sink += sum
    }
  const brute = ((performance.now() - t) * 1e6) / (n * streams)
  if (sink < 0) console.log(sink)
  if (pass > 0)
    rows.push([
      `ns per reading, ${window} window (${n} samples)`,
      fmt(ours),
      `${fmt(brute)} (re-scan)`,
      `${(ours / brute).toFixed(3)}×`,
      'flat',
    ])
}

const head = ['measure', 'ours', 'reference', 'ratio / target', 'met']
console.log('\n' + markdownTable(head, rows) + '\n')

function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US')
}
