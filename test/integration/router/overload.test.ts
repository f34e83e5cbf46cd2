// Under overload (docs/router.md "Under overload"), against a real platform and real runtime processes:
// a CPU-bound flood never gets more instances than the node's cores keep busy and is answered only with
// its body or an immediate 503 with Retry-After; another function, and another function's first
// request, are served meanwhile; a GET whose instance dies is retried once on another instance, a POST
// never; an instance that keeps failing while its sibling answers well is ejected and replaced, and a
// function whose every answer fails keeps its instance.
import { availableParallelism } from 'node:os'
import { Pool, request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { TestPlatform } from '../../helpers/platform.js'
import { eventually } from '../../helpers/http.js'
import { trackPeak } from '../../helpers/peak.js'
import { expectReadyCountsTrue } from '../../helpers/ready-counts.js'
import { describeFn, fixture, routerPlatform, until } from './setup.js'

let p: TestPlatform
beforeAll(async () => {
  p = await routerPlatform({ instanceBudget: 32 })
}, 120_000)
afterAll(async () => { await p?.stop() })
afterEach(() => { if (p) expectReadyCountsTrue(p.ctx.executor) })

interface Tally { ok: number; refused: number; noRetryAfter: number; other: string[] }

/** `clients` connections each sending `each` requests to `path`; counts bodies and refusals. */
async function flood(path: string, body: string, clients: number, each: number, stop?: { stopped: boolean }): Promise<Tally> {
  const pool = new Pool(p.url, { connections: clients, pipelining: 1 })
  const t: Tally = { ok: 0, refused: 0, noRetryAfter: 0, other: [] }
  try {
    await Promise.all(Array.from({ length: clients }, async () => {
      for (let i = 0; i < each && !stop?.stopped; i++) {
        try {
          const r = await pool.request({ path, method: 'GET' })
          const text = await r.body.text()
          if (r.statusCode === 200 && text === body) t.ok++
          else if (r.statusCode === 503 && JSON.parse(text).error === 'KILN_ERR_QUEUE_FULL') {
            t.refused++
            if (r.headers['retry-after'] === undefined) t.noRetryAfter++
          } else t.other.push(`${r.statusCode} ${text}`)
        } catch (e) {
          t.other.push((e as Error).message)
        }
      }
    }))
  } finally {
    await pool.destroy()
  }
  return t
}

describe('overload: a CPU-bound flood', () => {
  it('gets no more instances than the node\'s cores keep busy; beyond the queue, 503 with Retry-After at once; the rest is served', async () => {
    await p.deploy('spin', fixture('spin.mjs'), { concurrency: 2, queueSize: 20, maxScale: 50 })
    expect((await p.call('/fn/spin')).text).toBe('spun')
    const peak = trackPeak(p.ctx.fleet, (r) => r.fn === 'spin' && r.state !== 'gone')
    let t: Tally
    try {
      t = await flood('/fn/spin?ms=4', 'spun', 200, 15)
    } finally {
      peak.stop()
    }
    expect(t.other).toEqual([])
    expect(t.ok).toBeGreaterThan(0)
    expect(t.refused).toBeGreaterThan(0)
    expect(t.noRetryAfter).toBe(0)
    expect(peak.max).toBeLessThanOrEqual(Math.max(2, availableParallelism()))
    expect(p.ctx.executor.state('spin')!.stats.rejected).toBe(t.refused)
    await eventually(() => describeFn(p, 'spin').queued === 0, 'the queue drains', 60_000)
    expect((await p.call('/fn/spin')).text).toBe('spun')
  })
})

describe('overload: the adaptive in-flight limit', () => {
  it('holds a CPU-bound function below its concurrency per instance; what it holds back is queued, never refused for it', async () => {
    // One instance, 100 slots, a queue of 50: 150 connections would overflow the queue if the instance
    // took only what its concurrency allows and the limit's held-back requests counted as queued.
    await p.deploy('busy', fixture('spin.mjs'), { concurrency: 100, queueSize: 50, maxScale: 1 })
    expect((await p.call('/fn/busy')).text).toBe('spun')
    const fs = () => p.ctx.executor.state('busy')!
    let least = Infinity
    let most = 0
    const watching = setInterval(() => {
      least = Math.min(least, fs().slots)
      for (const r of fs().instances) most = Math.max(most, r.inflight)
    }, 20)
    let t: Tally
    try {
      t = await flood('/fn/busy?ms=1', 'spun', 150, 15)
    } finally {
      clearInterval(watching)
    }
    expect(t.other).toEqual([])
    expect(t.refused).toBe(0)
    expect(t.ok).toBe(150 * 15)
    // Each request in flight adds a millisecond to the round trip: the limit went well below 100.
    expect(least).toBeLessThan(50)
    expect(most).toBeGreaterThan(0)
  })
})

describe('overload: a full instance budget', () => {
  let small: TestPlatform
  beforeAll(async () => { small = await routerPlatform({ poolSize: 0, instanceBudget: 2 }) }, 120_000)
  afterAll(async () => { await small?.stop() })

  it('a function growing past its first instance never takes the instance of one served between its requests; its requests wait instead', async () => {
    await small.deploy('steady', fixture('hello.mjs'), {})
    await small.deploy('grower', fixture('slow-ok.mjs'), { concurrency: 1, queueSize: 1000 })
    expect((await small.call('/fn/steady')).text).toBe('hello')
    expect((await small.call('/fn/grower')).text).toBe('ok-body')
    // The budget holds one more instance: grower takes it, and wants more (each waits 20 ms on a timer).
    const stop = { stopped: false }
    let steadyOk = 0
    const steadyOther: string[] = []
    const steady = (async () => {
      while (!stop.stopped) {
        const r = await request(`${small.url}/fn/steady`)
        const text = await r.body.text()
        if (r.statusCode === 200 && text === 'hello') steadyOk++
        else steadyOther.push(`${r.statusCode} ${text}`)
      }
    })()
    const pool = new Pool(small.url, { connections: 8 })
    const growerOther: string[] = []
    let growerOk = 0
    try {
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 40; i++) {
          const r = await pool.request({ path: '/fn/grower', method: 'GET' })
          const text = await r.body.text()
          if (r.statusCode === 200 && text === 'ok-body') growerOk++
          else growerOther.push(`${r.statusCode} ${text}`)
        }
      }))
    } finally {
      stop.stopped = true
      await steady
      await pool.destroy()
    }
    expect(growerOther).toEqual([])
    expect(growerOk).toBe(8 * 40)
    expect(steadyOther).toEqual([])
    expect(steadyOk).toBeGreaterThan(0)
    // steady kept its one instance all along: no cold start after its first.
    expect(small.ctx.executor.state('steady')!.coldStarts).toBe(1)
  })
})

