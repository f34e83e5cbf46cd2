// The Python runtime server (runtimes/python/server.py) against docs/runtime-contract.md: process,
// platform endpoints, and invocation in the kiln shape. Real processes on 127.0.0.1; none outlive the file.
import net from 'node:net'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import {
  FIXTURES, call, sha, specialize, startPython, stopAll, waitForLine, withFunction, type PyRuntime,
} from '../../fixtures/python/runtime.js'

afterEach(stopAll)
afterAll(stopAll)

/** Raw HTTP/1.1 on one socket: sends `data`, resolves with everything read until `until` matches or EOF. */
function raw(port: number, data: string | Buffer, until: (s: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    let got = ''
    sock.setEncoding('latin1')
    sock.on('data', (d: string) => {
      got += d
      if (until(got)) {
        sock.destroy()
        resolve(got)
      }
    })
    sock.on('end', () => resolve(got))
    sock.on('error', reject)
    sock.write(data)
  })
}

describe('python runtime: process', () => {
  it('reports {port, pid} on KILN_READY_FD and answers /healthz generic', async () => {
    const rt = await startPython({ KILN_RUNTIME: 'python-3.11' })
    expect(rt.port).toBeGreaterThan(0)
    expect(rt.pid).toBe(rt.proc.pid)
    const res = await call(rt, '/healthz')
    expect(res.status).toBe(200)
    expect(res.json()).toMatchObject({ state: 'generic', runtime: 'python-3.11', function: null, pid: rt.pid, requests: 0, clean: true })
    expect(typeof res.json().uptimeMs).toBe('number')
  })

  it('exits when stdin reaches EOF under KILN_WATCH_STDIN=1', async () => {
    const rt = await startPython({ KILN_WATCH_STDIN: '1' })
    rt.proc.stdin!.end()
    expect(await rt.exited).toBe(0)
  })

  it('keeps running when stdin closes without KILN_WATCH_STDIN', async () => {
    const rt = await startPython()
    rt.proc.stdin!.end()
    await call(rt, '/healthz') // a request after the EOF is answered
    expect((await call(rt, '/healthz')).status).toBe(200)
  })

  it('exits on SIGTERM', async () => {
    const rt = await startPython()
    rt.proc.kill('SIGTERM')
    expect(await rt.exited).toBe(0)
  })

  it('answers 503 KILN_ERR_NOT_SPECIALIZED while generic, 404 under /v1/, 405 for a wrong method', async () => {
    const rt = await startPython()
    const res = await call(rt, '/anything')
    expect(res.status).toBe(503)
    expect(res.json().error).toBe('KILN_ERR_NOT_SPECIALIZED')
    expect((await call(rt, '/v1/nope', { method: 'POST' })).status).toBe(404)
    expect((await call(rt, '/v1/specialize')).status).toBe(405)
  })

  it('serves keep-alive and pipelined requests on one connection, and chunked request bodies', async () => {
    const rt = await withFunction({ entrypoint: 'echo.py' })
    const req1 = 'GET /a?x=1 HTTP/1.1\r\nhost: t\r\n\r\n'
    const req2 = 'POST /b HTTP/1.1\r\nhost: t\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n' +
      '5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n'
    const req3 = 'GET /c HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n'
    const out = await raw(rt.port, req1 + req2 + req3, () => false)
    const statuses = out.match(/HTTP\/1\.1 \d+/g)
    expect(statuses).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200'])
    expect(out).toContain('"path":"/a"')
    expect(out).toContain('"body":"hello world"')
    expect(out).toContain('"path":"/c"')
  })

  it('answers 400 to a malformed request line and closes', async () => {
    const rt = await startPython()
    const out = await raw(rt.port, 'NONSENSE\r\n\r\n', () => false)
    expect(out.startsWith('HTTP/1.1 400')).toBe(true)
  })
})

