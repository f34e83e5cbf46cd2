// The two implementations of each events state store (SQLite in a temp dir, a real redis-server under
// a fresh prefix), as factories for describe.each suites: one suite, both stores.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { SqliteState } from '../../../core/state/sqlite.js'
import type { TestRedis } from '../../helpers/redis.js'

export interface StateKind {
  name: 'sqlite' | 'redis'
  /**
   * A fresh, empty namespace. `make(backend)` builds a store over it; `reopen()` gives a second
   * backend over the same state (what a restarted platform opens).
   */
  open(): Backend
}

export interface Backend {
  sqlite?: SqliteState
  redis?: Redis
  prefix: string
  reopen(): Backend
  close(): Promise<void>
}

export function stateKinds(redis: { current: TestRedis }): StateKind[] {
  return [
    {
      name: 'sqlite',
      open() {
        const dir = mkdtempSync(join(tmpdir(), 'kiln-state-'))
        const file = join(dir, 'state.db')
        const opened: SqliteState[] = []
        const make = (): Backend => {
          const sqlite = new SqliteState(file)
          opened.push(sqlite)
          return {
            sqlite, prefix: '', reopen: make,
            async close() {
              for (const s of opened.splice(0)) s.close()
              rmSync(dir, { recursive: true, force: true })
            },
          }
        }
        return make()
      },
    },
    {
      name: 'redis',
      open() {
        const prefix = `test:${randomUUID()}:`
        const clients: Redis[] = []
        const make = (): Backend => {
          const r = new Redis(redis.current.url, { maxRetriesPerRequest: null })
          clients.push(r)
          return {
            redis: r, prefix, reopen: make,
            async close() {
              for (const c of clients.splice(0)) await c.quit().catch(() => c.disconnect())
            },
          }
        }
        return make()
      },
    },
  ]
}
