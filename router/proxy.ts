// The proxy path: one request to one instance over its pooled keep-alive connections (undici
// dispatch), bodies streamed both ways with backpressure, the function's timeout enforced by undici's
// own header/body timers (no timer of ours per request), errors mapped to the catalogue.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Transform, type TransformCallback } from 'node:stream'
import type { Dispatcher } from 'undici'
import { KilnError } from '../core/errors.js'
import type { Outcome } from '../executor/executor.js'
import type { FunctionState } from '../executor/function-state.js'
import { upstreamHeaders, withoutHopByHop } from './headers.js'
import type { RequestTrace } from './request-trace.js'
import { sendError } from './send-error.js'

/**
 * Where a request goes: an instance (poolmgr/instance.ts InstanceRecord in the platform's process; a
 * router process's lease of a slot, router/workers/) — its id, its pooled connections, and its requests
 * in flight once this one is counted.
 */
export interface ProxyTarget { readonly id: string; readonly node?: string; readonly client: Dispatcher; readonly inflight: number }

export interface ProxyCallbacks<R extends ProxyTarget = ProxyTarget> {
  /**
   * Called once per request, when the instance's slot can be given back (`status`: the instance's answer;
   * `sentAt`, `sentInflight`: when it was sent and the instance's in-flight count then, for Executor.release).
   */
  release(rec: R, outcome: Outcome, status?: number, sentAt?: number, sentInflight?: number): void
  /** Sends the request again, to another instance of the same version (see ForwardOptions.replayable); unset: never. */
  retry?(req: IncomingMessage, res: ServerResponse, o: ForwardOptions<R>): void
  /** Why the instance died, if it did (waits briefly for the exit to be reported). */
  exitReason(rec: R): Promise<{ oomKilled: boolean; reason: string } | undefined>
}

class BodyLimit extends Transform {
  private seen = 0
  constructor(private readonly limit: number) { super() }
  _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length
    if (this.seen > this.limit) cb(new KilnError('KILN_ERR_BODY_TOO_LARGE', `request body is over the function's limit of ${this.limit} bytes`))
    else cb(null, chunk)
  }
}

class ProxyHandler<R extends ProxyTarget> implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined
  private finished = false
  private clientGone = false
  private onDrain: (() => void) | undefined
  // The first chunk waits for the next one or the end, so a small answer leaves in one write with its headers.
  private held: Buffer | undefined
  private status = 0 // [metrics]
  // The round trip the executor's adaptive in-flight limit reads.
  private readonly sentAt = performance.now()
  private readonly sentInflight: number

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly rec: R,
    private readonly fnName: string,
    private readonly timeoutMs: number,
    private readonly id: string,
    private readonly cb: ProxyCallbacks<R>,
    private readonly o: ForwardOptions<R>,
  ) {
    this.sentInflight = rec.inflight
    res.once('close', () => {
      if (this.finished) return
      this.clientGone = true
      this.controller?.abort(new Error('client closed the connection'))
    })
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.clientGone) controller.abort(new Error('client closed the connection'))
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return
    const h = withoutHopByHop(headers)
    if (h['x-request-id'] === undefined) h['x-request-id'] = this.id
    h['x-kiln-instance'] = this.rec.id
    this.status = statusCode
    this.res.writeHead(statusCode, h)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.held === undefined && !this.res.headersSent) {
      this.held = chunk
      return
    }
    if (this.held !== undefined) {
      this.res.write(this.held)
      this.held = undefined
    }
    if (!this.res.write(chunk)) {
      controller.pause()
      this.onDrain ??= () => controller.resume()
      this.res.once('drain', this.onDrain)
    }
  }

  onResponseEnd(): void {
    this.finished = true
    if (this.held !== undefined) {
      this.res.end(this.held)
      this.held = undefined
    } else {
      this.res.end()
    }
    this.cb.release(this.rec, 'ok', this.status, this.sentAt, this.sentInflight)
    this.done(this.status)
  }

  // [metrics] [tracing] once per request, with the status the client got (499: it went away first).
  private done(status: number): void {
    this.o.stats.answered(status, performance.now() - this.o.startedAt)
    this.o.trace?.end(status)
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error & { code?: string }): void {
    if (this.finished) return
    this.finished = true
    if (this.clientGone) {
      this.cb.release(this.rec, 'aborted')
      this.done(this.res.headersSent ? this.status : 499)
      return
    }
    if (err instanceof KilnError) {
      // Our own body limit: the instance only saw a truncated upload.
      this.cb.release(this.rec, 'aborted')
      sendError(this.res, err, this.id)
      this.done(err.status)
      return
    }
    const code = err.code
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      this.cb.release(this.rec, 'timeout')
      sendError(this.res, new KilnError('KILN_ERR_FUNCTION_TIMEOUT', `function "${this.fnName}" did not answer within ${this.timeoutMs} ms`, { function: this.fnName }), this.id)
      this.done(this.res.statusCode)
      return
    }
    if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || code === 'ECONNABORTED' || (this.req.errored && !this.req.complete)) {
      this.cb.release(this.rec, 'aborted')
      sendError(this.res, new KilnError('KILN_ERR_BAD_REQUEST', `request body broke off: ${err.message}`), this.id)
      this.done(this.res.statusCode)
      return
    }
    // The instance's accept queue is full (a Unix socket's connect says EAGAIN): it is alive and the
    // request never reached it. Not a crash: retiring it would fail everything in flight there.
    const busy = code === 'EAGAIN'
    // Nothing of the answer left the instance and replaying cannot repeat an effect: once, elsewhere.
    if (this.cb.retry !== undefined && this.o.retried !== true && this.status === 0 && !this.res.headersSent && this.o.replayable
      && (busy || NEVER_REACHED.has(code ?? '') || IDEMPOTENT.has(this.req.method ?? ''))) {
      this.cb.release(this.rec, busy ? 'aborted' : 'crash')
      this.cb.retry(this.req, this.res, this.o)
      return
    }
    if (busy) {
      this.cb.release(this.rec, 'aborted')
      sendError(this.res, new KilnError('KILN_ERR_QUEUE_FULL', `function "${this.fnName}" instance ${this.rec.id} refused the connection: its accept queue is full`, { function: this.fnName, retryAfter: 1 }), this.id)
      this.done(this.res.statusCode)
      return
    }
    // The instance broke the request (the client's own aborts are handled above): whether or not its
    // exit is known yet (on a busy machine it can take longer than the wait), it serves nothing more.
    void this.cb.exitReason(this.rec).then((exit) => {
      this.cb.release(this.rec, 'crash')
      const e = exit?.oomKilled
        ? new KilnError('KILN_ERR_OUT_OF_MEMORY', `function "${this.fnName}" ran out of memory and its instance was killed`, { function: this.fnName, instance: this.rec.id })
        : new KilnError('KILN_ERR_FUNCTION_CRASHED', `function "${this.fnName}" instance ${exit ? exit.reason : 'closed the connection'} during the request`, { function: this.fnName, instance: this.rec.id })
      sendError(this.res, e, this.id)
      this.done(this.res.statusCode)
    })
  }
}

