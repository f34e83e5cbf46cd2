import { describe, expect, it } from 'vitest'
import { clampLimits } from '../../../cluster/local/cgroups/clamp.js'

describe('clampLimits', () => {
  it('a child never exceeds its parent, and each change is reported', () => {
    const { limits, notes } = clampLimits(
      { cpu: 4, memoryBytes: 2 ** 30, memoryHighBytes: 2 ** 29, pids: 500, cpuset: '0-3' },
      { cpu: 1, memoryBytes: 2 ** 28, pids: 100, cpus: [1, 2] },
    )
    expect(limits).toEqual({ cpu: 1, memoryBytes: 2 ** 28, memoryHighBytes: 2 ** 28, pids: 100, cpuset: '1-2' })
    expect(notes.map((n) => n.field).sort()).toEqual(['cpu', 'cpuset', 'memoryBytes', 'memoryHighBytes', 'pids'])
    expect(notes.find((n) => n.field === 'cpu')).toEqual({ field: 'cpu', requested: 4, applied: 1, parentLimit: 1 })
  })

  it('limits within the parent and removals (Infinity) pass unchanged', () => {
    const { limits, notes } = clampLimits({ cpu: 0.5, memoryBytes: Infinity, pids: 10 }, { cpu: 1, memoryBytes: 100, pids: 100 })
    expect(limits).toEqual({ cpu: 0.5, memoryBytes: Infinity, pids: 10 })
    expect(notes).toEqual([])
  })

  it('rejects invalid values with KILN_ERR_VALIDATION', () => {
    for (const bad of [{ cpu: 0 }, { memoryBytes: -1 }, { pids: 1.5 }, { cpuset: 'x' }]) {
      expect(() => clampLimits(bad, {})).toThrow(expect.objectContaining({ code: 'KILN_ERR_VALIDATION' }))
    }
  })

  it('a cpuset disjoint from the parent is an error, not an empty set', () => {
    expect(() => clampLimits({ cpuset: '3' }, { cpus: [0, 1] })).toThrow(expect.objectContaining({ code: 'KILN_ERR_VALIDATION' }))
  })
})
