// The adaptive in-flight limit (executor/autoscale/inflight-limit.ts) on simulated round trips.
import { describe, expect, it } from 'vitest'
import { DEFAULT_INFLIGHT, InflightLimit } from '../../../executor/autoscale/inflight-limit.js'

const WINDOW = 250

/**
 * Runs `windows` autoscaler ticks of a version kept under a queue; each window sends `perWindow`
 * requests, each at the instance's current in-flight count (the limit, the queue keeps it full) and
 * answered after `rttAt(inflight)` ms. Returns the slots after each window.
 */
function run(l: InflightLimit, rttAt: (inflight: number) => number, windows: number, concurrency = 100, perWindow = 50): number[] {
  const slots: number[] = []
  let now = 1000
  for (let w = 0; w < windows; w++) {
    for (let i = 0; i < perWindow; i++) {
      const sentAt = now + (i * WINDOW) / perWindow
      const rtt = rttAt(l.slots)
      l.answered(sentAt, l.slots, sentAt + rtt)
    }
    now += WINDOW
    l.update(now, concurrency, true)
    slots.push(l.slots)
  }
  return slots
}

describe('adaptive in-flight limit', () => {
  it('without a queue the instances take their concurrency: nothing is measured, nothing held back', () => {
    const l = new InflightLimit(100)
    for (let i = 0; i < 100; i++) l.answered(i, 50, i + 5)
    l.update(1000, 100, false)
    expect(l.slots).toBe(100)
    expect(l.measuring).toBe(false)
  })

  it('under a queue it measures the round trip at low concurrency first, counting only what was sent after it dropped', () => {
    const l = new InflightLimit(100)
    l.answered(900, 50, 950)
    l.update(1000, 100, true)
    expect([l.measuring, l.slots]).toEqual([true, DEFAULT_INFLIGHT.minLimit])
    // Sent before the limit dropped, or while the instance still had many in flight: not a low-concurrency answer.
    for (let i = 0; i < 30; i++) l.answered(900, 2, 950)
    for (let i = 0; i < 30; i++) l.answered(1001, 40, 1030)
    l.update(1100, 100, true)
    expect(l.measuring).toBe(true)
    for (let i = 0; i < DEFAULT_INFLIGHT.minRttSamples; i++) l.answered(1101 + i, 2, 1101 + i + 0.4 + (i % 3) * 0.1)
    l.update(1350, 100, true)
    expect(l.measuring).toBe(false)
    expect(l.minRtt).toBeCloseTo(0.5, 5)
    // The first time, it climbs from its least.
    expect(l.slots).toBe(DEFAULT_INFLIGHT.minLimit)
  })

  it('when the round trip grows with what is in flight (a CPU-bound instance, a busy router), the limit settles far below the concurrency', () => {
    const l = new InflightLimit(100)
    const slots = run(l, (n) => 0.1 * n, 80) // 0.1 ms of work per request in flight
    const settled = slots.slice(-20)
    expect(Math.max(...settled)).toBeLessThanOrEqual(12)
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(DEFAULT_INFLIGHT.minLimit)
  })

  it('when the round trip holds as in-flight requests grow (waiting on I/O), the limit climbs back to the concurrency', () => {
    const l = new InflightLimit(100)
    const slots = run(l, () => 20, 40)
    expect(slots.at(-1)).toBe(100)
  })

  it('a slow function ends its measurement after minRttMaxMs with the answers it got', () => {
    const l = new InflightLimit(100)
    l.answered(0, 50, 900)
    l.update(1000, 100, true)
    l.answered(1001, 1, 1801)
    l.update(1500, 100, true)
    expect(l.measuring).toBe(true)
    l.update(1000 + DEFAULT_INFLIGHT.minRttMaxMs + 1, 100, true)
    expect(l.measuring).toBe(false)
    expect(l.minRtt).toBe(800)
  })

  it('a measurement that gets no answer (WebSocket sessions hold the slots) gives the slots back as they were', () => {
    const l = new InflightLimit(100)
    l.update(900, 100, true)
    expect(l.measuring).toBe(false) // nothing answered yet: nothing to measure
    l.answered(950, 80, 960)
    l.update(1000, 100, true)
    expect(l.slots).toBe(DEFAULT_INFLIGHT.minLimit)
    l.update(1000 + DEFAULT_INFLIGHT.minRttMaxMs + 1, 100, true)
    expect([l.measuring, l.slots, l.minRtt]).toEqual([false, 100, undefined])
    l.update(1000 + DEFAULT_INFLIGHT.minRttMaxMs + 300, 100, true)
    expect(l.slots).toBe(100)
  })

  it('never above the concurrency, and off when adaptive concurrency is off', () => {
    const l = new InflightLimit(100)
    run(l, () => 1, 30)
    l.update(10_000_000, 10, false)
    expect(l.slots).toBeLessThanOrEqual(10)
    const off = new InflightLimit(100)
    run(off, (n) => n, 30)
    off.update(10_000_000, 100, true, false)
    expect(off.slots).toBe(100)
  })
})
