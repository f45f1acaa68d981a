/** Waiting helpers shared by the integration tests: a hand-moved clock, polling, a seeded PRNG. */
import { setTimeout as sleepMs } from 'node:timers/promises'

/** A wall clock the test moves by hand; pass `now` to the gateway. */
export function clock(start = Date.UTC(2026, 6, 15, 8)) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

/** Polls `get` every 25 ms until `ok` holds; fails with `what` and the last value after `ms`. */
export async function until<T>(
  get: () => T | Promise<T>,
  ok: (v: T) => boolean,
  what: string,
  ms = 8000,
): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 600)}`)
    await sleepMs(25)
  }
}

/** The simulators' seeded PRNG (mulberry32), for reproducible test signals. */
export { mulberry32 as prng } from '../../sensors-sim/src/prng.js'
