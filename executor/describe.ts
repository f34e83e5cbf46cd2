// A function's live status as the API and `kiln fn get` show it: strategy, counters, instances with
// their state (warming, ready, busy, draining), node, age and requests served, isolation and the
// adaptive policy's figures.
import type { FunctionState } from './function-state.js'

export function describeFunction(fs: FunctionState, now: number): Record<string, unknown> {
  return {
    strategy: fs.strategy, reuse: fs.reuse, shape: fs.fn.spec.shape ?? 'kiln', version: fs.version, concurrency: fs.concurrency,
    requests: fs.requests, specializations: fs.specializations, coldStarts: fs.coldStarts, returnedToPool: fs.returned,
    queued: fs.queue.length, specializing: fs.provisions.length,
    instances: [...fs.instances.map((r) => r.describe(now)), ...[...fs.loading].map((r) => ({ ...r.describe(now), state: 'warming' }))],
    ...(fs.adaptive ? { adaptive: fs.adaptive.describe(now) } : {}),
    ...(fs.isolation ? { isolation: { reason: fs.isolation.reason, by: fs.isolation.by, since: new Date(fs.isolation.at).toISOString(), evidence: fs.isolation.evidence } } : {}),
    ...(!fs.isolation && fs.noisyStreak > 0 ? { noisy: fs.lastEvidence } : {}),
  }
}
