// The embedded default's state database: one SQLite file (`<data>/state.db`) through better-sqlite3.
//
// Durability, per write: a `durable` write (accepting an invocation: the 202 promises it is stored)
// commits with synchronous=FULL — the WAL is fsynced before the write resolves, so it survives a
// power loss. Every other write (claims, leases, outcomes, cron progress, workflow events) commits
// with synchronous=NORMAL: in WAL mode the commit is in the kernel's page cache when it resolves,
// which survives a SIGKILL of the process (a process kill is not a power loss) but not a crash of the
// machine, where the last such writes may be lost — an attempt then runs again, which at-least-once
// delivery allows. A FULL commit also makes every NORMAL commit before it durable.
//
// Writes are group-committed: every write queued in one turn of the event loop runs in one
// transaction (each in its own savepoint, so one failing write does not undo the others), and all
// resolve after the one commit; the batch is FULL when one of its writes is durable. better-sqlite3
// is synchronous: reads run inline (microseconds, indexed); a commit blocks the loop, and its fsync
// (~0.3-0.7 ms here) only when the batch is durable.
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'

export type SqliteDb = Database.Database

interface Pending { fn: () => unknown; durable: boolean; resolve(v: unknown): void; reject(e: unknown): void }

export class SqliteState {
  readonly db: SqliteDb
  private pending: Pending[] = []
  private scheduled = false
  private closed = false
  private full = true

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
    this.db = new Database(file)
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = FULL') // until the first batch says otherwise
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

  /**
   * Runs `fn` inside the next group commit; resolves with its result once committed — on disk when
   * `durable`, else in the page cache (survives a process kill, not a machine crash).
   */
  write<T>(fn: () => T, opts: { durable?: boolean } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the state database is closed'))
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, durable: opts.durable === true, resolve: resolve as (v: unknown) => void, reject })
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
      const full = batch.some((p) => p.durable)
      if (full !== this.full) {
        this.db.pragma(`synchronous = ${full ? 'FULL' : 'NORMAL'}`)
        this.full = full
      }
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
