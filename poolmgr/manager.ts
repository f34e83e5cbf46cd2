// The pool manager: one generic pool per runtime and placement, sized from the runtime's `poolSize`
// (or the platform default; pool-size.ts), resized live when the runtime changes, reconciled on a timer too.
import type { Logger } from 'pino'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { RuntimeResource } from '../core/types.js'
import type { Fleet } from './fleet.js'
import { GenericPool, type PoolStats } from './generic-pool.js'
import type { InstanceRecord } from './instance.js'
import { poolTarget } from './pool-size.js'
import { placementKey, type PlacementRequest } from './placement.js'

export class PoolManager {
  private readonly pools = new Map<string, GenericPool>()
  /** Pools for non-default placements (isolated nodes, node selectors), made when a function needs one. */
  private readonly placed = new Map<string, GenericPool>()
  private timer: NodeJS.Timeout | undefined
  private unwatch: (() => void) | undefined

  constructor(
    private readonly runtimes: ResourceStore<RuntimeResource>,
    private readonly fleet: Fleet,
    private readonly defaultSize: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    for (const rt of this.runtimes.list()) this.apply(rt)
    this.unwatch = this.runtimes.watch((ev) => {
      if (ev.type === 'put') this.apply(ev.object)
      else void this.pools.get(ev.object.metadata.name)?.drain().then(() => this.pools.delete(ev.object.metadata.name))
    })
    this.fleet.on('gone', (rec) => { for (const p of this.all()) if (p.runtime.metadata.name === rec.runtime) p.forget(rec) })
    this.timer = setInterval(() => {
      for (const p of this.all()) { p.resetFailures(); p.reconcile() }
    }, 2000)
    this.timer.unref()
  }

  private apply(rt: RuntimeResource): void {
    const size = poolTarget(rt, this.defaultSize)
    const pool = this.pools.get(rt.metadata.name)
    if (pool) {
      pool.runtime = rt
      pool.resetFailures()
      pool.resize(size)
    } else {
      const p = new GenericPool(rt, size, this.fleet, this.logger)
      this.pools.set(rt.metadata.name, p)
      p.reconcile()
    }
  }

  pool(runtime: string): GenericPool | undefined {
    return this.pools.get(runtime)
  }

  /**
   * The pool for a runtime on a placement: the runtime's own pool for the default placement, else a
   * small pool (pool-size.ts: one instance, or none when the runtime's pool is sized 0) kept on the matching nodes.
   */
  poolFor(runtime: string, placement: PlacementRequest): GenericPool | undefined {
    const key = placementKey(placement)
    const base = this.pools.get(runtime)
    if (key === 'default' || !base) return base
    const id = `${runtime}|${key}`
    let p = this.placed.get(id)
    if (!p) {
      p = new GenericPool(base.runtime, poolTarget(base.runtime, this.defaultSize, true), this.fleet, this.logger, key, placement)
      this.placed.set(id, p)
      p.reconcile()
    }
    return p
  }

  private all(): GenericPool[] {
    return [...this.pools.values(), ...this.placed.values()]
  }

  /** Ready generic instances across pools, oldest first; used by the budget reclaimer. */
  idleGeneric(): InstanceRecord[] {
    return this.all().flatMap((p) => p.idle())
  }

  /** The pool holding an idle generic instance, if any. */
  owner(rec: InstanceRecord): GenericPool | undefined {
    return this.all().find((p) => p.idle().includes(rec))
  }

  stats(): PoolStats[] {
    return this.all().map((p) => p.stats())
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.unwatch?.()
    await Promise.all(this.all().map((p) => p.drain()))
  }
}
