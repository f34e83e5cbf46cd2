// The workflows' Invoker: a task calls a function through the platform's one Invoker
// (triggers/invoker.ts), exactly as an HTTP client calls `POST /fn/NAME`. JSON in, JSON or text out; a
// non-2xx answer is an InvokeError carrying the catalogue code from the error body.
import { setMaxListeners } from 'node:events'
import type { Invoker as PlatformCalls } from '../../triggers/invoker.js'
import { PlatformInvoker, type PlatformInvokerOptions } from '../../triggers/platform-invoker.js'
import { InvokeError, type Invoker, type InvokeOptions } from '../invoker.js'

const CATALOGUE_CODE = /^KILN_ERR_[A-Z0-9_]+$/

export class FunctionInvoker implements Invoker {
  constructor(private readonly calls: PlatformCalls) {}

  async invoke(fn: string, input: unknown, opts: InvokeOptions): Promise<unknown> {
    const body = Buffer.from(JSON.stringify(input === undefined ? null : input))
    const headers: Record<string, string> = {
      'content-type': 'application/json',
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
      res = await this.calls.invoke(fn, { method: 'POST', path: '/', headers, body, signal })
    } catch (err) {
      if (opts.signal.aborted) throw opts.signal.reason
      if (timer?.aborted) throw new InvokeError(504, 'KILN_ERR_TASK_TIMEOUT', `function "${fn}" did not answer within the task's timeout of ${opts.timeoutMs} ms`)
      throw err
    }
    const text = res.body.toString('utf8')
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
