// A function's versions and traffic (core/releases), made true in the executor: level-triggered, each
// function as the stores say it is now (the function, its traffic record, its versions) becomes what
// is served — a FunctionState per version a split serves, warm before its routes switch, and versions
// no split serves drained. It works on the executor's maps and asks the executor (TrafficHost) for
// everything that starts or stops an instance.
import type { Logger } from 'pino'
import type { ClusterBackend } from '../cluster/backend.js'
import { DEFAULT_NAMESPACE, parseRef, refOfMeta } from '../core/refs.js'
import { functionRefOf, versionRef, type ReleaseStores } from '../core/releases/releases.js'
import { sameJson, sharesOf } from '../core/releases/splits.js'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { FunctionResource, RuntimeResource } from '../core/types.js'
import type { InstanceRecord } from '../poolmgr/instance.js'
import { buildRoute, FunctionEntry, type Route } from './function-entry.js'
import { FunctionState } from './function-state.js'
import type { FunctionSecrets } from './secret-delivery.js'
import type { StrategyContext } from './strategies/strategy.js'

/** How long `whenApplied` waits for a deploy's version and traffic to reach this process's view. */
const CATCH_UP_MS = 60_000

/** What applying traffic needs of the executor's instance lifecycle. */
export interface TrafficHost extends Pick<StrategyContext, 'provisioning' | 'provisionInBackground'> {
  /** The executor is shutting down: nothing more is applied. */
  closing(): boolean
  /** This executor keeps the version's instances (replicas share the functions out). */
  owned(fs: FunctionState): boolean
  /** The strategy's reconcile where owned (warm set, minimum scale): what it started. */
  reconcile(fs: FunctionState): Promise<void>[]
  /** Takes an instance out of service: no new request; it goes once idle. */
  drain(rec: InstanceRecord, fs: FunctionState): void
  /** The function was deleted: every version of it stops serving. */
  remove(entry: FunctionEntry): void
}

export interface TrafficApplyOptions {
  functions: Pick<ResourceStore<FunctionResource>, 'get' | 'list' | 'watch'>
  runtimes: Pick<ResourceStore<RuntimeResource>, 'get'>
  releases: ReleaseStores
  secrets?: Pick<FunctionSecrets, 'version'>
  backend: Pick<ClusterBackend, 'prepareCode'>
  logger: Logger
  /** The executor's own maps: every function served, by ref; every live version, by `ref@N`. */
  entries: Map<string, FunctionEntry>
  states: Map<string, FunctionState>
  host: TrafficHost
}

export class TrafficApplier {
  private unwatch: (() => void)[] = []

  constructor(private readonly o: TrafficApplyOptions) {}

  /** Applies every function as stored, then follows the stores. */
  start(): void {
    for (const fn of this.o.functions.list()) this.sync(refOfMeta(fn.metadata))
    this.unwatch = [
      this.o.functions.watch((ev) => this.sync(refOfMeta(ev.object.metadata))),
      this.o.releases.traffic.watch((ev) => this.sync(functionRefOf(ev.object))),
      // A version the traffic names may reach this process's view after the traffic does; a deleted one
      // (retention) is served no more.
      this.o.releases.versions.watch((ev) => (ev.type === 'put' ? this.sync(functionRefOf(ev.object)) : this.versionGone(functionRefOf(ev.object), ev.object.spec.version))),
    ]
  }

  stop(): void {
    for (const u of this.unwatch) u()
  }

  /** Level-triggered: called on every change of the function, its traffic record or its versions. */
  private sync(ref: string): void {
    if (this.o.host.closing()) return
    const fn = this.o.functions.get(ref)
    let entry = this.o.entries.get(ref)
    if (fn === undefined) {
      if (entry) this.o.host.remove(entry)
      return
    }
    if (entry === undefined) this.o.entries.set(ref, entry = new FunctionEntry(fn))
    entry.fn = fn
    entry.desired = this.o.releases.traffic.get(ref)?.spec
    this.scheduleApply(entry)
  }

  /** One apply at a time per function; a change meanwhile is applied right after (latest wins). */
  private scheduleApply(entry: FunctionEntry): void {
    entry.dirty = true
    if (entry.applying) return
    entry.applying = true
    entry.applied = (async () => {
      try {
        while (entry.dirty && !entry.deleted && !this.o.host.closing()) {
          entry.dirty = false
          await this.applyTraffic(entry)
        }
      } catch (err) {
        this.o.logger.error({ err, function: entry.ref }, 'traffic not applied')
      } finally {
        entry.applying = false
        for (const w of entry.waiters.splice(0)) w()
      }
    })()
  }

