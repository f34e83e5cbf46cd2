// Executor strategies and reuse policies against real runtime processes.
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { trackPeak } from '../../helpers/peak.js'
import { expectReadyCountsTrue } from '../../helpers/ready-counts.js'
import { until } from '../../helpers/until.js'

const FX = join(import.meta.dirname, '..', '..', 'fixtures', 'executor')
const V1 = join(FX, 'v1.mjs')
const V2 = join(FX, 'v2.mjs')
const SLOW = join(FX, 'slow.mjs')
const COUNTER = join(FX, 'counter.mjs')

describe('executor strategies and reuse policies', () => {
  let p: TestPlatform
  beforeAll(async () => { p = await startTestPlatform({ poolSize: 2, instanceBudget: 40 }) })
  afterAll(async () => { await p?.stop() })
  afterEach(() => { if (p) expectReadyCountsTrue(p.ctx.executor) })

  const status = async (name: string) => (await p.call(`/v1/functions/${name}`)).json().status

  it('warm: min-warm instances are specialized before deploy returns; the first request specializes nothing', async () => {
    await p.deploy('warm1', V1, { strategy: 'warm', minWarm: 2 })
    const before = await status('warm1')
    expect(before.instances.filter((i: { state: string }) => i.state === 'ready')).toHaveLength(2)
    expect(before.specializations).toBe(2)
    const r = await p.call('/fn/warm1')
    expect(r.status).toBe(200)
    const after = await status('warm1')
    expect(after.specializations).toBe(2)
    expect(after.coldStarts).toBe(0)
  })

  it('warm with warm-up requests: each instance is called on the warm-up path before it serves, and those calls are not counted as served', async () => {
    await p.deploy('warmed', COUNTER, { strategy: 'warm', minWarm: 1, warmup: { path: '/prime?w=1', requests: 2 } })
    const r = await p.call('/fn/warmed/real')
    expect(r.status).toBe(200)
    expect(r.json()).toMatchObject({ calls: 3, warmups: 2, path: '/real' })
    const inst = (await status('warmed')).instances[0]
    expect(inst.requests).toBe(1)
    // A request that waits for its instance (pool strategy) is not delayed by warm-up requests.
    await p.deploy('unwarmed', COUNTER, { warmup: { path: '/prime' } })
    expect((await p.call('/fn/unwarmed')).json()).toMatchObject({ calls: 1, warmups: 0 })
    const bad = await p.call('/v1/functions/badwarm', { method: 'PUT', body: JSON.stringify({ metadata: { name: 'badwarm' }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'index.mjs', warmup: { path: 'no-slash' } } }), headers: { 'content-type': 'application/json' } })
    expect(bad.status).toBe(400)
    expect(bad.text).toContain('spec.warmup.path')
  })

  it('warm: an instance that dies is replaced in the background', async () => {
    const s = await status('warm1')
    const victim = s.instances[0]
    process.kill(victim.pid, 'SIGKILL')
    await until('the warm set to be whole again', async () => {
      const now = await status('warm1')
      const ready = now.instances.filter((i: { state: string; id: string }) => i.state === 'ready' && i.id !== victim.id)
      return ready.length >= 2
    })
  })

  it('warm: a redeploy under concurrent load fails no request and serves no old version after it returns', async () => {
    await p.deploy('roll', V1, { strategy: 'warm', minWarm: 2 })
    let deployedAt = Infinity
    let stop = false
    const seen: { start: number; status: number; version?: number }[] = []
    const loop = async () => {
      while (!stop) {
        const start = performance.now()
        const r = await p.call('/fn/roll').catch(() => ({ status: -1, json: () => ({}) }))
        seen.push({ start, status: r.status, version: r.status === 200 ? r.json().version : undefined })
      }
    }
    const loops = Array.from({ length: 6 }, loop)
    // Load before and after the redeploy, counted in requests rather than measured in time.
    await until('requests served by version 1', async () => seen.filter((s) => s.version === 1).length >= 12)
    await p.deploy('roll', V2, { strategy: 'warm', minWarm: 2 })
    deployedAt = performance.now()
    await until('requests started after the redeploy returned', async () => seen.filter((s) => s.start > deployedAt).length >= 12)
    stop = true
    await Promise.all(loops)
    expect(seen.filter((s) => s.status !== 200)).toEqual([])
    expect(seen.filter((s) => s.start > deployedAt && s.version !== 2)).toEqual([])
    expect(seen.some((s) => s.version === 1)).toBe(true)
  })

  it('fresh: never reuses an instance', async () => {
    await p.deploy('fresh1', V1, { reuse: 'fresh' })
    const ids = []
    for (let i = 0; i < 3; i++) {
      const r = await p.call('/fn/fresh1')
      expect(r.status).toBe(200)
      ids.push(r.headers['x-kiln-instance'])
    }
    expect(new Set(ids).size).toBe(3)
    expect((await status('fresh1')).specializations).toBe(3)
  })

  it('recycle: an instance is replaced after max-requests', async () => {
    await p.deploy('recycle1', V1, { reuse: 'recycle', maxRequests: 2 })
    const ids = []
    for (let i = 0; i < 6; i++) ids.push((await p.call('/fn/recycle1')).headers['x-kiln-instance'])
    expect(ids[0]).toBe(ids[1])
    expect(ids[2]).toBe(ids[3])
    expect(ids[4]).toBe(ids[5])
    expect(new Set(ids).size).toBe(3)
  })

  it('dedicated: scales on in-flight load up to max-scale, never beyond, and back to min after idle', async () => {
    // Every instance booted for or specialized with `ded`, whatever its state, counted at each change.
    const peak = trackPeak(p.ctx.fleet, (r) => r.state !== 'gone' && (r.fn === 'ded' || r.bootedFor === 'ded'))
    try {
      await p.deploy('ded', SLOW, { strategy: 'dedicated', minScale: 1, maxScale: 2, concurrency: 1, idleTimeoutMs: 300 })
      expect((await status('ded')).instances).toHaveLength(1)
      const answers = await Promise.all(Array.from({ length: 6 }, () => p.call('/fn/ded?ms=150')))
      expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200))
      // Instances are told apart by id: each runs in its own pid namespace, where every runtime has the same pid.
      expect(new Set(answers.map((a) => a.headers['x-kiln-instance'])).size).toBe(2)
    } finally {
      peak.stop()
    }
    expect(peak.max).toBe(2)
    await until('scale back to min 1', async () => (await status('ded')).instances.length === 1)
  })

  it('dedicated with min-scale 0 scales to zero after idle', async () => {
    await p.deploy('ded0', V1, { strategy: 'dedicated', minScale: 0, maxScale: 2, idleTimeoutMs: 300 })
    expect((await status('ded0')).instances).toHaveLength(0)
    // A request starts one (it served this request), and idle it goes: no assertion on when.
    const r = await p.call('/fn/ded0')
    expect(r.status).toBe(200)
    const served = String(r.headers['x-kiln-instance'])
    expect(served).toMatch(/^node-/)
    await until('scale to zero', async () => (await status('ded0')).instances.length === 0
      && !(await p.call('/v1/instances')).json().some((i: { id: string }) => i.id === served))
  })

  it('dedicated → pool: the change rolls the function, and the dedicated instance is stopped, never given to a generic pool', async () => {
    await p.deploy('switch', V1, { strategy: 'dedicated', minScale: 1, maxScale: 2 })
    const ded = (await status('switch')).instances[0]
    await p.deploy('switch', V1, { strategy: 'pool' })
    const r = await p.call('/fn/switch')
    expect(r.status).toBe(200)
    expect(r.headers['x-kiln-instance']).not.toBe(ded.id)
    await until('the dedicated instance to be gone', async () => !(await p.call('/v1/instances')).json().some((i: { id: string }) => i.id === ded.id))
    expect((await status('switch')).returnedToPool ?? 0).toBe(0)
  })

  it('operators resize a pool live, up and down', async () => {
    const set = await p.call('/v1/pools/node', { method: 'PUT', body: JSON.stringify({ size: 4 }), headers: { 'content-type': 'application/json' } })
    expect(set.status).toBe(200)
    await until('4 ready', async () => (await p.call('/v1/pools')).json().find((x: { runtime: string }) => x.runtime === 'node').ready === 4)
    await p.call('/v1/pools/node', { method: 'PUT', body: JSON.stringify({ size: 1 }), headers: { 'content-type': 'application/json' } })
    await until('1 ready', async () => {
      const pool = (await p.call('/v1/pools')).json().find((x: { runtime: string }) => x.runtime === 'node')
      const generic = (await p.call('/v1/instances')).json().filter((i: { state: string; runtime: string }) => i.state === 'generic' && i.runtime === 'node')
      return pool.ready === 1 && generic.length === 1
    })
    const bad = await p.call('/v1/pools/node', { method: 'PUT', body: JSON.stringify({ size: -1 }), headers: { 'content-type': 'application/json' } })
    expect(bad.status).toBe(400)
    expect(bad.json().error).toBe('KILN_ERR_VALIDATION')
  })
})

