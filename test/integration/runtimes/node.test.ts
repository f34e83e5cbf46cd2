// What the Node runtime does beyond the shared contract (test/conformance covers the contract):
// module formats and export resolution, load errors, response shorthands, the clean flag of unload,
// environment restore, stdin watching, Fission callbacks and the other shapes' edge cases.
import { createHash } from 'node:crypto'
import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { NODE_RUNTIME, buildNodeRuntime } from '../../helpers/build-runtime.js'
import { call, postJson } from '../../helpers/http.js'
import { type RuntimeProcess, startRuntime, stopAllRuntimes } from '../../helpers/runtime-process.js'

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'functions', 'node-runtime')
const sha = (s: string) => createHash('sha256').update(s).digest('hex')

beforeAll(async () => {
  await buildNodeRuntime()
})
afterEach(stopAllRuntimes)

const boot = (env?: Record<string, string>) => startRuntime([process.execPath, NODE_RUNTIME], { env })

function specialize(p: RuntimeProcess, entrypoint: string, more: { shape?: string; env?: Record<string, string>; path?: string; name?: string } = {}) {
  return postJson(`${p.url}/v1/specialize`, {
    function: { name: more.name ?? entrypoint, version: '1', entrypoint, env: more.env, shape: more.shape },
    code: { path: more.path ?? fixtures, sha256: sha((more.name ?? '') + entrypoint) },
  })
}

async function serve(entrypoint: string, more: Parameters<typeof specialize>[2] = {}) {
  const p = await boot()
  const r = await specialize(p, entrypoint, more)
  expect(r.status, r.text()).toBe(200)
  return p
}

const unload = (p: RuntimeProcess) => call(`${p.url}/v1/unload`, { method: 'POST' }).then((r) => r.json())

