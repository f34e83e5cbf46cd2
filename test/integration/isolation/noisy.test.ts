// A cpu hog and a victim on the same general node: the monitor marks the hog noisy within its window,
// moves it to the isolated node without failing a request, and the victim never fails.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { until } from '../../helpers/until.js'

const FX = join(import.meta.dirname, '..', '..', 'fixtures', 'isolation')


describe('noisy function isolation', () => {
  let p: TestPlatform
  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 2, loadLimits: { cpuShare: 0.9, cpuCores: 0.5, cpuMsPerRequest: 20, memoryShare: 0.9, throttleRatio: 0.5, window: 3, sampleMs: 500, cooldownMs: 0 } })
    await p.deploy('victim', join(FX, 'victim.mjs'))
    // A small cpu limit and long spins: the hog exceeds its quota (and is throttled) even when a busy
    // machine gives it only a sliver of a core, and each request burns far over cpuMsPerRequest.
    await p.deploy('hog', join(FX, 'hog.mjs'), { resources: { cpu: 0.05 }, timeoutMs: 30_000 })
  })
  afterAll(async () => { await p?.stop() })

  it('isolates the hog within its window; the victim sees zero failed requests; the hog then lives only on isolated nodes', { timeout: 300_000 }, async () => {
    const statuses = { victim: [] as number[], hog: [] as number[] }
    let stop = false
    const drive = async (name: 'victim' | 'hog', path: string) => {
      while (!stop) statuses[name].push((await p.call(path)).status)
    }
    const loops = [drive('victim', '/fn/victim'), drive('victim', '/fn/victim'), drive('hog', '/fn/hog?ms=2000'), drive('hog', '/fn/hog?ms=2000')]
    try {
      const isolated = await until('the hog to be isolated', async () => {
        const s = (await p.call('/v1/functions/hog')).json().status
        return s.isolation ? s : undefined
      }, 120_000)
      expect(isolated.isolation.by).toBe('monitor')
      expect(isolated.isolation.reason).toMatch(/cpu|throttled/)
      // Keep the load on while the move completes: old instances drain, new ones serve.
      await until('the hog to run only on the isolated node', async () => {
        const s = (await p.call('/v1/functions/hog')).json().status
        const nodes = s.instances.map((i: { node: string }) => i.node)
        return nodes.length > 0 && nodes.every((n: string) => n === 'isolated')
      }, 120_000)
      const before = statuses.hog.length
      await until('the hog to answer from its new node', async () => statuses.hog.length > before + 1, 120_000)
    } finally {
      stop = true
      await Promise.all(loops)
    }
    expect(statuses.victim.length).toBeGreaterThan(10)
    expect(statuses.victim.filter((s) => s !== 200)).toEqual([])
    expect(statuses.hog.filter((s) => s !== 200)).toEqual([])
    const victim = (await p.call('/v1/functions/victim')).json().status
    expect(victim.isolation).toBeUndefined()
    expect(victim.instances.every((i: { node: string }) => i.node === 'general')).toBe(true)

    const events = (await p.call('/v1/events?type=FunctionIsolated')).json()
    const ev = events.find((e: { function: string }) => e.function === 'hog')
    expect(ev.evidence.by).toBe('monitor')
    expect(ev.evidence.samplesOutOfRange).toBeGreaterThanOrEqual(3)
    const metrics = (await p.call('/metrics')).text
    expect(metrics).toMatch(/kiln_isolations_total\{function="hog",by="monitor"\} 1/)
  })

  it('operators isolate and release by hand', async () => {
    const iso = await p.call('/v1/functions/victim/isolate', { method: 'POST', body: JSON.stringify({ reason: 'drill' }), headers: { 'content-type': 'application/json' } })
    expect(iso.status).toBe(200)
    expect(iso.json().isolation.by).toBe('operator')
    expect((await p.call('/fn/victim')).status).toBe(200)
    expect((await p.call('/v1/functions/victim')).json().status.instances.every((i: { node: string }) => i.node === 'isolated')).toBe(true)
    const rel = await p.call('/v1/functions/victim/release', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    expect(rel.status).toBe(200)
    expect(rel.json().isolation).toBeUndefined()
    expect((await p.call('/fn/victim')).status).toBe(200)
    expect((await p.call('/v1/functions/victim')).json().status.instances.every((i: { node: string }) => i.node === 'general')).toBe(true)
    const nodes = (await p.call('/v1/nodes')).json()
    expect(nodes.map((n: { name: string }) => n.name)).toEqual(['general', 'isolated'])
    expect(nodes[1].taints[0]).toMatchObject({ key: 'kiln.dev/isolated', effect: 'NoSchedule' })
  })
})
