// A generic pool: `size` booted instances of one runtime with no code, ready to be specialized.
// Level-triggered: `reconcile()` compares ready + booting with the target and boots the difference in
// the background; it runs after every take, exit and resize, and on the pool manager's timer.
import type { Logger } from 'pino'
import type { RuntimeResource } from '../core/types.js'
import type { Fleet } from './fleet.js'
import type { InstanceRecord } from './instance.js'
import type { PlacementRequest } from './placement.js'

export interface PoolStats { runtime: string; placement: string; target: number; ready: number; booting: number }

export class GenericPool {
  private readonly ready: InstanceRecord[] = []
  private booting = 0
  private failures = 0

  constructor(
    public runtime: RuntimeResource,
    public target: number,
    private readonly fleet: Fleet,
    private readonly logger: Logger,
    readonly placement = 'default',
    private readonly placementReq: PlacementRequest = {},
  ) {}

  /** A ready generic instance, or undefined; never waits. */
  take(): InstanceRecord | undefined {
    let rec: InstanceRecord | undefined
    while ((rec = this.ready.pop()) && rec.state !== 'generic') { /* skip instances that died while pooled */ }
    this.reconcile()
    return rec
  }

  /** Puts back an instance that is generic again (unloaded and reported clean). */
  giveBack(rec: InstanceRecord): boolean {
    if (rec.state !== 'generic' || this.ready.length >= this.target) return false
    this.ready.push(rec)
    return true
  }

  hasRoom(): boolean {
    return this.ready.length + this.booting < this.target
  }

  forget(rec: InstanceRecord): void {
    const i = this.ready.indexOf(rec)
    if (i >= 0) this.ready.splice(i, 1)
    this.reconcile()
  }

  resize(target: number): void {
    this.target = target
    while (this.ready.length > target) {
      const rec = this.ready.shift()!
      void this.fleet.retire(rec)
    }
    this.reconcile()
  }

  reconcile(): void {
    // Back off after repeated boot failures so a broken runtime command does not spin.
    if (this.failures > 3) return
    while (this.ready.length + this.booting < this.target) {
      if (!this.fleet.budget.free) return
      this.booting++
      this.fleet.boot({ ...this.placementReq, runtime: this.runtime, reclaim: false }).then(
        (rec) => {
          this.booting--
          this.failures = 0
          if (this.ready.length >= this.target) void this.fleet.retire(rec)
          else this.ready.push(rec)
        },
        (err) => {
          this.booting--
          this.failures++
          this.logger.error({ err, runtime: this.runtime.metadata.name }, 'generic pool could not boot an instance')
          if (this.failures <= 3) setTimeout(() => this.reconcile(), 200 * this.failures).unref()
        },
      )
    }
  }

  resetFailures(): void { this.failures = 0 }

  idle(): InstanceRecord[] { return this.ready }

  stats(): PoolStats {
    return { runtime: this.runtime.metadata.name, placement: this.placement, target: this.target, ready: this.ready.length, booting: this.booting }
  }

  async drain(): Promise<void> {
    this.target = 0
    const recs = this.ready.splice(0)
    await Promise.all(recs.map((r) => this.fleet.retire(r, 200)))
  }
}
