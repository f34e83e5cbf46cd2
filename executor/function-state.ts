// What the executor knows of one function: its spec, the instances specialized with it, the
// specializations under way (which concurrent first requests share), and the requests waiting for a slot.
import { createHash } from 'node:crypto'
import type { InstanceLimits } from '../cluster/backend.js'
import { functionLimits } from '../cluster/limits.js'
import { KilnError } from '../core/errors.js'
import { refOfMeta, versionKey } from '../core/refs.js'
import { FUNCTION_DEFAULTS, type FunctionResource } from '../core/types.js'
import type { InstanceRecord, InstanceState, StateObserver } from '../poolmgr/instance.js'
import { AdaptiveWarm } from './adaptive-warm.js'
import { ScaleState } from './autoscale/autoscaler.js'
import { InflightLimit } from './autoscale/inflight-limit.js'
import { freshPolicy } from './reuse/fresh.js'
import type { ReusePolicy } from './reuse/policy.js'
import { recyclePolicy } from './reuse/recycle.js'
import { reusePolicy } from './reuse/reuse.js'
import { FunctionStats } from './stats.js'

const REUSE_POLICIES: Record<ReusePolicy['name'], ReusePolicy> = { reuse: reusePolicy, recycle: recyclePolicy, fresh: freshPolicy }

export interface Waiter { resolve(rec: InstanceRecord): void; reject(err: Error): void }

/** One specialization under way; up to `capacity` requests may wait on it instead of starting another. */
export interface Provision { version: string; capacity: number; waiters: Waiter[]; done: Promise<void> }

/** The fields that change what code runs; a change of any of them rolls the function's instances. */
export function codeVersion(fn: FunctionResource): string {
  const s = fn.spec
  const key = JSON.stringify([s.runtime, s.package.sha256, s.entrypoint, s.shape ?? 'kiln', s.env ?? {}, s.resources ?? {}, s.timeoutMs ?? null])
  return createHash('sha256').update(key).digest('hex').slice(0, 12)
}

export interface Isolation { reason: string; evidence: Record<string, unknown>; at: number; by: 'monitor' | 'operator' }

