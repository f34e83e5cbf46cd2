// The data plane's request handling, on raw node:http objects: `/fn/NAME[/rest]` and user routes to a
// function instance (or a workflow); async calls (`Prefer: respond-async`, `/async/fn/NAME`) go to the
// async entry (triggers/async), which checks a private function's caller the same way
// (privateCallRefused). The platform's HTTP server sends these requests here before
// fastify sees them (no routing, request/reply objects or hooks on the hot path); the fastify plugin
// (plugin.ts) uses the same handlers for the requests that do reach it. A request reaches one version
// of the function: the one it names (`@N`), or one picked on its alias's split or the main split
// (version-pick.ts); the version's own instances serve it. Functions are public unless
// deployed `private`: then the caller needs a token that may invoke in the function's namespace, and
// the platform's token never reaches the function (its Authorization header is dropped).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { Tracer } from '@opentelemetry/api'
import type { Logger } from 'pino'
import type { Identity } from '../core/auth/authenticate.js'
import { covers, grants } from '../core/auth/roles.js'
import { KilnError } from '../core/errors.js'
import { namespaceOf, refOf } from '../core/refs.js'
import { FUNCTION_DEFAULTS } from '../core/types.js'
import type { Executor } from '../executor/executor.js'
import type { FunctionState } from '../executor/function-state.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import { asyncSegment, parseAsyncFunctionUrl, parseFunctionUrl } from './function-url.js'
import { forward, type ProxyCallbacks } from './proxy.js'
import { pickVersion } from './version-pick.js'
import { createRelay, RELAYED_HEADER } from './relay.js'
import { RequestTrace } from './request-trace.js'
import type { RouteMatcher } from './route-match.js'
import { errorOf, sendError } from './send-error.js'

export interface WorkflowEntry {
  /** Runs a workflow for an HTTP request routed to it (set by the workflows part when mounted). */
  handle(name: string, req: IncomingMessage, res: ServerResponse): void
}

/** Who a request's `Authorization` header is (core/auth/authenticate.ts). */
export interface CallerIdentity {
  identify(authorization: string | string[] | undefined): Identity | KilnError
}

/** May this request call the private function `ref`? Undefined when it may; else the 401/403 to answer. */
export function privateCallRefused(auth: CallerIdentity, authorization: string | string[] | undefined, ref: string): KilnError | undefined {
  const who = auth.identify(authorization)
  if (who instanceof KilnError) return new KilnError('KILN_ERR_UNAUTHENTICATED', `function "${ref}" is private: ${who.message}`)
  const ns = namespaceOf(ref)
  if (!grants(who.role, 'functions', 'invoke')) return new KilnError('KILN_ERR_FORBIDDEN', `function "${ref}" is private: role ${who.role} may not call functions (invoker, developer or admin may)`)
  if (!covers(who.namespaces, ns)) return new KilnError('KILN_ERR_FORBIDDEN', `function "${ref}" is private: the token may not call functions in namespace "${ns}"`)
  return undefined
}

export interface AsyncEntry {
  /** Stores the request as an async invocation and answers 202 (set by triggers/async when mounted). */
  handle(name: string, path: string, req: IncomingMessage, res: ServerResponse, preferred: boolean): void
}

export interface DataPlaneOptions {
  executor: Executor
  /** Checks callers of private functions. */
  auth: CallerIdentity
  routes: RouteMatcher
  logger: Logger
  maxBodyBytes: number
  accessLog: boolean
  workflows?: WorkflowEntry
  async?: AsyncEntry
  /**
   * The data-plane origin of the replica that owns a function, when it is not this one (several executor
   * replicas, cluster/kubernetes/members.ts): its requests are relayed there, where its warm set is.
   */
  owner?(fn: string): string | undefined
  /** Set when tracing is on (core/tracing.ts); undefined: no spans are made. */
  tracer?: Tracer
}

