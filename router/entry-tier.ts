// The `router` component on Kubernetes: a stateless, horizontally scaled entry tier, and the one
// endpoint the CLI needs. It streams `/fn/NAME` (and `/ns/NS/fn/NAME`) requests to the executor replica that owns the function
// (its `owners` lookup over the replicas' member Leases), `/v1/` to the controller when it knows one
// (KILN_CONTROLLER_URL) — but a function's live status and isolation (`GET /v1/functions/NAME`,
// `POST .../isolate|release`) to its owner, which holds them — and everything else to the executor
// Service (KILN_EXECUTOR_URL), whose replica resolves routes and workflows and relays to the owner
// itself. It holds no instances; `/healthz` is its own.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { refOf } from '../core/refs.js'
import { parseFunctionUrl } from './function-url.js'
import { createRelay, RELAYED_HEADER } from './relay.js'

export interface RouterProxy { readonly url: string; readonly server: Server; close(): Promise<void> }

const FUNCTION_API = /^\/v1\/functions\/([^/?]+)(\/isolate|\/release)?(?:\?(.*))?$/

/**
 * The function (its ref, core/refs.ts) of `GET /v1/functions/NAME` and `POST /v1/functions/NAME/isolate|release`:
 * what its owner answers. The namespace is the query's (the CLI sends it); without one, `default`.
 */
function liveFunction(method: string, url: string): string | undefined {
  const m = FUNCTION_API.exec(url)
  if (!m || (m[2] === undefined ? method !== 'GET' : method !== 'POST')) return undefined
  try {
    const ns = m[3] ? new URLSearchParams(m[3]).get('namespace') ?? undefined : undefined
    return ns === '*' ? undefined : refOf(ns, decodeURIComponent(m[1]!))
  } catch { return undefined }
}

/** Which executor replica serves a function: its data-plane origin, or undefined to use the Service. */
export interface OwnerLookup { ownerUrl(fn: string): string | undefined }

export interface RouterProxyOptions {
  executorUrl: string
  /** The control API (`/v1/`): one URL for the CLI. Unset: `/v1/` goes to the executors (their read-only API). */
  controllerUrl?: string
  owners?: OwnerLookup
  port: number
  host: string
  logger: Logger
}

export async function startRouterProxy(o: RouterProxyOptions): Promise<RouterProxy> {
  const executor = new URL(o.executorUrl).origin
  const controller = o.controllerUrl ? new URL(o.controllerUrl).origin : undefined
  const toExecutor = createRelay({ logger: o.logger, what: 'executor' })
  const toController = createRelay({ logger: o.logger, what: 'controller' })
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/'
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, role: 'router', executor: o.executorUrl, controller: o.controllerUrl }))
      return
    }
    // Set from the caller's connection; a caller's own x-kiln-relayed (an executor-to-executor mark) is dropped.
    const forwarded = { 'x-forwarded-for': req.socket.remoteAddress ?? '', 'x-forwarded-host': req.headers.host ?? '', [RELAYED_HEADER]: undefined }
    if (url.startsWith('/v1/')) {
      // A function's live status and isolation live on the replica that owns it; the rest of the API is the controller's.
      const live = o.owners ? liveFunction(req.method ?? 'GET', url) : undefined
      const owner = live !== undefined ? o.owners!.ownerUrl(live) : undefined
      if (owner) return toExecutor(owner, req, res, forwarded)
      if (controller) return toController(controller, req, res, forwarded)
    }
    let origin = executor
    if (o.owners && (url.startsWith('/fn/') || url.startsWith('/ns/'))) {
      const name = parseFunctionUrl(url)?.name
      origin = (name && o.owners.ownerUrl(name)) || executor
    }
    toExecutor(origin, req, res, forwarded)
  }
  const server = createServer(handle)
  await new Promise<void>((resolve) => server.listen(o.port, o.host, resolve))
  const port = (server.address() as { port: number }).port
  return {
    url: `http://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${port}`,
    server,
    async close() {
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections() })
      await toExecutor.close()
      await toController.close()
    },
  }
}
