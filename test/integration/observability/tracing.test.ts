// Traces across the router and the runtime: the caller's W3C traceparent continues through the
// router's spans (acquire, queue wait, specialize, proxy) into the function's request object, checked
// through the SDK's in-memory exporter; OTLP/HTTP export to a real receiver; and with tracing off, the
// function still gets a valid traceparent (the caller's, or a new one).
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { poolFull } from '../../helpers/pools.js'
import { until } from '../../helpers/until.js'

const FN = join(import.meta.dirname, '../../fixtures/observability/echo-trace.mjs')
const PY_FN = join(import.meta.dirname, '../../fixtures/observability/echo_trace.py')
const hasPython = spawnSync(process.env.KILN_PYTHON ?? 'python3', ['-c', 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)']).status === 0

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'
const CALLER = `00-${TRACE_ID}-${CALLER_SPAN}-01`
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/

interface Seen { traceparent: string; traceId: string; header: string | null }

describe('traces with an in-memory exporter', () => {
  let p: TestPlatform
  const exporter = new InMemorySpanExporter()
  const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId)
  const one = (spans: ReadableSpan[], name: string) => {
    const found = spans.filter((s) => s.name === name)
    expect(found.map((s) => s.name)).toEqual([name])
    return found[0]
  }
  const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId

  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 1 }, undefined, { spanExporter: exporter })
    await poolFull(p)
  })
  afterAll(async () => { await p?.stop() })

  it('a cold request: the caller\'s trace runs through acquire, queue wait, specialize and proxy into the function', async () => {
    await p.deploy('tr-cold', FN)
    const r = await p.call('/fn/tr-cold/x?y=1', { headers: { traceparent: CALLER } })
    expect(r.status).toBe(200)
    const seen = r.json() as Seen
    expect(seen.traceId).toBe(TRACE_ID)
    expect(seen.traceparent).toBe(seen.header)
    const [, fnTrace, fnParent] = TRACEPARENT.exec(seen.traceparent)!
    expect(fnTrace).toBe(TRACE_ID)

    const spans = await until('the request\'s spans', async () => {
      const s = spansOf(TRACE_ID)
      return s.some((x) => x.name === 'GET tr-cold') && s
    })
    const server = one(spans, 'GET tr-cold')
    const acquire = one(spans, 'kiln.acquire')
    const wait = one(spans, 'kiln.queue_wait')
    const specialize = one(spans, 'kiln.specialize')
    const proxy = one(spans, 'kiln.proxy')
    expect(parentOf(server)).toBe(CALLER_SPAN)
    expect(server.kind).toBe(1) // SERVER
    expect(server.attributes['http.response.status_code']).toBe(200)
    expect(server.attributes['kiln.function']).toBe('tr-cold')
    expect(server.attributes['url.path']).toBe('/fn/tr-cold/x')
    expect(parentOf(acquire)).toBe(server.spanContext().spanId)
    expect(acquire.attributes['kiln.instance']).toBe(r.headers['x-kiln-instance'])
    expect(parentOf(wait)).toBe(acquire.spanContext().spanId)
    expect(parentOf(specialize)).toBe(wait.spanContext().spanId)
    expect(specialize.attributes['kiln.cold_start']).toBe('pool')
    expect(parentOf(proxy)).toBe(server.spanContext().spanId)
    expect(proxy.kind).toBe(2) // CLIENT
    // The function was called in the proxy span's context.
    expect(fnParent).toBe(proxy.spanContext().spanId)
    expect(proxy.attributes['kiln.instance']).toBe(r.headers['x-kiln-instance'])
    // The caller asked for sampling, so every span was recorded.
    expect(spans.every((s) => (s.spanContext().traceFlags & 1) === 1)).toBe(true)
  })

  it('a warm request without a traceparent starts a new trace of two spans: server and proxy', async () => {
    await p.deploy('tr-warm', FN, { strategy: 'warm', minWarm: 1 })
    const r = await p.call('/fn/tr-warm?status=503')
    expect(r.status).toBe(503)
    const seen = r.json() as Seen
    expect(seen.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(seen.traceId).not.toBe(TRACE_ID)
    const spans = await until('the request\'s spans', async () => {
      const s = spansOf(seen.traceId)
      return s.some((x) => x.name === 'GET tr-warm') && s
    })
    const server = one(spans, 'GET tr-warm')
    expect(server.parentSpanContext).toBeUndefined()
    expect(server.status.code).toBe(2) // ERROR, for a 5xx
    expect(spans.map((s) => s.name).sort()).toEqual(['GET tr-warm', 'kiln.proxy'])
    expect(TRACEPARENT.exec(seen.traceparent)![2]).toBe(one(spans, 'kiln.proxy').spanContext().spanId)
  })

  it('a user route carries the trace like /fn does', async () => {
    await p.deploy('tr-route', FN)
    const t = await p.call('/v1/triggers', { method: 'POST', body: JSON.stringify({ spec: { method: 'GET', path: '/traced/:id', function: 'tr-route' } }), headers: { 'content-type': 'application/json' } })
    expect(t.status).toBe(201)
    const r = await p.call('/traced/7', { headers: { traceparent: CALLER } })
    expect((r.json() as Seen).traceId).toBe(TRACE_ID)
    await until('the route\'s server span', async () => spansOf(TRACE_ID).some((s) => s.name === 'GET tr-route' && s.attributes['url.path'] === '/traced/7'))
  })

  it.runIf(hasPython)('the python runtime exposes req.traceparent and req.trace_id', async () => {
    await p.deploy('tr-py', PY_FN, { runtime: 'python' })
    const r = await p.call('/fn/tr-py', { headers: { traceparent: CALLER } })
    expect(r.status).toBe(200)
    const seen = r.json() as { traceparent: string; traceId: string; itemAccess: string; header: string }
    expect(seen.traceId).toBe(TRACE_ID)
    expect(seen.itemAccess).toBe(TRACE_ID)
    expect(seen.traceparent).toBe(seen.header)
    const proxy = await until('the proxy span', async () => spansOf(TRACE_ID).find((s) => s.name === 'kiln.proxy' && s.attributes['kiln.instance'] === r.headers['x-kiln-instance']))
    expect(TRACEPARENT.exec(seen.traceparent)![2]).toBe(proxy.spanContext().spanId)
  })
})

