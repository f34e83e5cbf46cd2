// The platform's parts put together, once for every way Kiln runs: `kiln up` (files, child processes
// in cgroups; platform/embedded.ts) and the Kubernetes components (CRDs, Redis, runtime pods;
// platform/kubernetes/platform.ts). The caller brings what differs — the stores, the package store, the cluster
// backend and its nodes, extra routes and what to close last — and gets the fleet, pools, executor,
// load monitor, control API and data plane wired the same way, started and stopped in the same order.
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { hostname } from 'node:os'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { ClusterBackend } from '../cluster/backend.js'
import type { KilnConfig, NodeConfig } from '../core/config.js'
import { EventLog } from '../core/events.js'
import { Metrics } from '../core/metrics.js'
import type { PackageStore } from '../core/store/package-store.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { FunctionResource, HTTPTriggerResource, QueueTriggerResource, RuntimeResource, WorkflowResource } from '../core/types.js'
import { controlApi } from '../controller/api.js'
import type { ControlContext } from '../controller/context.js'
import { metricsRoute } from '../controller/metrics.js'
import { Executor } from '../executor/executor.js'
import { FunctionLogs } from '../executor/function-logs.js'
import { LoadMonitor } from '../executor/load-monitor.js'
import { InstanceBudget } from '../poolmgr/budget.js'
import { Fleet } from '../poolmgr/fleet.js'
import { PoolManager } from '../poolmgr/manager.js'
import { createDataPlane, dataPlaneFirst } from '../router/data-plane.js'
import { routerPlugin } from '../router/plugin.js'
import { attachUpgrades } from '../router/websocket.js'
import { RouteTable } from '../triggers/http/route-table.js'
import type { PlatformInvoker } from '../triggers/platform-invoker.js'
import { QueueTriggerSource } from '../triggers/queue/source.js'
import type { TriggerSource } from '../triggers/source.js'
import type { WorkflowsMount } from '../workflows/platform/mount.js'
import { executionsView, instancesView, liveFunctions, nodesView, poolsView } from './read-models.js'

export interface PlatformStores {
  functions: ResourceStore<FunctionResource>
  runtimes: ResourceStore<RuntimeResource>
  triggers: ResourceStore<HTTPTriggerResource>
  workflows: ResourceStore<WorkflowResource>
  queueTriggers: ResourceStore<QueueTriggerResource>
}

export interface AssemblyOptions {
  config: KilnConfig
  logger: Logger
  stores: PlatformStores
  packages: PackageStore
  /** The workflow engine, mounted by the caller first (an unreachable Redis stops a start before anything else is set up). */
  wf: WorkflowsMount
  /** How workflows and triggers call functions; it learns the platform's URL at listen, and is closed here. */
  invoker: PlatformInvoker
  /** Where instances run; `logs.sink` takes their output lines. */
  backend(logs: FunctionLogs): ClusterBackend
  /** Placement classes (virtual nodes, or the Kubernetes ones the scheduler refines). */
  nodes: NodeConfig[]
  resolveCommand(rt: RuntimeResource): string[]
  cgroups: { mode: string; reason?: string }
  /** Run instances and serve functions, routes and workflows; false: the control API alone. */
  dataPlane: boolean
  /** `GET /healthz`. */
  health(fleet: Fleet, pools: PoolManager): Record<string, unknown>
  /** More routes on the same server, registered before the data plane's catch-all. */
  routes?(app: FastifyInstance): Promise<void>
  /** This process among replicas (its queue consumer name); default: the host and the data dir, stable across restarts. */
  identity?: string
}

/** The assembled parts, for platform/ itself, tests and tools; the controller sees read models of them. */
export interface PlatformParts extends PlatformStores {
  readonly packages: PackageStore
  readonly executor: Executor
  readonly fleet: Fleet
  readonly pools: PoolManager
  readonly routes: RouteTable
  readonly queues: QueueTriggerSource
  readonly logs: FunctionLogs
  readonly events: EventLog
  readonly metrics: Metrics
  readonly wf: WorkflowsMount
}

export interface Assembly {
  readonly app: FastifyInstance
  readonly parts: PlatformParts
  readonly executor: Executor
  readonly fleet: Fleet
  readonly pools: PoolManager
  readonly wf: WorkflowsMount
  /** Starts the loops, listens, then `beforeWorkflows(url)` and resumes workflows; the URL. */
  listen(o: { backlog?: number; beforeWorkflows?(url: string): void }): Promise<string>
  /** Stops in dependency order: `first` before anything, `last` after the instances are gone. */
  close(o?: { first?(): Promise<void>; last?(): Promise<void> }): Promise<void>
}

