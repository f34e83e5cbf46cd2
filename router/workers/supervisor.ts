// Router processes (`kiln up --router-processes N`, docs/router.md "Router processes"): the platform's
// process accepts the public connections and hands each to a router process in turn (as node:cluster's
// round-robin does), so the parsing, proxying and streaming of function requests spread over N cores
// while every decision (which instance, how many, the queue) stays in one place, the executor. A router
// process that dies gives its slots back (broker.ts) and another starts; while none is alive, the
// platform's own server takes the connections.
import { fork, type ChildProcess } from 'node:child_process'
import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from 'pino'
import type { Executor } from '../../executor/executor.js'
import type { DataPlane } from '../data-plane.js'
import { RouterBroker } from './broker.js'
import { CONN, READY, STOP, type FromRouter, type RouterWorkerConfig } from './protocol.js'

export interface RouterProcessesOptions {
  count: number
  host: string
  port: number
  backlog: number
  /** The program (dist/router-worker.js). */
  script: string
  /** The platform's own listener (a Unix socket), where router processes pass what they do not serve. */
  platformSocket: string
  dataPlane: Pick<DataPlane, 'admit'>
  executor: Executor
  logger: Logger
  logLevel: string
  accessLog: boolean
  /** Serves a connection in the platform's own process (while no router process is alive). */
  fallback(socket: Socket): void
}

export interface RouterProcesses {
  readonly port: number
  /** GET /healthz: how many, how many alive, requests each was given a slot for. */
  view(): { processes: number; alive: number; served: number[]; restarts: number }
  /** Slots router processes hold now. */
  held(): number
  /** Their process ids (undefined: not running). */
  pids(): (number | undefined)[]
  /** The mean utilization of the live ones' event loops, as they last reported it (undefined: none reported). */
  utilization(): number | undefined
  /** Stops taking connections, lets each router process finish its requests (up to `graceMs`), then stops it. */
  close(graceMs?: number): Promise<void>
}

const START_TIMEOUT_MS = 15_000

class RouterProcess {
  child: ChildProcess | undefined
  broker: RouterBroker | undefined
  alive = false
  startedAt = 0
  /** Exits in a row of a process that ran less than a minute: the back-off before the next start. */
  crashes = 0
  servedBefore = 0
  exited: Promise<void> = Promise.resolve()
  constructor(readonly index: number) {}
  get served(): number { return this.servedBefore + (this.broker?.served ?? 0) }
}

export async function startRouterProcesses(o: RouterProcessesOptions): Promise<RouterProcesses> {
  const procs = Array.from({ length: o.count }, (_, i) => new RouterProcess(i))
  let stopping = false
  let restarts = 0
  let next = 0

  function start(p: RouterProcess): Promise<void> {
    const config: RouterWorkerConfig = { index: p.index, platformSocket: o.platformSocket, logLevel: o.logLevel, accessLog: o.accessLog }
    // No inherited node flags (a test runner's loaders, a profiler's): the program is plain built JavaScript.
    const child = fork(o.script, [], { env: { ...process.env, KILN_ROUTER_WORKER: JSON.stringify(config) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
    p.child = child
    p.startedAt = Date.now()
    p.servedBefore = p.served
    const broker = p.broker = new RouterBroker(o.dataPlane, o.executor, (batch) => { if (child.connected) child.send(batch) }, o.logger)
    let started: (() => void) | undefined
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`router process ${p.index} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)
      started = () => { clearTimeout(timer); resolve() }
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`router process ${p.index} exited with ${code} before it started`)) })
    })
    child.on('message', (m: unknown) => {
      if (Array.isArray(m)) broker.onBatch(m as FromRouter[])
      else if (m === READY) { p.alive = true; started?.() }
    })
    p.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      p.alive = false
      broker.close()
      if (!stopping) {
        restarts++
        p.crashes = Date.now() - p.startedAt > 60_000 ? 0 : p.crashes + 1
        const delayMs = Math.min(10_000, 250 * 2 ** p.crashes)
        o.logger.error({ router: p.index, code, signal, restartInMs: delayMs }, 'router process exited; its slots are given back and another starts')
        setTimeout(() => { if (!stopping) start(p).catch((err: Error) => o.logger.error({ err, router: p.index }, 'router process did not start')) }, delayMs).unref()
      }
      resolve()
    }))
    return ready
  }

  function handOver(socket: Socket): void {
    for (let k = 0; k < procs.length; k++) {
      const p = procs[next++ % procs.length]
      if (p.alive && p.child?.connected) {
        p.child.send(CONN, socket, (err) => { if (err) socket.destroy() })
        return
      }
    }
    o.fallback(socket)
  }

  async function stopAll(graceMs: number): Promise<void> {
    stopping = true
    for (const p of procs) if (p.child?.connected) p.child.send(STOP)
    const deadline = setTimeout(() => { for (const p of procs) p.child?.kill('SIGKILL') }, graceMs)
    await Promise.all(procs.map((p) => p.exited))
    clearTimeout(deadline)
  }

  // Accepted here, read in the router process the socket is handed to.
  const server: Server = createServer({ pauseOnConnect: true }, handOver)
  server.on('error', (err) => o.logger.error({ err }, 'router processes\' listener failed'))
  try {
    await Promise.all(procs.map((p) => start(p)))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ host: o.host, port: o.port, backlog: o.backlog }, () => { server.off('error', reject); resolve() })
    })
  } catch (e) {
    await stopAll(2000)
    throw e
  }
  const port = (server.address() as { port: number }).port
  o.logger.info({ processes: o.count, pids: procs.map((p) => p.child?.pid) }, 'router processes serve the data plane')

  return {
    port,
    view: () => ({ processes: o.count, alive: procs.filter((p) => p.alive).length, served: procs.map((p) => p.served), restarts }),
    held: () => procs.reduce((n, p) => n + (p.broker?.held ?? 0), 0),
    pids: () => procs.map((p) => (p.alive ? p.child?.pid : undefined)),
    utilization: () => {
      const loads = procs.filter((p) => p.alive && p.broker?.utilization !== undefined).map((p) => p.broker!.utilization!)
      return loads.length === 0 ? undefined : loads.reduce((a, b) => a + b, 0) / loads.length
    },
    async close(graceMs = 60_000) {
      // No new connection; the close's callback would wait for every connection handed over to end.
      server.close()
      await stopAll(graceMs)
    },
  }
}
