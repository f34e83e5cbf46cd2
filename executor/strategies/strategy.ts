// How an instance becomes ready for a function. One file per strategy, all behind this interface
// (Fission's executor types side by side), so a strategy is one new file and one registration line.
import type { Logger } from 'pino'
import type { RuntimeResource } from '../../core/types.js'
import type { Fleet } from '../../poolmgr/fleet.js'
import type { InstanceRecord } from '../../poolmgr/instance.js'
import type { PoolManager } from '../../poolmgr/manager.js'
import { instanceLimits, type FunctionState } from '../function-state.js'
import type { NamespaceSharing } from '../namespace-reuse.js'
import { codeOwner, mayReuse } from '../reuse-boundary.js'

export interface StrategyContext {
  readonly pools: PoolManager
  readonly fleet: Fleet
  readonly logger: Logger
  /** Which namespaces let their functions take each other's instances (reuse-boundary.ts). */
  readonly sharing: NamespaceSharing
  runtime(fs: FunctionState): RuntimeResource
  /**
   * Specializes a generic instance with the function's current version; leaves it generic on failure.
   * In the background (nobody waiting) it also sends the function's warm-up requests, if it has any.
   */
  load(rec: InstanceRecord, fs: FunctionState, background: boolean): Promise<void>
  /** Starts a specialization nobody waits for (warm sets, minimum scale); settles when it is done. */
  provisionInBackground(fs: FunctionState): Promise<void>
  /** Specializations under way for the function's current version. */
  provisioning(fs: FunctionState): number
}

export interface Strategy {
  readonly name: 'pool' | 'warm' | 'dedicated'
  /** A new instance specialized with the function (state ready, version set). */
  provision(fs: FunctionState, ctx: StrategyContext, background: boolean): Promise<InstanceRecord>
  /** Most instances the function may have; requests beyond wait in its queue. */
  maxInstances(fs: FunctionState): number
  /** Idle instances the reaper must leave alone. */
  keepIdle(fs: FunctionState): number
  /**
   * Level-triggered: act on the difference between the spec and the instances (warm set, min scale).
   * Returns what it started, so a deploy can wait until a new version is warm before it returns.
   */
  reconcile(fs: FunctionState, ctx: StrategyContext): Promise<void>[]
}

/**
 * A strategy's count for one version of a function, in proportion to its share of the traffic: all of it
 * at 100%, at least one while it has any, none once no split sends it requests.
 */
export function proportional(n: number, share: number): number {
  if (share >= 1 || n === 0) return n
  return share <= 0 ? 0 : Math.max(1, Math.ceil(n * share))
}

/**
 * Takes a generic instance of the function's runtime (booting one when the pool is empty) and loads it.
 * Only an instance that has run no code, or one the reuse rule gives this function (mayReuse), is taken. A function whose
 * limits an instance only takes at boot (open files, file size, /tmp: ClusterBackend.fitsPooled) gets an
 * instance booted with them, which never joins a generic pool.
 */
export async function specializeFromPool(fs: FunctionState, ctx: StrategyContext, background: boolean): Promise<InstanceRecord> {
  const runtime = ctx.runtime(fs)
  const placement = fs.placement()
  const limits = instanceLimits(fs.fn)
  const pooled = ctx.fleet.backend.fitsPooled?.(limits) ?? true
  const pool = pooled ? ctx.pools.poolFor(runtime.metadata.name, placement) : undefined
  const owner = codeOwner(fs.fn)
  let rec = pool?.take((r) => mayReuse(r.ranFor, owner, ctx.sharing))
  if (rec === undefined) {
    rec = await ctx.fleet.boot({ ...placement, runtime, reclaim: reclaimFor(fs, background), urgent: !background, for: fs.key, ...(pooled ? {} : { limits: limits ?? undefined }) })
    if (!pooled) rec.poolable = false
  }
  try {
    await ctx.load(rec, fs, background)
  } catch (e) {
    // A function that fails to load leaves the instance generic and usable: put it back.
    if (!(rec.state === 'generic' && pool?.giveBack(rec))) void ctx.fleet.retire(rec, 0)
    throw e
  }
  return rec
}

/** What a boot for this version may reclaim from the budget (poolmgr/fleet.ts BootRequest.reclaim). */
export function reclaimFor(fs: FunctionState, background: boolean): boolean | 'idle' {
  if (background) return false
  return fs.readyCount > 0 ? 'idle' : true
}
