// InvocationStore in Redis (ioredis; the distributed mode). Plain structures, one Lua script per
// write so each change is atomic across platform processes:
//   inv:ID        hash: the invocation (bodies as raw bytes)
//   q:FN          zset: queued ids of a function by due time      fns   set: functions with queued ids
//   run           zset: running ids by lease end                    cb    zset: ids whose callback is due
//   all, fn:FN    zsets: ids by creation time (listing)            done  zset: ended ids by end time (pruning)
//   idem:FN:KEY   string: the id accepted under an idempotency key, expiring after its ttl
// Keys are built inside the scripts from a prefix, so this needs one Redis (not Redis Cluster).
//
// BullMQ was considered and not used: its jobs are retried by its own worker loop with its own
// backoff, leases ("locks") and states, which would make a second copy of the semantics the SQLite
// store and the dispatcher define (claim with lease, interrupted attempt re-run under its number,
// redrive, idempotency keys, callbacks) and could not share one test suite with SQLite.
import type { Redis } from 'ioredis'
import {
  functionMatches, type AttemptOutcome, type CallbackOutcome, type Invocation, type InvocationError, type InvocationFilter,
  type InvocationStatus, type InvocationStore, type InvocationSummary, type NewInvocation, type StoredResult,
} from './store.js'

const ACCEPT = `
local P, id, fn, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if ARGV[11] ~= '' then
  local ik = P .. 'idem:' .. fn .. ':' .. ARGV[11]
  local prior = redis.call('GET', ik)
  if prior and redis.call('EXISTS', P .. 'inv:' .. prior) == 1 then return {prior, 0} end
  redis.call('SET', ik, id, 'PX', ARGV[12])
end
local k = P .. 'inv:' .. id
if redis.call('EXISTS', k) == 1 then return {id, 2} end
redis.call('HSET', k, 'id', id, 'fn', fn, 'status', 'queued', 'attempts', 0, 'source', ARGV[5], 'createdAt', now, 'due', now,
  'method', ARGV[6], 'path', ARGV[7], 'headers', ARGV[8], 'body', ARGV[9], 'cbAttempts', 0)
if ARGV[10] ~= '' then redis.call('HSET', k, 'cbUrl', ARGV[10]) end
redis.call('ZADD', P .. 'q:' .. fn, now, id)
redis.call('SADD', P .. 'fns', fn)
redis.call('ZADD', P .. 'all', now, id)
redis.call('ZADD', P .. 'fn:' .. fn, now, id)
return {id, 1}
`

const DUE = `
local P, now = ARGV[1], ARGV[2]
local out = {}
for _, fn in ipairs(redis.call('SMEMBERS', P .. 'fns')) do
  if #redis.call('ZRANGEBYSCORE', P .. 'q:' .. fn, '-inf', now, 'LIMIT', 0, 1) > 0 then table.insert(out, fn) end
end
return out
`

const CLAIM = `
local P, fn, owner, now, lease = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local q = P .. 'q:' .. fn
local ids = redis.call('ZRANGEBYSCORE', q, '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  local k = P .. 'inv:' .. id
  redis.call('ZREM', q, id)
  redis.call('HSET', k, 'status', 'running', 'owner', owner, 'lease', lease)
  redis.call('HINCRBY', k, 'attempts', 1)
  if redis.call('HEXISTS', k, 'startedAt') == 0 then redis.call('HSET', k, 'startedAt', now) end
  redis.call('ZADD', P .. 'run', lease, id)
end
if redis.call('ZCARD', q) == 0 then redis.call('SREM', P .. 'fns', fn) end
return ids
`

const RENEW = `
local P, owner, lease = ARGV[1], ARGV[2], ARGV[3]
for i = 4, #ARGV do
  local k = P .. 'inv:' .. ARGV[i]
  if redis.call('HGET', k, 'status') == 'running' and redis.call('HGET', k, 'owner') == owner then
    redis.call('HSET', k, 'lease', lease)
    redis.call('ZADD', P .. 'run', lease, ARGV[i])
  end
end
return 1
`

