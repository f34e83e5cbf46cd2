// The platform's durable state, opened once per process and handed to the parts that keep state:
// async invocations (with their idempotency keys), cron progress and workflow executions. SQLite in
// the data dir (`<data>/state.db`) on the embedded default; Redis with `--redis` / KILN_REDIS_URL
// (the distributed mode, and `kiln up --redis`). Keys in Redis live under a prefix derived from the
// data dir, so a platform restarted on the same data dir finds its state and two platforms sharing
// one Redis never touch each other's.
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { StateHealth } from '../core/state/health.js'
import { connectStateRedis } from '../core/state/redis.js'
import { SqliteState } from '../core/state/sqlite.js'
import { RedisInvocationStore } from '../triggers/async/redis-store.js'
import { SqliteInvocationStore } from '../triggers/async/sqlite-store.js'
import type { InvocationStore } from '../triggers/async/store.js'
import { RedisCronStore } from '../triggers/cron/redis-store.js'
import { SqliteCronStore } from '../triggers/cron/sqlite-store.js'
import type { CronStore } from '../triggers/cron/store.js'
import { executionStoreOver, type OpenedExecutionStore } from '../workflows/platform/execution-store.js'

export interface PlatformState {
  readonly kind: 'sqlite' | 'redis'
  readonly health: StateHealth
  readonly invocations: InvocationStore
  readonly cron: CronStore
  readonly executions: OpenedExecutionStore
  /** Closes the connection or the database; while Redis is away, drops it so waiting writes end. */
  close(): Promise<void>
}

/** `kiln:ev:<8 hex of the data dir>:` */
export function eventsPrefix(dataDir: string): string {
  return `kiln:ev:${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}:`
}

/** Opens the state; with a Redis URL, fails at once (KILN_ERR_VALIDATION naming `flag`) when Redis does not answer. */
export async function openPlatformState(o: { dataDir: string; redisUrl?: string; logger?: Logger; flag?: string }): Promise<PlatformState> {
  if (o.redisUrl) {
    const conn = await connectStateRedis(o.redisUrl, o.logger, o.flag)
    const prefix = eventsPrefix(o.dataDir)
    let closing: Promise<void> | undefined
    return {
      kind: 'redis',
      health: conn.health,
      invocations: new RedisInvocationStore(conn.redis, prefix),
      cron: new RedisCronStore(conn.redis, prefix),
      executions: executionStoreOver({ redis: conn.redis }, o.dataDir, conn.health),
      close: () => closing ??= conn.close(),
    }
  }
  const sqlite = new SqliteState(join(o.dataDir, 'state.db'))
  o.logger?.info({ file: sqlite.file }, 'state in SQLite')
  return {
    kind: 'sqlite',
    health: new StateHealth('sqlite', o.logger),
    invocations: new SqliteInvocationStore(sqlite),
    cron: new SqliteCronStore(sqlite),
    executions: executionStoreOver({ sqlite }, o.dataDir),
    close: async () => sqlite.close(),
  }
}
