/**
 * The rules engine: readings in, level transitions out. Pure: no I/O, no wall clock. Time is the
 * readings' event time, so a replay of the same readings gives the same transitions.
 */
import { DailySeries, DAY_MS, type DailyOf } from './daily.js'
import { DeriveStage, type DeriveState } from './derive.js'
import { levelsThatCannotFire } from './load.js'
import {
  type Catalogue,
  type Comparison,
  type Condition,
  durationMs,
  isDailyAgg,
  type Level,
  LEVELS,
  rank,
  type Rule,
} from './schema.js'
import type { Waveform } from './seismic.js'
import { groupPrefix, LEVEL_DIGITS } from './regions.js'
import { SlidingWindow, type Aggregate } from './window.js'

/** One reading as the rules see it: a station's quantities at an event time (epoch ms). */
export interface Sample {
  readonly stationId: string
  /** Sensor kind that produced the reading; selects the rules that apply. */
  readonly kind: string
  readonly ts: number
  readonly values: Readonly<Record<string, number>>
  /** Raw samples of a seismic batch, for the derived seismic quantities. */
  readonly waveform?: Waveform
}

/** What the engine needs to know about a station. */
export interface StationInfo {
  /** Named constants: the station's own over its region's (village over township over county). */
  readonly params: Readonly<Record<string, number>>
  /** 12-digit administrative code of the station's location; groups stations for k-of-n rules. */
  readonly region?: string | undefined
}

/** One comparison as it was evaluated: which value, against which threshold. */
export interface ConditionResult {
  readonly quantity: string
  readonly agg: Comparison['agg']
  readonly window?: string
  /** Day aggregates: the daily aggregate and, for daily_change/consecutive_days, the days. */
  readonly of?: Comparison['of']
  readonly days?: number
  readonly op: Comparison['op']
  /**
   * The value compared, or null if the quantity has not been reported (or the window is empty).
   * For consecutive_days: how many consecutive days satisfied the comparison.
   */
  readonly observed: number | null
  /** The threshold after resolving `ref`, `scale` and `offset`, or null if a constant is missing. */
  readonly threshold: number | null
  readonly ref?: string
  /** The station constant's own value when it was scaled or offset. */
  readonly refValue?: number
  /** The threshold came from the catalogue's default because no station constant was set. */
  readonly defaulted?: boolean
  /** The hysteresis margin applied because the level was already active. */
  readonly deadband?: number
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
  /**
   * k-of-n rules: the station group (region code prefix, or * for stations without one). The
   * transition's stationId is then the station that raised the group's warning, for as long as
   * it stays active, so every change of one group's warning carries the same station.
   */
  readonly group?: string
  /** … and the stations that held the level within the rule's window, earliest first. */
  readonly contributors?: readonly { readonly stationId: string; readonly ts: number }[]
}

export interface EvaluateResult {
  readonly transitions: readonly Transition[]
  /** The values the rules saw: the reading's plus the derived quantities. */
  readonly values: Readonly<Record<string, number>>
  /** True when the reading was older than the station's latest and was not evaluated. */
  readonly late: boolean
}

interface CompiledLevel {
  readonly level: Level
  readonly logic: 'any_of' | 'all_of'
  readonly conditions: readonly Condition[]
  readonly forMs: number
}

interface CompiledRule {
  readonly rule: Rule
  /** Levels most severe first, so the first that holds wins. */
  readonly levels: readonly CompiledLevel[]
  readonly clearForMs: number
  /** Whether any level has a `for`: then every level is evaluated on every reading to keep its timer. */
  readonly timed: boolean
  /** Whether any comparison has a hysteresis margin (its own or the rule's clear.deadband). */
  readonly deadband: boolean
  readonly network?: { readonly k: number; readonly withinMs: number; readonly digits: number }
  /** Keys of the windows and day series the rule's conditions read. */
  readonly keys: Set<string>
}

interface RuleState {
  /** k-of-n rules: the group of the station this state belongs to. */
  group?: GroupState
  /**
   * Whether the station lacks the constants of every level, so the rule can never fire there
   * and is not evaluated at all; decided on the station's first reading (undefined until then).
   */
  dead: boolean | undefined
  active: Level | null
  /** For levels with `for`: event time since when the condition has held without a break. */
  pendingSince: Map<Level, number> | undefined
  /** Event time since when a lower level than `active` has held continuously. */
  lowerSince: number | null
  /** Most severe level seen while stepping down; the step goes to this one. */
  lowerMax: Level | null
}

