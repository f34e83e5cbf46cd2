// WebSocket upgrades through the router to functions that accept them (the runtime's `upgrade`
// export), by /fn/NAME and by user route; the slot is held while the socket is open and given back
// when either side closes; refusals are plain HTTP answers with the catalogue's codes.
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestPlatform } from '../../helpers/platform.js'
import { eventually } from '../../helpers/http.js'
import { describeFn, fixture, routerPlatform } from './setup.js'

let p: TestPlatform
let ws: string
beforeAll(async () => {
  p = await routerPlatform()
  ws = p.url.replace('http:', 'ws:')
  await p.deploy('wsecho', fixture('ws-echo.mjs'), { concurrency: 1, maxScale: 1 })
  await p.deploy('plain', fixture('hello.mjs'))
  const r = await p.call('/v1/triggers', { method: 'POST', body: JSON.stringify({ spec: { method: 'GET', path: '/rooms/:room', function: 'wsecho' } }), headers: { 'content-type': 'application/json' } })
  expect(r.status, r.text).toBeLessThan(300)
})
afterAll(async () => { await p?.stop() })

interface Hello { url: string; params: string | null; forwardedFor: string | null; requestId: string | null }

/** Opens a socket and resolves with it and its first message (the function's greeting). */
function open(url: string): Promise<{ sock: WebSocket; hello: Hello; next(): Promise<WebSocket.RawData> }> {
  return new Promise((resolve, reject) => {
    const sock = new WebSocket(url)
    const queue: WebSocket.RawData[] = []
    const waiting: ((d: WebSocket.RawData) => void)[] = []
    sock.on('message', (d) => {
      const w = waiting.shift()
      if (w) w(d)
      else queue.push(d)
    })
    const next = () => new Promise<WebSocket.RawData>((r) => {
      const d = queue.shift()
      if (d !== undefined) r(d)
      else waiting.push(r)
    })
    sock.once('error', reject)
    sock.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, headers: res.headers })))
    sock.once('open', () => { void next().then((d) => resolve({ sock, hello: JSON.parse(d.toString()) as Hello, next })) })
  })
}

function closed(sock: WebSocket): Promise<number> {
  return new Promise((r) => sock.once('close', (code) => r(code)))
}

describe('router: WebSocket', () => {
  it('proxies an upgrade on /fn/NAME/path and echoes text and binary both ways', async () => {
    const { sock, hello, next } = await open(`${ws}/fn/wsecho/chat?x=1`)
    expect(hello.url).toBe('/chat?x=1')
    expect(hello.forwardedFor).toBe('127.0.0.1')
    expect(hello.requestId).toBeTruthy()
    sock.send('hello there')
    expect((await next()).toString()).toBe('hello there')
    const big = Buffer.alloc(200_000)
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff
    sock.send(big)
    expect(Buffer.compare(Buffer.from(await next() as Buffer), big)).toBe(0)
    const c = closed(sock)
    sock.close(1000)
    expect(await c).toBe(1000)
  })

  it('proxies an upgrade on a user route with its path params', async () => {
    const { sock, hello, next } = await open(`${ws}/rooms/lobby`)
    expect(hello.url).toBe('/rooms/lobby')
    expect(JSON.parse(hello.params!)).toEqual({ room: 'lobby' })
    sock.send('x')
    expect((await next()).toString()).toBe('x')
    sock.close()
    await closed(sock)
  })

  it('holds one concurrency slot while open and frees it when the client closes', async () => {
    const { sock } = await open(`${ws}/fn/wsecho/`)
    expect(describeFn(p, 'wsecho').instances.map((i) => i.inflight)).toEqual([1])
    sock.terminate() // no close handshake: the TCP connection just goes away
    await eventually(() => describeFn(p, 'wsecho').instances.every((i) => i.inflight === 0), 'the slot is free again')
    // The concurrency-1 function serves plain HTTP again, without a queue.
    const r = await p.call('/fn/wsecho')
    expect([r.status, r.text]).toEqual([200, 'plain http'])
    expect(describeFn(p, 'wsecho').instances).toHaveLength(1)
  })

  it('frees the slot when the function side closes', async () => {
    const { sock } = await open(`${ws}/fn/wsecho/`)
    const c = closed(sock)
    // Kill the instance's end: the router sees the upstream close and ends the client socket.
    const inst = [...p.ctx.fleet.records.values()].find((r) => r.fn === 'wsecho')!
    process.kill(inst.inst.pid!, 'SIGKILL')
    await c
    await eventually(() => (describeFn(p, 'wsecho').instances ?? []).every((i) => i.inflight === 0), 'no slot stays taken')
  })

  it('refuses an upgrade to a function without an upgrade export with 501, and to no function with 404', async () => {
    await expect(open(`${ws}/fn/plain/`)).rejects.toMatchObject({ status: 501 })
    await expect(open(`${ws}/fn/nothing-here/`)).rejects.toMatchObject({ status: 404 })
    await expect(open(`${ws}/no/route`)).rejects.toMatchObject({ status: 404 })
  })
})
