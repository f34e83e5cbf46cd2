// The data plane's request handling, on raw node:http objects: `/fn/NAME[/rest]` and user routes to a
// function instance (or a workflow). The platform's HTTP server sends these requests here before
// fastify sees them (no routing, request/reply objects or hooks on the hot path); the fastify plugin
// (plugin.ts) uses the same handlers for the requests that do reach it.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { KilnError } from '../core/errors.js'
import { FUNCTION_DEFAULTS } from '../core/types.js'
import type { Executor } from '../executor/executor.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import { parseFunctionUrl } from './function-url.js'
import { forward, type ProxyCallbacks } from './proxy.js'
import type { RouteTable } from './routes.js'
import { errorOf, sendError } from './send-error.js'

export interface WorkflowEntry {
  /** Runs a workflow for an HTTP request routed to it (set by the workflows part when mounted). */
  handle(name: string, req: IncomingMessage, res: ServerResponse): void
}

export interface DataPlaneOptions {
  executor: Executor
  routes: RouteTable
  logger: Logger
  maxBodyBytes: number
  accessLog: boolean
  workflows?: WorkflowEntry
}

export interface DataPlane {
  /** `/fn/NAME[/rest][?query]`. */
  onFunction(req: IncomingMessage, res: ServerResponse): void
  /** A user route; false when none matches (the caller answers). */
  onRoute(req: IncomingMessage, res: ServerResponse): boolean
}

export function createDataPlane(o: DataPlaneOptions): DataPlane {
  const { executor } = o
  const callbacks: ProxyCallbacks = {
    release: (rec, outcome) => executor.release(rec, outcome),
    exitReason: (rec) => executor.exitOf(rec, 300),
  }

  function dispatch(name: string, path: string, params: string | undefined, req: IncomingMessage, res: ServerResponse): void {
    const fs = executor.state(name)
    if (fs === undefined) {
      sendError(res, new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${name}" not found`))
      req.resume()
      return
    }
    const maxBodyBytes = Math.min(fs.fn.spec.maxBodyBytes ?? FUNCTION_DEFAULTS.maxBodyBytes, o.maxBodyBytes)
    const len = req.headers['content-length']
    if (len !== undefined && Number(len) > maxBodyBytes) {
      sendError(res, new KilnError('KILN_ERR_BODY_TOO_LARGE', `request body of ${len} bytes is over the limit of ${maxBodyBytes} bytes`))
      req.resume()
      return
    }
    if (fs.rootPath) {
      // Fission environment servers answer only on `/`; keep the query, as Fission's router does.
      const q = path.indexOf('?')
      path = q < 0 ? '/' : '/' + path.slice(q)
    } else if (runtimePlatformPath(path)) {
      // The runtime's own endpoints (unload, specialize: a caller could load other code into an
      // instance that serves everyone's requests) are the platform's alone, never a caller's.
      sendError(res, new KilnError('KILN_ERR_NOT_FOUND', `${path.split('?')[0]} is not a path a function serves`))
      req.resume()
      return
    }
    const rec = executor.tryAcquire(name)
    if (rec !== undefined) {
      forward(req, res, { rec, fnName: name, path, params, timeoutMs: fs.timeoutMs, maxBodyBytes }, callbacks)
      return
    }
    executor.acquire(name).then(
      (r: InstanceRecord) => {
        if (res.destroyed) executor.release(r, 'aborted')
        else forward(req, res, { rec: r, fnName: name, path, params, timeoutMs: fs.timeoutMs, maxBodyBytes }, callbacks)
      },
      (err) => {
        sendError(res, errorOf(err))
        req.resume()
      },
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
    dispatch(target.name, target.path, undefined, req, res)
  }

  function onRoute(req: IncomingMessage, res: ServerResponse): boolean {
    const match = o.routes.match(req.method ?? 'GET', req.url ?? '/', req.headers.host)
    if (match === undefined) return false
    if (o.accessLog) o.logger.info({ method: req.method, url: req.url, trigger: match.trigger.metadata.name }, 'request')
    const spec = match.trigger.spec
    if (spec.workflow !== undefined) {
      if (o.workflows) o.workflows.handle(spec.workflow, req, res)
      else sendError(res, new KilnError('KILN_ERR_WORKFLOW_NOT_FOUND', 'workflows are not enabled'))
      return true
    }
    let params: string | undefined
    for (const k in match.params) { params = JSON.stringify(match.params); break }
    dispatch(spec.function!, req.url ?? '/', params, req, res)
    return true
  }

  return { onFunction, onRoute }
}

const PLATFORM_PREFIXES = ['/v1/', '/wf/', '/healthz', '/metrics', '/internal/']

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
 * workflows and everything unmatched go to fastify.
 */
export function dataPlaneFirst(dp: DataPlane, fallback: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/'
    if (url.startsWith('/fn/')) return dp.onFunction(req, res)
    for (const p of PLATFORM_PREFIXES) if (url.startsWith(p)) return fallback(req, res)
    if (!dp.onRoute(req, res)) fallback(req, res)
  }
}
