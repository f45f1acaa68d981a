/**
 * The rules engine: readings in, level transitions out. Pure: no I/O, no wall clock. Time is the
 * readings' event time, so a replay of the same readings gives the same transitions.
 */
import {
  type Catalogue,
  type Comparison,
  type Condition,
  durationMs,
  type Level,
  LEVELS,
  rank,
  type Rule,
} from './schema.js'
import { SlidingWindow, type Aggregate } from './window.js'

/** One reading as the rules see it: a station's quantities at an event time (epoch ms). */
export interface Sample {
  readonly stationId: string
  /** Sensor kind that produced the reading; selects the rules that apply. */
  readonly kind: string
  readonly ts: number
  readonly values: Readonly<Record<string, number>>
}

/** What the engine needs to know about a station: its named constants. */
export interface StationInfo {
  readonly params: Readonly<Record<string, number>>
}

/** One comparison as it was evaluated: which value, against which threshold. */
export interface ConditionResult {
  readonly quantity: string
  readonly agg: Comparison['agg']
  readonly window?: string
  readonly op: Comparison['op']
  /** The value compared, or null if the quantity has not been reported (or the window is empty). */
  readonly observed: number | null
  /** The threshold after resolving `ref` and `offset`, or null if a station constant is missing. */
  readonly threshold: number | null
  readonly ref?: string
  /** The station constant's own value when an offset was added to it. */
  readonly refValue?: number
  readonly held: boolean
}

/** Why a level holds (or, for a step down, why the higher one no longer does). */
export interface Explanation {
  readonly level: Level
  readonly held: boolean
  readonly conditions: readonly ConditionResult[]
}

export type TransitionKind = 'raise' | 'escalate' | 'deescalate' | 'clear'

/** A change of a (rule, station) pair's level. `to` is null when the warning is lifted. */
export interface Transition {
  readonly ruleId: string
  readonly hazard: string
  readonly stationId: string
  readonly kind: TransitionKind
  readonly from: Level | null
  readonly to: Level | null
  /** Event time of the reading that caused it. */
  readonly ts: number
  /** For raise/escalate: the conditions of the new level; for steps down: of the level left. */
  readonly explanation: Explanation
}

export interface EvaluateResult {
  readonly transitions: readonly Transition[]
  /** True when the reading was older than the station's latest and was not evaluated. */
  readonly late: boolean
}

interface CompiledRule {
  readonly rule: Rule
  /** Levels most severe first, so the first that holds wins. */
  readonly levels: readonly {
    level: Level
    logic: 'any_of' | 'all_of'
    conditions: readonly Condition[]
    forMs: number
  }[]
  readonly clearForMs: number
  /** Whether any level has a `for`: then every level is evaluated on every reading to keep its timer. */
  readonly timed: boolean
}

interface RuleState {
  active: Level | null
  /** For levels with `for`: event time since when the condition has held without a break. */
  pendingSince: Map<Level, number> | undefined
  /** Event time since when a lower level than `active` has held continuously. */
  lowerSince: number | null
  /** Most severe level seen while stepping down; the step goes to this one. */
  lowerMax: Level | null
}

interface StationState {
  lastTs: number
  readonly latest: Map<string, number>
  readonly windows: Map<string, SlidingWindow>
  readonly rules: Map<string, RuleState>
}

/** Windows a rule set needs, per quantity: span and which order statistics to keep. */
interface WindowSpec {
  readonly key: string
  readonly quantity: string
  readonly spanMs: number
  trackMax: boolean
  trackMin: boolean
}

export class RulesEngine {
  private readonly byKind = new Map<string, CompiledRule[]>()
  private readonly windowSpecs = new Map<string, WindowSpec[]>()
  private readonly stations = new Map<string, StationState>()
  readonly rules: readonly Rule[]

