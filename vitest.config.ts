import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real processes and cgroups; two cores do not gain from many workers.
    maxWorkers: 2,
    fileParallelism: true,
    // No retries: a test that fails once has found something (a bug, or a test that waits for time
    // instead of a condition); both get fixed, not hidden. A test given a retry of its own is listed by
    // the summary reporter and fails the run if it needed it.
    retry: 0,
    // vitest's report, then the summary: passed, failed, skipped by reason, retried (test/reporters/summary.ts).
    reporters: ['default', './test/reporters/summary.ts'],
  },
})
