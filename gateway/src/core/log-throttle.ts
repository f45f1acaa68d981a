/**
 * At most one log line per key a minute: the first at once, then one a minute saying how many were
 * suppressed in between. Bounded: under a storm of distinct keys it forgets and starts over.
 */
export class LogThrottle {
  private readonly seen = new Map<string, { last: number; suppressed: number }>()

  constructor(
    private readonly everyMs = 60_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** The number suppressed since the last line if one may be written now, else undefined. */
  allow(key: string, now: number): number | undefined {
    const entry = this.seen.get(key)
    if (entry && now - entry.last < this.everyMs) {
      entry.suppressed++
      return undefined
    }
    if (this.seen.size > this.maxKeys) this.seen.clear()
    this.seen.set(key, { last: now, suppressed: 0 })
    return entry?.suppressed ?? 0
  }
}
