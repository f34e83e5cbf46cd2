// The platform-wide ceiling on live instances. Pools and strategies reserve a place before they boot.
// When none is left, a request (never a background refill) may ask the reclaimer — the executor, least
// recently used idle instance first — to stop one, and waits until it has exited: the ceiling holds.
// While a request waits, the place it freed is held for it: background refills see it as taken.

/**
 * Stops one idle instance, idle for at least `minIdleMs`, and resolves when it has exited; undefined
 * when none can be reclaimed.
 */
export type Reclaimer = (minIdleMs: number) => Promise<void> | undefined

/**
 * A function growing beyond its first instance takes only instances idle this long: one that answered
 * less long ago is between requests, not idle. Taking it would make its function cold-start the next
 * request, which would take another: two busy functions would take each other's instances on every
 * request (a flood growing over a function served at c4 did, 9,000 cold starts in 6 s).
 */
export const RECLAIM_IDLE_MS = 1000

export class InstanceBudget {
  private used = 0
  /** Requests waiting for a reclaimed place. */
  private pending = 0
  private reclaimer: Reclaimer | undefined

  constructor(public limit: number) {}

  setReclaimer(fn: Reclaimer): void { this.reclaimer = fn }

  get inUse(): number { return this.used }
  get free(): number { return Math.max(0, this.limit - this.used - this.pending) }

  /** A place for background work, never one a waiting request has freed. */
  tryReserve(): boolean {
    if (this.used + this.pending >= this.limit) return false
    this.used++
    return true
  }

  async reserve(reclaim: boolean | 'idle'): Promise<boolean> {
    if (this.tryReserve()) return true
    if (!reclaim) return false
    this.pending++
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const freed = this.reclaimer?.(reclaim === 'idle' ? RECLAIM_IDLE_MS : 0)
        if (!freed) return false
        await freed
        // Our own pending place is counted in `pending`; the freed one is ours.
        if (this.used + this.pending - 1 < this.limit) {
          this.used++
          return true
        }
      }
      return false
    } finally {
      this.pending--
    }
  }

  release(): void { this.used = Math.max(0, this.used - 1) }
}
