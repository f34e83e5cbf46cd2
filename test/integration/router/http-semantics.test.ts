// What the router keeps of HTTP on the way through: hop-by-hop headers dropped both ways, X-Forwarded-*
// and a request id set, HEAD / 204 / 304 without bodies, chunked and content-length bodies both ways,
// Expect: 100-continue, repeated headers kept both ways, and the same through a user route with params.
import { Agent, request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestPlatform } from '../../helpers/platform.js'
import { fixture, raw, rawValues, routerPlatform } from './setup.js'

let p: TestPlatform
beforeAll(async () => {
  p = await routerPlatform()
  await p.deploy('sem', fixture('semantics.mjs'))
  const r = await p.call('/v1/triggers', { method: 'POST', body: JSON.stringify({ spec: { method: 'ANY', path: '/shop/:shop/items/:item', function: 'sem' } }), headers: { 'content-type': 'application/json' } })
  expect(r.status, r.text).toBeLessThan(300)
})
afterAll(async () => { await p?.stop() })

interface Echo { method: string; url: string; params: Record<string, string>; rawHeaders: string[]; bytes: number }
const echo = (r: { body: Buffer }) => JSON.parse(r.body.toString()) as Echo

describe('router: request headers', () => {
  it('drops hop-by-hop request headers, including those named by Connection', async () => {
    const r = await raw(`${p.url}/fn/sem/echo`, {
      headers: {
        connection: 'keep-alive, x-drop-me', 'x-drop-me': 'secret', 'keep-alive': 'timeout=5', te: 'trailers',
        'proxy-authorization': 'Basic eA==', 'proxy-connection': 'keep-alive', 'x-keep-me': 'yes',
      },
    })
    expect(r.status).toBe(200)
    const seen = echo(r).rawHeaders.filter((_, i) => i % 2 === 0).map((k) => k.toLowerCase())
    for (const h of ['x-drop-me', 'keep-alive', 'te', 'proxy-authorization', 'proxy-connection', 'trailer', 'expect', 'upgrade']) expect(seen).not.toContain(h)
    expect(rawValues(echo(r).rawHeaders, 'connection').join()).not.toContain('x-drop-me')
    expect(rawValues(echo(r).rawHeaders, 'x-keep-me')).toEqual(['yes'])
  })

  it('sets X-Forwarded-For (appending), -Proto, -Host and a request id that comes back on the response', async () => {
    const r = await raw(`${p.url}/fn/sem/echo`, { headers: { 'x-forwarded-for': '203.0.113.7', host: 'api.example.test:8443' } })
    const h = echo(r).rawHeaders
    expect(rawValues(h, 'x-forwarded-for')).toEqual(['203.0.113.7, 127.0.0.1'])
    expect(rawValues(h, 'x-forwarded-proto')).toEqual(['http'])
    expect(rawValues(h, 'x-forwarded-host')).toEqual(['api.example.test:8443'])
    const id = rawValues(h, 'x-request-id')
    expect(id).toHaveLength(1)
    expect(id[0].length).toBeGreaterThan(0)
    expect(r.headers['x-request-id']).toBe(id[0])
  })

  it('keeps a request id the client sent', async () => {
    const r = await raw(`${p.url}/fn/sem/echo`, { headers: { 'x-request-id': 'client-chosen-42' } })
    expect(rawValues(echo(r).rawHeaders, 'x-request-id')).toEqual(['client-chosen-42'])
    expect(r.headers['x-request-id']).toBe('client-chosen-42')
  })

  it('keeps repeated request headers as separate lines, in order', async () => {
    const r = await raw(`${p.url}/fn/sem/echo`, { headers: { 'x-multi': ['first', 'second'] } })
    expect(rawValues(echo(r).rawHeaders, 'x-multi')).toEqual(['first', 'second'])
  })

  it('gives a user route its path params and the whole path', async () => {
    const r = await raw(`${p.url}/shop/s1/items/i%202?q=1`, { method: 'POST', body: 'abc', headers: { 'content-type': 'text/plain' } })
    expect(r.status).toBe(200)
    const e = echo(r)
    expect(e).toMatchObject({ method: 'POST', url: '/shop/s1/items/i%202?q=1', bytes: 3 })
    expect(e.params).toEqual({ shop: 's1', item: 'i 2' })
  })
})

