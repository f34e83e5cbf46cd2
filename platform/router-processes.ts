// `kiln up --router-processes N` (router/workers/, docs/router.md "Router processes"): the platform's own
// server listens on a Unix socket in a private folder, for what the router processes pass on (and for
// connections while none is alive); the router processes take the public port; the autoscaler's
// "router busy" reads their loops.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { distDir } from '../core/paths.js'
import type { Executor } from '../executor/executor.js'
import type { DataPlane } from '../router/data-plane.js'
import { startRouterProcesses, type RouterProcesses } from '../router/workers/supervisor.js'

export interface RoutedListener {
  readonly routers: RouterProcesses
  /** Removes the private socket's folder (once the platform's server has closed). */
  removeSocket(): Promise<void>
}

export async function listenThroughRouterProcesses(o: {
  app: FastifyInstance; count: number; host: string; port: number; backlog: number
  dataPlane: Pick<DataPlane, 'admit'>; executor: Executor; logger: Logger; logLevel: string; accessLog: boolean; tracing: boolean
}): Promise<RoutedListener> {
  const script = join(distDir(), 'router-worker.js')
  if (!existsSync(script)) throw new Error(`routerProcesses ${o.count} needs the built router program ${script}: run npm run build`)
  const dir = await mkdtemp(join(tmpdir(), 'kiln-routers-'))
  const removeSocket = () => rm(dir, { recursive: true, force: true })
  const platformSocket = join(dir, 'platform.sock')
  let routers: RouterProcesses
  try {
    await o.app.listen({ path: platformSocket })
    routers = await startRouterProcesses({
      count: o.count, host: o.host, port: o.port, backlog: o.backlog, script, platformSocket,
      dataPlane: o.dataPlane, executor: o.executor, logger: o.logger, logLevel: o.logLevel, accessLog: o.accessLog,
      fallback: (socket) => { o.app.server.emit('connection', socket); socket.resume() },
    })
  } catch (e) {
    await removeSocket()
    throw e
  }
  o.executor.setRouterLoad(routers.utilization)
  if (o.tracing) o.logger.warn('tracing: requests that router processes serve make no kiln.* spans (their callers\' traceparent still reaches the function); run one router process to trace them')
  return { routers, removeSocket }
}
