// What a deploy through the Kubernetes controller waits for (platform/kubernetes/servable.ts): the Function's
// status.observedGeneration reaching the generation it wrote, as the executor leader reports it; or
// KILN_ERR_DEPLOY_TIMEOUT. Run on the in-memory store (the CRD store delivers status the same way, as
// a put of the whole object; test/k8s/platform.test.ts covers it on a real control plane).
import { describe, expect, it } from 'vitest'
import { awaitServable } from '../../../platform/kubernetes/servable.js'
import { CachedStore } from '../../../core/store/resource-store.js'
import type { FunctionResource } from '../../../core/types.js'

const fn = (status?: Record<string, unknown>): FunctionResource => ({
  metadata: { name: 'f' },
  spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'index.mjs' },
  ...(status ? { status } : {}),
}) as FunctionResource

describe('a controller deploy waits for the executor', () => {
  it('resolves when the status reports the written generation applied, not before', async () => {
    const store = new CachedStore<FunctionResource>('Function')
    await store.put(fn())
    let done = false
    const waiting = awaitServable(store, 'f', 30_000).then(() => { done = true })
    await store.put(fn({ observedGeneration: 0 }))
    await new Promise((r) => setImmediate(r))
    expect(done).toBe(false)
    await store.put(fn({ observedGeneration: 1 }))
    await waiting
    expect(done).toBe(true)
  })

  it('is KILN_ERR_DEPLOY_TIMEOUT (504) when no executor reports it in time; the function stays stored', async () => {
    const store = new CachedStore<FunctionResource>('Function')
    await store.put(fn())
    await expect(awaitServable(store, 'f', 50)).rejects.toMatchObject({ code: 'KILN_ERR_DEPLOY_TIMEOUT', status: 504, details: { function: 'f', generation: 1 } })
    expect(store.get('f')).toBeDefined()
  })

  it('resolves at once when already applied, and when the function is deleted meanwhile', async () => {
    const store = new CachedStore<FunctionResource>('Function')
    await store.put(fn({ observedGeneration: 1 }))
    await awaitServable(store, 'f', 50)
    await store.put({ ...fn(), spec: { ...fn().spec, entrypoint: 'other.mjs' } })
    const waiting = awaitServable(store, 'f', 30_000)
    await store.delete('f')
    await waiting
  })
})