export interface ForwardOptions<R extends ProxyTarget = ProxyTarget> {
  rec: R
  fnName: string
  path: string
  params: string | undefined
  timeoutMs: number
  maxBodyBytes: number
  // [metrics] [tracing]
  /** Counts the answer (the function's FunctionStats). */
  stats: { answered(status: number, ms: number): void }
  /** performance.now() when the router received the request. */
  startedAt: number
  /** Set when tracing is on. */
  trace: RequestTrace | undefined
  /** A private function: the caller's token stays with the platform. */
  dropAuthorization?: boolean
  /** The function version served (in the platform's process): a failed attempt may be retried on another of its instances. */
  fs?: FunctionState
  /** This is the retry: it is not retried again. */
  retried?: boolean
  /**
   * Set by forward: the request has no body (a streamed body is gone once sent, so it is never
   * replayed). Such a request is retried once, when its instance failed before any byte of the answer,
   * if the connection never opened (it never reached the instance) or it is a GET or HEAD.
   */
  replayable?: boolean
}

const NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])
/** Replayed when the instance died before answering: they have no effect to repeat (RFC 9110 9.2.2; PUT and DELETE are left out: a function's PUT is often not). */
const IDEMPOTENT = new Set(['GET', 'HEAD'])
/** The connection to the instance never opened: the request never reached it, whatever its method. */
const NEVER_REACHED = new Set(['ECONNREFUSED', 'ENOENT', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH'])

export function forward<R extends ProxyTarget>(req: IncomingMessage, res: ServerResponse, o: ForwardOptions<R>, cb: ProxyCallbacks<R>): void {
  const { headers, id } = upstreamHeaders(req, o.params, o.trace?.proxying(o.rec), o.dropAuthorization)
  const method = req.method ?? 'GET'
  const hasLength = req.headers['content-length'] !== undefined
  const chunked = req.headers['transfer-encoding'] !== undefined
  let body: NodeJS.ReadableStream | null = null
  if (chunked) body = req.pipe(new BodyLimit(o.maxBodyBytes))
  else if (hasLength ? req.headers['content-length'] !== '0' : !NO_BODY.has(method)) body = hasLength ? req : null
  o.replayable = body === null
  const handler = new ProxyHandler(req, res, o.rec, o.fnName, o.timeoutMs, id, cb, o)
  o.rec.client.dispatch({
    path: o.path,
    method: method as Dispatcher.HttpMethod,
    headers,
    body: body as Dispatcher.DispatchOptions['body'],
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
  }, handler)
}
