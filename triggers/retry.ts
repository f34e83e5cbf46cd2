// When a trigger calls a function again after a failed attempt: which answers are worth another
// attempt, and how long to wait first. Shared by every trigger that retries (async invocations,
// callbacks, queue triggers), so they back off alike.

export interface Backoff {
  /** the cap of the first wait, in ms; each later attempt doubles it */
  baseMs: number
  /** no wait is longer than this */
  maxMs: number
}

/**
 * Exponential backoff with full jitter (a uniform wait in [0, min(max, base·2^(attempt-1))]): clients
 * that failed together do not come back together. `attempt` is the 1-based number of the attempt
 * that failed.
 */
export function backoffDelay(b: Backoff, attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.floor(random() * cap)
}

/**
 * Crash (502), timeout (504) and every other 5xx — the platform's own (no capacity, shutting down) or
 * the function's — may pass on a later attempt; a 2xx-4xx answer is the function's verdict.
 */
export function retryable(status: number): boolean {
  return status >= 500
}
