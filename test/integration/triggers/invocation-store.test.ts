// The InvocationStore contract, run against both implementations: SQLite (the embedded default) and a
// real redis-server (the distributed mode).
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { RedisInvocationStore } from '../../../triggers/async/redis-store.js'
import { SqliteInvocationStore } from '../../../triggers/async/sqlite-store.js'
import type { InvocationStore, NewInvocation } from '../../../triggers/async/store.js'
import { useRedis } from '../../helpers/redis.js'
import { until } from '../../helpers/until.js'
import { stateKinds, type Backend } from './stores.js'

const redis = useRedis()
const T0 = 1_700_000_000_000
const LEASE = 30_000

function storeOver(b: Backend): InvocationStore {
  return b.sqlite ? new SqliteInvocationStore(b.sqlite) : new RedisInvocationStore(b.redis!, b.prefix)
}

const newInv = (fn: string, now: number, extra: Partial<NewInvocation> = {}): NewInvocation => ({
  id: randomUUID(), function: fn, source: 'http', now,
  request: { method: 'POST', path: '/orders?id=1', headers: { 'content-type': 'application/octet-stream', 'x-a': 'b' }, body: Buffer.from([0, 1, 2, 255, 10]) },
  ...extra,
})

describe.each(stateKinds(redis))('invocation store: $name', (kind) => {
  const open: Backend[] = []
  afterEach(async () => {
    for (const b of open.splice(0)) await b.close()
  })
  const fresh = () => {
    const b = kind.open()
    open.push(b)
    return { b, store: storeOver(b) }
  }

  it('stores an accepted invocation with its request bytes and reads it back queued', async () => {
    const { store } = fresh()
    const inv = newInv('f', T0)
    expect(await store.accept(inv)).toEqual({ id: inv.id, created: true })
    const got = (await store.get(inv.id))!
    expect(got).toMatchObject({ id: inv.id, function: 'f', status: 'queued', attempts: 0, source: 'http', createdAt: T0, due: T0 })
    expect(got.request.method).toBe('POST')
    expect(got.request.path).toBe('/orders?id=1')
    expect(got.request.headers).toEqual({ 'content-type': 'application/octet-stream', 'x-a': 'b' })
    expect(got.request.body.equals(Buffer.from([0, 1, 2, 255, 10]))).toBe(true)
    expect(got.result).toBeUndefined()
    expect(await store.get('nope')).toBeUndefined()
  })

  it('an idempotency key returns the first invocation of the same function within its time, and expires', async () => {
    const { store } = fresh()
    const now = Date.now()
    const first = newInv('f', now)
    expect(await store.accept(first, { key: 'k1', ttlMs: 1500 })).toEqual({ id: first.id, created: true })
    expect(await store.accept(newInv('f', now + 1), { key: 'k1', ttlMs: 1500 })).toEqual({ id: first.id, created: false })
    const other = newInv('g', now + 2)
    expect(await store.accept(other, { key: 'k1', ttlMs: 1500 })).toEqual({ id: other.id, created: true })
    expect((await store.list({ function: 'f' })).length).toBe(1)
    // After the key's time, the same key starts a new invocation.
    const later = await until('the idempotency key to expire', async () => {
      const inv = newInv('f', Date.now())
      const r = await store.accept(inv, { key: 'k1', ttlMs: 1500 })
      return r.created ? r : undefined
    }, 10_000, 100)
    expect(later.id).not.toBe(first.id)
  })

  it('claims due invocations of one function, oldest first, with a lease and one more attempt', async () => {
    const { store } = fresh()
    const a = newInv('f', T0)
    const b = newInv('f', T0 + 1)
    const c = newInv('f', T0 + 2)
    const other = newInv('g', T0 + 3)
    for (const i of [a, b, c, other]) await store.accept(i)
    expect((await store.dueFunctions(T0 - 1)).sort()).toEqual([])
    expect((await store.dueFunctions(T0 + 10)).sort()).toEqual(['f', 'g'])
    const claimed = await store.claim('f', 2, 'me', T0 + 10, T0 + 10 + LEASE)
    expect(claimed.map((i) => i.id)).toEqual([a.id, b.id])
    for (const i of claimed) expect(i).toMatchObject({ status: 'running', attempts: 1, owner: 'me', startedAt: T0 + 10 })
    expect((await store.claim('f', 5, 'you', T0 + 10, T0 + 10 + LEASE)).map((i) => i.id)).toEqual([c.id])
    expect(await store.claim('f', 5, 'you', T0 + 10, T0 + 10 + LEASE)).toEqual([])
    expect(await store.dueFunctions(T0 + 10)).toEqual(['g'])
  })

  it('finishes only what the owner holds: a result for good, or queued again for a retry at its due time', async () => {
    const { store } = fresh()
    const a = newInv('f', T0)
    await store.accept(a)
    await store.claim('f', 1, 'me', T0, T0 + LEASE)
    expect(await store.finish(a.id, 'someone-else', { status: 'succeeded', now: T0 + 5 })).toBe(false)
    const error = { code: 'KILN_ERR_FUNCTION_CRASHED', message: 'crashed', status: 502 }
    expect(await store.finish(a.id, 'me', { status: 'queued', now: T0 + 5, due: T0 + 1000, error })).toBe(true)
    expect(await store.get(a.id)).toMatchObject({ status: 'queued', attempts: 1, due: T0 + 1000, error })
    expect(await store.claim('f', 1, 'me', T0 + 999, T0 + 999 + LEASE)).toEqual([])
    const again = await store.claim('f', 1, 'me', T0 + 1000, T0 + 1000 + LEASE)
    expect(again.map((i) => [i.id, i.attempts])).toEqual([[a.id, 2]])
    const result = { status: 200, headers: { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] }, body: Buffer.from('done\u0000') }
    expect(await store.finish(a.id, 'me', { status: 'succeeded', now: T0 + 1200, result })).toBe(true)
    const done = (await store.get(a.id))!
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2, finishedAt: T0 + 1200, startedAt: T0 })
    expect(done.owner).toBeUndefined()
    expect(done.result!.status).toBe(200)
    expect(done.result!.headers).toEqual(result.headers)
    expect(done.result!.body.equals(result.body)).toBe(true)
    expect(await store.finish(a.id, 'me', { status: 'failed', now: T0 + 1300 })).toBe(false)
  })

  it('puts expired, released and all claims back in the queue, their attempt to run again under its number', async () => {
    const { store } = fresh()
    const ids = []
    for (let i = 0; i < 4; i++) {
      const inv = newInv('f', T0 + i)
      ids.push(inv.id)
      await store.accept(inv)
    }
    await store.claim('f', 1, 'a', T0 + 10, T0 + 100) // ids[0], lease ends at T0+100
    await store.claim('f', 1, 'b', T0 + 10, T0 + 100_000) // ids[1]
    await store.claim('f', 2, 'c', T0 + 10, T0 + 100_000) // ids[2], ids[3]
    await store.renew('a', [ids[0]!], T0 + 150)
    expect(await store.recover(T0 + 120)).toBe(0)
    expect(await store.recover(T0 + 200)).toBe(1)
    expect(await store.get(ids[0]!)).toMatchObject({ status: 'queued', attempts: 0, due: T0 + 200 })
    expect((await store.get(ids[0]!))!.owner).toBeUndefined()
    expect(await store.recover(T0 + 300, { owner: 'b' })).toBe(1)
    expect(await store.get(ids[1]!)).toMatchObject({ status: 'queued', attempts: 0 })
    expect((await store.get(ids[2]!))!.status).toBe('running')
    expect(await store.recover(T0 + 400, { all: true })).toBe(2)
    const back = await store.claim('f', 10, 'd', T0 + 500, T0 + 500 + LEASE)
    expect(back.map((i) => i.id).sort()).toEqual([...ids].sort())
    for (const i of back) expect(i.attempts).toBe(1)
  })

  it('gives back an owner\'s claims except those it keeps (a claim whose reply was lost)', async () => {
    const { store } = fresh()
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const inv = newInv('f', T0 + i)
      ids.push(inv.id)
      await store.accept(inv)
    }
    await store.claim('f', 3, 'me', T0 + 10, T0 + LEASE)
    expect(await store.recover(T0 + 20, { owner: 'me', keep: [ids[1]!] })).toBe(2)
    expect((await store.get(ids[0]!))!.status).toBe('queued')
    expect((await store.get(ids[1]!))!).toMatchObject({ status: 'running', owner: 'me' })
    expect((await store.get(ids[2]!))!.status).toBe('queued')
    expect(await store.recover(T0 + 30, { owner: 'me', keep: [ids[1]!] })).toBe(0)
  })

  it('redrives a dead invocation with a fresh count of attempts and leaves others alone', async () => {
    const { store } = fresh()
    const a = newInv('f', T0)
    const b = newInv('f', T0 + 1)
    await store.accept(a)
    await store.accept(b)
    await store.claim('f', 2, 'me', T0 + 5, T0 + LEASE)
    await store.finish(a.id, 'me', { status: 'dead', now: T0 + 10, error: { code: 'KILN_ERR_FUNCTION_ERROR', message: 'x', status: 500 }, result: { status: 500, headers: {}, body: Buffer.from('x') } })
    await store.finish(b.id, 'me', { status: 'succeeded', now: T0 + 10 })
    const again = (await store.redrive(a.id, T0 + 20))!
    expect(again).toMatchObject({ status: 'queued', attempts: 0, due: T0 + 20 })
    expect(again.error).toBeUndefined()
    expect(again.result).toBeUndefined()
    expect(again.finishedAt).toBeUndefined()
    expect((await store.redrive(b.id, T0 + 20))!.status).toBe('succeeded')
    expect(await store.redrive('nope', T0)).toBeUndefined()
    expect((await store.claim('f', 5, 'me', T0 + 20, T0 + LEASE)).map((i) => [i.id, i.attempts])).toEqual([[a.id, 1]])
  })

  it('cancels queued and running invocations; the holder can no longer finish', async () => {
    const { store } = fresh()
    const a = newInv('f', T0)
    const b = newInv('f', T0 + 1)
    await store.accept(a)
    await store.claim('f', 1, 'me', T0, T0 + LEASE)
    await store.accept(b)
    const error = { code: 'KILN_ERR_CANCELLED', message: 'replaced' }
    expect(await store.cancel(a.id, error, T0 + 5)).toBe(true)
    expect(await store.cancel(b.id, error, T0 + 5)).toBe(true)
    expect(await store.get(a.id)).toMatchObject({ status: 'failed', error, finishedAt: T0 + 5 })
    expect(await store.finish(a.id, 'me', { status: 'succeeded', now: T0 + 6 })).toBe(false)
    expect(await store.claim('f', 5, 'me', T0 + 10, T0 + LEASE)).toEqual([])
    expect(await store.cancel(a.id, error, T0 + 7)).toBe(false)
  })

  it('a callback becomes due when the invocation ends, is claimed under a lease, retried, then delivered', async () => {
    const { store } = fresh()
    const a = newInv('f', T0, { callbackUrl: 'http://127.0.0.1:9/cb' })
    await store.accept(a)
    expect((await store.get(a.id))!.callback).toEqual({ url: 'http://127.0.0.1:9/cb', attempts: 0 })
    expect(await store.claimCallbacks(10, T0 + 1, T0 + 100)).toEqual([])
    await store.claim('f', 1, 'me', T0, T0 + LEASE)
    await store.finish(a.id, 'me', { status: 'succeeded', now: T0 + 10, result: { status: 200, headers: {}, body: Buffer.from('ok') } })
    const [c] = await store.claimCallbacks(10, T0 + 10, T0 + 1000)
    expect(c!.id).toBe(a.id)
    expect(c!.callback).toMatchObject({ state: 'pending', attempts: 1 })
    expect(c!.result!.body.toString()).toBe('ok')
    expect(await store.claimCallbacks(10, T0 + 500, T0 + 2000)).toEqual([]) // under lease
    await store.finishCallback(a.id, { state: 'pending', due: T0 + 700, error: 'answered 503' })
    expect(await store.claimCallbacks(10, T0 + 600, T0 + 2000)).toEqual([])
    expect((await store.claimCallbacks(10, T0 + 700, T0 + 2000)).map((i) => i.callback!.attempts)).toEqual([2])
    await store.finishCallback(a.id, { state: 'delivered', now: T0 + 800 })
    expect((await store.get(a.id))!.callback).toEqual({ url: 'http://127.0.0.1:9/cb', state: 'delivered', attempts: 2, deliveredAt: T0 + 800 })
    expect(await store.claimCallbacks(10, T0 + 100_000, T0 + 200_000)).toEqual([])
  })

  it('lists summaries newest first, by function, status and source, with a limit', async () => {
    const { store } = fresh()
    const a = newInv('f', T0)
    const b = newInv('g', T0 + 1)
    const c = newInv('f', T0 + 2, { source: 'cron/nightly' })
    for (const i of [a, b, c]) await store.accept(i)
    await store.claim('f', 1, 'me', T0 + 5, T0 + LEASE)
    expect((await store.list()).map((s) => s.id)).toEqual([c.id, b.id, a.id])
    expect((await store.list({ function: 'f' })).map((s) => s.id)).toEqual([c.id, a.id])
    expect((await store.list({ status: 'queued' })).map((s) => s.id)).toEqual([c.id, b.id])
    expect((await store.list({ source: 'cron/nightly' })).map((s) => s.id)).toEqual([c.id])
    expect((await store.list({ limit: 1 })).map((s) => s.id)).toEqual([c.id])
    expect((await store.list({ function: 'f', status: 'running' }))[0]).toEqual({ id: a.id, function: 'f', status: 'running', attempts: 1, source: 'http', createdAt: T0 })
  })

  it('lists by the namespaces of the functions\' refs and by function name across them, newest first, with a limit', async () => {
    const { store } = fresh()
    // refs (core/refs.ts): `f` in default, `team-a/f` and `team-b/f` elsewhere.
    const d = newInv('f', T0)
    const a1 = newInv('team-a/f', T0 + 1)
    const b1 = newInv('team-b/f', T0 + 2)
    const a2 = newInv('team-a/g', T0 + 3, { source: 'cron/nightly' })
    for (const i of [d, a1, b1, a2]) await store.accept(i)
    const ids = async (f: Parameters<InvocationStore['list']>[0]) => (await store.list(f)).map((s) => s.id)
    expect(await ids({ namespaces: ['team-a'] })).toEqual([a2.id, a1.id])
    expect(await ids({ namespaces: ['default'] })).toEqual([d.id])
    expect(await ids({ namespaces: ['team-a', 'team-b'] })).toEqual([a2.id, b1.id, a1.id])
    expect(await ids({ namespaces: [] })).toEqual([])
    expect(await ids({ name: 'f' })).toEqual([b1.id, a1.id, d.id])
    expect(await ids({ name: 'f', namespaces: ['team-a', 'default'] })).toEqual([a1.id, d.id])
    expect(await ids({ namespaces: ['team-a'], source: 'cron/nightly' })).toEqual([a2.id])
    expect(await ids({ namespaces: ['team-a'], limit: 1 })).toEqual([a2.id])
    expect(await ids({ function: 'team-a/f' })).toEqual([a1.id])
  })

  it('prunes invocations that ended before the cut-off, not those in flight or with a callback to send', async () => {
    const { store } = fresh()
    const old = newInv('f', T0)
    const cb = newInv('f', T0 + 1, { callbackUrl: 'http://127.0.0.1:9/' })
    const live = newInv('f', T0 + 2)
    for (const i of [old, cb, live]) await store.accept(i)
    await store.claim('f', 3, 'me', T0 + 5, T0 + LEASE)
    await store.finish(old.id, 'me', { status: 'succeeded', now: T0 + 10 })
    await store.finish(cb.id, 'me', { status: 'succeeded', now: T0 + 10 })
    expect(await store.prune(T0 + 100, T0 + 100)).toBe(1)
    expect(await store.get(old.id)).toBeUndefined()
    expect((await store.get(cb.id))!.status).toBe('succeeded')
    expect((await store.get(live.id))!.status).toBe('running')
    expect((await store.list()).map((s) => s.id).sort()).toEqual([cb.id, live.id].sort())
  })

  it('a second store over the same state (a restarted platform) sees every invocation', async () => {
    const { b, store } = fresh()
    const a = newInv('f', T0)
    await store.accept(a, { key: 'k', ttlMs: 60_000 })
    await store.claim('f', 1, 'me', T0, T0 + LEASE)
    const other = storeOver(b.reopen())
    expect(await other.get(a.id)).toMatchObject({ status: 'running', owner: 'me', attempts: 1 })
    expect(await other.recover(T0 + 1, { all: true })).toBe(1)
    expect((await other.accept(newInv('f', T0 + 2), { key: 'k', ttlMs: 60_000 })).id).toBe(a.id)
  })
})
