// A function's releases over two stores: its versions (immutable, numbered 1, 2, 3, ...: the full spec,
// who made it, when, what changed) and its traffic record (the main split, aliases, a canary), kept
// apart from the Function so that re-applying a spec never resets a split or a canary. The control API
// and the canary loop change them only through here, one change per function at a time, so a canary's
// step and a user's alias never overwrite each other in this process.
import { KilnError } from '../errors.js'
import { parseRef, refOf, refOfMeta, versionObjectName } from '../refs.js'
import { describeRef, type ResourceStore } from '../store/resource-store.js'
import type { Canary, FunctionResource, FunctionSpec, FunctionTrafficResource, FunctionTrafficSpec, FunctionVersionResource, Split } from '../types.js'
import { changedFields, checkSplit, only, primaryOf, referencedVersions } from './splits.js'

/** The label every version and traffic record carries: `kubectl get functionversions -l kiln.dev/function=NAME`. */
export const FUNCTION_LABEL = 'kiln.dev/function'

export interface ReleaseStores {
  versions: ResourceStore<FunctionVersionResource>
  traffic: ResourceStore<FunctionTrafficResource>
}

/** Who made a version: the token's public id and name (controller/authz.ts `req.kiln.identity`). */
export interface Author { id: string; name?: string }

export interface ReleasesOptions {
  /** Versions kept per function beyond those in use (config `versionRetention`). */
  retain: number
  /** The versions user routes name (HTTP triggers with `version`): never collected. */
  routeVersions?(ref: string): Iterable<number>
}

export interface CanaryRequest {
  to: number
  step: number
  intervalMs: number
  maxErrorRate: number
  maxP99Ms?: number
  minRequests?: number
}

export type CanaryEvaluation = NonNullable<Canary['lastEvaluation']>

/** A function's versions (ref → creation time) and traffic record (creation time) at one moment. */
export interface Snapshot { versions: Map<string, string | undefined>; traffic: string | undefined }

/** The stored ref of version `n` of the function `ref`. */
export function versionRef(ref: string, n: number): string {
  const { namespace, name } = parseRef(ref)
  return refOf(namespace, versionObjectName(name, n))
}

/** The function ref a version or traffic record belongs to. */
export function functionRefOf(r: FunctionVersionResource | FunctionTrafficResource): string {
  return refOf(r.metadata.namespace, r.spec.function)
}

export class Releases {
  private readonly locks = new Map<string, Promise<unknown>>()

  constructor(readonly stores: ReleaseStores, private readonly o: ReleasesOptions) {}

  // ---- reads (synchronous, from the stores' views) ----

  /** The function's versions, oldest first. */
  versions(ref: string): FunctionVersionResource[] {
    const { namespace, name } = parseRef(ref)
    return this.stores.versions.list()
      .filter((v) => v.spec.function === name && (v.metadata.namespace ?? 'default') === namespace)
      .sort((a, b) => a.spec.version - b.spec.version)
  }

  version(ref: string, n: number): FunctionVersionResource | undefined {
    return this.stores.versions.get(versionRef(ref, n))
  }

  /** The newest version's number; 0 when there is none. */
  latest(ref: string): number {
    const all = this.versions(ref)
    return all.length === 0 ? 0 : all[all.length - 1].spec.version
  }

  traffic(ref: string): FunctionTrafficResource | undefined {
    return this.stores.traffic.get(ref)
  }

  // ---- deploys ----

  /**
   * A deploy of `fn`: a new version when its spec differs from the newest version's (none otherwise),
   * and, unless `promote` is false, all traffic to it (a running canary is superseded); then `store`
   * writes the function itself. One step under the function's lock, so the keeper never sees the
   * function between its version and its write. A function's first version always takes the traffic:
   * there is nothing else to serve.
   */
  deploy<T>(fn: FunctionResource, who: Author, promote: boolean, store: (fn: FunctionResource) => Promise<T>): Promise<{ version: number | undefined; promoted: boolean; stored: T }> {
    const ref = refOfMeta(fn.metadata)
    return this.lock(ref, async () => {
      const version = await this.newVersion(ref, fn.spec, who)
      const t = this.traffic(ref)
      const promoted = version !== undefined && (promote || t === undefined)
      if (promoted) {
        const canary = t?.spec.canary?.state === 'running'
          ? { ...t.spec.canary, state: 'aborted' as const, reason: `superseded by the deploy of version ${version}`, finishedAt: new Date().toISOString() }
          : t?.spec.canary
        await this.putTraffic(ref, { traffic: only(version), aliases: t?.spec.aliases, canary, latestVersion: version })
      } else if (version !== undefined && t !== undefined) {
        // No traffic moves, but the record says a deploy happened (executors report it applied once they saw it).
        await this.putTraffic(ref, { ...t.spec, latestVersion: version })
      }
      const stored = await store(fn)
      if (version !== undefined) await this.collectLocked(ref)
      return { version, promoted, stored }
    })
  }

