// Traces (OpenTelemetry): a tracer provider of the platform's own (not registered globally, so two
// platforms in one process keep their spans apart), exporting over OTLP/HTTP when an endpoint is
// configured (`tracing.otlpEndpoint` in kiln.yaml or KILN_OTLP_ENDPOINT), and to any exporter a caller
// hands in (tests use the SDK's in-memory one). Without either there is no provider at all: the SDK
// and the exporter are loaded only when needed, and the data plane makes no spans.
import type { Tracer } from '@opentelemetry/api'
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { KilnError } from './errors.js'

export interface TracingConfig {
  /**
   * The OTLP/HTTP collector, as OTEL_EXPORTER_OTLP_ENDPOINT takes it (`http://collector:4318`):
   * spans go to `<endpoint>/v1/traces` (a URL that already ends in `/v1/traces` is used as it is).
   */
  otlpEndpoint?: string
  /** Share of new traces recorded (0..1, default 1); a caller's sampled flag is followed either way. */
  sampleRatio?: number
  /** `service.name` of the spans (default `kiln`). */
  serviceName?: string
}

export interface Tracing {
  readonly tracer: Tracer
  /** Exports what is buffered. */
  flush(): Promise<void>
  shutdown(): Promise<void>
}

/** The traces URL for an endpoint; KILN_ERR_VALIDATION when it is not an http(s) URL. */
export function tracesUrl(endpoint: string): string {
  let u: URL
  try {
    u = new URL(endpoint)
  } catch {
    throw new KilnError('KILN_ERR_VALIDATION', `tracing.otlpEndpoint: must be an http(s) URL, got ${JSON.stringify(endpoint)}`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new KilnError('KILN_ERR_VALIDATION', `tracing.otlpEndpoint: must be an http(s) URL, got ${JSON.stringify(endpoint)}`)
  return u.pathname.endsWith('/v1/traces') ? u.href : `${u.href.replace(/\/+$/, '')}/v1/traces`
}

/** Checks the `tracing` settings (kiln.yaml, KILN_OTLP_ENDPOINT); KILN_ERR_VALIDATION naming the bad one. */
export function checkTracingConfig(c: unknown): TracingConfig {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new KilnError('KILN_ERR_VALIDATION', `tracing: must be a map (otlpEndpoint, sampleRatio, serviceName), got ${JSON.stringify(c)}`)
  const t = c as Record<string, unknown>
  for (const k of Object.keys(t)) {
    if (!['otlpEndpoint', 'sampleRatio', 'serviceName'].includes(k)) throw new KilnError('KILN_ERR_VALIDATION', `tracing.${k}: unknown setting (otlpEndpoint, sampleRatio, serviceName)`)
  }
  if (t.otlpEndpoint !== undefined) tracesUrl(String(t.otlpEndpoint))
  if (t.sampleRatio !== undefined && (typeof t.sampleRatio !== 'number' || !(t.sampleRatio >= 0 && t.sampleRatio <= 1))) {
    throw new KilnError('KILN_ERR_VALIDATION', `tracing.sampleRatio: must be a number from 0 to 1, got ${JSON.stringify(t.sampleRatio)}`)
  }
  if (t.serviceName !== undefined && (typeof t.serviceName !== 'string' || t.serviceName === '')) {
    throw new KilnError('KILN_ERR_VALIDATION', `tracing.serviceName: must be a non-empty string, got ${JSON.stringify(t.serviceName)}`)
  }
  return t as TracingConfig
}

/** Tracing for the platform, or undefined when nothing would receive the spans. */
export async function startTracing(o: { config?: TracingConfig; exporter?: SpanExporter; version?: string }): Promise<Tracing | undefined> {
  const c = checkTracingConfig(o.config ?? {})
  if (!c.otlpEndpoint && !o.exporter) return undefined
  const ratio = c.sampleRatio ?? 1
  const url = c.otlpEndpoint ? tracesUrl(c.otlpEndpoint) : undefined
  const sdk = exportsOf(await import('@opentelemetry/sdk-trace-base'), 'BasicTracerProvider')
  const { resourceFromAttributes } = exportsOf(await import('@opentelemetry/resources'), 'resourceFromAttributes')
  const processors: SpanProcessor[] = []
  if (o.exporter) processors.push(new sdk.SimpleSpanProcessor(o.exporter))
  if (url) {
    const { OTLPTraceExporter } = exportsOf(await import('@opentelemetry/exporter-trace-otlp-http'), 'OTLPTraceExporter')
    processors.push(new sdk.BatchSpanProcessor(new OTLPTraceExporter({ url })))
  }
  const provider = new sdk.BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': c.serviceName ?? 'kiln', 'service.version': o.version ?? 'dev' }),
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) }),
    spanProcessors: processors,
  })
  return {
    tracer: provider.getTracer('kiln', o.version),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  }
}

/** A CommonJS package's exports from a dynamic import: named ones under Node, only `default` in the esbuild bundle (dist/). */
function exportsOf<T extends object>(mod: T, probe: keyof T): T {
  return mod[probe] !== undefined ? mod : ((mod as { default?: T }).default ?? mod)
}
