// Where the embedded platform keeps workflow executions: in memory by default, in Redis with
// `kiln up --redis URL` (then a restarted `kiln up` resumes what was in flight).
import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import { KilnError } from '../../core/errors.js'
import { MemoryExecutionStore } from '../state/memory-store.js'
import { RedisExecutionStore } from '../state/redis-store.js'
import type { ExecutionStore } from '../state/store.js'

export interface OpenedExecutionStore {
  store: ExecutionStore
  kind: 'memory' | 'redis'
  close(): Promise<void>
}

/**
 * Keys live under `kiln:wf:<8 hex of the data dir>:`: a platform restarted on the same data dir finds
 * its executions again, and two platforms sharing one Redis never resume each other's.
 */
export function redisPrefix(dataDir: string): string {
  return `kiln:wf:${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}:`
}

/** Opens the store; with a Redis URL, fails at once (KILN_ERR_VALIDATION naming --redis) when Redis does not answer. */
export async function openExecutionStore(o: { redisUrl?: string; dataDir: string }): Promise<OpenedExecutionStore> {
  if (!o.redisUrl) {
    const store = new MemoryExecutionStore()
    return { store, kind: 'memory', close: () => store.close() }
  }
  const redis = new Redis(o.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 20, enableOfflineQueue: true })
  redis.on('error', () => { /* reconnects; commands fail after maxRetriesPerRequest */ })
  try {
    await redis.connect()
    await redis.ping()
  } catch (err) {
    redis.disconnect()
    throw new KilnError('KILN_ERR_VALIDATION', `--redis ${o.redisUrl}: cannot connect (${(err as Error).message})`)
  }
  const store = new RedisExecutionStore({ redis, prefix: redisPrefix(o.dataDir) })
  return {
    store,
    kind: 'redis',
    async close() {
      await store.close()
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}
