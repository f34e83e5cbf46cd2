// The executor: `acquire(version)` gives a request an instance with a free slot; `release` takes it back.
// Each function is a FunctionEntry (function-entry.ts) with a FunctionState per live version (key
// `ref@N`) and the routes its requests take; the data plane finds the entry (a map lookup), picks a
// version on a route (router/version-pick.ts), and acquires there.
// Hot path: an already specialized instance is a map lookup and a scan of the version's few instances,
// with no await and no allocation. Everything else (specialization, queueing, reuse policies, applying
// a new traffic split (traffic-apply.ts), rolling a version to new secrets or nodes, reaping idle
// instances) happens off that path.
import type { Logger } from 'pino'
import type { ExitInfo } from '../cluster/backend.js'
import { KilnError } from '../core/errors.js'
import type { ReleaseStores } from '../core/releases/releases.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { PackageStore } from '../core/store/package-store.js'
import { listsSecret } from '../core/store/secret-store.js'
import type { FunctionResource, RuntimeResource } from '../core/types.js'
import type { Fleet } from '../poolmgr/fleet.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import type { PoolManager } from '../poolmgr/manager.js'
import type { FunctionEntry } from './function-entry.js'
import type { FunctionState, Isolation } from './function-state.js'
import { Autoscaler } from './autoscale/autoscaler.js'
import { DEFAULT_SCALE, type ScaleSettings } from './autoscale/decide.js'
import type { NodeCpu } from './autoscale/node-cpu.js'
import { describeFunction } from './describe.js'
import { loadCode, type LoadDeps } from './load-code.js'
import { Outliers, type EjectionSettings } from './outliers.js'
import { idleToReap } from './reaper.js'
import { reclaimOne } from './reclaim.js'
import { returnOrRetire } from './return-to-pool.js'
import { NO_SHARING, type NamespaceSharing } from './namespace-reuse.js'
import { codeOwner, sameOwner } from './reuse-boundary.js'
import { withdrawSecrets, type DeliveryTarget, type FunctionSecrets } from './secret-delivery.js'
import { dedicatedStrategy } from './strategies/dedicated.js'
import { poolStrategy } from './strategies/pool.js'
import type { Strategy, StrategyContext } from './strategies/strategy.js'
import { warmStrategy } from './strategies/warm.js'
import { Provisioner } from './provisioning.js'
import { TrafficApplier } from './traffic-apply.js'

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
  /** Which namespaces let their functions take each other's instances; none when unset. */
  sharing?: NamespaceSharing
  /** Each function's versions and traffic (core/releases): which versions serve, and their specs. */
  releases: ReleaseStores
  onIsolation?(ref: string, iso: Isolation): void
  onRelease?(ref: string, was: Isolation, by: 'monitor' | 'operator'): void
  /**
   * Whether this executor owns the function (several replicas share the functions out, cluster/kubernetes/
   * members.ts): only the owner keeps its warm set and minimum scale; elsewhere its idle instances go.
   * Unset: it owns every function.
   */
  owns?(name: string): boolean
  /** How instance counts follow demand and CPU (autoscale/); defaults: DEFAULT_SCALE, sampled every 250 ms, no node CPU cap. */
  autoscale?: { settings?: ScaleSettings; sampleMs?: number; nodeCpu?: NodeCpu }
  /** When an instance that keeps failing is taken out of rotation (outliers.ts). */
  ejection?: EjectionSettings
  /** An instance was ejected (metrics, events). */
  onEject?(ref: string, rec: InstanceRecord, reason: string): void
}

export class Executor {
  /** Every live version of every function, by `ref@N`. */
  private readonly fns = new Map<string, FunctionState>()
  /** Every function, by ref: its versions and routes. */
  private readonly entries = new Map<string, FunctionEntry>()
  private readonly ctx: StrategyContext
  private timer: NodeJS.Timeout | undefined
  private unwatchSecrets: (() => void) | undefined
  private readonly delivery: DeliveryTarget
  private closing = false
  private readonly scaler: Autoscaler
  private readonly outliers: Outliers
  private readonly traffic: TrafficApplier
  private readonly provisioner: Provisioner

