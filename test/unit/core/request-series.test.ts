// The console's per-function series: a point per pass from what the counters gained (rate, 5xx share,
// p50/p99 interpolated within a bucket as Prometheus' histogram_quantile does), a function's versions
// summed under its name, a bounded ring, and no ring for a function that is gone.
import { describe, expect, it } from 'vitest'
import { Buckets, DURATION_BUCKETS, type FunctionCounters } from '../../../core/metrics.js'
import { RequestSeries } from '../../../core/request-series.js'

function counters(): FunctionCounters {
  return { requests: new Float64Array(5), duration: new Buckets(DURATION_BUCKETS), queueWait: new Buckets(DURATION_BUCKETS), specialization: new Buckets(DURATION_BUCKETS), coldStarts: new Float64Array(3) }
}
function answer(c: FunctionCounters, status: number, seconds: number, times = 1): void {
  for (let i = 0; i < times; i++) {
    c.requests[Math.floor(status / 100) - 1]++
    c.duration.observe(seconds)
  }
}

describe('RequestSeries', () => {
  it('makes a point per pass from what was gained since the pass before', () => {
    const c = counters()
    const s = new RequestSeries(() => [{ name: 'hello', counters: c }], 5000, 10)
    s.sample(1_000_000)
    expect(s.of('hello')).toMatchObject({ rate: [0], errors: [0], p50: [null], p99: [null], end: 1_000_000 })
    // 100 answers in the next 5 s: 90 fast (1-2.5 ms bucket), 10 slow 5xx (250-500 ms bucket).
    answer(c, 200, 0.002, 90)
    answer(c, 503, 0.3, 10)
    s.sample(1_005_000)
    const p = s.of('hello')
    expect(p.rate).toEqual([0, 20])
    expect(p.errors).toEqual([0, 0.1])
    // Rank 50 of 100 lies in (1, 2.5] ms: 1 + 1.5 * 50/90.
    expect(p.p50[1]).toBeCloseTo(1 + 1.5 * (50 / 90), 2)
    // Rank 99 lies in (250, 500] ms: 250 + 250 * 9/10.
    expect(p.p99[1]).toBeCloseTo(475, 2)
    // Nothing new: a point of nothing (not the same figures again).
    s.sample(1_010_000)
    expect(s.of('hello')).toMatchObject({ rate: [0, 20, 0], p50: [null, p.p50[1], null] })
  })

  it('sums a function\'s versions under its name; new counters count from zero', () => {
    const v1 = counters(), v2 = counters()
    const live = [{ name: 'team-a/f', counters: v1 }]
    const s = new RequestSeries(() => live, 1000, 10)
    answer(v1, 200, 0.01, 3)
    s.sample(1000)
    answer(v1, 200, 0.01, 2)
    answer(v2, 200, 0.01, 5)
    live.push({ name: 'team-a/f', counters: v2 })
    s.sample(2000)
    expect(s.of('team-a/f').rate).toEqual([3, 7])
  })

  it('keeps the last `size` points, and drops a function no longer served', () => {
    const c = counters()
    let live = [{ name: 'f', counters: c }]
    const s = new RequestSeries(() => live, 1000, 3)
    for (let i = 1; i <= 5; i++) {
      answer(c, 200, 0.01, i)
      s.sample(i * 1000)
    }
    expect(s.of('f').rate).toEqual([3, 4, 5])
    live = []
    s.sample(6000)
    expect(s.of('f').rate).toEqual([])
  })
})