export async function assemble(o: AssemblyOptions): Promise<Assembly> {
  const { config, logger, stores, packages, wf } = o
  const { functions, runtimes, triggers } = stores

  let fleet: Fleet | undefined
  const logs = new FunctionLogs(config.dataDir, (id) => fleet?.records.get(id), logger)
  await logs.init()
  const backend = o.backend(logs)
  fleet = new Fleet(backend, new InstanceBudget(config.instanceBudget), o.nodes, o.resolveCommand, logger)
  const pools = new PoolManager(runtimes, fleet, config.poolSize, logger)
  const events = new EventLog()
  const metrics = new Metrics()
  fleet.on('gone', (rec, exit) => {
    if (rec.retiring) return
    metrics.crashes.inc({ runtime: rec.runtime, reason: exit.oomKilled ? 'oom' : 'exit' })
    events.add({ type: exit.oomKilled ? 'InstanceOutOfMemory' : 'InstanceExited', function: rec.fn, reason: exit.reason, evidence: { instance: rec.id, node: rec.node, code: exit.code, signal: exit.signal } })
  })
  const executor = new Executor({
    functions, runtimes, packages, fleet, pools, logger, idleTimeoutMs: config.idleTimeoutMs,
    onIsolation(fs, iso) {
      metrics.isolations.inc({ function: fs.name, by: iso.by })
      metrics.isolated.set({ function: fs.name }, 1)
      events.add({ type: 'FunctionIsolated', function: fs.name, reason: iso.reason, evidence: { by: iso.by, ...iso.evidence } })
    },
    onRelease(fs, was, by) {
      metrics.releases.inc({ function: fs.name, by })
      metrics.isolated.set({ function: fs.name }, 0)
      events.add({ type: 'FunctionReleased', function: fs.name, reason: by === 'monitor' ? 'quiet for the cool-down' : 'released by an operator', evidence: { by, isolatedSince: new Date(was.at).toISOString() } })
    },
  })
  const monitor = new LoadMonitor(executor, backend, config.loadLimits, logger)
  const routes = new RouteTable(triggers)
  const queues = new QueueTriggerSource({
    store: stores.queueTriggers, invoker: o.invoker, logger, leaseMs: config.queueLeaseMs, metrics,
    consumer: o.identity ?? `${hostname()}-${createHash('sha256').update(config.dataDir).digest('hex').slice(0, 8)}`,
  })
  // Every trigger type, started and stopped in one loop (one registration line each).
  const sources: TriggerSource[] = [routes, queues]
  const parts: PlatformParts = { ...stores, packages, executor, fleet, pools, routes, queues, logs, events, metrics, wf }
  const ctx: ControlContext = {
    functions, runtimes, triggers, packages, logger,
    maxPackageBytes: 512 * 1024 * 1024,
    live: liveFunctions(executor),
    instances: instancesView(fleet),
    pools: poolsView(pools, executor),
    nodes: nodesView(fleet, o.nodes, o.cgroups),
    events, logs, routes,
    workflows: wf.catalog,
    executions: executionsView(wf.engine),
    mqTriggers: stores.queueTriggers, queues: o.dataPlane ? queues : undefined,
  }

  const dataPlane = createDataPlane({ executor, routes, logger, maxBodyBytes: config.maxBodyBytes, accessLog: config.accessLog, workflows: wf.entry })
  const app = Fastify({
    loggerInstance: logger.child({ part: 'http' }, { level: config.accessLog ? logger.level : 'warn' }),
    bodyLimit: 16 * 1024 * 1024,
    return503OnClosing: true,
    // Data-plane requests go to the proxy before fastify sees them (no fastify on the hot path).
    ...(o.dataPlane
      ? { serverFactory: (handler: Parameters<typeof dataPlaneFirst>[1]) => createServer({ keepAliveTimeout: 72_000, requestTimeout: 0, headersTimeout: 60_000 }, dataPlaneFirst(dataPlane, handler)) }
      : {}),
  }) as unknown as FastifyInstance
  app.get('/healthz', async () => o.health(fleet!, pools))
  metricsRoute(app, metrics.registry)
  await app.register(async (api) => controlApi(api, ctx), { prefix: '/v1' })
  if (o.routes) await o.routes(app)
  if (o.dataPlane) {
    await app.register(async (data) => routerPlugin(data, dataPlane))
    await app.register(async (data) => wf.dataPlane(data))
    attachUpgrades(app, { executor, routes, logger })
  }

  let closing: Promise<void> | undefined
  return {
    app, parts, executor, fleet, pools, wf,
    async listen({ backlog, beforeWorkflows }) {
      if (o.dataPlane) {
        pools.start()
        executor.start()
        monitor.start()
        for (const s of sources) await s.start()
      }
      await app.listen({ port: config.port, host: config.host, ...(backlog ? { backlog } : {}) })
      const port = (app.server.address() as { port: number }).port
      const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`
      o.invoker.setOrigin(url)
      beforeWorkflows?.(url)
      if (o.dataPlane) await wf.start()
      return url
    },
    close: ({ first, last } = {}) => closing ??= (async () => {
      await first?.()
      await wf.close().catch((err: Error) => logger.warn({ err }, 'workflow engine did not close cleanly'))
      for (const s of sources) await s.stop()
      await o.invoker.close()
      monitor.stop()
      await executor.close()
      await app.close()
      await pools.close()
      await fleet!.close()
      await last?.()
      await logs.close()
    })(),
  }
}
