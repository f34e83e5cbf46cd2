import { describe, expect, it } from 'vitest'
import { Buckets, Metrics, type FunctionCounters } from '../../../core/metrics.js'
import { namingViolations, parseExposition, value } from '../../helpers/prom-text.js'
import { promqlMetricNames } from '../../helpers/promql-names.js'

function counters(): FunctionCounters {
  return { requests: new Float64Array(5), duration: new Buckets([0.1, 1]), queueWait: new Buckets([0.1, 1]), specialization: new Buckets([0.1, 1]), coldStarts: new Float64Array(3) }
}

describe('metrics model', () => {
  it('a bucket counts observations up to and including its bound', () => {
    const b = new Buckets([0.1, 1])
    for (const v of [0.05, 0.1, 0.1000001, 1, 2]) b.observe(v)
    expect([...b.counts]).toEqual([2, 2, 1])
    expect(b.count).toBe(5)
    expect(b.sum).toBeCloseTo(3.2500001)
  })

  it('the exposition of a fresh registry and of per-function samples follows the naming rules', async () => {
    const m = new Metrics({ version: '9.9.9' })
    const c = counters()
    c.requests[1] = 7
    c.requests[4] = 2
    c.duration.observe(0.05)
    c.duration.observe(5)
    c.coldStarts[2] = 1
    m.readFrom({
      functions: () => [{ name: 'team-a/hello', counters: c, queued: 3, inflight: 1, isolated: true, instances: { warming: 0, ready: 1, busy: 1, draining: 0 } }],
      pools: () => [{ runtime: 'node', placement: 'default', target: 3, ready: 2, booting: 1 }],
      instances: () => [{ runtime: 'node', state: 'generic' }, { runtime: 'node', state: 'generic' }, { runtime: 'node', state: 'ready' }],
    })
    m.setAsyncBacklog({ count: () => 42 })
    const text = await m.registry.metrics()
    const fams = parseExposition(text)
    expect(namingViolations(fams)).toEqual([])
    const fn = { function: 'team-a/hello' }
    expect(value(fams, 'kiln_function_requests_total', { ...fn, code: '2xx' })).toBe(7)
    expect(value(fams, 'kiln_function_requests_total', { ...fn, code: '5xx' })).toBe(2)
    expect(value(fams, 'kiln_function_requests_total', { ...fn, code: '4xx' })).toBeUndefined()
    expect(value(fams, 'kiln_function_request_duration_seconds_bucket', { ...fn, le: '0.1' })).toBe(1)
    expect(value(fams, 'kiln_function_request_duration_seconds_bucket', { ...fn, le: '1' })).toBe(1)
    expect(value(fams, 'kiln_function_request_duration_seconds_bucket', { ...fn, le: '+Inf' })).toBe(2)
    expect(value(fams, 'kiln_function_request_duration_seconds_count', fn)).toBe(2)
    expect(value(fams, 'kiln_function_cold_starts_total', { ...fn, kind: 'warm_miss' })).toBe(1)
    expect(value(fams, 'kiln_function_cold_starts_total', { ...fn, kind: 'pool' })).toBe(0)
    expect(value(fams, 'kiln_function_queue_depth', fn)).toBe(3)
    expect(value(fams, 'kiln_function_instances', { ...fn, state: 'busy' })).toBe(1)
    expect(value(fams, 'kiln_function_isolated', fn)).toBe(1)
    expect(value(fams, 'kiln_pool_target_instances', { runtime: 'node', placement: 'default' })).toBe(3)
    expect(value(fams, 'kiln_instances', { runtime: 'node', state: 'generic' })).toBe(2)
    expect(value(fams, 'kiln_async_invocations_backlog')).toBe(42)
    expect(value(fams, 'kiln_build_info', { version: '9.9.9' })).toBe(1)
    // Node's default metrics under their standard names, without the `_total` gauges.
    expect(fams.get('process_cpu_seconds_total')?.type).toBe('counter')
    expect(fams.has('nodejs_eventloop_lag_seconds')).toBe(true)
    expect(fams.has('nodejs_active_handles')).toBe(true)
    expect([...fams.keys()].filter((n) => n.startsWith('kiln_process_') || n.endsWith('active_handles_total'))).toEqual([])
  })

  it('the naming checker catches each rule it enforces', () => {
    const bad = [
      '# HELP a_total x', '# TYPE a_total gauge', 'a_total 1',
      '# HELP b x', '# TYPE b counter', 'b 1',
      '# HELP c_latency_ms x', '# TYPE c_latency_ms gauge', 'c_latency_ms 1',
      '# HELP d_duration x', '# TYPE d_duration histogram', 'd_duration_bucket{le="1"} 2', 'd_duration_bucket{le="+Inf"} 1', 'd_duration_sum 1', 'd_duration_count 1',
      '# TYPE e gauge', 'e{__x="1"} 1',
    ].join('\n')
    const v = namingViolations(parseExposition(bad))
    expect(v).toContain('a_total: a gauge must not end in _total')
    expect(v).toContain('b: a counter must end in _total')
    expect(v.some((s) => s.startsWith('c_latency_ms: uses the unit "ms"'))).toBe(true)
    expect(v).toContain('d_duration: a histogram of time must end in _seconds')
    expect(v.some((s) => s.includes('buckets not cumulative'))).toBe(true)
    expect(v).toContain('e: no # HELP')
    expect(v).toContain('e: bad label name "__x"')
  })
})

describe('metric names in PromQL (for the dashboard check)', () => {
  it('finds the metrics and nothing else', () => {
    expect(promqlMetricNames('histogram_quantile(0.99, sum by (le, function) (rate(kiln_a_seconds_bucket{function=~"$function", code!="5xx"}[5m])))')).toEqual(['kiln_a_seconds_bucket'])
    expect(promqlMetricNames('sum(rate(x_total[1m])) / ignoring(code) group_left sum(rate(y_total[1m] offset 5m)) > 1e3')).toEqual(['x_total', 'y_total'])
    expect(promqlMetricNames('label_values(kiln_b_total, function)')).toEqual(['kiln_b_total'])
    expect(promqlMetricNames('up == bool 1 and on(job) ${metric_var}')).toEqual(['up'])
  })
})