  constructor(
    catalogues: readonly Catalogue[],
    private readonly stationInfo: (stationId: string) => StationInfo | undefined,
  ) {
    const rules: Rule[] = []
    for (const cat of catalogues) {
      for (const rule of cat.rules) {
        rules.push(rule)
        const levels = [...rule.levels]
          .sort((a, b) => rank(b.level) - rank(a.level))
          .map((l) => ({
            level: l.level,
            logic: l.any_of ? ('any_of' as const) : ('all_of' as const),
            conditions: l.any_of ?? l.all_of ?? [],
            forMs: durationMs(l.for),
          }))
        const compiled: CompiledRule = {
          rule,
          levels,
          clearForMs: durationMs(rule.clear.for),
          timed: levels.some((l) => l.forMs > 0),
        }
        for (const kind of rule.kinds) {
          const list = this.byKind.get(kind) ?? []
          list.push(compiled)
          this.byKind.set(kind, list)
          for (const l of compiled.levels) for (const c of l.conditions) this.collectWindows(kind, c)
        }
      }
    }
    this.rules = rules
  }

  private collectWindows(kind: string, c: Condition): void {
    if ('any_of' in c) return c.any_of.forEach((x) => this.collectWindows(kind, x))
    if ('all_of' in c) return c.all_of.forEach((x) => this.collectWindows(kind, x))
    if (c.agg === 'last' || c.window === undefined) return
    const key = windowKey(c.quantity, c.window)
    const specs = this.windowSpecs.get(kind) ?? []
    let spec = specs.find((s) => s.key === key)
    if (!spec) {
      spec = { key, quantity: c.quantity, spanMs: durationMs(c.window), trackMax: false, trackMin: false }
      specs.push(spec)
      this.windowSpecs.set(kind, specs)
    }
    if (c.agg === 'max') spec.trackMax = true
    if (c.agg === 'min') spec.trackMin = true
  }

  /** Rules that apply to readings of this sensor kind. */
  rulesFor(kind: string): readonly Rule[] {
    return (this.byKind.get(kind) ?? []).map((c) => c.rule)
  }

  /** The largest window span in the rule set: how much history a warm-up replay needs. */
  get maxLookbackMs(): number {
    let max = 0
    for (const specs of this.windowSpecs.values()) for (const s of specs) max = Math.max(max, s.spanMs)
    for (const list of this.byKind.values()) for (const c of list) max = Math.max(max, c.clearForMs)
    return max
  }

  /** Evaluates one reading; returns the level transitions it causes. */
  evaluate(sample: Sample): EvaluateResult {
    const station = this.station(sample.stationId)
    if (sample.ts <= station.lastTs) return { transitions: [], late: true }
    station.lastTs = sample.ts
    for (const q in sample.values) station.latest.set(q, sample.values[q]!)
    for (const spec of this.windowSpecs.get(sample.kind) ?? NONE) {
      const v = sample.values[spec.quantity]
      if (v === undefined) continue
      let w = station.windows.get(spec.key)
      if (!w) {
        w = new SlidingWindow(spec.spanMs, spec.trackMax, spec.trackMin)
        station.windows.set(spec.key, w)
      }
      w.push(sample.ts, v)
    }
    const rules = this.byKind.get(sample.kind)
    if (!rules) return { transitions: [], late: false }
    const params = this.stationInfo(sample.stationId)?.params ?? {}
    const transitions: Transition[] = []
    for (const compiled of rules) {
      const t = this.step(compiled, station, params, sample)
      if (t) transitions.push(t)
    }
    return { transitions, late: false }
  }

  /** Sets a (rule, station) pair's active level, e.g. from a warning restored after a restart. */
  restore(ruleId: string, stationId: string, level: Level | null): void {
    const st = this.ruleState(this.station(stationId), ruleId)
    st.active = level
    st.lowerSince = null
    st.lowerMax = null
  }

