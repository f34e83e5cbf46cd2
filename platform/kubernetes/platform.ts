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
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node'
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
import type { CronTriggerResource, FunctionResource, FunctionTrafficResource, FunctionVersionResource, HTTPTriggerResource, NamespaceResource, QueueTriggerResource, Resource, RuntimeResource, WorkflowResource } from '../../core/types.js'
import { PlatformInvoker } from '../../triggers/platform-invoker.js'
import { poolTarget } from '../../poolmgr/pool-size.js'
import { mountWorkflows } from '../../workflows/platform/mount.js'
import { openPlatformState } from '../state.js'
import { assemble, type PlatformParts } from '../assemble.js'
import { podProtections } from '../../cluster/kubernetes/pod-protections.js'
import { startStatusLoop } from '../../cluster/kubernetes/function-status.js'
import { awaitServable } from './servable.js'
import { nodeLoadRoutes } from './node-loads.js'
import { Membership } from '../../cluster/kubernetes/members.js'
import { OrphanSweeper } from '../../cluster/kubernetes/orphans.js'
import { PodLogs } from '../../cluster/kubernetes/pod-logs.js'
import type { RuntimePodTemplate } from '../../cluster/kubernetes/pod-template.js'
import { ReconcileLoop } from '../../cluster/kubernetes/reconcile-loop.js'
import { checkKubeVersion, MIN_KUBERNETES_VERSION } from '../../cluster/kubernetes/version.js'
import { registerRuntimes } from './builtin-runtimes.js'
import { kubernetesWarnings } from './function-warnings.js'
import { startConversionWebhook, type ConversionWebhook, type WebhookOptions } from './conversion-webhook.js'
import { packageKey } from './package-key.js'
import { startPackageSync } from './package-sync.js'

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
  /**
   * Executor replicas share the functions out (cluster/kubernetes/members.ts), each holding a member Lease
   * of this duration (default 15 s; also how long a vanished replica's pods wait to be reclaimed). On
   * whenever `leaderLease` is set; the group is the leader Lease's name.
   */
  leaseDurationSeconds?: number
  /** This replica's data plane as the others and the routers reach it (default: its listen URL). */
  advertiseUrl?: string
  /** What every runtime pod gets (placement, security, requests: the chart's values); the controller reads it for the pods' protections and deploy warnings. */
  runtimePods?: RuntimePodTemplate
  /** Runtimes to register at start (controller, all-in-one): the chart's built-in ones. */
  builtinRuntimes?: RuntimeResource[]
  /** Serve the CRD conversion webhook (controller, all-in-one). */
  webhook?: Omit<WebhookOptions, 'namespace' | 'logger'>
  /** Check the API server's version first (default true). */
  checkVersion?: boolean
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
  /** The executor replicas and who owns which function (several replicas). */
  readonly members?: Membership
  readonly webhook?: ConversionWebhook
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
  if (k.checkVersion !== false) logger.info({ kubernetes: await checkKubeVersion(kc), minimum: MIN_KUBERNETES_VERSION }, 'Kubernetes version checked')
  const runsInstances = k.role !== 'controller'
  // Before the stores open: an object stored under another version than the store reads needs it.
  const webhook = k.webhook && k.role !== 'executor' ? await startConversionWebhook(kc, { ...k.webhook, namespace: k.namespace, logger }) : undefined
  const storeOpts = { namespace: k.namespace, onError: (err: unknown) => logger.warn({ err }, 'resource watch failed; restarting') }
  const [functions, runtimes, triggers, workflowResources, namespaces, cronTriggers, queueTriggers, versions, traffic] = await Promise.all([
    crdStore<FunctionResource>(kc, 'Function', storeOpts),
    crdStore<RuntimeResource>(kc, 'Runtime', storeOpts),
    crdStore<HTTPTriggerResource>(kc, 'HTTPTrigger', storeOpts),
    crdStore<WorkflowResource>(kc, 'Workflow', storeOpts),
    crdStore<NamespaceResource>(kc, 'Namespace', storeOpts),
    crdStore<CronTriggerResource>(kc, 'CronTrigger', storeOpts),
    crdStore<QueueTriggerResource>(kc, 'QueueTrigger', storeOpts),
    // Versions and traffic as their own objects (FunctionVersion, FunctionTraffic; docs/releases.md).
    crdStore<FunctionVersionResource>(kc, 'FunctionVersion', storeOpts),
    crdStore<FunctionTrafficResource>(kc, 'FunctionTraffic', storeOpts),
  ])
  const stores: CrdStore<Resource>[] = [functions, runtimes, triggers, workflowResources, namespaces, cronTriggers, queueTriggers, versions, traffic] as never
  // Tokens (hashed) and secrets are Kubernetes Secrets in Kiln's namespace, watched by every replica.
  const secretOpts = { namespace: k.namespace, onError: (err: unknown) => logger.warn({ err }, 'secret watch failed; restarting') }
  const [tokens, secrets] = await Promise.all([kubeTokenStore(kc, secretOpts), kubeSecretStore(kc, secretOpts)])
  // The controller (or all-in-one) makes the first admin token; an executor's ServiceAccount only reads them.
  if (k.role !== 'executor') await ensureAdminToken(tokens, logger)
  // Runtime pods download their code from signed URLs (they hold no token).
  const signer = packageSigner(await packageKey(kc, k.namespace))
  if (k.builtinRuntimes?.length && k.role !== 'executor') await registerRuntimes(runtimes, k.builtinRuntimes, logger)
  let packages: PackageStore & { close?(): Promise<void> }
  if (config.redisUrl) packages = new RedisPackageStore({ redis: config.redisUrl, cacheDir: config.dataDir })
  else {
    logger.warn('no KILN_REDIS_URL: code packages are kept in this process\'s data dir, which other replicas cannot read')
    packages = new FilePackageStore(config.dataDir)
  }
  // Durable state in Redis, shared by every replica; without it, SQLite in this pod's data dir.
  if (!config.redisUrl) logger.warn('no KILN_REDIS_URL: async invocations, cron progress and workflow executions are kept in this process\'s data dir (SQLite), which other replicas cannot read')
  const state = await openPlatformState({ dataDir: config.dataDir, redisUrl: config.redisUrl, logger, flag: 'KILN_REDIS_URL' })
  // Package objects applied with kubectl become packages of the store (the controller's job: its RBAC reads them).
  const packageObjects = k.role !== 'executor' ? await crdStore<Resource>(kc, 'Package', storeOpts) : undefined
  const stopPackageSync = packageObjects ? startPackageSync({ kc, namespace: k.namespace, store: packageObjects, packages, logger, maxBytes: 512 * 1024 * 1024 }) : undefined
  const invoker = new PlatformInvoker()
  const wf = await mountWorkflows({ executions: state.executions, functions, workflows: workflowResources, logger, maxBodyBytes: config.maxBodyBytes, invoker, callbackHosts: config.callbackHosts })

  const leaseDurationSeconds = k.leaseDurationSeconds ?? 15
  const leader = runsInstances && k.leaderLease ? new LeaderElector(kc, { namespace: k.namespace, lease: k.leaderLease, identity: k.identity, logger, leaseDurationSeconds }) : undefined
  const isLeader = () => leader?.isLeader ?? true
  let advertised: string | undefined = k.advertiseUrl
  let executorRef: { ownershipChanged(): void } | undefined
  const members = runsInstances && k.leaderLease
    ? new Membership(kc, { namespace: k.namespace, group: k.leaderLease, identity: k.identity, url: () => advertised, leaseDurationSeconds, logger, onChange: () => executorRef?.ownershipChanged() })
    : undefined
  const pools = new PoolDeployments(kc, {
    namespace: k.namespace, logger, poolSize: (rt, special) => poolTarget(rt, config.poolSize, special), isLeader, reconcileMs: k.reconcileMs,
    runtimes: () => runtimes.list(), runtime: (n) => runtimes.get(n), template: k.runtimePods,
  })
  const sets = new FunctionSets(kc, { namespace: k.namespace, logger, isLeader, reconcileMs: k.reconcileMs, function: (n) => functions.get(n), runtime: (n) => runtimes.get(n), template: k.runtimePods })
  const nodeLoads = new PodLoads()
  // Functions' output is their pods' logs, read through the API server by whichever replica is asked.
  const logs = new PodLogs(kc, { namespace: k.namespace, logger })
  const backend = runsInstances
    ? await new KubernetesBackend({ kc, namespace: k.namespace, identity: k.identity, logger, pools, sets, loads: nodeLoads, nodes: DEFAULT_NODES, runtime: (n) => runtimes.get(n), readyTimeoutMs: k.readyTimeoutMs }).open()
    : undefined

  // What pods confine (the pod spec as it is): said once, shown in /v1/nodes, read for private functions.
  const protections = podProtections(k.runtimePods)
  const lacking = protections.filter((p) => !p.active).map((p) => p.name)
  if (lacking.length > 0) logger.warn({ missing: lacking }, 'runtime pods lack protections the embedded sandbox gives (docs/sandbox.md, "On Kubernetes")')
  const a = await assemble({
    config, logger, packages, wf, invoker,
    stores: { functions, runtimes, triggers, workflows: workflowResources, namespaces, cronTriggers, queueTriggers, versions, traffic },
    // The executor's ServiceAccount reads versions and writes only traffic (its leader moves canaries).
    keepsReleases: k.role !== 'executor', leads: isLeader,
    tokens, secrets, protections, packageSignature: signer,
    state, owner: k.identity, identity: k.identity, recoverAll: !config.redisUrl,
    backend: () => backend ?? noInstances,
    nodes: DEFAULT_NODES,
    resolveCommand: (rt) => rt.spec.command ?? [],
    cgroups: { mode: 'none', reason: 'on Kubernetes each pod runs in its own cgroup; the node agent reads them' },
    dataPlane: runsInstances,
    health: (fleet) => ({ ok: true, role: k.role, cluster: 'kubernetes', namespace: k.namespace, leader: runsInstances ? isLeader() : undefined, instances: fleet.records.size }),
    routes: runsInstances ? async (app) => { await app.register(nodeLoadRoutes(nodeLoads), { prefix: '/internal' }) } : undefined,
    ...(members ? { ownership: { owns: (fn: string) => members.owns(fn), ownerUrl: (fn: string) => ownerUrl(members, k.identity, fn) } } : {}),
    logs, warnings: (fn) => kubernetesWarnings(fn, k.runtimePods?.tmpSize),
    tracing: await startTracing({ config: config.tracing, version: KILN_VERSION }),
    // The controller runs no executor: a deploy returns once the executor's status says it is applied.
    whenServable: runsInstances ? undefined : (ref) => awaitServable(functions, ref, k.deployTimeoutMs ?? 120_000),
  })
  executorRef = a.executor

  let statusLoop: { stop(): void } | undefined
  let orphans: ReconcileLoop | undefined
  if (runsInstances) {
    // Membership first: the executor starts reconciling warm sets at listen, and must know what it owns.
    await members?.start()
    if (members && backend) {
      const sweeper = new OrphanSweeper({ api: kc.makeApiClient(CoreV1Api), namespace: k.namespace, identity: k.identity, pods: () => backend.pods(), member: (id) => members.state(id), leaseMs: members.leaseMs, sets, logger })
      orphans = new ReconcileLoop(() => sweeper.sweep().then(() => undefined, (err) => logger.warn({ err }, 'orphaned pods: sweep failed; retrying')), 1000)
      orphans.start()
    }
    await leader?.start()
    pools.start()
    sets.start()
    statusLoop = startStatusLoop(kc, k.namespace, {
      instances: () => [...a.fleet.records.values()].map((r) => ({ id: r.id, fn: r.state === 'generic' ? undefined : r.fn })),
      functions: () => a.executor.served(),
      whenApplied: (ref) => a.executor.whenApplied(ref),
      watch: (onChange) => functions.watch((ev) => { if (ev.type === 'put') onChange() }),
      ...(members ? { writes: (ref: string) => members.owns(ref) } : {}),
    }, backend!, isLeader, logger)
  }
  const { url, apiUrl } = await a.listen({
    beforeWorkflows: (u) => {
      logger.info({ url: u, role: k.role, namespace: k.namespace, identity: k.identity }, 'kiln (kubernetes) is up')
      backend?.setPackageBase(process.env.KILN_PACKAGE_URL ?? u, signer.sign)
      if (members && !advertised) { advertised = u; members.announce() }
    },
  })

  let closing: Promise<void> | undefined
  return {
    url, apiUrl, app: a.app, ctx: a.parts, backend, leader, nodeLoads, members, webhook,
    close: () => closing ??= (async () => {
      await a.close({
        first: async () => {
          statusLoop?.stop()
          await orphans?.stop()
          // The others take this replica's functions at once rather than after its Lease expires.
          await members?.stop()
          await pools.close()
          await sets.close()
        },
        last: async () => {
          await leader?.stop()
          stopPackageSync?.()
          await packageObjects?.close()
          await Promise.all(stores.map((s) => s.close()))
          await tokens.close()
          await secrets.close()
          await packages.close?.()
          await webhook?.close()
        },
      })
      logger.info('kiln (kubernetes) stopped')
    })(),
  }
}

/** The owner's data-plane URL when another replica owns the function; undefined to serve it here. */
function ownerUrl(members: Membership, self: string, fn: string): string | undefined {
  const m = members.ownerOf(fn)
  return m && m.identity !== self ? m.url : undefined
}
