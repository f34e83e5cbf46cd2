// Functions written for Fission's Python environment load unchanged in Kiln's Python runtime: a handler
// with no parameters reading Flask's `request`, returning a string, bytes, a tuple, a dict or a Flask
// Response, under every entrypoint form Fission writes (`func` for main.func, `module.func`,
// `package.module.func`, none for main.main; a single file). Served by the runtime's own Flask stand-in,
// or by the real Flask when the function ships it in requirements.txt.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { buildPackage } from '../../../runtimes/builder/index.js'
import { unpackArchive } from '../../../core/package-archive.js'
import { call, FIXTURES, startPython, stopAll, specialize, type PyRuntime } from '../../fixtures/python/runtime.js'

const dirs: string[] = []
afterEach(stopAll)
afterAll(async () => {
  await stopAll()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

/** Builds the fixture as `kiln fn deploy` / `kiln apply` would, and specializes a fresh runtime with it. */
async function load(source: string, entrypoint: string | undefined, env: Record<string, string> = {}): Promise<{ rt: PyRuntime; entry: string; shape: string | undefined; sha: string }> {
  const built = await buildPackage({ source: join(FIXTURES, 'fission', source), runtime: 'python', entrypoint })
  const dir = await mkdtemp(join(tmpdir(), 'kiln-pyfission-'))
  dirs.push(dir)
  await unpackArchive(built.archive, dir)
  const rt = await startPython(env)
  const res = await specialize(rt, { path: dir, entrypoint: built.entrypoint, shape: 'fission', sha256: built.sha256 })
  if (res.status !== 200) throw new Error(`specialize: ${res.status} ${res.text()}`)
  return { rt, entry: built.entrypoint, shape: built.shape.shape, sha: built.sha256 }
}

describe('python runtime: Fission environment functions (Flask request, no parameters)', () => {
  it('no entrypoint is main.main: the request through flask.request; a str answers 200 text/html', async () => {
    const { rt, entry, shape } = await load('app', undefined)
    expect(entry).toBe('main.py')
    expect(shape).toBe('fission')
    const res = await call(rt, '/sub/path?name=Ada', { method: 'POST', headers: { 'x-test': 'yes', 'content-type': 'text/plain' }, body: 'payload' })
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.text()).toBe('method=POST path=/sub/path name=Ada header=yes body=payload')
  })

  it('`func` is a function of main.py; tuple, bytes, dict, Response, abort and JSON follow Flask', async () => {
    const tuple = (await load('app', 'as_tuple')).rt
    const t = await call(tuple, '/')
    expect([t.status, t.headers['x-kind'], t.text()]).toEqual([201, 'tuple', 'made'])

    const b = await call((await load('app', 'as_bytes')).rt, '/')
    expect(b.status).toBe(200)
    expect(b.body.equals(Buffer.from('\x00\x01binary', 'latin1'))).toBe(true)

    const d = await call((await load('app', 'as_dict')).rt, '/?a=1&a=2')
    expect(d.headers['content-type']).toBe('application/json')
    expect(d.json()).toEqual({ dict: true, args: ['1', '2'] })

    const r = await call((await load('app', 'as_response')).rt, '/')
    expect([r.status, r.headers['content-type'], r.headers['x-kind'], r.text()]).toEqual([202, 'text/plain; charset=utf-8', 'response', 'plain text'])

    const n = await call((await load('app', 'not_found')).rt, '/')
    expect(n.status).toBe(404)
    expect(n.text()).toContain('nothing here')

    const j = await call((await load('app', 'echo_json')).rt, '/', { method: 'POST', body: { a: 1 } })
    expect(j.json()).toEqual({ got: { a: 1 }, isJson: true, form: {} })
  })

  it('a handler returning None is the function\'s error (500), as Flask refuses it', async () => {
    const res = await call((await load('app', 'none')).rt, '/')
    expect(res.status).toBe(500)
    expect(res.json().error).toBe('KILN_ERR_FUNCTION_ERROR')
  })

  it('`module.func` and `package.module.func`', async () => {
    const m = await load('app', 'hello.hello')
    expect(m.entry).toBe('hello.py:hello')
    expect((await call(m.rt, '/')).text()).toBe('hello from module.func')
    const p = await load('app', 'pkg.mod.fn')
    expect(p.entry).toBe('pkg/mod.py:fn')
    expect((await call(p.rt, '/?x=7')).text()).toBe('package.module.func 7')
  })

  it('a single-file package (Fission\'s hello world, no Flask import): main by default, or the function named', async () => {
    const s = await load('single/user.py', undefined)
    expect((await call(s.rt, '/')).text()).toBe('Hello, world!\n')
    const named = await load('single/user.py', 'user.main')
    expect(named.entry).toBe('user.py:main')
    expect((await call(named.rt, '/')).text()).toBe('Hello, world!\n')
  })

  it('concurrent calls each read their own request', async () => {
    const { rt } = await load('app', 'thread_name')
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call(rt, `/?n=${i}`)))
    expect(answers.map((a) => a.text())).toEqual(Array.from({ length: 20 }, (_, i) => `${i} True`))
  })

  it('the runtime imports no Flask for Kiln-shape functions, and the stand-in leaves with the function', async () => {
    const rt = await startPython()
    const res = await specialize(rt, { path: 'functions', entrypoint: 'echo.py', shape: 'kiln' })
    expect(res.status).toBe(200)
    const health = await call(rt, '/healthz')
    expect(health.json().clean).toBe(true)
    const { rt: f } = await load('app', undefined)
    expect((await call(f, '/v1/unload', { method: 'POST', body: {} })).json().clean).toBe(true)
  })

  it('with Flask in its requirements.txt, the real Flask serves the same handler; the package builds the same twice', async () => {
    const again = await buildPackage({ source: join(FIXTURES, 'fission', 'realflask'), runtime: 'python' })
    const { rt, sha } = await load('realflask', undefined)
    // Reproducible (no .pyc stamps): `kiln apply` of an unchanged folder must not roll the function.
    expect(sha).toBe(again.sha256)
    const res = await call(rt, '/?name=Ada', { method: 'POST', body: { k: 'v' } })
    expect(res.status).toBe(200)
    expect(res.json()).toEqual({ real: true, name: 'Ada', json: { k: 'v' } })
  }, 180_000)
})
