// Waiting between tries: exponential, with half of each step random so that many consumers retrying
// the same broker or function do not come back in step.

/** The wait before try `n` (1-based): between half and all of min(max, base * 2^(n-1)). */
export function backoffMs(n: number, base: number, max: number): number {
  const step = Math.min(max, base * 2 ** Math.max(0, Math.min(n - 1, 30)))
  return Math.round(step / 2 + Math.random() * (step / 2))
}

/** Successive waits for one thing that keeps failing; `reset()` once it works. */
export class Backoff {
  private n = 0
  constructor(private readonly base: number, private readonly max: number) {}
  next(): number { return backoffMs(++this.n, this.base, this.max) }
  reset(): void { this.n = 0 }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); resolve() }
    const t = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