  /**
   * Makes the traffic record true: each version a split gives traffic gets its state and, where its
   * strategy keeps instances ready, its share of them, warm before any request is routed there; then the
   * routes switch at once; then versions no split serves any more drain (in-flight requests finish).
   * A function in use keeps an instance ready for every version with traffic (the `pool` strategy too),
   * so a switch never leaves requests waiting for a cold start.
   */
  private async applyTraffic(entry: FunctionEntry): Promise<void> {
    const host = this.o.host
    const t = entry.desired
    for (const fs of entry.states.values()) fs.rootPath = this.rootPathOf(fs.fn)
    // No traffic record yet (the controller writes it before the function; another process may see
    // the function first): nothing to serve until it arrives.
    if (t === undefined) return
    const shares = sharesOf(t)
    const inUse = [...entry.states.values()].some((fs) => fs.readyCount > 0)
    const work: Promise<void>[] = []
    for (const [n, share] of shares) {
      const fs = entry.states.get(n) ?? this.openState(entry, n)
      if (fs === undefined) continue // not in this process's view yet: its store event brings us back
      fs.share = share
      if (share <= 0) continue
      const started = host.reconcile(fs)
      if (started.length === 0 && inUse && host.owned(fs) && fs.ready().length === 0 && host.provisioning(fs) === 0) started.push(host.provisionInBackground(fs))
      work.push(...started)
    }
    // Failures are logged where they happen.
    await Promise.allSettled(work)
    if (entry.deleted || host.closing()) return
    const stateOf = (n: number) => entry.states.get(n)
    entry.route = buildRoute(t.traffic, stateOf)
    const aliases = new Map<string, Route>()
    for (const [alias, split] of Object.entries(t.aliases ?? {})) {
      const r = buildRoute(split, stateOf)
      if (r) aliases.set(alias, r)
    }
    entry.aliases = aliases
    entry.appliedTraffic = t
    for (const fs of entry.states.values()) {
      const share = shares.get(fs.fnVersion) ?? 0
      const wasRouted = fs.routed
      fs.share = share
      fs.routed = share > 0
      if (wasRouted && !fs.routed) for (const r of [...fs.instances]) host.drain(r, fs)
    }
  }

  /**
   * The state of version `n`, opened for a request that names it (`/fn/NAME@N`) when no split serves
   * it: it keeps no instances ready, and goes once idle. Undefined when there is no such version.
   */
  openVersion(entry: FunctionEntry, n: number): FunctionState | undefined {
    const fs = entry.states.get(n)
    if (fs !== undefined) return fs.retired ? undefined : fs
    return this.openState(entry, n)
  }

  /** A version was deleted: its state (if no split serves it) drains and goes. */
  private versionGone(ref: string, n: number): void {
    const fs = this.o.entries.get(ref)?.states.get(n)
    if (fs === undefined || fs.routed) return
    fs.retired = true
    for (const r of [...fs.instances]) this.o.host.drain(r, fs)
  }

  private openState(entry: FunctionEntry, n: number): FunctionState | undefined {
    if (entry.deleted) return undefined
    const v = this.o.releases.versions.get(versionRef(entry.ref, n))
    if (v === undefined) return undefined
    // Verify its package now, so its first request does not wait for that.
    this.o.backend.prepareCode?.(v.spec.spec.package.sha256).catch((err: Error) => this.o.logger.warn({ err, function: entry.ref, version: n }, 'code package could not be verified'))
    // The version's spec under the function's own metadata: logs, secrets and instances know the function.
    const fn: FunctionResource = { apiVersion: 'kiln.dev/v1', kind: 'Function', metadata: entry.fn.metadata, spec: v.spec.spec }
    const fs = new FunctionState(fn, this.o.secrets?.version(fn) ?? '', n)
    fs.share = 0
    fs.routed = false
    fs.rootPath = this.rootPathOf(fn)
    if (entry.isolation) fs.setIsolation(entry.isolation)
    entry.states.set(n, fs)
    this.o.states.set(fs.key, fs)
    return fs
  }

  private rootPathOf(fn: FunctionResource): boolean {
    return this.o.runtimes.get(fn.spec.runtime)?.spec.protocol === 'fission'
  }

  /**
   * Settles when the function's latest traffic is applied (the versions it names warm, the routes
   * switched, versions no split serves out of service) and every version's latest roll is done.
   */
  async whenApplied(name: string): Promise<void> {
    const entry = this.o.entries.get(name)
    if (!entry) return
    // Catching up waits for the stores' events, within a bound: a caller is never held forever.
    const until = Date.now() + CATCH_UP_MS
    for (;;) {
      await entry.applied
      await Promise.all([...entry.states.values()].map((fs) => fs.applied))
      if (entry.deleted || this.caughtUp(entry) || Date.now() >= until) return
      await new Promise<void>((r) => {
        entry.waiters.push(r)
        setTimeout(r, 1000).unref()
      })
    }
  }

  /**
   * Whether the traffic applied is at least as new as the deploy that wrote the function's spec. Where
   * the stores are watched apart (Kubernetes informers), the function can arrive before its version
   * and traffic: until they do, its deploy is not applied here.
   */
  private caughtUp(entry: FunctionEntry): boolean {
    const t = entry.appliedTraffic
    if (t === undefined) return false
    if (t.latestVersion === undefined) return true
    const { namespace, name } = parseRef(entry.ref)
    let deployed = 0
    for (const v of this.o.releases.versions.list()) {
      if (v.spec.function === name && (v.metadata.namespace ?? DEFAULT_NAMESPACE) === namespace && v.spec.version > deployed && sameJson(v.spec.spec, entry.fn.spec)) deployed = v.spec.version
    }
    return deployed > 0 && t.latestVersion >= deployed
  }
}
