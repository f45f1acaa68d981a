/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after vitest's own summary, so
 * any CI can read the outcome without knowing vitest's format; when fuzz suites ran (tests/fuzz/),
 * a line before it with the inputs they generated in total (each test's `meta.fuzzInputs`).
 */
import type { Reporter, TestModule } from 'vitest/node'

declare module 'vitest' {
  interface TaskMeta {
    /** Inputs a fuzz test generated (tests/fuzz/fuzz.ts). */
    fuzzInputs?: number
    /** The seed they were generated from. */
    fuzzSeed?: number
  }
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const n = { passed: 0, failed: 0, skipped: 0 }
    let fuzzInputs = 0
    let fuzzTests = 0
    const seeds = new Set<number>()
    for (const m of modules)
      for (const t of m.children.allTests()) {
        const state = t.result().state
        if (state === 'passed') n.passed++
        else if (state === 'failed') n.failed++
        else n.skipped++
        const inputs = t.meta().fuzzInputs
        if (inputs !== undefined) {
          fuzzInputs += inputs
          fuzzTests++
          if (t.meta().fuzzSeed !== undefined) seeds.add(t.meta().fuzzSeed!)
        }
      }
    if (fuzzTests > 0)
      process.stdout.write(
        `\nfuzz: ${fuzzInputs} generated inputs in ${fuzzTests} tests, seed ${[...seeds].join(', ')} (FUZZ_SEED=n replays another)\n`,
      )
    process.stdout.write(`\n${n.passed} passed, ${n.failed} failed, ${n.skipped} skipped\n`)
  }
}