interface StationState {
  /** Latest event time evaluated at this station. */
  lastTs: number
  /**
   * Quantities evaluated at `lastTs`: another sensor of the station may report other quantities
   * at the same event time (an RTU stamps stage and rainfall alike), but a quantity again at
   * that time is a copy, and late.
   */
  readonly atLastTs: Set<string>
  readonly latest: Map<string, number>
  readonly windows: Map<string, SlidingWindow>
  readonly daily: Map<string, DailySeries>
  readonly rules: Map<string, RuleState>
  /** The same states per sensor kind, with the windows their live rules need. */
  readonly byKind: Map<string, KindState>
  readonly derive: Map<number, DeriveState>
}

interface KindState {
  readonly states: RuleState[]
  readonly windows: readonly WindowSpec[]
  readonly daily: readonly DailySpec[]
}

/** A span of event time over which a station held a level (or a higher one), sample to sample. */
interface Held {
  from: number
  to: number
  /** Still holding at the station's latest sample. */
  open: boolean
}

/**
 * How long a station's spans are kept beyond the rule's `within`: a logger's backlog arriving up to
 * this late (after an outage) is still judged against what the other stations held at its time.
 */
const GROUP_HISTORY_MS = 24 * 3_600_000

/** A k-of-n rule's state for one group of stations. */
interface GroupState {
  readonly key: string
  lastTs: number
  /** The station that raised the group's current warning: transitions carry its id throughout. */
  anchor: string | null
  /** Event time of the group's last transition: the next is never stamped before it. */
  changedTs: number
  readonly rule: RuleState
  /** Per level: each station's latest event time at which it held that level (or a higher one). */
  readonly seen: Map<Level, Map<string, number>>
  /** Per level: each station's spans of holding it, oldest first (for backlogs arriving late). */
  readonly held: Map<Level, Map<string, Held[]>>
}

/** Windows a rule set needs, per quantity: span and which order statistics to keep. */
interface WindowSpec {
  readonly key: string
  readonly quantity: string
  readonly spanMs: number
  trackMax: boolean
  trackMin: boolean
  /** The aggregates conditions read from this window (for `aggregates`, what the rules computed). */
  readonly aggs: Set<Aggregate>
  /** `{quantity}_{agg}_{span}` per aggregate, e.g. `rain_mm_sum_1h`. */
  readonly names: Map<Aggregate, string>
}

/** Day series a rule set needs: quantity, daily aggregate, days to keep. */
interface DailySpec {
  readonly key: string
  readonly quantity: string
  readonly of: DailyOf
  keepDays: number
}

/** Evaluation context, reused across readings so the hot path allocates nothing. */
interface Ctx {
  station: StationState
  params: Readonly<Record<string, number>>
  now: number
  out: ConditionResult[] | undefined
  /** When set, comparisons are relaxed by their deadband (the level is already active). */
  relax: boolean
  ruleDeadband: number
}

export class RulesEngine {
  private readonly byKind = new Map<string, CompiledRule[]>()
  private readonly byId = new Map<string, CompiledRule>()
  private readonly windowSpecs = new Map<string, WindowSpec[]>()
  private readonly dailySpecs = new Map<string, DailySpec[]>()
  private readonly stations = new Map<string, StationState>()
  private readonly groups = new Map<string, GroupState>()
  private readonly derive: DeriveStage
  private readonly ctx: Ctx = {
    station: undefined as unknown as StationState,
    params: {},
    now: 0,
    out: undefined,
    relax: false,
    ruleDeadband: 0,
  }
  readonly rules: readonly Rule[]

