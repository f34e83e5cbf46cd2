// Retry policy: which errors are retried and how long to wait before the next attempt.
import type { ErrorInfo } from './errors.js'
import type { RetrySpec } from './spec.js'

/** Errors that no retry can fix unless the user lists them in `on`. */
const NEVER_BY_DEFAULT = new Set(['KILN_ERR_EXPRESSION', 'KILN_ERR_EXPRESSION_LIMIT', 'KILN_ERR_TASK_INPUT', 'KILN_ERR_HOST_NOT_ALLOWED', 'KILN_ERR_WORKFLOW_INPUT', 'KILN_ERR_WORKFLOW_NOT_FOUND', 'KILN_ERR_WORKFLOW_DEPTH', 'KILN_ERR_CANCELLED'])

export function shouldRetry(retry: RetrySpec | undefined, attempt: number, error: ErrorInfo): boolean {
  if (!retry || attempt >= retry.attempts) return false
  if (!retry.on) return !NEVER_BY_DEFAULT.has(error.code)
  return retry.on.some((rule) => {
    if (typeof rule === 'number') return error.status === rule
    const cls = /^([1-5])xx$/i.exec(rule)
    if (cls) return error.status !== undefined && Math.floor(error.status / 100) === Number(cls[1])
    return error.code === rule
  })
}

/** Milliseconds to wait after failed attempt `attempt` (1-based): initial · factor^(attempt-1), capped at max. */
export function backoffDelay(retry: RetrySpec, attempt: number): number {
  const { initial, factor, max } = retry.backoff
  return Math.min(max, initial * factor ** (attempt - 1))
}
