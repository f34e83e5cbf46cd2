// Bounds how many runtime processes boot at once. Booting is CPU-bound: forty boots at once on two
// cores each take seconds, while a few at a time finish one after another and the first requests are
// served early. Boots a request waits for (urgent) go before background refills.
import { availableParallelism } from 'node:os'

export class BootGate {
  private running = 0
  private readonly urgent: (() => void)[] = []
  private readonly background: (() => void)[] = []

  constructor(readonly limit = Math.max(2, availableParallelism() * 2)) {}

  async run<T>(urgent: boolean, fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      await new Promise<void>((resolve) => (urgent ? this.urgent : this.background).push(resolve))
    } else {
      this.running++
    }
    try {
      return await fn()
    } finally {
      const next = this.urgent.shift() ?? this.background.shift()
      if (next) next()
      else this.running--
    }
  }

  get waiting(): number { return this.urgent.length + this.background.length }
}
