// The scale decision (executor/autoscale/decide.ts) on measured inputs: demand windows, panic, the CPU cap.
import { describe, expect, it } from 'vitest'
import { decide, DEFAULT_SCALE, type ScaleInput } from '../../../executor/autoscale/decide.js'
import { DemandWindow } from '../../../executor/autoscale/window.js'
import { Autoscaler, ScaleState } from '../../../executor/autoscale/autoscaler.js'
import { LastingIdle } from '../../../executor/autoscale/node-cpu.js'
import { BootGate } from '../../../poolmgr/boot-gate.js'

const base: ScaleInput = {
  now: 100_000, stable: 0, panic: 0, perInstance: 100, ready: 1, live: 1, min: 0, max: Infinity,
  cpuPerInstance: undefined, unmeasured: 1, idleCores: 2, cores: 2, panicUntil: 0,
  queued: 0, served: 0, settledRate: undefined, probe: undefined, ceiling: undefined,
}

/** A flood on a node whose CPU is spent: `rateAt(n)` is the throughput with n instances. */
function flood(rateAt: (n: number) => number, ticks = 40): { ready: number; caps: number[]; ceiling: number | undefined } {
  let now = 0, served = 0, ready = 1, live = 1, readyAt = Infinity
  let probe: ScaleInput['probe'], ceiling: number | undefined
  const caps: number[] = []
  for (let t = 0; t < ticks; t++) {
    now += 250
    served += (rateAt(ready) * 250) / 1000
    if (live > ready && now >= readyAt) { ready = live; readyAt = Infinity } // the new instance is ready
    const d = decide({ ...base, now, stable: 1000, panic: 1000, ready, live, cpuPerInstance: 0.3, unmeasured: 0, idleCores: 0.05, queued: 800, served, probe, ceiling })
    probe = d.probe
    ceiling = d.ceiling
    caps.push(d.cap)
    if (live < d.cap) { live++; readyAt = now + 500 } // a request found no slot: one instance is made (500 ms)
  }
  return { ready, caps, ceiling }
}

