// Async invocations through a real platform (real runtime processes), with its state in SQLite and in a
// real redis-server: accept (202, Location, stored request), retries with backoff and dead letters,
// redrive, callbacks to a test listener (and a refused host), idempotency keys, the per-function
// async cap, cancel, and the refusals (404, 413, 400, 403).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { Readable } from 'node:stream'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { useRedis } from '../../helpers/redis.js'
import { until } from '../../helpers/until.js'
import { sharedDir } from '../../helpers/shared-dir.js'

const COUNTER = join(import.meta.dirname, '../../fixtures/events/counter.mjs')
const redis = useRedis()

interface Received { headers: IncomingMessage['headers']; body: string }

/** A callback listener on 127.0.0.1: answers `statuses` in turn (then 200), records what it got. */
async function listener(statuses: number[] = []): Promise<{ server: Server; port: number; got: Received[] }> {
  const got: Received[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(statuses.shift() ?? 200).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, port: (server.address() as { port: number }).port, got }
}

describe.each(['sqlite', 'redis'] as const)('async invocations (%s state)', (store) => {
  let p: TestPlatform
  let counterDir: string
  let cb: Awaited<ReturnType<typeof listener>>

  const count = async (key: string) => (await readFile(join(counterDir, key), 'utf8').catch(() => '')).length
  const accept = async (path: string, init: { body?: string; headers?: Record<string, string>; prefer?: boolean } = {}) => {
    const res = await p.call(init.prefer ? `/fn/${path}` : `/async/fn/${path}`, {
      method: 'POST', body: init.body ?? '', headers: { ...(init.prefer ? { prefer: 'respond-async' } : {}), ...init.headers },
    })
    return res
  }
  const inv = async (id: string) => (await p.call(`/v1/invocations/${id}`)).json()
  const ended = (id: string, timeoutMs = 30_000) => until(`invocation ${id} to end`, async () => {
    const x = await inv(id)
    return ['succeeded', 'failed', 'dead'].includes(x.status) ? x : undefined
  }, timeoutMs)

  beforeAll(async () => {
    // Instances run in sandboxes: the counter folder is mounted into them (test/helpers/shared-dir.ts).
    const shared = await sharedDir('kiln-async-counter-')
    counterDir = shared.dir
    cb = await listener([503])
    p = await startTestPlatform({ ...(store === 'redis' ? { redisUrl: redis.current.url } : {}), callbackHosts: [`127.0.0.1:${cb.port}`], asyncMaxBodyBytes: 4096, sandbox: { mounts: [shared.mount] } })
    const env = { COUNTER_DIR: counterDir }
    await p.deploy('counter', COUNTER, { env, async: { retries: 3, retryBackoffMs: 50 } })
    await p.deploy('once', COUNTER, { env, async: { retries: 1, retryBackoffMs: 50 } })
    await p.deploy('capped', COUNTER, { env, async: { concurrency: 2 } })
  })

  afterAll(async () => {
    await p?.stop()
    await new Promise((r) => cb?.server.close(r))
    await rm(counterDir, { recursive: true, force: true })
  })

  it('answers 202 with Location and X-Kiln-Invocation-Id; the stored request reaches the function', async () => {
    const res = await accept('counter/orders?key=first&x=1', { prefer: true, body: '{"n":7}', headers: { 'content-type': 'application/json', 'x-probe': 'p1' } })
    expect(res.status).toBe(202)
    const { id, function: fn, status } = res.json()
    expect(id).toMatch(/^inv-[0-9a-f-]{36}$/)
    expect([fn, status]).toEqual(['counter', 'queued'])
    expect(res.headers.location).toBe(`/v1/invocations/${id}`)
    expect(res.headers['x-kiln-invocation-id']).toBe(id)
    expect(res.headers['preference-applied']).toBe('respond-async')
    const x = await ended(id)
    expect(x).toMatchObject({ id, function: 'counter', status: 'succeeded', attempts: 1, source: 'http' })
    expect(x.request).toMatchObject({ method: 'POST', path: '/orders?key=first&x=1', bodyBytes: 7 })
    expect(x.result.status).toBe(200)
    const seen = JSON.parse(x.result.body)
    expect(seen).toMatchObject({ key: 'first', method: 'POST', path: '/orders', query: { key: 'first', x: '1' }, body: { n: 7 }, attempt: '1', invocation: id, probe: 'p1' })
    expect(typeof x.createdAt).toBe('string')
    expect(Date.parse(x.finishedAt)).toBeGreaterThanOrEqual(Date.parse(x.createdAt))
    expect(await count('first')).toBe(1)
    // GET and HEAD never go async; /fn without Prefer stays synchronous.
    const sync = await p.call('/fn/counter?key=sync', { method: 'POST', body: 'x', headers: { prefer: 'return=minimal' } })
    expect(sync.status).toBe(200)
    expect(sync.json().key).toBe('sync')
    const get = await p.call('/fn/counter?key=get', { headers: { prefer: 'respond-async' } })
    expect(get.status).toBe(200)
  })

  it('retries a 5xx with backoff until it succeeds, on the same invocation', async () => {
    const { id } = (await accept('counter?key=flaky&fail=2')).json()
    const x = await ended(id)
    expect(x).toMatchObject({ status: 'succeeded', attempts: 3 })
    expect(JSON.parse(x.result.body)).toMatchObject({ count: 3, attempt: '3' })
    expect(x.error).toBeUndefined()
    expect(await count('flaky')).toBe(3)
  })

  it('a crashed instance is retried; a 4xx answer is the function\'s verdict and is not', async () => {
    const crash = (await accept('counter?key=crashy&crash=1')).json()
    expect(await ended(crash.id)).toMatchObject({ status: 'succeeded', attempts: 2 })
    const bad = (await accept('counter?key=teapot&status=418')).json()
    const x = await ended(bad.id)
    expect(x).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'KILN_ERR_FUNCTION_ERROR', status: 418 } })
    expect(x.result.status).toBe(418)
    expect(await count('teapot')).toBe(1)
  })

  it('marks an invocation dead after its last attempt, and `retry` redrives it', async () => {
    const { id } = (await accept('once?key=doomed&fail=3')).json()
    const dead = await ended(id)
    expect(dead).toMatchObject({ status: 'dead', attempts: 2, error: { code: 'KILN_ERR_FUNCTION_ERROR', status: 500 } })
    expect(dead.result.status).toBe(500)
    expect(await count('doomed')).toBe(2)
    const listed = (await p.call('/v1/invocations?function=once&status=dead')).json()
    expect(listed.map((i: { id: string }) => i.id)).toContain(id)

    const again = await p.call(`/v1/invocations/${id}/retry`, { method: 'POST' })
    expect(again.status).toBe(200)
    expect(again.json()).toMatchObject({ id, status: 'queued', attempts: 0 })
    // Calls 3 and 4 of the key: 3 fails, 4 succeeds (fail=3).
    expect(await ended(id)).toMatchObject({ status: 'succeeded', attempts: 2 })
    expect(await count('doomed')).toBe(4)
    const conflict = await p.call(`/v1/invocations/${id}/retry`, { method: 'POST' })
    expect(conflict.status).toBe(409)
    expect(conflict.json().error).toBe('KILN_ERR_CONFLICT')
    expect((await p.call('/v1/invocations/inv-nope/retry', { method: 'POST' })).json().error).toBe('KILN_ERR_INVOCATION_NOT_FOUND')
  })

  it('POSTs the result to an allowed X-Callback-Url, retrying its failures; refuses a host not in callbackHosts', async () => {
    const url = `http://127.0.0.1:${cb.port}/done?for=test`
    const { id } = (await accept('counter?key=called-back', { body: 'payload', headers: { 'x-callback-url': url } })).json()
    const x = await until('the callback to be delivered', async () => {
      const v = await inv(id)
      return v.callback?.state === 'delivered' ? v : undefined
    })
    expect(x.callback).toMatchObject({ url, state: 'delivered', attempts: 2 })
    expect(cb.got.length).toBe(2) // 503 first, then 200
    const last = cb.got.at(-1)!
    expect(last.headers['x-kiln-invocation-id']).toBe(id)
    expect(last.headers['x-kiln-status']).toBe('succeeded')
    expect(last.headers['x-kiln-function']).toBe('counter')
    expect(last.headers['x-kiln-function-status']).toBe('200')
    expect(last.headers['content-type']).toMatch(/application\/json/)
    expect(JSON.parse(last.body)).toMatchObject({ key: 'called-back', invocation: id })

    for (const refused of ['http://example.com/cb', `http://127.0.0.1:${cb.port + 1}/cb`, 'http://169.254.169.254/latest', 'file:///etc/passwd']) {
      const res = await accept('counter?key=never', { headers: { 'x-callback-url': refused } })
      expect(res.status, refused).toBe(403)
      expect(res.json().error).toBe('KILN_ERR_HOST_NOT_ALLOWED')
    }
    expect(await count('never')).toBe(0)
  })

  it('an Idempotency-Key repeated for the same function returns the first invocation and runs once', async () => {
    const key = `order-${store}`
    const a = await accept('counter?key=idem', { headers: { 'idempotency-key': key } })
    const b = await accept('counter?key=idem', { headers: { 'idempotency-key': key } })
    expect(a.status).toBe(202)
    expect(b.status).toBe(202)
    expect(b.json().id).toBe(a.json().id)
    expect(b.headers.location).toBe(`/v1/invocations/${a.json().id}`)
    await ended(a.json().id)
    const c = await accept('counter?key=idem', { headers: { 'idempotency-key': key } })
    expect(c.json()).toMatchObject({ id: a.json().id, status: 'succeeded' })
    // Another function, same key: its own invocation.
    const other = await accept('once?key=idem-other', { headers: { 'idempotency-key': key } })
    expect(other.json().id).not.toBe(a.json().id)
    await ended(other.json().id)
    expect(await count('idem')).toBe(1)
  })

  it('keeps each function under its async cap while synchronous calls still get through', async () => {
    const ids: string[] = []
    for (let i = 0; i < 8; i++) ids.push((await accept(`capped?key=cap-${i}&sleep=300`)).json().id)
    await until('the backlog to start', async () => (await p.call('/v1/invocations?function=capped&status=running')).json().length > 0)
    const sync = await p.call('/fn/capped?key=cap-sync', { method: 'POST', body: '' })
    expect(sync.status).toBe(200)
    const done = await Promise.all(ids.map((id) => ended(id)))
    expect(done.every((x) => x.status === 'succeeded')).toBe(true)
    // The function measures its own concurrency; the sync call may add one.
    const peaks = done.map((x) => JSON.parse(x.result.body).peak as number)
    expect(Math.max(...peaks)).toBeLessThanOrEqual(3)
    expect(Math.max(...peaks)).toBeGreaterThanOrEqual(2)
  })

  it('cancels a queued invocation', async () => {
    // Fill the cap of 2 with slow calls, so the third waits in the queue.
    const slow = [(await accept('capped?key=c1&sleep=1500')).json().id, (await accept('capped?key=c2&sleep=1500')).json().id]
    await until('both slow calls to run', async () => (await p.call('/v1/invocations?function=capped&status=running')).json().length === 2)
    const queued = (await accept('capped?key=c3')).json().id
    const res = await p.call(`/v1/invocations/${queued}/cancel`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(res.json()).toMatchObject({ id: queued, status: 'failed', error: { code: 'KILN_ERR_CANCELLED' } })
    for (const id of slow) await ended(id)
    expect((await inv(queued)).status).toBe('failed')
    expect(await count('c3')).toBe(0)
    expect((await p.call(`/v1/invocations/${queued}/cancel`, { method: 'POST' })).status).toBe(409)
  })

  it('refuses what it cannot accept: unknown function, body over the limit, bad key, bad status filter', async () => {
    const missing = await accept('nope')
    expect(missing.status).toBe(404)
    expect(missing.json().error).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
    const big = await accept('counter?key=big', { body: 'x'.repeat(5000) })
    expect(big.status).toBe(413)
    expect(big.json().error).toBe('KILN_ERR_BODY_TOO_LARGE')
    // No content-length (a stream is sent chunked): the limit holds while reading.
    const chunked = await p.call('/async/fn/counter?key=big', { method: 'POST', body: Readable.from([Buffer.alloc(3000, 1), Buffer.alloc(3000, 1)]) as never })
    expect(chunked.status).toBe(413)
    expect(chunked.json().error).toBe('KILN_ERR_BODY_TOO_LARGE')
    const key = await accept('counter?key=big', { headers: { 'idempotency-key': 'x'.repeat(300) } })
    expect(key.status).toBe(400)
    expect(key.json().error).toBe('KILN_ERR_BAD_REQUEST')
    expect(await count('big')).toBe(0)
    expect((await p.call('/v1/invocations?status=weird')).status).toBe(400)
    expect((await p.call('/v1/invocations/inv-missing')).json().error).toBe('KILN_ERR_INVOCATION_NOT_FOUND')
  })
})
