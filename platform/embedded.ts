// The embedded platform: controller + router + executor + pool manager in one process, instances as
// child processes in cgroups on virtual nodes, state in the data dir. `kiln up` runs this; tests start
// it in-process on a free port.
import { createHash, randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { detectCgroups, type CgroupDriver } from '../cluster/local/cgroups/index.js'
import { LocalBackend } from '../cluster/local/backend.js'
import { Sandbox } from '../cluster/local/sandbox/sandbox.js'
import { ensureAdminToken } from '../core/auth/bootstrap.js'
import type { KilnConfig } from '../core/config.js'
import { createLogger } from '../core/logger.js'
import { startTracing } from '../core/tracing.js'
import { KILN_VERSION } from '../core/version.js'
import { expandCommand } from '../core/paths.js'
import { parseBytes } from '../core/quantity.js'
import { fileStore } from '../core/store/file-store.js'
import { FilePackageStore } from '../core/store/package-store.js'
import { fileSecretStore } from '../core/store/secret-store.js'
import { fileTokenStore } from '../core/store/token-store.js'
import type { CronTriggerResource, FunctionResource, FunctionTrafficResource, FunctionVersionResource, HTTPTriggerResource, NamespaceResource, QueueTriggerResource, RuntimeResource, WorkflowResource } from '../core/types.js'
import { BUILTIN_RUNTIMES } from './builtin-runtimes.js'
import { PlatformInvoker } from '../triggers/platform-invoker.js'
import { mountWorkflows } from '../workflows/platform/mount.js'
import type { RouterProcesses } from '../router/workers/supervisor.js'
import { assemble, type PlatformParts } from './assemble.js'
import { openPlatformState } from './state.js'

export interface Platform {
  /** The data plane (and the control API, unless it listens apart). */
  readonly url: string
  /** The control API (`/v1`): `url` unless `apiHost`/`apiPort` put it on its own listener. */
  readonly apiUrl: string
  readonly port: number
  readonly config: KilnConfig
  readonly app: FastifyInstance
  /** The assembled parts (executor, fleet, pools, stores, ...), for tests and tools. */
  readonly ctx: PlatformParts
  readonly cgroups: CgroupDriver
  /** What each instance runs in (docs/sandbox.md). */
  readonly sandbox: Sandbox
  /** The router processes (`routerProcesses` > 1); undefined: this process serves the data plane. */
  readonly routers: RouterProcesses | undefined
  close(): Promise<void>
}

export async function startPlatform(config: KilnConfig, opts: { logger?: Logger; spanExporter?: SpanExporter } = {}): Promise<Platform> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel })
  await mkdir(config.dataDir, { recursive: true })

  const [functions, runtimes, triggers, workflowResources, namespaces, tokens, secrets, cronTriggers, queueTriggers, versions, traffic] = await Promise.all([
    fileStore<FunctionResource>(config.dataDir, 'Function'),
    fileStore<RuntimeResource>(config.dataDir, 'Runtime'),
    fileStore<HTTPTriggerResource>(config.dataDir, 'HTTPTrigger'),
    fileStore<WorkflowResource>(config.dataDir, 'Workflow'),
    fileStore<NamespaceResource>(config.dataDir, 'Namespace'),
    fileTokenStore(config.dataDir),
    fileSecretStore(config.dataDir),
    fileStore<CronTriggerResource>(config.dataDir, 'CronTrigger'),
    fileStore<QueueTriggerResource>(config.dataDir, 'QueueTrigger'),
    fileStore<FunctionVersionResource>(config.dataDir, 'FunctionVersion'),
    fileStore<FunctionTrafficResource>(config.dataDir, 'FunctionTraffic'),
  ])
  for (const rt of BUILTIN_RUNTIMES) if (!runtimes.get(rt.metadata.name)) await runtimes.put(rt)
  // Every /v1 call needs a token: the first start makes an admin token and says where it is.
  await ensureAdminToken(tokens, logger)
  if (config.host === '0.0.0.0' && config.apiHost === undefined && config.apiPort === undefined) {
    logger.warn('the control API (/v1) listens on every address with the data plane; to expose functions alone, put the API on its own listener with --api-host 127.0.0.1 --api-port PORT')
  }
  // Durable state (async invocations, cron progress, workflow executions): SQLite in the data dir, or
  // Redis with --redis (opened first: an unreachable Redis stops kiln up at once).
  const state = await openPlatformState({ dataDir: config.dataDir, redisUrl: config.redisUrl, logger })
  const invoker = new PlatformInvoker()
  const wf = await mountWorkflows({ executions: state.executions, functions, workflows: workflowResources, logger, maxBodyBytes: config.maxBodyBytes, invoker, callbackHosts: config.callbackHosts })

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

  // Every instance runs in a sandbox (docs/sandbox.md); what this machine cannot give is logged and shown.
  // Its folders (code, secret files: values in memory under the run dir) are swept of a previous run's.
  const packages = new FilePackageStore(config.dataDir)
  const sandbox = await Sandbox.open({ config: config.sandbox, dataDir: config.dataDir, logger, cgroups: { mode: cgroups.mode, reason: cgroups.reason }, readPackage: (sha) => packages.get(sha) })
  const protections = sandbox.protections()
  const a = await assemble({
    config, logger,
    stores: { functions, runtimes, triggers, workflows: workflowResources, namespaces, cronTriggers, queueTriggers, versions, traffic },
    state, owner: `kiln-up-${process.pid}-${randomUUID().slice(0, 8)}`, recoverAll: true,
    packages, wf, invoker,
    tokens, secrets, protections, limits: sandbox.policy,
    backend: (logs) => new LocalBackend({ log: logs.sink, logger, cgroups, sandbox, slirp4netns: config.sandbox.programs.slirp4netns }),
    nodes: config.nodes,
    resolveCommand: (rt) => expandCommand(rt.spec.command ?? []),
    cgroups: { mode: cgroups.mode, reason: cgroups.reason },
    dataPlane: true,
    routerProcesses: config.routerProcesses,
    health: (fleet, pools) => ({
      ok: true, cgroups: cgroups.mode, instances: fleet.records.size, pools: pools.stats(),
      sandbox: { mode: sandbox.mode, network: sandbox.network, missing: protections.filter((p) => !p.active).map((p) => p.name) },
    }),
    // Traces when an OTLP endpoint is configured (or a test hands in an exporter); none otherwise.
    tracing: await startTracing({ config: config.tracing, exporter: opts.spanExporter, version: KILN_VERSION }),
  })
  // A deep accept queue: a burst of connections (1000 clients connecting at once) must wait, not be dropped.
  let listening: { url: string; apiUrl: string; port: number }
  try {
    listening = await a.listen({
      backlog: 4096,
      beforeWorkflows: (u) => logger.info({ url: u, dataDir: config.dataDir, cgroups: cgroups.mode, poolSize: config.poolSize }, 'kiln is up'),
    })
  } catch (e) {
    // The port is taken (or the like): what started before the listen (pools booting, their cgroups,
    // the sandbox's folders) goes with it, as at any stop; a cgroup root left here had no next start to sweep it.
    await close().catch((err: Error) => logger.warn({ err }, 'kiln did not stop cleanly after a failed start'))
    throw e
  }
  const { url, apiUrl, port } = listening
  if (apiUrl !== url) logger.info({ apiUrl }, 'the control API listens apart')

  async function close(): Promise<void> {
    await a.close({
      last: async () => {
        await cgroups.close().catch((err: Error) => logger.warn({ err }, 'cgroup root not removed'))
        await sandbox.close()
        await tokens.close()
        await secrets.close()
      },
    })
    logger.info('kiln stopped')
    logger.flush?.()
  }

  return { url, apiUrl, port, config, app: a.app, ctx: a.parts, cgroups, sandbox, routers: a.routers, close }
}
