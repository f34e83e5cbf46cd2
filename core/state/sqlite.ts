// The embedded default's state database: one SQLite file (`<data>/state.db`) through better-sqlite3.
//
// Durability: WAL with synchronous=FULL, so a transaction is on disk (fsync) before its write
// resolves, and an accepted invocation survives a power loss too, not only a SIGKILL of the process
// (NORMAL would survive the SIGKILL — the WAL write is in the kernel's page cache — but not a crash
// of the machine). The fsync costs ~0.3-0.7 ms here, so writes are group-committed: every write
// queued in one turn of the event loop runs in one transaction (each in its own savepoint, so one
// failing write does not undo the others) and all resolve after the one commit.
//
// better-sqlite3 is synchronous: reads run inline (microseconds, indexed); only the commit's fsync
// blocks the loop, once per batch.
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

export type SqliteDb = Database.Database

interface Pending { fn: () => unknown; resolve(v: unknown): void; reject(e: unknown): void }

export class SqliteState {
  readonly db: SqliteDb
  private pending: Pending[] = []
  private scheduled = false
  private closed = false

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL')
    this.db.pragma('busy_timeout = 5000')
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)')
  }

  /**
   * Brings one part's tables to the newest version: `steps[i]` is the SQL that takes the part from
   * version i to i+1. Each part (invocations, cron, workflow executions) owns its tables.
   */
  migrate(part: string, steps: string[]): void {
    const row = this.db.prepare('SELECT version FROM schema_versions WHERE part = ?').get(part) as { version: number } | undefined
    const from = row?.version ?? 0
    if (from > steps.length) throw new Error(`${this.file}: ${part} schema version ${from} is newer than this Kiln knows (${steps.length})`)
    if (from === steps.length) return
    this.db.transaction(() => {
      for (let v = from; v < steps.length; v++) this.db.exec(steps[v]!)
      this.db.prepare('INSERT INTO schema_versions (part, version) VALUES (?, ?) ON CONFLICT (part) DO UPDATE SET version = excluded.version').run(part, steps.length)
    })()
  }

  /** Runs `fn` inside the next group commit; resolves with its result once the commit is durable. */
  write<T>(fn: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the state database is closed'))
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    const batch = this.pending
    this.pending = []
    if (batch.length === 0) return
    const results: { ok: boolean; value: unknown }[] = []
    try {
      this.db.exec('BEGIN IMMEDIATE')
      for (const p of batch) {
        this.db.exec('SAVEPOINT w')
        try {
          results.push({ ok: true, value: p.fn() })
          this.db.exec('RELEASE w')
        } catch (err) {
          this.db.exec('ROLLBACK TO w')
          this.db.exec('RELEASE w')
          results.push({ ok: false, value: err })
        }
      }
      this.db.exec('COMMIT')
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK')
      for (const p of batch) p.reject(err)
      return
    }
    batch.forEach((p, i) => {
      const r = results[i]!
      if (r.ok) p.resolve(r.value)
      else p.reject(r.value)
    })
  }

  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    this.db.close()
  }
}