  constructor(
    catalogues: readonly Catalogue[],
    private readonly stationInfo: (stationId: string) => StationInfo | undefined,
  ) {
    const rules: Rule[] = []
    this.derive = new DeriveStage(catalogues.flatMap((c) => c.derive ?? []))
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
          keys: new Set(levels.flatMap((l) => l.conditions.flatMap(conditionKeys))),
          clearForMs: durationMs(rule.clear.for),
          timed: levels.some((l) => l.forMs > 0),
          deadband:
            (rule.clear.deadband ?? 0) > 0 || levels.some((l) => l.conditions.some((c) => hasDeadband(c))),
          ...(rule.network
            ? {
                network: {
                  k: rule.network.k,
                  withinMs: durationMs(rule.network.within),
                  digits: LEVEL_DIGITS[rule.network.scope],
                },
              }
            : {}),
        }
        this.byId.set(rule.id, compiled)
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
    if (isDailyAgg(c.agg)) {
      const of = c.of as DailyOf
      const key = dailyKey(c.quantity, of)
      const specs = this.dailySpecs.get(kind) ?? []
      let spec = specs.find((s) => s.key === key)
      if (!spec) {
        spec = { key, quantity: c.quantity, of, keepDays: 1 }
        specs.push(spec)
        this.dailySpecs.set(kind, specs)
      }
      spec.keepDays = Math.max(spec.keepDays, (c.days ?? 0) + 1)
      return
    }
    if (c.agg === 'last' || c.window === undefined) return
    const key = windowKey(c.quantity, c.window)
    const specs = this.windowSpecs.get(kind) ?? []
    let spec = specs.find((s) => s.key === key)
    if (!spec) {
      spec = {
        key,
        quantity: c.quantity,
        spanMs: durationMs(c.window),
        trackMax: false,
        trackMin: false,
        aggs: new Set(),
        names: new Map(),
      }
      specs.push(spec)
      this.windowSpecs.set(kind, specs)
    }
    const agg = c.agg as Aggregate
    if (!spec.aggs.has(agg)) {
      spec.aggs.add(agg)
      spec.names.set(agg, `${c.quantity}_${agg}_${spanLabel(spec.spanMs)}`)
    }
    if (c.agg === 'max') spec.trackMax = true
    if (c.agg === 'min') spec.trackMin = true
  }

  /**
   * The window aggregates the rules read for a station's readings of `kind`, as they stand at `now`
   * (a reading's event time, just after evaluating it): `{quantity}_{agg}_{span}` → value, e.g.
   * `rain_mm_sum_1h`. What a history sink stores beside the reading; empty windows are left out.
   */
  aggregates(stationId: string, kind: string, now: number): Record<string, number> | undefined {
    const station = this.stations.get(stationId)
    const k = station?.byKind.get(kind)
    if (!station || !k || k.windows.length === 0) return undefined
    let out: Record<string, number> | undefined
    for (const spec of k.windows) {
      const w = station.windows.get(spec.key)
      if (!w) continue
      for (const [agg, name] of spec.names) {
        const v = w.value(agg, now)
        if (v !== undefined) (out ??= {})[name] = v
      }
    }
    return out
  }

  /** The quantities the catalogues derive for readings of this kind (wind force, intensity…), with their units. */
  derivedQuantities(kind: string): Readonly<Record<string, string>> {
    return this.derive.quantities(kind)
  }

  /** Rules that apply to readings of this sensor kind. */
  rulesFor(kind: string): readonly Rule[] {
    return (this.byKind.get(kind) ?? []).map((c) => c.rule)
  }

  /** How much history a warm-up replay needs: the longest window, day run or dwell. */
  get maxLookbackMs(): number {
    let max = 0
    for (const specs of this.windowSpecs.values()) for (const s of specs) max = Math.max(max, s.spanMs)
    for (const specs of this.dailySpecs.values())
      for (const s of specs) max = Math.max(max, s.keepDays * DAY_MS)
    for (const list of this.byKind.values())
      for (const c of list) max = Math.max(max, c.clearForMs, c.network?.withinMs ?? 0)
    return max
  }

  /** Evaluates one reading; returns the level transitions it causes. */
  evaluate(sample: Sample): EvaluateResult {
    const station = this.station(sample.stationId)
    if (sample.ts < station.lastTs) return { transitions: [], values: sample.values, late: true }
    if (sample.ts === station.lastTs) {
      for (const q in sample.values)
        if (station.atLastTs.has(q)) return { transitions: [], values: sample.values, late: true }
    } else {
      station.lastTs = sample.ts
      station.atLastTs.clear()
    }
    for (const q in sample.values) station.atLastTs.add(q)
    const values = this.derive.has(sample.kind)
      ? this.derive.apply(sample.kind, sample.ts, sample.values, sample.waveform, station.derive)
      : sample.values
    for (const q in values) station.latest.set(q, values[q]!)
    const info = this.stationInfo(sample.stationId)
    const params = info?.params ?? {}
    const k = this.kindState(station, sample.kind, params)
    for (const spec of k.windows) {
      const v = values[spec.quantity]
      if (v === undefined) continue
      let w = station.windows.get(spec.key)
      if (!w) {
        w = new SlidingWindow(spec.spanMs, spec.trackMax, spec.trackMin)
        station.windows.set(spec.key, w)
      }
      w.push(sample.ts, v)
    }
    for (const spec of k.daily) {
      const v = values[spec.quantity]
      if (v === undefined) continue
      let d = station.daily.get(spec.key)
      if (!d) {
        d = new DailySeries(spec.of, spec.keepDays)
        station.daily.set(spec.key, d)
      }
      d.push(sample.ts, v)
    }
    const rules = this.byKind.get(sample.kind)
    if (!rules) return { transitions: NONE, values, late: false }
    const states = k.states
    let transitions: Transition[] | undefined
    for (let i = 0; i < rules.length; i++) {
      const compiled = rules[i]!
      const st = states[i]!
      if (st.dead) continue
      const t = compiled.network
        ? this.stepGroup(compiled, st, station, params, info?.region, sample)
        : this.step(compiled, st, station, params, sample)
      if (t) (transitions ??= []).push(t)
    }
    return { transitions: transitions ?? NONE, values, late: false }
  }

  /** Sets a (rule, station) pair's active level, e.g. from a warning restored after a restart. */
  restore(ruleId: string, stationId: string, level: Level | null): void {
    const compiled = this.byId.get(ruleId)
    let st: RuleState
    if (compiled?.network) {
      const g = this.group(compiled, this.stationInfo(stationId)?.region)
      g.anchor = level === null ? null : stationId
      st = g.rule
    } else st = this.ruleState(this.station(stationId), ruleId)
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
    const compiled = this.byId.get(ruleId)
    if (!station || !compiled) return { ok: true, transition: undefined }
    const region = this.stationInfo(stationId)?.region
    const g = compiled.network ? this.group(compiled, region) : undefined
    const st = g ? g.rule : station.rules.get(ruleId)
    if (!st || st.active === null) return { ok: true, transition: undefined }
    if (g) g.anchor = null
    const params = this.stationInfo(stationId)?.params ?? {}
    for (const l of compiled.levels)
      if (this.holds(compiled, l, station, params, station.lastTs, false))
        return { ok: false, holds: this.explain(compiled, l.level, true, station, params, station.lastTs) }
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
        explanation: this.explain(compiled, from, false, station, params, station.lastTs),
      },
    }
  }

  /** The active level of a (rule, station) pair (for k-of-n rules, of the station's group). */
  activeLevel(ruleId: string, stationId: string): Level | null {
    const compiled = this.byId.get(ruleId)
    if (compiled?.network) {
      const key = groupKey(compiled, this.stationInfo(stationId)?.region)
      return this.groups.get(`${ruleId}|${key}`)?.rule.active ?? null
    }
    return this.stations.get(stationId)?.rules.get(ruleId)?.active ?? null
  }

  private station(id: string): StationState {
    let s = this.stations.get(id)
    if (!s) {
      s = {
        lastTs: -Infinity,
        atLastTs: new Set(),
        latest: new Map(),
        windows: new Map(),
        daily: new Map(),
        rules: new Map(),
        byKind: new Map(),
        derive: new Map(),
      }
      this.stations.set(id, s)
    }
    return s
  }

  /**
   * A station's rule states for one sensor kind, in the order of the kind's rules, and the windows
   * and day series its live rules read. Rules whose constants the station lacks entirely are dead
   * there: never evaluated, and their windows never kept.
   */
  private kindState(
    station: StationState,
    kind: string,
    params: Readonly<Record<string, number>>,
  ): KindState {
    let k = station.byKind.get(kind)
    if (k) return k
    const rules = this.byKind.get(kind) ?? NONE
    const states = rules.map((c) => {
      const st = this.ruleState(station, c.rule.id)
      st.dead ??= levelsThatCannotFire(c.rule, params).length === c.levels.length
      return st
    })
    const live = rules.filter((_, i) => !states[i]!.dead)
    const needed = new Set(live.flatMap((c) => [...c.keys]))
    k = {
      states,
      windows: (this.windowSpecs.get(kind) ?? NONE).filter((s) => needed.has(s.key)),
      daily: (this.dailySpecs.get(kind) ?? NONE).filter((s) => needed.has(s.key)),
    }
    station.byKind.set(kind, k)
    return k
  }

  private group(compiled: CompiledRule, region: string | undefined): GroupState {
    const key = groupKey(compiled, region)
    const id = `${compiled.rule.id}|${key}`
    let g = this.groups.get(id)
    if (!g) {
      g = {
        key,
        lastTs: -Infinity,
        anchor: null,
        changedTs: -Infinity,
        rule: newRuleState(),
        seen: new Map(),
        held: new Map(),
      }
      this.groups.set(id, g)
    }
    return g
  }

  private ruleState(station: StationState, ruleId: string): RuleState {
    let st = station.rules.get(ruleId)
    if (!st) {
      st = newRuleState()
      station.rules.set(ruleId, st)
    }
    return st
  }

  /** Whether a level's conditions hold; `relax` applies the deadbands of an active level. */
  private holds(
    compiled: CompiledRule,
    l: CompiledLevel,
    station: StationState,
    params: Readonly<Record<string, number>>,
    now: number,
    relax: boolean,
    out?: ConditionResult[],
  ): boolean {
    const ctx = this.ctx
    ctx.station = station
    ctx.params = params
    ctx.now = now
    ctx.out = out
    ctx.relax = relax
    ctx.ruleDeadband = compiled.rule.clear.deadband ?? 0
    return evalLogic(l.logic, l.conditions, ctx)
  }

  /** Re-evaluates one level with every condition's values recorded (windows are idempotent at `now`). */
  private explain(
    compiled: CompiledRule,
    level: Level,
    held: boolean,
    station: StationState,
    params: Readonly<Record<string, number>>,
    now: number,
    relax = false,
  ): Explanation {
    const l = compiled.levels.find((x) => x.level === level)!
    const conditions: ConditionResult[] = []
    this.holds(compiled, l, station, params, now, relax, conditions)
    return { level, held, conditions }
  }

  /**
   * The most severe level whose condition holds at this reading (and, with `for`, has held long
   * enough). Pending timers live in `st`.
   */
  private candidate(
    compiled: CompiledRule,
    st: RuleState,
    station: StationState,
    params: Readonly<Record<string, number>>,
    ts: number,
  ): Level | null {
    let candidate: Level | null = null
    for (const l of compiled.levels) {
      if (candidate !== null && !compiled.timed) break
      const held = this.holds(compiled, l, station, params, ts, false)
      if (l.forMs > 0) {
        // Pending until the condition has held for `for`; any reading where it fails resets it.
        const pending = (st.pendingSince ??= new Map())
        if (!held) pending.delete(l.level)
        else {
          const since = pending.get(l.level) ?? ts
          pending.set(l.level, since)
          if (candidate === null && ts - since >= l.forMs) candidate = l.level
        }
      } else if (held && candidate === null) candidate = l.level
    }
    return candidate
  }

  /**
   * Moves a rule state toward `candidate`: up at once, down only after the lower level has held
   * for clear.for, never for a latched rule. Returns the change, if any.
   */
  private settle(
    compiled: CompiledRule,
    st: RuleState,
    candidate: Level | null,
    ts: number,
  ): { kind: TransitionKind; from: Level | null; to: Level | null } | undefined {
    if (rank(candidate) > rank(st.active)) {
      const from = st.active
      st.active = candidate
      st.lowerSince = null
      st.lowerMax = null
      return { kind: from === null ? 'raise' : 'escalate', from, to: candidate }
    }
    if (rank(candidate) === rank(st.active) || compiled.rule.latch) {
      // Same level, or a latched alarm, which only an operator's reset() lowers.
      st.lowerSince = null
      st.lowerMax = null
      return undefined
    }
    // Stepping down: only after a lower level has held for the dwell (hysteresis against flapping).
    if (st.lowerSince === null) {
      st.lowerSince = ts
      st.lowerMax = candidate
    } else if (rank(candidate) > rank(st.lowerMax)) {
      st.lowerMax = candidate
    }
    if (ts - st.lowerSince < compiled.clearForMs) return undefined
    const from = st.active as Level
    const to = st.lowerMax
    st.active = to
    st.lowerSince = null
    st.lowerMax = null
    return { kind: to === null ? 'clear' : 'deescalate', from, to }
  }

  private step(
    compiled: CompiledRule,
    st: RuleState,
    station: StationState,
    params: Readonly<Record<string, number>>,
    sample: Sample,
  ): Transition | undefined {
    // Hot path: no explanation is built unless the level changes.
    let candidate = this.candidate(compiled, st, station, params, sample.ts)
    if (st.active !== null && rank(candidate) < rank(st.active) && compiled.deadband) {
      // Inside the deadband the active level still holds.
      const active = compiled.levels.find((l) => l.level === st.active)!
      if (this.holds(compiled, active, station, params, sample.ts, true)) candidate = st.active
    }
    const change = this.settle(compiled, st, candidate, sample.ts)
    if (!change) return undefined
    const up = change.kind === 'raise' || change.kind === 'escalate'
    const level = (up ? change.to : change.from) as Level
    return {
      ...base(compiled.rule, sample),
      ...change,
      explanation: this.explain(compiled, level, up, station, params, sample.ts, !up),
    }
  }

  /**
   * k-of-n: the station's own level feeds its group; the group's level is what warns. The group
   * runs on its latest event time: a level holds when k stations held it within `within` before it.
   * A sample older than that window (a logger's backlog after an outage) is judged at its own time
   * against the spans the other stations held then, and can raise or escalate the group (the
   * confirmation it was missing) but never lower it.
   */
  private stepGroup(
    compiled: CompiledRule,
    st: RuleState,
    station: StationState,
    params: Readonly<Record<string, number>>,
    region: string | undefined,
    sample: Sample,
  ): Transition | undefined {
    const net = compiled.network!
    const own = this.candidate(compiled, st, station, params, sample.ts)
    const g = (st.group ??= this.group(compiled, region))
    this.recordHeld(g, compiled, own, sample)
    if (sample.ts <= g.lastTs - net.withinMs) return this.stepGroupLate(compiled, g, station, params, sample)
    g.lastTs = Math.max(g.lastTs, sample.ts)
    const now = g.lastTs
    for (const l of compiled.levels) {
      let seen = g.seen.get(l.level)
      if (rank(own) >= rank(l.level)) {
        if (!seen) g.seen.set(l.level, (seen = new Map()))
        seen.set(sample.stationId, sample.ts)
      }
      if (seen) for (const [id, ts] of seen) if (ts <= now - net.withinMs) seen.delete(id)
    }
    let candidate: Level | null = null
    for (const l of compiled.levels)
      if ((g.seen.get(l.level)?.size ?? 0) >= net.k) {
        candidate = l.level
        break
      }
    const change = this.settle(compiled, g.rule, candidate, now)
    if (!change) return undefined
    const up = change.kind === 'raise' || change.kind === 'escalate'
    const level = (up ? change.to : change.from) as Level
    const contributors = [...(g.seen.get(level)?.entries() ?? [])]
      .map(([stationId, ts]) => ({ stationId, ts }))
      .sort((a, b) => a.ts - b.ts || a.stationId.localeCompare(b.stationId))
    const anchor = g.anchor ?? sample.stationId
    g.anchor = change.to === null ? null : anchor
    // A rise is stamped when the k-th station began holding within the window, which is earlier
    // than the group's time when a station's readings came late; never before the last change.
    const ts = up ? Math.max(this.confirmedAt(g, compiled, level, now), g.changedTs) : now
    g.changedTs = Math.max(g.changedTs, ts)
    return {
      ...base(compiled.rule, sample),
      stationId: anchor,
      ts,
      ...change,
      explanation: this.explain(compiled, level, up, station, params, sample.ts),
      group: g.key,
      contributors,
    }
  }

  /**
   * When the group came to hold `level` at `now`: each station's earliest moment of holding it
   * within (now − within, now], and of those the k-th earliest.
   */
  private confirmedAt(g: GroupState, compiled: CompiledRule, level: Level, now: number): number {
    const { k, withinMs } = compiled.network!
    const since: number[] = []
    for (const [id] of g.seen.get(level) ?? []) {
      const spans = g.held.get(level)?.get(id) ?? []
      const first = spans.find((h) => h.to > now - withinMs && h.from <= now)
      if (first) since.push(Math.max(first.from, now - withinMs + 1))
    }
    since.sort((a, b) => a - b)
    return since[k - 1] ?? now
  }

  /** Extends or opens the station's spans of holding each level, dropping those too old to matter. */
  private recordHeld(g: GroupState, compiled: CompiledRule, own: Level | null, sample: Sample): void {
    const horizon = Math.max(g.lastTs, sample.ts) - compiled.network!.withinMs - GROUP_HISTORY_MS
    for (const l of compiled.levels) {
      let byStation = g.held.get(l.level)
      if (!byStation) g.held.set(l.level, (byStation = new Map()))
      let spans = byStation.get(sample.stationId)
      const last = spans?.at(-1)
      if (rank(own) >= rank(l.level)) {
        if (last?.open) last.to = sample.ts
        else {
          if (!spans) byStation.set(sample.stationId, (spans = []))
          spans.push({ from: sample.ts, to: sample.ts, open: true })
        }
      } else if (last) last.open = false
      if (spans) {
        while (spans.length > 0 && spans[0]!.to <= horizon) spans.shift()
        if (spans.length === 0) byStation.delete(sample.stationId)
      }
    }
  }

  /** A k-of-n sample older than the group's window: judged at its own time t, raising only. */
  private stepGroupLate(
    compiled: CompiledRule,
    g: GroupState,
    station: StationState,
    params: Readonly<Record<string, number>>,
    sample: Sample,
  ): Transition | undefined {
    const net = compiled.network!
    const t = sample.ts
    for (const l of compiled.levels) {
      if (rank(l.level) <= rank(g.rule.active)) break // only a rise can come of it
      const contributors: { stationId: string; ts: number }[] = []
      for (const [stationId, spans] of g.held.get(l.level) ?? []) {
        let latest = -Infinity
        for (const h of spans)
          if (h.from <= t && h.to > t - net.withinMs) latest = Math.max(latest, Math.min(h.to, t))
        if (latest > -Infinity) contributors.push({ stationId, ts: latest })
      }
      if (contributors.length < net.k) continue
      const change = this.settle(compiled, g.rule, l.level, t)
      if (!change) return undefined
      contributors.sort((a, b) => a.ts - b.ts || a.stationId.localeCompare(b.stationId))
      const anchor = g.anchor ?? sample.stationId
      g.anchor = anchor
      const ts = Math.max(t, g.changedTs)
      g.changedTs = ts
      return {
        ...base(compiled.rule, sample),
        stationId: anchor,
        ts,
        ...change,
        explanation: this.explain(compiled, l.level, true, station, params, t),
        group: g.key,
        contributors,
      }
    }
    return undefined
  }
}