  /** Creates version N+1 unless the newest already has this spec; retries when another writer took N+1. */
  private async newVersion(ref: string, spec: FunctionSpec, who: Author, note?: string): Promise<number | undefined> {
    const { namespace, name } = parseRef(ref)
    for (let attempt = 0; ; attempt++) {
      const all = this.versions(ref)
      const latest = all[all.length - 1]
      const changed = changedFields(latest?.spec.spec as Record<string, unknown> | undefined, spec as Record<string, unknown>)
      if (latest && changed.length === 0) return undefined
      const n = (latest?.spec.version ?? 0) + 1
      try {
        await this.stores.versions.create({
          apiVersion: 'kiln.dev/v1', kind: 'FunctionVersion',
          metadata: { name: versionObjectName(name, n), namespace, labels: { [FUNCTION_LABEL]: name } },
          spec: { function: name, version: n, spec, createdBy: { id: who.id, ...(who.name ? { name: who.name } : {}) }, changed, ...(note ? { note } : {}) },
        })
        return n
      } catch (e) {
        if (!(e instanceof KilnError && e.code === 'KILN_ERR_ALREADY_EXISTS') || attempt >= 3) throw e
        // Another writer (a second controller) made version n first: our view catches up, and we look again.
        await new Promise((r) => setTimeout(r, 50 * (attempt + 1)))
      }
    }
  }

  /**
   * Level-triggered: a function written around the deploy path (stored before versions existed, edited
   * with kubectl, or changed by the platform itself) gets what a deploy would have given it: its spec as
   * a new version serving all traffic, and a traffic record when it has none. Nothing when the newest
   * version already has its spec (a deploy through the API recorded it first). Idempotent across processes.
   */
  reconcile(ref: string, current: () => FunctionResource | undefined): Promise<void> {
    return this.lock(ref, async () => {
      // The function as stored now (an event may be older than a deploy that finished since).
      const fn = current()
      if (fn === undefined || !this.needsReconcile(fn)) return
      const first = this.latest(ref) === 0
      let made: number | undefined
      try {
        made = await this.newVersion(ref, fn.spec, { id: 'kiln', name: 'the platform' }, first ? 'the function as it was when it first got versions' : 'changed outside a deploy')
      } catch (e) {
        if (!(e instanceof KilnError && e.code === 'KILN_ERR_ALREADY_EXISTS')) throw e
      }
      const t = this.traffic(ref)
      if (t !== undefined && made === undefined) return
      const serve = made ?? this.latest(ref)
      if (serve === 0) return
      if (t === undefined) {
        try {
          await this.stores.traffic.create(this.trafficResource(ref, { traffic: only(serve), latestVersion: this.latest(ref) }))
        } catch (e) {
          if (!(e instanceof KilnError && e.code === 'KILN_ERR_ALREADY_EXISTS')) throw e
        }
        return
      }
      const c = t.spec.canary
      const canary = c?.state === 'running' ? { ...c, state: 'aborted' as const, reason: `superseded by version ${serve}, changed outside a deploy`, finishedAt: new Date().toISOString() } : c
      await this.putTraffic(ref, { ...t.spec, traffic: only(serve), canary, latestVersion: serve })
      await this.collectLocked(ref)
    })
  }

  /** Whether the function needs `reconcile`: no version, no traffic record, or a spec its newest version does not have. */
  needsReconcile(fn: FunctionResource): boolean {
    const ref = refOfMeta(fn.metadata)
    const all = this.versions(ref)
    const latest = all[all.length - 1]
    return latest === undefined || this.traffic(ref) === undefined || changedFields(latest.spec.spec as Record<string, unknown>, fn.spec as Record<string, unknown>).length > 0
  }

  // ---- traffic ----

  /** Sets the main split (no alias) or an alias's; refused while a canary moves the main split. */
  setSplit(ref: string, value: unknown, alias?: string): Promise<FunctionTrafficResource> {
    return this.lock(ref, async () => {
      const t = this.requireTraffic(ref)
      const split = checkSplit(value, (n) => this.version(ref, n) !== undefined, alias === undefined ? 'split' : `alias ${alias}`)
      if (alias === undefined && t.spec.canary?.state === 'running') throw canaryRunning(ref, t.spec.canary)
      const spec = alias === undefined
        ? { ...t.spec, traffic: split }
        : { ...t.spec, aliases: { ...t.spec.aliases, [alias]: split } }
      const stored = await this.putTraffic(ref, spec)
      await this.collectLocked(ref)
      return stored
    })
  }

