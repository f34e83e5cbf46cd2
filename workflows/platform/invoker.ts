// The platform's Invoker: a task calls a function exactly as an HTTP client does, through the
// platform's own router (`POST /fn/NAME`), over one pooled keep-alive Agent. JSON in, JSON or text
// out; a non-2xx answer is an InvokeError carrying the catalogue code from the error body.
import { setMaxListeners } from 'node:events'
import { Agent, errors as undiciErrors } from 'undici'
import { InvokeError, type Invoker, type InvokeOptions, type InvokeRequest } from '../invoker.js'

const CATALOGUE_CODE = /^KILN_ERR_[A-Z0-9_]+$/
// Headers a task may not set: the connection's own, and the platform's.
const RESERVED = /^(host|connection|content-length|transfer-encoding|keep-alive|upgrade|te|trailer|proxy-.*|x-kiln-.*)$/i

/** A Fission Workflows task's request: its method, headers, query, and the body in its media type. */
function shapeRequest(input: unknown, r: InvokeRequest): { method: string; headers: Record<string, string>; search: string; contentType: string; body: string | undefined } {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(r.headers)) if (!RESERVED.test(k) && k.toLowerCase() !== 'content-type') headers[k.toLowerCase()] = v
  const q = new URLSearchParams(r.query).toString()
  const method = r.method.toUpperCase()
  let body: string | undefined
  if (method !== 'GET' && method !== 'HEAD' && input !== undefined && input !== null) {
    body = r.contentType.includes('json') ? JSON.stringify(input) : typeof input === 'string' ? input : JSON.stringify(input)
  }
  return { method, headers, search: q ? `?${q}` : '', contentType: r.contentType, body }
}

export interface HttpInvokerOptions {
  /** connections to the router, at most (default 256) */
  connections?: number
}

export class HttpInvoker implements Invoker {
  private origin: string | undefined
  private readonly agent: Agent

  constructor(opts: HttpInvokerOptions = {}) {
    this.agent = new Agent({ connections: opts.connections ?? 256, keepAliveTimeout: 30_000, pipelining: 1 })
  }

  /** Where the router listens; known once the platform listens (it may have picked a free port). */
  setOrigin(url: string): void {
    const u = new URL(url)
    if (u.hostname === '0.0.0.0' || u.hostname === '[::]' || u.hostname === '::') u.hostname = '127.0.0.1'
    this.origin = u.origin
  }

  async invoke(fn: string, input: unknown, opts: InvokeOptions): Promise<unknown> {
    if (this.origin === undefined) throw new InvokeError(503, 'KILN_ERR_SHUTTING_DOWN', 'the platform is not listening yet')
    const shaped = opts.request ? shapeRequest(input, opts.request) : undefined
    const body = shaped ? shaped.body : JSON.stringify(input === undefined ? null : input)
    const headers: Record<string, string> = {
      ...shaped?.headers,
      'content-type': shaped?.contentType ?? 'application/json',
      'x-kiln-execution': opts.executionId,
      'x-kiln-task': opts.task,
      'x-request-id': `${opts.executionId}/${opts.task}`,
    }
    // A foreach of N items shares one signal across N calls in flight: N listeners is expected, not a leak.
    setMaxListeners(0, opts.signal)
    let signal = opts.signal
    let timer: AbortSignal | undefined
    if (opts.timeoutMs !== undefined) {
      headers['x-kiln-timeout-ms'] = String(opts.timeoutMs)
      timer = AbortSignal.timeout(opts.timeoutMs)
      signal = AbortSignal.any([opts.signal, timer])
    }
    let res
    try {
      res = await this.agent.request({ origin: this.origin, path: `/fn/${encodeURIComponent(fn)}${shaped?.search ?? ''}`, method: (shaped?.method ?? 'POST') as 'POST', headers, body, signal })
    } catch (err) {
      throw this.failure(err, fn, opts, timer)
    }
    let text: string
    try {
      text = await res.body.text()
    } catch (err) {
      throw this.failure(err, fn, opts, timer)
    }
    const ctype = String(res.headers['content-type'] ?? '')
    const json = ctype.includes('json')
    let value: unknown = text
    if (json) {
      try {
        value = text === '' ? null : JSON.parse(text)
      } catch {
        value = text
      }
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return value
    const err = (json && value && typeof value === 'object' ? value : {}) as { error?: unknown; message?: unknown }
    if (typeof err.error === 'string' && CATALOGUE_CODE.test(err.error)) {
      throw new InvokeError(res.statusCode, err.error, typeof err.message === 'string' ? err.message : undefined, value)
    }
    // The function's own error answer (not the platform's): keep its status and body.
    const snippet = typeof value === 'string' ? value : JSON.stringify(value)
    throw new InvokeError(res.statusCode, 'KILN_ERR_FUNCTION_ERROR', `function "${fn}" answered ${res.statusCode}: ${snippet.slice(0, 300)}`, value)
  }

  private failure(err: unknown, fn: string, opts: InvokeOptions, timer: AbortSignal | undefined): unknown {
    if (opts.signal.aborted) return opts.signal.reason
    if (timer?.aborted) return new InvokeError(504, 'KILN_ERR_TASK_TIMEOUT', `function "${fn}" did not answer within the task's timeout of ${opts.timeoutMs} ms`)
    const e = err as Error & { code?: string }
    if (e instanceof undiciErrors.RequestAbortedError) return new InvokeError(499, 'KILN_ERR_CANCELLED', `call to "${fn}" aborted`)
    return new InvokeError(503, 'KILN_ERR_SHUTTING_DOWN', `cannot reach the router for "${fn}": ${e.code ?? e.message}`)
  }

  close(): Promise<void> {
    return this.agent.close()
  }
}