const NONE: readonly never[] = []

const newRuleState = (): RuleState => ({
  dead: undefined,
  active: null,
  pendingSince: undefined,
  lowerSince: null,
  lowerMax: null,
})

const groupKey = (compiled: CompiledRule, region: string | undefined): string =>
  groupPrefix(region, compiled.network!.digits)

const base = (rule: Rule, sample: Sample) => ({
  ruleId: rule.id,
  hazard: rule.hazard,
  stationId: sample.stationId,
  ts: sample.ts,
})

function conditionKeys(c: Condition): string[] {
  if ('any_of' in c) return c.any_of.flatMap(conditionKeys)
  if ('all_of' in c) return c.all_of.flatMap(conditionKeys)
  return c.agg === 'last' ? [] : [conditionKey(c)]
}

function hasDeadband(c: Condition): boolean {
  if ('any_of' in c) return c.any_of.some(hasDeadband)
  if ('all_of' in c) return c.all_of.some(hasDeadband)
  return (c.deadband ?? 0) > 0
}

/** Window keys are computed once per condition, not per reading. */
/** `3600000` → `1h`, `1800000` → `30m`: a window's span as the catalogues write it. */
export function spanLabel(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ]
  for (const [u, s] of units) if (ms % u === 0) return `${ms / u}${s}`
  return `${ms}ms`
}