describe('autoscale decision', () => {
  it('on a node whose CPU is spent, an instance that adds no throughput is the last one, however many requests wait', () => {
    const r = flood(() => 2500) // the router or the CPU is the limit: more instances serve no more
    expect(r.ready).toBe(2)
    expect(r.ceiling).toBe(2)
    expect(Math.max(...r.caps)).toBe(2)
  })

  it('on a node whose CPU is spent, instances are added one at a time while each raises the throughput', () => {
    const r = flood((n) => Math.min(n, 4) * 100) // e.g. waiting on I/O: 4 instances serve 4 times 1
    expect(r.ready).toBe(5) // the fifth was the probe that showed no gain
    expect(r.ceiling).toBe(5)
  })

  it('with idle CPU: a CPU-bound instance gets company for each idle core, never more than the cores keep busy', () => {
    const d = decide({ ...base, stable: 1000, panic: 1000, cpuPerInstance: 0.95, unmeasured: 0, idleCores: 0.9, queued: 500 })
    expect([d.cap, d.limitedBy]).toEqual([2, 'cpu'])
    expect(decide({ ...base, ready: 2, live: 2, stable: 1000, panic: 1000, cpuPerInstance: 0.95, unmeasured: 0, idleCores: 8, cores: 2, queued: 500 }).cap).toBe(2)
  })

  it('with idle CPU: an instance that spends little CPU (it waits on I/O) scales on demand alone', () => {
    const d = decide({ ...base, perInstance: 1, stable: 40, panic: 40, cpuPerInstance: 0.01, unmeasured: 0, idleCores: 1.5, max: 50, queued: 30 })
    expect([d.cap, d.limitedBy]).toEqual([50, 'max'])
    expect(d.desired).toBe(50)
  })

  it('nothing ready: the first instance alone; then none until it is measured, then one probe at a time', () => {
    expect(decide({ ...base, ready: 0, live: 1, stable: 500, panic: 500, queued: 400 }).cap).toBe(1)
    expect(decide({ ...base, ready: 0, live: 0, stable: 500, panic: 500, queued: 400 }).cap).toBe(1)
    const unmeasured = decide({ ...base, ready: 1, live: 1, stable: 500, panic: 500, queued: 400, idleCores: 0.1 })
    expect([unmeasured.cap, unmeasured.limitedBy, unmeasured.probe]).toEqual([1, 'measuring', undefined])
    const probe = decide({ ...base, ready: 1, live: 1, stable: 500, panic: 500, queued: 400, idleCores: 0.1, cpuPerInstance: 0.6, unmeasured: 0 })
    expect([probe.cap, probe.limitedBy, probe.probe?.from]).toEqual([2, 'probe', 1])
    // While the probe instance is made ready, no other.
    expect(decide({ ...base, ready: 1, live: 2, stable: 500, panic: 500, queued: 400, idleCores: 0.1, cpuPerInstance: 0.6, unmeasured: 0, probe: probe.probe }).cap).toBe(2)
  })

  it('with idle CPU but the router\'s own event loop busy, instances that spend little CPU get no company (they wait on the router)', () => {
    const d = decide({ ...base, ready: 2, live: 2, perInstance: 100, stable: 900, panic: 900, cpuPerInstance: 0.05, unmeasured: 0, idleCores: 1.2, queued: 800, routerBusy: true, settledRate: 9000 })
    expect([d.cap, d.limitedBy, d.probe]).toEqual([2, 'router', undefined])
    // Instances that use most of a core are probed even so.
    expect(decide({ ...base, ready: 2, live: 2, stable: 900, panic: 900, cpuPerInstance: 0.8, unmeasured: 0, idleCores: 1.2, queued: 800, routerBusy: true, settledRate: 9000 }).limitedBy).toBe('probe')
  })

  it('instances the adaptive limit holds below half their concurrency get no company, unless they are CPU-bound with idle cores', () => {
    const light = { ...base, ready: 1, live: 1, stable: 900, panic: 900, cpuPerInstance: 0.05, unmeasured: 0, queued: 800, slots: 8 }
    expect([decide({ ...light, idleCores: 1.5 }).cap, decide({ ...light, idleCores: 1.5 }).limitedBy]).toEqual([1, 'latency'])
    expect([decide({ ...light, idleCores: 0 }).cap, decide({ ...light, idleCores: 0 }).limitedBy]).toEqual([1, 'latency'])
    // Near its concurrency the limit says nothing: an I/O-bound function scales on demand.
    expect(decide({ ...light, idleCores: 1.5, slots: 80 }).limitedBy).toBe('max')
    // A CPU-bound instance with a core idle beside it: another one helps, whatever the round trip says.
    expect([decide({ ...light, cpuPerInstance: 0.95, idleCores: 0.9 }).cap, decide({ ...light, cpuPerInstance: 0.95, idleCores: 0.9 }).limitedBy]).toEqual([2, 'cpu'])
  })

  it('a ceiling holds while requests queue and is forgotten once the load fits', () => {
    const held = decide({ ...base, ready: 2, live: 2, stable: 1000, panic: 1000, idleCores: 0, cpuPerInstance: 0.3, unmeasured: 0, queued: 700, ceiling: 2 })
    expect([held.cap, held.limitedBy, held.ceiling]).toEqual([2, 'throughput', 2])
    const calm = decide({ ...base, ready: 2, live: 2, stable: 50, panic: 50, idleCores: 0, cpuPerInstance: 0.3, unmeasured: 0, queued: 0, ceiling: 2 })
    expect(calm.ceiling).toBeUndefined()
  })

  it('panics on a burst (panic window at twice the ready instances) and does not scale down while panicking', () => {
    const burst = decide({ ...base, ready: 2, live: 2, stable: 50, panic: 400, cpuPerInstance: 0.01, unmeasured: 0, queued: 100 })
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

describe('idle CPU that lasted', () => {
  it('a core idle for one sample in a busy second does not count; one idle for all of them does', () => {
    const idle = new LastingIdle(4)
    for (const x of [0.05, 0.02, 0.04]) idle.add(x)
    expect(idle.add(1.2)).toBeCloseTo(0.02) // a gap between two bursts
    for (const x of [1.1, 1.3, 1.0]) idle.add(x)
    expect(idle.add(1.2)).toBeCloseTo(1.0)
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

  it('without a node CPU signal (Kubernetes), the demand decides: no probe, no ceiling', () => {
    const d = decide({ ...base, ready: 1, live: 1, perInstance: 1, stable: 3, panic: 3, idleCores: undefined, queued: 2, max: 10 })
    expect([d.cap, d.limitedBy, d.probe]).toEqual([10, 'max', undefined])
    expect(d.desired).toBeGreaterThanOrEqual(3)
  })
})

describe('the autoscaler\'s router load', () => {
  it('counts the router processes\' loops as the router\'s when they serve the data plane', async () => {
    const a = new Autoscaler({
      backend: { sample: async () => undefined }, nodeCpu: undefined, settings: DEFAULT_SCALE, sampleMs: 250,
      functions: () => [], maxInstances: () => 1, minInstances: () => 0, decided: () => undefined,
    })
    const idleTick = async () => { await new Promise((r) => setTimeout(r, 100)); await a.tick() }
    await idleTick()
    expect(a.routerBusy).toBe(false)
    let load: number | undefined = 0.95
    a.routerLoad = () => load
    await idleTick()
    expect(a.routerBusy).toBe(true)
    load = 0.3
    await idleTick()
    expect(a.routerBusy).toBe(false)
    load = undefined // none reported yet: this process's own loop decides
    await idleTick()
    expect(a.routerBusy).toBe(false)
  })
})
