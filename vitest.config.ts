import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real processes and cgroups; two cores do not gain from many workers.
    maxWorkers: 2,
    fileParallelism: true,
  },
})