  /**
   * Operator reset of a latched alarm: allowed only once no level's condition holds at the
   * station's latest reading. Returns the clear transition, or the explanation of what still holds.
   */
  reset(
    ruleId: string,
    stationId: string,
  ): { ok: true; transition: Transition | undefined } | { ok: false; holds: Explanation } {
    const station = this.stations.get(stationId)
    const st = station?.rules.get(ruleId)
    const compiled = [...this.byKind.values()].flat().find((c) => c.rule.id === ruleId)
    if (!station || !st || !compiled || st.active === null) return { ok: true, transition: undefined }
    const params = this.stationInfo(stationId)?.params ?? {}
    for (const l of compiled.levels)
      if (evalLogic(l.logic, l.conditions, station, params, station.lastTs, undefined))
        return { ok: false, holds: explain(compiled, l.level, true, station, params, station.lastTs) }
    const from = st.active
    st.active = null
    st.lowerSince = null
    st.lowerMax = null
    st.pendingSince = undefined
    return {
      ok: true,
      transition: {
        ruleId,
        hazard: compiled.rule.hazard,
        stationId,
        ts: station.lastTs,
        kind: 'clear',
        from,
        to: null,
        explanation: explain(compiled, from, false, station, params, station.lastTs),
      },
    }
  }

  /** The active level of a (rule, station) pair. */
  activeLevel(ruleId: string, stationId: string): Level | null {
    return this.stations.get(stationId)?.rules.get(ruleId)?.active ?? null
  }

  private station(id: string): StationState {
    let s = this.stations.get(id)
    if (!s) {
      s = { lastTs: -Infinity, latest: new Map(), windows: new Map(), rules: new Map() }
      this.stations.set(id, s)
    }
    return s
  }

  private ruleState(station: StationState, ruleId: string): RuleState {
    let st = station.rules.get(ruleId)
    if (!st) {
      st = { active: null, pendingSince: undefined, lowerSince: null, lowerMax: null }
      station.rules.set(ruleId, st)
    }
    return st
  }

  private step(
    compiled: CompiledRule,
    station: StationState,
    params: Readonly<Record<string, number>>,
    sample: Sample,
  ): Transition | undefined {
    const { rule } = compiled
    const st = this.ruleState(station, rule.id)
    // Hot path: no explanation is built unless the level changes.
    let candidate: Level | null = null
    for (const l of compiled.levels) {
      if (candidate !== null && !compiled.timed) break
      const held = evalLogic(l.logic, l.conditions, station, params, sample.ts, undefined)
      if (l.forMs > 0) {
        // Pending until the condition has held for `for`; any reading where it fails resets it.
        const pending = (st.pendingSince ??= new Map())
        if (!held) pending.delete(l.level)
        else {
          const since = pending.get(l.level) ?? sample.ts
          pending.set(l.level, since)
          if (candidate === null && sample.ts - since >= l.forMs) candidate = l.level
        }
      } else if (held && candidate === null) candidate = l.level
    }
    if (rank(candidate) > rank(st.active)) {
      const from = st.active
      st.active = candidate
      st.lowerSince = null
      st.lowerMax = null
      const level = candidate as Level
      const explanation = explain(compiled, level, true, station, params, sample.ts)
      return {
        ...base(rule, sample),
        kind: from === null ? 'raise' : 'escalate',
        from,
        to: level,
        explanation,
      }
    }
    if (rank(candidate) === rank(st.active) || rule.latch) {
      // Same level, or a latched alarm, which only an operator's reset() lowers.
      st.lowerSince = null
      st.lowerMax = null
      return undefined
    }
    // Stepping down: only after a lower level has held for the dwell (hysteresis against flapping).
    if (st.lowerSince === null) {
      st.lowerSince = sample.ts
      st.lowerMax = candidate
    } else if (rank(candidate) > rank(st.lowerMax)) {
      st.lowerMax = candidate
    }
    if (sample.ts - st.lowerSince < compiled.clearForMs) return undefined
    const from = st.active as Level
    const to = st.lowerMax
    st.active = to
    st.lowerSince = null
    st.lowerMax = null
    return {
      ...base(rule, sample),
      kind: to === null ? 'clear' : 'deescalate',
      from,
      to,
      explanation: explain(compiled, from, false, station, params, sample.ts),
    }
  }
}