describe('python runtime: specialize and unload', () => {
  it('specializes once; the same sha256 again is 200 with nothing reloaded', async () => {
    const rt = await startPython()
    const first = await specialize(rt, { name: 'echo', entrypoint: 'echo.py', sha256: 'aa' })
    expect(first.status).toBe(200)
    expect(first.json()).toMatchObject({ state: 'specialized', function: { name: 'echo', version: '1', sha256: 'aa' } })
    expect(typeof first.json().loadMs).toBe('number')
    const again = await specialize(rt, { name: 'echo', entrypoint: 'echo.py', sha256: 'aa' })
    expect(again.status).toBe(200)
    expect(again.json().loadMs).toBe(0)
    const health = (await call(rt, '/healthz')).json()
    expect(health).toMatchObject({ state: 'specialized', function: { name: 'echo', sha256: 'aa' }, requests: 0 })
  })

  it('20 concurrent specializations with one sha256 all succeed', async () => {
    const rt = await startPython()
    const all = await Promise.all(Array.from({ length: 20 }, () => specialize(rt, { name: 'echo', entrypoint: 'echo.py', sha256: 'bb' })))
    expect(all.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(all.filter((r) => r.json().loadMs > 0).length).toBeLessThanOrEqual(1)
  })

  it('answers 409 KILN_ERR_ALREADY_SPECIALIZED for another function', async () => {
    const rt = await startPython()
    expect((await specialize(rt, { name: 'echo', entrypoint: 'echo.py', sha256: 'aa' })).status).toBe(200)
    const other = await specialize(rt, { name: 'echo', entrypoint: 'echo.py', sha256: 'cc' })
    expect(other.status).toBe(409)
    expect(other.json().error).toBe('KILN_ERR_ALREADY_SPECIALIZED')
  })

  it.each([
    ['broken/syntax.py', /syntax\.py:\d+: SyntaxError/],
    ['broken/bad_import.py', /bad_import\.py:2: ModuleNotFoundError: No module named 'no_such_module_kiln'/],
    ['broken/raises.py', /raises\.py:2: RuntimeError: broken at import/],
    ['broken/no_function.py', /no_function\.py defines none of main, handler, handle/],
    ['broken/missing.py', /missing/],
    ['functions/echo.py:nope', /no callable 'nope'/],
    // names every module or object has are never the function's own: looked up in the module itself only
    ['functions/echo.py:__class__', /no callable '__class__'/],
    ['functions/echo.py:__init__', /no callable '__init__'/],
    ['functions/returns.__class__', /no callable '__class__'/],
    ['functions/echo.py:hashlib.__class__', /no callable 'hashlib.__class__'/],
  ])('answers 422 KILN_ERR_LOAD_FAILED for %s and stays generic', async (entry, message) => {
    const rt = await startPython()
    const [dir, file] = entry.split('/')
    const res = await specialize(rt, { path: dir, entrypoint: file })
    expect(res.status).toBe(422)
    expect(res.json().error).toBe('KILN_ERR_LOAD_FAILED')
    expect(res.json().message).toMatch(message)
    expect((await call(rt, '/healthz')).json()).toMatchObject({ state: 'generic', clean: true })
    // still usable: a good function specializes next
    expect((await specialize(rt, { entrypoint: 'echo.py' })).status).toBe(200)
    expect((await call(rt, '/')).status).toBe(200)
  })

  it('answers 400 KILN_ERR_BAD_SPECIALIZE to a malformed request', async () => {
    const rt = await startPython()
    for (const body of ['not json', { function: {} }, { function: { name: 'x' }, code: { sha256: 'a' } },
      { function: { name: 'x', shape: 'soap' }, code: { path: '/tmp', sha256: 'a' } }]) {
      const res = await call(rt, '/v1/specialize', { method: 'POST', body: body as any })
      expect(res.status).toBe(400)
      expect(res.json().error).toBe('KILN_ERR_BAD_SPECIALIZE')
    }
  })

  it('takes code.path as a single file, with entrypoint naming the function', async () => {
    const rt = await startPython()
    const res = await specialize(rt, { path: `${FIXTURES}functions/returns.py`, entrypoint: 'returns.py:text' })
    expect(res.status).toBe(200)
    expect((await call(rt, '/')).text()).toBe('héllo')
  })

  it('puts the package folder on sys.path: sibling modules, packages and relative imports load; handler is a default name', async () => {
    const rt = await withFunction({ path: 'pkg', entrypoint: 'main.py' })
    expect((await call(rt, '/')).json()).toEqual({ shout: 'HI!', dep: '1.2.3' })
  })

  it('accepts a Lambda-style entrypoint "module.function"', async () => {
    const rt = await withFunction({ entrypoint: 'returns.obj' })
    expect((await call(rt, '/')).json()).toEqual({ a: 1, list: [1, 2] })
  })

  it('unload returns to generic with clean true, restores env, and drops the package modules', async () => {
    const rt = await withFunction({ entrypoint: 'env_fn.py', env: { GREETING: 'hallo' } })
    const during = (await call(rt, '/?set=yes')).json()
    expect(during).toMatchObject({ GREETING: 'hallo', SET_BY_FUNCTION: 'yes' })
    expect(during.cwd).toBe(`${FIXTURES}functions`.replace(/\/$/, ''))
    const unload = await call(rt, '/v1/unload', { method: 'POST' })
    expect(unload.status).toBe(200)
    expect(unload.json()).toMatchObject({ state: 'generic', clean: true })
    expect((await call(rt, '/')).status).toBe(503)
    expect((await call(rt, '/healthz')).json()).toMatchObject({ state: 'generic', function: null, clean: true })
    // a second function in the same process sees none of the first one's environment
    expect((await specialize(rt, { entrypoint: 'env_fn.py', sha256: 'second' })).status).toBe(200)
    expect((await call(rt, '/')).json()).toMatchObject({ GREETING: null, SET_BY_FUNCTION: null })
  })

  it('unload reports clean false when the function started a thread', async () => {
    const rt = await withFunction({ entrypoint: 'leaky.py' })
    expect((await call(rt, '/')).status).toBe(200)
    const unload = await call(rt, '/v1/unload', { method: 'POST' })
    expect(unload.json()).toMatchObject({ state: 'generic', clean: false })
    expect(unload.json().reasons.join(' ')).toContain('user-thread')
    expect((await call(rt, '/healthz')).json().clean).toBe(false)
  })

  it('unload while generic is 200 clean', async () => {
    const rt = await startPython()
    const res = await call(rt, '/v1/unload', { method: 'POST' })
    expect(res.status).toBe(200)
    expect(res.json()).toMatchObject({ state: 'generic', clean: true })
  })
})

describe('python runtime: invocation (kiln shape)', () => {
  it.each(['echo.py', 'async_echo.py'])('%s receives method, url, path, query, params, headers and req.request', async (entry) => {
    const rt = await withFunction({ entrypoint: entry })
    const res = await call(rt, '/users/42?a=1&a=2&b=x%20y&empty=', {
      method: 'PUT',
      headers: { 'x-kiln-params': '{"id":"42"}', 'x-multi': ['one', 'two'], 'X-Upper': 'v' },
      body: { hello: 'world' },
    })
    expect(res.status).toBe(200)
    const got = res.json()
    expect(got).toMatchObject({
      method: 'PUT', url: '/users/42?a=1&a=2&b=x%20y&empty=', path: '/users/42',
      query: { a: ['1', '2'], b: 'x y', empty: '' }, params: { id: '42' },
      body: { hello: 'world' }, bodyType: 'dict', requestIsReq: true, itemAccess: true,
    })
    expect(got.headers['x-multi']).toBe('one, two')
    expect(got.headers['x-upper']).toBe('v')
    expect(got.headers['content-type']).toBe('application/json')
  })

  it.each([
    ['application/json', '[1,"two",null]', [1, 'two', null], 'list'],
    ['application/x-www-form-urlencoded', 'a=1&b=2&b=3&c=%C3%A9', { a: '1', b: ['2', '3'], c: 'é' }, 'dict'],
    ['text/plain; charset=utf-8', 'plain text é', 'plain text é', 'str'],
    ['text/csv', 'a,b\n1,2', 'a,b\n1,2', 'str'],
  ])('parses a %s body', async (ctype, body, parsed, type) => {
    const rt = await withFunction({ entrypoint: 'echo.py' })
    const got = (await call(rt, '/', { method: 'POST', headers: { 'content-type': ctype }, body })).json()
    expect(got.body).toEqual(parsed)
    expect(got.bodyType).toBe(type)
  })

  it('gives bytes for other content types and None for an empty body', async () => {
    const rt = await withFunction({ entrypoint: 'echo.py' })
    const bin = Buffer.from([0, 1, 2, 255, 254])
    const got = (await call(rt, '/', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bin })).json()
    expect(got).toMatchObject({ bodyType: 'bytes', body: { len: 5, sha256: sha(bin) } })
    const empty = (await call(rt, '/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' })).json()
    expect(empty).toMatchObject({ bodyType: 'NoneType', body: null })
  })

  it('answers 400 KILN_ERR_BAD_BODY to invalid JSON', async () => {
    const rt = await withFunction({ entrypoint: 'echo.py' })
    const res = await call(rt, '/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' })
    expect(res.status).toBe(400)
    expect(res.json().error).toBe('KILN_ERR_BAD_BODY')
  })

  it.each([
    ['text', 200, 'text/plain; charset=utf-8', Buffer.from('héllo')],
    ['binary', 200, 'application/octet-stream', Buffer.from(Array.from({ length: 256 }, (_, i) => i))],
    ['none', 204, undefined, Buffer.alloc(0)],
    ['obj', 200, 'application/json; charset=utf-8', Buffer.from('{"a":1,"list":[1,2]}')],
    ['full', 201, 'text/csv', Buffer.from('a,b\n')],
    ['status_code', 202, 'application/json; charset=utf-8', Buffer.from('{"ok":true}')],
  ])('maps the return value of %s to a response', async (func, status, ctype, body) => {
    const rt = await withFunction({ entrypoint: `returns.py:${func}` })
    const res = await call(rt, '/')
    expect(res.status).toBe(status)
    expect(res.headers['content-type']).toBe(ctype)
    expect(res.body.equals(body)).toBe(true)
    if (func === 'full') {
      expect(res.headers['x-one']).toBe('1')
      expect(res.headers['x-many']).toBe('a, b')
    }
  })

  it('passes a 10 MB binary body both ways byte for byte (content-length and chunked)', async () => {
    const rt = await withFunction({ entrypoint: 'returns.py:mirror' })
    const big = Buffer.alloc(10 * 1024 * 1024)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256
    const headers = { 'content-type': 'application/octet-stream' }
    const res = await call(rt, '/', { method: 'POST', headers, body: big })
    expect(res.status).toBe(200)
    expect(res.body.length).toBe(big.length)
    expect(sha(res.body)).toBe(sha(big))
    const chunked = await call(rt, '/', { method: 'POST', headers, body: big, chunkSize: 100_000 })
    expect(sha(chunked.body)).toBe(sha(big))
  })

  it('returns a 10 MB generated body', async () => {
    const rt = await withFunction({ entrypoint: 'returns.py:big' })
    const res = await call(rt, '/')
    expect(res.body.length).toBe(10 * 1024 * 1024)
    expect(res.body[300]).toBe(300 % 251)
  })

  it.each([
    ['stream_sync', 'line 0\nline 1\nline 2\nline 3\nline 4\n', 'text/plain; charset=utf-8'],
    ['stream_async', 'chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;', 'application/octet-stream'],
  ])('streams a generator body chunked (%s)', async (func, text, ctype) => {
    const rt = await withFunction({ entrypoint: `returns.py:${func}` })
    const res = await call(rt, '/')
    expect(res.status).toBe(200)
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(res.headers['content-type']).toBe(ctype)
    expect(res.text()).toBe(text)
  })

  it('ends the connection without the last chunk when a stream fails mid-way, and keeps serving', async () => {
    const rt = await withFunction({ entrypoint: 'returns.py:stream_fails' })
    await expect(call(rt, '/')).rejects.toThrow()
    await waitForLine(rt.stderr, (l) => l.includes('RuntimeError: mid-stream'))
    expect((await call(rt, '/healthz')).status).toBe(200)
  })

  it.each(['main', 'sync_main'])('streams the request body to a function with config = {"stream": True} (%s)', async (func) => {
    const rt = await withFunction({ entrypoint: `stream_in.py:${func}` }, { KILN_MAX_BODY: '1000' })
    const big = Buffer.alloc(3 * 1024 * 1024, 7)
    const res = await call(rt, '/', { method: 'POST', body: big, chunkSize: 65536 })
    expect(res.status).toBe(200)
    expect(res.json()).toMatchObject({ len: big.length, sha256: sha(big) })
  })

  it('answers 413 KILN_ERR_BODY_TOO_LARGE past KILN_MAX_BODY (declared and chunked)', async () => {
    const rt = await withFunction({ entrypoint: 'echo.py' }, { KILN_MAX_BODY: '1000' })
    const declared = await call(rt, '/', { method: 'POST', body: Buffer.alloc(1001) })
    expect(declared.status).toBe(413)
    expect(declared.json().error).toBe('KILN_ERR_BODY_TOO_LARGE')
    const chunked = await call(rt, '/', { method: 'POST', body: Buffer.alloc(5000), chunkSize: 500 })
    expect(chunked.status).toBe(413)
    expect((await call(rt, '/', { method: 'POST', body: Buffer.alloc(1000) })).status).toBe(200)
  })

  it.each(['boom', 'boom_async', 'sys_exit'])('answers 500 KILN_ERR_FUNCTION_ERROR when %s raises, traceback on stderr, and survives', async (func) => {
    const rt = await withFunction({ name: 'thrower', entrypoint: `errors.py:${func}` })
    const res = await call(rt, '/')
    expect(res.status).toBe(500)
    expect(res.json()).toMatchObject({ error: 'KILN_ERR_FUNCTION_ERROR', function: 'thrower' })
    if (func === 'boom') expect(res.json().message).toBe('kaput')
    await waitForLine(rt.stderr, (l) => l.startsWith('Traceback'))
    expect((await call(rt, '/')).status).toBe(500)
    expect((await call(rt, '/healthz')).json().requests).toBe(2)
  })

  it.each(['sleep_sync', 'sleep_async'])('answers 504 KILN_ERR_FUNCTION_TIMEOUT when %s outlives timeoutMs', async (func) => {
    const rt = await withFunction({ name: 'sleepy', entrypoint: `errors.py:${func}`, timeoutMs: 200 })
    const res = await call(rt, '/')
    expect(res.status).toBe(504)
    expect(res.json()).toMatchObject({ error: 'KILN_ERR_FUNCTION_TIMEOUT', function: 'sleepy' })
    expect((await call(rt, '/healthz')).status).toBe(200) // the loop stays responsive
    if (func === 'sleep_sync') {
      const unload = await call(rt, '/v1/unload', { method: 'POST' })
      expect(unload.json().clean).toBe(false) // its thread is still running
    }
  })

  it('a function that calls os._exit ends the process', async () => {
    const rt = await withFunction({ entrypoint: 'errors.py:exit_now' })
    await expect(call(rt, '/')).rejects.toThrow()
    expect(await rt.exited).toBe(3)
  })

  it('applies function env at specialization', async () => {
    const rt = await withFunction({ entrypoint: 'env_fn.py', env: { GREETING: 'hej' } })
    expect((await call(rt, '/')).json().GREETING).toBe('hej')
  })

  it('runs async calls concurrently (8 calls each wait for all 8)', async () => {
    const rt = await withFunction({ entrypoint: 'concurrent_fn.py:main' })
    const all = await Promise.all(Array.from({ length: 8 }, () => call(rt, '/')))
    expect(all.map((r) => r.text())).toEqual(Array(8).fill('ok'))
  })

  it('runs sync calls concurrently on worker threads (4 calls meet at a barrier)', async () => {
    const rt = await withFunction({ entrypoint: 'concurrent_fn.py:sync_main' })
    const all = await Promise.all(Array.from({ length: 4 }, () => call(rt, '/')))
    expect(all.map((r) => r.status)).toEqual([200, 200, 200, 200])
    expect(new Set(all.map((r) => r.text())).size).toBe(4)
  })

  it('writes the function\'s print() lines to stdout and stderr', async () => {
    const rt = await withFunction({ entrypoint: 'errors.py:logs' })
    expect((await call(rt, '/?tag=t1')).text()).toBe('logged')
    await waitForLine(rt.stdout, (l) => l === 'to stdout t1')
    await waitForLine(rt.stderr, (l) => l === 'to stderr t1')
  })

  it('counts requests in /healthz', async () => {
    const rt: PyRuntime = await withFunction({ entrypoint: 'echo.py' })
    for (let i = 0; i < 3; i++) await call(rt, '/')
    expect((await call(rt, '/healthz')).json()).toMatchObject({ state: 'specialized', requests: 3, clean: true })
  })
})
