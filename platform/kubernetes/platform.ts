// Kiln on Kubernetes, assembled: the same controller, router, executor and pools as `kiln up`, with
// resources as CRDs (core/store/crd-store.ts), code packages in Redis, and instances as runtime pods
// (cluster/kubernetes). Roles:
// - `executor` / `all-in-one`: the control API, the data plane and the executor with the Kubernetes
//   backend (the data plane lives with the executor: acquire/release are in-process calls on the hot
//   path). With a leader Lease only the leader scales pool Deployments, deletes unused function sets
//   and writes Function status.
// - `controller`: the control API over the CRDs and Redis only; it runs no instances, so live status
//   (instances, pools) reads empty there; the executor's API shows it.
import { mkdir } from 'node:fs/promises'
import type { KubeConfig } from '@kubernetes/client-node'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { ClusterBackend } from '../../cluster/backend.js'
import { loadKubeConfig } from '../../cluster/kubernetes/client.js'
import { KubernetesBackend } from '../../cluster/kubernetes/backend.js'
import { FunctionSets } from '../../cluster/kubernetes/function-sets.js'
import { LeaderElector } from '../../cluster/kubernetes/leader.js'
import { PodLoads } from '../../cluster/kubernetes/pod-loads.js'
import { PoolDeployments } from '../../cluster/kubernetes/pools.js'
import { ensureAdminToken } from '../../core/auth/bootstrap.js'
import { packageSigner } from '../../core/auth/package-signature.js'
import { DEFAULT_NODES, type KilnConfig } from '../../core/config.js'
import { createLogger } from '../../core/logger.js'
import { startTracing } from '../../core/tracing.js'
import { KILN_VERSION } from '../../core/version.js'
import { crdStore, type CrdStore } from '../../core/store/crd-store.js'
import { FilePackageStore, type PackageStore } from '../../core/store/package-store.js'
import { RedisPackageStore } from '../../core/store/redis-package-store.js'
import { kubeSecretStore } from '../../core/store/kube-secret-store.js'
import { kubeTokenStore } from '../../core/store/kube-token-store.js'
import type { CronTriggerResource, FunctionResource, HTTPTriggerResource, NamespaceResource, QueueTriggerResource, Resource, RuntimeResource, WorkflowResource } from '../../core/types.js'
import { PlatformInvoker } from '../../triggers/platform-invoker.js'
import { poolTarget } from '../../poolmgr/pool-size.js'
import { mountWorkflows } from '../../workflows/platform/mount.js'
import { openPlatformState } from '../state.js'
import { assemble, type PlatformParts } from '../assemble.js'
import { ALL_PROTECTIONS_PRESENT_STUB } from '../protections.js'
import { startStatusLoop } from '../../cluster/kubernetes/function-status.js'
import { awaitServable } from './servable.js'
import { nodeLoadRoutes } from './node-loads.js'
import { packageKey } from './package-key.js'

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
  /** How often the leader's loops (pool Deployments, function sets) run; default 3 s. */
  reconcileMs?: number
  /** controller: how long a deploy waits for the executor to apply it (default 120 s). */
  deployTimeoutMs?: number
}

export interface KubePlatform {
  readonly url: string
  /** The control API (`url` unless it listens apart). */
  readonly apiUrl: string
  readonly app: FastifyInstance
  /** The assembled parts (executor, fleet, pools, stores, ...), for tests and tools. */
  readonly ctx: PlatformParts
  readonly backend?: KubernetesBackend
  readonly leader?: LeaderElector
  /** The node agents' latest reports (`POST /internal/node-load`), which `backend.sample` reads. */
  readonly nodeLoads: PodLoads
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
  const [functions, runtimes, triggers, workflowResources, namespaces, cronTriggers, queueTriggers] = await Promise.all([
    crdStore<FunctionResource>(kc, 'Function', storeOpts),
    crdStore<RuntimeResource>(kc, 'Runtime', storeOpts),
    crdStore<HTTPTriggerResource>(kc, 'HTTPTrigger', storeOpts),
    crdStore<WorkflowResource>(kc, 'Workflow', storeOpts),
    crdStore<NamespaceResource>(kc, 'Namespace', storeOpts),
    crdStore<CronTriggerResource>(kc, 'CronTrigger', storeOpts),
    crdStore<QueueTriggerResource>(kc, 'QueueTrigger', storeOpts),
  ])
  const stores: CrdStore<Resource>[] = [functions, runtimes, triggers, workflowResources, namespaces, cronTriggers, queueTriggers] as never
  // Tokens (hashed) and secrets are Kubernetes Secrets in Kiln's namespace, watched by every replica.
  const secretOpts = { namespace: k.namespace, onError: (err: unknown) => logger.warn({ err }, 'secret watch failed; restarting') }
  const [tokens, secrets] = await Promise.all([kubeTokenStore(kc, secretOpts), kubeSecretStore(kc, secretOpts)])
  // The controller (or all-in-one) makes the first admin token; an executor's ServiceAccount only reads them.
  if (k.role !== 'executor') await ensureAdminToken(tokens, logger)
  // Runtime pods download their code from signed URLs (they hold no token).
  const signer = packageSigner(await packageKey(kc, k.namespace))
  let packages: PackageStore & { close?(): Promise<void> }
  if (config.redisUrl) packages = new RedisPackageStore({ redis: config.redisUrl, cacheDir: config.dataDir })
  else {
    logger.warn('no KILN_REDIS_URL: code packages are kept in this process\'s data dir, which other replicas cannot read')
    packages = new FilePackageStore(config.dataDir)
  }
  // Durable state in Redis, shared by every replica; without it, SQLite in this pod's data dir.
  if (!config.redisUrl) logger.warn('no KILN_REDIS_URL: async invocations, cron progress and workflow executions are kept in this process\'s data dir (SQLite), which other replicas cannot read')
  const state = await openPlatformState({ dataDir: config.dataDir, redisUrl: config.redisUrl, logger, flag: 'KILN_REDIS_URL' })
  const invoker = new PlatformInvoker()
  const wf = await mountWorkflows({ executions: state.executions, functions, workflows: workflowResources, logger, maxBodyBytes: config.maxBodyBytes, invoker, callbackHosts: config.callbackHosts })

