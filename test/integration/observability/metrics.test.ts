// /metrics of a running platform: per-function requests by status class, durations, cold starts by
// kind, specialization time, queue depth and wait, instances and pools; every name follows
// Prometheus' naming rules; the Grafana dashboard in deploy/grafana/ queries only metrics that exist.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { namingViolations, parseExposition, value, type Family } from '../../helpers/prom-text.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { poolFull } from '../../helpers/pools.js'
import { until } from '../../helpers/until.js'
import { promqlMetricNames } from '../../helpers/promql-names.js'

const FN = join(import.meta.dirname, '../../fixtures/observability/echo-trace.mjs')
const DASHBOARD = join(import.meta.dirname, '../../../deploy/grafana/kiln-dashboard.json')

describe('metrics', () => {
  let p: TestPlatform
  const scrape = async () => {
    const r = await p.call('/metrics')
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
    return parseExposition(r.text)
  }
  const fnValue = (f: Map<string, Family>, name: string, fn: string, labels: Record<string, string> = {}) => value(f, name, { function: fn, ...labels })

  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 1 })
    await poolFull(p)
  })
  afterAll(async () => { await p?.stop() })

  it('counts each answer by status class and duration, and the cold start from the pool', async () => {
    await p.deploy('obs-pool', FN)
    const statuses = [200, 200, 200, 200, 200, 200, 404, 404, 503]
    for (const s of statuses) expect((await p.call(`/fn/obs-pool?status=${s}`)).status).toBe(s)
    const f = await scrape()
    expect(fnValue(f, 'kiln_function_requests_total', 'obs-pool', { code: '2xx' })).toBe(6)
    expect(fnValue(f, 'kiln_function_requests_total', 'obs-pool', { code: '4xx' })).toBe(2)
    expect(fnValue(f, 'kiln_function_requests_total', 'obs-pool', { code: '5xx' })).toBe(1)
    expect(fnValue(f, 'kiln_function_request_duration_seconds_count', 'obs-pool')).toBe(statuses.length)
    expect(fnValue(f, 'kiln_function_request_duration_seconds_bucket', 'obs-pool', { le: '+Inf' })).toBe(statuses.length)
    expect(fnValue(f, 'kiln_function_request_duration_seconds_sum', 'obs-pool')).toBeGreaterThan(0)
    // Only the first request waited: for a generic instance from the pool to be specialized.
    expect(fnValue(f, 'kiln_function_queue_wait_seconds_count', 'obs-pool')).toBe(1)
    expect(fnValue(f, 'kiln_function_cold_starts_total', 'obs-pool', { kind: 'pool' })).toBe(1)
    expect(fnValue(f, 'kiln_function_cold_starts_total', 'obs-pool', { kind: 'no_pool' })).toBe(0)
    expect(fnValue(f, 'kiln_function_cold_starts_total', 'obs-pool', { kind: 'warm_miss' })).toBe(0)
    expect(fnValue(f, 'kiln_function_specialization_duration_seconds_count', 'obs-pool')).toBe(1)
    expect(fnValue(f, 'kiln_function_instances', 'obs-pool', { state: 'ready' })).toBe(1)
    expect(fnValue(f, 'kiln_function_requests_in_flight', 'obs-pool')).toBe(0)
    expect(fnValue(f, 'kiln_function_isolated', 'obs-pool')).toBe(0)
  })

  it('a body over the limit is counted as the 413 the router answered', async () => {
    await p.deploy('obs-limit', FN, { maxBodyBytes: 10 })
    const r = await p.call('/fn/obs-limit', { method: 'POST', body: 'x'.repeat(100), headers: { 'content-type': 'text/plain' } })
    expect(r.status).toBe(413)
    const f = await scrape()
    expect(fnValue(f, 'kiln_function_requests_total', 'obs-limit', { code: '4xx' })).toBe(1)
    expect(fnValue(f, 'kiln_function_request_duration_seconds_count', 'obs-limit')).toBe(1)
  })

  it('a dedicated function boots its own instance (no_pool); a warm function missing its warm instance is a warm_miss', async () => {
    await p.deploy('obs-dedicated', FN, { strategy: 'dedicated' })
    expect((await p.call('/fn/obs-dedicated')).status).toBe(200)
    await p.deploy('obs-warm', FN, { strategy: 'warm', minWarm: 1, concurrency: 1 })
    // The warm instance takes one; the warm set's refill (a second instance, at most) may take another;
    // the others find none free and wait in the queue until the autoscaler (a tick: 250 ms, longer on a
    // loaded machine) adds an instance for them: warm misses. They last long enough for that to happen.
    const all = await Promise.all([1, 2, 3, 4].map(() => p.call('/fn/obs-warm?ms=1500')))
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200])
    const f = await scrape()
    expect(fnValue(f, 'kiln_function_cold_starts_total', 'obs-dedicated', { kind: 'no_pool' })).toBe(1)
    expect(fnValue(f, 'kiln_function_cold_starts_total', 'obs-dedicated', { kind: 'pool' })).toBe(0)
    expect(fnValue(f, 'kiln_function_cold_starts_total', 'obs-warm', { kind: 'warm_miss' })).toBeGreaterThanOrEqual(1)
    expect(fnValue(f, 'kiln_function_cold_starts_total', 'obs-warm', { kind: 'pool' })).toBe(0)
    expect(fnValue(f, 'kiln_function_requests_total', 'obs-warm', { code: '2xx' })).toBe(4)
    // The warm set was specialized at deploy, in the background, plus the one the miss waited for.
    expect(fnValue(f, 'kiln_function_specialization_duration_seconds_count', 'obs-warm')).toBeGreaterThanOrEqual(2)
  })

  it('shows requests queued behind a busy function, then how long they waited', async () => {
    await p.deploy('obs-queue', FN, { maxScale: 1, concurrency: 1 })
    const calls = [1, 2, 3].map(() => p.call('/fn/obs-queue?ms=1500'))
    let deepest = 0
    let done = false
    void Promise.all(calls).then(() => { done = true })
    await until('two requests queued', async () => {
      const d = fnValue(await scrape(), 'kiln_function_queue_depth', 'obs-queue') ?? 0
      deepest = Math.max(deepest, d)
      return deepest >= 2 || done
    }, 30_000, 25)
    expect(deepest).toBeGreaterThanOrEqual(2)
    expect((await Promise.all(calls)).map((r) => r.status)).toEqual([200, 200, 200])
    const f = await scrape()
    expect(fnValue(f, 'kiln_function_queue_depth', 'obs-queue')).toBe(0)
    expect(fnValue(f, 'kiln_function_queue_wait_seconds_count', 'obs-queue')).toBe(3)
    // The last one waited for the two before it (1.5 s each): its wait is in a bucket above 2.5 s.
    expect(fnValue(f, 'kiln_function_queue_wait_seconds_bucket', 'obs-queue', { le: '2.5' })).toBeLessThan(3)
  })

  it('pools, the fleet, the build and the process are there under their standard names', async () => {
    const f = await scrape()
    expect(value(f, 'kiln_pool_target_instances', { runtime: 'node', placement: 'default' })).toBe(1)
    expect(value(f, 'kiln_pool_ready_instances', { runtime: 'node', placement: 'default' })).toBeGreaterThanOrEqual(0)
    expect(value(f, 'kiln_instances', { runtime: 'node', state: 'ready' })).toBeGreaterThanOrEqual(1)
    expect(value(f, 'kiln_async_invocations_backlog')).toBe(0)
    expect(value(f, 'kiln_build_info')).toBe(1)
    for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_active_handles']) {
      expect(f.has(n), n).toBe(true)
    }
    expect([...f.keys()].filter((n) => n.includes('process_process') || n.startsWith('kiln_process') || n.startsWith('kiln_nodejs'))).toEqual([])
  })

  it('every metric name follows Prometheus\' naming rules', async () => {
    const f = await scrape()
    expect(f.size).toBeGreaterThan(30)
    expect(namingViolations(f)).toEqual([])
  })

  it('the Grafana dashboard queries only metrics that exist', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[]; templating: { list: { type: string; query?: string | { query: string } }[] } }
    const exprs = [
      ...dashboard.panels.flatMap((pn) => (pn.targets ?? []).map((t) => t.expr)),
      ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => (typeof v.query === 'string' ? v.query : v.query?.query)).filter((q): q is string => q !== undefined),
    ]
    expect(exprs.length).toBeGreaterThan(10)
    const f = await scrape()
    const exists = (n: string) => f.has(n) || ['_bucket', '_sum', '_count'].some((s) => n.endsWith(s) && f.get(n.slice(0, -s.length))?.type === 'histogram')
    const used = new Set(exprs.flatMap(promqlMetricNames))
    expect([...used].filter((n) => !exists(n))).toEqual([])
    for (const n of ['kiln_function_requests_total', 'kiln_function_request_duration_seconds_bucket', 'kiln_function_cold_starts_total', 'kiln_function_queue_depth', 'kiln_pool_ready_instances', 'kiln_async_invocations_backlog', 'process_cpu_seconds_total']) {
      expect(used.has(n), n).toBe(true)
    }
  })
})
