// Bounds how many runtime processes boot at once. Booting is CPU-bound: forty boots at once on two
// cores each take seconds, while a few at a time finish one after another and the first requests are
// served early. Boots a request waits for (urgent) go before background refills, and urgent boots are
// served fairly by who asked (a function): one function's burst of boots cannot hold back another
// function's first request behind all of its own.
import { availableParallelism } from 'node:os'

export class BootGate {
  private running = 0
  /** Urgent waiters by key, served round-robin (Map keeps insertion order: the next key is the oldest). */
  private readonly urgent = new Map<string, (() => void)[]>()
  private urgentCount = 0
  private readonly background: (() => void)[] = []

  constructor(readonly limit = Math.max(2, availableParallelism() * 2)) {}

  async run<T>(urgent: boolean, fn: () => Promise<T>, key = ''): Promise<T> {
    if (this.running >= this.limit) {
      await new Promise<void>((resolve) => {
        if (!urgent) { this.background.push(resolve); return }
        const q = this.urgent.get(key)
        if (q) q.push(resolve)
        else this.urgent.set(key, [resolve])
        this.urgentCount++
      })
    } else {
      this.running++
    }
    try {
      return await fn()
    } finally {
      const next = this.nextUrgent() ?? this.background.shift()
      if (next) next()
      else this.running--
    }
  }

  /** The oldest waiter of the key served longest ago; that key goes to the back of the line. */
  private nextUrgent(): (() => void) | undefined {
    for (const [key, q] of this.urgent) {
      this.urgent.delete(key)
      const next = q.shift()!
      if (q.length > 0) this.urgent.set(key, q)
      this.urgentCount--
      return next
    }
    return undefined
  }

  get waiting(): number { return this.urgentCount + this.background.length }
}