  /** Removes an alias; `inUse` names what still routes to it (refused then). */
  deleteAlias(ref: string, alias: string, inUse?: (ref: string, alias: string) => string | undefined): Promise<FunctionTrafficResource> {
    return this.lock(ref, async () => {
      const t = this.requireTraffic(ref)
      if (!t.spec.aliases?.[alias]) throw new KilnError('KILN_ERR_ALIAS_NOT_FOUND', `function ${describeRef(ref)} has no alias "${alias}"`)
      const user = inUse?.(ref, alias)
      if (user) throw new KilnError('KILN_ERR_IN_USE', `alias "${alias}" is used by ${user}`)
      const { [alias]: _, ...aliases } = t.spec.aliases
      const stored = await this.putTraffic(ref, { ...t.spec, aliases: Object.keys(aliases).length ? aliases : undefined })
      await this.collectLocked(ref)
      return stored
    })
  }

  /**
   * All traffic to version `to`, or to the newest version older than the one serving now. A running
   * canary stops (aborted). Aliases keep what they name.
   */
  rollback(ref: string, to?: number): Promise<{ from: number; to: number }> {
    return this.lock(ref, async () => {
      const t = this.requireTraffic(ref)
      const from = primaryOf(t.spec.traffic)
      let target = to
      if (target === undefined) {
        const older = this.versions(ref).filter((v) => v.spec.version < from)
        if (older.length === 0) throw new KilnError('KILN_ERR_VERSION_NOT_FOUND', `function ${describeRef(ref)} has no version before ${from} to roll back to`)
        target = older[older.length - 1].spec.version
      } else if (!this.version(ref, target)) {
        throw new KilnError('KILN_ERR_VERSION_NOT_FOUND', `function ${describeRef(ref)} has no version ${target}`)
      }
      const c = t.spec.canary
      const canary = c?.state === 'running' ? { ...c, state: 'aborted' as const, reason: `rolled back by hand to version ${target}`, finishedAt: new Date().toISOString() } : c
      await this.putTraffic(ref, { ...t.spec, traffic: only(target), canary })
      return { from, to: target }
    })
  }

  // ---- canaries ----

  /** Starts a canary from the version serving now to `r.to`: `r.step`% to it at once. */
  startCanary(ref: string, r: CanaryRequest): Promise<Canary> {
    return this.lock(ref, async () => {
      const t = this.requireTraffic(ref)
      if (t.spec.canary?.state === 'running') throw canaryRunning(ref, t.spec.canary)
      if (!this.version(ref, r.to)) throw new KilnError('KILN_ERR_VERSION_NOT_FOUND', `function ${describeRef(ref)} has no version ${r.to}`)
      const from = primaryOf(t.spec.traffic)
      if (from === r.to) throw new KilnError('KILN_ERR_VALIDATION', `version ${r.to} already serves function ${describeRef(ref)}`)
      const now = new Date().toISOString()
      const weight = Math.min(100, r.step)
      const canary: Canary = {
        from, to: r.to, step: r.step, intervalMs: r.intervalMs, maxErrorRate: r.maxErrorRate,
        ...(r.maxP99Ms !== undefined ? { maxP99Ms: r.maxP99Ms } : {}), ...(r.minRequests !== undefined ? { minRequests: r.minRequests } : {}),
        state: 'running', weight, startedAt: now, stepAt: now,
      }
      await this.putTraffic(ref, { ...t.spec, traffic: canarySplit(t.spec.traffic, canary), canary })
      return canary
    })
  }

  /** Stops a running canary; all traffic goes back to the version it started from. */
  abortCanary(ref: string, reason = 'aborted by hand'): Promise<Canary> {
    return this.lock(ref, async () => {
      const t = this.requireTraffic(ref)
      const c = t.spec.canary
      if (c?.state !== 'running') throw new KilnError('KILN_ERR_CANARY_NOT_FOUND', `no canary is running for function ${describeRef(ref)}`)
      const canary: Canary = { ...c, state: 'aborted', weight: 0, reason, finishedAt: new Date().toISOString() }
      await this.putTraffic(ref, { ...t.spec, traffic: only(c.from), canary })
      return canary
    })
  }

