// What a canary judges: a version's answers and durations over its interval, and the bound they break.
import { describe, expect, it } from 'vitest'
import { DURATION_BUCKETS, quantile } from '../../../core/metrics.js'
import { FunctionStats } from '../../../executor/stats.js'
import { breached } from '../../../router/canary/canary-loop.js'
import { Window } from '../../../router/canary/window.js'

describe('canary window', () => {
  it('counts only what was answered since the window opened: requests, 5xx, error rate, p99', () => {
    const stats = new FunctionStats()
    for (let i = 0; i < 50; i++) stats.answered(200, 3)
    stats.answered(500, 3)
    const w = new Window(stats)
    for (let i = 0; i < 70; i++) stats.answered(200, 4)
    for (let i = 0; i < 30; i++) stats.answered(i % 2 ? 502 : 500, 4)
    stats.answered(404, 4)
    const m = w.measure(stats)
    expect(m.requests).toBe(101)
    expect(m.errors).toBe(30)
    expect(m.errorRate).toBeCloseTo(30 / 101, 6)
    // Every duration fell in (2.5, 5] ms.
    expect(m.p99Ms).toBeGreaterThan(2.5)
    expect(m.p99Ms).toBeLessThanOrEqual(5)
    expect(new Window(stats).measure(stats)).toEqual({ requests: 0, errors: 0, errorRate: 0, p99Ms: undefined })
  })

  it('p99 is interpolated within the bucket its rank falls in, like histogram_quantile', () => {
    const counts = new Array(DURATION_BUCKETS.length + 1).fill(0)
    counts[DURATION_BUCKETS.indexOf(0.1)] = 100 // (0.05, 0.1]
    expect(quantile(DURATION_BUCKETS, counts, 0.99)).toBeCloseTo(0.05 + 0.05 * 0.99, 9)
    counts[DURATION_BUCKETS.length] = 10 // +Inf
    expect(quantile(DURATION_BUCKETS, counts, 0.99)).toBe(60)
    expect(quantile(DURATION_BUCKETS, new Array(16).fill(0), 0.99)).toBeUndefined()
  })

  it('a breach names its bound and the value measured: the error rate first, then p99', () => {
    const c = { maxErrorRate: 0.01, maxP99Ms: 200 }
    expect(breached(c, { requests: 100, errors: 1, errorRate: 0.01, p99Ms: 150 })).toBeUndefined()
    expect(breached(c, { requests: 100, errors: 30, errorRate: 0.3, p99Ms: 900 })?.evidence).toEqual({ bound: 'maxErrorRate', limit: 0.01, measured: 0.3 })
    expect(breached(c, { requests: 100, errors: 0, errorRate: 0, p99Ms: 250 })?.evidence).toEqual({ bound: 'maxP99Ms', limit: 200, measured: 250 })
    expect(breached({ maxErrorRate: 0.05 }, { requests: 10, errors: 0, errorRate: 0, p99Ms: 9000 })).toBeUndefined()
  })
})
