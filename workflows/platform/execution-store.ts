// Where the platform keeps workflow executions: in the platform's state (platform/state.ts) — SQLite in
// the data dir by default, Redis with `--redis` — so a restarted `kiln up` (even after SIGKILL) resumes
// what was in flight.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
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

/** The execution store over the platform's state backend (whose connection stays the caller's to close). */
export function executionStoreOver(backend: { sqlite: SqliteState } | { redis: Redis }, dataDir: string): OpenedExecutionStore {
  const store = 'sqlite' in backend
    ? new SqliteExecutionStore(backend.sqlite)
    : new RedisExecutionStore({ redis: backend.redis, prefix: redisPrefix(dataDir) })
  return { store, kind: 'sqlite' in backend ? 'sqlite' : 'redis', close: () => store.close() }
}
