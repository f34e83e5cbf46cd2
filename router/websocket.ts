// HTTP upgrades (WebSocket) on the data plane: `/fn/NAME[/...]` and user routes, resolved like plain
// requests, then tunnelled: one instance slot is acquired from the executor, a raw TCP connection to
// the instance replays the upgrade request, and the two sockets are piped both ways until either side
// closes, which gives the slot back. The instance answers the handshake itself (its function's
// `upgrade` export, see docs/runtime-contract.md); the router never parses WebSocket frames.
import type { IncomingMessage, Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { KilnError } from '../core/errors.js'
import type { Executor } from '../executor/executor.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import { refOf } from '../core/refs.js'
import { privateCallRefused, type CallerIdentity } from './data-plane.js'
import { parseFunctionUrl } from './function-url.js'
import { upstreamHeaders } from './headers.js'
import type { RouteMatcher } from './route-match.js'
import { errorOf } from './send-error.js'

export interface UpgradeOptions {
  executor: Executor
  /** Checks callers of private functions (data-plane.ts). */
  auth: CallerIdentity
  routes: RouteMatcher
  logger: Logger
}

interface Target { name: string; path: string; params: string | undefined; dropAuthorization?: boolean }

/** Writes a Kiln error as a raw HTTP/1.1 answer on a socket that has not been upgraded, then closes it. */
function refuse(socket: Duplex, err: KilnError, id?: string): void {
  if (socket.destroyed) return
  const body = JSON.stringify(err.toJSON())
  let head = `HTTP/1.1 ${err.status} ${statusText(err.status)}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`
  if (id !== undefined) head += `x-request-id: ${id}\r\n`
  if (err.status === 401) head += 'www-authenticate: Bearer realm="kiln"\r\n'
  const retry = err.details?.retryAfter
  if (retry !== undefined) head += `retry-after: ${String(retry)}\r\n`
  socket.end(`${head}\r\n${body}`)
}

function statusText(status: number): string {
  return ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' } as Record<number, string>)[status] ?? 'Error'
}

/** `/fn/<name>[/rest][?query]` → the function and the path it sees; else a user route; else undefined. */
function resolve(req: IncomingMessage, routes: RouteMatcher): Target | KilnError {
  const url = req.url ?? '/'
  if (url.startsWith('/fn/') || url.startsWith('/ns/')) {
    const target = parseFunctionUrl(url)
    if (target === undefined) return new KilnError('KILN_ERR_BAD_REQUEST', `bad function name in ${url}`)
    return { ...target, params: undefined }
  }
  const match = routes.match(req.method ?? 'GET', url, req.headers.host)
  if (match === undefined) return new KilnError('KILN_ERR_ROUTE_NOT_FOUND', `no function or route matches ${req.method} ${url}`)
  const spec = match.trigger.spec
  if (spec.function === undefined) return new KilnError('KILN_ERR_BAD_REQUEST', `route ${match.trigger.metadata.name} leads to a workflow, which does not accept upgrades`)
  return { name: refOf(match.trigger.metadata.namespace, spec.function), path: url, params: Object.keys(match.params).length > 0 ? JSON.stringify(match.params) : undefined }
}

/** The upgrade request as the instance must see it: hop-by-hop headers replaced, X-Forwarded-* set. */
function requestHead(req: IncomingMessage, t: Target, rec: InstanceRecord): { head: string; id: string } {
  const { headers, id } = upstreamHeaders(req, t.params, undefined, t.dropAuthorization)
  const u = new URL(rec.inst.url)
  let head = `${req.method ?? 'GET'} ${t.path} HTTP/1.1\r\nhost: ${u.host}\r\nconnection: Upgrade\r\nupgrade: ${req.headers.upgrade ?? 'websocket'}\r\n`
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
  return { head: head + '\r\n', id }
}

function tunnel(o: UpgradeOptions, req: IncomingMessage, client: Duplex, head: Buffer, t: Target, rec: InstanceRecord, open: Set<Duplex>): void {
  let released = false
  let answered = false
  const { head: request, id } = requestHead(req, t, rec)
  const u = new URL(rec.inst.url)
  const upstream: Socket = connect({ host: u.hostname, port: Number(u.port), noDelay: true })
  open.add(client)
  const release = () => {
    if (released) return
    released = true
    open.delete(client)
    o.executor.release(rec, answered ? 'ok' : 'aborted')
  }
  const teardown = () => {
    release()
    upstream.destroy()
    client.destroy()
  }
  // No half-open tunnels: a client that ends its side is gone (WebSocket has no half-close). When the
  // instance's side ends, its slot is free at once and its last bytes are flushed to the client first.
  client.on('end', teardown)
  client.on('finish', teardown)
  client.on('close', teardown)
  client.on('error', teardown)
  upstream.on('close', () => {
    const refusing = released && !answered
    release()
    if (refusing) return
    if (client.writableLength === 0) client.destroy()
    else client.end()
  })
  upstream.on('error', (err) => {
    if (!answered && !released) {
      release()
      refuse(client, new KilnError('KILN_ERR_FUNCTION_CRASHED', `instance ${rec.id} of "${t.name}" refused the upgrade: ${err.message}`, { function: t.name, instance: rec.id }), id)
    }
  })
  upstream.once('data', () => { answered = true })
  upstream.once('connect', () => {
    upstream.write(request)
    if (head.length > 0) upstream.write(head)
    client.pipe(upstream)
    upstream.pipe(client)
  })
}

/**
 * Handles the HTTP server's `upgrade` event for the data plane, and cuts open tunnels when the
 * platform closes (an upgraded socket would otherwise hold `server.close()` open).
 * Call before `listen` (it adds a fastify preClose hook).
 */
export function attachUpgrades(app: FastifyInstance, o: UpgradeOptions): void {
  const open = new Set<Duplex>()
  const server: Server = app.server
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy())
    const t = resolve(req, o.routes)
    if (t instanceof KilnError) return refuse(socket, t)
    const fs = o.executor.state(t.name)
    if (fs === undefined) return refuse(socket, new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${t.name}" not found`))
    if (fs.fn.spec.private === true) {
      const refused = privateCallRefused(o.auth, req.headers.authorization, t.name)
      if (refused) return refuse(socket, refused)
      t.dropAuthorization = true
    }
    ;(socket as Socket).setTimeout?.(0)
    const rec = o.executor.tryAcquire(t.name)
    if (rec !== undefined) return tunnel(o, req, socket, head, t, rec, open)
    o.executor.acquire(t.name).then(
      (r) => {
        if (socket.destroyed) o.executor.release(r, 'aborted')
        else tunnel(o, req, socket, head, t, r, open)
      },
      (err) => refuse(socket, errorOf(err)),
    )
  })
  app.addHook('preClose', (done) => {
    for (const s of open) s.destroy()
    done()
  })
}