  constructor(private readonly o: ExecutorOptions) {
    const backend = o.fleet.backend
    this.delivery = { place: backend.placeSecrets ? (id, files) => backend.placeSecrets!(id, files) : undefined }
    const loadDeps: LoadDeps = { backend, packages: o.packages, secrets: o.secrets, delivery: this.delivery, logger: o.logger, runtime: (fs) => this.runtimeOf(fs) }
    this.ctx = {
      pools: o.pools,
      fleet: o.fleet,
      logger: o.logger,
      sharing: o.sharing ?? NO_SHARING,
      runtime: (fs) => this.runtimeOf(fs),
      load: (rec, fs, background) => loadCode(rec, fs, background, loadDeps),
      provisionInBackground: (fs) => this.provisioner.start(fs, true).done,
      provisioning: (fs) => fs.provisions.filter((p) => p.version === fs.version).length,
    }
    this.provisioner = new Provisioner({
      ctx: this.ctx, logger: o.logger, strategyOf: (fs) => this.strategyOf(fs), closing: () => this.closing,
      drain: (rec, fs) => this.drain(rec, fs), retire: (rec) => void o.fleet.retire(rec),
    })
    this.scaler = new Autoscaler({
      backend,
      nodeCpu: o.autoscale?.nodeCpu,
      settings: o.autoscale?.settings ?? DEFAULT_SCALE,
      sampleMs: o.autoscale?.sampleMs ?? 250,
      functions: () => this.fns.values(),
      maxInstances: (fs) => this.strategyOf(fs).maxInstances(fs),
      minInstances: (fs) => this.strategyOf(fs).keepIdle(fs),
      decided: (fs) => this.provisioner.grow(fs),
    })
    this.outliers = new Outliers(o.ejection, (rec, reason) => this.eject(rec, reason))
    this.traffic = new TrafficApplier({
      functions: o.functions, runtimes: o.runtimes, releases: o.releases, secrets: o.secrets, backend, logger: o.logger,
      entries: this.entries, states: this.fns,
      host: {
        closing: () => this.closing,
        owned: (fs) => this.owned(fs),
        reconcile: (fs) => this.reconcile(fs),
        provisioning: this.ctx.provisioning,
        provisionInBackground: this.ctx.provisionInBackground,
        drain: (rec, fs) => this.drain(rec, fs),
        remove: (entry) => this.removeEntry(entry),
      },
    })
  }

  /** Router processes serve the data plane: the autoscaler's "router busy" reads their loops too. */
  setRouterLoad(load: () => number | undefined): void {
    this.scaler.routerLoad = load
  }

  start(): void {
    this.traffic.start()
    this.o.fleet.on('gone', (rec) => this.onGone(rec))
    // A secret's new values roll the versions that list it, as a deploy does.
    this.unwatchSecrets = this.o.secrets?.watch((ns, name) => {
      for (const fs of this.fns.values()) if (listsSecret(fs.fn, ns, name)) this.refresh(fs)
    })
    this.o.fleet.budget.setReclaimer((minIdleMs) => reclaimOne(this.fns.values(), this.o.pools, this.o.fleet, this.o.logger, minIdleMs))
    this.timer = setInterval(() => this.tick(), 1000)
    this.timer.unref()
    this.scaler.start()
  }

  // ---- hot path ----

  /** The function `ref` as served here: its live versions and the routes to them. */
  entry(ref: string): FunctionEntry | undefined {
    return this.entries.get(ref)
  }

