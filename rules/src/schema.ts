/**
 * Rule catalogue files (`rules/catalog/*.yaml`). A rule grades one station's readings into the
 * national four-level scheme; each level is a tree of any_of / all_of conditions over instant values
 * or sliding event-time windows, compared with constants or with the station's own constants.
 */
import { z } from 'zod'

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

/** A comparison of one quantity (instant or windowed) with a threshold. */
export const Comparison = z
  .strictObject({
    quantity: z.string().regex(/^[a-z][a-z0-9_]*$/),
    /** `last` is the instant value; the others aggregate over `window` of event time. */
    agg: z.enum(['last', 'sum', 'mean', 'min', 'max', 'count', 'delta', 'rate_per_h']).default('last'),
    window: Duration.optional(),
    op: z.enum(['>=', '>', '<=', '<']),
    /** A constant threshold … */
    value: z.number().optional(),
    /** … or a named per-station constant (warning_level, guaranteed_level, …). */
    ref: ParamName.optional(),
    /** Added to the threshold: a number, or the name of a station constant. */
    offset: z.union([z.number(), ParamName]).optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.value === undefined) === (c.ref === undefined))
      ctx.addIssue({ code: 'custom', message: 'give exactly one of value or ref' })
    if (c.agg !== 'last' && c.window === undefined)
      ctx.addIssue({ code: 'custom', path: ['window'], message: `agg ${c.agg} needs a window` })
    if (c.agg === 'last' && c.window !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['window'],
        message: 'an instant (last) comparison takes no window',
      })
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
    /** The entry in shared/reference/thresholds.yaml these thresholds implement. */
    reference: z.string().min(1),
    confidence: z.enum(['confirmed', 'confirmed_secondary', 'derived', 'unverified']),
    source: z.string().min(1),
    levels: z.array(LevelRule).min(1),
    /**
     * Hysteresis: a lower level (or no level) must hold this long in event time before the warning
     * steps down or is lifted. Stepping up is always immediate.
     */
    clear: z.strictObject({ for: Duration }).default({ for: '0s' }),
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

export const Catalogue = z
  .strictObject({
    catalogue: z.string().regex(/^[a-z][a-z0-9-]*$/),
    version: z.number().int().positive(),
    title: z.string().min(1),
    rules: z.array(Rule).min(1),
  })
  .superRefine((cat, ctx) => {
    const ids = new Set<string>()
    cat.rules.forEach((r, i) => {
      if (ids.has(r.id))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id ${r.id}` })
      ids.add(r.id)
    })
  })
export type Catalogue = z.infer<typeof Catalogue>
