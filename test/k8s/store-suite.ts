// One behaviour suite for every ResourceStore implementation (DESIGN: "one interface per kind of state,
// two implementations, the same test suite run against both"). `open()` gives a fresh, empty store.
import { expect, it } from 'vitest'
import type { ResourceStore, StoreEvent } from '../../core/store/resource-store.js'
import type { HTTPTriggerResource, RuntimeResource } from '../../core/types.js'
import { waitUntil } from './wait.js'

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

export interface NamespacedStoreUnderTest { store: ResourceStore<HTTPTriggerResource>; close(): Promise<void> }

const route = (name: string, namespace: string | undefined, path: string): HTTPTriggerResource => ({
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: { method: 'GET', path, function: 'hello' },
})

/** What every store does for a namespaced kind: refs (core/refs.ts) key it, names are unique per namespace. */
export function namespacedStoreSuite(open: () => Promise<NamespacedStoreUnderTest>): void {
  const use = async (fn: (s: ResourceStore<HTTPTriggerResource>) => Promise<void>) => {
    const t = await open()
    try { await fn(t.store) } finally { await t.close() }
  }

  it('one name in two namespaces is two resources, each read by its ref; default ones carry namespace "default"', () => use(async (s) => {
    await s.create(route('hello', undefined, '/a'))
    await s.create(route('hello', 'team-a', '/b'))
    expect(s.get('hello')?.spec.path).toBe('/a')
    expect(s.get('hello')?.metadata.namespace).toBe('default')
    expect(s.get('team-a/hello')?.spec.path).toBe('/b')
    expect(s.get('team-a/hello')?.metadata).toMatchObject({ name: 'hello', namespace: 'team-a' })
    expect(s.list().map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual(['default/hello', 'team-a/hello'])
    await expect(s.create(route('hello', 'team-a', '/c'))).rejects.toMatchObject({ code: 'KILN_ERR_ALREADY_EXISTS' })
  }))

  it('delete by ref removes that namespace\'s resource only; watch events carry the namespace', () => use(async (s) => {
    const seen: string[] = []
    s.watch((ev: StoreEvent<HTTPTriggerResource>) => seen.push(`${ev.type}:${ev.object.metadata.namespace}/${ev.object.metadata.name}`))
    await s.create(route('x', 'team-a', '/x'))
    await s.create(route('x', 'team-b', '/y'))
    expect((await s.delete('team-a/x'))?.metadata.namespace).toBe('team-a')
    expect(s.get('team-a/x')).toBeUndefined()
    expect(s.get('team-b/x')?.spec.path).toBe('/y')
    await waitUntil('three events', async () => seen.length >= 3)
    expect(seen).toEqual(['put:team-a/x', 'put:team-b/x', 'delete:team-a/x'])
  }))
}
