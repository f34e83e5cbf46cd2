// The platform's one Invoker (triggers/platform-invoker.ts): a call reaches the function as an HTTP
// client's `/fn/NAME` request would, and platform failures come back as catalogue answers, not throws.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PlatformInvoker } from '../../../triggers/platform-invoker.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'

const F = join(import.meta.dirname, '../../fixtures/router')
const json = (b: Buffer) => JSON.parse(b.toString('utf8'))

describe('PlatformInvoker through the data plane', () => {
  let p: TestPlatform
  const invoker = new PlatformInvoker()

  beforeAll(async () => {
    p = await startTestPlatform()
    invoker.setOrigin(p.url)
    await p.deploy('sem', join(F, 'semantics.mjs'))
    await p.deploy('slow', join(F, 'slow-ok.mjs'))
  })

  afterAll(async () => {
    await invoker.close()
    await p?.stop()
  })

  it('gives the function the method, path, query, headers and body it was asked to', async () => {
    const res = await invoker.invoke('sem', { method: 'POST', path: '/orders?id=7', headers: { 'x-probe': 'p1', 'content-type': 'application/octet-stream' }, body: Buffer.from('12345') })
    expect(res.status).toBe(200)
    const seen = json(res.body)
    expect(seen).toMatchObject({ method: 'POST', url: '/orders?id=7', bytes: 5 })
    expect(seen.rawHeaders).toContain('x-probe')
    expect(res.headers['x-kiln-instance']).toBeTypeOf('string')
  })

  it("path '/' is the function's root, as /fn/NAME is", async () => {
    const res = await invoker.invoke('sem', { method: 'GET', path: '/', headers: {} })
    expect(json(res.body)).toMatchObject({ method: 'GET', url: '/' })
  })

  it('answers an unknown function with the status and body an HTTP client of /fn gets', async () => {
    const res = await invoker.invoke('no-such-fn', { method: 'GET', path: '/', headers: {} })
    const http = await p.call('/fn/no-such-fn')
    expect(res.status).toBe(404)
    expect(res.status).toBe(http.status)
    expect(json(res.body).error).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
    expect(json(res.body).error).toBe(http.json().error)
  })

  it('a timeoutMs shorter than the function takes answers 504 KILN_ERR_FUNCTION_TIMEOUT', async () => {
    const res = await invoker.invoke('slow', { method: 'GET', path: '/?ms=3000', headers: {}, timeoutMs: 100 })
    expect(res.status).toBe(504)
    expect(json(res.body).error).toBe('KILN_ERR_FUNCTION_TIMEOUT')
  })

  it("rejects with the signal's reason when the caller aborts", async () => {
    const ac = new AbortController()
    const reason = new Error('stop')
    const call = invoker.invoke('slow', { method: 'GET', path: '/?ms=3000', headers: {}, signal: ac.signal })
    setTimeout(() => ac.abort(reason), 50)
    await expect(call).rejects.toBe(reason)
  })

  it('answers 503 KILN_ERR_SHUTTING_DOWN before the platform listens, and throws only once closed', async () => {
    const early = new PlatformInvoker()
    const res = await early.invoke('sem', { method: 'GET', path: '/', headers: {} })
    expect(res.status).toBe(503)
    expect(json(res.body).error).toBe('KILN_ERR_SHUTTING_DOWN')
    await early.close()
    await expect(early.invoke('sem', { method: 'GET', path: '/', headers: {} })).rejects.toMatchObject({ code: 'KILN_ERR_SHUTTING_DOWN' })
  })
})
