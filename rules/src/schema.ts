/**
 * Rule catalogue files (`rules/catalog/*.yaml`). A rule grades one station's readings into the
 * national four-level scheme; each level is a tree of any_of / all_of conditions over instant values
 * or sliding event-time windows, compared with constants or with the station's own constants.
 */
import { z } from 'zod'
import { REGION_LEVELS } from './regions.js'

/**
 * Levels in ascending severity. Public warnings use the four colours (蓝 < 黄 < 橙 < 红);
 * process and gas alarms at enterprises use two stages (一级报警 < 二级报警, GB/T 50493-2019).
 * A rule uses one scheme or the other.
 */
export const COLOURS = ['blue', 'yellow', 'orange', 'red'] as const
export const ALARM_STAGES = ['level_1', 'level_2'] as const
export const LEVELS = [...COLOURS, ...ALARM_STAGES] as const
export const Level = z.enum(LEVELS)
export type Level = z.infer<typeof Level>

/** Severity rank within a scheme: blue 1 … red 4, level_1 1, level_2 2; no level is 0. */
const RANK: Record<Level, number> = { blue: 1, yellow: 2, orange: 3, red: 4, level_1: 1, level_2: 2 }
export const isAlarmStage = (level: Level): boolean => level === 'level_1' || level === 'level_2'
export const rank = (level: Level | null | undefined): number => (level ? RANK[level] : 0)

export const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like 30s, 10m, 3h, 1d')

export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d)
  if (!m) throw new Error(`invalid duration ${d}`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    m[2] as 'ms' | 's' | 'm' | 'h' | 'd'
  ]
  return Number(m[1]) * unit
}

const ParamName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'station constants are snake_case')

const WINDOW_AGGS = ['sum', 'mean', 'min', 'max', 'count', 'delta', 'rate_per_h'] as const
const DAILY_AGGS = ['daily', 'daily_change', 'consecutive_days'] as const
export type DailyAgg = (typeof DAILY_AGGS)[number]
export const isDailyAgg = (agg: string): agg is DailyAgg => (DAILY_AGGS as readonly string[]).includes(agg)

/** A comparison of one quantity (instant, windowed or per day) with a threshold. */
export const Comparison = z
  .strictObject({
    quantity: z.string().regex(/^[a-z][a-z0-9_]*$/),
    /**
     * `last` is the instant value; window aggregates run over `window` of event time; day
     * aggregates over Beijing-time calendar days of the quantity's daily `of` (max, min, …):
     * `daily` is today's so far, `daily_change` today's minus that of `days` days before, and
     * `consecutive_days` holds when the last `days` days each satisfy the comparison.
     */
    agg: z.enum(['last', ...WINDOW_AGGS, ...DAILY_AGGS]).default('last'),
    window: Duration.optional(),
    of: z.enum(['max', 'min', 'sum', 'mean']).optional(),
    days: z.number().int().positive().max(366).optional(),
    op: z.enum(['>=', '>', '<=', '<']),
    /** A constant threshold … */
    value: z.number().optional(),
    /** … or a named constant of the station (or of its region: village, township, county). */
    ref: ParamName.optional(),
    /** The threshold when neither the station nor its regions define `ref`. */
    default: z.number().optional(),
    /**
     * Simple arithmetic on the threshold: it is multiplied by `scale`, then `offset` is added; each
     * a number or the name of a station constant (0.6 × LOC, LOC − 2, warning level − 0.5 m).
     */
    scale: z.union([z.number(), ParamName]).optional(),
    offset: z.union([z.number(), ParamName]).optional(),
    /**
     * Hysteresis margin: once the level is active, this comparison keeps holding until the value
     * is this far on the safe side of the threshold (overrides the rule's clear.deadband).
     */
    deadband: z.number().nonnegative().optional(),
  })
  .superRefine((c, ctx) => {
    const issue = (message: string, path?: string) =>
      ctx.addIssue({ code: 'custom', message, ...(path ? { path: [path] } : {}) })
    if ((c.value === undefined) === (c.ref === undefined)) issue('give exactly one of value or ref')
    if (c.default !== undefined && c.ref === undefined) issue('default goes with ref', 'default')
    const daily = isDailyAgg(c.agg)
    if (daily || c.agg === 'last') {
      if (c.window !== undefined) issue(`agg ${c.agg} takes no window`, 'window')
    } else if (c.window === undefined) issue(`agg ${c.agg} needs a window`, 'window')
    if (daily && c.of === undefined) issue(`agg ${c.agg} needs of: max, min, sum or mean`, 'of')
    if (!daily && c.of !== undefined) issue('of goes with the daily aggregates', 'of')
    if ((c.agg === 'daily_change' || c.agg === 'consecutive_days') && c.days === undefined)
      issue(`agg ${c.agg} needs days`, 'days')
    if (c.agg !== 'daily_change' && c.agg !== 'consecutive_days' && c.days !== undefined)
      issue('days goes with daily_change and consecutive_days', 'days')
  })
