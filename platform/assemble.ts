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
import type { ClusterBackend, Protection } from '../cluster/backend.js'
import { Authenticator } from '../core/auth/authenticate.js'
import type { KilnConfig, NodeConfig } from '../core/config.js'
import type { LimitsPolicy } from '../core/limits.js'
import { EventLog } from '../core/events.js'
import { Metrics } from '../core/metrics.js'
import { Readiness } from '../core/readiness.js'
import type { Tracing } from '../core/tracing.js'
import { KILN_VERSION } from '../core/version.js'
import type { PackageStore } from '../core/store/package-store.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { SecretStore } from '../core/store/secret-store.js'
import type { TokenStore } from '../core/store/token-store.js'
import type { CronTriggerResource, FunctionResource, FunctionTrafficResource, FunctionVersionResource, HTTPTriggerResource, NamespaceResource, QueueTriggerResource, Resource, RuntimeResource, WorkflowResource } from '../core/types.js'
import { keepReleases } from '../core/releases/keeper.js'
import { Releases } from '../core/releases/releases.js'
import { refOf, refOfTarget } from '../core/refs.js'
import { CanaryLoop } from '../router/canary/canary-loop.js'
import { controlApi } from '../controller/api.js'
import type { ControlContext } from '../controller/context.js'
import { metricsRoute } from '../controller/metrics.js'
import { mountOpenApi } from '../controller/openapi/mount.js'
import { probeRoutes } from '../controller/probes.js'
import { consoleRoutes } from '../controller/console.js'
import { RequestSeries } from '../core/request-series.js'
import { Executor } from '../executor/executor.js'
import { FunctionLogs } from '../executor/function-logs.js'
import { LoadMonitor } from '../executor/load-monitor.js'
import { NodeCpu } from '../executor/autoscale/node-cpu.js'
import { namespaceSharing } from '../executor/namespace-reuse.js'
import { InstanceBudget } from '../poolmgr/budget.js'
import { Fleet } from '../poolmgr/fleet.js'
import { PoolManager } from '../poolmgr/manager.js'
import { createDataPlane, dataPlaneFirst } from '../router/data-plane.js'
import { routerPlugin } from '../router/plugin.js'
import { attachUpgrades } from '../router/websocket.js'
import type { RouterProcesses } from '../router/workers/supervisor.js'
import { RouteTable } from '../triggers/http/route-table.js'
import type { PlatformInvoker } from '../triggers/platform-invoker.js'
import { QueueTriggerSource } from '../triggers/queue/source.js'
import type { TriggerSource } from '../triggers/source.js'
import type { WorkflowsMount } from '../workflows/platform/mount.js'
import type { Logs } from '../controller/read-models.js'
import { functionSecrets } from './function-secrets.js'
import { metricsSources } from './metrics-sources.js'
import { executionsView, instancesView, liveFunctions, nodesView, poolsView } from './read-models.js'
import { assembleEvents } from './events.js'
import type { PlatformState } from './state.js'
import { protectionsView } from './protections.js'
import { platformReadiness } from './readiness.js'
import { listenThroughRouterProcesses, type RoutedListener } from './router-processes.js'