describe('tracing off', () => {
  let p: TestPlatform
  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 1 })
    await p.deploy('tr-off', FN)
  })
  afterAll(async () => { await p?.stop() })

  it('the caller\'s traceparent reaches the function unchanged', async () => {
    const seen = (await p.call('/fn/tr-off', { headers: { traceparent: CALLER, tracestate: 'v=1' } })).json() as Seen
    expect(seen.header).toBe(CALLER)
    expect(seen.traceId).toBe(TRACE_ID)
  })

  it.each([['none', undefined], ['malformed', 'not-a-traceparent'], ['all-zero trace id', `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`], ['upper-case', CALLER.toUpperCase()]])(
    'a request with %s traceparent gets a new valid one, different each time', async (_what, header) => {
      const headers: Record<string, string> = header === undefined ? {} : { traceparent: header }
      const a = (await p.call('/fn/tr-off', { headers })).json() as Seen
      const b = (await p.call('/fn/tr-off', { headers })).json() as Seen
      for (const s of [a, b]) {
        expect(s.header).toMatch(TRACEPARENT)
        expect(s.header!.endsWith('-00')).toBe(true) // not sampled: nothing records this hop
        expect(s.traceId).toBe(s.header!.slice(3, 35))
      }
      expect(a.traceId).not.toBe(b.traceId)
    })
})

describe('OTLP export', () => {
  let receiver: Server
  let p: TestPlatform | undefined
  const posts: { path: string; type: string | undefined; body: string }[] = []

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        posts.push({ path: req.url ?? '', type: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') })
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      })
    })
    receiver.listen(0, '127.0.0.1')
    await once(receiver, 'listening')
  })
  afterAll(async () => {
    await p?.stop()
    receiver.close()
  })

  it('spans go to <endpoint>/v1/traces as OTLP/HTTP JSON, flushed at the latest when the platform stops', async () => {
    const port = (receiver.address() as { port: number }).port
    p = await startTestPlatform({ poolSize: 1, tracing: { otlpEndpoint: `http://127.0.0.1:${port}`, serviceName: 'kiln-test' } })
    await p.deploy('tr-otlp', FN)
    expect((await p.call('/fn/tr-otlp', { headers: { traceparent: CALLER } })).status).toBe(200)
    await p.stop()
    p = undefined
    const exported = posts.filter((x) => x.path === '/v1/traces')
    expect(exported.length).toBeGreaterThan(0)
    expect(exported[0].type).toMatch(/^application\/json/)
    const docs = exported.map((x) => JSON.parse(x.body) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { traceId: string; name: string }[] }[] }[] })
    const rs = docs.flatMap((d) => d.resourceSpans)
    expect(rs[0].resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue).toBe('kiln-test')
    const spans = rs.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))
    const ours = spans.filter((s) => s.traceId === TRACE_ID).map((s) => s.name).sort()
    expect(ours).toEqual(['GET tr-otlp', 'kiln.acquire', 'kiln.proxy', 'kiln.queue_wait', 'kiln.specialize'])
  })
})
