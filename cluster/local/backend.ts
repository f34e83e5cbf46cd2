// The embedded cluster: instances are child processes of `kiln up`, each in its own cgroup beneath
// its virtual node's cgroup (when the host lets us write cgroups).
import type { Logger } from 'pino'
import type { ClusterBackend, ExitInfo, Instance, InstanceLimits, InstanceSample, InstanceSpec, LogSink } from '../backend.js'
import { describeExit, spawnRuntime, type SpawnedProcess, type Wrapper } from './spawn.js'

/** What the local backend needs of a cgroup driver (cluster/local/cgroups implements it). */
export interface CgroupGroupPort {
  readonly path: string
  sample(): Promise<InstanceSample>
  setLimits(l: { cpu?: number; memoryBytes?: number; pids?: number }): Promise<void>
  readLimits(): Promise<{ cpu?: number; memoryBytes?: number; pids?: number }>
  remove(): Promise<void>
}
export interface CgroupsPort {
  readonly mode: 'v2' | 'v1' | 'none'
  group(path: string, limits?: { cpu?: number; memoryBytes?: number; pids?: number }): Promise<CgroupGroupPort>
  wrap(group: CgroupGroupPort | null, argv: string[]): Wrapper
  sampleProcess?(pid: number): Promise<InstanceSample>
}

interface LocalInstance extends Instance {
  proc: SpawnedProcess
  group: CgroupGroupPort | null
}

export interface LocalBackendOptions {
  log: LogSink
  logger: Logger
  cgroups?: CgroupsPort
  /** Extra cgroup settings per node, applied beneath the node's own quota. */
  groupPath?: (spec: InstanceSpec) => string
}

export class LocalBackend implements ClusterBackend {
  readonly name = 'local'
  private readonly instances = new Map<string, LocalInstance>()
  private closed = false

  constructor(private readonly opts: LocalBackendOptions) {}

  async start(spec: InstanceSpec): Promise<Instance> {
    if (this.closed) throw new Error('backend closed')
    const cg = this.opts.cgroups && this.opts.cgroups.mode !== 'none' ? this.opts.cgroups : undefined
    const group = cg ? await cg.group(this.opts.groupPath?.(spec) ?? `nodes/${spec.node}/${spec.id}`, limitsOf(spec.limits)) : null
    let proc: SpawnedProcess
    try {
      proc = await spawnRuntime(spec, (argv) => (cg ? cg.wrap(group, argv) : { command: argv[0], args: argv.slice(1) }), this.opts.log)
    } catch (e) {
      await group?.remove().catch(() => undefined)
      throw e
    }
    const exited: Promise<ExitInfo> = proc.exited.then(async ({ code, signal }) => {
      let oomKilled = false
      if (group) {
        oomKilled = await group.sample().then((s) => s.oomKills > 0, () => false)
        await group.remove().catch((err: Error) => this.opts.logger.warn({ err, group: group.path }, 'cgroup not removed'))
      }
      this.instances.delete(spec.id)
      return describeExit(code, signal, oomKilled)
    })
    const inst: LocalInstance = {
      id: spec.id,
      runtime: spec.runtime,
      node: spec.node,
      url: `http://127.0.0.1:${proc.port}`,
      pid: proc.pid,
      startedAt: Date.now(),
      bootMs: proc.bootMs,
      exited,
      proc,
      group,
    }
    this.instances.set(spec.id, inst)
    return inst
  }

  async stop(id: string, graceMs = 1000): Promise<void> {
    const inst = this.instances.get(id)
    if (!inst) return
    const child = inst.proc.child
    if (child.alive()) {
      child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL')
      if (graceMs > 0) {
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await inst.proc.exited
        clearTimeout(timer)
      }
    }
    await inst.exited
  }

  list(): Instance[] {
    return [...this.instances.values()]
  }

  async setLimits(id: string, limits: InstanceLimits | null): Promise<void> {
    const group = this.instances.get(id)?.group
    if (!group) return
    // Infinity lifts a limit: an instance going back to a generic pool carries no function's limits.
    await group.setLimits({ cpu: limits?.cpu ?? Infinity, memoryBytes: limits?.memoryBytes ?? Infinity, pids: limits?.pids ?? Infinity })
  }

  async sample(id: string): Promise<InstanceSample | undefined> {
    const inst = this.instances.get(id)
    if (!inst) return undefined
    try {
      if (inst.group) return await inst.group.sample()
      return await this.opts.cgroups?.sampleProcess?.(inst.pid)
    } catch {
      return undefined
    }
  }

  async readLimits(id: string): Promise<InstanceLimits | undefined> {
    const group = this.instances.get(id)?.group
    return group ? group.readLimits() : undefined
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all([...this.instances.keys()].map((id) => this.stop(id, 500)))
  }
}

function limitsOf(l?: InstanceLimits): { cpu?: number; memoryBytes?: number; pids?: number } | undefined {
  return l ? { cpu: l.cpu, memoryBytes: l.memoryBytes, pids: l.pids } : undefined
}
