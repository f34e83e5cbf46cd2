// The pool manager: one generic pool per runtime and placement, sized from the runtime's `poolSize`
// (or the platform default), resized live when the runtime changes, reconciled on a timer too.
import type { Logger } from 'pino'
import type { ResourceStore } from '../core/store/resource-store.js'
import type { RuntimeResource } from '../core/types.js'
import type { Fleet } from './fleet.js'
import { GenericPool, type PoolStats } from './generic-pool.js'
import type { InstanceRecord } from './instance.js'

export class PoolManager {
  private readonly pools = new Map<string, GenericPool>()
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
    this.fleet.on('gone', (rec) => this.pools.get(rec.runtime)?.forget(rec))
    this.timer = setInterval(() => {
      for (const p of this.pools.values()) { p.resetFailures(); p.reconcile() }
    }, 2000)
    this.timer.unref()
  }

  private apply(rt: RuntimeResource): void {
    const size = rt.spec.poolSize ?? this.defaultSize
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

  /** Ready generic instances across pools, oldest first; used by the budget reclaimer. */
  idleGeneric(): InstanceRecord[] {
    return [...this.pools.values()].flatMap((p) => p.idle())
  }

  stats(): PoolStats[] {
    return [...this.pools.values()].map((p) => p.stats())
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.unwatch?.()
    await Promise.all([...this.pools.values()].map((p) => p.drain()))
  }
}
