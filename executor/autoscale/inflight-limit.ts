// How many requests one instance of a version gets at once: at most the function's `concurrency`, and
// fewer where more would only wait inside the instance. Envoy's adaptive concurrency (its gradient
// controller): each window, the p50 round trip of the version's requests against the p50 measured at
// low concurrency (`minRtt`, with a buffer) scales the limit, plus a headroom of its square root:
//   limit' = limit × clamp(minRtt × (1 + buffer) / sampleRtt, 0.5, 2) + sqrt(limit)
// Why: a request waiting inside a CPU-bound instance costs the router's event loop as much as one being
// served (its answer comes back in a batch with a hundred others), so a hundred in flight per instance
// make every loop turn long, and every other function's request waits for it. A request held back by the
// limit waits in the version's FIFO queue, which costs nothing per turn. A function that waits on I/O
// keeps its round trip as in-flight requests grow, so its limit climbs back to its concurrency.
// Pure bookkeeping (no timers): the executor feeds it answers, the autoscaler's tick calls `update`.

export interface InflightSettings {
  /** The least the limit goes to (Envoy's min_concurrency). */
  minLimit: number
  /** Share above the low-concurrency round trip taken as normal variation. */
  buffer: number
  /** Under a steady queue, how often the low-concurrency round trip is measured again. */
  minRttIntervalMs: number
  /** Answers at low concurrency that make one measurement (their p50). */
  minRttSamples: number
  /** A measurement that forces the limit down ends after this long, with what it has. */
  minRttMaxMs: number
  /** Answers a window needs before it moves the limit. */
  windowSamples: number
}

export const DEFAULT_INFLIGHT: InflightSettings = {
  minLimit: 3, buffer: 0.25, minRttIntervalMs: 30_000, minRttSamples: 20, minRttMaxMs: 1000, windowSamples: 10,
}

const RING = 256
/**
 * In flight on one instance beyond which the limit counts as pressed even without a queue (a function
 * whose concurrency is set far above it): a hundred answers in one loop turn already make it long.
 */
export const PRESSED_INFLIGHT = 100
/** Answers at low concurrency before they say anything of the round trip outside a measurement. */
const NATURAL_SAMPLES = 5
/** Under a queue, the wait before the second measurement (then doubled each time, up to the interval). */
const FIRST_REMEASURE_MS = 1000

export class InflightLimit {
  /** Requests an instance may have in flight now (an integer, at least 1, at most the concurrency). */
  slots: number
  private limit: number
  /** The p50 round trip at low concurrency, ms; undefined until measured. */
  minRtt: number | undefined
  /** When the limit was last forced down to measure it (0: never), and the wait before the next time. */
  private measuredAt = 0
  private nextMeasureMs = 0
  /** Round trips of answers sent at low concurrency (the last `minRttSamples`), and whether new ones came. */
  private readonly low: number[] = []
  private lowNew = false
  /** Round trips of this window's answers (a ring of the last RING). */
  private readonly window: number[] = []
  private windowNext = 0
  /** performance.now() since when the limit is forced down to measure minRtt (0: not measuring). */
  private measuringSince = 0

  constructor(concurrency: number, private readonly s: InflightSettings = DEFAULT_INFLIGHT) {
    this.limit = concurrency
    this.slots = concurrency
  }

  get measuring(): boolean { return this.measuringSince > 0 }

  /**
   * One answer (on the request path: a few compares and an array store): sent at `sentAt` (performance.now())
   * while its instance had `sentInflight` requests in flight, this one included; answered at `now`.
   */
  answered(sentAt: number, sentInflight: number, now: number): void {
    const rtt = now - sentAt
    if (!(rtt >= 0)) return
    // During a measurement, only what was sent after the limit dropped (not what queued inside before).
    if (sentInflight <= this.s.minLimit && sentAt >= this.measuringSince) {
      if (this.low.length >= this.s.minRttSamples) this.low.shift()
      this.low.push(rtt)
      this.lowNew = true
    }
    if (this.window.length < RING) this.window.push(rtt)
    else { this.window[this.windowNext] = rtt; this.windowNext = (this.windowNext + 1) % RING }
  }

