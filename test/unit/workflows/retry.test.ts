// Retry policy matching and backoff; durations.
import { describe, expect, it } from 'vitest'
import { parseDuration } from '../../../workflows/duration.js'
import { backoffDelay, shouldRetry } from '../../../workflows/retry.js'

const policy = (on?: Array<number | string>) => ({ attempts: 3, backoff: { initial: 100, factor: 3, max: 500 }, ...(on ? { on } : {}) })

describe('retry', () => {
  it('matches statuses, status classes and codes, and stops at the attempt budget', () => {
    const e503 = { code: 'KILN_ERR_FUNCTION_ERROR', status: 503, message: '' }
    expect(shouldRetry(policy([503]), 1, e503)).toBe(true)
    expect(shouldRetry(policy(['5xx']), 2, e503)).toBe(true)
    expect(shouldRetry(policy(['5xx']), 3, e503)).toBe(false)
    expect(shouldRetry(policy([500, '4xx']), 1, e503)).toBe(false)
    expect(shouldRetry(policy(['KILN_ERR_FUNCTION_TIMEOUT']), 1, { code: 'KILN_ERR_FUNCTION_TIMEOUT', message: '' })).toBe(true)
    expect(shouldRetry(undefined, 1, e503)).toBe(false)
  })

  it('without `on` retries any error but a deterministic one (expression errors)', () => {
    expect(shouldRetry(policy(), 1, { code: 'ANY', message: '' })).toBe(true)
    expect(shouldRetry(policy(), 1, { code: 'KILN_ERR_EXPRESSION', message: '' })).toBe(false)
  })

  it('backs off initial · factor^(n-1), capped at max', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(policy(), n))).toEqual([100, 300, 500, 500])
  })

  it('parses durations', () => {
    expect(['250ms', '5s', '2m', '1h', '1m30s', '1.5s', 42, '42'].map(parseDuration)).toEqual([250, 5000, 120_000, 3_600_000, 90_000, 1500, 42, 42])
    expect(['soon', -1, '5 s', null].map(parseDuration)).toEqual([undefined, undefined, undefined, undefined])
  })
})
