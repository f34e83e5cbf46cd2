// The data plane on fastify: `/fn/:name[/*]` and user routes (the 404 handler consults the route
// table, so user paths never clash with the control API). Requests leave fastify at once (hijack) and
// are streamed by the proxy; bodies are never parsed here.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { KilnError } from '../core/errors.js'
import { FUNCTION_DEFAULTS } from '../core/types.js'
import type { Executor } from '../executor/executor.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import { forward, type ProxyCallbacks } from './proxy.js'
import type { RouteTable } from './routes.js'
import { errorOf, sendError } from './send-error.js'

export interface WorkflowEntry {
  /** Runs a workflow for an HTTP request routed to it (set by the workflows part when mounted). */
  handle(name: string, req: IncomingMessage, res: ServerResponse): void
}

export interface RouterOptions {
  executor: Executor
  routes: RouteTable
  logger: Logger
  maxBodyBytes: number
  accessLog: boolean
  workflows?: WorkflowEntry
}

export async function routerPlugin(app: FastifyInstance, o: RouterOptions): Promise<void> {
  const { executor } = o
  const callbacks: ProxyCallbacks = {
    release: (rec, outcome) => executor.release(rec, outcome),
    exitReason: (rec) => executor.exitOf(rec, 300),
  }

  // Leave request bodies unread: the proxy streams them.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_req: FastifyRequest, _payload: unknown, done: (err: Error | null) => void) => done(null))

  function dispatch(name: string, path: string, params: string | undefined, req: IncomingMessage, res: ServerResponse): void {
    const fs = executor.state(name)
    if (fs === undefined) {
      sendError(res, new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${name}" not found`))
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
    const go = (rec: InstanceRecord) => forward(req, res, { rec, fnName: name, path, params, timeoutMs: fs.timeoutMs, maxBodyBytes }, callbacks)
    const rec = executor.tryAcquire(name)
    if (rec !== undefined) {
      go(rec)
      return
    }
    executor.acquire(name).then(
      (r) => {
        if (res.destroyed) executor.release(r, 'aborted')
        else go(r)
      },
      (err) => {
        sendError(res, errorOf(err))
        req.resume()
      },
    )
  }

  const onFunction = (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack()
    const url = request.raw.url!
    // `/fn/<name>[/rest][?query]`: the function sees `/rest?query` (at least `/`).
    let end = url.length
    for (let i = 4; i < url.length; i++) {
      const c = url.charCodeAt(i)
      if (c === 47 /* / */ || c === 63 /* ? */) { end = i; break }
    }
    const name = url.slice(4, end)
    const rest = url.slice(end)
    const path = rest === '' ? '/' : rest.charCodeAt(0) === 63 ? '/' + rest : rest
    if (o.accessLog) o.logger.info({ method: request.raw.method, url, function: name }, 'request')
    dispatch(decodeURIComponent(name), path, undefined, request.raw, reply.raw)
  }

  app.all('/fn/:name', onFunction)
  app.all('/fn/:name/*', onFunction)

  app.setNotFoundHandler((request, reply) => {
    const req = request.raw
    const match = o.routes.match(req.method ?? 'GET', req.url ?? '/', req.headers.host)
    reply.hijack()
    if (match === undefined) {
      sendError(reply.raw, new KilnError('KILN_ERR_ROUTE_NOT_FOUND', `no function or route matches ${req.method} ${req.url}`))
      req.resume()
      return
    }
    if (o.accessLog) o.logger.info({ method: req.method, url: req.url, trigger: match.trigger.metadata.name }, 'request')
    const spec = match.trigger.spec
    if (spec.workflow !== undefined) {
      if (o.workflows) o.workflows.handle(spec.workflow, req, reply.raw)
      else sendError(reply.raw, new KilnError('KILN_ERR_WORKFLOW_NOT_FOUND', 'workflows are not enabled'))
      return
    }
    const params = Object.keys(match.params).length > 0 ? JSON.stringify(match.params) : undefined
    dispatch(spec.function!, req.url ?? '/', params, req, reply.raw)
  })
}
