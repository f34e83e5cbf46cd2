// Where the platform keeps workflow executions: in the platform's state (platform/state.ts) — SQLite in
// the data dir by default, Redis with `--redis` — so a restarted `kiln up` (even after SIGKILL) resumes
// what was in flight.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { KilnError } from '../../core/errors.js'
import type { StateHealth } from '../../core/state/health.js'
import type { SqliteState } from '../../core/state/sqlite.js'
import { RedisExecutionStore } from '../state/redis-store.js'
import { SqliteExecutionStore } from '../state/sqlite-store.js'
import type { ExecutionStore } from '../state/store.js'

export interface OpenedExecutionStore {
  store: ExecutionStore
  kind: 'memory' | 'sqlite' | 'redis'
  close(): Promise<void>
}

/**
 * Keys live under `kiln:wf:<8 hex of the data dir>:`: a platform restarted on the same data dir finds
 * its executions again, and two platforms sharing one Redis never resume each other's.
 */
export function redisPrefix(dataDir: string): string {
  return `kiln:wf:${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}:`
}

/**
 * The execution store over the platform's state backend (whose connection stays the caller's to
 * close). While `health` says the store is away, a new execution is refused at once (503
 * KILN_ERR_STATE_UNAVAILABLE) instead of waiting; executions under way wait at their next step.
 */
export function executionStoreOver(backend: { sqlite: SqliteState } | { redis: Redis }, dataDir: string, health?: StateHealth): OpenedExecutionStore {
  const store: ExecutionStore = 'sqlite' in backend
    ? new SqliteExecutionStore(backend.sqlite)
    : new RedisExecutionStore({ redis: backend.redis, prefix: redisPrefix(dataDir) })
  if (health) {
    const append = store.append.bind(store)
    store.append = (id, event) => {
      if (event.type === 'execution.created' && !health.up) {
        return Promise.reject(new KilnError('KILN_ERR_STATE_UNAVAILABLE', 'the state store is unreachable: a new execution cannot be stored now', { retryAfter: 5 }))
      }
      return append(id, event)
    }
  }
  return { store, kind: 'sqlite' in backend ? 'sqlite' : 'redis', close: () => store.close() }
}
