import { describe, expect, it } from 'vitest'
import { defaultConfig } from '../../../core/config.js'
import type { FunctionResource } from '../../../core/types.js'
import { FunctionState } from '../../../executor/function-state.js'
import { abnormal, loadBetween } from '../../../executor/load-monitor.js'

const limits = defaultConfig().loadLimits
const fn = (resources?: FunctionResource['spec']['resources']) => new FunctionState({ metadata: { name: 'f' }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'index.mjs', resources } })
const sample = (at: number, cpuUsec: number, periods = 0, throttled = 0, mem = 10e6, limit?: number) =>
  ({ at, cpuUsageUsec: cpuUsec, throttledUsec: 0, nrPeriods: periods, nrThrottled: throttled, memoryBytes: mem, memoryLimitBytes: limit, pids: 5, oomKills: 0 })

describe('load monitor: the normal range', () => {
  it('turns counters into rates', () => {
    const l = loadBetween(sample(0, 0, 0, 0), sample(1000, 800_000, 10, 6))!
    expect(l.cpuCores).toBeCloseTo(0.8)
    expect(l.throttleRatio).toBeCloseTo(0.6)
  })

  it('a function burning much cpu per request is noisy; one serving many cheap requests is only busy', () => {
    const hog = { ...loadBetween(sample(0, 0), sample(1000, 900_000))!, cpuMsPerRequest: 300 }
    expect(abnormal(hog, fn(), limits, undefined)).toMatch(/cpu 0\.90 cores without a cpu limit/)
    const busy = { ...loadBetween(sample(0, 0), sample(1000, 900_000))!, cpuMsPerRequest: 0.2 }
    expect(abnormal(busy, fn(), limits, undefined)).toBeUndefined()
    const stuck = { ...loadBetween(sample(0, 0), sample(1000, 600_000))!, cpuMsPerRequest: Infinity }
    expect(abnormal(stuck, fn(), limits, undefined)).toBeDefined()
  })

  it('judges cpu against the function limit and throttling, and memory against its limit', () => {
    const atLimit = { ...loadBetween(sample(0, 0, 0, 0), sample(1000, 480_000, 10, 1))!, cpuMsPerRequest: 100 }
    expect(abnormal(atLimit, fn({ cpu: 0.5 }), limits, undefined)).toMatch(/of its 0\.5 core limit/)
    const throttled = { ...loadBetween(sample(0, 0, 0, 0), sample(1000, 100_000, 10, 8))!, cpuMsPerRequest: 100 }
    expect(abnormal(throttled, fn({ cpu: 0.5 }), limits, undefined)).toMatch(/throttled in 80%/)
    const mem = loadBetween(sample(0, 0), sample(1000, 1000, 0, 0, 120e6, 128e6))!
    expect(abnormal(mem, fn({ memory: '128Mi' }), limits, undefined)).toMatch(/memory 94% of its limit/)
    const calm = { ...loadBetween(sample(0, 0), sample(1000, 10_000))!, cpuMsPerRequest: 100 }
    expect(abnormal(calm, fn(), limits, { mean: 0.01, n: 20 })).toBeUndefined()
  })

  it('flags cpu far above the function\'s own baseline', () => {
    const l = { ...loadBetween(sample(0, 0), sample(1000, 300_000))!, cpuMsPerRequest: 100 }
    expect(abnormal(l, fn(), limits, { mean: 0.02, n: 20 })).toMatch(/above its own baseline/)
    expect(abnormal(l, fn(), limits, { mean: 0.02, n: 3 })).toBeUndefined()
  })
})
