// The executor: `acquire(function)` gives a request an instance with a free slot; `release` takes it back.
// Hot path: an already specialized instance is a map lookup and a scan of the function's few instances,
// with no await and no allocation. Everything else (specialization, queueing, reuse policies, rolling
// a new version, reaping idle instances) happens off that path.
import type { Logger } from 'pino'
import type { ExitInfo } from '../cluster/backend.js'
import { KilnError } from '../core/errors.js'
import { refOfMeta } from '../core/refs.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { PackageStore } from '../core/store/package-store.js'
import { listsSecret } from '../core/store/secret-store.js'
import type { FunctionResource, RuntimeResource } from '../core/types.js'
import type { Fleet } from '../poolmgr/fleet.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import type { PoolManager } from '../poolmgr/manager.js'
import { FunctionState, instanceLimits, type Isolation, type Provision, type Waiter } from './function-state.js'
import { describeFunction } from './describe.js'
import { idleToReap } from './reaper.js'
import { reclaimOne } from './reclaim.js'
import { returnOrRetire } from './return-to-pool.js'
import { deliverSecrets, withdrawSecrets, type DeliveryTarget, type FunctionSecrets } from './secret-delivery.js'
import { warmUp } from './warm-up.js'
import { specialize } from './specialize.js'
import { coldStartKind } from './stats.js'
import { dedicatedStrategy } from './strategies/dedicated.js'
import { poolStrategy } from './strategies/pool.js'
import type { Strategy, StrategyContext } from './strategies/strategy.js'
import { warmStrategy } from './strategies/warm.js'

const STRATEGIES: Record<string, Strategy> = { pool: poolStrategy, warm: warmStrategy, dedicated: dedicatedStrategy }

export type Outcome = 'ok' | 'timeout' | 'crash' | 'aborted'

export interface ExecutorOptions {
  functions: ResourceStore<FunctionResource>
  runtimes: ResourceStore<RuntimeResource>
  packages: PackageStore
  fleet: Fleet
  pools: PoolManager
  logger: Logger
  idleTimeoutMs: number
  /** The functions' secrets, handed to their instances (secret-delivery.ts); none: functions list none. */
  secrets?: FunctionSecrets
  /** Where secret files go for local instances (undefined: instances elsewhere, e.g. pods). */
  secretsDir?: string
  onIsolation?(fs: FunctionState, iso: Isolation): void
  onRelease?(fs: FunctionState, was: Isolation, by: 'monitor' | 'operator'): void
}

export class Executor {
  private readonly fns = new Map<string, FunctionState>()
  private readonly ctx: StrategyContext
  private readonly exits = new Map<string, ExitInfo>()
  private timer: NodeJS.Timeout | undefined
  private unwatch: (() => void) | undefined
  private unwatchSecrets: (() => void) | undefined
  private readonly delivery: DeliveryTarget
  private closing = false

  constructor(private readonly o: ExecutorOptions) {
    this.delivery = { dir: o.secretsDir }
    this.ctx = {
      pools: o.pools,
      fleet: o.fleet,
      logger: o.logger,
      runtime: (fs) => this.runtimeOf(fs),
      load: (rec, fs, background) => this.load(rec, fs, background),
      provisionInBackground: (fs) => this.startProvision(fs, true).done,
      provisioning: (fs) => fs.provisions.filter((p) => p.version === fs.version).length,
    }
  }

  start(): void {
    for (const fn of this.o.functions.list()) this.apply(fn)
    this.unwatch = this.o.functions.watch((ev) => (ev.type === 'put' ? this.apply(ev.object) : this.remove(refOfMeta(ev.object.metadata))))
    this.o.fleet.on('gone', (rec, exit) => this.onGone(rec, exit))
    // A secret's new values roll the functions that list it, as a deploy does.
    this.unwatchSecrets = this.o.secrets?.watch((ns, name) => {
      for (const fs of this.fns.values()) if (listsSecret(fs.fn, ns, name)) this.apply(fs.fn)
    })
    this.o.fleet.budget.setReclaimer(() => reclaimOne(this.fns.values(), this.o.pools, this.o.fleet, this.o.logger))
    this.timer = setInterval(() => this.tick(), 1000)
    this.timer.unref()
  }

  // ---- hot path ----

  /** An instance with a free slot, or undefined when the caller must `acquire` (and maybe wait). */
  tryAcquire(name: string): InstanceRecord | undefined {
    const fs = this.fns.get(name)
    if (fs === undefined) return undefined
    const rec = this.pick(fs)
    if (rec !== undefined) {
      fs.requests++
      fs.lastRequestAt = Date.now()
      if (fs.adaptive !== undefined) {
        fs.adaptive.observe(fs.lastRequestAt)
        fs.adaptive.warmHits++
      }
    }
    return rec
  }

