// `minWarm: auto`: the hybrid histogram keep-alive policy of "Serverless in the Wild" (Shahrad et al.,
// USENIX ATC 2020), scaled from minutes to seconds. Each function's inter-arrival times go into a
// histogram; once it holds enough samples and is not flat, the function is kept warm only inside the
// window where its next call is likely — from the head (5th percentile, less a margin) to the tail
// (99th percentile, plus a margin) after its last call — and nothing is held warm in between. With too
// few samples, or arrivals too irregular to predict, it falls back to a fixed keep-alive.
// It also counts what the policy bought (cold starts avoided) and what it cost (warm idle time).

export interface AdaptiveOptions {
  binMs: number        // histogram resolution
  bins: number         // range = binMs * bins; longer gaps count as out of bounds
  minSamples: number
  fallbackKeepAliveMs: number
  margin: number       // 0.1 = pre-warm 10% early, keep 10% longer
}

export const DEFAULT_ADAPTIVE: AdaptiveOptions = {
  binMs: Number(process.env.KILN_ADAPTIVE_BIN_MS ?? 1000),
  bins: 600,
  minSamples: 5,
  fallbackKeepAliveMs: 120_000,
  margin: 0.1,
}

export class AdaptiveWarm {
  private readonly hist: Uint32Array
  private samples = 0
  private outOfBounds = 0
  private last = 0
  // What the policy did: requests that found a warm instance versus had to wait for one, and the
  // instance-milliseconds spent warm and idle (memory held for nothing).
  warmHits = 0
  coldStarts = 0
  idleWarmMs = 0

  constructor(readonly o: AdaptiveOptions = DEFAULT_ADAPTIVE) {
    this.hist = new Uint32Array(o.bins)
  }

  observe(now: number): void {
    if (this.last !== 0) {
      const gap = now - this.last
      const bin = Math.floor(gap / this.o.binMs)
      if (bin < this.o.bins) this.hist[bin]++
      else this.outOfBounds++
      this.samples++
    }
    this.last = now
  }

  private quantile(q: number): number {
    const inRange = this.samples - this.outOfBounds
    let seen = 0
    const target = Math.max(1, Math.ceil(q * inRange))
    for (let i = 0; i < this.hist.length; i++) {
      seen += this.hist[i]
      if (seen >= target) return i
    }
    return this.hist.length - 1
  }

  /** The window, after the last call, in which an instance should be warm; undefined while unpredictable. */
  window(): { fromMs: number; toMs: number } | undefined {
    const inRange = this.samples - this.outOfBounds
    if (inRange < this.o.minSamples || this.outOfBounds > inRange) return undefined
    const head = this.quantile(0.05) * this.o.binMs
    const tail = (this.quantile(0.99) + 1) * this.o.binMs
    return { fromMs: Math.floor(head * (1 - this.o.margin)), toMs: Math.ceil(tail * (1 + this.o.margin)) }
  }

  /** How many instances to keep warm now: 1 inside the window (or the fallback keep-alive), else 0. */
  desired(now: number): number {
    if (this.last === 0) return 0
    const since = now - this.last
    const w = this.window()
    if (!w) return since <= this.o.fallbackKeepAliveMs ? 1 : 0
    return since >= w.fromMs && since <= w.toMs ? 1 : 0
  }

  describe(now: number): Record<string, unknown> {
    const w = this.window()
    return {
      samples: this.samples, outOfBounds: this.outOfBounds, mode: w ? 'histogram' : 'fixed-keep-alive',
      prewarmAfterMs: w?.fromMs, keepWarmUntilMs: w?.toMs ?? this.o.fallbackKeepAliveMs,
      warmNow: this.desired(now), warmHits: this.warmHits, coldStarts: this.coldStarts, idleWarmSeconds: Math.round(this.idleWarmMs / 100) / 10,
    }
  }
}