describe('overload: fairness', () => {
  it('another function, and another function\'s first request, are served while one is flooded', async () => {
    await p.deploy('hot', fixture('spin.mjs'), { concurrency: 4, queueSize: 2000, maxScale: 50 })
    await p.deploy('victim', fixture('hello.mjs'), { concurrency: 100 })
    expect((await p.call('/fn/hot')).text).toBe('spun')
    expect((await p.call('/fn/victim')).text).toBe('hello')
    const stop = { stopped: false }
    const flooding = flood('/fn/hot?ms=2', 'spun', 300, 1_000_000, stop)
    try {
      // The flood has filled the hot function's instances and queue.
      await eventually(() => describeFn(p, 'hot').queued > 50, 'the hot function has a queue', 60_000)
      for (let i = 0; i < 20; i++) {
        const r = await p.call('/fn/victim')
        expect([r.status, r.text]).toEqual([200, 'hello'])
      }
      // A function deployed now: its first request boots its instance beside the flood.
      await p.deploy('newcomer', fixture('hello.mjs'))
      const first = await p.call('/fn/newcomer')
      expect([first.status, first.text]).toEqual([200, 'hello'])
      expect(describeFn(p, 'hot').queued).toBeGreaterThan(0) // still flooded while it was served
    } finally {
      stop.stopped = true
    }
    const t = await flooding
    expect(t.other).toEqual([])
    expect(t.ok).toBeGreaterThan(0)
  })
})

