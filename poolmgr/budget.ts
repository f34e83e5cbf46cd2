// The platform-wide ceiling on live instances. Pools and strategies reserve a place before they boot.
// When none is left, a request (never a background refill) may ask the reclaimer — the executor, least
// recently used idle instance first — to stop one, and waits until it has exited: the ceiling holds.

/** Stops one idle instance and resolves when it has exited; undefined when none can be reclaimed. */
export type Reclaimer = () => Promise<void> | undefined

export class InstanceBudget {
  private used = 0
  private reclaimer: Reclaimer | undefined

  constructor(public limit: number) {}

  setReclaimer(fn: Reclaimer): void { this.reclaimer = fn }

  get inUse(): number { return this.used }
  get free(): number { return Math.max(0, this.limit - this.used) }

  tryReserve(): boolean {
    if (this.used >= this.limit) return false
    this.used++
    return true
  }

  async reserve(reclaim: boolean): Promise<boolean> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.tryReserve()) return true
      if (!reclaim) return false
      const freed = this.reclaimer?.()
      if (!freed) return false
      await freed
    }
    return this.tryReserve()
  }

  release(): void { this.used = Math.max(0, this.used - 1) }
}
