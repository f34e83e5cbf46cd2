// A router process (`kiln up --router-processes N`): it serves the connections the platform's process
// hands it. A function request (`/fn/NAME`, `/ns/NS/fn/NAME`) takes a slot from the platform's process
// (broker.ts: the same checks, queue and limits as the platform's own data plane), then goes straight
// to the instance over this process's own keep-alive connections (proxy.ts `forward`, the same
// streaming, timeouts, retry rule and error answers); the release goes back with the round trip it took.
// Everything else (the control API, user routes, workflows, async calls, upgrades) is passed whole to the
// platform's own listener, a Unix socket, which serves it as if it came straight from the caller.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { Agent, type Pool } from 'undici'
import { KilnError, type ErrorCode } from '../../core/errors.js'
import type { Outcome } from '../../executor/executor.js'
import { instancePool } from '../../poolmgr/instance.js'
import { parseFunctionUrl } from '../function-url.js'
import { forwardedFor } from '../headers.js'
import { forward, type ForwardOptions, type ProxyCallbacks, type ProxyTarget } from '../proxy.js'
import { createRelay, RELAYED_HEADER } from '../relay.js'
import { sendError } from '../send-error.js'
import { Outbox, type FromRouter, type GrantMsg, type ToRouter } from './protocol.js'

/** A request waiting for its slot. */
interface Waiting { req: IncomingMessage; res: ServerResponse; name: string; path: string; startedAt: number; retried: boolean }

/** One request's slot on an instance: what the proxy sends to, and where its release and answer are told. */
class Lease implements ProxyTarget {
  outcome: Outcome = 'aborted'
  status = 0
  rttMs = -1
  constructor(
    readonly gid: number,
    readonly id: string,
    readonly client: Pool,
    readonly inflight: number,
    readonly fnVersion: number,
    readonly w: Waiting,
    private readonly done: (l: Lease, answered: number, ms: number) => void,
  ) {}

  /** ForwardOptions.stats: the answer the caller got ends the lease. */
  answered(status: number, ms: number): void { this.done(this, status, ms) }
}

interface InstanceConnections { pool: Pool; leases: number; usedAt: number }

export interface RouterWorker {
  /** Serves a connection the platform's process accepted. */
  take(socket: Socket): void
  /** A batch from the platform's process. */
  onBatch(batch: ToRouter[]): void
  /** Stops taking requests on kept-alive connections and resolves once every request here has ended. */
  drain(): Promise<void>
  close(): Promise<void>
}

const IDLE_POOL_MS = 60_000

