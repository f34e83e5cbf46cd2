// Load limits on the data path: a full queue answers 503 KILN_ERR_QUEUE_FULL with Retry-After, 1000
// concurrent connections are all served, and a saturated function (concurrency 1, maxScale 2, 500
// clients) never exceeds its instances, answers only its body or a documented refusal, and recovers.
import { Pool, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestPlatform } from '../../helpers/platform.js'
import { eventually } from '../../helpers/http.js'
import { trackPeak } from '../../helpers/peak.js'
import { describeFn, fixture, instancesOf, routerPlatform, until } from './setup.js'

let p: TestPlatform
beforeAll(async () => {
  p = await routerPlatform({ instanceBudget: 32 })
  await p.deploy('hold', fixture('hold.mjs'), { concurrency: 1, maxScale: 1, queueSize: 1, timeoutMs: 120_000 })
  await p.deploy('hello', fixture('hello.mjs'), { concurrency: 1000, maxScale: 1 })
  await p.deploy('busy', fixture('slow-ok.mjs'), { concurrency: 1, maxScale: 2, queueSize: 50 })
  for (const fn of ['hold/stats', 'hello', 'busy']) expect((await p.call(`/fn/${fn}`)).status).toBe(200)
})
afterAll(async () => { await p?.stop() })

const REFUSALS = new Set(['KILN_ERR_QUEUE_FULL', 'KILN_ERR_TOO_MANY_REQUESTS'])

describe('router: queue limits', () => {
  it('queues past the concurrency limit, then answers 503 KILN_ERR_QUEUE_FULL with Retry-After when the queue is full', async () => {
    const holding = new AbortController()
    const first = request(`${p.url}/fn/hold/hold`, { signal: holding.signal }).catch((e: Error) => e)
    await eventually(() => describeFn(p, 'hold').instances.some((i) => i.inflight === 1), 'the only slot is taken', 60_000)
    const queued = p.call('/fn/hold/stats') // waits in the queue of 1
    await eventually(() => describeFn(p, 'hold').queued === 1, 'the second request is queued', 60_000)
    const full = await p.call('/fn/hold/stats')
    expect(full.status).toBe(503)
    expect(full.json().error).toBe('KILN_ERR_QUEUE_FULL')
    expect(full.headers['retry-after']).toBe('1')
    // The held request goes away: the queued one is served by the freed slot.
    holding.abort()
    await first
    const q = await queued
    expect(q.status).toBe(200)
    expect(q.json()).toMatchObject({ held: 1 })
    // The runtime sees the cancelled request's connection close (possibly just after serving the next one).
    await until(async () => (await p.call('/fn/hold/stats')).json().cancelled === 1, 'the function saw the cancel', 60_000)
    expect(instancesOf(p, 'hold')).toBe(1)
  })
})

describe('router: many connections', () => {
  it('serves 1000 concurrent connections with zero errors', async () => {
    const CONNS = 1000
    const pool = new Pool(p.url, { connections: CONNS, pipelining: 1 })
    let opened = 0
    pool.on('connect', () => { opened++ })
    try {
      const results = await Promise.all(Array.from({ length: CONNS * 3 }, async () => {
        try {
          const r = await pool.request({ path: '/fn/hello', method: 'GET' })
          const text = await r.body.text()
          return r.statusCode === 200 && text === 'hello' ? 'ok' : `${r.statusCode} ${text}`
        } catch (e) {
          return (e as Error).message
        }
      }))
      const errors = results.filter((r) => r !== 'ok')
      expect(errors).toEqual([])
      expect(opened).toBe(CONNS)
    } finally {
      await pool.destroy()
    }
  })
})

describe('router: a saturated function', () => {
  it('concurrency 1, maxScale 2, 500 clients: never over 2 instances, only its body or 503/429 with Retry-After, then serves normally', async () => {
    const CLIENTS = 500
    const pool = new Pool(p.url, { connections: CLIENTS, pipelining: 1 })
    // Instances specialized with `busy`, counted at every change the fleet makes (not sampled).
    const instances = trackPeak(p.ctx.fleet, (r) => r.fn === 'busy' && r.state !== 'gone')
    const tally = { ok: 0, refused: 0, other: [] as string[], noRetryAfter: 0 }
    try {
      await Promise.all(Array.from({ length: CLIENTS }, async () => {
        for (let i = 0; i < 2; i++) {
          try {
            const r = await pool.request({ path: '/fn/busy', method: 'GET' })
            const text = await r.body.text()
            if (r.statusCode === 200 && text === 'ok-body') tally.ok++
            else if ((r.statusCode === 503 || r.statusCode === 429) && REFUSALS.has(JSON.parse(text).error)) {
              tally.refused++
              if (r.headers['retry-after'] === undefined) tally.noRetryAfter++
            } else tally.other.push(`${r.statusCode} ${text}`)
          } catch (e) {
            tally.other.push((e as Error).message)
          }
        }
      }))
    } finally {
      instances.stop()
      await pool.destroy()
    }
    expect(tally.other).toEqual([])
    expect(tally.ok + tally.refused).toBe(CLIENTS * 2)
    expect(tally.ok).toBeGreaterThan(0)
    expect(tally.refused).toBeGreaterThan(0)
    expect(tally.noRetryAfter).toBe(0)
    expect(instances.max).toBeLessThanOrEqual(2)
    // Load gone: it serves normally again (once the queue has drained; the deadline only bounds a hang).
    let last = 0
    await eventually(() => describeFn(p, 'busy').queued === 0, 'the queue drains', 60_000)
    for (let i = 0; i < 5; i++) {
      const r = await p.call('/fn/busy')
      last = r.status
      expect([r.status, r.text]).toEqual([200, 'ok-body'])
    }
    expect(last).toBe(200)
    expect(instancesOf(p, 'busy')).toBeLessThanOrEqual(2)
  })
})