const NONE: readonly never[] = []

const base = (rule: Rule, sample: Sample) => ({
  ruleId: rule.id,
  hazard: rule.hazard,
  stationId: sample.stationId,
  ts: sample.ts,
})

/** Re-evaluates one level with every condition's values recorded (windows are idempotent at `now`). */
function explain(
  compiled: CompiledRule,
  level: Level,
  held: boolean,
  station: StationState,
  params: Readonly<Record<string, number>>,
  now: number,
): Explanation {
  const l = compiled.levels.find((x) => x.level === level)!
  const conditions: ConditionResult[] = []
  evalLogic(l.logic, l.conditions, station, params, now, conditions)
  return { level, held, conditions }
}

/** Window keys are computed once per condition, not per reading. */
const keys = new WeakMap<Comparison, string>()
const windowKey = (quantity: string, window: string): string => `${quantity}|${durationMs(window)}`
function conditionWindowKey(c: Comparison & { window: string }): string {
  let k = keys.get(c)
  if (k === undefined) {
    k = windowKey(c.quantity, c.window)
    keys.set(c, k)
  }
  return k
}

function evalLogic(
  logic: 'any_of' | 'all_of',
  conditions: readonly Condition[],
  station: StationState,
  params: Readonly<Record<string, number>>,
  now: number,
  out: ConditionResult[] | undefined,
): boolean {
  // When explaining, every branch is evaluated so the explanation shows all the values;
  // otherwise the first deciding branch ends the evaluation.
  let any = false
  let all = true
  for (const c of conditions) {
    const held = evalCondition(c, station, params, now, out)
    any ||= held
    all &&= held
    if (out === undefined && (logic === 'any_of' ? any : !all)) break
  }
  return logic === 'any_of' ? any : all
}

function evalCondition(
  c: Condition,
  station: StationState,
  params: Readonly<Record<string, number>>,
  now: number,
  out: ConditionResult[] | undefined,
): boolean {
  if ('any_of' in c) return evalLogic('any_of', c.any_of, station, params, now, out)
  if ('all_of' in c) return evalLogic('all_of', c.all_of, station, params, now, out)
  const observed = observe(c, station, now)
  const threshold = resolveThreshold(c, params)
  const held = observed !== null && threshold !== null && compare(observed, c.op, threshold)
  if (out === undefined) return held
  const refValue = c.ref !== undefined && c.offset !== undefined ? params[c.ref] : undefined
  out.push({
    quantity: c.quantity,
    agg: c.agg,
    ...(c.window !== undefined ? { window: c.window } : {}),
    op: c.op,
    observed,
    threshold,
    ...(c.ref !== undefined ? { ref: c.ref } : {}),
    ...(refValue !== undefined ? { refValue } : {}),
    held,
  })
  return held
}

function observe(c: Comparison, station: StationState, now: number): number | null {
  if (c.agg === 'last' || c.window === undefined) return station.latest.get(c.quantity) ?? null
  const w = station.windows.get(conditionWindowKey(c as Comparison & { window: string }))
  if (!w) return c.agg === 'count' ? 0 : null
  return w.value(c.agg as Aggregate, now) ?? null
}

function resolveThreshold(c: Comparison, params: Readonly<Record<string, number>>): number | null {
  const base = c.value ?? (c.ref !== undefined ? params[c.ref] : undefined)
  if (base === undefined) return null
  if (c.offset === undefined) return base
  const off = typeof c.offset === 'number' ? c.offset : params[c.offset]
  return off === undefined ? null : Math.round((base + off) * 1e9) / 1e9
}

function compare(a: number, op: Comparison['op'], b: number): boolean {
  switch (op) {
    case '>=':
      return a >= b
    case '>':
      return a > b
    case '<=':
      return a <= b
    case '<':
      return a < b
  }
}

export { LEVELS }