  private pick(fs: FunctionState): InstanceRecord | undefined {
    const c = fs.concurrency
    const policy = fs.policy
    let best: InstanceRecord | undefined
    for (const r of fs.instances) {
      if (r.state !== 'ready' || r.version !== fs.version || r.inflight >= c || !policy.accepts(r)) continue
      if (best === undefined || r.inflight < best.inflight) {
        best = r
        if (r.inflight === 0) break
      }
    }
    if (best !== undefined) best.inflight++
    return best
  }

  release(rec: InstanceRecord, outcome: Outcome): void {
    rec.inflight--
    rec.requests++
    const now = rec.lastUsed = Date.now()
    const fs = rec.fn === undefined ? undefined : this.fns.get(rec.fn)
    if (outcome === 'timeout' || outcome === 'crash') {
      // It blocked past its deadline or broke mid-request: it cannot be trusted with another one.
      void this.o.fleet.retire(rec, 0)
      if (fs) this.afterLoss(fs, rec)
      return
    }
    if (fs === undefined || fs.deleted || rec.state === 'draining') {
      if (rec.inflight === 0) void this.o.fleet.retire(rec)
      return
    }
    if (fs.policy.spent(rec, fs.fn, now)) {
      this.drain(rec, fs)
      return
    }
    if (fs.queue.length > 0) this.serveQueue(fs, rec)
  }

  // ---- slow path ----

