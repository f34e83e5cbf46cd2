// What the router measured of one version over a canary's interval: the answers it gave (by status
// class: the function's own, and the router's own 502/504 for it) and their durations, as the
// difference between the version's counters now and at the interval's start (executor/stats.ts).
// No per-request work: the counters are the ones /metrics reads.
import { quantile, STATUS_CLASSES } from '../../core/metrics.js'
import type { FunctionCounters } from '../../core/metrics.js'

const FIVE_XX = STATUS_CLASSES.indexOf('5xx')

export interface Measured {
  requests: number
  errors: number
  /** 5xx answers over all answers; 0 when there were none. */
  errorRate: number
  /** The 99th percentile of the durations, interpolated within the histogram's bucket; undefined without requests. */
  p99Ms: number | undefined
}

export class Window {
  private readonly requests: Float64Array
  private readonly buckets: Float64Array
  /** Date.now() when the window opened. */
  readonly openedAt: number

  constructor(counters: FunctionCounters, now = Date.now()) {
    this.requests = Float64Array.from(counters.requests)
    this.buckets = Float64Array.from(counters.duration.counts)
    this.openedAt = now
  }

  measure(counters: FunctionCounters): Measured {
    let requests = 0
    for (let i = 0; i < this.requests.length; i++) requests += counters.requests[i] - this.requests[i]
    const errors = counters.requests[FIVE_XX] - this.requests[FIVE_XX]
    const delta = counters.duration.counts.map((c, i) => c - this.buckets[i])
    const p99 = quantile(counters.duration.bounds, delta, 0.99)
    return { requests, errors, errorRate: requests > 0 ? errors / requests : 0, p99Ms: p99 === undefined ? undefined : Math.round(p99 * 1000 * 10) / 10 }
  }
}
