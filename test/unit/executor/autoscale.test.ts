// The scale decision (executor/autoscale/decide.ts) on measured inputs: demand windows, panic, the CPU cap.
import { describe, expect, it } from 'vitest'
import { decide, DEFAULT_SCALE, type ScaleInput } from '../../../executor/autoscale/decide.js'
import { DemandWindow } from '../../../executor/autoscale/window.js'
import { ScaleState } from '../../../executor/autoscale/autoscaler.js'
import { BootGate } from '../../../poolmgr/boot-gate.js'

const base: ScaleInput = {
  now: 100_000, stable: 0, panic: 0, perInstance: 100, ready: 1, live: 1, min: 0, max: Infinity,
  cpuPerInstance: undefined, unmeasured: 1, idleCores: 2, cores: 2, panicUntil: 0,
}

describe('autoscale decision', () => {
  it('a CPU-bound function on a busy node gets no company, however many requests wait', () => {
    const d = decide({ ...base, stable: 1000, panic: 1000, cpuPerInstance: 0.9, unmeasured: 0, idleCores: 0.1 })
    expect(d.desired).toBeGreaterThanOrEqual(10)
    expect(d.cap).toBe(1)
    expect(d.limitedBy).toBe('cpu')
  })

  it('a CPU-bound function gets another instance for each idle core, never more than the cores keep busy', () => {
    expect(decide({ ...base, stable: 1000, panic: 1000, cpuPerInstance: 0.95, unmeasured: 0, idleCores: 0.9 }).cap).toBe(2)
    const many = decide({ ...base, ready: 2, live: 2, stable: 1000, panic: 1000, cpuPerInstance: 0.95, unmeasured: 0, idleCores: 8, cores: 2 })
    expect(many.cap).toBe(2)
  })

  it('an instance that spends little CPU (waiting on I/O) scales on demand alone', () => {
    const d = decide({ ...base, perInstance: 1, stable: 40, panic: 40, cpuPerInstance: 0.01, unmeasured: 0, idleCores: 0, max: 50 })
    expect(d.cap).toBe(50)
    expect(d.desired).toBe(50)
  })

  it('before any measurement: the first instance alone, then one more at a time', () => {
    expect(decide({ ...base, ready: 0, live: 1, stable: 500, panic: 500 }).cap).toBe(1)
    expect(decide({ ...base, ready: 0, live: 0, stable: 500, panic: 500 }).cap).toBe(1)
    expect(decide({ ...base, ready: 1, live: 1, stable: 500, panic: 500 }).cap).toBe(2)
    // One is being made ready, or two serve unmeasured: no third until measured.
    expect(decide({ ...base, ready: 1, live: 2, stable: 500, panic: 500 }).cap).toBe(2)
    expect(decide({ ...base, ready: 2, live: 2, unmeasured: 2, stable: 500, panic: 500 }).cap).toBe(2)
  })

  it('panics on a burst (panic window at twice the ready instances) and does not scale down while panicking', () => {
    const burst = decide({ ...base, ready: 2, live: 2, stable: 50, panic: 400, cpuPerInstance: 0.01, unmeasured: 0 })
    expect(burst.panicUntil).toBe(base.now + DEFAULT_SCALE.stableWindowMs)
    expect(burst.desired).toBe(Math.ceil(400 / 70))
    // The burst is over, the panic lasts: the count holds at what is ready.
    const after = decide({ ...base, now: base.now + 5_000, ready: 6, live: 6, stable: 60, panic: 0, cpuPerInstance: 0.01, unmeasured: 0, panicUntil: burst.panicUntil })
    expect(after.desired).toBe(6)
    // Past the panic, the stable window sets it.
    const calm = decide({ ...base, now: burst.panicUntil + 1, ready: 6, live: 6, stable: 60, panic: 60, cpuPerInstance: 0.01, unmeasured: 0, panicUntil: burst.panicUntil })
    expect(calm.panicUntil).toBe(0)
    expect(calm.desired).toBe(2) // 60 requests: one instance's target is 70, and scale-in leaves the rest at most 80% of it
    expect(decide({ ...base, ready: 6, live: 6, stable: 30, panic: 30, cpuPerInstance: 0.01, unmeasured: 0 }).desired).toBe(1)
  })

  it('the reaper keeps what the demand of the function\'s idle timeout (at most the stable window) asks for', () => {
    const st = new ScaleState()
    let t = 0
    for (; t < 20_000; t += 250) st.window.add(t, 300, 30_000)
    for (const end = t + 1_000; t < end; t += 250) st.window.add(t, 0, 30_000)
    expect(st.keep(t, 120_000, 100)).toBeGreaterThanOrEqual(5) // the default idle timeout: the 30 s window remembers the load
    expect(st.keep(t, 300, 100)).toBe(0) // a 300 ms idle timeout: only the last 300 ms count
  })

  it('keeps min and max', () => {
    expect(decide({ ...base, min: 3 }).desired).toBe(3)
    expect(decide({ ...base, stable: 10_000, panic: 10_000, max: 4, cpuPerInstance: 0.01, unmeasured: 0 }).desired).toBe(4)
  })

  it('a steady load keeps its instances through a dip (the stable window averages it)', () => {
    const w = new DemandWindow()
    let t = 0
    for (; t < 30_000; t += 250) w.add(t, 300, 30_000)
    for (const end = t + 3_000; t < end; t += 250) w.add(t, 0, 30_000) // 3 s without requests
    const d = decide({ ...base, now: t, ready: 5, live: 5, stable: w.average(t, 30_000), panic: w.average(t, 3_000), cpuPerInstance: 0.01, unmeasured: 0 })
    expect(d.desired).toBe(5)
  })
})

describe('boot gate', () => {
  it('serves urgent boots fairly by who asked: a burst of one function does not hold back another\'s first', async () => {
    const gate = new BootGate(1)
    const order: string[] = []
    const releases: (() => void)[] = []
    const boot = (key: string) => gate.run(true, () => new Promise<void>((r) => { order.push(key); releases.push(r) }), key)
    const all = [boot('hot'), boot('hot'), boot('hot'), boot('hot'), boot('victim')]
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r))
      releases.shift()?.()
    }
    await Promise.all(all)
    expect(order.slice(0, 3)).toEqual(['hot', 'hot', 'victim'])
  })
})
