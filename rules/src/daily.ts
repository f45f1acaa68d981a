/**
 * Per-day aggregates of one quantity, for rules that speak in days: "Tmax ≥ 35 °C on three
 * consecutive days" (high temperature), "the daily minimum fell 10 °C in 24 h" (cold wave).
 *
 * Days are calendar days in Beijing time (UTC+8), the time of China's warning signals. Each push
 * and read is O(1); only the last `keepDays` days are kept.
 */
export type DailyOf = 'max' | 'min' | 'sum' | 'mean'

export const DAY_MS = 86_400_000
/** Beijing time is UTC+8 all year. */
export const BEIJING_OFFSET_MS = 8 * 3_600_000
export const dayOf = (ts: number): number => Math.floor((ts + BEIJING_OFFSET_MS) / DAY_MS)

export class DailySeries {
  /** Day numbers (ascending) and their running aggregates; sums and counts for means. */
  private readonly days: number[] = []
  private readonly acc: number[] = []
  private readonly n: number[] = []

  constructor(
    private readonly of: DailyOf,
    private readonly keepDays: number,
  ) {}

  push(ts: number, v: number): void {
    const d = dayOf(ts)
    const last = this.days.length - 1
    if (last >= 0 && this.days[last] === d) {
      const a = this.acc[last]!
      this.acc[last] = this.of === 'max' ? Math.max(a, v) : this.of === 'min' ? Math.min(a, v) : a + v
      this.n[last]!++
      return
    }
    if (last >= 0 && d < this.days[last]!) return // older than the newest day: too late to count
    this.days.push(d)
    this.acc.push(v)
    this.n.push(1)
    if (this.days.length > this.keepDays) {
      this.days.shift()
      this.acc.shift()
      this.n.shift()
    }
  }

  /** The aggregate of the day `back` days before the day of `now` (0 = that day so far). */
  value(now: number, back = 0): number | undefined {
    const d = dayOf(now) - back
    for (let i = this.days.length - 1; i >= 0; i--) {
      if (this.days[i]! === d) return this.at(i)
      if (this.days[i]! < d) return undefined
    }
    return undefined
  }

  /**
   * How many consecutive days up to `now` qualify. The current day counts once it qualifies;
   * until then it is undecided and the run ending the day before stands. A day without data
   * breaks the run.
   */
  run(now: number, qualifies: (v: number) => boolean): number {
    const today = dayOf(now)
    let count = 0
    let i = this.days.length - 1
    if (i >= 0 && this.days[i] === today) {
      if (qualifies(this.at(i))) count++
      i--
    }
    for (let expect = today - 1; i >= 0 && this.days[i] === expect && qualifies(this.at(i)); i--, expect--)
      count++
    return count
  }

  private at(i: number): number {
    const a = this.acc[i]!
    return Math.round((this.of === 'mean' ? a / this.n[i]! : a) * 1e9) / 1e9
  }
}