  /**
   * Once per window (the autoscaler's tick, `now` from performance.now()): moves the limit. `pressed`:
   * requests are queued for the version now, or an instance has more than PRESSED_INFLIGHT in flight
   * (only then does the limit hold anything back, or need a fresh minRtt). `enabled` false
   * (`autoscale.adaptiveConcurrency: false`): the concurrency is the limit.
   */
  update(now: number, concurrency: number, pressed: boolean, enabled = true): void {
    if (!enabled) { this.limit = this.slots = concurrency; this.measuringSince = 0; return }
    if (this.measuring) {
      const full = this.low.length >= this.s.minRttSamples
      // A slow function may not give a full set in time: what came is kept, if anything did.
      if (!full && now - this.measuringSince < this.s.minRttMaxMs) return
      if (this.low.length > 0) {
        // The first time, the limit starts from its least and climbs (at most doubling each window) as
        // far as the round trip allows: the concurrency it had was never measured.
        if (this.minRtt === undefined) this.limit = this.s.minLimit
        this.minRtt = median(this.low)
      }
      // No answer came (WebSocket sessions hold the slots, or nothing finished in time): nothing learnt.
      this.lowNew = false
      this.measuredAt = now
      this.measuringSince = 0
      this.clearWindow()
      this.slots = clampSlots(this.limit, concurrency)
      return
    }
    // Answers that happened to go to a quiet instance only ever lower it: the router may have been busy
    // with other requests then (a flood starts with few in flight on each instance, and slow answers).
    if (this.lowNew && this.low.length >= NATURAL_SAMPLES) {
      this.minRtt = Math.min(this.minRtt ?? Infinity, median(this.low))
      this.lowNew = false
    }
    // Under a queue it is measured for real (it may rise): at the first queue, again soon after (the
    // first may catch a ramp's boots and backlog), then at doubling waits up to the interval. Only
    // while answers come (WebSocket sessions give none: holding their slots back would teach nothing).
    if (pressed && this.window.length > 0 && (this.measuredAt === 0 || now - this.measuredAt > this.nextMeasureMs)) {
      this.nextMeasureMs = Math.min(this.s.minRttIntervalMs, Math.max(FIRST_REMEASURE_MS, this.nextMeasureMs * 2))
      // Measure at low concurrency: the limit drops to its least until enough answers come back.
      this.measuringSince = now
      this.low.length = 0
      this.slots = clampSlots(this.s.minLimit, concurrency)
      return
    }
    if (this.minRtt === undefined || this.window.length < this.s.windowSamples) {
      this.limit = Math.min(this.limit, concurrency)
      this.slots = clampSlots(this.limit, concurrency)
      return
    }
    const sample = median(this.window)
    this.clearWindow()
    const gradient = sample > 0 ? Math.min(2, Math.max(0.5, (this.minRtt * (1 + this.s.buffer)) / sample)) : 2
    this.limit = Math.min(concurrency, Math.max(this.s.minLimit, this.limit * gradient + Math.sqrt(this.limit)))
    this.slots = clampSlots(this.limit, concurrency)
  }

  private clearWindow(): void {
    this.window.length = 0
    this.windowNext = 0
  }

  describe(): Record<string, unknown> {
    return { inflightLimit: this.slots, ...(this.minRtt === undefined ? {} : { minRttMs: Math.round(this.minRtt * 1000) / 1000 }), ...(this.measuring ? { measuringMinRtt: true } : {}) }
  }
}

function clampSlots(limit: number, concurrency: number): number {
  return Math.max(1, Math.min(concurrency, Math.floor(limit)))
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor((s.length - 1) / 2)]
}
