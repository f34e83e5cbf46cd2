// The console's server side on a real platform: /ui served without a token under a strict CSP, the
// live stream /v1/watch (tokens, topics by role, nothing of another namespace), the per-function
// series, streams ended by close, and the console only on the API listener.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CONSOLE_CSP, consoleRoutes } from '../../../controller/console.js'
import { buildNodeRuntime } from '../../helpers/build-runtime.js'
import { builtConsole, CONSOLE_DIST } from '../../helpers/console.js'
import { startTestPlatform, type TestPlatform } from '../../helpers/platform.js'
import { openStream, type SseStream } from '../../helpers/sse.js'
import { as, createNamespace, tokenFor } from '../../helpers/tenancy.js'
import { until } from '../../helpers/until.js'

const HELLO = join(import.meta.dirname, '..', '..', 'fixtures', 'tenancy', 'hello-ns.mjs')
const FLAKY = join(import.meta.dirname, '..', '..', 'e2e', 'fixtures', 'flaky.mjs')

const raw = async (url: string, headers: Record<string, string> = {}) => {
  const r = await request(url, { headers })
  const body = Buffer.from(await r.body.arrayBuffer())
  return { status: r.statusCode, headers: r.headers, body, text: body.toString('utf8') }
}

describe('the console on a platform', () => {
  let p: TestPlatform
  const streams: SseStream[] = []
  const watch = async (token: string | undefined, query: string) => {
    const s = await openStream(`${p.apiUrl}/v1/watch${query}`, token)
    streams.push(s)
    return s
  }

  beforeAll(async () => {
    await Promise.all([buildNodeRuntime(), builtConsole()])
    p = await startTestPlatform({ poolSize: 1, cgroups: 'none' })
    await createNamespace(p, 'team-a')
    await createNamespace(p, 'team-b')
    await p.deploy('hello', HELLO, { env: { GREETING: 'a' } }, 'team-a')
    await p.deploy('hello', HELLO, { env: { GREETING: 'b' } }, 'team-b')
    await p.deploy('flaky', FLAKY, { env: { BROKEN: '1' }, async: { retries: 0 } }, 'team-a')
  }, 120_000)
  afterAll(async () => {
    for (const s of streams) s.close()
    await p?.stop()
  })

  it('/ui is served without a token under a strict Content-Security-Policy, with no inline script or style', async () => {
    const bare = await raw(`${p.apiUrl}/ui`)
    expect([bare.status, bare.headers.location]).toEqual([301, '/ui/'])
    const page = await raw(`${p.apiUrl}/ui/`)
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP)
    expect(CONSOLE_CSP).toContain("script-src 'self'")
    expect(CONSOLE_CSP).toContain("style-src 'self'")
    expect(CONSOLE_CSP).not.toContain('unsafe')
    expect(page.headers['x-content-type-options']).toBe('nosniff')
    expect(page.headers['referrer-policy']).toBe('no-referrer')
    // Every script is a file of this origin: none has a body, none an event-handler attribute or a style.
    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    expect(scripts.length).toBeGreaterThan(0)
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="assets\/[\w.-]+\.js"/)
      expect(body.trim()).toBe('')
    }
    expect(page.text).not.toMatch(/\son[a-z]+=|\sstyle=|<style/i)
    expect(page.text).not.toMatch(/https?:\/\//)

    const js = await raw(`${p.apiUrl}/ui/assets/console.js`)
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(js.headers['content-security-policy']).toBe(CONSOLE_CSP)
    expect(js.body.equals(await readFile(join(CONSOLE_DIST, 'assets', 'console.js')))).toBe(true)
    const css = await raw(`${p.apiUrl}/ui/assets/console.css`)
    expect([css.status, css.headers['content-type']]).toEqual([200, 'text/css; charset=utf-8'])
    // Revalidated by its etag.
    const again = await raw(`${p.apiUrl}/ui/assets/console.js`, { 'if-none-match': String(js.headers.etag) })
    expect([again.status, again.body.length]).toEqual([304, 0])
    const missing = await raw(`${p.apiUrl}/ui/assets/nope.js`)
    expect([missing.status, JSON.parse(missing.text).error]).toEqual([404, 'KILN_ERR_NOT_FOUND'])
  })

  it('/v1/watch needs a token, refuses unknown topics, and answers a stream of events', async () => {
    const none = await watch(undefined, '')
    expect([none.status, none.events[0].data.error]).toEqual([401, 'KILN_ERR_UNAUTHENTICATED'])
    expect(none.headers['www-authenticate']).toBe('Bearer realm="kiln"')
    const bad = await watch(p.adminToken, '?topics=functions,secrets')
    expect([bad.status, bad.events[0].data.error]).toEqual([400, 'KILN_ERR_BAD_REQUEST'])
    const s = await watch(p.adminToken, '?namespace=*&topics=functions,pools,nodes')
    expect(s.status).toBe(200)
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(s.headers['cache-control']).toBe('no-store')
    expect(await s.next('hello')).toEqual({ topics: ['functions', 'pools', 'nodes'], refused: [], namespace: '*' })
    const fns = await s.next('functions')
    expect(fns.map((f: any) => `${f.metadata.namespace}/${f.metadata.name}`).sort()).toEqual(['team-a/flaky', 'team-a/hello', 'team-b/hello'])
    expect(fns.find((f: any) => f.metadata.namespace === 'team-a' && f.metadata.name === 'hello').status).toMatchObject({ strategy: 'pool', latestVersion: 1 })
    expect((await s.next('nodes')).map((n: any) => n.name)).toEqual(['general', 'isolated'])
    const node = (await s.next('pools')).find((x: any) => x.runtime === 'node')
    expect(node.target).toBe(1)
  })

  it('a pool resized through the API reaches an open stream as its new target', async () => {
    const s = await watch(p.adminToken, '?topics=pools')
    await s.next('pools', (l: any[]) => l.some((x) => x.runtime === 'node' && x.target === 1))
    const put = await p.call('/v1/pools/node', { method: 'PUT', body: JSON.stringify({ size: 2 }), headers: { 'content-type': 'application/json' } })
    expect(put.status).toBe(200)
    await s.next('pools', (l: any[]) => l.some((x) => x.runtime === 'node' && x.target === 2 && x.ready === 2))
    await p.call('/v1/pools/node', { method: 'PUT', body: JSON.stringify({ size: 1 }), headers: { 'content-type': 'application/json' } })
    await s.next('pools', (l: any[]) => l.some((x) => x.runtime === 'node' && x.target === 1))
  })

  it('a viewer of team-b sees nothing of team-a over the stream: no function, series, event or invocation; pools and nodes are refused', async () => {
    const viewerB = await tokenFor(p, 'viewer', ['team-b'])
    const viewerA = await tokenFor(p, 'viewer', ['team-a'])
    const topics = 'functions,series,events,invocations,executions,pools,nodes'
    const b = await watch(viewerB, `?namespace=*&topics=${topics}`)
    const a = await watch(viewerA, `?namespace=*&topics=${topics}`)
    const admin = await watch(p.adminToken, '?namespace=*&topics=events,invocations')
    expect(await b.next('hello')).toEqual({ topics: ['functions', 'series', 'events', 'invocations', 'executions'], refused: ['pools', 'nodes'], namespace: '*' })
    // Something of team-a happens: an isolation by hand (an event) and an async call that dies.
    expect((await p.call('/v1/functions/hello/isolate?namespace=team-a', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(200)
    const acc = await p.call('/ns/team-a/async/fn/flaky', { method: 'POST', body: '' })
    expect(acc.status).toBe(202)
    const id = acc.json().id
    await admin.next('events', (l: any[]) => l.some((e) => e.type === 'FunctionIsolated' && e.function === 'team-a/hello'))
    await admin.next('invocations', (x: any) => x.dead.some((i: any) => i.id === id))
    await a.next('events', (l: any[]) => l.some((e) => e.type === 'FunctionIsolated' && e.function === 'team-a/hello'))
    await a.next('invocations', (x: any) => x.dead.some((i: any) => i.id === id))
    expect((await p.call('/v1/functions/hello/release?namespace=team-a', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(200)
    await a.next('events', (l: any[]) => l.some((e) => e.type === 'FunctionReleased' && e.function === 'team-a/hello'))
    // Then something of team-b: once the viewer of team-b has it, its stream has read past team-a's.
    expect((await p.call('/v1/functions/hello/isolate?namespace=team-b', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(200)
    const accB = await p.call('/ns/team-b/async/fn/hello', { method: 'POST', body: '' })
    expect(accB.status).toBe(202)
    await b.next('events', (l: any[]) => l.some((e) => e.type === 'FunctionIsolated' && e.function === 'team-b/hello'))
    await b.next('invocations', (x: any) => x.recent.some((i: any) => i.id === accB.json().id))
    expect((await p.call('/v1/functions/hello/release?namespace=team-b', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(200)
    // Team-b's own function is there, so the stream does carry data; team-a's is in no event of it.
    expect((await b.next('functions')).map((f: any) => `${f.metadata.namespace}/${f.metadata.name}`)).toEqual(['team-b/hello'])
    expect(Object.keys(await b.next('series'))).toEqual(['team-b/hello'])
    const seen = JSON.stringify(b.events)
    expect(seen).not.toContain('team-a')
    expect(seen).not.toContain(id)
    expect(b.events.filter((e) => e.event === 'pools' || e.event === 'nodes')).toEqual([])
    // Naming team-a outright is refused.
    const other = await watch(viewerB, '?namespace=team-a')
    expect([other.status, other.events[0].data.error]).toEqual([403, 'KILN_ERR_FORBIDDEN'])
  })

  it('a function\'s request rate and p50/p99 come as a series (GET /v1/functions/NAME/series and the stream)', async () => {
    for (let i = 0; i < 20; i++) expect((await p.call('/ns/team-b/fn/hello')).status).toBe(200)
    // The 20 answers may fall into two intervals of 5 s: wait until the series has counted (most of) them.
    // A rate is answers per second over the time the pass really took (a loaded machine delays a pass),
    // so rate × 5 s sums to about 20 (a little more over a short first interval, or with earlier tests' calls),
    // never to the 100 of answers counted per interval.
    const counted = (s: { rate: number[] }) => s.rate.reduce((a, b) => a + b, 0) * 5
    const series = await until('the series to count the answers', async () => {
      const s = (await p.call('/v1/functions/hello/series?namespace=team-b')).json()
      return counted(s) >= 15 ? s : undefined
    }, 60_000)
    expect(series.intervalMs).toBe(5000)
    const i = series.rate.findIndex((r: number) => r > 0)
    expect(counted(series)).toBeLessThanOrEqual(30)
    expect(series.p50[i]).toBeGreaterThan(0)
    expect(series.p99[i]).toBeGreaterThanOrEqual(series.p50[i])
    expect(series.errors[i]).toBe(0)
    const viewerB = await tokenFor(p, 'viewer', ['team-b'])
    const s = await watch(viewerB, '?topics=series')
    await s.next('series', (x: any) => x['team-b/hello']?.rate.some((r: number) => r > 0))
    expect((await as(p, viewerB, 'GET', '/v1/functions/hello/series?namespace=team-a')).json().error).toBe('KILN_ERR_FORBIDDEN')
    expect((await p.call('/v1/functions/nope/series')).json().error).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
  })

  it('a user route may not take /ui', async () => {
    const r = await p.call('/v1/triggers?namespace=team-a', { method: 'POST', body: JSON.stringify({ spec: { method: 'GET', path: '/ui/x', function: 'hello' } }), headers: { 'content-type': 'application/json' } })
    expect([r.status, r.json().error]).toEqual([400, 'KILN_ERR_VALIDATION'])
    expect(r.json().message).toContain('/ui/x is reserved')
  })
})

describe('the console with the API on its own listener', () => {
  let p: TestPlatform
  beforeAll(async () => {
    await Promise.all([buildNodeRuntime(), builtConsole()])
    p = await startTestPlatform({ poolSize: 0, cgroups: 'none', apiHost: '127.0.0.1', apiPort: 0 })
  }, 60_000)
  afterAll(async () => { await p?.stop() })

  it('is served by the API listener only, and open streams end when the platform closes', async () => {
    expect((await raw(`${p.apiUrl}/ui/`)).status).toBe(200)
    const data = await raw(`${p.url}/ui/`)
    expect([data.status, JSON.parse(data.text).error]).toEqual([404, 'KILN_ERR_ROUTE_NOT_FOUND'])
    expect((await raw(`${p.url}/ui/assets/console.js`)).status).toBe(404)
    const s = await openStream(`${p.apiUrl}/v1/watch`, p.adminToken)
    await s.next('hello')
    // An open stream does not hold the close (it would wait for the client forever).
    await p.stop()
    s.close()
  })
})

describe('a platform whose console was not built', () => {
  let app: FastifyInstance
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kiln-no-console-'))
    app = Fastify() as unknown as FastifyInstance
    await consoleRoutes(app, dir)
  })
  afterAll(async () => { await app?.close(); await rm(dir, { recursive: true, force: true }) })

  it('answers /ui/ with 503 KILN_ERR_CONSOLE_NOT_BUILT', async () => {
    const r = await app.inject({ method: 'GET', url: '/ui/' })
    expect([r.statusCode, r.json().error]).toEqual([503, 'KILN_ERR_CONSOLE_NOT_BUILT'])
  })
})
