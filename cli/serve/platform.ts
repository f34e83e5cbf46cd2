// Kiln on Kubernetes, assembled: the same controller, router, executor and pools as `kiln up`, with
// resources as CRDs (core/store/crd-store.ts), code packages in Redis, and instances as runtime pods
// (cluster/kubernetes). Roles:
// - `executor` / `all-in-one`: the control API, the data plane and the executor with the Kubernetes
//   backend (the data plane lives with the executor: acquire/release are in-process calls on the hot
//   path). With a leader Lease only the leader scales pool Deployments and writes Function status.
// - `controller`: the control API over the CRDs and Redis only; it runs no instances, so live status
//   (instances, pools) reads empty there; the executor's API shows it.
import { mkdir } from 'node:fs/promises'
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { ClusterBackend } from '../../cluster/backend.js'
import { loadKubeConfig } from '../../cluster/kubernetes/client.js'
import { KubernetesBackend } from '../../cluster/kubernetes/backend.js'
import { LeaderElector } from '../../cluster/kubernetes/leader.js'
import { PoolDeployments } from '../../cluster/kubernetes/pools.js'
import { DEFAULT_NODES, type KilnConfig } from '../../core/config.js'
import { EventLog } from '../../core/events.js'
import { createLogger } from '../../core/logger.js'
import { Metrics } from '../../core/metrics.js'
import { crdStore, type CrdStore } from '../../core/store/crd-store.js'
import { FilePackageStore, type PackageStore } from '../../core/store/package-store.js'
import { RedisPackageStore } from '../../core/store/redis-package-store.js'
import type { FunctionResource, HTTPTriggerResource, Resource, RuntimeResource, WorkflowResource } from '../../core/types.js'
import { controlApi } from '../../controller/api.js'
import type { ControlContext } from '../../controller/context.js'
import { Executor } from '../../executor/executor.js'
import { FunctionLogs } from '../../executor/function-logs.js'
import { InstanceBudget } from '../../poolmgr/budget.js'
import { Fleet } from '../../poolmgr/fleet.js'
import { PoolManager } from '../../poolmgr/manager.js'
import { createServer } from 'node:http'
import { createDataPlane, dataPlaneFirst } from '../../router/data-plane.js'
import { routerPlugin } from '../../router/plugin.js'
import { RouteTable } from '../../router/routes.js'
import { attachUpgrades } from '../../router/websocket.js'
import { mountWorkflows } from '../../workflows/platform/mount.js'
import { NodeLoads } from './node-loads.js'

export type Role = 'all-in-one' | 'executor' | 'controller'

export interface KubeOptions {
  role: Role
  kubeconfig?: string | KubeConfig
  namespace: string
  /** This process in the cluster (KILN_POD_NAME): lease holder, owner label of claimed pods. */
  identity: string
  /** Lease name for leader election among executors (KILN_LEADER_ELECTION_LEASE); none: always lead. */
  leaderLease?: string
  readyTimeoutMs?: number
}

export interface KubePlatform {
  readonly url: string
  readonly app: FastifyInstance
  readonly ctx: ControlContext
  readonly backend?: KubernetesBackend
  readonly leader?: LeaderElector
  readonly nodeLoads: NodeLoads
  close(): Promise<void>
}

/** A backend that runs nothing: the controller role never starts instances. */
const noInstances: ClusterBackend = {
  name: 'none',
  start: async () => { throw new Error('the controller runs no instances') },
  stop: async () => undefined,
  list: () => [],
  close: async () => undefined,
}

