// The embedded platform: controller + router + executor + pool manager in one process, instances as
// child processes in cgroups on virtual nodes, state in the data dir. `kiln up` runs this; tests start
// it in-process on a free port.
import { createHash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { detectCgroups, type CgroupDriver } from '../cluster/local/cgroups/index.js'
import { LocalBackend } from '../cluster/local/backend.js'
import type { KilnConfig } from '../core/config.js'
import { createLogger } from '../core/logger.js'
import { expandCommand } from '../core/paths.js'
import { parseBytes } from '../core/quantity.js'
import { fileStore } from '../core/store/file-store.js'
import { FilePackageStore } from '../core/store/package-store.js'
import type { FunctionResource, HTTPTriggerResource, QueueTriggerResource, RuntimeResource, WorkflowResource } from '../core/types.js'
import { BUILTIN_RUNTIMES } from './builtin-runtimes.js'
import { PlatformInvoker } from '../triggers/platform-invoker.js'
import { mountWorkflows } from '../workflows/platform/mount.js'
import { assemble, type PlatformParts } from './assemble.js'

export interface Platform {
  readonly url: string
  readonly port: number
  readonly config: KilnConfig
  readonly app: FastifyInstance
  /** The assembled parts (executor, fleet, pools, stores, ...), for tests and tools. */
  readonly ctx: PlatformParts
  readonly cgroups: CgroupDriver
  close(): Promise<void>
}

export async function startPlatform(config: KilnConfig, opts: { logger?: Logger } = {}): Promise<Platform> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel })
  await mkdir(config.dataDir, { recursive: true })

  const [functions, runtimes, triggers, workflowResources, queueTriggers] = await Promise.all([
    fileStore<FunctionResource>(config.dataDir, 'Function'),
    fileStore<RuntimeResource>(config.dataDir, 'Runtime'),
    fileStore<HTTPTriggerResource>(config.dataDir, 'HTTPTrigger'),
    fileStore<WorkflowResource>(config.dataDir, 'Workflow'),
    fileStore<QueueTriggerResource>(config.dataDir, 'QueueTrigger'),
  ])
  for (const rt of BUILTIN_RUNTIMES) if (!runtimes.get(rt.metadata.name)) await runtimes.put(rt)
  // Workflows: executions in memory, or in Redis with --redis (opened first: an unreachable Redis stops kiln up at once).
  const invoker = new PlatformInvoker()
  const wf = await mountWorkflows({ dataDir: config.dataDir, redisUrl: config.redisUrl, functions, workflows: workflowResources, logger, maxBodyBytes: config.maxBodyBytes, invoker })

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

  const a = await assemble({
    config, logger,
    stores: { functions, runtimes, triggers, workflows: workflowResources, queueTriggers },
    packages: new FilePackageStore(config.dataDir), wf, invoker,
    backend: (logs) => new LocalBackend({ log: logs.sink, logger, cgroups }),
    nodes: config.nodes,
    resolveCommand: (rt) => expandCommand(rt.spec.command ?? []),
    cgroups: { mode: cgroups.mode, reason: cgroups.reason },
    dataPlane: true,
    health: (fleet, pools) => ({ ok: true, cgroups: cgroups.mode, instances: fleet.records.size, pools: pools.stats() }),
  })
  // A deep accept queue: a burst of connections (1000 clients connecting at once) must wait, not be dropped.
  const url = await a.listen({
    backlog: 4096,
    beforeWorkflows: (u) => logger.info({ url: u, dataDir: config.dataDir, cgroups: cgroups.mode, poolSize: config.poolSize }, 'kiln is up'),
  })
  const port = (a.app.server.address() as { port: number }).port

  async function close(): Promise<void> {
    await a.close({ last: () => cgroups.close().catch((err: Error) => logger.warn({ err }, 'cgroup root not removed')) })
    logger.info('kiln stopped')
    logger.flush?.()
  }

  return { url, port, config, app: a.app, ctx: a.parts, cgroups, close }
}