export function createRouterWorker(o: { send: (batch: FromRouter[]) => void; platformSocket: string; logger: Logger; accessLog: boolean }): RouterWorker {
  const out = new Outbox<FromRouter>(o.send)
  const waiting = new Map<number, Waiting>()
  const exits = new Map<number, (e: { oomKilled: boolean; reason: string } | undefined) => void>()
  const leases = new Map<number, Lease>()
  const instances = new Map<string, InstanceConnections>()
  /** Open WebSocket tunnels to the platform's process: cut at close, as the platform's own are. */
  const tunnels = new Set<Socket>()
  let seq = 0
  let draining: (() => void) | undefined

  const toPlatform = new Agent({ connect: { socketPath: o.platformSocket }, keepAliveTimeout: 30_000, connections: 256 })
  const relay = createRelay({ logger: o.logger, agent: toPlatform, what: 'the platform process' })

  function settled(): void {
    if (draining !== undefined && waiting.size === 0 && leases.size === 0) draining()
  }

  const callbacks: ProxyCallbacks<Lease> = {
    release(l, outcome, status, sentAt) {
      l.outcome = outcome
      l.status = status ?? 0
      l.rttMs = sentAt !== undefined && sentAt >= 0 ? performance.now() - sentAt : -1
    },
    exitReason(l) {
      return new Promise((resolve) => {
        // The platform's process waits up to a second for the exit; it may be stopping too.
        const timer = setTimeout(() => { exits.delete(l.gid); resolve(undefined) }, 3000)
        exits.set(l.gid, (e) => { clearTimeout(timer); resolve(e) })
        out.push(['x', l.gid])
      })
    },
    // Once, on another instance of the same version (proxy.ts decides which requests may be replayed).
    retry(req, res, f) {
      const l = f.rec
      // Waiting before the lease ends (a drain waits for it); the failed slot is released before the new one is asked for.
      const again: Waiting = { ...l.w, retried: true }
      const gid = wait(again)
      end(l, -1, 0)
      ask(gid, again, again.name, null, l.fnVersion)
    },
  }

  function end(l: Lease, answered: number, ms: number): void {
    if (!leases.delete(l.gid)) return
    const ic = instances.get(l.id)
    if (ic !== undefined) { ic.leases--; ic.usedAt = Date.now() }
    out.push(['r', l.gid, l.outcome, l.status, l.rttMs, answered, ms])
    settled()
  }

  function wait(w: Waiting): number {
    const gid = ++seq
    waiting.set(gid, w)
    return gid
  }

  function ask(gid: number, w: Waiting, name: string, alias: string | null, version: number): void {
    out.push(['a', gid, name, alias, version, w.path, w.req.headers, w.retried ? 1 : 0])
  }

  function connectionsTo(id: string, url: string, socket: string | null): InstanceConnections {
    let ic = instances.get(id)
    if (ic === undefined) {
      ic = { pool: instancePool(url, socket ?? undefined), leases: 0, usedAt: Date.now() }
      instances.set(id, ic)
    }
    return ic
  }

  function granted(m: GrantMsg): void {
    const [, gid, id, url, socket, path, fnVersion, timeoutMs, maxBodyBytes, dropAuthorization, inflight] = m
    const w = waiting.get(gid)
    if (w === undefined) return
    waiting.delete(gid)
    const ic = connectionsTo(id, url, socket)
    ic.leases++
    const l = new Lease(gid, id, ic.pool, inflight, fnVersion, w, end)
    leases.set(gid, l)
    if (w.res.destroyed) {
      end(l, 499, performance.now() - w.startedAt)
      return
    }
    const f: ForwardOptions<Lease> = {
      rec: l, fnName: w.name, path, params: undefined, timeoutMs, maxBodyBytes, stats: l, startedAt: w.startedAt, trace: undefined,
      dropAuthorization: dropAuthorization === 1, retried: w.retried,
    }
    forward(w.req, w.res, f, callbacks)
  }

  function onBatch(batch: ToRouter[]): void {
    for (const m of batch) {
      if (m[0] === 'g') granted(m)
      else if (m[0] === 'e') {
        const w = waiting.get(m[1])
        if (w === undefined) continue
        waiting.delete(m[1])
        sendError(w.res, new KilnError(m[2] as ErrorCode, m[3], m[4] ?? undefined))
        w.req.resume()
        settled()
      } else if (m[0] === 'xr') {
        const resolve = exits.get(m[1])
        exits.delete(m[1])
        resolve?.(m[2] === null ? undefined : { oomKilled: m[2], reason: m[3] ?? 'exited' })
      }
    }
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/'
    // A Prefer header may ask for an async call: the platform's process decides (data-plane.ts).
    if ((url.startsWith('/fn/') || url.startsWith('/ns/')) && req.headers.prefer === undefined) {
      const target = parseFunctionUrl(url)
      if (target !== undefined) {
        if (o.accessLog) o.logger.info({ method: req.method, url, function: target.name }, 'request')
        const w: Waiting = { req, res, name: target.name, path: target.path, startedAt: performance.now(), retried: false }
        ask(wait(w), w, target.name, target.alias ?? null, target.version)
        return
      }
    }
    // As the caller sent it, with the caller's address (headers.ts appends none for the platform's socket).
    relay('http://localhost', req, res, {
      host: req.headers.host,
      'x-forwarded-for': forwardedFor(req.headers['x-forwarded-for'], req.socket.remoteAddress),
      [RELAYED_HEADER]: undefined,
    })
  }

  /** Upgrades (WebSocket) are tunnelled whole to the platform's process, which resolves and serves them. */
  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const upstream = connect(o.platformSocket)
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i].toLowerCase()
      if (k !== 'x-forwarded-for' && k !== RELAYED_HEADER) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`
    }
    lines += `x-forwarded-for: ${forwardedFor(req.headers['x-forwarded-for'], req.socket.remoteAddress)}\r\n\r\n`
    upstream.write(lines)
    if (head.length > 0) upstream.write(head)
    upstream.pipe(socket).pipe(upstream)
    tunnels.add(upstream)
    const close = () => { tunnels.delete(upstream); upstream.destroy(); socket.destroy() }
    upstream.on('error', close).on('close', close)
    socket.on('error', close).on('close', close)
  }

  const server: Server = createServer({ keepAliveTimeout: 72_000, requestTimeout: 0, headersTimeout: 60_000 }, onRequest)
  server.on('upgrade', onUpgrade)
  // The server never listens (its connections are handed over): 'listening' starts the checks of
  // headersTimeout that node:http runs for a listening server.
  server.emit('listening')

  // Connections to instances unused for a minute are closed (the instance may be gone, or serve another function).
  const sweep = setInterval(() => {
    const now = Date.now()
    for (const [id, ic] of instances) {
      if (ic.leases === 0 && now - ic.usedAt > IDLE_POOL_MS) {
        instances.delete(id)
        void ic.pool.close().catch(() => undefined)
      }
    }
  }, 15_000)
  sweep.unref()
  // The autoscaler adds no instance while the router's loops are full and the instances wait on them.
  let elu = performance.eventLoopUtilization()
  const load = setInterval(() => {
    const now = performance.eventLoopUtilization()
    out.push(['u', performance.eventLoopUtilization(now, elu).utilization])
    elu = now
  }, 250)
  load.unref()

  return {
    take(socket) {
      server.emit('connection', socket)
      socket.resume()
    },
    onBatch,
    drain() {
      // No connection comes any more; a kept-alive one closes as soon as its request in flight has ended.
      server.closeIdleConnections()
      const idle = setInterval(() => server.closeIdleConnections(), 100)
      return new Promise<void>((resolve) => {
        draining = () => { clearInterval(idle); resolve() }
        settled()
      })
    },
    async close() {
      clearInterval(sweep)
      clearInterval(load)
      server.closeAllConnections()
      for (const t of tunnels) t.destroy()
      out.flush()
      await Promise.all([...instances.values()].map((ic) => ic.pool.close().catch(() => undefined)))
      await toPlatform.close()
    },
  }
}