describe('overload: retries', () => {
  async function inFlightOn(fn: string): Promise<string> {
    let id = ''
    await eventually(() => {
      const busy = (describeFn(p, fn).instances as unknown as { id: string; inflight: number }[]).find((i) => i.inflight > 0)
      if (busy) id = busy.id
      return busy !== undefined
    }, `a request in flight on ${fn}`, 60_000)
    return id
  }

  it('a GET whose instance dies before answering is served by another instance; a POST is never replayed', async () => {
    await p.deploy('slow', fixture('slow-ok.mjs'), { concurrency: 10 })
    expect((await p.call('/fn/slow')).text).toBe('ok-body')
    const fs = p.ctx.executor.state('slow')!
    const retriesBefore = fs.stats.retries

    const get = request(`${p.url}/fn/slow?ms=3000`)
    const killed = await inFlightOn('slow')
    await p.ctx.fleet.backend.stop(killed, 0)
    const g = await get
    expect([g.statusCode, await g.body.text()]).toEqual([200, 'ok-body'])
    expect(g.headers['x-kiln-instance']).not.toBe(killed)
    expect(fs.stats.retries).toBe(retriesBefore + 1)

    for (const body of ['a body', undefined]) {
      const post = request(`${p.url}/fn/slow?ms=3000`, { method: 'POST', body })
      const victim = await inFlightOn('slow')
      await p.ctx.fleet.backend.stop(victim, 0)
      const r = await post
      const answer = await r.body.json() as { error: string }
      expect(r.statusCode).toBe(502)
      expect(answer.error).toBe('KILN_ERR_FUNCTION_CRASHED')
    }
    expect(fs.stats.retries).toBe(retriesBefore + 1)
  })

  it('a GET is retried once only: when the second instance dies too, the answer is 502', async () => {
    const fs = p.ctx.executor.state('slow')!
    const before = fs.stats.retries
    const get = request(`${p.url}/fn/slow?ms=3000`)
    const first = await inFlightOn('slow')
    await p.ctx.fleet.backend.stop(first, 0)
    let second = ''
    await eventually(() => {
      const busy = (describeFn(p, 'slow').instances as unknown as { id: string; inflight: number; state: string }[]).find((i) => i.inflight > 0 && i.id !== first && i.state !== 'draining')
      if (busy) second = busy.id
      return busy !== undefined
    }, 'the retry in flight on another instance', 60_000)
    await p.ctx.fleet.backend.stop(second, 0)
    const g = await get
    expect(g.statusCode).toBe(502)
    expect((await g.body.json() as { error: string }).error).toBe('KILN_ERR_FUNCTION_CRASHED')
    expect(fs.stats.retries).toBe(before + 1)
  })
})

describe('overload: outlier ejection', () => {
  it('an instance that keeps failing while its sibling answers well is ejected and replaced; the sibling stays', async () => {
    await p.deploy('flaky', fixture('flaky.mjs'), { strategy: 'dedicated', minScale: 2, maxScale: 2, concurrency: 1 })
    await eventually(() => describeFn(p, 'flaky').instances.length === 2, 'two instances', 60_000)
    const broke = await p.call('/fn/flaky/break')
    expect(broke.text).toBe('broken')
    const bad = String(broke.headers['x-kiln-instance'])
    const good = (describeFn(p, 'flaky').instances as unknown as { id: string }[]).map((i) => i.id).find((id) => id !== bad)!
    const ids = () => (describeFn(p, 'flaky').instances as unknown as { id: string; state: string }[]).filter((i) => i.state !== 'draining').map((i) => i.id)
    let failures = 0
    await until(async () => {
      // Two at a time: with concurrency 1 each instance takes one.
      const rs = await Promise.all([p.call('/fn/flaky'), p.call('/fn/flaky')])
      for (const r of rs) {
        if (r.status === 500) { failures++; expect(r.headers['x-kiln-instance']).toBe(bad) } else expect([r.status, r.text]).toEqual([200, 'fine'])
      }
      return !ids().includes(bad)
    }, 'the failing instance is ejected', 60_000)
    expect(failures).toBeGreaterThanOrEqual(5)
    expect(ids()).toContain(good)
    expect(p.ctx.executor.state('flaky')!.stats.ejections).toBe(1)
    // Replaced: two instances serve again, and every answer is good.
    await eventually(() => ids().length === 2, 'a replacement', 60_000)
    for (let i = 0; i < 4; i++) expect((await p.call('/fn/flaky')).text).toBe('fine')
  })

  it('a function whose every answer fails keeps its instance (the failures are the function\'s, not the instance\'s)', async () => {
    await p.deploy('fails', fixture('always-fails.mjs'), { concurrency: 1, maxScale: 1 })
    const served = new Set<string>()
    // 5 failures in a row start a check, and every 5 more another: sequential requests see its outcome.
    for (let i = 0; i < 21; i++) {
      const r = await p.call('/fn/fails')
      expect(r.status).toBe(500)
      expect(r.json().error).toBe('KILN_ERR_FUNCTION_ERROR')
      served.add(String(r.headers['x-kiln-instance']))
    }
    expect(served.size).toBe(1)
    expect(p.ctx.executor.state('fails')!.stats.ejections).toBe(0)
  })
})
