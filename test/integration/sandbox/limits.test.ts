// The operator's limits for every function (kiln.yaml sandbox.limits): what a function gets when it asks
// for nothing, what it gets when it asks for less or more, and the deploy refused beyond the maximum.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { SANDBOX } from '../../helpers/sandbox-tier.js'

const PROBE = join(import.meta.dirname, '..', '..', 'fixtures', 'sandbox', 'probe.mjs')
const MiB = 1024 * 1024

describe('operator limits for functions', SANDBOX, () => {
  let p: TestPlatform
  beforeAll(async () => {
    p = await startTestPlatform({
      poolSize: 1,
      sandbox: {
        limits: {
          default: { memory: '256Mi', pids: 512, openFiles: 2048, fileSize: '64Mi', tmp: '16Mi' },
          max: { memory: '1Gi', pids: 4096, openFiles: 8192, fileSize: '1Gi', tmp: '256Mi' },
        },
      },
    })
  })
  afterAll(async () => { await p?.stop() })

  const put = (name: string, resources: Record<string, unknown>) => p.call(`/v1/functions/${name}`, {
    method: 'PUT', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { name }, spec: { runtime: 'node', package: { sha256: 'a'.repeat(64) }, entrypoint: 'index.mjs', resources } }),
  })
  const post = (fn: string, body: unknown) => p.call(`/fn/${fn}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  const limitsOf = async (fn: string) => {
    const r = await post(fn, { action: 'whoami' })
    expect(r.status, r.text).toBe(200)
    return p.ctx.fleet.backend.readLimits!(String(r.headers['x-kiln-instance']))
  }

  it('refuses a function asking for more than the operator maximum, naming the field', async () => {
    for (const [resources, field] of [[{ memory: '2Gi' }, 'spec.resources.memory'], [{ tmp: '1Gi' }, 'spec.resources.tmp'], [{ openFiles: 100_000 }, 'spec.resources.openFiles'], [{ pids: 5000 }, 'spec.resources.pids'], [{ fileSize: '2Gi' }, 'spec.resources.fileSize']] as const) {
      const r = await put('too-big', resources)
      expect(r.status, r.text).toBe(400)
      expect(r.json()).toMatchObject({ error: 'KILN_ERR_VALIDATION', field })
    }
    expect((await p.call('/v1/functions/too-big')).status).toBe(404)
  })

  it('a function asking for nothing gets the defaults; one asking for less or more (within the maximum) gets that', async (ctx) => {
    if (p.cgroups.mode === 'none') ctx.skip()
    await p.deploy('defaults', PROBE)
    expect(await limitsOf('defaults')).toMatchObject({ memoryBytes: 256 * MiB, pids: 512 })
    await p.deploy('smaller', PROBE, { resources: { memory: '128Mi', pids: 64 } })
    expect(await limitsOf('smaller')).toMatchObject({ memoryBytes: 128 * MiB, pids: 64 })
    await p.deploy('larger', PROBE, { resources: { memory: '768Mi' } })
    expect(await limitsOf('larger')).toMatchObject({ memoryBytes: 768 * MiB, pids: 512 })
  })

  it('a private /tmp of the default size, or of the size a function asks for', async () => {
    await p.deploy('tmp-default', PROBE)
    expect((await post('tmp-default', { action: 'bigfile', bytes: 64 * MiB })).json()).toEqual({ written: 16 * MiB, code: 'ENOSPC' })
    await p.deploy('tmp-small', PROBE, { resources: { tmp: '4Mi' } })
    expect((await post('tmp-small', { action: 'bigfile', bytes: 64 * MiB })).json()).toEqual({ written: 4 * MiB, code: 'ENOSPC' })
    await p.deploy('tmp-large', PROBE, { resources: { tmp: '32Mi', fileSize: '128Mi' } })
    expect((await post('tmp-large', { action: 'bigfile', bytes: 64 * MiB })).json()).toEqual({ written: 32 * MiB, code: 'ENOSPC' })
  })
})