describe('router: response headers', () => {
  it('keeps repeated response headers (two set-cookie, two x-multi-out)', async () => {
    const r = await raw(`${p.url}/fn/sem/cookies`)
    expect(r.status).toBe(200)
    expect(rawValues(r.rawHeaders, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2; Path=/'])
    expect(rawValues(r.rawHeaders, 'x-multi-out')).toEqual(['one', 'two'])
    expect(r.body.toString()).toBe('cookies')
  })

  it('drops hop-by-hop response headers, including those named by the function\'s Connection', async () => {
    const r = await raw(`${p.url}/fn/sem/hop`)
    expect(r.status).toBe(200)
    expect(r.headers['proxy-authenticate']).toBeUndefined()
    expect(r.headers['x-secret-hop']).toBeUndefined()
    expect(r.headers['x-kept']).toBe('yes')
    expect(r.body.toString()).toBe('hop')
  })
})

describe('router: bodies and status codes', () => {
  it('HEAD answers headers and no body', async () => {
    const r = await raw(`${p.url}/fn/sem/text`, { method: 'HEAD' })
    expect(r.status).toBe(200)
    expect(r.body.length).toBe(0)
  })

  it('204 and 304 carry no body and leave the keep-alive connection usable', async () => {
    // One socket for all three: a stray body byte after 204/304 would break the next response's parse.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const get = (path: string) => new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
      httpRequest(`${p.url}${path}`, { agent }, (res) => {
        let body = ''
        res.on('data', (c) => (body += c))
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }))
      }).on('error', reject).end()
    })
    try {
      const a = await get('/fn/sem/204')
      const b = await get('/fn/sem/304')
      const c = await get('/fn/sem/text')
      expect([a.status, a.body]).toEqual([204, ''])
      expect([b.status, b.body, b.headers.etag]).toEqual([304, '', '"v1"'])
      expect([c.status, c.body]).toEqual([200, 'hello from semantics'])
      expect(a.headers['content-length']).toBeUndefined()
    } finally {
      agent.destroy()
    }
  })

  it('passes a content-length response as content-length and a streamed one as chunked', async () => {
    const fixed = await raw(`${p.url}/fn/sem/text`)
    expect(fixed.headers['content-length']).toBe(String(Buffer.byteLength('hello from semantics')))
    expect(fixed.headers['transfer-encoding']).toBeUndefined()
    const streamed = await raw(`${p.url}/fn/sem/chunked`)
    expect(streamed.headers['transfer-encoding']).toBe('chunked')
    expect(streamed.headers['content-length']).toBeUndefined()
    expect(streamed.body.toString()).toBe('part1-part2-part3')
  })

  it('streams a content-length request body and a chunked one whole', async () => {
    const body = Buffer.alloc(300_000, 7)
    const fixed = await raw(`${p.url}/fn/sem/echo`, { method: 'PUT', body, headers: { 'content-length': String(body.length), 'content-type': 'application/octet-stream' } })
    expect(echo(fixed).bytes).toBe(body.length)
    expect(rawValues(echo(fixed).rawHeaders, 'content-length')).toEqual([String(body.length)])
    const chunked = await raw(`${p.url}/fn/sem/echo`, { method: 'PUT', body, headers: { 'transfer-encoding': 'chunked', 'content-type': 'application/octet-stream' } })
    expect(echo(chunked).bytes).toBe(body.length)
  })

  it('answers Expect: 100-continue with 100 Continue, then streams the body; the function never sees Expect', async () => {
    const body = Buffer.alloc(50_000, 1)
    const r = await raw(`${p.url}/fn/sem/echo`, { method: 'POST', body, expectContinue: true, headers: { expect: '100-continue', 'content-length': String(body.length) } })
    expect(r.continued).toBe(true)
    expect(r.status).toBe(200)
    expect(echo(r).bytes).toBe(body.length)
    expect(rawValues(echo(r).rawHeaders, 'expect')).toEqual([])
  })
})

describe('router: paths the platform keeps', () => {
  it.each(['/v1/x', '/fn/x', '/wf/x', '/healthz', '/metrics', '/internal/node-load'])('a route on %s is refused with 400 naming spec.path', async (path) => {
    const r = await p.call('/v1/triggers', { method: 'POST', body: JSON.stringify({ spec: { method: 'GET', path, function: 'sem' } }), headers: { 'content-type': 'application/json' } })
    expect(r.status).toBe(400)
    expect(r.text).toContain('spec.path')
    expect(r.text).toContain('reserved')
  })
})
