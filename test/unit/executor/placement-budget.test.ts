import { describe, expect, it } from 'vitest'
import { DEFAULT_NODES } from '../../../core/config.js'
import { codeVersion } from '../../../executor/function-state.js'
import { InstanceBudget } from '../../../poolmgr/budget.js'
import { chooseNode, placementKey } from '../../../poolmgr/placement.js'
import type { FunctionResource } from '../../../core/types.js'

describe('placement', () => {
  it('never places on a tainted node without the toleration, and spreads over the least loaded', () => {
    const load = new Map([['general', 5], ['isolated', 0]])
    expect(chooseNode(DEFAULT_NODES, {}, (n) => load.get(n) ?? 0)?.name).toBe('general')
    const tol = [{ key: 'kiln.dev/isolated', value: 'true', effect: 'NoSchedule' }]
    expect(chooseNode(DEFAULT_NODES, { tolerations: tol }, (n) => load.get(n) ?? 0)?.name).toBe('isolated')
    expect(chooseNode(DEFAULT_NODES, { tolerations: tol, nodeSelector: { 'kiln.dev/pool': 'general' } }, () => 0)?.name).toBe('general')
    expect(chooseNode(DEFAULT_NODES, { nodeSelector: { 'kiln.dev/pool': 'isolated' } }, () => 0)).toBeUndefined()
    expect(placementKey({})).toBe('default')
  })
})

describe('instance budget', () => {
  it('refuses past the limit unless a reclaimer frees a place, and waits for it', async () => {
    const b = new InstanceBudget(2)
    expect(b.tryReserve()).toBe(true)
    expect(b.tryReserve()).toBe(true)
    expect(await b.reserve(false)).toBe(false)
    let reclaimed = 0
    b.setReclaimer(() => { reclaimed++; return new Promise<void>((r) => setTimeout(() => { b.release(); r() }, 10)) })
    expect(await b.reserve(true)).toBe(true)
    expect(reclaimed).toBe(1)
    expect(b.inUse).toBe(2)
  })
})

describe('code version', () => {
  const fn = (spec: Partial<FunctionResource['spec']>): FunctionResource => ({ metadata: { name: 'f' }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'index.mjs', ...spec } })
  it('changes with the code and its environment, not with scaling settings', () => {
    expect(codeVersion(fn({}))).toBe(codeVersion(fn({ minWarm: 3, strategy: 'warm', concurrency: 5 })))
    expect(codeVersion(fn({}))).not.toBe(codeVersion(fn({ env: { A: '1' } })))
    expect(codeVersion(fn({}))).not.toBe(codeVersion(fn({ package: { sha256: 'b'.repeat(64) } })))
  })
})
