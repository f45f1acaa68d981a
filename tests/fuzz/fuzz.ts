/**
 * What every fuzz suite shares: the seed (FUZZ_SEED overrides the fixed one, so a failure's seed
 * replays it), and `check`, which runs a fast-check property with that seed, counts its inputs on
 * the test (`meta.fuzzInputs`, summed by tests/helpers/summary-reporter.ts into one line) and
 * lets fast-check's own report (seed, path, counterexample) reach the failure message.
 */
import fc from 'fast-check'
import type { TestContext } from 'vitest'

/** The seed of every fuzz suite: FUZZ_SEED, or a fixed one so CI runs are repeatable. */
export const SEED: number = (() => {
  const env = process.env.FUZZ_SEED
  if (env === undefined || env === '') return 17_017
  const n = Number(env)
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer, not ${env}`)
  return n
})()

/** Runs a synchronous property `numRuns` times with SEED, counting the runs on the test. */
export function check<Ts extends [unknown, ...unknown[]]>(
  ctx: TestContext,
  numRuns: number,
  arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (...args: Ts) => void,
): void {
  let runs = 0
  const prop = fc.property(...arbs, (...args: Ts) => {
    runs++
    predicate(...args)
  })
  try {
    fc.assert(prop, { seed: SEED, numRuns })
  } finally {
    ctx.task.meta.fuzzInputs = (ctx.task.meta.fuzzInputs ?? 0) + runs
    ctx.task.meta.fuzzSeed = SEED
  }
}

/** The asynchronous form of `check`. */
export async function checkAsync<Ts extends [unknown, ...unknown[]]>(
  ctx: TestContext,
  numRuns: number,
  arbs: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> },
  predicate: (...args: Ts) => Promise<void>,
): Promise<void> {
  let runs = 0
  const prop = fc.asyncProperty(...arbs, async (...args: Ts) => {
    runs++
    await predicate(...args)
  })
  try {
    await fc.assert(prop, { seed: SEED, numRuns })
  } finally {
    ctx.task.meta.fuzzInputs = (ctx.task.meta.fuzzInputs ?? 0) + runs
    ctx.task.meta.fuzzSeed = SEED
  }
}

/** Arbitrary text: unicode, control characters and the characters parsers care about. */
export const anyText = (maxLength = 200): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: fc.constantFrom(...'{}[]":,/\\#+$\n\t -_.:<>&\'0123456789eE'.split('')), maxLength }),
  )

/** Arbitrary JSON values, deep and wide enough to reach every branch of a schema. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 4 })