export interface PlatformStores {
  functions: ResourceStore<FunctionResource>
  runtimes: ResourceStore<RuntimeResource>
  triggers: ResourceStore<HTTPTriggerResource>
  workflows: ResourceStore<WorkflowResource>
  namespaces: ResourceStore<NamespaceResource>
  cronTriggers: ResourceStore<CronTriggerResource>
  /** Function versions and traffic records (core/releases; docs/releases.md). */
  versions: ResourceStore<FunctionVersionResource>
  traffic: ResourceStore<FunctionTrafficResource>
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
  /** Router processes serving the data plane (router/workers/; `kiln up` only: on Kubernetes the router tier scales by replicas). Unset or 1: this process serves it. */
  routerProcesses?: number
  /** `GET /healthz`. */
  health(fleet: Fleet, pools: PoolManager): Record<string, unknown>
  /** More routes on the same server, registered before the data plane's catch-all. */
  routes?(app: FastifyInstance): Promise<void>
  /** The durable state (platform/state.ts), opened by the caller before the workflows; closed here. */
  state: PlatformState
  /** This process, as the holder of leases on async invocations and cron schedules. */
  owner: string
  /** The one platform of its data dir (kiln up): claims left running by a previous run come back at start. */
  recoverAll: boolean
  /**
   * Several replicas sharing the functions out (Kubernetes, cluster/kubernetes/members.ts): whether this
   * one owns a function, and where the owner's data plane is when it does not. Unset: it owns them all.
   */
  ownership?: { owns(fn: string): boolean; ownerUrl(fn: string): string | undefined }
  /** Where the control API reads functions' output (default: the output this process's instances wrote). */
  logs?: Logs
  /** What this platform will not do of a function's spec, said at deploy. */
  warnings?(fn: FunctionResource): string[]
  /** Traces (core/tracing.ts), when on; shut down (flushed) last at close. */
  tracing?: Tracing
  /** When a deploy can be invoked, where no executor runs in this process (the Kubernetes controller); default: the executor's whenApplied. */
  whenServable?(ref: string): Promise<void>
  /** Tokens (hashed) that may call the control API and private functions. */
  tokens: TokenStore
  /** Secrets, for the API (names and keys) and the executor (values for instances). */
  secrets: SecretStore
  /** What confines instances here: the sandbox's report, or what pods have (/v1/nodes shows it; private functions read it). */
  protections: Protection[]
  /** The operator's default and maximum limits for functions (the embedded sandbox's); deploys beyond them are refused. */
  limits?: LimitsPolicy
  /** Verifies signed package URLs (instances that download their code: Kubernetes). */
  packageSignature?: { verify(sha256: string, sig: string): boolean }
  /** Record versions of functions that have none and remove a deleted function's (default: yes; a read-only replica: no). */
  keepsReleases?: boolean
  /** Whether this process moves canaries on (default: yes; Kubernetes: the executor leader). */
  leads?(): boolean
  /** This process among replicas (its queue consumer name); default: the host and the data dir, stable across restarts. */
  identity?: string
}

/** The assembled parts, for platform/ itself, tests and tools; the controller sees read models of them. */
export interface PlatformParts extends PlatformStores {
  readonly packages: PackageStore
  readonly tokens: TokenStore
  readonly secrets: SecretStore
  readonly auth: Authenticator
  readonly executor: Executor
  readonly fleet: Fleet
  readonly pools: PoolManager
  readonly routes: RouteTable
  readonly queues: QueueTriggerSource
  readonly logs: FunctionLogs
  readonly events: EventLog
  readonly metrics: Metrics
  /** `GET /readyz`'s checks: a part the platform cannot serve without adds its own. */
  readonly readiness: Readiness
  readonly wf: WorkflowsMount
  readonly state: PlatformState
  readonly releases: Releases
}

export interface Assembly {
  readonly app: FastifyInstance
  readonly parts: PlatformParts
  readonly executor: Executor
  readonly fleet: Fleet
  readonly pools: PoolManager
  readonly wf: WorkflowsMount
  /** The control API's server: `app` itself, or its own when the API listens apart (`apiHost`/`apiPort`). */
  readonly api: FastifyInstance
  /**
   * Starts the loops, listens, then `beforeWorkflows(url)` and resumes workflows; the data plane's URL
   * and the control API's (the same one unless it listens apart).
   */
  listen(o: { backlog?: number; beforeWorkflows?(url: string): void }): Promise<{ url: string; apiUrl: string; port: number }>
  /** The router processes serving the data plane (`routerProcesses` > 1, once listening); undefined: this process serves it. */
  readonly routers: RouterProcesses | undefined
  /** Stops in dependency order: `first` before anything, `last` after the instances are gone. */
  close(o?: { first?(): Promise<void>; last?(): Promise<void> }): Promise<void>
}

