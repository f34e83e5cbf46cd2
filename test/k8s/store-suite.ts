// One behaviour suite for every ResourceStore implementation (DESIGN: "one interface per kind of state,
// two implementations, the same test suite run against both"). `open()` gives a fresh, empty store.
import { expect, it } from 'vitest'
import type { ResourceStore, StoreEvent } from '../../core/store/resource-store.js'
import type { RuntimeResource } from '../../core/types.js'

export interface StoreUnderTest {
  store: ResourceStore<RuntimeResource>
  /**
   * Resolves once the store has reported every event it ever will for the writes made so far (an
   * informer's late echo included). It may write a resource named `settle-*` to find out.
   */
  settle(): Promise<void>
  close(): Promise<void>
}

const runtime = (name: string, poolSize = 1): RuntimeResource => ({
  metadata: { name },
  spec: { protocol: 'kiln', image: 'kiln/runtime-node:dev', port: 8888, poolSize },
})

export function storeSuite(open: () => Promise<StoreUnderTest>): void {
  const use = async (fn: (s: ResourceStore<RuntimeResource>, t: StoreUnderTest) => Promise<void>) => {
    const t = await open()
    try { await fn(t.store, t) } finally { await t.close() }
  }

  it('create stores the resource; reads see it at once, with kind, apiVersion and generation 1', () => use(async (s) => {
    const made = await s.create(runtime('alpha'))
    expect(made.kind).toBe('Runtime')
    expect(made.apiVersion).toBe('kiln.dev/v1')
    expect(made.metadata.generation).toBe(1)
    expect(made.metadata.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(s.get('alpha')?.spec).toEqual(runtime('alpha').spec)
    expect(s.list().map((r) => r.metadata.name)).toEqual(['alpha'])
  }))

  it('create of a taken name fails with KILN_ERR_ALREADY_EXISTS and changes nothing', () => use(async (s) => {
    await s.create(runtime('beta', 1))
    await expect(s.create(runtime('beta', 5))).rejects.toMatchObject({ code: 'KILN_ERR_ALREADY_EXISTS' })
    expect(s.get('beta')?.spec.poolSize).toBe(1)
  }))

  it('put creates or replaces; generation grows only when the spec changed', () => use(async (s) => {
    expect((await s.put(runtime('gamma', 1))).metadata.generation).toBe(1)
    expect((await s.put(runtime('gamma', 2))).metadata.generation).toBe(2)
    const same = await s.put(runtime('gamma', 2))
    expect(same.metadata.generation).toBe(2)
    expect(s.get('gamma')?.spec.poolSize).toBe(2)
  }))

  it('list is sorted by name', () => use(async (s) => {
    for (const n of ['zeta', 'eta', 'theta']) await s.create(runtime(n))
    expect(s.list().map((r) => r.metadata.name)).toEqual(['eta', 'theta', 'zeta'])
  }))

  it('delete returns the old resource and removes it; deleting a missing one returns undefined', () => use(async (s) => {
    await s.create(runtime('delta'))
    expect((await s.delete('delta'))?.metadata.name).toBe('delta')
    expect(s.get('delta')).toBeUndefined()
    expect(await s.delete('delta')).toBeUndefined()
  }))

  it('watch reports each put and delete once, in order, until unsubscribed', () => use(async (s, t) => {
    const seen: string[] = []
    const stop = s.watch((ev: StoreEvent<RuntimeResource>) => seen.push(`${ev.type}:${ev.object.metadata.name}:${ev.object.spec.poolSize}`))
    await s.create(runtime('omega', 1))
    await s.put(runtime('omega', 3))
    await s.delete('omega')
    // An informer's echo of a write already reported must not be reported again: wait until every
    // echo has arrived (not for a time), then count.
    await t.settle()
    stop()
    await s.create(runtime('after'))
    await t.settle()
    expect(seen.filter((e) => !e.includes(':settle-'))).toEqual(['put:omega:1', 'put:omega:3', 'delete:omega:3'])
  }))
}