  /**
   * The canary loop's move, applied only if the canary it judged (by `startedAt`) still runs: `step`
   * (more weight, or promoted at 100), `promote`, `rollback` (with the reason), or `hold` (records the
   * evaluation only). Undefined when the canary changed meanwhile.
   */
  advanceCanary(ref: string, startedAt: string, move: 'step' | 'hold' | 'rollback', evaluation: CanaryEvaluation, reason?: string): Promise<Canary | undefined> {
    return this.lock(ref, async () => {
      const t = this.traffic(ref)
      const c = t?.spec.canary
      if (!t || c?.state !== 'running' || c.startedAt !== startedAt) return undefined
      const now = new Date().toISOString()
      let next: Canary
      let traffic: Split = t.spec.traffic
      if (move === 'rollback') {
        next = { ...c, state: 'rolledBack', weight: 0, reason, finishedAt: now, lastEvaluation: evaluation }
        traffic = only(c.from)
      } else if (move === 'hold') {
        next = { ...c, lastEvaluation: evaluation }
      } else if (c.weight + c.step >= 100) {
        next = { ...c, state: 'promoted', weight: 100, stepAt: now, finishedAt: now, lastEvaluation: evaluation, reason: reason ?? 'every step stayed within its bounds' }
        traffic = only(c.to)
      } else {
        next = { ...c, weight: c.weight + c.step, stepAt: now, lastEvaluation: evaluation }
        traffic = canarySplit(t.spec.traffic, next)
      }
      await this.putTraffic(ref, { ...t.spec, traffic, canary: next })
      return next
    })
  }

  // ---- retention and clean-up ----

  /** Deletes versions past the retention count that nothing uses (never the newest). */
  collect(ref: string): Promise<number[]> {
    return this.lock(ref, () => this.collectLocked(ref))
  }

  private async collectLocked(ref: string): Promise<number[]> {
    const all = this.versions(ref)
    const keep = referencedVersions(this.traffic(ref)?.spec)
    for (const n of this.o.routeVersions?.(ref) ?? []) keep.add(n)
    const gone: number[] = []
    for (const v of all.slice(0, Math.max(0, all.length - this.o.retain))) {
      if (keep.has(v.spec.version)) continue
      await this.stores.versions.delete(refOfMeta(v.metadata))
      gone.push(v.spec.version)
    }
    return gone
  }

  /**
   * A deleted function's versions and traffic record. `seen` (what it had when it was deleted, by ref and
   * creation time) keeps a function made again under the same name meanwhile from losing its new ones.
   */
  forget(ref: string, seen?: Snapshot): Promise<void> {
    return this.lock(ref, async () => {
      for (const v of this.versions(ref)) {
        const r = refOfMeta(v.metadata)
        if (seen === undefined || seen.versions.get(r) === v.metadata.createdAt) await this.stores.versions.delete(r)
      }
      const t = this.traffic(ref)
      if (t && (seen === undefined || seen.traffic === t.metadata.createdAt)) await this.stores.traffic.delete(ref)
    })
  }

  /** What `forget` should delete for the function as it is now. */
  snapshot(ref: string): Snapshot {
    return { versions: new Map(this.versions(ref).map((v) => [refOfMeta(v.metadata), v.metadata.createdAt])), traffic: this.traffic(ref)?.metadata.createdAt }
  }

  // ---- helpers ----

  private requireTraffic(ref: string): FunctionTrafficResource {
    const t = this.traffic(ref)
    if (!t) throw new KilnError('KILN_ERR_FUNCTION_NOT_FOUND', `function ${describeRef(ref)} has no versions yet`)
    return t
  }

  private trafficResource(ref: string, spec: Omit<FunctionTrafficSpec, 'function'>): FunctionTrafficResource {
    const { namespace, name } = parseRef(ref)
    const clean = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as Omit<FunctionTrafficSpec, 'function'>
    return {
      apiVersion: 'kiln.dev/v1', kind: 'FunctionTraffic',
      metadata: { name, namespace, labels: { [FUNCTION_LABEL]: name } },
      spec: { function: name, ...clean },
    }
  }

  private putTraffic(ref: string, spec: Omit<FunctionTrafficSpec, 'function'>): Promise<FunctionTrafficResource> {
    return this.stores.traffic.put(this.trafficResource(ref, spec))
  }

  /** One change per function at a time (in this process). */
  private lock<T>(ref: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(ref) ?? Promise.resolve()
    const next = prev.then(fn, fn)
    const tail = next.catch(() => undefined)
    this.locks.set(ref, tail)
    void tail.then(() => { if (this.locks.get(ref) === tail) this.locks.delete(ref) })
    return next
  }
}

/**
 * The main split during a canary: the version it started from, then the new one at the end (so with a
 * sticky split the new version's range only grows, and a caller sent to it stays on it), keeping the
 * split's stickiness.
 */
export function canarySplit(current: Split, c: Canary): Split {
  return {
    targets: [{ version: c.from, weight: 100 - c.weight }, { version: c.to, weight: c.weight }],
    ...(current.stickyHeader !== undefined ? { stickyHeader: current.stickyHeader } : {}),
    ...(current.stickyCookie !== undefined ? { stickyCookie: current.stickyCookie } : {}),
  }
}

function canaryRunning(ref: string, c: Canary): KilnError {
  return new KilnError('KILN_ERR_CANARY_RUNNING', `a canary from version ${c.from} to ${c.to} is moving the traffic of function ${describeRef(ref)} (now ${c.weight}% to ${c.to})`)
}
