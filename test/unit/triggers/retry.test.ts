// The retry helper every trigger shares, the async policy read from a function's spec, and the
// data plane's reading of RFC 7240 Prefer.
import { describe, expect, it } from 'vitest'
import { prefersAsync } from '../../../router/data-plane.js'
import { asyncPolicy } from '../../../triggers/async/policy.js'
import { backoffDelay, retryable } from '../../../triggers/retry.js'

const spec = (extra: Record<string, unknown> = {}) => ({ runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'x.mjs', ...extra })

describe('backoffDelay: exponential with full jitter', () => {
  const b = { baseMs: 100, maxMs: 1000 }
  it('waits a uniform share of base·2^(attempt-1), capped at max', () => {
    expect(backoffDelay(b, 1, () => 0.999999)).toBe(99)
    expect(backoffDelay(b, 3, () => 0.999999)).toBe(399)
    expect(backoffDelay(b, 3, () => 0.5)).toBe(200)
    expect(backoffDelay(b, 10, () => 0.999999)).toBe(999)
    expect(backoffDelay(b, 2, () => 0)).toBe(0)
  })
  it('stays within [0, cap) for random draws', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const cap = Math.min(1000, 100 * 2 ** (attempt - 1))
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(b, attempt)
        expect(d).toBeGreaterThanOrEqual(0)
        expect(d).toBeLessThan(cap)
      }
    }
  })
})

describe('retryable', () => {
  it('retries crashes, timeouts and other 5xx, never a 2xx-4xx answer', () => {
    for (const s of [500, 502, 503, 504, 599]) expect(retryable(s)).toBe(true)
    for (const s of [200, 204, 302, 400, 404, 409, 413, 429, 499]) expect(retryable(s)).toBe(false)
  })
})

describe('asyncPolicy', () => {
  it('defaults: 2 retries from 1 s, a cap of half the capacity and at most 100', () => {
    expect(asyncPolicy(spec(), 64)).toEqual({ retries: 2, backoff: { baseMs: 1000, maxMs: 300_000 }, concurrency: 100 })
    expect(asyncPolicy(spec({ concurrency: 1 }), 64).concurrency).toBe(32)
    expect(asyncPolicy(spec({ concurrency: 1, maxScale: 3 }), 64).concurrency).toBe(1)
    expect(asyncPolicy(spec({ concurrency: 4, strategy: 'dedicated' }), 64).concurrency).toBe(20)
    expect(asyncPolicy(spec({ reuse: 'fresh', maxScale: 10 }), 64).concurrency).toBe(5)
  })
  it('takes the function\'s own settings', () => {
    expect(asyncPolicy(spec({ async: { retries: 0, retryBackoffMs: 50, concurrency: 7 } }), 64)).toEqual({ retries: 0, backoff: { baseMs: 50, maxMs: 300_000 }, concurrency: 7 })
  })
})

describe('prefersAsync (RFC 7240)', () => {
  it('finds respond-async among preferences, case-insensitive, with parameters', () => {
    expect(prefersAsync('respond-async')).toBe(true)
    expect(prefersAsync('Respond-Async; wait=10')).toBe(true)
    expect(prefersAsync('return=minimal, respond-async')).toBe(true)
    expect(prefersAsync('return=representation')).toBe(false)
    expect(prefersAsync('respond-asynchronously')).toBe(false)
    expect(prefersAsync('x=respond-async')).toBe(false)
  })
})
