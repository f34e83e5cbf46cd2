// Router processes (`routerProcesses: 2`, router/workers/): real child processes take the public
// connections; function requests take their slots from the platform's process and go straight to the
// instances; everything else is passed to the platform's own listener. What a caller sees is the same as
// with one process (headers, errors, private functions, the queue's 503, async, routes, WebSocket), every
// slot comes back, a router process that dies gives its slots back and is replaced, and none outlives
// the platform.
import { Agent, request } from 'undici'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestPlatform } from '../../helpers/platform.js'
import { until } from '../../helpers/until.js'
import { fixture, raw, rawValues, routerPlatform } from './setup.js'

let p: TestPlatform
let pids: number[] = []

beforeAll(async () => {
  p = await routerPlatform({ routerProcesses: 2 })
  pids = p.routers!.pids().filter((x): x is number => x !== undefined)
  await p.deploy('sem', fixture('semantics.mjs'))
  await p.deploy('secret', fixture('semantics.mjs'), { private: true })
  await p.deploy('slow', fixture('slow-ok.mjs'), { concurrency: 1, maxScale: 1, queueSize: 1 })
  await p.deploy('hold', fixture('hold.mjs'), { concurrency: 8, maxScale: 1 })
  await p.deploy('wsecho', fixture('ws-echo.mjs'), { concurrency: 1, maxScale: 1 })
  const r = await p.call('/v1/triggers', { method: 'POST', body: JSON.stringify({ spec: { method: 'GET', path: '/shop/:shop', function: 'sem', host: 'shop.example.test' } }), headers: { 'content-type': 'application/json' } })
  expect(r.status, r.text).toBeLessThan(300)
}, 60_000)

afterAll(async () => {
  await p?.stop()
  // None outlives the platform.
  for (const pid of [...pids, ...(p?.routers?.pids() ?? [])]) if (pid !== undefined) expect(alive(pid), `router process ${pid}`).toBe(false)
})

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

/** Requests in flight on the platform's instances of `fn`, as the executor counts them. */
function inflight(fn: string): number {
  let n = 0
  for (const rec of p.ctx.fleet.records.values()) if (rec.fn === fn) n += rec.inflight
  return n
}

interface Echo { method: string; url: string; params: Record<string, string>; rawHeaders: string[]; bytes: number }
const echo = (r: { body: Buffer }) => JSON.parse(r.body.toString()) as Echo

