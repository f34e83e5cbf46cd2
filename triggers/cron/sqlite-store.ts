// CronStore in SQLite (the embedded default): one row per trigger in `<data>/state.db`.
import type { SqliteState } from '../../core/state/sqlite.js'
import type { CronProgress, CronStore } from './store.js'

const SCHEMA = [
  `CREATE TABLE cron_progress (
    trigger TEXT PRIMARY KEY,
    last_slot INTEGER,
    last_run_at INTEGER,
    last_outcome TEXT,
    last_invocation_id TEXT,
    lease_owner TEXT,
    lease_until INTEGER
  );`,
]

interface Row { trigger: string; last_slot: number | null; last_run_at: number | null; last_outcome: CronProgress['lastOutcome'] | null; last_invocation_id: string | null }

function toProgress(r: Row): CronProgress | undefined {
  if (r.last_slot === null) return undefined
  return {
    trigger: r.trigger, lastSlot: r.last_slot, lastRunAt: r.last_run_at!, lastOutcome: r.last_outcome!,
    ...(r.last_invocation_id !== null ? { lastInvocationId: r.last_invocation_id } : {}),
  }
}

export class SqliteCronStore implements CronStore {
  private readonly s

  constructor(private readonly state: SqliteState) {
    state.migrate('cron', SCHEMA)
    const db = state.db
    this.s = {
      get: db.prepare<[string]>('SELECT * FROM cron_progress WHERE trigger = ?'),
      list: db.prepare('SELECT * FROM cron_progress WHERE last_slot IS NOT NULL ORDER BY trigger'),
      record: db.prepare(`INSERT INTO cron_progress (trigger, last_slot, last_run_at, last_outcome, last_invocation_id) VALUES (@trigger, @lastSlot, @lastRunAt, @lastOutcome, @lastInvocationId)
        ON CONFLICT (trigger) DO UPDATE SET last_slot = excluded.last_slot, last_run_at = excluded.last_run_at, last_outcome = excluded.last_outcome, last_invocation_id = excluded.last_invocation_id`),
      lease: db.prepare(`INSERT INTO cron_progress (trigger, lease_owner, lease_until) VALUES (@trigger, @owner, @until)
        ON CONFLICT (trigger) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
        WHERE cron_progress.lease_owner IS NULL OR cron_progress.lease_owner = excluded.lease_owner OR cron_progress.lease_until < @now`),
      holder: db.prepare<[string]>('SELECT lease_owner FROM cron_progress WHERE trigger = ?').pluck(),
      delete: db.prepare('DELETE FROM cron_progress WHERE trigger = ?'),
    }
  }

  async get(trigger: string): Promise<CronProgress | undefined> {
    const r = this.s.get.get(trigger) as Row | undefined
    return r && toProgress(r)
  }

  async list(): Promise<CronProgress[]> {
    return (this.s.list.all() as Row[]).map(toProgress).filter((p): p is CronProgress => p !== undefined)
  }

  record(p: CronProgress): Promise<void> {
    return this.state.write(() => { this.s.record.run({ ...p, lastInvocationId: p.lastInvocationId ?? null }) })
  }

  lease(trigger: string, owner: string, now: number, until: number): Promise<boolean> {
    return this.state.write(() => {
      this.s.lease.run({ trigger, owner, now, until })
      return this.s.holder.get(trigger) === owner
    })
  }

  delete(trigger: string): Promise<void> {
    return this.state.write(() => { this.s.delete.run(trigger) })
  }
}
