// The runtime contract (docs/runtime-contract.md), one table of cases run against every runtime in
// runtimes.ts. Cases assert on status codes and bytes, never on timing; every process is killed.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { call, eventually, postJson } from '../helpers/http.js'
import { type RuntimeProcess, startRuntime, stopAllRuntimes } from '../helpers/runtime-process.js'
import { startFissionEnv, stopAllFissionEnvs } from '../fission-env/process.js'
import { notApplicable, tier } from '../helpers/tier.js'
import { type ConformanceRuntime, runtimes } from './runtimes.js'

type Protocol = 'kiln' | 'fission'
const protocolOf = (rt: ConformanceRuntime): Protocol => rt.protocol ?? 'kiln'

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex')
const MB10 = 10 * 1024 * 1024

/** The file of fixture `name` for a runtime: `<name>.<ext>`, else any `<name>.*`. */
function fixtureFile(rt: ConformanceRuntime, name: string): string | undefined {
  if (existsSync(join(rt.fixtures, `${name}.${rt.ext}`))) return `${name}.${rt.ext}`
  return readdirSync(rt.fixtures).find((f) => f.startsWith(name + '.'))
}

interface SpecOpts {
  env?: Record<string, string>
  timeoutMs?: number
  shape?: string
  name?: string
  sha256?: string
}

function specializeBody(rt: ConformanceRuntime, fixture: string, o: SpecOpts = {}) {
  return {
    function: { name: o.name ?? fixture, version: '1', entrypoint: fixtureFile(rt, fixture), env: o.env ?? {}, timeoutMs: o.timeoutMs ?? 30_000, shape: o.shape ?? 'kiln' },
    code: { path: rt.fixtures, sha256: o.sha256 ?? sha(`${rt.name}/${fixture}`) },
  }
}

type Booted = Pick<RuntimeProcess, 'url' | 'pid' | 'stdout' | 'stderr' | 'exited'>

async function boot(rt: ConformanceRuntime, env?: Record<string, string>, args: string[] = []): Promise<Booted> {
  if (protocolOf(rt) === 'fission') return startFissionEnv({ env, args })
  return startRuntime([...rt.command, ...args], { env })
}

/** Fission's v2 body: the package folder and "module[.export]" (the fixture file without its extension). */
function fissionBody(rt: ConformanceRuntime, fixture: string, exportName?: string) {
  const mod = fixtureFile(rt, fixture)!.replace(/\.[^.]+$/, '')
  return { filepath: rt.fixtures, functionName: exportName ? `${mod}.${exportName}` : mod, url: '' }
}

/** Boots a runtime and specializes it with `fixture`, in the runtime's protocol. */
async function serve(rt: ConformanceRuntime, fixture: string, o: SpecOpts & { processEnv?: Record<string, string> } = {}) {
  const p = await boot(rt, o.processEnv)
  const r = protocolOf(rt) === 'fission'
    ? await postJson(`${p.url}/v2/specialize`, fissionBody(rt, fixture))
    : await postJson(`${p.url}/v1/specialize`, specializeBody(rt, fixture, o))
  expect(r.status, r.text()).toBeGreaterThanOrEqual(200)
  expect(r.status, r.text()).toBeLessThan(300)
  return p
}

interface Case {
  name: string
  /** fixtures the case needs; skipped on a runtime that lacks one */
  fixtures: string[]
  /** the protocols the case applies to (default: kiln only) */
  protocols?: Protocol[]
  run(rt: ConformanceRuntime): Promise<void>
}

const BOTH: Protocol[] = ['kiln', 'fission']