const RECOVER = `
local P, now, mode, owner = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local keep = {}
for i = 5, #ARGV do keep[ARGV[i]] = true end
local ids
if mode == 'expired' then ids = redis.call('ZRANGEBYSCORE', P .. 'run', '-inf', '(' .. now)
else ids = redis.call('ZRANGE', P .. 'run', 0, -1) end
local n = 0
for _, id in ipairs(ids) do
  local k = P .. 'inv:' .. id
  if redis.call('HGET', k, 'status') ~= 'running' then
    redis.call('ZREM', P .. 'run', id)
  elseif mode ~= 'owner' or (redis.call('HGET', k, 'owner') == owner and not keep[id]) then
    local fn = redis.call('HGET', k, 'fn')
    redis.call('HSET', k, 'status', 'queued', 'due', now)
    redis.call('HDEL', k, 'owner', 'lease')
    if redis.call('HINCRBY', k, 'attempts', -1) < 0 then redis.call('HSET', k, 'attempts', 0) end
    redis.call('ZREM', P .. 'run', id)
    redis.call('ZADD', P .. 'q:' .. fn, now, id)
    redis.call('SADD', P .. 'fns', fn)
    n = n + 1
  end
end
return n
`

const FINISH = `
local P, id, owner, status, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local k = P .. 'inv:' .. id
if redis.call('HGET', k, 'status') ~= 'running' or redis.call('HGET', k, 'owner') ~= owner then return 0 end
redis.call('ZREM', P .. 'run', id)
redis.call('HDEL', k, 'owner', 'lease')
if ARGV[7] ~= '' then redis.call('HSET', k, 'result', ARGV[7], 'rbody', ARGV[8]) else redis.call('HDEL', k, 'result', 'rbody') end
if ARGV[9] ~= '' then redis.call('HSET', k, 'error', ARGV[9]) else redis.call('HDEL', k, 'error') end
local fn = redis.call('HGET', k, 'fn')
if status == 'queued' then
  redis.call('HSET', k, 'status', 'queued', 'due', ARGV[6])
  redis.call('ZADD', P .. 'q:' .. fn, ARGV[6], id)
  redis.call('SADD', P .. 'fns', fn)
else
  redis.call('HSET', k, 'status', status, 'finishedAt', now)
  redis.call('ZADD', P .. 'done', now, id)
  if redis.call('HEXISTS', k, 'cbUrl') == 1 then
    redis.call('HSET', k, 'cbState', 'pending')
    redis.call('ZADD', P .. 'cb', now, id)
  end
end
return 1
`

const REDRIVE = `
local P, id, now = ARGV[1], ARGV[2], ARGV[3]
local k = P .. 'inv:' .. id
local st = redis.call('HGET', k, 'status')
if st ~= 'dead' and st ~= 'failed' then return 0 end
local fn = redis.call('HGET', k, 'fn')
redis.call('HSET', k, 'status', 'queued', 'due', now, 'attempts', 0, 'cbAttempts', 0)
redis.call('HDEL', k, 'finishedAt', 'result', 'rbody', 'error', 'cbState', 'cbError', 'cbAt')
redis.call('ZREM', P .. 'done', id)
redis.call('ZREM', P .. 'cb', id)
redis.call('ZADD', P .. 'q:' .. fn, now, id)
redis.call('SADD', P .. 'fns', fn)
return 1
`

const CANCEL = `
local P, id, now = ARGV[1], ARGV[2], ARGV[3]
local k = P .. 'inv:' .. id
local st = redis.call('HGET', k, 'status')
local fn = redis.call('HGET', k, 'fn')
if st == 'queued' then redis.call('ZREM', P .. 'q:' .. fn, id)
elseif st == 'running' then
  redis.call('ZREM', P .. 'run', id)
  redis.call('HDEL', k, 'owner', 'lease')
else return 0 end
redis.call('HSET', k, 'status', 'failed', 'finishedAt', now, 'error', ARGV[4])
redis.call('ZADD', P .. 'done', now, id)
if redis.call('HEXISTS', k, 'cbUrl') == 1 then
  redis.call('HSET', k, 'cbState', 'pending')
  redis.call('ZADD', P .. 'cb', now, id)
end
return 1
`

const CLAIM_CALLBACKS = `
local P, now, lease = ARGV[1], ARGV[3], ARGV[4]
local ids = redis.call('ZRANGEBYSCORE', P .. 'cb', '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZADD', P .. 'cb', lease, id)
  redis.call('HINCRBY', P .. 'inv:' .. id, 'cbAttempts', 1)
end
return ids
`

const FINISH_CALLBACK = `
local P, id, state = ARGV[1], ARGV[2], ARGV[3]
local k = P .. 'inv:' .. id
if redis.call('HGET', k, 'cbState') ~= 'pending' then return 0 end
if state == 'pending' then
  redis.call('ZADD', P .. 'cb', ARGV[4], id)
  redis.call('HSET', k, 'cbError', ARGV[5])
else
  redis.call('ZREM', P .. 'cb', id)
  redis.call('HSET', k, 'cbState', state, 'cbAt', ARGV[6])
  if ARGV[5] ~= '' then redis.call('HSET', k, 'cbError', ARGV[5]) else redis.call('HDEL', k, 'cbError') end
end
return 1
`

