// The error catalogue (core/errors.ts), every entry: its HTTP status and JSON body as the control API
// and the router send them, and what the real `kiln` CLI makes of that answer (exit code 1, the message,
// the hint). The codes that no other test provokes get a real scenario each on a running platform.
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERRORS, KilnError, type ErrorCode } from '../../../core/errors.js'
import { installErrorHandler } from '../../../controller/errors.js'
import { sendError } from '../../../router/send-error.js'
import { kiln } from '../../helpers/cli.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { until } from '../../helpers/until.js'

const CODES = Object.keys(ERRORS) as ErrorCode[]
const expectedBody = (code: ErrorCode) => {
  const def = ERRORS[code] as { status: number; message: string; hint?: string }
  return { error: code, message: def.message, ...(def.hint ? { hint: def.hint } : {}) }
}

describe('the catalogue itself', () => {
  it('each code is KILN_ERR_*, with an HTTP error status, a message, and a hint that is a sentence when present', () => {
    for (const code of CODES) {
      const def = ERRORS[code] as { status: number; message: string; hint?: string }
      expect(code).toMatch(/^KILN_ERR_[A-Z_]+$/)
      expect(def.status, code).toBeGreaterThanOrEqual(400)
      expect(def.status, code).toBeLessThan(600)
      expect(def.message.length, code).toBeGreaterThan(0)
      if (def.hint !== undefined) expect(def.hint.length, code).toBeGreaterThan(0)
      const e = new KilnError(code)
      expect([e.code, e.status, e.message, e.hint]).toEqual([code, def.status, def.message, def.hint])
      expect(e.toJSON()).toEqual(expectedBody(code))
    }
  })
})

describe('every code over HTTP and through the CLI', () => {
  let api: FastifyInstance
  let router: Server
  let apiUrl: string
  let routerUrl: string

  beforeAll(async () => {
    // The control API's error handler, as the platform installs it, on a route that throws the code.
    api = Fastify() as unknown as FastifyInstance
    installErrorHandler(api)
    api.get<{ Params: { code: ErrorCode } }>('/v1/functions/:code', async (req) => { throw new KilnError(req.params.code) })
    apiUrl = await api.listen({ port: 0, host: '127.0.0.1' })
    // The data plane's raw writer, as the router answers.
    router = createServer((req, res) => sendError(res, new KilnError(req.url!.slice(1) as ErrorCode)))
    await new Promise<void>((r) => router.listen(0, '127.0.0.1', r))
    routerUrl = `http://127.0.0.1:${(router.address() as { port: number }).port}`
  })
  afterAll(async () => {
    await api?.close()
    await new Promise((r) => router?.close(r))
  })

  it('the control API answers each with its status and JSON body', async () => {
    for (const code of CODES) {
      const res = await request(`${apiUrl}/v1/functions/${code}`)
      expect([res.statusCode, String(res.headers['content-type']).split(';')[0], await res.body.json()], code)
        .toEqual([ERRORS[code].status, 'application/json', expectedBody(code)])
    }
  })

  it('the router answers each with its status and JSON body', async () => {
    for (const code of CODES) {
      const res = await request(`${routerUrl}/${code}`)
      expect([res.statusCode, String(res.headers['content-type']).split(';')[0], await res.body.json()], code)
        .toEqual([ERRORS[code].status, 'application/json', expectedBody(code)])
    }
  })

  it('the kiln CLI exits 1 on each, printing the message and the hint; 2 when the server is unreachable', async () => {
    const queue = [...CODES]
    const seen: Record<string, { code: number; stderr: string }> = {}
    // A few CLIs at a time: each is a real process.
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let code = queue.shift(); code; code = queue.shift()) seen[code] = await kiln(['fn', 'get', code], { KILN_URL: apiUrl })
    }))
    for (const code of CODES) {
      const def = ERRORS[code] as { message: string; hint?: string }
      const out = `error: ${def.message}\n${def.hint ? `  next: ${def.hint}\n` : ''}`
      expect([seen[code]!.code, seen[code]!.stderr], code).toEqual([1, out])
    }
    const down = await kiln(['fn', 'get', 'x'], { KILN_URL: 'http://127.0.0.1:9' })
    expect(down.code).toBe(2)
    expect(down.stderr).toMatch(/^error: cannot reach the Kiln server at http:\/\/127\.0\.0\.1:9/)
  }, 120_000)
})

