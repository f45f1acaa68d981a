/**
 * A rule's simple thresholds: the lines a chart of a station's quantity can draw, one per level
 * (the value at which the level is raised), resolved with the station's constants as the engine
 * resolves them (`ref`, then `default`; `scale` and `offset`).
 *
 * Left out, because no single line on a chart says when they hold:
 * - rules across stations (`network`, k-of-n): a level needs other stations too;
 * - rates and counts (`rate_per_h`, `delta`, `count`) and the day aggregates (`daily`,
 *   `daily_change`, `consecutive_days`);
 * - comparisons inside an `all_of` of two or more members (each holds only with the others);
 * - thresholds whose constant the station and its regions do not set (that branch never fires).
 * Kept: an instant value (`last`) or a window aggregate (`sum`, `mean`, `min`, `max` over `window`),
 * the derived series a console can chart (the rain of the last hour), compared with a constant or a
 * station constant.
 */
import { resolveThreshold } from './engine.js'
import type { Comparison, Condition, Level, Rule } from './schema.js'

/** One threshold of a rule at one level. */
export interface Threshold {
  readonly ruleId: string
  readonly hazard: string
  readonly level: Level
  readonly quantity: string
  /** `last`: the instant value; otherwise the aggregate over `window` of event time. */
  readonly agg: SimpleAgg
  readonly window?: string
  readonly op: Comparison['op']
  readonly value: number
  /** The station (or region) constant the value comes from. */
  readonly ref?: string
  /** The constant was not set: the value is the catalogue's default. */
  readonly defaulted?: boolean
}

const SIMPLE_AGGS = ['last', 'sum', 'mean', 'min', 'max'] as const
export type SimpleAgg = (typeof SIMPLE_AGGS)[number]
const isSimple = (agg: Comparison['agg']): agg is SimpleAgg =>
  (SIMPLE_AGGS as readonly string[]).includes(agg)

/** The comparisons of a condition tree that alone raise the level (see the module comment). */
function alone(c: Condition): Comparison[] {
  if ('any_of' in c) return c.any_of.flatMap(alone)
  if ('all_of' in c) return c.all_of.length === 1 ? alone(c.all_of[0]!) : []
  return [c]
}

/** The rule's simple thresholds with the station's constants, in the catalogue's order of levels. */
export function ruleThresholds(rule: Rule, params: Readonly<Record<string, number>>): Threshold[] {
  if (rule.network) return []
  const out: Threshold[] = []
  for (const level of rule.levels)
    for (const c of level.any_of ? level.any_of.flatMap(alone) : alone({ all_of: level.all_of ?? [] })) {
      if (!isSimple(c.agg)) continue
      // As the engine resolves it: the constant, else the catalogue's default; then scale and offset.
      const base = c.value ?? (c.ref !== undefined ? params[c.ref] : undefined)
      const value = resolveThreshold(c, base ?? c.default, params)
      if (value === null) continue
      out.push({
        ruleId: rule.id,
        hazard: rule.hazard,
        level: level.level,
        quantity: c.quantity,
        agg: c.agg,
        ...(c.window !== undefined ? { window: c.window } : {}),
        op: c.op,
        value,
        ...(c.ref !== undefined ? { ref: c.ref } : {}),
        ...(base === undefined && c.default !== undefined ? { defaulted: true } : {}),
      })
    }
  return out
}
