// Issue 20's pool poisoning: a function patches JSON.stringify, is deleted, and another function is
// deployed next. Its instance was unloaded "clean" (the runtime cannot see a patched global), so it used
// to go back to the generic pool and serve the next function, spying on it. An instance that has run a
// function's code now never serves another function (executor/reuse-boundary.ts), unless the namespace
// shares instances, and then never one of another namespace.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { createNamespace } from '../../helpers/tenancy.js'
import { until } from '../../helpers/until.js'

const F = join(import.meta.dirname, '..', '..', 'fixtures', 'sandbox')

describe('pool poisoning across functions', () => {
  let p: TestPlatform
  // A node pool of two and a budget of two: while the poisoner holds one instance the pool cannot boot
  // its refill, so it has room when the poisoner's instance is given back, and hands out the instance
  // given back last: exactly the case in which the poisoned instance used to serve the next function.
  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 2, instanceBudget: 2 })
    await p.call('/v1/pools/python', { method: 'PUT', body: JSON.stringify({ size: 0 }), headers: { 'content-type': 'application/json' } })
  })

  const poolFull = () => until('only the node pool, full', async () => {
    const pools = (await p.call('/v1/pools')).json() as { runtime: string; ready: number }[]
    return pools.find((x) => x.runtime === 'node')?.ready === 2 && (await instances()).length === 2
  })
  afterAll(async () => { await p?.stop() })

  const instances = async () => (await p.call('/v1/instances')).json() as { id: string; function?: string; state: string }[]

  for (const sameName of [false, true]) {
    it(`a function deployed after a poisoner was deleted runs unpatched${sameName ? ' (even under the same name)' : ''}`, async () => {
      const poisoner = sameName ? 'shared' : 'poisoner'
      const victim = sameName ? 'shared' : 'victim'
      await poolFull()
      await p.deploy(poisoner, join(F, 'poisoner.mjs'))
      const r = await p.call(`/fn/${poisoner}`)
      expect(r.json()).toEqual({ patched: true, poisoned: true })
      const poisoned = r.headers['x-kiln-instance'] as string
      expect((await p.call(`/v1/functions/${poisoner}`, { method: 'DELETE' })).status).toBe(200)
      await until('the poisoner to have left its instance', async () => !(await instances()).some((i) => i.id === poisoned && i.state !== 'generic'))

      await p.deploy(victim, join(F, 'victim.mjs'), { env: { VICTIM_SECRET: 's3cr3t' } })
      const v = await p.call(`/fn/${victim}`)
      expect(v.status, v.text).toBe(200)
      expect(v.json()).toEqual({ secret: 's3cr3t', native: true })
      expect(v.headers['x-kiln-instance']).not.toBe(poisoned)
      // Nothing of the victim's reached a spy (logs are per function name: only its own instance's lines count).
      const mine = v.headers['x-kiln-instance'] as string
      const logs = ((await p.call(`/v1/functions/${victim}/logs`)).json().lines as unknown[]).map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).filter((l) => l.includes(mine))
      expect(logs.join('\n')).not.toContain('POISONED')
      // The poisoned instance was stopped, not kept for anyone.
      await until('the poisoned instance to be gone', async () => !(await instances()).some((i) => i.id === poisoned))
      expect((await p.call(`/v1/functions/${victim}`, { method: 'DELETE' })).status).toBe(200)
    })
  }
})

// The operator may let the functions of one namespace share instances (`kiln ns create --share-instances`):
// a kept instance then serves another function of that namespace, never one of another namespace, even
// one that shares too (executor/namespace-reuse.ts is the rule, handed to the pools by the executor).
describe('pool poisoning across namespaces that share instances', () => {
  let p: TestPlatform
  // One node instance in the pool and room in the budget: a kept instance is never reclaimed meanwhile.
  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 1, instanceBudget: 4 })
    await p.call('/v1/pools/python', { method: 'PUT', body: JSON.stringify({ size: 0 }), headers: { 'content-type': 'application/json' } })
    await createNamespace(p, 'share-a', { shareInstances: true })
    await createNamespace(p, 'share-b', { shareInstances: true })
  })
  afterAll(async () => { await p?.stop() })

  const instances = async () => (await p.call('/v1/instances')).json() as { id: string; function?: string; state: string }[]

  it('a poisoned instance reaches the next function of its namespace, never a function of another', async () => {
    await p.deploy('poisoner', join(F, 'patcher.mjs'), { idleTimeoutMs: 300 }, 'share-a')
    const r = await p.call('/ns/share-a/fn/poisoner')
    expect(r.json()).toEqual({ patched: true, poisoned: true })
    const poisoned = r.headers['x-kiln-instance'] as string
    await until('the poisoner\'s idle instance to be kept in its pool', async () => (await instances()).some((i) => i.id === poisoned && i.state === 'generic'))

    await p.deploy('victim', join(F, 'victim.mjs'), { env: { VICTIM_SECRET: 'b-secret' } }, 'share-b')
    const other = await p.call('/ns/share-b/fn/victim')
    expect(other.json()).toEqual({ secret: 'b-secret', native: true })
    expect(other.headers['x-kiln-instance']).not.toBe(poisoned)
    expect((await instances()).find((i) => i.id === poisoned)?.state).toBe('generic')

    // Within share-a the operator chose to share: the kept instance serves its neighbour, patch and all.
    await p.deploy('neighbour', join(F, 'victim.mjs'), { env: { VICTIM_SECRET: 'a-secret' } }, 'share-a')
    const mine = await p.call('/ns/share-a/fn/neighbour')
    expect(mine.headers['x-kiln-instance']).toBe(poisoned)
    expect(mine.json()).toMatchObject({ secret: 'a-secret', native: false })
  })
})
