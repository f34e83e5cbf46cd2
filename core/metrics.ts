// Prometheus metrics (prom-client), named by Prometheus' conventions: counters end in `_total`, times are
// `_seconds`, sizes `_bytes`, no `_total` on a gauge. Every per-function series carries the function
// version it counts (`version`), so a canary's requests and latency read apart from the stable
// version's. Two kinds live here:
// - event counters the slow path increments (isolations, crashes), as prom-client metrics;
// - everything per function, pool and instance, read at scrape time by collect callbacks from plain
//   numbers the parts keep (`FunctionCounters`, `Buckets`): the request path increments a number in
//   a preallocated array and never touches a label object, a map or prom-client.
// Node's default process metrics keep their standard names (`process_*`, `nodejs_*`), so the usual
// Node.js dashboards work; the three `nodejs_active_*_total` gauges are left out (a gauge must not end
// in `_total`): their per-type siblings `nodejs_active_handles`, `_requests`, `_resources` stay.
import { Counter, Registry, collectDefaultMetrics, type Metric } from 'prom-client'

/** Request durations and waits, in seconds: 1 ms to a minute. */
export const DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
/** Loading a function's code into an instance, in seconds. */
export const SPECIALIZATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

/** A histogram's counts, preallocated: `observe` is a short loop and three additions, no allocation. */
export class Buckets {
  /** Per bucket, not cumulative; the last one is `+Inf`. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(v: number): void {
    const b = this.bounds
    let i = 0
    while (i < b.length && v > b[i]) i++
    this.counts[i]++
    this.sum += v
    this.count++
  }
}

/**
 * Prometheus' histogram_quantile over per-bucket (not cumulative) counts: linear within the bucket the
 * rank falls in (from 0 for the first); the highest finite bound when it falls in +Inf. Read by the
 * canary's judge (router/canary/window.ts) and the console's series (core/request-series.ts).
 */
export function quantile(bounds: readonly number[], counts: ArrayLike<number>, q: number): number | undefined {
  let total = 0
  for (let i = 0; i < counts.length; i++) total += counts[i]
  if (total <= 0) return undefined
  const rank = q * total
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]
    if (seen + c >= rank && c > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1]
      const lower = i === 0 ? 0 : bounds[i - 1]
      return lower + (bounds[i] - lower) * ((rank - seen) / c)
    }
    seen += c
  }
  return bounds[bounds.length - 1]
}

/** Status classes in the order `FunctionCounters.requests` counts them. */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

export function statusClass(status: number): number {
  const c = ((status / 100) | 0) - 1
  return c < 0 ? 0 : c > 4 ? 4 : c
}

/** How a request found no instance ready and waited for one to be specialized, in the order counted. */
export const COLD_START_KINDS = ['pool', 'no_pool', 'warm_miss'] as const
export type ColdStartKind = (typeof COLD_START_KINDS)[number]

/** The numbers one function keeps for its metrics (executor/stats.ts keeps them on its state). */
export interface FunctionCounters {
  /** Answers by status class (STATUS_CLASSES). */
  readonly requests: Float64Array
  readonly duration: Buckets
  readonly queueWait: Buckets
  readonly specialization: Buckets
  /** By COLD_START_KINDS. */
  readonly coldStarts: Float64Array
  /** Requests refused at once because the function's queue was full; instances ejected for failing; requests retried on another instance. */
  readonly rejected?: number
  readonly ejections?: number
  readonly retries?: number
}

/** One live version of a function as a scrape sees it. */
export interface FunctionSample {
  /** The function's reference as the platform names it (`name`, or `ns/name` outside the default namespace). */
  name: string
  /** The function version (`kiln fn versions`) these numbers are of: the `version` label. */
  version: string
  counters: FunctionCounters
  /** Requests waiting for an instance. */
  queued: number
  inflight: number
  isolated: boolean
  /** Its instances by state: warming, ready (idle), busy, draining. */
  instances: Record<string, number>
}

export interface PoolSample { runtime: string; placement: string; target: number; ready: number; booting: number }

