// CronStore in Redis (the distributed mode): a hash per trigger (`cron:NAME`); the lease is taken in
// one script so two platform processes never both hold it.
import type { Redis } from 'ioredis'
import type { CronProgress, CronStore } from './store.js'

// KEYS: 1 the trigger's hash. ARGV: owner, now, until.
const LEASE = `
local owner = redis.call('HGET', KEYS[1], 'leaseOwner')
local untilMs = tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0')
if owner and owner ~= ARGV[1] and untilMs >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'leaseOwner', ARGV[1], 'leaseUntil', ARGV[3])
return 1
`

type WithLease = Redis & { kilnCronLease(key: string, owner: string, now: number, until: number): Promise<number> }

function toProgress(trigger: string, h: Record<string, string>): CronProgress | undefined {
  if (h.lastSlot === undefined) return undefined
  return {
    trigger, lastSlot: Number(h.lastSlot), lastRunAt: Number(h.lastRunAt), lastOutcome: h.lastOutcome as CronProgress['lastOutcome'],
    ...(h.lastInvocationId ? { lastInvocationId: h.lastInvocationId } : {}),
  }
}

export class RedisCronStore implements CronStore {
  private readonly redis: WithLease

  /** `redis` stays the caller's to close; keys live under `prefix`. */
  constructor(redis: Redis, private readonly prefix: string) {
    if (!('kilnCronLease' in redis)) redis.defineCommand('kilnCronLease', { numberOfKeys: 1, lua: LEASE })
    this.redis = redis as WithLease
  }

  private key(trigger: string): string { return `${this.prefix}cron:${trigger}` }

  async get(trigger: string): Promise<CronProgress | undefined> {
    return toProgress(trigger, await this.redis.hgetall(this.key(trigger)))
  }

  async list(): Promise<CronProgress[]> {
    const names = (await this.redis.smembers(`${this.prefix}cron-triggers`)).sort()
    const out: CronProgress[] = []
    for (const n of names) {
      const p = await this.get(n)
      if (p) out.push(p)
    }
    return out
  }

  async record(p: CronProgress): Promise<void> {
    await this.redis.multi()
      .hset(this.key(p.trigger), 'lastSlot', p.lastSlot, 'lastRunAt', p.lastRunAt, 'lastOutcome', p.lastOutcome, 'lastInvocationId', p.lastInvocationId ?? '')
      .sadd(`${this.prefix}cron-triggers`, p.trigger)
      .exec()
  }

  async lease(trigger: string, owner: string, now: number, until: number): Promise<boolean> {
    return (await this.redis.kilnCronLease(this.key(trigger), owner, now, until)) === 1
  }

  async delete(trigger: string): Promise<void> {
    await this.redis.multi().del(this.key(trigger)).srem(`${this.prefix}cron-triggers`, trigger).exec()
  }
}