describe('router processes', () => {
  it('start as separate processes and serve functions from each of them, giving every slot back', async () => {
    expect(pids).toHaveLength(2)
    expect(pids).not.toContain(process.pid)
    const stats = p.ctx.executor.entry('sem')!.states.get(1)!.stats
    const counted = () => stats.requests.reduce((a, b) => a + b, 0)
    const before = counted()
    const agent = new Agent({ connections: 8, pipelining: 1 })
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) =>
        request(`${p.url}/fn/sem/n${i}`, { dispatcher: agent }).then(async (r) => ({ status: r.statusCode, url: (await r.body.json() as Echo).url }))))
      for (const [i, a] of answers.entries()) expect(a).toEqual({ status: 200, url: `/n${i}` })
    } finally {
      await agent.close()
    }
    const view = p.routers!.view()
    expect(view.alive).toBe(2)
    // Connections are handed out in turn: both router processes took requests.
    for (const served of view.served) expect(served).toBeGreaterThan(0)
    expect(view.served.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(200)
    await until('every slot given back', async () => p.routers!.held() === 0 && inflight('sem') === 0, 5000)
    // Their answers are counted where the platform's own are (the function's metrics).
    expect(counted() - before).toBe(200)
    expect(stats.requests[1]).toBeGreaterThanOrEqual(200) // 2xx (core/metrics.ts STATUS_CLASSES)
    // Each reports its loop's load for the autoscaler's "router busy".
    const load = await until('the router processes\' loads', async () => p.routers!.utilization(), 5000)
    expect(load).toBeGreaterThan(0)
    expect(load).toBeLessThanOrEqual(1)
    const health = (await p.call('/healthz')).json() as { routers: { processes: number; alive: number; served: number[] } }
    expect(health.routers.processes).toBe(2)
    expect(health.routers.alive).toBe(2)
  })

  it('pass the caller\'s address, host and headers to the function, and drop hop-by-hop ones', async () => {
    const r = await raw(`${p.url}/fn/sem/echo?q=1`, { headers: { 'x-forwarded-for': '203.0.113.7', host: 'api.example.test:8443', connection: 'keep-alive, x-drop-me', 'x-drop-me': '1', 'x-keep-me': 'yes' } })
    expect(r.status).toBe(200)
    const h = echo(r).rawHeaders
    expect(echo(r).url).toBe('/echo?q=1')
    expect(rawValues(h, 'x-forwarded-for')).toEqual(['203.0.113.7, 127.0.0.1'])
    expect(rawValues(h, 'x-forwarded-host')).toEqual(['api.example.test:8443'])
    expect(rawValues(h, 'x-keep-me')).toEqual(['yes'])
    expect(rawValues(h, 'x-drop-me')).toEqual([])
    expect(r.headers['x-kiln-instance']).toBeTruthy()
    expect(r.headers['x-request-id']).toBe(rawValues(h, 'x-request-id')[0])
  })

  it('stream a request body to the function and its answer back', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 7)
    const up = await raw(`${p.url}/fn/sem/echo`, { method: 'POST', body, headers: { 'content-length': body.length } })
    expect(up.status).toBe(200)
    expect(echo(up).bytes).toBe(body.length)
    const chunked = await raw(`${p.url}/fn/sem/chunked`)
    expect(chunked.body.toString()).toBe('part1-part2-part3')
  })

  it('refuse as the platform does: unknown function, a private one without a token, a body over the limit, the runtime\'s own paths', async () => {
    const missing = await raw(`${p.url}/fn/nope`)
    expect(missing.status).toBe(404)
    expect(JSON.parse(missing.body.toString()).error).toBe('KILN_ERR_FUNCTION_NOT_FOUND')
    const anon = await raw(`${p.url}/fn/secret/echo`)
    expect(anon.status).toBe(401)
    expect(anon.headers['www-authenticate']).toBe('Bearer realm="kiln"')
    expect(JSON.parse(anon.body.toString()).error).toBe('KILN_ERR_UNAUTHENTICATED')
    const runtimePath = await raw(`${p.url}/fn/sem/v1/specialize`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })
    expect(runtimePath.status).toBe(404)
    expect(JSON.parse(runtimePath.body.toString()).error).toBe('KILN_ERR_NOT_FOUND')
    const big = await raw(`${p.url}/fn/sem/echo`, { method: 'POST', headers: { 'content-length': String(200 * 1024 * 1024) }, expectContinue: true })
    expect(big.status).toBe(413)
    expect(big.continued).toBe(false)
    expect(JSON.parse(big.body.toString()).error).toBe('KILN_ERR_BODY_TOO_LARGE')
  })

  it('keep a private function\'s token with the platform', async () => {
    const r = await raw(`${p.url}/fn/secret/echo`, { headers: { authorization: `Bearer ${p.adminToken}` } })
    expect(r.status).toBe(200)
    expect(rawValues(echo(r).rawHeaders, 'authorization')).toEqual([])
  })

  it('answer 503 with Retry-After when the version\'s queue is full, and count nothing twice', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => raw(`${p.url}/fn/slow?ms=400`)))
    const statuses = answers.map((a) => a.status).sort()
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2)
    const refused = answers.filter((a) => a.status === 503)
    expect(refused.length).toBeGreaterThan(0)
    for (const a of refused) {
      expect(JSON.parse(a.body.toString()).error).toBe('KILN_ERR_QUEUE_FULL')
      expect(Number(a.headers['retry-after'])).toBeGreaterThan(0)
    }
    await until('every slot given back', async () => p.routers!.held() === 0 && inflight('slow') === 0, 5000)
  })

  it('pass the control API, user routes (by host) and async calls to the platform\'s process', async () => {
    const list = await p.call('/v1/functions')
    expect(list.status).toBe(200)
    const route = await raw(`${p.url}/shop/tea`, { headers: { host: 'shop.example.test' } })
    expect(route.status).toBe(200)
    expect(echo(route).params).toEqual({ shop: 'tea' })
    expect(rawValues(echo(route).rawHeaders, 'x-forwarded-for')).toEqual(['127.0.0.1'])
    const otherHost = await raw(`${p.url}/shop/tea`, { headers: { host: 'elsewhere.test' } })
    expect(otherHost.status).toBe(404)
    const async = await raw(`${p.url}/fn/sem/echo`, { method: 'POST', body: 'x', headers: { prefer: 'respond-async', 'content-length': '1' } })
    expect(async.status).toBe(202)
    expect(async.headers['preference-applied']).toBe('respond-async')
  })

  it('tunnel WebSocket upgrades to the platform\'s process', async () => {
    const sock = new WebSocket(`${p.url.replace('http:', 'ws:')}/fn/wsecho/chat`)
    const messages: string[] = []
    await new Promise<void>((resolve, reject) => {
      sock.on('message', (d) => { messages.push(d.toString()); if (messages.length === 2) resolve() })
      sock.once('open', () => sock.send('over the tunnel'))
      sock.once('error', reject)
    })
    expect((JSON.parse(messages[0]) as { forwardedFor: string }).forwardedFor).toBe('127.0.0.1')
    expect(messages[1]).toBe('over the tunnel')
    sock.close()
    await until('the socket\'s slot given back', async () => inflight('wsecho') === 0, 5000)
  })

  it('retry a GET whose instance died before answering once, on another instance', async () => {
    const stats = p.ctx.executor.entry('hold')!.states.get(1)!.stats
    const retries = stats.retries
    const caller = new AbortController()
    const pending = request(`${p.url}/fn/hold/hold`, { signal: caller.signal, dispatcher: new Agent({ connections: 1 }) }).catch((e: Error) => e)
    const holding = () => [...p.ctx.fleet.records.values()].find((r) => r.fn === 'hold' && r.inflight === 1)
    const first = await until('the request held', async () => holding(), 10_000)
    process.kill(first.inst.pid, 'SIGKILL')
    const second = await until('the request held again on another instance', async () => { const r = holding(); return r !== undefined && r.id !== first.id ? r : undefined }, 20_000)
    expect(second.id).not.toBe(first.id)
    expect(stats.retries).toBe(retries + 1)
    caller.abort()
    await pending
    await until('every slot given back', async () => inflight('hold') === 0 && p.routers!.held() === 0, 10_000)
  })

  it('a router process that dies gives its slots back, is replaced, and the others keep serving', async () => {
    const before = p.routers!.view().restarts
    // Requests held open on both router processes (each new connection goes to the next one).
    const callers = Array.from({ length: 6 }, () => new AbortController())
    const held = callers.map((c) => request(`${p.url}/fn/hold/hold`, { signal: c.signal, dispatcher: new Agent({ connections: 1 }) }).catch((e: Error) => e))
    await until('6 requests held', async () => inflight('hold') === 6, 10_000)
    const victim = p.routers!.pids()[0]!
    process.kill(victim, 'SIGKILL')
    // Its requests' slots come back at once; the other process's stay held.
    await until('the dead process\'s slots given back', async () => inflight('hold') === 3 && p.routers!.held() === 3, 10_000)
    await until('a new router process', async () => p.routers!.view().alive === 2 && !p.routers!.pids().includes(victim), 20_000)
    expect(p.routers!.view().restarts).toBe(before + 1)
    pids.push(...p.routers!.pids().filter((x): x is number => x !== undefined))
    for (let i = 0; i < 4; i++) expect((await raw(`${p.url}/fn/sem/after`)).status).toBe(200)
    // The held requests' callers go away: every slot comes back.
    for (const c of callers) c.abort()
    await Promise.all(held)
    await until('every slot given back', async () => inflight('hold') === 0 && p.routers!.held() === 0, 10_000)
  })

  it('while no router process is alive, the platform\'s own server takes the connections', async () => {
    const all = p.routers!.pids().filter((x): x is number => x !== undefined)
    for (const pid of all) process.kill(pid, 'SIGKILL')
    await until('no router process alive', async () => p.routers!.view().alive === 0, 10_000, 5)
    const served = p.routers!.view().served.reduce((a, b) => a + b, 0)
    const r = await raw(`${p.url}/fn/sem/meanwhile`)
    expect(r.status).toBe(200)
    expect(echo(r).url).toBe('/meanwhile')
    // Not through a router process: none took a slot for it.
    expect(p.routers!.view().served.reduce((a, b) => a + b, 0)).toBe(served)
    await until('router processes back', async () => p.routers!.view().alive === 2, 20_000)
    pids.push(...p.routers!.pids().filter((x): x is number => x !== undefined))
    expect((await raw(`${p.url}/fn/sem/back`)).status).toBe(200)
  })
})