/** What the metrics read at scrape time; platform/ hands in the real parts. */
export interface MetricsSources {
  functions(): Iterable<FunctionSample>
  pools(): Iterable<PoolSample>
  /** Every instance of the fleet: its runtime and state (generic, specializing, ready, draining). */
  instances(): Iterable<{ runtime: string; state: string }>
}

/** Accepted async invocations not yet finished; the async trigger reports it (0 until one does). */
export interface AsyncBacklog {
  count(): number
}

type Labels = Record<string, string>
type MetricType = 'counter' | 'gauge' | 'histogram'
interface Value { metricName?: string; labels: Labels; value: number }

/** What a collect callback writes to. */
export interface Emit {
  sample(labels: Labels, value: number): void
  histogram(labels: Labels, b: Buckets): void
}

/**
 * A metric family whose samples a callback produces at scrape time. prom-client's registry only asks a
 * metric for `get()`, so this plugs into the same registry (and exposition) as its own metrics.
 */
class CollectedFamily {
  readonly aggregator = 'sum'
  constructor(readonly name: string, readonly help: string, readonly type: MetricType, private readonly collect: (e: Emit) => void) {}

  async get(): Promise<{ name: string; help: string; type: MetricType; values: Value[]; aggregator: string }> {
    const values: Value[] = []
    const name = this.name
    this.collect({
      sample: (labels, value) => values.push({ labels, value }),
      histogram: (labels, b) => {
        let cum = 0
        for (let i = 0; i < b.bounds.length; i++) {
          cum += b.counts[i]
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: String(b.bounds[i]) }, value: cum })
        }
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: b.count })
        values.push({ metricName: `${name}_sum`, labels, value: b.sum })
        values.push({ metricName: `${name}_count`, labels, value: b.count })
      },
    })
    return { name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }

  reset(): void { /* the numbers belong to the parts that keep them */ }
}

const NO_SOURCES: MetricsSources = { functions: () => [], pools: () => [], instances: () => [] }

export class Metrics {
  readonly registry = new Registry()
  readonly isolations = new Counter({ name: 'kiln_isolations_total', help: 'Functions moved to isolated nodes', labelNames: ['function', 'by'], registers: [this.registry] })
  readonly releases = new Counter({ name: 'kiln_isolation_releases_total', help: 'Functions released from isolation', labelNames: ['function', 'by'], registers: [this.registry] })
  readonly crashes = new Counter({ name: 'kiln_instance_crashes_total', help: 'Instances that ended on their own', labelNames: ['runtime', 'reason'], registers: [this.registry] })
  private sources: MetricsSources = NO_SOURCES
  private backlog: AsyncBacklog = { count: () => 0 }

