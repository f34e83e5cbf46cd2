// The embedded cluster: instances are child processes of `kiln up`, each in its own cgroup beneath
// its virtual node's cgroup (when the host lets us write cgroups) and in its own sandbox (sandbox/),
// reached over a Unix socket.
import type { Logger } from 'pino'
import type { ClusterBackend, ExitInfo, Instance, InstanceLimits, InstanceSample, InstanceSpec, LogSink, Protection, SecretFile } from '../backend.js'
import { wrapArgv, type Rlimits } from './cgroups/wrapper.js'
import type { ProcessHandle } from './launcher.js'
import { childrenOf } from './proc-tree.js'
import { attachEgress } from './sandbox/egress.js'
import type { Sandbox } from './sandbox/sandbox.js'
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
  wrap(group: CgroupGroupPort | null, argv: string[], rlimits?: Rlimits): Wrapper
  sampleProcess?(pid: number): Promise<InstanceSample>
}

interface LocalInstance extends Instance {
  proc: SpawnedProcess
  group: CgroupGroupPort | null
  egress: ProcessHandle | undefined
}

export interface LocalBackendOptions {
  log: LogSink
  logger: Logger
  cgroups?: CgroupsPort
  sandbox: Sandbox
  slirp4netns?: string
  /** Extra cgroup settings per node, applied beneath the node's own quota. */
  groupPath?: (spec: InstanceSpec) => string
}

export class LocalBackend implements ClusterBackend {
  readonly name = 'local'
  private readonly instances = new Map<string, LocalInstance>()
  /** Instances that have exited and whose cgroup, folders and uid are being released. */
  private readonly cleanups = new Set<Promise<void>>()
  private closed = false

  constructor(private readonly opts: LocalBackendOptions) {}

  async start(spec: InstanceSpec): Promise<Instance> {
    if (this.closed) throw new Error('backend closed')
    const sb = this.opts.sandbox
    const cg = this.opts.cgroups && this.opts.cgroups.mode !== 'none' ? this.opts.cgroups : undefined
    const limits = sb.bootLimits(spec.limits)
    const group = cg ? await cg.group(this.opts.groupPath?.(spec) ?? `nodes/${spec.node}/${spec.id}`, limitsOf(limits)) : null
    const wrap = (argv: string[], rl?: Rlimits): Wrapper => (cg ? cg.wrap(group, argv, rl) : wrapArgv(null, argv, rl))
    let box
    try {
      box = sb.box(spec)
    } catch (e) {
      await group?.remove().catch(() => undefined)
      throw e
    }
    let egress: ProcessHandle | undefined
    let proc: SpawnedProcess
    try {
      proc = await spawnRuntime(spec, {
        wrap: (argv) => wrap(argv, box.rlimits),
        log: this.opts.log,
        command: box.command,
        env: box.env,
        socketPath: box.socketPath,
        onSandbox: box.namespaced
          ? async (initPid) => {
              if (!box.egress) return
              // bubblewrap's init configures the namespace's loopback before it starts the runtime; a
              // netlink client joining meanwhile (slirp4netns) can make that fail, so wait for the runtime.
              await sandboxStarted(initPid)
              egress = await attachEgress({ slirp4netns: this.opts.slirp4netns ?? 'slirp4netns', initPid, instance: spec.id, userns: sb.mode === 'user', wrap: (argv) => wrap(argv), log: this.opts.log })
            }
          : undefined,
      })
    } catch (e) {
      egress?.kill('SIGKILL')
      await group?.remove().catch(() => undefined)
      await sb.release(spec.id)
      throw e
    }
    sb.sealSocket(spec.id)
    const exited: Promise<ExitInfo> = proc.exited.then(async ({ code, signal }) => {
      const oomKilled = group ? await group.sample().then((s) => s.oomKills > 0, () => false) : false
      this.instances.delete(spec.id)
      // Why it ended is known now (a proxy waiting to say so gets it at once); what is left of it — its
      // slirp4netns, processes still in its cgroup, its folders — goes next, and only then its uid.
      const cleanup = (async () => {
        egress?.kill('SIGKILL')
        await group?.remove().catch((err: Error) => this.opts.logger.warn({ err, group: group.path }, 'cgroup not removed'))
        await sb.release(spec.id)
      })()
      this.cleanups.add(cleanup)
      void cleanup.finally(() => this.cleanups.delete(cleanup))
      return describeExit(code, signal, oomKilled)
    })
    const inst: LocalInstance = {
      id: spec.id,
      runtime: spec.runtime,
      node: spec.node,
      url: 'http://localhost',
      socketPath: box.socketPath,
      pid: proc.pid,
      startedAt: Date.now(),
      bootMs: proc.bootMs,
      exited,
      proc,
      group,
      egress,
    }
    this.instances.set(spec.id, inst)
    return inst
  }

