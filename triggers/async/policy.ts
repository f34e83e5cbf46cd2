// Per-function async settings, read from the function's spec at each use (a redeploy applies to work
// already queued): how often an attempt is retried and how long to wait, and how many async
// invocations of the function run at once.
import { FUNCTION_DEFAULTS, type FunctionSpec } from '../../core/types.js'
import type { Backoff } from '../retry.js'

export const ASYNC_DEFAULTS = {
  retries: 2,
  retryBackoffMs: 1000,
  maxBackoffMs: 5 * 60_000,
  /** the default cap never exceeds one default instance's worth of concurrent requests */
  maxDefaultConcurrency: 100,
  idempotencyTtlMs: 24 * 3_600_000,
  /** ended invocations are kept this long, then pruned */
  retentionMs: 7 * 24 * 3_600_000,
} as const

export interface AsyncPolicy {
  retries: number
  backoff: Backoff
  concurrency: number
}

/** Most instances the function's strategy may run (pool and warm: only the budget bounds them). */
function maxInstances(spec: FunctionSpec, instanceBudget: number): number {
  const byStrategy = spec.maxScale ?? (spec.strategy === 'dedicated' ? 10 : Infinity)
  return Math.max(1, Math.min(byStrategy, instanceBudget))
}

/**
 * The async cap defaults to half of the function's capacity (requests per instance × most instances),
 * and at most 100: a backlog then leaves the other half — every instance it does not need — to
 * synchronous callers.
 */
export function asyncPolicy(spec: FunctionSpec, instanceBudget: number): AsyncPolicy {
  const perInstance = spec.reuse === 'fresh' ? 1 : (spec.concurrency ?? FUNCTION_DEFAULTS.concurrency)
  const capacity = perInstance * maxInstances(spec, instanceBudget)
  return {
    retries: spec.async?.retries ?? ASYNC_DEFAULTS.retries,
    backoff: { baseMs: spec.async?.retryBackoffMs ?? ASYNC_DEFAULTS.retryBackoffMs, maxMs: ASYNC_DEFAULTS.maxBackoffMs },
    concurrency: spec.async?.concurrency ?? Math.max(1, Math.min(Math.floor(capacity / 2), ASYNC_DEFAULTS.maxDefaultConcurrency)),
  }
}
