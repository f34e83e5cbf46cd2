// The ExecutionStore implementations, as factories for describe.each suites.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SqliteState } from '../../../core/state/sqlite.js'
import { MemoryExecutionStore } from '../../../workflows/state/memory-store.js'
import { RedisExecutionStore } from '../../../workflows/state/redis-store.js'
import { SqliteExecutionStore } from '../../../workflows/state/sqlite-store.js'
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
      // The embedded default: a file in the data dir. reopen() opens the file again, as a restarted kiln up does.
      name: 'sqlite',
      create() {
        const dir = mkdtempSync(join(tmpdir(), 'kiln-wf-state-'))
        const file = join(dir, 'state.db')
        const opened: SqliteState[] = []
        const open = () => {
          const state = new SqliteState(file)
          opened.push(state)
          const store = new SqliteExecutionStore(state)
          const close = store.close.bind(store)
          store.close = async () => {
            await close()
            state.close()
            if (opened.every((s) => !s.db.open)) rmSync(dir, { recursive: true, force: true })
          }
          return store
        }
        return { store: open(), reopen: open }
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