  async stop(id: string, graceMs = 1000): Promise<void> {
    const inst = this.instances.get(id)
    if (!inst) return
    const child = inst.proc.child
    if (child.alive()) {
      if (graceMs > 0) {
        // bubblewrap passes no signal on: the runtime (its init's child) gets SIGTERM itself, so it can
        // finish what is in flight; killing bubblewrap kills the whole sandbox.
        const sandboxed = inst.proc.sandboxPid !== undefined ? childrenOf(inst.proc.sandboxPid) : []
        if (sandboxed.length > 0) for (const pid of sandboxed) signal(pid, 'SIGTERM')
        else child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await inst.proc.exited
        clearTimeout(timer)
      } else {
        child.kill('SIGKILL')
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
    // An instance going back to a generic pool carries no function's limits: the operator's defaults again.
    const d = this.opts.sandbox.bootLimits(undefined)
    await group.setLimits({ cpu: limits?.cpu ?? Infinity, memoryBytes: limits?.memoryBytes ?? d.memoryBytes ?? Infinity, pids: limits?.pids ?? d.pids ?? Infinity })
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

  stageCode(id: string, sha256: string): Promise<string> {
    return this.opts.sandbox.stageCode(id, sha256)
  }

  async prepareCode(sha256: string): Promise<void> {
    await this.opts.sandbox.code.tree(sha256)
  }

  async placeSecrets(id: string, files: SecretFile[]): Promise<string> {
    return this.opts.sandbox.placeSecrets(id, files)
  }

  async unstage(id: string): Promise<void> {
    this.opts.sandbox.unstage(id)
  }

  fitsPooled(limits: InstanceLimits | null): boolean {
    return this.opts.sandbox.fitsPooled(limits)
  }

  protections(): Protection[] {
    return this.opts.sandbox.protections()
  }

  async close(): Promise<void> {
    this.closed = true
    // The exits come back over the spawner's channel, which does not hold the process open: without a
    // handle of its own, a platform waiting here for an instance past its grace ran out of work and
    // exited on the spot, before its cgroups and sandbox folders were removed.
    const hold = setInterval(() => undefined, 1000)
    try {
      await Promise.all([...this.instances.keys()].map((id) => this.stop(id, 500)))
      await Promise.all([...this.cleanups])
    } finally {
      clearInterval(hold)
    }
  }
}

function limitsOf(l?: InstanceLimits): { cpu?: number; memoryBytes?: number; pids?: number } | undefined {
  return l ? { cpu: l.cpu, memoryBytes: l.memoryBytes, pids: l.pids } : undefined
}

/** Resolves once the sandbox's init has started its command (its setup is done), or after 5 s. */
async function sandboxStarted(initPid: number): Promise<void> {
  const deadline = Date.now() + 5000
  for (let wait = 1; childrenOf(initPid).length === 0 && Date.now() < deadline; wait = Math.min(wait * 2, 20)) {
    await new Promise((r) => setTimeout(r, wait))
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig) } catch { /* gone */ }
}