const windowKey = (quantity: string, window: string): string => `${quantity}|${durationMs(window)}`
const dailyKey = (quantity: string, of: DailyOf): string => `${quantity}|day|${of}`
/**
 * The key is kept on the comparison itself under a symbol (it depends only on the comparison, so
 * engines sharing a parsed catalogue agree); a property read is cheaper than a WeakMap lookup.
 */
const KEY = Symbol('shaobing.windowKey')
function conditionKey(c: Comparison): string {
  const holder = c as Comparison & { [KEY]?: string }
  let k = holder[KEY]
  if (k === undefined) {
    k = isDailyAgg(c.agg) ? dailyKey(c.quantity, c.of as DailyOf) : windowKey(c.quantity, c.window!)
    Object.defineProperty(holder, KEY, { value: k, enumerable: false })
  }
  return k
}

function evalLogic(logic: 'any_of' | 'all_of', conditions: readonly Condition[], ctx: Ctx): boolean {
  // When explaining, every branch is evaluated so the explanation shows all the values;
  // otherwise the first deciding branch ends the evaluation.
  let any = false
  let all = true
  for (const c of conditions) {
    const held = evalCondition(c, ctx)
    any ||= held
    all &&= held
    if (ctx.out === undefined && (logic === 'any_of' ? any : !all)) break
  }
  return logic === 'any_of' ? any : all
}

