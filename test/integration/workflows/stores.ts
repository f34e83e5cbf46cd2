// The two ExecutionStore implementations, as factories for describe.each suites.
import { randomUUID } from 'node:crypto'
import { MemoryExecutionStore } from '../../../workflows/state/memory-store.js'
import { RedisExecutionStore } from '../../../workflows/state/redis-store.js'
import type { ExecutionStore } from '../../../workflows/state/store.js'
import type { TestRedis } from '../../helpers/redis.js'

export interface StoreKind {
  name: string
  /** a fresh, empty namespace; call `reopen()` to get a second store over the same state (a restarted engine's) */
  create(): { store: ExecutionStore; reopen(): ExecutionStore }
}

export function storeKinds(redis: { current: TestRedis }): StoreKind[] {
  return [
    {
      name: 'memory',
      create() {
        const store = new MemoryExecutionStore()
        return { store, reopen: () => store }
      },
    },
    {
      name: 'redis',
      create() {
        const prefix = `test:${randomUUID()}:`
        const store = new RedisExecutionStore({ redis: redis.current.url, prefix })
        return { store, reopen: () => new RedisExecutionStore({ redis: redis.current.url, prefix }) }
      },
    },
  ]
}
