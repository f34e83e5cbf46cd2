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
import { createRelay, RELAYED_HEADER } from './relay.js'
import type { RouteMatcher } from './route-match.js'
import { errorOf, sendError } from './send-error.js'

export interface WorkflowEntry {
  /** Runs a workflow for an HTTP request routed to it (set by the workflows part when mounted). */
  handle(name: string, req: IncomingMessage, res: ServerResponse): void
}

export interface DataPlaneOptions {
  executor: Executor
  routes: RouteMatcher
  logger: Logger
  maxBodyBytes: number
  accessLog: boolean
  workflows?: WorkflowEntry
  /**
   * The data-plane origin of the replica that owns a function, when it is not this one (several executor
   * replicas, cluster/kubernetes/members.ts): its requests are relayed there, where its warm set is.
   */
  owner?(fn: string): string | undefined
}

export interface DataPlane {
  /** `/fn/NAME[/rest][?query]`. */
  onFunction(req: IncomingMessage, res: ServerResponse): void
  /** A user route; false when none matches (the caller answers). */
  onRoute(req: IncomingMessage, res: ServerResponse): boolean
  /** Closes the connections relays to other replicas keep. */
  close(): Promise<void>
}

export function createDataPlane(o: DataPlaneOptions): DataPlane {
  const { executor } = o
  const callbacks: ProxyCallbacks = {
    release: (rec, outcome) => executor.release(rec, outcome),
    exitReason: (rec) => executor.exitOf(rec, 300),
  }
  const relay = o.owner ? createRelay({ logger: o.logger, what: 'executor replica' }) : undefined
  const relayed = { [RELAYED_HEADER]: '1' }

  function dispatch(name: string, path: string, params: string | undefined, req: IncomingMessage, res: ServerResponse): void {
    // Another replica owns it: relay once (a relayed request is served here, whatever this replica thinks).
    if (relay !== undefined && req.headers[RELAYED_HEADER] === undefined) {
      const origin = o.owner!(name)
      if (origin !== undefined) { relay(origin, req, res, relayed); return }
    }
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

  return { onFunction, onRoute, close: async () => { await relay?.close() } }
}

const PLATFORM_PREFIXES = ['/v1/', '/wf/', '/healthz', '/metrics', '/internal/']

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