export type Comparison = z.infer<typeof Comparison>

export type Condition = Comparison | { any_of: Condition[] } | { all_of: Condition[] }
export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ any_of: z.array(Condition).min(1) }),
    z.strictObject({ all_of: z.array(Condition).min(1) }),
    Comparison,
  ]),
)

const LevelRule = z
  .strictObject({
    level: Level,
    /** The condition must hold continuously this long (event time) before the level is raised. */
    for: Duration.default('0s'),
    any_of: z.array(Condition).min(1).optional(),
    all_of: z.array(Condition).min(1).optional(),
  })
  .refine(
    (l) => (l.any_of === undefined) !== (l.all_of === undefined),
    'give exactly one of any_of or all_of',
  )

export const Rule = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'rule ids are kebab-case'),
    name: z.string().min(1),
    /** Hazard this rule warns of; part of the warning key and the broadcast text. */
    hazard: z.string().regex(/^[a-z][a-z0-9_]*$/),
    /** Sensor kinds whose readings this rule evaluates. */
    kinds: z.array(z.string()).min(1),
    /** The entry in rules/reference/thresholds.yaml these thresholds implement. */
    reference: z.string().min(1),
    confidence: z.enum(['confirmed', 'confirmed_secondary', 'derived', 'unverified']),
    source: z.string().min(1),
    levels: z.array(LevelRule).min(1),
    /**
     * Hysteresis: a lower level (or no level) must hold this long in event time before the warning
     * steps down or is lifted. Stepping up is always immediate.
     */
    clear: z
      .strictObject({
        for: Duration.default('0s'),
        /** Margin every comparison of the active level must clear by before it stops holding. */
        deadband: z.number().nonnegative().optional(),
      })
      .default({ for: '0s' }),
    /**
     * k-of-n across stations: a level holds for a group of stations (those sharing a region at
     * `scope`) when at least `k` of them have held it within `within` of event time. The
     * warning records the contributing stations.
     */
    network: z
      .strictObject({
        k: z.number().int().min(1),
        within: Duration,
        scope: z.enum(REGION_LEVELS).default('county'),
      })
      .optional(),
    /**
     * Latching alarm (GB/T 50493-2019 gas alarms): once raised it never steps down or clears by
     * itself; an operator resets it after the condition has cleared.
     */
    latch: z.boolean().default(false),
    note: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<Level>()
    if (new Set(r.levels.map((l) => isAlarmStage(l.level))).size > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['levels'],
        message: 'a rule uses either the four colours or the alarm stages, not both',
      })
    r.levels.forEach((l, i) => {
      if (seen.has(l.level))
        ctx.addIssue({
          code: 'custom',
          path: ['levels', i, 'level'],
          message: `level ${l.level} given twice`,
        })
      seen.add(l.level)
    })
  })
export type Rule = z.infer<typeof Rule>

const Kinds = z.array(z.string()).min(1)
const Quantity = z.string().regex(/^[a-z][a-z0-9_]*$/)