describe('instance budget', () => {
  let p: TestPlatform
  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 1, instanceBudget: 3 })
    await p.call('/v1/pools/python', { method: 'PUT', body: JSON.stringify({ size: 0 }), headers: { 'content-type': 'application/json' } })
  })
  afterAll(async () => { await p?.stop() })
  afterEach(() => { if (p) expectReadyCountsTrue(p.ctx.executor) })

  it('never exceeds the budget: the least recently used idle instance is reclaimed for a new function', async () => {
    // Every instance the fleet holds (booted and not yet exited), counted at each change.
    const live = trackPeak(p.ctx.fleet, () => true)
    try {
      for (const n of ['b1', 'b2', 'b3', 'b4']) await p.deploy(n, V1)
      for (const n of ['b1', 'b2', 'b3', 'b4']) expect((await p.call(`/fn/${n}`)).status).toBe(200)
    } finally {
      live.stop()
    }
    expect(live.max).toBeLessThanOrEqual(3)
    const b1 = (await p.call('/v1/functions/b1')).json().status
    expect(b1.instances).toHaveLength(0) // b1 was the least recently used
  })

  it('pool: an idle clean instance is unloaded and kept in its pool for its own function, never handed to another', async () => {
    // With the budget full, the pool cannot boot its refill, so it has room when the instance comes back.
    await p.call('/v1/pools/node', { method: 'PUT', body: JSON.stringify({ size: 3 }), headers: { 'content-type': 'application/json' } })
    await p.deploy('returns', V1, { idleTimeoutMs: 300 })
    const r = await p.call('/fn/returns')
    expect(r.status, r.text).toBe(200)
    const id = r.headers['x-kiln-instance']
    await until('the instance to go back to the pool', async () => (await p.call('/v1/functions/returns')).json().status.returnedToPool >= 1)
    const again = (await p.call('/v1/instances')).json().find((i: { id: string }) => i.id === id)
    expect(again?.state).toBe('generic')
    expect(again?.function).toBeUndefined()
    // Another function is never specialized on it: it has run `returns`' code.
    await p.deploy('reuser', V2, {})
    const other = await p.call('/fn/reuser')
    expect(other.json().version).toBe(2)
    expect(other.headers['x-kiln-instance']).not.toBe(id)
    // A new version of the same function is.
    await p.deploy('returns', V2, { idleTimeoutMs: 300 })
    const mine = await p.call('/fn/returns')
    expect(mine.json().version).toBe(2)
    expect(mine.headers['x-kiln-instance']).toBe(id)
  })
})