export interface DataPlane {
  /** `/fn/NAME[/rest][?query]`. */
  onFunction(req: IncomingMessage, res: ServerResponse): void
  /** `/async/fn/NAME[/rest][?query]` and `/ns/NS/async/fn/NAME[/rest][?query]`. */
  onAsync(req: IncomingMessage, res: ServerResponse): void
  /** A user route; false when none matches (the caller answers). */
  onRoute(req: IncomingMessage, res: ServerResponse): boolean
  /**
   * The checks a request to a function passes before it may take a slot: the function and its version,
   * a private function's caller, the body's declared size, the path. Router processes (router/workers/)
   * ask the platform's process through it.
   */
  admit(name: string, alias: string | undefined, version: number, path: string, headers: IncomingHttpHeaders): Admitted | Refused
  /** Closes the connections relays to other replicas keep. */
  close(): Promise<void>
}

/** A request a version may serve: the path its instance sees, its body limit, whether the caller's token stays here. */
export interface Admitted { fs: FunctionState; path: string; maxBodyBytes: number; isPrivate: boolean; error: undefined }
/** A request refused, with the version it was counted against (undefined: the function or version was not found). */
export interface Refused { error: KilnError; fs: FunctionState | undefined }

export function createDataPlane(o: DataPlaneOptions): DataPlane {
  const { executor } = o
  const callbacks: ProxyCallbacks<InstanceRecord> = {
    release: (rec, outcome, status, sentAt, sentInflight) => executor.release(rec, outcome, status, sentAt, sentInflight),
    exitReason: (rec) => executor.exitOf(rec, 1000),
    // Once, on another instance (the failed one is retired): proxy.ts says which requests qualify.
    retry(req, res, f) {
      const fs = f.fs!
      fs.stats.retries++ // [metrics]
      executor.acquire(fs).then(
        (r) => {
          if (res.destroyed) {
            executor.release(r, 'aborted')
            fs.stats.answered(499, performance.now() - f.startedAt)
            f.trace?.end(499)
          } else forward(req, res, { ...f, rec: r, retried: true }, callbacks)
        },
        (err) => refuse(req, res, fs, f.startedAt, f.trace, errorOf(err)),
      )
    },
  }

  // [metrics] [tracing] an answer the router gives itself instead of an instance's
  function refuse(req: IncomingMessage, res: ServerResponse, fs: FunctionState, startedAt: number, trace: RequestTrace | undefined, e: KilnError): void {
    sendError(res, e)
    req.resume()
    fs.stats.answered(e.status, performance.now() - startedAt)
    trace?.end(e.status)
  }
  const relay = o.owner ? createRelay({ logger: o.logger, what: 'executor replica' }) : undefined
  const relayed = { [RELAYED_HEADER]: '1' }

  /** `alias`/`version` (0: none) name a version; neither: the function's main split picks one. */
  function admit(name: string, alias: string | undefined, version: number, path: string, headers: IncomingHttpHeaders): Admitted | Refused {
    const entry = executor.entry(name)
    if (entry === undefined) return { error: new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${name}" not found`), fs: undefined }
    const fs = pickVersion(executor, entry, alias, version, headers)
    if (fs instanceof KilnError) return { error: fs, fs: undefined }
    // Access is the function's, never a version's: a rollback does not open a private function.
    const isPrivate = entry.fn.spec.private === true
    if (isPrivate) {
      const refused = privateCallRefused(o.auth, headers.authorization, name)
      if (refused) return { error: refused, fs }
    }
    const maxBodyBytes = Math.min(fs.fn.spec.maxBodyBytes ?? FUNCTION_DEFAULTS.maxBodyBytes, o.maxBodyBytes)
    const len = headers['content-length']
    if (len !== undefined && Number(len) > maxBodyBytes) {
      return { error: new KilnError('KILN_ERR_BODY_TOO_LARGE', `request body of ${len} bytes is over the limit of ${maxBodyBytes} bytes`), fs }
    }
    if (fs.rootPath) {
      // Fission environment servers answer only on `/`; keep the query, as Fission's router does.
      const q = path.indexOf('?')
      path = q < 0 ? '/' : '/' + path.slice(q)
    } else if (runtimePlatformPath(path)) {
      // The runtime's own endpoints (unload, specialize: a caller could load other code into an
      // instance that serves everyone's requests) are the platform's alone, never a caller's.
      return { error: new KilnError('KILN_ERR_NOT_FOUND', `${path.split('?')[0]} is not a path a function serves`), fs }
    }
    return { fs, path, maxBodyBytes, isPrivate, error: undefined }
  }

  function dispatch(name: string, alias: string | undefined, version: number, path: string, params: string | undefined, req: IncomingMessage, res: ServerResponse): void {
    // Another replica owns it: relay once (a relayed request is served here, whatever this replica thinks).
    if (relay !== undefined && req.headers[RELAYED_HEADER] === undefined) {
      const origin = o.owner!(name)
      if (origin !== undefined) { relay(origin, req, res, relayed); return }
    }
    const startedAt = performance.now() // [metrics]
    const a = admit(name, alias, version, path, req.headers)
    if (a.error !== undefined) {
      if (a.fs === undefined) {
        sendError(res, a.error)
        req.resume()
      } else refuse(req, res, a.fs, startedAt, o.tracer === undefined ? undefined : new RequestTrace(o.tracer, req, name, startedAt), a.error)
      return
    }
    const fs = a.fs
    const trace = o.tracer === undefined ? undefined : new RequestTrace(o.tracer, req, name, startedAt) // [tracing]
    const { maxBodyBytes, isPrivate } = a
    path = a.path
    const rec = executor.tryAcquire(fs)
    if (rec !== undefined) {
      forward(req, res, { rec, fnName: name, path, params, timeoutMs: fs.timeoutMs, maxBodyBytes, stats: fs.stats, startedAt, trace, dropAuthorization: isPrivate, fs }, callbacks)
      return
    }
    executor.acquire(fs).then(
      (r: InstanceRecord) => {
        const now = performance.now() // [metrics] [tracing]
        fs.stats.waited(now - startedAt)
        trace?.waited(r, startedAt, now, fs.stats.loads.get(r))
        if (res.destroyed) {
          executor.release(r, 'aborted')
          fs.stats.answered(499, now - startedAt)
          trace?.end(499)
        } else forward(req, res, { rec: r, fnName: name, path, params, timeoutMs: fs.timeoutMs, maxBodyBytes, stats: fs.stats, startedAt, trace, dropAuthorization: isPrivate, fs }, callbacks)
      },
      (err) => refuse(req, res, fs, startedAt, trace, errorOf(err)),
    )
  }

  function onFunction(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url!
    const target = parseFunctionUrl(url)
    if (target === undefined) {
      sendError(res, new KilnError('KILN_ERR_BAD_REQUEST', `bad function name in ${url}`))
      req.resume()
      return
    }
    if (o.accessLog) o.logger.info({ method: req.method, url, function: target.name }, 'request')
    // RFC 7240 `Prefer: respond-async`: one header lookup, only for methods that carry a body. Async calls
    // run the main split; with a version or alias named, the preference is not honoured (RFC 7240 allows it).
    const m = req.method
    if (o.async !== undefined && m !== 'GET' && m !== 'HEAD' && target.alias === undefined && target.version === 0) {
      const prefer = req.headers.prefer as string | undefined // repeated unknown headers arrive joined
      if (prefer !== undefined && RESPOND_ASYNC.test(prefer) && prefersAsync(prefer)) {
        o.async.handle(target.name, target.path, req, res, true)
        return
      }
    }
    dispatch(target.name, target.alias, target.version, target.path, undefined, req, res)
  }

  function onAsync(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url!
    const target = parseAsyncFunctionUrl(url)
    if (target === undefined || o.async === undefined) {
      sendError(res, target === undefined
        ? new KilnError('KILN_ERR_BAD_REQUEST', `bad function name in ${url}`)
        : new KilnError('KILN_ERR_ROUTE_NOT_FOUND', 'async invocations are not served here'))
      req.resume()
      return
    }
    if (o.accessLog) o.logger.info({ method: req.method, url, function: target.name }, 'async request')
    o.async.handle(target.name, target.path, req, res, false)
  }

  function onRoute(req: IncomingMessage, res: ServerResponse): boolean {
    const match = o.routes.match(req.method ?? 'GET', req.url ?? '/', req.headers.host)
    if (match === undefined) return false
    if (o.accessLog) o.logger.info({ method: req.method, url: req.url, trigger: match.trigger.metadata.name }, 'request')
    const spec = match.trigger.spec
    // A route leads to a function or workflow of its own namespace.
    const ns = match.trigger.metadata.namespace
    if (spec.workflow !== undefined) {
      if (o.workflows) o.workflows.handle(refOf(ns, spec.workflow), req, res)
      else sendError(res, new KilnError('KILN_ERR_WORKFLOW_NOT_FOUND', 'workflows are not enabled'))
      return true
    }
    let params: string | undefined
    for (const k in match.params) { params = JSON.stringify(match.params); break }
    dispatch(refOf(ns, spec.function!), spec.alias, spec.version ?? 0, req.url ?? '/', params, req, res)
    return true
  }

  return { onFunction, onAsync, onRoute, admit, close: async () => { await relay?.close() } }
}

const RESPOND_ASYNC = /respond-async/i

/** A `respond-async` token among a Prefer header's preferences (which may carry parameters). */
export function prefersAsync(prefer: string): boolean {
  for (const part of prefer.split(',')) {
    if (part.split(';', 1)[0]!.trim().toLowerCase() === 'respond-async') return true
  }
  return false
}

const PLATFORM_PREFIXES = ['/v1/', '/wf/', '/ns/', '/async/', '/healthz', '/livez', '/readyz', '/metrics', '/internal/', '/ui/']
/** Served only by the API listener when it is apart (`--api-host/--api-port`): the API, metrics and the console. */
export const API_PREFIXES = ['/v1/', '/metrics', '/ui/']

/** `/ns/NS/fn/...`: a namespaced function (with `/ns/NS/async/fn/...`, the `/ns/` paths the data plane serves itself). */
function isNamespacedFunction(url: string): boolean {
  const slash = url.indexOf('/', 4)
  return slash > 4 && url.startsWith('/fn/', slash)
}

/** Paths a runtime answers itself (docs/runtime-contract.md): `/healthz` and `/v1/...`, before any query. */
export function runtimePlatformPath(path: string): boolean {
  const c = path.charCodeAt(1)
  if (c !== 104 /* h */ && c !== 118 /* v */) return false
  const q = path.indexOf('?')
  const p = q < 0 ? path : path.slice(0, q)
  return p === '/healthz' || p.startsWith('/healthz/') || p === '/v1' || p.startsWith('/v1/')
}

/**
 * The platform's request listener: data-plane requests go straight to the data plane; the control API,
 * workflows and everything unmatched go to fastify. With `apiApart`, the control API is on another
 * listener and answers 404 here.
 */
export function dataPlaneFirst(dp: DataPlane, fallback: (req: IncomingMessage, res: ServerResponse) => void, apiApart = false) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/'
    if (url.startsWith('/fn/')) return dp.onFunction(req, res)
    if (url.startsWith('/ns/')) {
      if (isNamespacedFunction(url)) return dp.onFunction(req, res)
      if (asyncSegment(url) > 0) return dp.onAsync(req, res)
    }
    if (url.startsWith('/async/fn/')) return dp.onAsync(req, res)
    if (apiApart) {
      for (const p of API_PREFIXES) {
        if (url.startsWith(p)) {
          sendError(res, new KilnError('KILN_ERR_ROUTE_NOT_FOUND', `no function or route matches ${req.method} ${url}`))
          req.resume()
          return
        }
      }
    }
    for (const p of PLATFORM_PREFIXES) if (url.startsWith(p)) return fallback(req, res)
    if (!dp.onRoute(req, res)) fallback(req, res)
  }
}