function evalCondition(c: Condition, ctx: Ctx): boolean {
  if ('any_of' in c) return evalLogic('any_of', c.any_of, ctx)
  if ('all_of' in c) return evalLogic('all_of', c.all_of, ctx)
  const { params } = ctx
  if (ctx.out === undefined && !ctx.relax && c.agg !== 'consecutive_days') {
    // Hot path: nothing to record, no deadband; a quantity not reported decides at once.
    const observed = observe(c, ctx)
    if (observed === null) return false
    const t = resolveThreshold(
      c,
      c.value ?? (c.ref !== undefined ? params[c.ref] : undefined) ?? c.default,
      params,
    )
    return t !== null && compare(observed, c.op, t)
  }
  const base = c.value ?? (c.ref !== undefined ? params[c.ref] : undefined)
  const defaulted = base === undefined && c.default !== undefined
  let threshold = resolveThreshold(c, base ?? c.default, params)
  const deadband = ctx.relax ? (c.deadband ?? ctx.ruleDeadband) : 0
  if (threshold !== null && deadband > 0)
    threshold = snap(c.op === '>=' || c.op === '>' ? threshold - deadband : threshold + deadband)
  let observed: number | null
  let held: boolean
  if (c.agg === 'consecutive_days') {
    const series = ctx.station.daily.get(conditionKey(c))
    const t = threshold
    observed = series && t !== null ? series.run(ctx.now, (v) => compare(v, c.op, t)) : 0
    held = t !== null && observed >= c.days!
  } else {
    observed = observe(c, ctx)
    held = observed !== null && threshold !== null && compare(observed, c.op, threshold)
  }
  const out = ctx.out
  if (out === undefined) return held
  const refValue =
    c.ref !== undefined && (c.offset !== undefined || c.scale !== undefined) ? params[c.ref] : undefined
  out.push({
    quantity: c.quantity,
    agg: c.agg,
    ...(c.window !== undefined ? { window: c.window } : {}),
    ...(c.of !== undefined ? { of: c.of } : {}),
    ...(c.days !== undefined ? { days: c.days } : {}),
    op: c.op,
    observed,
    threshold,
    ...(c.ref !== undefined ? { ref: c.ref } : {}),
    ...(refValue !== undefined ? { refValue } : {}),
    ...(defaulted ? { defaulted: true } : {}),
    ...(deadband > 0 ? { deadband } : {}),
    held,
  })
  return held
}

