// One request's trace through the router (OpenTelemetry), made only when tracing is on: a server span
// for the request (a child of the caller's `traceparent` when it sent one); when the request had to
// wait for an instance slot, `kiln.acquire` with `kiln.queue_wait` under it and `kiln.specialize` under
// that when it waited for the function's code to be loaded; and `kiln.proxy` (a client span) for the
// call to the instance, whose context goes to the function as its `traceparent`. A slot found at once
// takes microseconds and makes no span: with tracing on, a warm request costs two spans, not three
// (measured: a third of the tracing cost per request).
// Spans are given their times explicitly (performance.now() milliseconds, which OpenTelemetry accepts),
// so the executor's hot path never sees a span and no context manager is needed.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import type { LoadTiming } from '../executor/stats.js'
import type { InstanceRecord } from '../poolmgr/instance.js'

const propagator = new W3CTraceContextPropagator()
const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (h) => Object.keys(h),
  get: (h, k) => h[k],
}

export class RequestTrace {
  private readonly server: Span
  private readonly ctx: Context
  private proxy: Span | undefined

  constructor(private readonly tracer: Tracer, req: IncomingMessage, fn: string, startedAt: number) {
    const parent = propagator.extract(ROOT_CONTEXT, req.headers, headerGetter)
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    this.server = tracer.startSpan(`${req.method ?? 'GET'} ${fn}`, {
      kind: SpanKind.SERVER,
      startTime: startedAt,
      attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': q < 0 ? url : url.slice(0, q), 'kiln.function': fn },
    }, parent)
    this.ctx = trace.setSpan(parent, this.server)
  }

  /**
   * The request waited from `from` to `to` for a slot on `rec`; `load` is that instance's latest
   * specialization, shown when it happened while the request waited (the request's cold start).
   */
  waited(rec: InstanceRecord, from: number, to: number, load: LoadTiming | undefined): void {
    const acquire = this.tracer.startSpan('kiln.acquire', { startTime: from, attributes: { 'kiln.instance': rec.id } }, this.ctx)
    const actx = trace.setSpan(this.ctx, acquire)
    const wait = this.tracer.startSpan('kiln.queue_wait', { startTime: from }, actx)
    if (load !== undefined && load.endedAt >= from) {
      const attributes = load.kind === undefined ? { 'kiln.instance': rec.id } : { 'kiln.instance': rec.id, 'kiln.cold_start': load.kind }
      // A request that joined a specialization already under way shows it from its own arrival on.
      this.tracer.startSpan('kiln.specialize', { startTime: Math.max(load.startedAt, from), attributes }, trace.setSpan(actx, wait)).end(load.endedAt)
    }
    wait.end(to)
    acquire.end(to)
  }

  /** Starts the call to the instance; returns the `traceparent` the function receives. */
  proxying(rec: { id: string; node?: string }): string {
    const span = this.proxy = this.tracer.startSpan('kiln.proxy', { kind: SpanKind.CLIENT, attributes: { 'kiln.instance': rec.id, 'kiln.node': rec.node ?? '' } }, this.ctx)
    const sc = span.spanContext()
    return `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`
  }

  /** The answer is complete (or failed) with `status`. */
  end(status: number): void {
    const error = status >= 500
    if (this.proxy !== undefined) {
      this.proxy.setAttribute('http.response.status_code', status)
      if (error) this.proxy.setStatus({ code: SpanStatusCode.ERROR })
      this.proxy.end()
    }
    this.server.setAttribute('http.response.status_code', status)
    if (error) this.server.setStatus({ code: SpanStatusCode.ERROR })
    this.server.end()
  }
}
