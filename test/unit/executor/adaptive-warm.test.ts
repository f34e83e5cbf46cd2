import { describe, expect, it } from 'vitest'
import { AdaptiveWarm } from '../../../executor/adaptive-warm.js'

const opts = { binMs: 1000, bins: 600, minSamples: 5, fallbackKeepAliveMs: 120_000, margin: 0.1 }

describe('adaptive warm (hybrid histogram policy)', () => {
  it('keeps nothing warm before the first call and uses a fixed keep-alive while it has too few samples', () => {
    const p = new AdaptiveWarm(opts)
    expect(p.desired(1_000)).toBe(0)
    p.observe(10_000)
    expect(p.window()).toBeUndefined()
    expect(p.desired(10_000 + 60_000)).toBe(1)
    expect(p.desired(10_000 + 121_000)).toBe(0)
  })

  it('learns a periodic function: cold right after a call, warm around the expected next call', () => {
    const p = new AdaptiveWarm(opts)
    let t = 0
    for (let i = 0; i < 20; i++) { t += 30_000; p.observe(t) }
    const w = p.window()!
    expect(w.fromMs).toBeLessThanOrEqual(30_000)
    expect(w.fromMs).toBeGreaterThan(20_000)
    expect(w.toMs).toBeGreaterThanOrEqual(31_000)
    expect(p.desired(t + 5_000)).toBe(0)    // memory not held right after a call
    expect(p.desired(t + 29_000)).toBe(1)   // warm when the next call is due
    expect(p.desired(t + 60_000)).toBe(0)   // and let go once it is clearly late
  })

  it('falls back to a fixed keep-alive when most gaps are beyond the histogram', () => {
    const p = new AdaptiveWarm({ ...opts, bins: 10 })
    let t = 0
    for (let i = 0; i < 20; i++) { t += 60_000; p.observe(t) }
    expect(p.window()).toBeUndefined()
    expect(p.describe(t).mode).toBe('fixed-keep-alive')
  })
})