export async function startKubernetesPlatform(config: KilnConfig, k: KubeOptions, opts: { logger?: Logger } = {}): Promise<KubePlatform> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel })
  await mkdir(config.dataDir, { recursive: true })
  const kc = typeof k.kubeconfig === 'object' ? k.kubeconfig : loadKubeConfig(k.kubeconfig)
  const runsInstances = k.role !== 'controller'
  const storeOpts = { namespace: k.namespace, onError: (err: unknown) => logger.warn({ err }, 'resource watch failed; restarting') }
  const [functions, runtimes, triggers, workflowResources] = await Promise.all([
    crdStore<FunctionResource>(kc, 'Function', storeOpts),
    crdStore<RuntimeResource>(kc, 'Runtime', storeOpts),
    crdStore<HTTPTriggerResource>(kc, 'HTTPTrigger', storeOpts),
    crdStore<WorkflowResource>(kc, 'Workflow', storeOpts),
  ])
  const stores: CrdStore<Resource>[] = [functions, runtimes, triggers, workflowResources] as never
  let packages: PackageStore & { close?(): Promise<void> }
  if (config.redisUrl) packages = new RedisPackageStore({ redis: config.redisUrl, cacheDir: config.dataDir })
  else {
    logger.warn('no KILN_REDIS_URL: code packages are kept in this process\'s data dir, which other replicas cannot read')
    packages = new FilePackageStore(config.dataDir)
  }
  const wf = await mountWorkflows({ dataDir: config.dataDir, redisUrl: config.redisUrl, functions, workflows: workflowResources, logger, maxBodyBytes: config.maxBodyBytes })

  const leader = runsInstances && k.leaderLease ? new LeaderElector(kc, { namespace: k.namespace, lease: k.leaderLease, identity: k.identity, logger }) : undefined
  const isLeader = () => leader?.isLeader ?? true
  const pools = new PoolDeployments(kc, {
    namespace: k.namespace, logger, defaultPoolSize: config.poolSize, isLeader,
    runtimes: () => runtimes.list(), runtime: (n) => runtimes.get(n),
  })
  const backend = runsInstances
    ? await new KubernetesBackend({ kc, namespace: k.namespace, identity: k.identity, logger, pools, nodes: DEFAULT_NODES, runtime: (n) => runtimes.get(n), readyTimeoutMs: k.readyTimeoutMs }).open()
    : undefined

  let fleet: Fleet | undefined
  const logs = new FunctionLogs(config.dataDir, (id) => fleet?.records.get(id), logger)
  await logs.init()
  fleet = new Fleet(backend ?? noInstances, new InstanceBudget(config.instanceBudget), DEFAULT_NODES, (rt) => rt.spec.command ?? [], logger)
  const poolMgr = new PoolManager(runtimes, fleet, config.poolSize, logger)
  const executor = new Executor({ functions, runtimes, packages, fleet, pools: poolMgr, logger, idleTimeoutMs: config.idleTimeoutMs })
  const routes = new RouteTable(triggers)
  const ctx: ControlContext = {
    functions, runtimes, triggers, packages, executor, pools: poolMgr, fleet, routes, logs, logger,
    maxPackageBytes: 512 * 1024 * 1024, workflows: wf.catalog, engine: wf.engine,
    events: new EventLog(), metrics: new Metrics(), nodes: DEFAULT_NODES,
    cgroups: { mode: 'none', reason: 'on Kubernetes each pod runs in its own cgroup; the node agent reads them' },
  }
  const nodeLoads = new NodeLoads()

  const dataPlane = createDataPlane({ executor, routes, logger, maxBodyBytes: config.maxBodyBytes, accessLog: config.accessLog, workflows: wf.entry })
  const app = Fastify({ loggerInstance: logger.child({ part: 'http' }, { level: config.accessLog ? logger.level : 'warn' }), bodyLimit: 16 * 1024 * 1024, return503OnClosing: true }) as unknown as FastifyInstance
  app.get('/healthz', async () => ({ ok: true, role: k.role, cluster: 'kubernetes', namespace: k.namespace, leader: runsInstances ? isLeader() : undefined, instances: fleet!.records.size }))
  await app.register(async (api) => controlApi(api, ctx), { prefix: '/v1' })
  if (runsInstances) {
    await app.register(async (internal) => nodeLoads.routes(internal), { prefix: '/internal' })
    await app.register(async (data) => routerPlugin(data, dataPlane))
    await app.register(async (data) => wf.dataPlane(data))
    attachUpgrades(app, { executor, routes, logger })
  }

  let statusTimer: NodeJS.Timeout | undefined
  if (runsInstances) {
    await leader?.start()
    pools.start()
    poolMgr.start()
    executor.start()
    routes.start()
    statusTimer = startStatusLoop(kc, k.namespace, executor, fleet, backend!, isLeader, logger)
  }
  await app.listen({ port: config.port, host: config.host })
  const port = (app.server.address() as { port: number }).port
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`
  logger.info({ url, role: k.role, namespace: k.namespace, identity: k.identity }, 'kiln (kubernetes) is up')
  backend?.setPackageBase(process.env.KILN_PACKAGE_URL ?? url)
  if (runsInstances) await wf.start(url)

  let closing: Promise<void> | undefined
  return {
    url, app, ctx, backend, leader, nodeLoads,
    close: () => closing ??= (async () => {
      if (statusTimer) clearInterval(statusTimer)
      await wf.close().catch((err: Error) => logger.warn({ err }, 'workflow engine did not close cleanly'))
      routes.stop()
      await executor.close()
      await app.close()
      await poolMgr.close()
      await pools.close()
      await fleet!.close()
      await leader?.stop()
      await Promise.all(stores.map((s) => s.close()))
      await packages.close?.()
      await logs.close()
      logger.info('kiln (kubernetes) stopped')
    })(),
  }
}

/**
 * Level-triggered, every 2 s: each claimed pod's labels say which function it serves
 * (`kubectl get pods -l kiln.dev/function=NAME`), and on the leader each Function's status carries
 * its ready instances (the `Ready` and `Instances` columns of `kubectl get functions`).
 */
function startStatusLoop(kc: KubeConfig, namespace: string, executor: Executor, fleet: Fleet, backend: KubernetesBackend, isLeader: () => boolean, logger: Logger): NodeJS.Timeout {
  const api = kc.makeApiClient(CustomObjectsApi)
  const written = new Map<string, string>()
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    void (async () => {
      for (const rec of fleet.records.values()) await backend.label(rec.id, rec.state === 'generic' ? undefined : rec.fn)
      if (!isLeader()) return
      for (const fs of executor.functions()) {
        const ready = fs.ready().length
        const generation = fs.fn.metadata.generation ?? 1
        const status = {
          observedGeneration: generation, instances: fs.instances.length, readyInstances: ready,
          conditions: [{
            type: 'Ready', status: 'True', observedGeneration: generation, lastTransitionTime: fs.fn.metadata.updatedAt ?? new Date().toISOString(),
            reason: ready > 0 ? 'InstancesReady' : 'ServedFromPool',
            message: ready > 0 ? `${ready} instance(s) hold the code` : `the first request takes a pod from the ${fs.fn.spec.runtime} pool`,
          }],
        }
        const sig = `${fs.fn.metadata.generation}:${ready}`
        if (written.get(fs.name) === sig) continue
        await api.patchNamespacedCustomObjectStatus({ group: 'kiln.dev', version: 'v1', namespace, plural: 'functions', name: fs.name, body: { status } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
          .then(() => written.set(fs.name, sig), (err) => logger.warn({ err, function: fs.name }, 'function status not written'))
      }
    })().finally(() => { busy = false })
  }, 2000)
  timer.unref()
  return timer
}