  const leader = runsInstances && k.leaderLease ? new LeaderElector(kc, { namespace: k.namespace, lease: k.leaderLease, identity: k.identity, logger }) : undefined
  const isLeader = () => leader?.isLeader ?? true
  const pools = new PoolDeployments(kc, {
    namespace: k.namespace, logger, poolSize: (rt, special) => poolTarget(rt, config.poolSize, special), isLeader, reconcileMs: k.reconcileMs,
    runtimes: () => runtimes.list(), runtime: (n) => runtimes.get(n),
  })
  const sets = new FunctionSets(kc, { namespace: k.namespace, logger, isLeader, reconcileMs: k.reconcileMs, function: (n) => functions.get(n), runtime: (n) => runtimes.get(n) })
  const nodeLoads = new PodLoads()
  const backend = runsInstances
    ? await new KubernetesBackend({ kc, namespace: k.namespace, identity: k.identity, logger, pools, sets, loads: nodeLoads, nodes: DEFAULT_NODES, runtime: (n) => runtimes.get(n), readyTimeoutMs: k.readyTimeoutMs }).open()
    : undefined

  const a = await assemble({
    config, logger, packages, wf, invoker,
    stores: { functions, runtimes, triggers, workflows: workflowResources, namespaces, cronTriggers, queueTriggers },
    tokens, secrets, protections: ALL_PROTECTIONS_PRESENT_STUB, packageSignature: signer,
    state, owner: k.identity, identity: k.identity, recoverAll: !config.redisUrl,
    backend: () => backend ?? noInstances,
    nodes: DEFAULT_NODES,
    resolveCommand: (rt) => rt.spec.command ?? [],
    cgroups: { mode: 'none', reason: 'on Kubernetes each pod runs in its own cgroup; the node agent reads them' },
    dataPlane: runsInstances,
    health: (fleet) => ({ ok: true, role: k.role, cluster: 'kubernetes', namespace: k.namespace, leader: runsInstances ? isLeader() : undefined, instances: fleet.records.size }),
    routes: runsInstances ? async (app) => { await app.register(nodeLoadRoutes(nodeLoads), { prefix: '/internal' }) } : undefined,
    tracing: await startTracing({ config: config.tracing, version: KILN_VERSION }),
    // The controller runs no executor: a deploy returns once the executor's status says it is applied.
    whenServable: runsInstances ? undefined : (ref) => awaitServable(functions, ref, k.deployTimeoutMs ?? 120_000),
  })

  let statusLoop: { stop(): void } | undefined
  if (runsInstances) {
    await leader?.start()
    pools.start()
    sets.start()
    statusLoop = startStatusLoop(kc, k.namespace, {
      instances: () => [...a.fleet.records.values()].map((r) => ({ id: r.id, fn: r.state === 'generic' ? undefined : r.fn })),
      functions: () => a.executor.functions().map((fs) => fs.fn),
      whenApplied: (ref) => a.executor.whenApplied(ref),
      watch: (onChange) => functions.watch((ev) => { if (ev.type === 'put') onChange() }),
    }, backend!, isLeader, logger)
  }
  const { url, apiUrl } = await a.listen({
    beforeWorkflows: (u) => {
      logger.info({ url: u, role: k.role, namespace: k.namespace, identity: k.identity }, 'kiln (kubernetes) is up')
      backend?.setPackageBase(process.env.KILN_PACKAGE_URL ?? u, signer.sign)
    },
  })

  let closing: Promise<void> | undefined
  return {
    url, apiUrl, app: a.app, ctx: a.parts, backend, leader, nodeLoads,
    close: () => closing ??= (async () => {
      await a.close({
        first: async () => {
          statusLoop?.stop()
          await pools.close()
          await sets.close()
        },
        last: async () => {
          await leader?.stop()
          await Promise.all(stores.map((s) => s.close()))
          await tokens.close()
          await secrets.close()
          await packages.close?.()
        },
      })
      logger.info('kiln (kubernetes) stopped')
    })(),
  }
}