const PRUNE = `
local P = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', P .. 'done', '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, id in ipairs(ids) do
  local k = P .. 'inv:' .. id
  if redis.call('HGET', k, 'cbState') ~= 'pending' then
    local fn = redis.call('HGET', k, 'fn')
    redis.call('DEL', k)
    redis.call('ZREM', P .. 'all', id)
    if fn then redis.call('ZREM', P .. 'fn:' .. fn, id) end
    n = n + 1
  end
  redis.call('ZREM', P .. 'done', id)
end
return {n, #ids}
`

const SCRIPTS = {
  kilnInvAccept: ACCEPT, kilnInvDue: DUE, kilnInvClaim: CLAIM, kilnInvRenew: RENEW, kilnInvRecover: RECOVER, kilnInvFinish: FINISH,
  kilnInvRedrive: REDRIVE, kilnInvCancel: CANCEL, kilnInvClaimCallbacks: CLAIM_CALLBACKS, kilnInvFinishCallback: FINISH_CALLBACK, kilnInvPrune: PRUNE,
} as const

type Script = (...argv: (string | number | Buffer)[]) => Promise<unknown>
type WithScripts = Redis & { [K in keyof typeof SCRIPTS]: Script }

const SUMMARY_FIELDS = ['id', 'fn', 'status', 'attempts', 'source', 'createdAt', 'finishedAt'] as const

function toInvocation(h: Record<string, Buffer>): Invocation | undefined {
  const s = (f: string) => h[f]?.toString('utf8')
  const n = (f: string) => (h[f] === undefined ? undefined : Number(h[f]!.toString('utf8')))
  if (s('id') === undefined) return undefined
  const inv: Invocation = {
    id: s('id')!, function: s('fn')!, status: s('status') as InvocationStatus, attempts: n('attempts') ?? 0, source: s('source')!,
    createdAt: n('createdAt')!, due: n('due')!,
    request: { method: s('method')!, path: s('path')!, headers: JSON.parse(s('headers') ?? '{}') as Record<string, string>, body: h.body ?? Buffer.alloc(0) },
  }
  const started = n('startedAt')
  if (started !== undefined) inv.startedAt = started
  const finished = n('finishedAt')
  if (finished !== undefined) inv.finishedAt = finished
  if (h.owner) inv.owner = s('owner')
  if (h.result) inv.result = { ...(JSON.parse(s('result')!) as Omit<StoredResult, 'body'>), body: h.rbody ?? Buffer.alloc(0) }
  if (h.error) inv.error = JSON.parse(s('error')!) as InvocationError
  if (h.cbUrl) {
    inv.callback = { url: s('cbUrl')!, attempts: n('cbAttempts') ?? 0 }
    if (h.cbState) inv.callback.state = s('cbState') as 'pending'
    if (h.cbError) inv.callback.error = s('cbError')
    const at = n('cbAt')
    if (at !== undefined) inv.callback.deliveredAt = at
  }
  return inv
}

export class RedisInvocationStore implements InvocationStore {
  private readonly redis: WithScripts

