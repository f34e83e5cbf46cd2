// The platform's Invoker: a call goes through the platform's own data plane (`/fn/NAME`) over HTTP on
// one pooled keep-alive Agent, so it meets exactly what an HTTP client of `/fn` meets — the same
// routing, body limits, queueing, timeouts, error answers and access log — with no second copy of
// that path. Measured on loopback it adds about 55 µs per call over acquiring an instance in-process
// (docs/architecture.md), which cron, queue and async calls do not notice. Functions are named by ref
// (core/refs.ts): `/fn/NAME` in `default`, `/ns/NS/fn/NAME` elsewhere. A private function is called
// with the platform's own token (never stored; the data plane drops it before the function sees it),
// and only a private one: a public function never receives it.
import { setMaxListeners } from 'node:events'
import { Agent, errors as undiciErrors } from 'undici'
import { errorBody, KilnError, type ErrorCode } from '../core/errors.js'
import { functionPath } from '../core/refs.js'
import type { InvocationRequest, InvocationResponse, Invoker } from './invoker.js'

export interface PlatformInvokerOptions {
  /** connections to the data plane, at most (default 256) */
  connections?: number
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' }

function answer(code: ErrorCode, message: string): InvocationResponse {
  const e = new KilnError(code, message)
  return { status: e.status, headers: { ...JSON_HEADERS }, body: Buffer.from(errorBody(code, message)) }
}

export class PlatformInvoker implements Invoker {
  private origin: string | undefined
  private closed = false
  private credentials: { token: string; isPrivate(ref: string): boolean } | undefined
  private readonly agent: Agent

  constructor(opts: PlatformInvokerOptions = {}) {
    this.agent = new Agent({ connections: opts.connections ?? 256, keepAliveTimeout: 30_000, pipelining: 1 })
  }

  /** Where the data plane listens; known once the platform listens (it may have picked a free port). */
  setOrigin(url: string): void {
    const u = new URL(url)
    if (u.hostname === '0.0.0.0' || u.hostname === '[::]' || u.hostname === '::') u.hostname = '127.0.0.1'
    this.origin = u.origin
  }

  /** The platform's token, sent to the functions `isPrivate` names (the assembly sets it). */
  setCredentials(token: string, isPrivate: (ref: string) => boolean): void {
    this.credentials = { token, isPrivate }
  }

  async invoke(fn: string, req: InvocationRequest): Promise<InvocationResponse> {
    if (this.closed) throw new KilnError('KILN_ERR_SHUTTING_DOWN', `cannot call "${fn}": the invoker is closed`)
    if (this.origin === undefined) return answer('KILN_ERR_SHUTTING_DOWN', 'the platform is not listening yet')
    const rest = req.path === '/' ? '' : req.path.startsWith('/') ? req.path : `/${req.path}`
    let signal = req.signal
    let timer: AbortSignal | undefined
    if (req.timeoutMs !== undefined) {
      timer = AbortSignal.timeout(req.timeoutMs)
      signal = signal ? AbortSignal.any([signal, timer]) : timer
    }
    // One signal may be shared by many calls in flight (a workflow's foreach): not a leak.
    if (req.signal) setMaxListeners(0, req.signal)
    try {
      const res = await this.agent.request({
        origin: this.origin, path: `${functionPath(fn)}${rest}`, method: req.method as 'POST',
        headers: this.credentials?.isPrivate(fn) ? { ...req.headers, authorization: `Bearer ${this.credentials.token}` } : req.headers,
        body: req.body, signal,
      })
      const body = Buffer.from(await res.body.arrayBuffer())
      const headers: Record<string, string | string[]> = {}
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = v
      return { status: res.statusCode, headers, body }
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason
      if (timer?.aborted) return answer('KILN_ERR_FUNCTION_TIMEOUT', `function "${fn}" did not answer within ${req.timeoutMs} ms`)
      const e = err as Error & { code?: string }
      if (e instanceof undiciErrors.RequestAbortedError) return answer('KILN_ERR_CANCELLED', `call to "${fn}" aborted`)
      return answer('KILN_ERR_SHUTTING_DOWN', `cannot reach the router for "${fn}": ${e.code ?? e.message}`)
    }
  }

  close(): Promise<void> {
    this.closed = true
    return this.agent.close()
  }
}
