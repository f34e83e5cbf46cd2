// Streaming through the router both ways with backpressure, a slow client that does not hold up the
// others, and a client disconnect that cancels the upstream request and frees the slot at once.
import { connect } from 'node:net'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestPlatform } from '../../helpers/platform.js'
import { eventually } from '../../helpers/http.js'
import { describeFn, fixture, routerPlatform, rssSampler, until } from './setup.js'

const GiB = 1024 * 1024 * 1024
const MiB = 1024 * 1024

let p: TestPlatform
beforeAll(async () => {
  p = await routerPlatform({ maxBodyBytes: 4 * GiB })
  await p.deploy('count-upload', fixture('count-upload.mjs'), { maxBodyBytes: 4 * GiB })
  await p.deploy('stream-out', fixture('stream-out.mjs'))
  await p.deploy('hold', fixture('hold.mjs'), { concurrency: 1, maxScale: 1, timeoutMs: 120_000 })
  // Specialize once so the memory figures below measure streaming, not a cold start.
  expect((await p.call('/fn/count-upload', { method: 'POST', body: 'x' })).status).toBe(200)
  expect((await p.call('/fn/stream-out?bytes=1')).status).toBe(200)
})
afterAll(async () => { await p?.stop() })

/** 1 GiB (or `total`) generated on the fly from one reused 64 KiB buffer. */
async function* generated(total: number): AsyncGenerator<Buffer> {
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  for (let left = total; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left)
}

describe('router: streaming with backpressure', () => {
  it('a 1 GiB chunked upload reaches the function whole while the router grows by < 64 MB', async () => {
    // The first upload of the file also pays one-time growth (compiled code, heap sizing): a small one
    // first, so the baseline is the steady state and the bound is about the 1 GiB.
    const warm = await request(`${p.url}/fn/count-upload`, { method: 'POST', body: Readable.from(generated(32 * MiB), { objectMode: false }), headers: { 'content-type': 'application/octet-stream' } })
    expect((await warm.body.json() as { bytes: number }).bytes).toBe(32 * MiB)
    const rss = rssSampler()
    const res = await request(`${p.url}/fn/count-upload`, { method: 'POST', body: Readable.from(generated(GiB), { objectMode: false }), headers: { 'content-type': 'application/octet-stream' } })
    const out = await res.body.json() as { bytes: number; transferEncoding: string | null }
    const m = rss.stop()
    expect(res.statusCode).toBe(200)
    expect(out.bytes).toBe(GiB)
    expect(out.transferEncoding).toBe('chunked')
    expect(m.max - m.before).toBeLessThan(64 * MiB)
  })

  it('a 1 GiB content-length upload reaches the function whole while the router grows by < 64 MB', async () => {
    const rss = rssSampler()
    const res = await request(`${p.url}/fn/count-upload`, { method: 'POST', body: Readable.from(generated(GiB), { objectMode: false }), headers: { 'content-type': 'application/octet-stream', 'content-length': String(GiB) } })
    const out = await res.body.json() as { bytes: number; contentLength: string | null }
    const m = rss.stop()
    expect(res.statusCode).toBe(200)
    expect(out).toMatchObject({ bytes: GiB, contentLength: String(GiB) })
    expect(m.max - m.before).toBeLessThan(64 * MiB)
  })

  it('a 1 GiB download reaches the client whole while the router grows by < 64 MB', async () => {
    const rss = rssSampler()
    const res = await request(`${p.url}/fn/stream-out?bytes=${GiB}`)
    let bytes = 0
    let wrong = 0
    for await (const c of res.body as AsyncIterable<Buffer>) {
      bytes += c.length
      if (c[0] !== 0x6b || c[c.length - 1] !== 0x6b) wrong++
    }
    const m = rss.stop()
    expect(res.statusCode).toBe(200)
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(bytes).toBe(GiB)
    expect(wrong).toBe(0)
    expect(m.max - m.before).toBeLessThan(64 * MiB)
  })

  it('a client that stops reading a 256 MiB download neither holds up other clients nor fills the router', async () => {
    const total = 256 * MiB
    // A raw socket that sends the request and then does not read: TCP and the router's backpressure
    // must stop the instance from producing, not the router's memory.
    const host = new URL(p.url)
    const slow = connect({ host: host.hostname, port: Number(host.port) })
    await new Promise<void>((r) => slow.once('connect', () => r()))
    slow.pause()
    slow.write(`GET /fn/stream-out?bytes=${total} HTTP/1.1\r\nhost: ${host.host}\r\n\r\n`)
    const rss = rssSampler()
    // Wait until the slow download is under way (the instance holds its slot for it).
    await eventually(() => describeFn(p, 'stream-out').instances.some((i) => i.inflight > 0), 'the slow download is in flight')

    // Meanwhile, 40 other clients: 8 MiB downloads and small ones, all complete and whole.
    const others = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const n = i % 2 === 0 ? 8 * MiB : 10
      const r = await request(`${p.url}/fn/stream-out?bytes=${n}`)
      let got = 0
      for await (const c of r.body as AsyncIterable<Buffer>) got += c.length
      return got === n && r.statusCode === 200
    }))
    expect(others.every(Boolean)).toBe(true)
    const m = rss.stop()
    expect(m.max - m.before).toBeLessThan(64 * MiB)
    // The slow client is still being served: it now reads everything and gets every byte.
    expect(slow.destroyed).toBe(false)
    let received = 0
    let headerEnd = -1
    let head = Buffer.alloc(0)
    const done = new Promise<void>((resolve) => {
      slow.on('data', (c: Buffer) => {
        if (headerEnd < 0) {
          head = Buffer.concat([head, c])
          headerEnd = head.indexOf('\r\n\r\n')
          if (headerEnd >= 0) received += head.length - headerEnd - 4
        } else received += c.length
        if (head.subarray(Math.max(0, head.length - 5)).toString() === '0\r\n\r\n' || c.subarray(c.length - 5).toString() === '0\r\n\r\n') resolve()
      })
    })
    slow.resume()
    await done
    slow.destroy()
    // Chunked framing adds a few bytes per chunk; the payload itself is all there.
    expect(head.subarray(0, 15).toString()).toBe('HTTP/1.1 200 OK')
    expect(received).toBeGreaterThanOrEqual(total)
  })
})

describe('router: client disconnects', () => {
  it('a client that disconnects cancels the upstream request and frees a concurrency-1 slot at once', async () => {
    const ac = new AbortController()
    const pending = request(`${p.url}/fn/hold/hold`, { signal: ac.signal }).catch((e: Error) => e)
    await eventually(() => describeFn(p, 'hold').instances.some((i) => i.inflight === 1), 'the held request occupies the only slot')
    ac.abort()
    expect(await pending).toBeInstanceOf(Error)
    // The slot comes back as soon as the router sees the close, not when the function would have ended.
    await eventually(() => describeFn(p, 'hold').instances.every((i) => i.inflight === 0), 'the slot is free again')
    expect(describeFn(p, 'hold').queued).toBe(0)
    const next = await p.call('/fn/hold/stats')
    expect(next.status).toBe(200)
    expect(next.json()).toMatchObject({ held: 1 })
    // The upstream request was cancelled: the function saw its response close.
    await until(async () => (await p.call('/fn/hold/stats')).json().cancelled === 1, 'the function saw the cancel')
    expect(describeFn(p, 'hold').instances).toHaveLength(1)
  })
})