  constructor(o: { version?: string } = {}) {
    collectDefaultMetrics({ register: this.registry })
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(n)
    this.family('kiln_build_info', 'Always 1: the Kiln version and the Node.js it runs on', 'gauge', (e) => e.sample({ version: o.version ?? 'dev', node: process.version }, 1))

    const fns = (each: (e: Emit, f: FunctionSample) => void) => (e: Emit) => { for (const f of this.sources.functions()) each(e, f) }
    this.family('kiln_function_requests_total', 'Requests answered, by function and status class (2xx, 4xx, ...)', 'counter', fns((e, f) => {
      const r = f.counters.requests
      for (let i = 0; i < r.length; i++) if (r[i] > 0) e.sample({ function: f.name, version: f.version, code: STATUS_CLASSES[i] }, r[i])
    }))
    this.family('kiln_function_request_duration_seconds', 'Time from the router receiving a request to the end of its answer, queue wait and cold start included', 'histogram',
      fns((e, f) => e.histogram({ function: f.name, version: f.version }, f.counters.duration)))
    this.family('kiln_function_queue_wait_seconds', 'Time a request waited for an instance slot (a cold start or a full function); requests served at once are not counted', 'histogram',
      fns((e, f) => e.histogram({ function: f.name, version: f.version }, f.counters.queueWait)))
    this.family('kiln_function_cold_starts_total', 'Specializations that requests waited for: of an instance from the generic pool (pool), of one booted because none was pooled or the strategy boots its own (no_pool), or when the strategy keeps instances warm and none was (warm_miss)', 'counter',
      fns((e, f) => { for (let i = 0; i < COLD_START_KINDS.length; i++) e.sample({ function: f.name, version: f.version, kind: COLD_START_KINDS[i] }, f.counters.coldStarts[i]) }))
    this.family('kiln_function_specialization_duration_seconds', 'Time to load a function\'s code into an instance (limits, code hand-over, specialize call, warm-up requests)', 'histogram',
      fns((e, f) => e.histogram({ function: f.name, version: f.version }, f.counters.specialization)))
    this.family('kiln_function_queue_depth', 'Requests waiting for an instance of the function now', 'gauge', fns((e, f) => e.sample({ function: f.name, version: f.version }, f.queued)))
    this.family('kiln_function_queue_rejections_total', 'Requests answered 503 KILN_ERR_QUEUE_FULL at once because the function\'s queue was full', 'counter', fns((e, f) => e.sample({ function: f.name, version: f.version }, f.counters.rejected ?? 0)))
    this.family('kiln_function_instance_ejections_total', 'Instances taken out of rotation because their answers kept failing (outlier ejection)', 'counter', fns((e, f) => e.sample({ function: f.name, version: f.version }, f.counters.ejections ?? 0)))
    this.family('kiln_function_retries_total', 'Requests replayed once on another instance because theirs failed before answering (never reached it, or an idempotent request)', 'counter', fns((e, f) => e.sample({ function: f.name, version: f.version }, f.counters.retries ?? 0)))
    this.family('kiln_function_requests_in_flight', 'Requests being served by the function\'s instances now', 'gauge', fns((e, f) => e.sample({ function: f.name, version: f.version }, f.inflight)))
    this.family('kiln_function_instances', 'The function\'s instances by state (warming, ready, busy, draining)', 'gauge', fns((e, f) => {
      for (const state in f.instances) e.sample({ function: f.name, version: f.version, state }, f.instances[state])
    }))
    this.family('kiln_function_isolated', '1 while a function is isolated', 'gauge', fns((e, f) => e.sample({ function: f.name, version: f.version }, f.isolated ? 1 : 0)))

    const pools = (pick: (p: PoolSample) => number) => (e: Emit) => { for (const p of this.sources.pools()) e.sample({ runtime: p.runtime, placement: p.placement }, pick(p)) }
    this.family('kiln_pool_target_instances', 'Generic instances each pool keeps booted', 'gauge', pools((p) => p.target))
    this.family('kiln_pool_ready_instances', 'Generic instances ready in each pool', 'gauge', pools((p) => p.ready))
    this.family('kiln_pool_booting_instances', 'Generic instances booting for each pool', 'gauge', pools((p) => p.booting))
    this.family('kiln_instances', 'Every instance the platform runs, by runtime and state (generic, specializing, ready, draining)', 'gauge', (e) => {
      const by = new Map<string, { labels: Labels; n: number }>()
      for (const i of this.sources.instances()) {
        const k = `${i.runtime}\0${i.state}`
        const c = by.get(k)
        if (c) c.n++
        else by.set(k, { labels: { runtime: i.runtime, state: i.state }, n: 1 })
      }
      for (const c of by.values()) e.sample(c.labels, c.n)
    })
    this.family('kiln_async_invocations_backlog', 'Accepted async invocations not yet finished (queued, running or waiting to retry)', 'gauge', (e) => e.sample({}, this.backlog.count()))
  }

  /** Where the per-function, pool and instance metrics read from (set once the parts exist). */
  readFrom(sources: MetricsSources): void {
    this.sources = sources
  }

  /** The async trigger's backlog count. */
  setAsyncBacklog(b: AsyncBacklog): void {
    this.backlog = b
  }

  private family(name: string, help: string, type: MetricType, collect: (e: Emit) => void): void {
    this.registry.registerMetric(new CollectedFamily(name, help, type, collect) as unknown as Metric)
  }
}