const cases: Case[] = [
  {
    name: 'health reports generic, then specialized with the function, counting requests',
    fixtures: ['echo'],
    async run(rt) {
      const p = await boot(rt)
      let h = (await call(`${p.url}/healthz`)).json()
      expect(h).toMatchObject({ state: 'generic', function: null, pid: p.pid, requests: 0, clean: true })
      expect(typeof h.runtime).toBe('string')
      expect(typeof h.uptimeMs).toBe('number')
      const spec = specializeBody(rt, 'echo')
      const s = await postJson(`${p.url}/v1/specialize`, spec)
      expect(s.status).toBe(200)
      expect(s.json()).toMatchObject({ state: 'specialized', function: { name: 'echo', sha256: spec.code.sha256 } })
      expect(typeof s.json().loadMs).toBe('number')
      await call(`${p.url}/a`)
      await call(`${p.url}/b`)
      h = (await call(`${p.url}/healthz`)).json()
      expect(h).toMatchObject({ state: 'specialized', function: { name: 'echo', version: '1', sha256: spec.code.sha256 }, requests: 2 })
    },
  },
  {
    name: 'an invocation before specialization is 503 KILN_ERR_NOT_SPECIALIZED',
    fixtures: [],
    async run(rt) {
      const p = await boot(rt)
      const r = await call(`${p.url}/anything`, { method: 'POST', body: 'x' })
      expect(r.status).toBe(503)
      expect(r.json().error).toBe('KILN_ERR_NOT_SPECIALIZED')
    },
  },
  {
    name: 'specialize is idempotent for the same sha256 and 409 for a different function',
    fixtures: ['echo', 'status'],
    async run(rt) {
      const p = await serve(rt, 'echo')
      const again = await postJson(`${p.url}/v1/specialize`, specializeBody(rt, 'echo'))
      expect(again.status).toBe(200)
      expect(again.json().state).toBe('specialized')
      const other = await postJson(`${p.url}/v1/specialize`, specializeBody(rt, 'status'))
      expect(other.status).toBe(409)
      expect(other.json().error).toBe('KILN_ERR_ALREADY_SPECIALIZED')
      expect((await call(`${p.url}/still`)).json().path).toBe('/still')
    },
  },
  {
    name: 'concurrent specializations of the same function all succeed',
    fixtures: ['echo'],
    async run(rt) {
      const p = await boot(rt)
      const rs = await Promise.all(Array.from({ length: 5 }, () => postJson(`${p.url}/v1/specialize`, specializeBody(rt, 'echo'))))
      expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    },
  },
  {
    name: 'a malformed specialize request is 400',
    fixtures: [],
    async run(rt) {
      const p = await boot(rt)
      const r = await call(`${p.url}/v1/specialize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"function":' })
      expect(r.status).toBe(400)
      expect(r.json().error).toBe('KILN_ERR_BAD_SPECIALIZE')
      const r2 = await postJson(`${p.url}/v1/specialize`, { function: {}, code: {} })
      expect(r2.status).toBe(400)
      expect(r2.json().error).toBe('KILN_ERR_BAD_SPECIALIZE')
    },
  },
  {
    name: 'broken code is 422 with file:line and the runtime stays generic and usable',
    fixtures: ['broken', 'echo'],
    async run(rt) {
      const p = await boot(rt)
      const bad = await postJson(`${p.url}/v1/specialize`, specializeBody(rt, 'broken'))
      expect(bad.status).toBe(422)
      expect(bad.json().error).toBe('KILN_ERR_LOAD_FAILED')
      expect(bad.json().message).toContain(`${fixtureFile(rt, 'broken')}:3`)
      expect((await call(`${p.url}/healthz`)).json().state).toBe('generic')
      const missing = await postJson(`${p.url}/v1/specialize`, { ...specializeBody(rt, 'echo'), function: { name: 'nope', entrypoint: 'does-not-exist.' + rt.ext } })
      expect(missing.status).toBe(422)
      const ok = await postJson(`${p.url}/v1/specialize`, specializeBody(rt, 'echo'))
      expect(ok.status).toBe(200)
      expect((await call(`${p.url}/works`)).status).toBe(200)
    },
  },
  {
    name: 'unload returns to generic (clean) and the instance takes another function',
    fixtures: ['echo', 'status'],
    async run(rt) {
      const p = await serve(rt, 'echo')
      expect((await call(`${p.url}/x`)).status).toBe(200)
      const u = await call(`${p.url}/v1/unload`, { method: 'POST' })
      expect(u.status).toBe(200)
      expect(u.json()).toMatchObject({ state: 'generic', clean: true })
      expect((await call(`${p.url}/healthz`)).json()).toMatchObject({ state: 'generic', function: null })
      expect((await call(`${p.url}/x`)).status).toBe(503)
      expect((await postJson(`${p.url}/v1/specialize`, specializeBody(rt, 'status'))).status).toBe(200)
      expect((await call(`${p.url}/?code=201`)).status).toBe(201)
    },
  },
  {
    name: 'every method reaches the function with its path',
    fixtures: ['echo'],
    async run(rt) {
      const p = await serve(rt, 'echo')
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const r = await call(`${p.url}/deep/path/${method}`, { method, body: method === 'GET' ? undefined : '' })
        expect(r.status).toBe(200)
        expect(r.json()).toMatchObject({ method, path: `/deep/path/${method}` })
      }
      const head = await call(`${p.url}/h`, { method: 'HEAD' })
      expect(head.status).toBe(200)
      expect(head.body.length).toBe(0)
    },
  },
  {
    name: 'repeated request headers are joined with ", "; params come from x-kiln-params',
    fixtures: ['echo'],
    async run(rt) {
      const p = await serve(rt, 'echo')
      const r = await call(`${p.url}/users/7`, { headers: { 'x-multi': ['a', 'b'], 'X-Mixed-Case': 'v', 'x-kiln-params': '{"id":"7"}' } })
      const j = r.json()
      expect(j.headers['x-multi']).toBe('a, b')
      expect(j.headers['x-mixed-case']).toBe('v')
      expect(j.params).toEqual({ id: '7' })
    },
  },
  {
    name: 'query strings: repeated keys become arrays, escapes are decoded',
    fixtures: ['echo'],
    async run(rt) {
      const p = await serve(rt, 'echo')
      const j = (await call(`${p.url}/q?a=1&a=2&b=hello%20world&c=&d=x+y`)).json()
      expect(j.query).toEqual({ a: ['1', '2'], b: 'hello world', c: '', d: 'x y' })
      expect(j.url).toBe('/q?a=1&a=2&b=hello%20world&c=&d=x+y')
      expect((await call(`${p.url}/none`)).json().query).toEqual({})
    },
  },
  {
    name: 'bodies are parsed like Express: json, form, text; empty is null',
    protocols: BOTH,
    fixtures: ['echo'],
    async run(rt) {
      const p = await serve(rt, 'echo')
      const post = (type: string, body: string) => call(`${p.url}/`, { method: 'POST', headers: { 'content-type': type }, body }).then((r) => r.json().body)
      expect(await post('application/json', '{"a":[1,2],"b":null}')).toEqual({ a: [1, 2], b: null })
      expect(await post('application/json; charset=utf-8', '"str"')).toBe('str')
      expect(await post('application/x-www-form-urlencoded', 'a=1&a=2&b=x%20y')).toEqual({ a: ['1', '2'], b: 'x y' })
      expect(await post('text/plain', 'héllo')).toBe('héllo')
      expect(await post('application/json', '')).toBe(null)
    },
  },
  {
    name: 'binary bodies arrive and leave byte for byte',
    protocols: BOTH,
    fixtures: ['bytes'],
    async run(rt) {
      const p = await serve(rt, 'bytes')
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      const r = await call(`${p.url}/`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: all })
      expect(r.status).toBe(200)
      expect(r.headers['content-type']).toBe('application/octet-stream')
      expect(r.body.equals(all)).toBe(true)
    },
  },
  {
    name: '10 MB bodies both ways',
    protocols: BOTH,
    fixtures: ['bytes'],
    async run(rt) {
      const p = await serve(rt, 'bytes')
      const big = randomBytes(MB10)
      const r = await call(`${p.url}/`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: big })
      expect(r.status).toBe(200)
      expect(r.body.length).toBe(MB10)
      expect(sha(r.body)).toBe(sha(big))
    },
  },
  {
    name: 'a streaming function reads a 10 MB chunked request as a stream',
    fixtures: ['upload'],
    async run(rt) {
      const p = await serve(rt, 'upload')
      const big = randomBytes(MB10)
      async function* chunks() {
        for (let i = 0; i < big.length; i += 256 * 1024) yield big.subarray(i, i + 256 * 1024)
      }
      const r = await call(`${p.url}/`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: chunks() })
      expect(r.status).toBe(200)
      expect(r.json()).toEqual({ bytes: MB10, sha256: sha(big) })
    },
  },
  {
    name: 'streamed responses arrive chunked and complete',
    fixtures: ['stream'],
    async run(rt) {
      const p = await serve(rt, 'stream')
      const expected = Array.from({ length: 50 }, (_, i) => `chunk ${i}\n`).join('')
      for (const kind of ['iterable', 'readable']) {
        const r = await call(`${p.url}/?n=50&kind=${kind}`)
        expect(r.status).toBe(200)
        expect(r.headers['transfer-encoding']).toBe('chunked')
        expect(r.text()).toBe(expected)
      }
    },
  },
  {
    name: 'the function chooses the status code',
    protocols: BOTH,
    fixtures: ['status'],
    async run(rt) {
      const p = await serve(rt, 'status')
      for (const code of [200, 201, 202, 204, 302, 400, 404, 418, 500, 503]) {
        const r = await call(`${p.url}/?code=${code}`)
        expect(r.status).toBe(code)
        if (code !== 204) expect(r.text()).toBe(`status ${code}`)
        if (code === 302) expect(r.headers.location).toBe('/elsewhere')
      }
    },
  },
  {
    name: 'a thrown error is 500 JSON naming the function, stack on stderr, and the server survives',
    fixtures: ['throws'],
    async run(rt) {
      const p = await serve(rt, 'throws', { name: 'thrower' })
      for (let i = 0; i < 2; i++) {
        const r = await call(`${p.url}/`)
        expect(r.status).toBe(500)
        expect(r.json()).toMatchObject({ error: 'KILN_ERR_FUNCTION_ERROR', function: 'thrower' })
        expect(r.json().message).toContain('kaboom')
      }
      await eventually(() => p.stderr.some((l) => l.includes('kaboom')), 'the error on stderr')
      expect((await call(`${p.url}/healthz`)).status).toBe(200)
    },
  },
  {
    name: 'a function that does not settle within timeoutMs is 504',
    fixtures: ['hang'],
    async run(rt) {
      const p = await serve(rt, 'hang', { timeoutMs: 200 })
      const r = await call(`${p.url}/`)
      expect(r.status).toBe(504)
      expect(r.json()).toMatchObject({ error: 'KILN_ERR_FUNCTION_TIMEOUT', function: 'hang' })
      expect((await call(`${p.url}/healthz`)).status).toBe(200)
    },
  },
  {
    name: 'a function that exits the process closes the connection and the process is gone',
    protocols: BOTH,
    fixtures: ['crash'],
    async run(rt) {
      const p = await serve(rt, 'crash')
      await expect(call(`${p.url}/`)).rejects.toThrow()
      expect(await p.exited).toBe(3)
    },
  },
  {
    name: 'a body over KILN_MAX_BODY is 413',
    fixtures: ['bytes'],
    async run(rt) {
      const p = await serve(rt, 'bytes', { processEnv: { KILN_MAX_BODY: '1024' } })
      const r = await call(`${p.url}/`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(4096, 1) })
      expect(r.status).toBe(413)
      expect(r.json().error).toBe('KILN_ERR_BODY_TOO_LARGE')
      const ok = await call(`${p.url}/`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(1000, 1) })
      expect(ok.status).toBe(200)
    },
  },
  {
    name: 'function env vars are set while specialized and restored by unload',
    fixtures: ['env'],
    async run(rt) {
      const p = await serve(rt, 'env', { env: { KILN_TEST_GREETING: 'bonjour' } })
      expect((await call(`${p.url}/?name=KILN_TEST_GREETING`)).text()).toBe('bonjour')
      expect((await call(`${p.url}/v1/unload`, { method: 'POST' })).json().clean).toBe(true)
      expect((await postJson(`${p.url}/v1/specialize`, specializeBody(rt, 'env', { name: 'env2', sha256: sha('env2') }))).status).toBe(200)
      expect((await call(`${p.url}/?name=KILN_TEST_GREETING`)).text()).toBe('')
    },
  },
  {
    name: 'one instance serves concurrent requests',
    protocols: BOTH,
    fixtures: ['barrier'],
    async run(rt) {
      const p = await serve(rt, 'barrier')
      const rs = await Promise.all(Array.from({ length: 8 }, () => call(`${p.url}/?n=8`)))
      expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200))
      expect(Math.max(...rs.map((r) => r.json().arrived))).toBe(8)
    },
  },
  {
    name: "the function's stdout and stderr reach the platform line by line",
    protocols: BOTH,
    fixtures: ['log'],
    async run(rt) {
      const p = await serve(rt, 'log')
      expect((await call(`${p.url}/?id=abc123`)).text()).toBe('ok')
      await eventually(() => p.stdout.includes('stdout abc123'), 'stdout line')
      await eventually(() => p.stderr.includes('stderr abc123'), 'stderr line')
    },
  },
  {
    name: 'the fission shape loads a Fission function unchanged',
    protocols: BOTH,
    fixtures: ['fission'],
    async run(rt) {
      const p = await serve(rt, 'fission', { shape: 'fission' })
      const r = await call(`${p.url}/?name=kiln`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' })
      expect(r.status).toBe(200)
      expect(r.headers['x-shape']).toBe('fission')
      expect(r.text()).toBe('hello kiln, you sent {"x":1}')
    },
  },
  {
    name: 'the openfaas shape: event and context.status().headers().succeed()',
    fixtures: ['openfaas'],
    async run(rt) {
      const p = await serve(rt, 'openfaas', { shape: 'openfaas' })
      const r = await call(`${p.url}/of/path?k=v`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":2}' })
      expect(r.status).toBe(201)
      expect(r.headers['x-shape']).toBe('openfaas')
      expect(r.json()).toEqual({ method: 'POST', path: '/of/path', query: { k: 'v' }, body: { n: 2 } })
    },
  },
  {
    name: 'the lambda shape: payload 2.0 event in, proxy result out',
    fixtures: ['lambda'],
    async run(rt) {
      const p = await serve(rt, 'lambda', { shape: 'lambda', name: 'lam' })
      const r = await call(`${p.url}/l/p?a=1&a=2&b=3`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' })
      expect(r.status).toBe(202)
      expect(r.headers['x-shape']).toBe('lambda')
      expect(r.headers['set-cookie']).toBe('a=1')
      expect(r.json()).toEqual({
        version: '2.0',
        method: 'POST',
        rawPath: '/l/p',
        rawQueryString: 'a=1&a=2&b=3',
        query: { a: '1,2', b: '3' },
        body: 'hi',
        isBase64Encoded: false,
        functionName: 'lam',
      })
      const bin = await call(`${p.url}/`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from('raw') })
      expect(bin.json()).toMatchObject({ body: 'raw', isBase64Encoded: true })
    },
  },
  // Fission's environment protocol (runtimes declared `protocol: fission`).
  {
    name: 'fission: GET /healthz answers 200 while generic; an invocation before /v2/specialize is refused',
    fixtures: [],
    protocols: ['fission'],
    async run(rt) {
      const p = await boot(rt)
      expect((await call(`${p.url}/healthz`)).status).toBe(200)
      const r = await call(`${p.url}/`)
      expect(r.status).toBeGreaterThanOrEqual(400)
    },
  },
  {
    name: 'fission: /v2/specialize {filepath, functionName: "module.export"} loads a named export',
    fixtures: ['named'],
    protocols: ['fission'],
    async run(rt) {
      const p = await boot(rt)
      const s = await postJson(`${p.url}/v2/specialize`, fissionBody(rt, 'named', 'hello'))
      expect(s.status).toBeLessThan(300)
      expect((await call(`${p.url}/?name=ada`)).text()).toBe('named ada')
    },
  },
  {
    name: 'fission: v1 /specialize loads the server\'s own code path',
    fixtures: ['fission'],
    protocols: ['fission'],
    async run(rt) {
      const p = await boot(rt, undefined, ['--codepath', join(rt.fixtures, fixtureFile(rt, 'fission')!)])
      const s = await call(`${p.url}/specialize`, { method: 'POST' })
      expect(s.status).toBeLessThan(300)
      const r = await call(`${p.url}/?name=v1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"y":2}' })
      expect(r.text()).toBe('hello v1, you sent {"y":2}')
    },
  },
  {
    name: 'fission: broken code fails the specialization with a 5xx naming the error',
    fixtures: ['broken'],
    protocols: ['fission'],
    async run(rt) {
      const p = await boot(rt)
      const s = await postJson(`${p.url}/v2/specialize`, fissionBody(rt, 'broken'))
      expect(s.status).toBeGreaterThanOrEqual(500)
      expect(s.text()).toMatch(/SyntaxError|Unexpected/)
    },
  },
]

for (const rt of runtimes) {
  describe(`runtime conformance: ${rt.name}`, rt.tier ? tier(rt.tier, rt.unavailable) : {}, () => {
    beforeAll(async () => {
      if (!rt.unavailable) await rt.prepare?.()
    })
    afterEach(async () => {
      await Promise.all([stopAllRuntimes(), stopAllFissionEnvs()])
    })
    for (const c of cases) {
      const applies = (c.protocols ?? ['kiln']).includes(protocolOf(rt))
      if (!applies) continue
      const missing = rt.unavailable ? [] : c.fixtures.filter((f) => fixtureFile(rt, f) === undefined)
      it(c.name, missing.length > 0 ? notApplicable(`runtime ${rt.name} has no ${missing.join(', ')} fixture`) : {}, () => c.run(rt))
    }
  })
}