  /** `redis` stays the caller's to close; keys live under `prefix`. */
  constructor(redis: Redis, private readonly prefix: string) {
    for (const [name, lua] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 0, lua })
    this.redis = redis as WithScripts
  }

  private async fetch(ids: string[]): Promise<Invocation[]> {
    if (ids.length === 0) return []
    const pipe = this.redis.pipeline()
    for (const id of ids) pipe.hgetallBuffer(this.prefix + 'inv:' + id)
    const out: Invocation[] = []
    for (const [err, h] of (await pipe.exec()) ?? []) {
      if (err) throw err
      const inv = toInvocation(h as Record<string, Buffer>)
      if (inv) out.push(inv)
    }
    return out
  }

  async accept(inv: NewInvocation, idempotency?: { key: string; ttlMs: number }): Promise<{ id: string; created: boolean }> {
    const r = await this.redis.kilnInvAccept(
      this.prefix, inv.id, inv.function, inv.now, inv.source, inv.request.method, inv.request.path, JSON.stringify(inv.request.headers),
      inv.request.body, inv.callbackUrl ?? '', idempotency?.key ?? '', idempotency?.ttlMs ?? 0,
    ) as [string, number]
    // 2: the id exists already — this script ran before and its reply was lost to a reconnect (ioredis sent it again).
    return { id: r[0], created: r[1] !== 0 }
  }

  async get(id: string): Promise<Invocation | undefined> {
    return (await this.fetch([id]))[0]
  }

  async list(filter: InvocationFilter = {}): Promise<InvocationSummary[]> {
    const limit = filter.limit ?? 100
    const index = this.prefix + (filter.function !== undefined ? `fn:${filter.function}` : 'all')
    const out: InvocationSummary[] = []
    const page = Math.max(limit, 100)
    for (let start = 0; out.length < limit; start += page) {
      const ids = await this.redis.zrevrange(index, start, start + page - 1)
      if (ids.length === 0) break
      const pipe = this.redis.pipeline()
      for (const id of ids) pipe.hmget(this.prefix + 'inv:' + id, ...SUMMARY_FIELDS)
      for (const [err, row] of (await pipe.exec()) ?? []) {
        if (err) throw err
        const [id, fn, status, attempts, source, createdAt, finishedAt] = row as (string | null)[]
        if (!id) continue
        if (filter.status !== undefined && status !== filter.status) continue
        if (filter.source !== undefined && source !== filter.source) continue
        if (!functionMatches(fn!, filter)) continue
        out.push({
          id, function: fn!, status: status as InvocationStatus, attempts: Number(attempts), source: source!, createdAt: Number(createdAt),
          ...(finishedAt ? { finishedAt: Number(finishedAt) } : {}),
        })
        if (out.length >= limit) break
      }
      if (ids.length < page) break
    }
    return out
  }

  async dueFunctions(now: number): Promise<string[]> {
    return await this.redis.kilnInvDue(this.prefix, now) as string[]
  }

  async claim(fn: string, n: number, owner: string, now: number, leaseUntil: number): Promise<Invocation[]> {
    if (n <= 0) return []
    const ids = await this.redis.kilnInvClaim(this.prefix, fn, n, owner, now, leaseUntil) as string[]
    return this.fetch(ids)
  }

  async renew(owner: string, ids: string[], leaseUntil: number): Promise<void> {
    if (ids.length > 0) await this.redis.kilnInvRenew(this.prefix, owner, leaseUntil, ...ids)
  }

  async recover(now: number, opts: { owner?: string; keep?: string[]; all?: boolean } = {}): Promise<number> {
    const mode = opts.all ? 'all' : opts.owner !== undefined ? 'owner' : 'expired'
    return await this.redis.kilnInvRecover(this.prefix, now, mode, opts.owner ?? '', ...(opts.keep ?? [])) as number
  }

  async finish(id: string, owner: string, o: AttemptOutcome): Promise<boolean> {
    const meta = o.result ? JSON.stringify({ status: o.result.status, headers: o.result.headers, ...(o.result.truncated ? { truncated: true } : {}) }) : ''
    const r = await this.redis.kilnInvFinish(
      this.prefix, id, owner, o.status, o.now, o.status === 'queued' ? o.due : 0, meta, o.result?.body ?? '', o.error ? JSON.stringify(o.error) : '',
    )
    return r === 1
  }

  async redrive(id: string, now: number): Promise<Invocation | undefined> {
    await this.redis.kilnInvRedrive(this.prefix, id, now)
    return this.get(id)
  }

  async cancel(id: string, error: InvocationError, now: number): Promise<boolean> {
    return (await this.redis.kilnInvCancel(this.prefix, id, now, JSON.stringify(error))) === 1
  }

  async claimCallbacks(n: number, now: number, leaseUntil: number): Promise<Invocation[]> {
    const ids = await this.redis.kilnInvClaimCallbacks(this.prefix, n, now, leaseUntil) as string[]
    return this.fetch(ids)
  }

  async finishCallback(id: string, o: CallbackOutcome): Promise<void> {
    if (o.state === 'pending') await this.redis.kilnInvFinishCallback(this.prefix, id, 'pending', o.due, o.error, 0)
    else await this.redis.kilnInvFinishCallback(this.prefix, id, o.state, 0, o.error ?? '', o.now)
  }

  async prune(before: number, _now: number): Promise<number> {
    // Idempotency keys expire by themselves (PX).
    let total = 0
    for (;;) {
      const [n, seen] = await this.redis.kilnInvPrune(this.prefix, before, 500) as [number, number]
      total += n
      if (seen < 500) return total
    }
  }

  async close(): Promise<void> {}
}
