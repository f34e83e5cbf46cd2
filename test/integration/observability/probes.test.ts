// /livez and /readyz: live while the process answers; ready once started and every runtime's generic
// pool (known at start) has been full once, or the instance budget stopped it filling.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { until } from '../../helpers/until.js'

interface Report { ready: boolean; checks: Record<string, string>; advisory: Record<string, string> }

describe('probes', () => {
  const started: TestPlatform[] = []
  let dataDir: string | undefined
  afterAll(async () => {
    for (const p of started) await p.stop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('not ready while a runtime\'s pool has never been full; ready once it is no longer waited for', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kiln-probes-'))
    // A runtime whose instances never boot, stored before the platform that serves it starts.
    const first = await startTestPlatform({ poolSize: 0 }, dataDir)
    const rt = await first.call('/v1/runtimes', { method: 'POST', body: JSON.stringify({ metadata: { name: 'broken' }, spec: { command: ['/bin/false'], poolSize: 1 } }), headers: { 'content-type': 'application/json' } })
    expect(rt.status).toBe(201)
    await first.stop()

    const p = await startTestPlatform({ poolSize: 1 }, dataDir)
    started.push(p)
    const live = await p.call('/livez')
    expect(live.status).toBe(200)
    expect(live.json()).toEqual({ live: true })

    // node and python fill; broken never does.
    const waiting = await until('only the broken pool to be waited for', async () => {
      const r = await p.call('/readyz')
      const body = r.json() as Report
      return r.status === 503 && /^generic pools filling: broken 0\/1$/.test(body.checks.pools) && body
    })
    expect(waiting).toEqual({ ready: false, checks: { started: 'ok', pools: 'generic pools filling: broken 0/1' }, advisory: { 'state-store': 'ok' } })

    expect((await p.call('/v1/runtimes/broken', { method: 'DELETE' })).status).toBe(200)
    const ready = await until('ready', async () => {
      const r = await p.call('/readyz')
      return r.status === 200 && (r.json() as Report)
    })
    expect(ready).toEqual({ ready: true, checks: { started: 'ok', pools: 'ok' }, advisory: { 'state-store': 'ok' } })
  })

  it('a pool the instance budget cannot fill does not keep the platform unready', async () => {
    const p = await startTestPlatform({ poolSize: 3, instanceBudget: 1 })
    started.push(p)
    await until('ready', async () => (await p.call('/readyz')).status === 200)
    const pools = (await p.call('/v1/pools')).json() as { target: number; ready: number }[]
    expect(pools.every((x) => x.target === 3)).toBe(true)
    expect(pools.reduce((n, x) => n + x.ready, 0)).toBeLessThanOrEqual(1)
  })

  it('readiness, once reached, stays when a pool is resized above what it holds', async () => {
    const p = await startTestPlatform({ poolSize: 1 })
    started.push(p)
    await until('ready', async () => (await p.call('/readyz')).status === 200)
    await p.call('/v1/pools/node', { method: 'PUT', body: JSON.stringify({ size: 3 }), headers: { 'content-type': 'application/json' } })
    const r = await p.call('/readyz')
    expect(r.status).toBe(200)
  })

  it('/livez and /readyz cannot be taken by a user route', async () => {
    const p = started[started.length - 1]
    for (const path of ['/livez', '/readyz']) {
      const r = await p.call('/v1/triggers', { method: 'POST', body: JSON.stringify({ spec: { method: 'GET', path, function: 'x' } }), headers: { 'content-type': 'application/json' } })
      expect(r.status).toBe(400)
      expect(r.json().error).toBe('KILN_ERR_VALIDATION')
    }
  })
})
