// The workflows' Invoker: a task calls a function through the platform's one Invoker
// (triggers/invoker.ts), exactly as an HTTP client calls `POST /fn/NAME`. JSON in, JSON or text out; a
// non-2xx answer is an InvokeError carrying the catalogue code from the error body.
import { setMaxListeners } from 'node:events'
import type { Invoker as PlatformCalls } from '../../triggers/invoker.js'
import { PlatformInvoker, type PlatformInvokerOptions } from '../../triggers/platform-invoker.js'
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

export class FunctionInvoker implements Invoker {
  constructor(private readonly calls: PlatformCalls) {}

  async invoke(fn: string, input: unknown, opts: InvokeOptions): Promise<unknown> {
    const shaped = opts.request ? shapeRequest(input, opts.request) : undefined
    const text = shaped ? shaped.body : JSON.stringify(input === undefined ? null : input)
    const body = text === undefined ? undefined : Buffer.from(text)
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
      res = await this.calls.invoke(fn, { method: shaped?.method ?? 'POST', path: `/${shaped?.search ?? ''}`, headers, body, signal })
    } catch (err) {
      if (opts.signal.aborted) throw opts.signal.reason
      if (timer?.aborted) throw new InvokeError(504, 'KILN_ERR_TASK_TIMEOUT', `function "${fn}" did not answer within the task's timeout of ${opts.timeoutMs} ms`)
      throw err
    }
    const answer = res.body.toString('utf8')
    const ctype = String(res.headers['content-type'] ?? '')
    const json = ctype.includes('json')
    let value: unknown = answer
    if (json) {
      try {
        value = answer === '' ? null : JSON.parse(answer)
      } catch {
        value = text
      }
    }
    if (res.status >= 200 && res.status < 300) return value
    const err = (json && value && typeof value === 'object' ? value : {}) as { error?: unknown; message?: unknown }
    if (typeof err.error === 'string' && CATALOGUE_CODE.test(err.error)) {
      throw new InvokeError(res.status, err.error, typeof err.message === 'string' ? err.message : undefined, value)
    }
    // The function's own error answer (not the platform's): keep its status and body.
    const snippet = typeof value === 'string' ? value : JSON.stringify(value)
    throw new InvokeError(res.status, 'KILN_ERR_FUNCTION_ERROR', `function "${fn}" answered ${res.status}: ${snippet.slice(0, 300)}`, value)
  }
}

/** A FunctionInvoker with a PlatformInvoker of its own, for callers outside the assembly (tests, tools). */
export class HttpInvoker extends FunctionInvoker {
  private readonly http: PlatformInvoker

  constructor(opts: PlatformInvokerOptions = {}) {
    const http = new PlatformInvoker(opts)
    super(http)
    this.http = http
  }

  setOrigin(url: string): void {
    this.http.setOrigin(url)
  }

  close(): Promise<void> {
    return this.http.close()
  }
}
