// The embedded platform: controller + router + executor + pool manager in one process, instances as
// child processes in cgroups on virtual nodes, state in the data dir. `kiln up` runs this; tests start
// it in-process on a free port.
import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { detectCgroups, type CgroupDriver } from '../../cluster/local/cgroups/index.js'
import { LocalBackend } from '../../cluster/local/backend.js'
import type { KilnConfig } from '../../core/config.js'
import { createLogger } from '../../core/logger.js'
import { expandCommand } from '../../core/paths.js'
import { parseBytes } from '../../core/quantity.js'
import { fileStore } from '../../core/store/file-store.js'
import { FilePackageStore } from '../../core/store/package-store.js'
import type { FunctionResource, HTTPTriggerResource, RuntimeResource, WorkflowResource } from '../../core/types.js'
import { controlApi } from '../../controller/api.js'
import { BUILTIN_RUNTIMES } from '../../controller/builtin-runtimes.js'
import type { ControlContext } from '../../controller/context.js'
import { EventLog } from '../../core/events.js'
import { Metrics } from '../../core/metrics.js'
import { Executor } from '../../executor/executor.js'
import { LoadMonitor } from '../../executor/load-monitor.js'
import { FunctionLogs } from '../../executor/function-logs.js'
import { InstanceBudget } from '../../poolmgr/budget.js'
import { Fleet } from '../../poolmgr/fleet.js'
import { PoolManager } from '../../poolmgr/manager.js'
import { createServer } from 'node:http'
import { createDataPlane, dataPlaneFirst } from '../../router/data-plane.js'
import { routerPlugin } from '../../router/plugin.js'
import { RouteTable } from '../../router/routes.js'
import { mountWorkflows } from '../../workflows/platform/mount.js'
import { attachUpgrades } from '../../router/websocket.js'

export interface Platform {
  readonly url: string
  readonly port: number
  readonly config: KilnConfig
  readonly app: FastifyInstance
  readonly ctx: ControlContext
  readonly cgroups: CgroupDriver
  close(): Promise<void>
}

export async function startPlatform(config: KilnConfig, opts: { logger?: Logger } = {}): Promise<Platform> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel })
  await mkdir(config.dataDir, { recursive: true })

  const [functions, runtimes, triggers, workflowResources] = await Promise.all([
    fileStore<FunctionResource>(config.dataDir, 'Function'),
    fileStore<RuntimeResource>(config.dataDir, 'Runtime'),
    fileStore<HTTPTriggerResource>(config.dataDir, 'HTTPTrigger'),
    fileStore<WorkflowResource>(config.dataDir, 'Workflow'),
  ])
  for (const rt of BUILTIN_RUNTIMES) if (!runtimes.get(rt.metadata.name)) await runtimes.put(rt)
  const packages = new FilePackageStore(config.dataDir)
  // Workflows: executions in memory, or in Redis with --redis (opened first: an unreachable Redis stops kiln up at once).
  const wf = await mountWorkflows({ dataDir: config.dataDir, redisUrl: config.redisUrl, functions, workflows: workflowResources, logger, maxBodyBytes: config.maxBodyBytes })

  // One cgroup root per data dir: stable across restarts (so a crashed run's leftovers are swept) and
  // distinct between platforms sharing a machine.
  const rootName = config.cgroupRoot === 'kiln' ? `kiln-${createHash('sha256').update(config.dataDir).digest('hex').slice(0, 8)}` : config.cgroupRoot
  const cgroups = await detectCgroups({ rootName, prefer: config.cgroups === 'auto' ? undefined : config.cgroups, logger })
  if (cgroups.mode === 'none') logger.warn({ reason: cgroups.reason }, 'cgroups unavailable: instances run without kernel limits; usage is read from /proc')
  else {
    const swept = await cgroups.sweep()
    if (swept > 0) logger.warn({ killed: swept }, 'killed instances left behind by a previous run')
    for (const n of config.nodes) {
      await cgroups.group(`nodes/${n.name}`, { cpu: n.cpus, memoryBytes: n.memory ? parseBytes(n.memory) : undefined, cpuset: n.cpuset })
    }
  }

  let fleet: Fleet | undefined
  const logs = new FunctionLogs(config.dataDir, (id) => fleet?.records.get(id), logger)
  await logs.init()
  const backend = new LocalBackend({ log: logs.sink, logger, cgroups })
  const budget = new InstanceBudget(config.instanceBudget)
  fleet = new Fleet(backend, budget, config.nodes, (rt) => expandCommand(rt.spec.command ?? []), logger)
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

  const ctx: ControlContext = {
    functions, runtimes, triggers, packages, executor, pools, fleet, routes, logs, logger,
    maxPackageBytes: 512 * 1024 * 1024,
    workflows: wf.catalog, engine: wf.engine,
    events, metrics, nodes: config.nodes, cgroups: { mode: cgroups.mode, reason: cgroups.reason },
  }

  const dataPlane = createDataPlane({ executor, routes, logger, maxBodyBytes: config.maxBodyBytes, accessLog: config.accessLog, workflows: wf.entry })
  const app = Fastify({
    loggerInstance: logger.child({ part: 'http' }, { level: config.accessLog ? logger.level : 'warn' }),
    bodyLimit: 16 * 1024 * 1024,
    return503OnClosing: true,
    // Data-plane requests skip fastify: the server hands them to the proxy directly.
    serverFactory: (handler) => createServer({ keepAliveTimeout: 72_000, requestTimeout: 0, headersTimeout: 60_000 }, dataPlaneFirst(dataPlane, handler)),
  }) as unknown as FastifyInstance
  app.get('/healthz', async () => ({ ok: true, cgroups: cgroups.mode, instances: fleet!.records.size, pools: pools.stats() }))
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()))
  await app.register(async (api) => controlApi(api, ctx), { prefix: '/v1' })
  await app.register(async (data) => routerPlugin(data, dataPlane))
  await app.register(async (data) => wf.dataPlane(data))
  attachUpgrades(app, { executor, routes, logger })

  pools.start()
  executor.start()
  monitor.start()
  routes.start()
  // A deep accept queue: a burst of connections (1000 clients connecting at once) must wait, not be dropped.
  await app.listen({ port: config.port, host: config.host, backlog: 4096 })
  const port = (app.server.address() as { port: number }).port
  const url = `http://${config.host}:${port}`
  logger.info({ url, dataDir: config.dataDir, cgroups: cgroups.mode, poolSize: config.poolSize }, 'kiln is up')
  await wf.start(url)

  let closing: Promise<void> | undefined
  async function close(): Promise<void> {
    closing ??= (async () => {
      await wf.close().catch((err: Error) => logger.warn({ err }, 'workflow engine did not close cleanly'))
      routes.stop()
      monitor.stop()
      await executor.close()
      await app.close()
      await pools.close()
      await fleet!.close()
      await cgroups.close().catch((err: Error) => logger.warn({ err }, 'cgroup root not removed'))
      await logs.close()
      logger.info('kiln stopped')
      logger.flush?.()
    })()
    return closing
  }

  return { url, port, config, app, ctx, cgroups, close }
}
