import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Integration suites start real brokers and child processes; keep them off each other's CPU.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    include: ['tests/**/*.test.ts'],
    reporters: ['default', './tests/helpers/summary-reporter.ts'],
  },
})
