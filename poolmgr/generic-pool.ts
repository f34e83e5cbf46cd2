// A generic pool: `size` booted instances of one runtime with no code, ready to be specialized.
// Level-triggered: `reconcile()` compares ready + booting with the target and boots the difference in
// the background; it runs after every take, exit and resize, and on the pool manager's timer.
// Instances given back after running a function's code are kept apart: they do not count toward the
// target, only a taker whose `accept` allows them (executor/reuse-boundary.ts) gets one, and they are
// stopped once idle for KEPT_IDLE_MS.
import type { Logger } from 'pino'
import type { RuntimeResource } from '../core/types.js'
import type { Fleet } from './fleet.js'
import type { InstanceRecord } from './instance.js'
import type { PlacementRequest } from './placement.js'

export interface PoolStats { runtime: string; placement: string; target: number; ready: number; booting: number; kept?: number }

const KEPT_IDLE_MS = Number(process.env.KILN_KEPT_IDLE_MS ?? 120_000)

export class GenericPool {
  private readonly ready: InstanceRecord[] = []
  private readonly kept: InstanceRecord[] = []
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

  /**
   * A ready generic instance, or undefined; never waits. A kept instance (one that has run code) that
   * `accept` allows comes first, the most recently given back; else a fresh one.
   */
  take(accept?: (rec: InstanceRecord) => boolean): InstanceRecord | undefined {
    if (accept) {
      for (let i = this.kept.length - 1; i >= 0; i--) {
        const k = this.kept[i]
        if (k.state === 'generic' && accept(k)) {
          this.kept.splice(i, 1)
          return k
        }
      }
    }
    let rec: InstanceRecord | undefined
    while ((rec = this.ready.pop()) && rec.state !== 'generic') { /* skip instances that died while pooled */ }
    this.reconcile()
    return rec
  }

  /** Puts back an instance that is generic again (unloaded and reported clean). */
  giveBack(rec: InstanceRecord): boolean {
    if (rec.state !== 'generic' || !this.hasRoomFor(rec)) return false
    rec.lastUsed = Date.now()
    if (rec.ranFor !== undefined) this.kept.push(rec)
    else this.ready.push(rec)
    return true
  }

  hasRoom(): boolean {
    return this.ready.length + this.booting < this.target
  }

  /** Room for this instance: in the pool proper when it has run no code, else among the kept ones. */
  hasRoomFor(rec: InstanceRecord): boolean {
    return rec.ranFor === undefined ? this.hasRoom() : this.kept.length < Math.max(1, this.target)
  }

  forget(rec: InstanceRecord): void {
    const i = this.ready.indexOf(rec)
    if (i >= 0) this.ready.splice(i, 1)
    const k = this.kept.indexOf(rec)
    if (k >= 0) this.kept.splice(k, 1)
    this.reconcile()
  }

  /** Stops the kept instances `drop` names (their function is gone: nobody may take them any more). */
  dropKept(drop: (rec: InstanceRecord) => boolean): void {
    for (let i = this.kept.length - 1; i >= 0; i--) {
      if (drop(this.kept[i])) void this.fleet.retire(this.kept.splice(i, 1)[0])
    }
  }

  resize(target: number): void {
    this.target = target
    while (this.ready.length > target) {
      const rec = this.ready.shift()!
      void this.fleet.retire(rec)
    }
    while (this.kept.length > Math.max(1, target)) void this.fleet.retire(this.kept.shift()!)
    this.reconcile()
  }

  reconcile(): void {
    const now = Date.now()
    for (let i = this.kept.length - 1; i >= 0; i--) {
      if (this.kept[i].state !== 'generic') this.kept.splice(i, 1)
      else if (now - this.kept[i].lastUsed >= KEPT_IDLE_MS) void this.fleet.retire(this.kept.splice(i, 1)[0])
    }
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
          if (this.fleet.closing) return
          this.failures++
          this.logger.error({ err, runtime: this.runtime.metadata.name }, 'generic pool could not boot an instance')
          if (this.failures <= 3) setTimeout(() => this.reconcile(), 200 * this.failures).unref()
        },
      )
    }
  }

  resetFailures(): void { this.failures = 0 }

  /** Idle instances, the kept ones first (the budget reclaims them before fresh ones). */
  idle(): InstanceRecord[] { return this.kept.length === 0 ? this.ready : [...this.kept, ...this.ready] }

  stats(): PoolStats {
    return { runtime: this.runtime.metadata.name, placement: this.placement, target: this.target, ready: this.ready.length, booting: this.booting, ...(this.kept.length ? { kept: this.kept.length } : {}) }
  }

  async drain(): Promise<void> {
    this.target = 0
    const recs = [...this.kept.splice(0), ...this.ready.splice(0)]
    await Promise.all(recs.map((r) => this.fleet.retire(r, 200)))
  }
}