/** Conversions from one reported quantity to a new one (thresholds.yaml unit_tables). */
const Convert = z.discriminatedUnion('fn', [
  z.strictObject({ fn: z.literal('ms_to_beaufort'), kinds: Kinds, from: Quantity, quantity: Quantity }),
  z.strictObject({ fn: z.literal('beaufort_to_ms'), kinds: Kinds, from: Quantity, quantity: Quantity }),
  z.strictObject({
    fn: z.literal('ppm_to_mgm3'),
    kinds: Kinds,
    from: Quantity,
    quantity: Quantity,
    molar_mass: z.number().positive(),
  }),
  z.strictObject({
    fn: z.literal('mgm3_to_ppm'),
    kinds: Kinds,
    from: Quantity,
    quantity: Quantity,
    molar_mass: z.number().positive(),
  }),
  z.strictObject({
    fn: z.literal('vol_to_lel'),
    kinds: Kinds,
    from: Quantity,
    quantity: Quantity,
    lel: z.number().positive(),
  }),
  z.strictObject({
    fn: z.literal('lel_to_vol'),
    kinds: Kinds,
    from: Quantity,
    quantity: Quantity,
    lel: z.number().positive(),
  }),
  /**
   * GB/T 17742-2020 instrumental intensity from acceleration batches: `intensity` from the peak
   * PGA and PGV over `peak_window`, plus each batch's `pga_ms2` and `pgv_ms`.
   */
  z.strictObject({ fn: z.literal('gb17742'), kinds: Kinds, peak_window: Duration.default('60s') }),
  /** STA/LTA P-wave trigger on acceleration batches: `sta_lta` (largest ratio) and `p_trigger` (0/1). */
  z.strictObject({
    fn: z.literal('sta_lta'),
    kinds: Kinds,
    sta: Duration.default('1s'),
    lta: Duration.default('10s'),
    on: z.number().positive().default(3),
    off: z.number().positive().default(1.5),
    band: z.tuple([z.number().positive(), z.number().positive()]).default([1, 10]),
  }),
])
export const Derive = Convert
export type Derive = z.infer<typeof Derive>

/** The quantities a derive entry adds to a reading (those `derivedUnits` names). */
export const derivedQuantities = (d: Derive): string[] => Object.keys(derivedUnits(d))

/** The units of the quantities a derive entry adds, as kinds.yaml writes units. */
export function derivedUnits(d: Derive): Record<string, string> {
  switch (d.fn) {
    case 'gb17742':
      return { intensity: 'GB/T 17742', pga_ms2: 'm/s2', pgv_ms: 'm/s' }
    case 'sta_lta':
      return { sta_lta: 'ratio', p_trigger: '0/1' }
    case 'ms_to_beaufort':
      return { [d.quantity]: 'Beaufort' }
    case 'beaufort_to_ms':
      return { [d.quantity]: 'm/s' }
    case 'ppm_to_mgm3':
      return { [d.quantity]: 'mg/m3' }
    case 'mgm3_to_ppm':
      return { [d.quantity]: 'ppm' }
    case 'vol_to_lel':
      return { [d.quantity]: '%LEL' }
    case 'lel_to_vol':
      return { [d.quantity]: '%vol' }
  }
}

export const Catalogue = z
  .strictObject({
    catalogue: z.string().regex(/^[a-z][a-z0-9-]*$/),
    version: z.number().int().positive(),
    title: z.string().min(1),
    /** Quantities computed from readings before the rules see them (unit conversions, seismic). */
    derive: z.array(Derive).default([]),
    rules: z.array(Rule).min(1),
  })
  .superRefine((cat, ctx) => {
    const made = new Set<string>()
    cat.derive.forEach((d, i) => {
      for (const kind of d.kinds)
        for (const q of derivedQuantities(d)) {
          if (made.has(`${kind}.${q}`))
            ctx.addIssue({
              code: 'custom',
              path: ['derive', i],
              message: `${q} is already derived for kind ${kind}`,
            })
          made.add(`${kind}.${q}`)
        }
    })
    const ids = new Set<string>()
    cat.rules.forEach((r, i) => {
      if (ids.has(r.id))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${r.id}` })
      ids.add(r.id)
    })
  })
export type Catalogue = z.infer<typeof Catalogue>
