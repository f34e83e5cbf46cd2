// The distributed mode's state connection: one ioredis client for every Redis-backed state store
// (invocations, cron progress, workflow executions), set up to wait out an outage instead of failing:
// `maxRetriesPerRequest: null` keeps a command issued while Redis is away in the offline queue until
// the connection is back, and commands in flight when it dropped are sent again. A caller therefore
// sees a slow write, never a failed one, and nothing accepted is marked failed because Redis was away.
// The connection's events drive StateHealth (pause, /healthz, log, metric).
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { KilnError } from '../errors.js'
import { StateHealth } from './health.js'

export interface StateRedis {
  readonly redis: Redis
  readonly health: StateHealth
  close(): Promise<void>
}

/** Connects; fails at once (KILN_ERR_VALIDATION naming `flag`) when Redis does not answer now. */
export async function connectStateRedis(url: string, logger?: Logger, flag = '--redis'): Promise<StateRedis> {
  const health = new StateHealth('redis', logger)
  let closing = false
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    // Back within a second of Redis returning, without hammering it while it is away.
    retryStrategy: (times) => Math.min(100 * times, 1000),
  })
  redis.on('error', (err: Error) => { if (!closing) health.set(false, err.message) })
  redis.on('close', () => { if (!closing) health.set(false) })
  redis.on('ready', () => health.set(true))
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    closing = true
    redis.disconnect()
    throw new KilnError('KILN_ERR_VALIDATION', `${flag} ${url}: cannot connect (${(err as Error).message})`)
  }
  return {
    redis,
    health,
    async close() {
      closing = true
      // While Redis is away a QUIT would wait in the offline queue: drop the connection instead.
      if (health.up) await redis.quit().catch(() => redis.disconnect())
      else redis.disconnect()
    },
  }
}