export async function assemble(o: AssemblyOptions): Promise<Assembly> {
  const { config, logger, stores, packages, wf } = o
  const { functions, runtimes, triggers, namespaces } = stores
  const auth = new Authenticator(o.tokens)
  // The versions user routes name are never collected (aliases and splits are the record's own).
  const releases = new Releases({ versions: stores.versions, traffic: stores.traffic }, {
    retain: config.versionRetention,
    routeVersions: (ref) => triggers.list().filter((t) => t.spec.version !== undefined && t.spec.function !== undefined && refOf(t.metadata.namespace, t.spec.function) === ref).map((t) => t.spec.version!),
  })

  let fleet: Fleet | undefined
  const logs = new FunctionLogs(config.dataDir, (id) => fleet?.records.get(id), logger)
  await logs.init()
  const backend = o.backend(logs)
  fleet = new Fleet(backend, new InstanceBudget(config.instanceBudget), o.nodes, o.resolveCommand, logger)
  const pools = new PoolManager(runtimes, fleet, config.poolSize, logger)
  const events = new EventLog()
  const metrics = new Metrics({ version: KILN_VERSION })
  fleet.on('gone', (rec, exit) => {
    if (rec.retiring) return
    metrics.crashes.inc({ runtime: rec.runtime, reason: exit.oomKilled ? 'oom' : 'exit' })
    events.add({ type: exit.oomKilled ? 'InstanceOutOfMemory' : 'InstanceExited', function: rec.fn, reason: exit.reason, evidence: { instance: rec.id, node: rec.node, code: exit.code, signal: exit.signal } })
  })
  const executor = new Executor({
    functions, runtimes, packages, fleet, pools, logger, idleTimeoutMs: config.idleTimeoutMs,
    ...(o.ownership ? { owns: (fn: string) => o.ownership!.owns(fn) } : {}),
    secrets: functionSecrets(o.secrets), releases: releases.stores,
    // Whether an instance that ran one function's code may serve another: the namespaces say (reuse-boundary.ts).
    sharing: namespaceSharing(namespaces),
    // The node's idle CPU bounds CPU-bound functions where instances run on this machine.
    autoscale: { settings: config.autoscale, sampleMs: config.autoscale.sampleMs, nodeCpu: backend.name === 'local' ? new NodeCpu() : undefined },
    ejection: config.ejection,
    onEject(ref, rec, reason) {
      events.add({ type: 'InstanceEjected', function: ref, reason, evidence: { instance: rec.id, node: rec.node } })
    },
    onIsolation(ref, iso) {
      metrics.isolations.inc({ function: ref, by: iso.by })
      events.add({ type: 'FunctionIsolated', function: ref, reason: iso.reason, evidence: { by: iso.by, ...iso.evidence } })
    },
    onRelease(ref, was, by) {
      metrics.releases.inc({ function: ref, by })
      events.add({ type: 'FunctionReleased', function: ref, reason: by === 'monitor' ? 'quiet for the cool-down' : 'released by an operator', evidence: { by, isolatedSince: new Date(was.at).toISOString() } })
    },
  })
  const canaries = new CanaryLoop({ executor, releases, events, logger, leads: o.leads })
  const measured = metricsSources(executor, pools, fleet)
  metrics.readFrom(measured)
  // The console's sparklines: a point per function every 5 s from the same numbers (core/request-series.ts).
  const series = new RequestSeries(measured.functions)
  const readiness = new Readiness()
  const ready = platformReadiness(readiness, { pools, fleet, runsInstances: o.dataPlane })
  // Advisory: a state store that is away (a Redis outage) pauses async work, cron and workflow steps,
  // but synchronous calls go on, so the process stays in its Service (docs/events.md).
  readiness.advise('state-store', () => (o.state.health.up ? undefined : `the state store (${o.state.kind}) is unreachable`))
  const monitor = new LoadMonitor(executor, backend, config.loadLimits, logger)
  const routes = new RouteTable(triggers)
  const ev = assembleEvents({
    config, logger, state: o.state, functions, cronTriggers: stores.cronTriggers, invoker: o.invoker, auth, owner: o.owner, recoverAll: o.recoverAll, registry: metrics.registry,
  })
  const queues = new QueueTriggerSource({
    store: stores.queueTriggers, invoker: o.invoker, logger, leaseMs: config.queueLeaseMs, metrics,
    consumer: o.identity ?? `${hostname()}-${createHash('sha256').update(config.dataDir).digest('hex').slice(0, 8)}`,
  })
  // Every trigger type, started and stopped in one loop (one registration line each).
  const sources: TriggerSource[] = [routes, ...ev.sources, queues]
  // Workflows and triggers call private functions with the platform's own token (and only those).
  // (A ref may name a version, `NAME@prod`: access is the function's.)
  o.invoker.setCredentials(auth.internalToken, (ref) => executor.entry(refOfTarget(ref))?.fn.spec.private === true)
  const parts: PlatformParts = { ...stores, packages, tokens: o.tokens, secrets: o.secrets, auth, executor, fleet, pools, routes, logs, events, metrics, readiness, wf, state: o.state, releases, queues }
  const ctx: ControlContext = {
    functions, runtimes, triggers, packages, logger, namespaces, tokens: o.tokens, secrets: o.secrets, auth, protections: protectionsView(o.protections), limits: o.limits, packageSignature: o.packageSignature, releases,
    // What refers to others first: a namespace's contents are deleted in this order (secrets last).
    namespaced: [
      { kind: 'HTTPTrigger', store: triggers as ResourceStore<Resource> },
      { kind: 'CronTrigger', store: stores.cronTriggers as ResourceStore<Resource> },
      { kind: 'QueueTrigger', store: stores.queueTriggers as ResourceStore<Resource> },
      { kind: 'Workflow', store: stores.workflows as ResourceStore<Resource> },
      { kind: 'Function', store: functions as ResourceStore<Resource> },
    ],
    maxPackageBytes: 512 * 1024 * 1024,
    live: o.whenServable ? { ...liveFunctions(executor), whenApplied: o.whenServable } : liveFunctions(executor),
    instances: instancesView(fleet),
    pools: poolsView(pools, executor),
    nodes: nodesView(fleet, o.nodes, o.cgroups, o.protections),
    events, logs: o.logs ?? logs, routes,
    workflows: wf.catalog,
    executions: executionsView(wf.engine),
    ...ev.read,
    ...(o.warnings ? { warnings: o.warnings } : {}),
    mqTriggers: stores.queueTriggers, queues: o.dataPlane ? queues : undefined,
    series,
  }

  const dataPlane = createDataPlane({
    executor, auth, routes, logger, maxBodyBytes: config.maxBodyBytes, accessLog: config.accessLog, workflows: wf.entry, async: ev.entry, tracer: o.tracing?.tracer,
    ...(o.ownership ? { owner: (fn: string) => o.ownership!.ownerUrl(fn) } : {}),
  })
  // The control API listens apart when asked (`--api-host/--api-port`): the data plane's listener then
  // answers `/v1` and `/metrics` with 404, so functions can be exposed without exposing the API. The
  // API's own listener serves functions too (the CLI's `fn invoke`, workflows), as the one listener does.
  const apiApart = config.apiHost !== undefined || config.apiPort !== undefined
  const httpLogger = logger.child({ part: 'http' }, { level: config.accessLog ? logger.level : 'warn' })
  const server = async (withApi: boolean): Promise<FastifyInstance> => {
    const s = Fastify({
      loggerInstance: httpLogger,
      bodyLimit: 16 * 1024 * 1024,
      return503OnClosing: true,
      // Data-plane requests go to the proxy before fastify sees them (no fastify on the hot path).
      ...(o.dataPlane
        ? { serverFactory: (handler: Parameters<typeof dataPlaneFirst>[1]) => createServer({ keepAliveTimeout: 72_000, requestTimeout: 0, headersTimeout: 60_000 }, dataPlaneFirst(dataPlane, handler, !withApi)) }
        : {}),
    }) as unknown as FastifyInstance
    // A state store that is away shows here (ok: false) without failing /healthz, /livez or /readyz:
    // restarting the process would not bring Redis back, and synchronous calls are still served.
    s.get('/healthz', async () => {
      const h = o.health(fleet!, pools)
      const st = o.state.health.view()
      return { ...h, ok: h.ok !== false && st.up, state: st, ...(routed === undefined ? {} : { routers: routed.routers.view() }) }
    })
    probeRoutes(s, readiness)
    if (withApi) {
      metricsRoute(s, metrics.registry)
      await s.register(async (v1) => {
        await mountOpenApi(v1)
        await controlApi(v1, ctx)
      }, { prefix: '/v1' })
      await consoleRoutes(s)
    }
    if (o.routes && (!apiApart || !withApi)) await o.routes(s)
    if (o.dataPlane) {
      await s.register(async (data) => routerPlugin(data, dataPlane))
      await s.register(async (data) => wf.dataPlane(data))
      attachUpgrades(s, { executor, auth, routes, logger })
    }
    return s
  }
  const app = await server(!apiApart)
  const api = apiApart ? await server(true) : app

  let closing: Promise<void> | undefined
  let unkeep: (() => void) | undefined
  let routed: RoutedListener | undefined
  const urlOf = (server: FastifyInstance, host: string) => `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${(server.server.address() as { port: number }).port}`
  return {
    app, api, parts, executor, fleet, pools, wf,
    get routers() { return routed?.routers },
    async listen({ backlog, beforeWorkflows }) {
      if (o.keepsReleases ?? true) unkeep = await keepReleases(functions, releases, logger)
      if (o.dataPlane) {
        pools.start()
        executor.start()
        monitor.start()
        canaries.start()
        series.start()
        for (const s of sources) await s.start()
      }
      let port: number
      if (o.dataPlane && (o.routerProcesses ?? 1) > 1) {
        routed = await listenThroughRouterProcesses({
          app, count: o.routerProcesses!, host: config.host, port: config.port, backlog: backlog ?? 511,
          dataPlane, executor, logger, logLevel: config.logLevel, accessLog: config.accessLog, tracing: o.tracing !== undefined,
        })
        port = routed.routers.port
      } else {
        await app.listen({ port: config.port, host: config.host, ...(backlog ? { backlog } : {}) })
        port = (app.server.address() as { port: number }).port
      }
      const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`
      let apiUrl = url
      if (apiApart) {
        const apiHost = config.apiHost ?? '127.0.0.1'
        await api.listen({ port: config.apiPort ?? 0, host: apiHost })
        apiUrl = urlOf(api, apiHost)
      }
      o.invoker.setOrigin(url)
      ev.ready()
      beforeWorkflows?.(url)
      if (o.dataPlane) await wf.start()
      ready.started()
      return { url, apiUrl, port }
    },
    close: ({ first, last } = {}) => closing ??= (async () => {
      ready.closing()
      await first?.()
      // Writes waiting for a state store that is away would hold every close below: drop the connection.
      if (!o.state.health.up) await o.state.close()
      await wf.close().catch((err: Error) => logger.warn({ err }, 'workflow engine did not close cleanly'))
      for (const s of sources) await s.stop()
      await ev.close()
      await o.invoker.close()
      monitor.stop()
      canaries.stop()
      series.stop()
      unkeep?.()
      // Their requests in flight end before the executor that holds their slots stops.
      await routed?.routers.close()
      await executor.close()
      if (api !== app) await api.close()
      await app.close()
      await routed?.removeSocket()
      await dataPlane.close()
      await pools.close()
      await fleet!.close()
      await o.state.close()
      await last?.()
      await logs.close()
      await o.tracing?.shutdown().catch((err: Error) => logger.warn({ err }, 'traces not flushed'))
    })(),
  }
}