  /** An instance of this version with a free slot, or undefined when the caller must `acquire` (and maybe wait). */
  tryAcquire(fs: FunctionState): InstanceRecord | undefined {
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
    const c = fs.slots
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

  /**
   * `status`: the instance's answer, when it gave one (5xx answers count toward ejection, outliers.ts).
   * `sentAt` (performance.now(); -1: unknown) and `sentInflight`: when the request left for the instance
   * and how many it then had in flight, itself included (the round trip the adaptive limit reads).
   */
  release(rec: InstanceRecord, outcome: Outcome, status = 0, sentAt = -1, sentInflight = 0): void {
    rec.inflight--
    rec.requests++
    const now = rec.lastUsed = Date.now()
    const fs = this.stateOf(rec)
    if (outcome === 'ok') this.outliers.answered(rec, status, now, fs)
    if (fs !== undefined) {
      fs.scale.served++
      if (sentAt >= 0 && outcome === 'ok') fs.inflightLimit.answered(sentAt, sentInflight, performance.now())
    }
    if (outcome === 'timeout' || outcome === 'crash') {
      // It blocked past its deadline or broke mid-request: it cannot be trusted with another one.
      if (rec.state !== 'draining' && rec.state !== 'gone') this.o.logger.warn({ instance: rec.id, function: fs?.name, outcome, inflight: rec.inflight }, 'instance retired: a request to it failed')
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
    if (fs.queue.length > 0) this.provisioner.serve(fs, rec)
  }

  /** The version an instance serves. */
  private stateOf(rec: InstanceRecord): FunctionState | undefined {
    return rec.fn === undefined ? undefined : this.entries.get(rec.fn)?.states.get(rec.fnVersion)
  }

  // ---- slow path (the waiting itself: provisioning.ts) ----

  acquire(fs: FunctionState): Promise<InstanceRecord> {
    if (fs.deleted) return Promise.reject(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${fs.name}" was deleted`))
    if (this.closing) return Promise.reject(new KilnError('KILN_ERR_SHUTTING_DOWN'))
    const rec = this.tryAcquire(fs)
    if (rec) return Promise.resolve(rec)
    fs.requests++
    fs.lastRequestAt = Date.now()
    if (fs.adaptive !== undefined) {
      fs.adaptive.observe(fs.lastRequestAt)
      fs.adaptive.coldStarts++
    }
    return this.provisioner.wait(fs)
  }

  /** Takes an instance that keeps failing out of rotation; the strategy and the queue replace it. */
  private eject(rec: InstanceRecord, reason: string): void {
    const fs = this.stateOf(rec)
    if (fs === undefined || rec.state !== 'ready') return
    this.o.logger.warn({ instance: rec.id, function: fs.name, reason }, 'instance ejected: it keeps failing')
    fs.stats.ejections++ // [metrics]
    this.o.onEject?.(fs.name, rec, reason)
    // It serves no new request; what is in flight there finishes, then it stops (never back to a pool).
    rec.state = 'draining'
    if (rec.inflight === 0) void this.o.fleet.retire(rec, 0)
    this.afterLoss(fs, rec)
  }

  // ---- versions: ownership, traffic (traffic-apply.ts), rolls, deletion, isolation ----

  private owned(fs: FunctionState): boolean {
    return this.o.owns?.(fs.name) ?? true
  }

  /** The strategy's reconcile where this executor owns the function; nothing kept elsewhere. */
  private reconcile(fs: FunctionState): Promise<void>[] {
    return this.owned(fs) ? this.strategyOf(fs).reconcile(fs, this.ctx) : []
  }

  /** Ownership moved between replicas: act on it now rather than at the next tick. */
  ownershipChanged(): void {
    if (!this.closing) this.tick()
  }

  /**
   * The state of version `n`, opened for a request that names it (`/fn/NAME@N`) when no split serves
   * it: it keeps no instances ready, and goes once idle. Undefined when there is no such version.
   */
  openVersion(entry: FunctionEntry, n: number): FunctionState | undefined {
    return this.traffic.openVersion(entry, n)
  }

  /**
   * Settles when the function's latest traffic is applied (the versions it names warm, the routes
   * switched, versions no split serves out of service) and every version's latest roll is done.
   */
  whenApplied(name: string): Promise<void> {
    return this.traffic.whenApplied(name)
  }

  /** A version's secrets changed: its instances roll to the new values, as on a deploy. */
  private refresh(fs: FunctionState): void {
    if (fs.update(fs.fn, this.o.secrets?.version(fs.fn) ?? '')) fs.applied = this.roll(fs)
  }

  /** A version's code version changed (secrets, nodes): make it ready where the strategy keeps instances ready, then drain the old ones. */
  private async roll(fs: FunctionState): Promise<void> {
    const version = fs.version
    const work = this.reconcile(fs)
    // A function in use keeps one instance ready across the roll (pool strategy too), so requests
    // arriving meanwhile wait for a new instance rather than fail.
    if (work.length === 0 && this.owned(fs) && fs.readyCount > 0) work.push(this.ctx.provisionInBackground(fs))
    await Promise.allSettled(work) // failures are logged where they happen
    for (const r of [...fs.instances]) if (r.version !== version) this.drain(r, fs)
  }

  private removeEntry(entry: FunctionEntry): void {
    entry.deleted = true
    for (const w of entry.waiters.splice(0)) w()
    this.entries.delete(entry.ref)
    entry.route = undefined
    for (const fs of entry.states.values()) {
      fs.deleted = true
      this.fns.delete(fs.key)
      fs.rejectAll(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${entry.ref}" was deleted`))
      for (const r of [...fs.instances]) this.drain(r, fs)
    }
    // Instances kept for it after running its code (any version): no other function may ever have them.
    const owner = codeOwner(entry.fn)
    this.o.pools.dropKept((r) => r.ranFor !== undefined && sameOwner(r.ranFor, owner))
  }

  /**
   * Moves a function (every version of it) onto isolated nodes: new instances carry the isolation
   * toleration and selector; the old ones drain (no new requests, in-flight ones finish, then stop).
   * Resolves when moved.
   */
  isolate(name: string, iso: Isolation): Promise<void> {
    const entry = this.entries.get(name)
    if (!entry) return Promise.reject(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${name}" not found`))
    if (!entry.isolation) {
      this.place(entry, iso)
      this.o.onIsolation?.(name, iso)
    }
    return this.whenApplied(name)
  }

  /** Lets an isolated function back onto general nodes, the same way. */
  releaseIsolation(name: string, by: 'monitor' | 'operator'): Promise<void> {
    const entry = this.entries.get(name)
    if (!entry) return Promise.reject(new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function "${name}" not found`))
    const was = entry.isolation
    if (was) {
      this.place(entry, undefined)
      this.o.onRelease?.(name, was, by)
    }
    return this.whenApplied(name)
  }

  /** Every version of the function rolls onto isolated nodes (`iso`) or back onto general ones. */
  private place(entry: FunctionEntry, iso: Isolation | undefined): void {
    entry.isolation = iso
    for (const fs of entry.states.values()) {
      fs.setIsolation(iso)
      fs.applied = this.roll(fs)
    }
  }

  // ---- instances leaving ----

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
    if (!fs.deleted && !this.closing) this.reconcile(fs)
    // Requests queued on an instance that went away need another one.
    if (fs.queue.length > 0 && fs.ready().length === 0 && fs.provisions.length === 0 && !fs.deleted) this.provisioner.bootForQueue(fs)
  }

  private onGone(rec: InstanceRecord): void {
    void withdrawSecrets(rec, this.delivery).catch((err: Error) => this.o.logger.warn({ err, instance: rec.id }, 'secret files not removed'))
    const fs = this.stateOf(rec)
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
      // Another replica owns it: what is idle here is surplus (it keeps the function's warm set).
      if (!this.owned(fs)) for (const rec of fs.idleReady()) this.drain(rec, fs)
      for (const rec of idleToReap(fs, strategy, now, this.o.idleTimeoutMs)) this.drain(rec, fs)
      for (const rec of fs.idleReady()) if (fs.policy.spent(rec, fs.fn, now)) this.drain(rec, fs)
      this.reconcile(fs)
    }
    // A version no split serves goes once nothing runs, loads or waits on it (`@N` opens it again).
    for (const entry of this.entries.values()) {
      for (const fs of entry.states.values()) {
        if (fs.routed || !fs.idle()) continue
        entry.states.delete(fs.fnVersion)
        this.fns.delete(fs.key)
      }
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

  /** The function's primary version (the one serving most of its traffic). */
  state(name: string): FunctionState | undefined {
    return this.entries.get(name)?.primary()
  }

  /** Every live version of every function. */
  functions(): FunctionState[] {
    return [...this.fns.values()]
  }

  /** The functions served here, as stored. */
  served(): FunctionResource[] {
    return [...this.entries.values()].map((e) => e.fn)
  }

  describe(name: string): Record<string, unknown> | undefined {
    const entry = this.entries.get(name)
    return entry ? describeFunction(entry, Date.now()) : undefined
  }

  async close(): Promise<void> {
    this.closing = true
    if (this.timer) clearInterval(this.timer)
    this.scaler.stop()
    this.traffic.stop()
    this.unwatchSecrets?.()
    for (const fs of this.fns.values()) fs.rejectAll(new KilnError('KILN_ERR_SHUTTING_DOWN'))
  }
}