  acquire(name: string): Promise<InstanceRecord> {
    const fs = this.fns.get(name)
    if (fs === undefined) return Promise.reject(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${name}" not found`))
    if (this.closing) return Promise.reject(new KilnError('KILN_ERR_SHUTTING_DOWN'))
    const rec = this.tryAcquire(name)
    if (rec) return Promise.resolve(rec)
    fs.requests++
    fs.lastRequestAt = Date.now()
    if (fs.adaptive !== undefined) {
      fs.adaptive.observe(fs.lastRequestAt)
      fs.adaptive.coldStarts++
    }
    return new Promise<InstanceRecord>((resolve, reject) => {
      const w: Waiter = { resolve, reject }
      for (const p of fs.provisions) {
        if (p.version === fs.version && p.waiters.length < p.capacity) { p.waiters.push(w); return }
      }
      const strategy = this.strategyOf(fs)
      const live = fs.instances.filter((r) => r.state === 'ready').length + fs.provisions.length
      if (live < strategy.maxInstances(fs)) {
        this.startProvision(fs, false).waiters.push(w)
        return
      }
      if (fs.queue.length >= fs.queueSize) {
        reject(new KilnError('KILN_ERR_QUEUE_FULL', `function "${name}" is at its ${strategy.maxInstances(fs)} instance(s) and its queue of ${fs.queueSize} is full`, { retryAfter: 1 }))
        return
      }
      fs.queue.push(w)
    })
  }

  private startProvision(fs: FunctionState, background: boolean): Provision {
    const p: Provision = { version: fs.version, capacity: fs.concurrency, waiters: [], done: Promise.resolve() }
    fs.provisions.push(p)
    if (!background) fs.coldStarts++
    const startedAt = Date.now() // [metrics] an instance started after this was booted for it
    p.done = this.strategyOf(fs).provision(fs, this.ctx, background).then(
      (rec) => {
        fs.provisions.splice(fs.provisions.indexOf(p), 1)
        if (p.waiters.length > 0) fs.stats.coldStart(rec, coldStartKind(this.strategyOf(fs).keepIdle(fs) > 0, rec, startedAt)) // [metrics]
        if (fs.deleted || this.closing) {
          void this.o.fleet.retire(rec)
          for (const w of p.waiters) w.reject(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${fs.name}" was deleted`))
          return
        }
        fs.instances.push(rec)
        rec.inflight += p.waiters.length
        for (const w of p.waiters) w.resolve(rec)
        if (rec.version !== fs.version) this.drain(rec, fs)
        else if (fs.queue.length > 0) this.serveQueue(fs, rec)
      },
      (err: Error) => {
        fs.provisions.splice(fs.provisions.indexOf(p), 1)
        if (p.waiters.length === 0) this.o.logger.warn({ err, function: fs.name }, 'background specialization failed')
        for (const w of p.waiters) w.reject(err)
        // Queued requests waited for a slot that this provision would have made: let them fail alike
        // rather than hang, unless an instance remains to serve them.
        if (fs.instances.length === 0 && fs.provisions.length === 0) for (const w of fs.queue.splice(0)) w.reject(err)
      },
    )
    return p
  }

  private serveQueue(fs: FunctionState, rec: InstanceRecord): void {
    while (fs.queue.length > 0 && rec.state === 'ready' && rec.version === fs.version && rec.inflight < fs.concurrency && fs.policy.accepts(rec)) {
      rec.inflight++
      fs.queue.shift()!.resolve(rec)
    }
  }

  private async load(rec: InstanceRecord, fs: FunctionState, background: boolean): Promise<void> {
    const version = fs.version
    const fn = fs.fn
    rec.state = 'specializing'
    rec.fn = fs.name
    fs.loading.add(rec)
    const loadStartedAt = performance.now() // [metrics]
    try {
      // The function's limits hold from the moment its code loads (no cgroup writes when there are none).
      const limits = instanceLimits(fn)
      if (limits || rec.limited) {
        await this.o.fleet.backend.setLimits?.(rec.id, limits)
        rec.limited = limits !== null
      }
      const sha = fn.spec.package.sha256
      const url = this.o.fleet.backend.codeUrl?.(sha)
      const code = url ? { url } : { path: await this.o.packages.unpacked(sha) }
      const env = await deliverSecrets(rec, fn, this.o.secrets, this.delivery)
      await specialize({ rec, fn, version, runtime: this.runtimeOf(fs), code, env })
      // Before anyone is served: the first real request then runs JIT-warm code, not the interpreter.
      if (background && fn.spec.warmup) await warmUp(rec, fs, fn.spec.warmup, this.o.logger)
    } catch (e) {
      if (rec.state === 'specializing') { rec.state = 'generic'; rec.fn = undefined }
      throw e
    } finally {
      fs.loading.delete(rec)
    }
    if (rec.state !== 'specializing') throw new KilnError('KILN_ERR_FUNCTION_CRASHED', `instance ${rec.id} died while loading "${fs.name}"`)
    rec.state = 'ready'
    rec.version = version
    rec.specializedAt = Date.now()
    rec.lastUsed = rec.specializedAt
    fs.specializations++
    fs.stats.loaded(rec, loadStartedAt, performance.now()) // [metrics]
  }

  // ---- lifecycle of functions ----

  private apply(fn: FunctionResource): void {
    let fs = this.fns.get(refOfMeta(fn.metadata))
    const rootPath = this.o.runtimes.get(fn.spec.runtime)?.spec.protocol === 'fission'
    const secretsVersion = this.o.secrets?.version(fn) ?? ''
    if (fs === undefined) {
      fs = new FunctionState(fn, secretsVersion)
      fs.rootPath = rootPath
      this.fns.set(fs.name, fs)
      fs.applied = settle(this.strategyOf(fs).reconcile(fs, this.ctx))
      return
    }
    fs.rootPath = rootPath
    if (fs.update(fn, secretsVersion)) fs.applied = this.roll(fs)
    else this.strategyOf(fs).reconcile(fs, this.ctx)
  }

  /** A new version: make it ready where the strategy keeps instances ready, then drain the old one. */
  private async roll(fs: FunctionState): Promise<void> {
    const version = fs.version
    const work = this.strategyOf(fs).reconcile(fs, this.ctx)
    // A function in use keeps one instance ready across the roll (pool strategy too), so requests
    // arriving meanwhile wait for a new instance rather than fail.
    if (work.length === 0 && fs.instances.some((r) => r.state === 'ready')) work.push(this.ctx.provisionInBackground(fs))
    await settle(work)
    for (const r of [...fs.instances]) if (r.version !== version) this.drain(r, fs)
  }

  private remove(name: string): void {
    const fs = this.fns.get(name)
    if (!fs) return
    fs.deleted = true
    this.fns.delete(name)
    fs.rejectAll(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${name}" was deleted`))
    for (const r of [...fs.instances]) this.drain(r, fs)
  }

  /**
   * Moves a function onto isolated nodes: new instances carry the isolation toleration and selector;
   * the old ones drain (no new requests, in-flight ones finish, then stop). Resolves when moved.
   */
  isolate(name: string, iso: Isolation): Promise<void> {
    const fs = this.fns.get(name)
    if (!fs) return Promise.reject(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${name}" not found`))
    if (fs.isolation) return fs.applied
    fs.setIsolation(iso)
    this.o.onIsolation?.(fs, iso)
    fs.applied = this.roll(fs)
    return fs.applied
  }

  /** Lets an isolated function back onto general nodes, the same way. */
  releaseIsolation(name: string, by: 'monitor' | 'operator'): Promise<void> {
    const fs = this.fns.get(name)
    if (!fs) return Promise.reject(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${name}" not found`))
    if (!fs.isolation) return fs.applied
    const was = fs.isolation
    fs.setIsolation(undefined)
    this.o.onRelease?.(fs, was, by)
    fs.applied = this.roll(fs)
    return fs.applied
  }

  /** Settles when the function's latest spec has been applied (old version out of service). */
  whenApplied(name: string): Promise<void> {
    return this.fns.get(name)?.applied ?? Promise.resolve()
  }

  private drain(rec: InstanceRecord, fs: FunctionState): void {
    if (rec.state === 'gone') return
    rec.state = 'draining'
    if (rec.inflight === 0) {
      fs.remove(rec)
      this.finish(rec, fs)
    }
    this.afterLoss(fs, rec)
  }

  /** An idle instance leaves its function: back to the generic pool when safe (return-to-pool.ts), else stopped. */
  private finish(rec: InstanceRecord, fs: FunctionState): void {
    void withdrawSecrets(rec, this.delivery).catch((err: Error) => this.o.logger.warn({ err, instance: rec.id }, 'secret files not removed'))
    returnOrRetire(rec, fs, { runtimes: this.o.runtimes, pools: this.o.pools, fleet: this.o.fleet, closing: () => this.closing })
  }

  private afterLoss(fs: FunctionState, rec: InstanceRecord): void {
    if (rec.inflight === 0) fs.remove(rec)
    if (!fs.deleted && !this.closing) this.strategyOf(fs).reconcile(fs, this.ctx)
    // Requests queued on an instance that went away need another one.
    if (fs.queue.length > 0 && fs.ready().length === 0 && fs.provisions.length === 0 && !fs.deleted) {
      const p = this.startProvision(fs, false)
      while (p.waiters.length < p.capacity && fs.queue.length > 0) p.waiters.push(fs.queue.shift()!)
    }
  }

  private onGone(rec: InstanceRecord, exit: ExitInfo): void {
    void withdrawSecrets(rec, this.delivery).catch((err: Error) => this.o.logger.warn({ err, instance: rec.id }, 'secret files not removed'))
    if (!rec.retiring) {
      this.exits.set(rec.id, exit)
      setTimeout(() => this.exits.delete(rec.id), 60_000).unref()
    }
    if (rec.fn === undefined) return
    const fs = this.fns.get(rec.fn)
    if (!fs) return
    fs.remove(rec)
    this.afterLoss(fs, rec)
  }

  /** Why an instance ended, when it ended on its own (crash, out of memory), for error answers. */
  async exitOf(rec: InstanceRecord, waitMs: number): Promise<ExitInfo | undefined> {
    return Promise.race([rec.inst.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), waitMs).unref())])
  }

  // ---- background ----

  private tick(): void {
    const now = Date.now()
    for (const fs of this.fns.values()) {
      const strategy = this.strategyOf(fs)
      for (const rec of idleToReap(fs, strategy, now, this.o.idleTimeoutMs)) this.drain(rec, fs)
      for (const rec of fs.idleReady()) if (fs.policy.spent(rec, fs.fn, now)) this.drain(rec, fs)
      strategy.reconcile(fs, this.ctx)
    }
  }

  // ---- views ----

  private strategyOf(fs: FunctionState): Strategy {
    return STRATEGIES[fs.strategy]
  }

  private runtimeOf(fs: FunctionState): RuntimeResource {
    const rt = this.o.runtimes.get(fs.fn.spec.runtime)
    if (!rt) throw new KilnError('KILN_ERR_RUNTIME_NOT_FOUND', `runtime "${fs.fn.spec.runtime}" of function "${fs.name}" not found`)
    return rt
  }

  state(name: string): FunctionState | undefined {
    return this.fns.get(name)
  }

  functions(): FunctionState[] {
    return [...this.fns.values()]
  }

  describe(name: string): Record<string, unknown> | undefined {
    const fs = this.fns.get(name)
    return fs ? describeFunction(fs, Date.now()) : undefined
  }

  async close(): Promise<void> {
    this.closing = true
    if (this.timer) clearInterval(this.timer)
    this.unwatch?.()
    this.unwatchSecrets?.()
    for (const fs of this.fns.values()) fs.rejectAll(new KilnError('KILN_ERR_SHUTTING_DOWN'))
  }
}

/** Waits for background work without failing on it (failures are logged where they happen). */
async function settle(work: Promise<void>[]): Promise<void> {
  await Promise.allSettled(work)
}