describe('node runtime: process', () => {
  it('writes exactly one JSON ready line {port, pid} to KILN_READY_FD', async () => {
    const child = spawn(process.execPath, [NODE_RUNTIME], { env: { ...process.env, PORT: '0', KILN_READY_FD: '3' }, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] })
    try {
      let text = ''
      for await (const c of child.stdio[3] as AsyncIterable<Buffer>) text += c.toString() // ends when the runtime closes the fd
      expect(text).toMatch(/^\{"port":\d+,"pid":\d+\}\n$/)
      expect(JSON.parse(text).pid).toBe(child.pid)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('exits when stdin reaches EOF under KILN_WATCH_STDIN=1', async () => {
    const p = await boot()
    p.child.stdin!.end()
    expect(await p.exited).toBe(0)
  })

  it('platform paths answer 404/405 for unknown endpoints and methods', async () => {
    const p = await boot()
    expect((await call(`${p.url}/v1/nothing`, { method: 'POST' })).status).toBe(404)
    expect((await call(`${p.url}/v1/specialize`)).status).toBe(405)
  })
})

describe('node runtime: loading', () => {
  it('a .js file under package.json type module loads as ESM; a named export via file:export', async () => {
    const p = await serve('esm-js/index.js:handler')
    expect((await call(`${p.url}/`)).text()).toBe('esm .js')
  })

  it('without an export name a CommonJS module exporting `main` is used; `file:other` picks another', async () => {
    let p = await serve('named.cjs')
    expect((await call(`${p.url}/`)).text()).toBe('main export')
    p = await serve('named.cjs:other')
    expect((await call(`${p.url}/`)).text()).toBe('other export')
  })

  it('code.path may be the module file itself', async () => {
    let p = await serve('', { path: join(fixtures, 'counter.mjs'), name: 'single' })
    expect((await call(`${p.url}/`)).text()).toBe('1')
    p = await serve('other', { path: join(fixtures, 'named.cjs'), name: 'single-named' })
    expect((await call(`${p.url}/`)).text()).toBe('other export')
  })

  it("accepts Fission / Lambda style 'file.export'", async () => {
    const p = await serve('named.other')
    expect((await call(`${p.url}/`)).text()).toBe('other export')
  })

  it('load errors are 422 with file:line: a throw at import, a CommonJS syntax error, no function', async () => {
    const p = await boot()
    const a = await specialize(p, 'throw-at-import.mjs')
    expect(a.status).toBe(422)
    expect(a.json().message).toMatch(/^throw-at-import\.mjs:2:\d+: Error: import time failure 1/)
    const b = await specialize(p, 'broken.cjs')
    expect(b.status).toBe(422)
    expect(b.json().message).toMatch(/^broken\.cjs:3: SyntaxError/)
    const c = await specialize(p, 'no-export.mjs')
    expect(c.status).toBe(422)
    expect(c.json().message).toContain('no function found')
    const d = await specialize(p, 'named.cjs:missing')
    expect(d.status).toBe(422)
    expect(await call(`${p.url}/healthz`).then((r) => r.json().state)).toBe('generic')
  })

  it('an export name every object or function inherits never resolves (422, the instance stays generic)', async () => {
    const p = await boot()
    for (const entry of ['named.cjs:constructor', 'named.cjs:toString', 'named.cjs:__proto__', 'named.cjs:hasOwnProperty',
      'fission-callback.cjs:call', 'fission-callback.cjs:bind', 'counter.mjs:constructor', 'named.constructor']) {
      const r = await specialize(p, entry)
      expect(r.status, entry).toBe(422)
      expect(r.json().error).toBe('KILN_ERR_LOAD_FAILED')
    }
    expect(await call(`${p.url}/healthz`).then((r) => r.json().state)).toBe('generic')
    expect((await specialize(p, 'named.cjs:other')).status).toBe(200)
  })

  it('unload then specialize evaluates the module again (CommonJS and ESM)', async () => {
    for (const f of ['counter.cjs', 'counter.mjs']) {
      const p = await serve(f)
      expect((await call(`${p.url}/`)).text()).toBe('1')
      expect((await call(`${p.url}/`)).text()).toBe('2')
      expect((await unload(p)).clean).toBe(true)
      expect((await specialize(p, f)).status).toBe(200)
      expect((await call(`${p.url}/`)).text()).toBe('1')
    }
  })
})

describe('node runtime: responses', () => {
  it('shorthands: string, Buffer, undefined, plain objects and arrays, statusCode, repeated headers', async () => {
    const p = await serve('shorthands.mjs')
    const get = (kind: string) => call(`${p.url}/?kind=${kind}`)
    let r = await get('string')
    expect([r.status, r.headers['content-type'], r.text()]).toEqual([200, 'text/plain; charset=utf-8', 'plain'])
    r = await get('buffer')
    expect([r.status, r.headers['content-type'], [...r.body]]).toEqual([200, 'application/octet-stream', [1, 2, 3]])
    r = await get('undefined')
    expect([r.status, r.body.length]).toEqual([204, 0])
    r = await get('object')
    expect([r.status, r.headers['content-type'], r.json()]).toEqual([200, 'application/json; charset=utf-8', { headers: { a: 1 } }])
    expect((await get('array')).json()).toEqual([1, 'two'])
    expect((await get('number')).text()).toBe('42')
    r = await get('statusCode')
    expect([r.status, r.json()]).toEqual([202, { ok: true }])
    r = await get('headers')
    expect([r.headers['x-a'], r.headers['content-type'], r.text()]).toEqual([['1', '2'], 'text/csv', 'a,b'])
    r = await get('raw')
    expect([r.status, r.headers['x-raw'], r.text()]).toEqual([207, 'yes', 'written raw'])
  })

  it('an invalid JSON body is 400 KILN_ERR_BAD_REQUEST_BODY', async () => {
    const p = await serve('bad-json.mjs')
    const r = await call(`${p.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' })
    expect(r.status).toBe(400)
    expect(r.json().error).toBe('KILN_ERR_BAD_REQUEST_BODY')
  })
})

describe('node runtime: unload and cleanliness', () => {
  it('a function that leaves a timer makes unload report clean: false', async () => {
    const p = await serve('leaky.mjs')
    expect((await call(`${p.url}/`)).text()).toBe('leaked')
    expect((await call(`${p.url}/healthz`)).json().clean).toBe(false)
    const u = await unload(p)
    expect(u.clean).toBe(false)
    expect(u.leftovers.join(' ')).toContain('Timeout')
  })

  it('many keep-alive connections from the platform do not make an instance unclean', async () => {
    const p = await serve('counter.cjs')
    await Promise.all(Array.from({ length: 6 }, () => call(`${p.url}/`)))
    expect((await unload(p)).clean).toBe(true)
  })

  it('env given at specialize and changes the function made are undone by unload', async () => {
    const p = await serve('touches-env.mjs', { env: { KILN_GIVEN: '1' } })
    expect((await call(`${p.url}/`)).text()).toBe('touched')
    expect((await unload(p)).clean).toBe(true)
    // the env fixture of the same instance now sees the original environment
    expect((await specialize(p, 'shorthands.mjs')).status).toBe(200)
    const q = await postJson(`${p.url}/v1/unload`, {})
    expect(q.json().clean).toBe(true)
  })

  it('an unhandled rejection does not stop the server but the instance is no longer clean', async () => {
    const p = await serve('rejects-later.mjs')
    expect((await call(`${p.url}/`)).text()).toBe('answered')
    expect((await call(`${p.url}/`)).text()).toBe('answered')
    expect((await unload(p)).clean).toBe(false)
  })
})

describe('node runtime: shapes', () => {
  it('fission callback style (context, callback)', async () => {
    const p = await serve('fission-callback.cjs', { shape: 'fission' })
    const r = await call(`${p.url}/`, { method: 'PUT' })
    expect([r.status, r.headers['x-cb'], r.text()]).toEqual([201, '1', 'called back PUT'])
  })

  it('openfaas context.fail() is a 500 naming the function', async () => {
    const p = await serve('openfaas-fail.cjs', { shape: 'openfaas', name: 'of' })
    const r = await call(`${p.url}/`)
    expect(r.status).toBe(500)
    expect(r.json()).toMatchObject({ error: 'KILN_ERR_FUNCTION_ERROR', function: 'of', message: 'openfaas says no' })
  })

  it('lambda: a bare return value is 200 JSON; cookies arrive as event.cookies', async () => {
    const p = await serve('lambda-bare.cjs', { shape: 'lambda' })
    const r = await call(`${p.url}/bare`, { headers: { cookie: 'a=1; b=2' } })
    expect([r.status, r.headers['content-type']]).toEqual([200, 'application/json'])
    expect(r.json()).toEqual({ got: '/bare', hasCookies: ['a=1', 'b=2'] })
  })
})
