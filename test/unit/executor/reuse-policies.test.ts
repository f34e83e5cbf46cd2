// The reuse policies (executor/reuse/): when an instance may take a request and when it has served its time.
import { describe, expect, it } from 'vitest'
import type { FunctionResource } from '../../../core/types.js'
import { FunctionState } from '../../../executor/function-state.js'
import type { InstanceRecord } from '../../../poolmgr/instance.js'

const fn = (spec: Record<string, unknown>): FunctionResource => ({
  metadata: { name: 'f' }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'index.mjs', concurrency: 8, ...spec },
}) as FunctionResource
// The policies read only these two counters of an instance: a plain object stands in for one.
const inst = (requests: number, specializedAt = 0) => ({ requests, specializedAt }) as InstanceRecord

describe('reuse policies', () => {
  it('reuse: any number of requests, concurrency as specified, back to a pool allowed', () => {
    const fs = new FunctionState(fn({}))
    expect(fs.policy.name).toBe('reuse')
    expect(fs.concurrency).toBe(8)
    expect(fs.policy.accepts(inst(1000))).toBe(true)
    expect(fs.policy.spent(inst(1000), fs.fn, Date.now())).toBe(false)
    expect(fs.policy.returnsToPool).toBe(true)
  })

  it('recycle: spent after maxRequests or maxAgeMs', () => {
    const fs = new FunctionState(fn({ reuse: 'recycle', maxRequests: 3, maxAgeMs: 1000 }))
    expect(fs.policy.spent(inst(2, 5000), fs.fn, 5500)).toBe(false)
    expect(fs.policy.spent(inst(3, 5000), fs.fn, 5500)).toBe(true)
    expect(fs.policy.spent(inst(0, 5000), fs.fn, 6000)).toBe(true)
  })

  it('fresh: one request per instance, one at a time, never back to a pool', () => {
    const fs = new FunctionState(fn({ reuse: 'fresh' }))
    expect(fs.concurrency).toBe(1)
    expect(fs.policy.accepts(inst(0))).toBe(true)
    expect(fs.policy.accepts(inst(1))).toBe(false)
    expect(fs.policy.spent(inst(0), fs.fn, 0)).toBe(false)
    expect(fs.policy.spent(inst(1), fs.fn, 0)).toBe(true)
    expect(fs.policy.returnsToPool).toBe(false)
  })

  it('a redeploy that changes the policy changes it', () => {
    const fs = new FunctionState(fn({}))
    fs.update(fn({ reuse: 'fresh' }))
    expect(fs.policy.name).toBe('fresh')
    expect(fs.concurrency).toBe(1)
  })
})
