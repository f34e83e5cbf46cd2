// Kernel enforcement with real cgroups: limits written and read back, a memory bomb killed alone, an
// endless loop throttled and timed out, a fork bomb stopped at pids.max — while other functions answer.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { tier } from '../../helpers/tier.js'
import { until } from '../../helpers/until.js'

const FX = join(import.meta.dirname, '..', '..', 'fixtures', 'isolation')
const p0 = await startTestPlatform({ poolSize: 0 })
const { mode, reason } = p0.cgroups
await p0.stop()

describe(`kernel enforcement (cgroups ${mode})`, tier('cgroups', mode === 'none' && `no writable cgroups on this host (${reason}); run as root or under a delegated systemd unit (docs/cgroups.md)`), () => {
  let p: TestPlatform
  beforeAll(async () => {
    p = await startTestPlatform({ poolSize: 2 })
    await p.deploy('victim', join(FX, 'victim.mjs'))
  })
  afterAll(async () => { await p?.stop() })

  const victimOk = async () => (await p.call('/fn/victim')).status === 200

  it('writes the function limits into the instance cgroup (read back from the files)', async () => {
    await p.deploy('limited', join(FX, 'victim.mjs'), { resources: { cpu: 0.5, memory: '128Mi', pids: 64 } })
    const r = await p.call('/fn/limited')
    expect(r.status).toBe(200)
    const id = String(r.headers['x-kiln-instance'])
    const limits = await p.ctx.fleet.backend.readLimits!(id)
    expect(limits).toMatchObject({ cpu: 0.5, memoryBytes: 128 * 1024 * 1024, pids: 64 })
  })

  it('a memory bomb kills only its own instance: 502 saying out of memory; others keep answering', async () => {
    await p.deploy('membomb', join(FX, 'membomb.mjs'), { resources: { memory: '96Mi' }, timeoutMs: 20_000 })
    expect((await p.call('/fn/membomb?ok=1')).status).toBe(200)
    const r = await p.call('/fn/membomb')
    expect(r.status).toBe(502)
    expect(r.json().error).toBe('KILN_ERR_OUT_OF_MEMORY')
    expect(r.json().message).toMatch(/out of memory/)
    expect(await victimOk()).toBe(true)
    expect((await p.call('/fn/membomb?ok=1')).status).toBe(200)
    const ev = (await p.call('/v1/events?type=InstanceOutOfMemory')).json()
    expect(ev.some((e: { function: string }) => e.function === 'membomb')).toBe(true)
  })

  it('an endless loop is throttled to its cpu quota and answered 504 at its timeout', async () => {
    // The timeout only has to outlast the first throttled period (100 ms of cpu time at most) on a busy machine.
    await p.deploy('loop', join(FX, 'loop.mjs'), { resources: { cpu: 0.2 }, timeoutMs: 5000 })
    const warm = await p.call('/fn/loop?ok=1')
    const id = String(warm.headers['x-kiln-instance'])
    const before = (await p.ctx.fleet.backend.sample!(id))!
    let answered = false
    const pending = p.call('/fn/loop').finally(() => { answered = true })
    // While it spins, the kernel throttles it to its quota (counters, not timing).
    await until('the spinning instance to be throttled', async () => {
      if (answered) throw new Error('answered before any throttling was seen')
      const now = await p.ctx.fleet.backend.sample!(id)
      return now !== undefined && now.nrThrottled > before.nrThrottled
    }, 30_000, 20)
    const r = await pending
    expect(r.status).toBe(504)
    expect(r.json().error).toBe('KILN_ERR_FUNCTION_TIMEOUT')
    expect(await victimOk()).toBe(true)
    expect((await p.call('/fn/loop?ok=1')).headers['x-kiln-instance']).not.toBe(id)
  })

  it('a fork bomb stops at pids.max', async () => {
    await p.deploy('forkbomb', join(FX, 'forkbomb.mjs'), { resources: { pids: 48 }, timeoutMs: 20_000, reuse: 'fresh' })
    const r = await p.call('/fn/forkbomb')
    expect(r.status).toBe(200)
    const { spawned, failed } = r.json()
    expect(spawned).toBeLessThan(48)
    expect(failed).toBeGreaterThan(100)
    expect(await victimOk()).toBe(true)
  })
})
