/**
 * Incremental sliding window over event time: each push and each read costs amortised O(1),
 * however long the window, so a 24 h rain sum costs what a 10 min one does.
 *
 * The window at time `now` holds the samples with `now - span < ts <= now`.
 */
/**
 * `delta`: newest minus oldest value in the window; `rate_per_h`: that change per hour of the time
 * between them (a rise rate, m/h for a stage). Both need two samples in the window.
 */
export type Aggregate = 'sum' | 'mean' | 'min' | 'max' | 'count' | 'delta' | 'rate_per_h'

/** Sums are snapped to this resolution so 0.1 mm tips add up to exactly 100 mm at a threshold. */
const SNAP = 1e9
export const snap = (x: number): number => Math.round(x * SNAP) / SNAP

export class SlidingWindow {
  /** Sample times and values; entries before `head` have left the window. */
  private readonly ts: number[] = []
  private readonly vs: number[] = []
  private head = 0
  private sum = 0
  /** Indices into ts/vs whose values are decreasing (front = max) / increasing (front = min). */
  private readonly maxQ: number[] = []
  private maxHead = 0
  private readonly minQ: number[] = []
  private minHead = 0

  constructor(
    readonly spanMs: number,
    private readonly trackMax: boolean,
    private readonly trackMin: boolean,
  ) {}

  push(ts: number, v: number): void {
    const i = this.ts.length
    this.ts.push(ts)
    this.vs.push(v)
    this.sum += v
    if (this.trackMax) {
      while (this.maxQ.length > this.maxHead && this.vs[this.maxQ[this.maxQ.length - 1]!]! <= v)
        this.maxQ.pop()
      this.maxQ.push(i)
    }
    if (this.trackMin) {
      while (this.minQ.length > this.minHead && this.vs[this.minQ[this.minQ.length - 1]!]! >= v)
        this.minQ.pop()
      this.minQ.push(i)
    }
    // A window no condition reads for a while (a branch never reached) must not grow without end:
    // once its oldest sample is two spans old, evict (so it holds at most two spans).
    if (ts - this.ts[this.head]! > 2 * this.spanMs) this.evict(ts)
  }

  /** Drops samples that are no longer inside the window at `now`. */
  evict(now: number): void {
    const cutoff = now - this.spanMs
    while (this.head < this.ts.length && this.ts[this.head]! <= cutoff) {
      this.sum -= this.vs[this.head]!
      this.head++
    }
    while (this.maxHead < this.maxQ.length && this.maxQ[this.maxHead]! < this.head) this.maxHead++
    while (this.minHead < this.minQ.length && this.minQ[this.minHead]! < this.head) this.minHead++
    if (this.head === this.ts.length) this.sum = 0 // an empty window has no rounding residue
    if (this.head > 1024 && this.head * 2 > this.ts.length) this.compact()
  }

  get count(): number {
    return this.ts.length - this.head
  }

  /** The aggregate at `now`; undefined when the window is empty (except count, which is 0). */
  value(agg: Aggregate, now: number): number | undefined {
    this.evict(now)
    const n = this.count
    if (agg === 'count') return n
    if (n === 0) return undefined
    switch (agg) {
      case 'sum':
        return snap(this.sum)
      case 'mean':
        return snap(this.sum / n)
      case 'max':
        return this.vs[this.maxQ[this.maxHead]!]
      case 'min':
        return this.vs[this.minQ[this.minHead]!]
      case 'delta':
      case 'rate_per_h': {
        if (n < 2) return undefined
        const last = this.vs.length - 1
        const change = this.vs[last]! - this.vs[this.head]!
        if (agg === 'delta') return snap(change)
        return snap((change * 3_600_000) / (this.ts[last]! - this.ts[this.head]!))
      }
    }
  }

  /** Moves the live part of the arrays to the front so memory stays bounded by the window. */
  private compact(): void {
    const shift = this.head
    this.ts.splice(0, shift)
    this.vs.splice(0, shift)
    this.head = 0
    const rebase = (q: number[], h: number): number => {
      q.splice(0, h)
      for (let k = 0; k < q.length; k++) q[k]! -= shift
      return 0
    }
    this.maxHead = rebase(this.maxQ, this.maxHead)
    this.minHead = rebase(this.minQ, this.minHead)
    // Recompute the running sum from scratch now and then so float error cannot accumulate.
    this.sum = this.vs.reduce((a, b) => a + b, 0)
  }
}
