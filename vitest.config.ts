import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real processes and cgroups; two cores do not gain from many workers.
    maxWorkers: 2,
    fileParallelism: true,
    // CI machines are shared and these tests run real control planes and processes: a failed test is
    // retried once there (and reported as flaky by vitest); locally a failure stays a failure.
    retry: process.env.CI ? 1 : 0,
  },
})