function observe(c: Comparison, ctx: Ctx): number | null {
  const { station, now } = ctx
  if (c.agg === 'last') return station.latest.get(c.quantity) ?? null
  if (c.agg === 'daily' || c.agg === 'daily_change') {
    const series = station.daily.get(conditionKey(c))
    const today = series?.value(now)
    if (today === undefined) return null
    if (c.agg === 'daily') return today
    const before = series!.value(now, c.days)
    return before === undefined ? null : snap(today - before)
  }
  const w = station.windows.get(conditionKey(c))
  if (!w) return c.agg === 'count' ? 0 : null
  return w.value(c.agg as Aggregate, now) ?? null
}

const snap = (x: number): number => Math.round(x * 1e9) / 1e9

/** A comparison's threshold from its base value (constant, station constant or default); null if a constant is missing. */
export function resolveThreshold(
  c: Comparison,
  base: number | undefined,
  params: Readonly<Record<string, number>>,
): number | null {
  if (base === undefined) return null
  if (c.offset === undefined && c.scale === undefined) return base
  const scale = c.scale === undefined ? 1 : typeof c.scale === 'number' ? c.scale : params[c.scale]
  const off = c.offset === undefined ? 0 : typeof c.offset === 'number' ? c.offset : params[c.offset]
  return off === undefined || scale === undefined ? null : snap(base * scale + off)
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
