// Each function's request rate, error rate and p50/p99 latency over the last few minutes, for the
// console's sparklines. Every `intervalMs` one pass over the functions reads the numbers the router
// already keeps for the metrics (FunctionCounters: answers by status class, the duration histogram),
// and the difference from the pass before becomes one point in a ring per function. Nothing is added
// to the request path; a function's versions (each with its own counters) are summed under its name.
import { quantile, STATUS_CLASSES, type FunctionCounters } from './metrics.js'

/** What a pass reads: each live function (or version of one) by the function's ref, with its counters. */
export type SeriesSource = () => Iterable<{ name: string; counters: FunctionCounters }>

/** A function's points, oldest first; the last one ends at `end` (ms since the epoch). */
export interface Series {
  intervalMs: number
  end: number
  /** Requests answered per second. */
  rate: number[]
  /** Share of the interval's answers that were 5xx (0 without answers). */
  errors: number[]
  /** Median and 99th percentile of the duration in ms, interpolated within a bucket as Prometheus' histogram_quantile does; null without answers. */
  p50: (number | null)[]
  p99: (number | null)[]
}

interface Ring {
  readonly rate: Float64Array
  readonly errors: Float64Array
  readonly p50: Float64Array
  readonly p99: Float64Array
  /** Points written so far (the newest is at (written - 1) % size). */
  written: number
  /** The pass that last saw this function. */
  seen: number
}

/** What the counters held at the last pass. */
interface Seen { answered: number; errors: number; buckets: Float64Array }

const FIVE_XX = STATUS_CLASSES.indexOf('5xx')

export class RequestSeries {
  private readonly rings = new Map<string, Ring>()
  private readonly seen = new WeakMap<FunctionCounters, Seen>()
  private timer: NodeJS.Timeout | undefined
  private passes = 0
  private lastAt = 0

  constructor(private readonly source: SeriesSource, readonly intervalMs = 5000, readonly size = 60) {}

  start(): void {
    this.timer ??= setInterval(() => this.sample(), this.intervalMs).unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** One pass: a point per function from what its counters gained since the pass before. */
  sample(now = Date.now()): void {
    const pass = ++this.passes
    const seconds = this.lastAt === 0 ? this.intervalMs / 1000 : Math.max((now - this.lastAt) / 1000, 0.001)
    this.lastAt = now
    const gained = new Map<string, { answered: number; errors: number; buckets: Float64Array; bounds: readonly number[] }>()
    for (const { name, counters } of this.source()) {
      const d = counters.duration
      let answered = 0
      for (let i = 0; i < counters.requests.length; i++) answered += counters.requests[i]
      const errors = counters.requests[FIVE_XX]
      // Counters seen for the first time started at zero (a new function or version).
      const before = this.seen.get(counters) ?? { answered: 0, errors: 0, buckets: new Float64Array(d.counts.length) }
      let g = gained.get(name)
      if (!g) gained.set(name, g = { answered: 0, errors: 0, buckets: new Float64Array(d.counts.length), bounds: d.bounds })
      g.answered += answered - before.answered
      g.errors += errors - before.errors
      for (let i = 0; i < d.counts.length; i++) g.buckets[i] += d.counts[i] - before.buckets[i]
      before.answered = answered
      before.errors = errors
      before.buckets.set(d.counts)
      this.seen.set(counters, before)
    }
    for (const [name, g] of gained) {
      let r = this.rings.get(name)
      if (!r) this.rings.set(name, r = { rate: new Float64Array(this.size), errors: new Float64Array(this.size), p50: new Float64Array(this.size), p99: new Float64Array(this.size), written: 0, seen: pass })
      const at = r.written % this.size
      r.rate[at] = g.answered / seconds
      r.errors[at] = g.answered > 0 ? g.errors / g.answered : 0
      // NaN marks an interval without answers (no latency to show).
      r.p50[at] = (quantile(g.bounds, g.buckets, 0.5) ?? NaN) * 1000
      r.p99[at] = (quantile(g.bounds, g.buckets, 0.99) ?? NaN) * 1000
      r.written++
      r.seen = pass
    }
    // A function no longer served here (deleted, or moved away) keeps no ring.
    for (const [name, r] of this.rings) if (r.seen !== pass) this.rings.delete(name)
  }

  /** The function's points, oldest first (none before its first pass). */
  of(name: string): Series {
    const r = this.rings.get(name)
    if (!r) return { intervalMs: this.intervalMs, end: this.lastAt, rate: [], errors: [], p50: [], p99: [] }
    const n = Math.min(r.written, this.size)
    const first = r.written - n
    const pick = (a: Float64Array, nullable: boolean) => {
      const out: (number | null)[] = []
      for (let i = first; i < r.written; i++) {
        const v = a[i % this.size]
        out.push(Number.isNaN(v) ? (nullable ? null : 0) : Math.round(v * 1000) / 1000)
      }
      return out
    }
    return {
      intervalMs: this.intervalMs, end: this.lastAt,
      rate: pick(r.rate, false) as number[], errors: pick(r.errors, false) as number[],
      p50: pick(r.p50, true), p99: pick(r.p99, true),
    }
  }
}
