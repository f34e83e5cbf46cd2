// The Python runtime's other calling conventions: openfaas (python3-http template) and lambda (API Gateway
// HTTP API, payload format 2.0); fission is the kiln shape.
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { call, stopAll, withFunction } from '../../fixtures/python/runtime.js'

afterEach(stopAll)
afterAll(stopAll)

describe('python runtime: openfaas shape', () => {
  it('calls handle(event, context) and formats {statusCode, body, headers}', async () => {
    const rt = await withFunction({ path: 'openfaas', entrypoint: 'handler.py', shape: 'openfaas' })
    const res = await call(rt, '/some/path?q=1&q=2', {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-custom': 'yes' }, body: '{"raw":true}',
    })
    expect(res.status).toBe(201)
    expect(res.headers['x-shape']).toBe('openfaas')
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.json()).toMatchObject({
      method: 'POST', path: '/some/path', body: '{"raw":true}', bodyType: 'bytes', q: '1', qs: ['1', '2'], header: 'yes',
    })
  })

  it('answers a returned string as text/html, as the template (Flask) does', async () => {
    const rt = await withFunction({ path: 'openfaas', entrypoint: 'handler.py:text', shape: 'openfaas' })
    const res = await call(rt, '/', { method: 'POST', body: 'abc' })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.text()).toBe('plain abc')
  })
})

describe('python runtime: lambda shape', () => {
  it('passes a payload 2.0 event and maps {statusCode, headers, cookies, body}', async () => {
    const rt = await withFunction({ name: 'lam', path: 'lambda', entrypoint: 'lambda_function.py', shape: 'lambda', timeoutMs: 5000 })
    const res = await call(rt, '/items/7?a=1&a=2&b=3', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', cookie: 'c1=v1; c2=v2', 'x-kiln-params': '{"id":"7"}' },
      body: 'hi',
    })
    expect(res.status).toBe(200)
    expect(res.headers['x-shape']).toBe('lambda')
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2'])
    const ev = res.json()
    expect(ev).toMatchObject({
      version: '2.0', rawPath: '/items/7', rawQueryString: 'a=1&a=2&b=3', query: { a: '1,2', b: '3' }, method: 'POST',
      cookies: ['c1=v1', 'c2=v2'], body: 'hi', isBase64Encoded: false, pathParameters: { id: '7' },
      functionName: 'lam', remainingPositive: true,
    })
    expect(ev.headers['content-type']).toBe('text/plain')
    expect(ev.headers.cookie).toBeUndefined()
  })

  it('base64-encodes a binary request body in the event', async () => {
    const rt = await withFunction({ path: 'lambda', entrypoint: 'lambda_function.py', shape: 'lambda' })
    const bin = Buffer.from([0, 159, 146, 150])
    const ev = (await call(rt, '/', { method: 'POST', headers: { 'content-type': 'image/png' }, body: bin })).json()
    expect(ev.isBase64Encoded).toBe(true)
    expect(Buffer.from(ev.body, 'base64').equals(bin)).toBe(true)
  })

  it('answers a bare return value as 200 JSON', async () => {
    const rt = await withFunction({ path: 'lambda', entrypoint: 'lambda_function.bare', shape: 'lambda' })
    const res = await call(rt, '/')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.json()).toEqual({ hello: 'world' })
  })

  it('decodes an isBase64Encoded response body', async () => {
    const rt = await withFunction({ path: 'lambda', entrypoint: 'lambda_function.py:binary', shape: 'lambda' })
    const res = await call(rt, '/')
    expect(res.headers['content-type']).toBe('application/octet-stream')
    expect(res.body.equals(Buffer.from(Array.from({ length: 256 }, (_, i) => i)))).toBe(true)
  })
})

describe('python runtime: fission shape', () => {
  it('is the kiln shape', async () => {
    const rt = await withFunction({ entrypoint: 'returns.py:obj', shape: 'fission' })
    expect((await call(rt, '/')).json()).toEqual({ a: 1, list: [1, 2] })
  })
})