const ISOLATED_PLACEMENT = {
  tolerations: [{ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' as const }],
  nodeSelector: { 'kiln.dev/pool': 'isolated' },
}

export class FunctionState implements StateObserver {
  fn!: FunctionResource
  /** The code version (a hash of what runs: spec, secrets, placement): instances of another one drain. */
  version = ''
  /** The function version (1, 2, ... `kiln fn versions`) this state serves; 0 outside versioned functions. */
  readonly fnVersion: number
  /** Its key in the executor: `ref@N` (core/refs.ts versionKey), never shown as a ref. */
  readonly key: string
  /** Its share of the function's traffic, 0..1 (its largest weight in any split); 0: only `@N` reaches it. */
  share = 1
  /** A split sends it requests now (share above 0 in the routes the data plane uses). */
  routed = true
  /** Its version was deleted (retention): it serves no new request and goes once idle. */
  retired = false
  concurrency = 1
  /** What happens to an instance between requests (`spec.reuse`). */
  policy: ReusePolicy = reusePolicy
  private readonly members: InstanceRecord[] = []
  /** Specialized instances, ready or draining; they join with `add` and leave with `remove`. */
  readonly instances: readonly InstanceRecord[] = this.members
  /** How many of `instances` are ready (any version), kept as they join, leave and change state. */
  private readyN = 0
  readonly provisions: Provision[] = []
  readonly queue: Waiter[] = []
  specializations = 0
  coldStarts = 0
  requests = 0
  /** Counters for the metrics (executor/stats.ts). */
  readonly stats = new FunctionStats()
  /** Instances given back to the generic pool after unload. */
  returned = 0
  lastTickAt = 0
  lastRequestAt = 0
  deleted = false
  /** Its runtime speaks Fission's protocol: every invocation goes to `/` (query kept). */
  rootPath = false
  /** For `minWarm: auto`: how many instances the adaptive policy wants warm now. */
  adaptiveWarm: number | undefined
  /** For `minWarm: auto`: the inter-arrival policy that sets `adaptiveWarm`. */
  adaptive: AdaptiveWarm | undefined
  /** Set while the function is isolated: its instances go to isolated nodes only. */
  isolation: Isolation | undefined
  /** Consecutive abnormal load samples (the monitor's window). */
  noisyStreak = 0
  /** The last out-of-range sample, shown while the streak builds. */
  lastEvidence: Record<string, unknown> | undefined
  /** Instances being specialized for this function (shown as `warming`). */
  readonly loading = new Set<InstanceRecord>()
  /** What the autoscaler decided for this version (autoscale/): instances wanted, and the most that help now. */
  readonly scale = new ScaleState()
  /** How many requests each instance gets at once now (at most `concurrency`; autoscale/inflight-limit.ts). */
  readonly inflightLimit: InflightLimit
  /** Settles when the latest spec is fully applied (old version drained, warm set rolled). */
  applied: Promise<void> = Promise.resolve()
  /** The values of the secrets it lists (secret-delivery.ts): a change rolls it like a deploy. */
  secretsVersion = ''

  constructor(fn: FunctionResource, secretsVersion = '', fnVersion = 0) {
    this.secretsVersion = secretsVersion
    this.fnVersion = fnVersion
    this.update(fn)
    this.inflightLimit = new InflightLimit(this.concurrency)
    this.key = versionKey(this.name, fnVersion)
  }

  /** Its ref (core/refs.ts): the name in `default`, `ns/name` elsewhere. */
  get name(): string { return refOfMeta(this.fn.metadata) }
  get strategy(): 'pool' | 'warm' | 'dedicated' { return this.fn.spec.strategy ?? FUNCTION_DEFAULTS.strategy }
  get reuse(): 'reuse' | 'recycle' | 'fresh' { return this.fn.spec.reuse ?? FUNCTION_DEFAULTS.reuse }
  get timeoutMs(): number { return this.fn.spec.timeoutMs ?? FUNCTION_DEFAULTS.timeoutMs }
  get queueSize(): number { return this.fn.spec.queueSize ?? FUNCTION_DEFAULTS.queueSize }

  update(fn: FunctionResource, secretsVersion = this.secretsVersion): boolean {
    this.fn = fn
    this.secretsVersion = secretsVersion
    this.policy = REUSE_POLICIES[this.reuse]
    this.concurrency = this.policy.concurrency(fn)
    if (fn.spec.minWarm === 'auto') this.adaptive ??= new AdaptiveWarm()
    else this.adaptive = undefined
    return this.refreshVersion()
  }

  /** The version also names the placement, so a move to isolated nodes rolls like a deploy does. */
  private refreshVersion(): boolean {
    // A change of strategy rolls the function too: instances booted for `dedicated` must not keep
    // serving it under `pool`, nor pool-specialized ones under `dedicated`.
    const v = codeVersion(this.fn) + (this.secretsVersion ? `-${this.secretsVersion}` : '') + (this.strategy === 'dedicated' ? '-dedicated' : '') + (this.isolation ? '-isolated' : '')
    const changed = v !== this.version
    this.version = v
    return changed
  }

  setIsolation(iso: Isolation | undefined): boolean {
    this.isolation = iso
    this.noisyStreak = 0
    return this.refreshVersion()
  }

  /** Where the function's instances may run: its own selector and tolerations, or isolated nodes. */
  placement(): { nodeSelector?: Record<string, string>; tolerations?: { key: string; value?: string; effect?: string }[] } {
    if (this.isolation) return ISOLATED_PLACEMENT
    return { nodeSelector: this.fn.spec.nodeSelector, tolerations: this.fn.spec.tolerations }
  }

  ready(): InstanceRecord[] {
    return this.instances.filter((r) => r.state === 'ready' && r.version === this.version)
  }

  /** Requests one instance may have in flight now: its concurrency, or less while that only queues inside it. */
  get slots(): number { return Math.min(this.concurrency, this.inflightLimit.slots) }

  idleReady(): InstanceRecord[] {
    return this.instances.filter((r) => r.state === 'ready' && r.version === this.version && r.inflight === 0)
  }

  /** Nothing runs, loads or waits here. */
  idle(): boolean {
    return this.instances.length === 0 && this.provisions.length === 0 && this.queue.length === 0 && this.loading.size === 0
  }

  /** Instances ready now, of any version: the slow path's count, without a scan. */
  get readyCount(): number { return this.readyN }

  add(rec: InstanceRecord): void {
    this.members.push(rec)
    rec.observer = this
    if (rec.state === 'ready') this.readyN++
  }

  remove(rec: InstanceRecord): void {
    const i = this.members.indexOf(rec)
    if (i < 0) return
    this.members.splice(i, 1)
    if (rec.observer === this) rec.observer = undefined
    if (rec.state === 'ready') this.readyN--
  }

  /** One of its instances changed state (InstanceRecord's setter: the executor's, the fleet's, a reclaim's). */
  stateChanged(_rec: InstanceRecord, from: InstanceState, to: InstanceState): void {
    if (from === 'ready') this.readyN--
    else if (to === 'ready') this.readyN++
  }

  rejectAll(err: KilnError): void {
    for (const w of this.queue.splice(0)) w.reject(err)
    for (const p of this.provisions) for (const w of p.waiters.splice(0)) w.reject(err)
  }
}

/** A function's resources as the limits its instances get (cluster/limits.ts). */
export const instanceLimits: (fn: FunctionResource) => InstanceLimits | null = functionLimits