// Each code that no other test provokes, provoked for real.
describe('codes provoked on a running platform', () => {
  const F = join(import.meta.dirname, '..', '..')
  let p: TestPlatform
  const json = (method: string, path: string, body: unknown) => p.call(path, { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
  beforeAll(async () => { p = await startTestPlatform({ poolSize: 1, cgroups: 'none' }) })
  afterAll(async () => { await p?.stop() })

  it('KILN_ERR_RUNTIME_NOT_FOUND: a runtime or a pool that does not exist', async () => {
    for (const path of ['/v1/runtimes/cobol', '/v1/pools/cobol']) {
      const r = path.startsWith('/v1/pools') ? await json('PUT', path, { size: 1 }) : await p.call(path)
      expect([r.status, r.json().error], path).toEqual([404, 'KILN_ERR_RUNTIME_NOT_FOUND'])
    }
  })

  it('KILN_ERR_TRIGGER_NOT_FOUND: a route that does not exist', async () => {
    for (const method of ['GET', 'DELETE']) {
      const r = await p.call('/v1/triggers/nope', { method })
      expect([r.status, r.json().error], method).toEqual([404, 'KILN_ERR_TRIGGER_NOT_FOUND'])
    }
  })

  it('KILN_ERR_NO_CAPACITY: a function no node will take', async () => {
    await p.deploy('nowhere', join(F, 'fixtures', 'executor', 'v1.mjs'), { nodeSelector: { 'kiln.dev/pool': 'gpu' } })
    const r = await p.call('/fn/nowhere')
    expect([r.status, r.json().error]).toEqual([503, 'KILN_ERR_NO_CAPACITY'])
  })

  it('KILN_ERR_SPECIALIZE_FAILED: code that throws while it loads', async () => {
    await p.deploy('importfail', join(F, 'fixtures', 'functions', 'node-runtime', 'throw-at-import.mjs'))
    const r = await p.call('/fn/importfail')
    expect([r.status, r.json().error]).toEqual([502, 'KILN_ERR_SPECIALIZE_FAILED'])
    expect(r.json().message).toMatch(/import time failure 1/)
  })

  it('KILN_ERR_TASK_FAILED and KILN_ERR_WORKFLOW_DEPTH: a workflow whose task fails, and one that starts itself', async () => {
    // A task that fails with a code the catalogue does not know fails the execution as KILN_ERR_TASK_FAILED.
    await p.deploy('owncode', join(F, 'fixtures', 'errors', 'unknown-code.mjs'))
    expect((await json('POST', '/v1/workflows', { name: 'fails', tasks: { a: { function: 'owncode' } } })).status).toBe(201)
    const failed = await p.call('/wf/fails', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    expect(failed.json()).toMatchObject({ error: 'KILN_ERR_TASK_FAILED', task: 'a', cause: 'KILN_ERR_FROM_THE_FUNCTION' })
    expect(failed.status).toBe(502)

    expect((await json('POST', '/v1/workflows', { name: 'loop', tasks: { a: { function: 'owncode' } } })).status).toBe(201)
    expect((await json('PUT', '/v1/workflows/loop', { name: 'loop', tasks: { again: { workflow: 'loop' } } })).status).toBe(200)
    const deep = await p.call('/wf/loop', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    expect([deep.status, deep.json().error]).toEqual([508, 'KILN_ERR_WORKFLOW_DEPTH'])
  })

  it('KILN_ERR_SHUTTING_DOWN: a request waiting for a slot when the platform stops', async () => {
    await p.deploy('hold', join(F, 'fixtures', 'router', 'hold.mjs'), { concurrency: 1, maxScale: 1, queueSize: 5, timeoutMs: 120_000 })
    const holding = new AbortController()
    const held = request(`${p.url}/fn/hold/hold`, { signal: holding.signal }).catch((e: Error) => e)
    await until('the only slot to be taken', async () => (p.ctx.executor.describe('hold')!.instances as { inflight: number }[]).some((i) => i.inflight === 1))
    const waiting = p.call('/fn/hold/stats')
    await until('the second request to wait in the queue', async () => p.ctx.executor.describe('hold')!.queued === 1)
    const stopping = p.stop()
    const r = await waiting
    expect([r.status, r.json().error]).toEqual([503, 'KILN_ERR_SHUTTING_DOWN'])
    // The held request goes away, so the server can finish closing (it waits for requests in flight).
    holding.abort()
    await held
    await stopping
  })
})
