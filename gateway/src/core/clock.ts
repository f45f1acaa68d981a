/**
 * The gateway's wall clock never runs backward. Every deadline the gateway keeps (approval
 * timeouts, escalation, flap holds, silences, expiry, retries, the faults' no-data timers) is an
 * absolute wall-clock time, so a clock stepped back by NTP or an operator would otherwise hold each
 * of them back by the step: a red warning's two-minute approval timeout would wait an hour. When the
 * source steps back, this clock keeps counting from where it was (it adds the step to everything
 * after), so what is due stays due and what is pending comes after the same elapsed time. A step
 * forward is taken as it is: what falls due in it fires, once, on the next tick.
 */

/** A clock that follows `source` but never goes below a time it has already returned. */
export interface SteadyClock {
  (): number
  /** How far ahead of the source this clock runs, ms (the sum of the backward steps seen). */
  readonly offsetMs: number
}

/**
 * Wraps `source`; `onStepBack(stepMs, from, to)` hears of each step back of the source (from the
 * last time returned to the source's new time, plus the offset so far), once per step.
 */
export function steadyClock(
  source: () => number,
  onStepBack: (stepMs: number, from: number, to: number) => void = () => {},
): SteadyClock {
  let offset = 0
  let last = Number.NEGATIVE_INFINITY
  const read = (): number => {
    const t = source() + offset
    if (t < last) {
      const step = last - t
      offset += step
      onStepBack(step, last, t)
      return last
    }
    last = t
    return t
  }
  return Object.defineProperty(read, 'offsetMs', { get: () => offset }) as SteadyClock
}
