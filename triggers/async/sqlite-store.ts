// InvocationStore in SQLite (the embedded default): one row per invocation in `<data>/state.db`, with
// indexes for the queue (status, function, due), leases, listing and callbacks. Every write is one
// statement group inside the database's group commit (core/state/sqlite.ts): an accept is on disk
// when it resolves (the 202 promises it), the rest survive a process kill.
import type { SqliteState } from '../../core/state/sqlite.js'
import {
  functionMatches, type AttemptOutcome, type CallbackOutcome, type Invocation, type InvocationError, type InvocationFilter,
  type InvocationStatus, type InvocationStore, type InvocationSummary, type NewInvocation, type StoredResult,
} from './store.js'

const SCHEMA = [
  `CREATE TABLE invocations (
    id TEXT PRIMARY KEY,
    function TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    due INTEGER NOT NULL,
    owner TEXT,
    lease_until INTEGER,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    result TEXT,
    result_body BLOB,
    error TEXT,
    callback_url TEXT,
    callback_state TEXT,
    callback_due INTEGER,
    callback_attempts INTEGER NOT NULL DEFAULT 0,
    callback_error TEXT,
    callback_at INTEGER
  );
  CREATE INDEX invocations_queue ON invocations (status, function, due);
  CREATE INDEX invocations_lease ON invocations (lease_until) WHERE status = 'running';
  CREATE INDEX invocations_created ON invocations (created_at);
  CREATE INDEX invocations_function ON invocations (function, created_at);
  CREATE INDEX invocations_finished ON invocations (finished_at) WHERE finished_at IS NOT NULL;
  CREATE INDEX invocations_callbacks ON invocations (callback_due) WHERE callback_state = 'pending';
  CREATE TABLE idempotency_keys (
    function TEXT NOT NULL,
    key TEXT NOT NULL,
    id TEXT NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (function, key)
  ) WITHOUT ROWID;`,
]

interface Row {
  id: string; function: string; status: InvocationStatus; attempts: number; source: string
  created_at: number; started_at: number | null; finished_at: number | null; due: number
  owner: string | null; lease_until: number | null
  method: string; path: string; headers: string; body: Buffer
  result: string | null; result_body: Buffer | null; error: string | null
  callback_url: string | null; callback_state: 'pending' | 'delivered' | 'failed' | null; callback_attempts: number
  callback_error: string | null; callback_at: number | null
}

function toInvocation(r: Row): Invocation {
  const inv: Invocation = {
    id: r.id, function: r.function, status: r.status, attempts: r.attempts, source: r.source, createdAt: r.created_at, due: r.due,
    request: { method: r.method, path: r.path, headers: JSON.parse(r.headers) as Record<string, string>, body: r.body },
  }
  if (r.started_at !== null) inv.startedAt = r.started_at
  if (r.finished_at !== null) inv.finishedAt = r.finished_at
  if (r.owner !== null) inv.owner = r.owner
  if (r.result !== null) inv.result = { ...(JSON.parse(r.result) as Omit<StoredResult, 'body'>), body: r.result_body ?? Buffer.alloc(0) }
  if (r.error !== null) inv.error = JSON.parse(r.error) as InvocationError
  if (r.callback_url !== null) {
    inv.callback = { url: r.callback_url, attempts: r.callback_attempts }
    if (r.callback_state !== null) inv.callback.state = r.callback_state
    if (r.callback_error !== null) inv.callback.error = r.callback_error
    if (r.callback_at !== null) inv.callback.deliveredAt = r.callback_at
  }
  return inv
}

const resultMeta = (r: StoredResult | undefined) => (r ? JSON.stringify({ status: r.status, headers: r.headers, ...(r.truncated ? { truncated: true } : {}) }) : null)
const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v))

export class SqliteInvocationStore implements InvocationStore {
  private readonly s

  constructor(private readonly state: SqliteState) {
    state.migrate('invocations', SCHEMA)
    const db = state.db
    this.s = {
      idemGet: db.prepare<[string, string]>('SELECT id, expires FROM idempotency_keys WHERE function = ? AND key = ?'),
      idemPut: db.prepare('INSERT INTO idempotency_keys (function, key, id, expires) VALUES (?, ?, ?, ?) ON CONFLICT (function, key) DO UPDATE SET id = excluded.id, expires = excluded.expires'),
      exists: db.prepare<[string]>('SELECT 1 FROM invocations WHERE id = ?').pluck(),
      insert: db.prepare(`INSERT INTO invocations (id, function, status, attempts, source, created_at, due, method, path, headers, body, callback_url)
        VALUES (@id, @function, 'queued', 0, @source, @now, @now, @method, @path, @headers, @body, @callbackUrl)`),
      get: db.prepare<[string]>('SELECT * FROM invocations WHERE id = ?'),
      due: db.prepare<[number]>("SELECT DISTINCT function FROM invocations WHERE status = 'queued' AND due <= ?").pluck(),
      claim: db.prepare(`UPDATE invocations SET status = 'running', owner = @owner, lease_until = @leaseUntil, attempts = attempts + 1, started_at = coalesce(started_at, @now)
        WHERE id IN (SELECT id FROM invocations WHERE status = 'queued' AND function = @fn AND due <= @now ORDER BY due, created_at LIMIT @n) RETURNING *`),
      renew: db.prepare("UPDATE invocations SET lease_until = ? WHERE id = ? AND status = 'running' AND owner = ?"),
      recoverExpired: db.prepare("UPDATE invocations SET status = 'queued', due = @now, owner = NULL, lease_until = NULL, attempts = max(attempts - 1, 0) WHERE status = 'running' AND lease_until < @now"),
      recoverOwner: db.prepare("UPDATE invocations SET status = 'queued', due = @now, owner = NULL, lease_until = NULL, attempts = max(attempts - 1, 0) WHERE status = 'running' AND owner = @owner AND id NOT IN (SELECT value FROM json_each(@keep))"),
      recoverAll: db.prepare("UPDATE invocations SET status = 'queued', due = @now, owner = NULL, lease_until = NULL, attempts = max(attempts - 1, 0) WHERE status = 'running'"),
      holder: db.prepare<[string]>('SELECT status, owner FROM invocations WHERE id = ?'),
      requeue: db.prepare("UPDATE invocations SET status = 'queued', due = @due, owner = NULL, lease_until = NULL, result = @result, result_body = @resultBody, error = @error WHERE id = @id"),
      end: db.prepare(`UPDATE invocations SET status = @status, finished_at = @now, owner = NULL, lease_until = NULL, result = @result, result_body = @resultBody, error = @error,
        callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END, callback_due = CASE WHEN callback_url IS NULL THEN NULL ELSE @now END
        WHERE id = @id`),
      redrive: db.prepare(`UPDATE invocations SET status = 'queued', due = @now, attempts = 0, finished_at = NULL, result = NULL, result_body = NULL, error = NULL,
        callback_state = NULL, callback_due = NULL, callback_attempts = 0, callback_error = NULL, callback_at = NULL
        WHERE id = @id AND status IN ('dead', 'failed')`),
      cancel: db.prepare(`UPDATE invocations SET status = 'failed', finished_at = @now, owner = NULL, lease_until = NULL, error = @error,
        callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END, callback_due = CASE WHEN callback_url IS NULL THEN NULL ELSE @now END
        WHERE id = @id AND status IN ('queued', 'running')`),
      claimCallbacks: db.prepare(`UPDATE invocations SET callback_due = @leaseUntil, callback_attempts = callback_attempts + 1
        WHERE id IN (SELECT id FROM invocations WHERE callback_state = 'pending' AND callback_due <= @now ORDER BY callback_due LIMIT @n) RETURNING *`),
      callbackRetry: db.prepare("UPDATE invocations SET callback_due = ?, callback_error = ? WHERE id = ? AND callback_state = 'pending'"),
      callbackEnd: db.prepare("UPDATE invocations SET callback_state = ?, callback_due = NULL, callback_error = ?, callback_at = ? WHERE id = ? AND callback_state = 'pending'"),
      pruneInvocations: db.prepare("DELETE FROM invocations WHERE finished_at < ? AND status IN ('succeeded', 'failed', 'dead') AND (callback_state IS NULL OR callback_state != 'pending')"),
      pruneKeys: db.prepare('DELETE FROM idempotency_keys WHERE expires <= ?'),
    }
  }

  accept(inv: NewInvocation, idempotency?: { key: string; ttlMs: number }): Promise<{ id: string; created: boolean }> {
    return this.state.write(() => {
      if (idempotency) {
        const prior = this.s.idemGet.get(inv.function, idempotency.key) as { id: string; expires: number } | undefined
        if (prior && prior.expires > inv.now && this.s.exists.get(prior.id)) return { id: prior.id, created: false }
        this.s.idemPut.run(inv.function, idempotency.key, inv.id, inv.now + idempotency.ttlMs)
      }
      this.s.insert.run({
        id: inv.id, function: inv.function, source: inv.source, now: inv.now, method: inv.request.method, path: inv.request.path,
        headers: JSON.stringify(inv.request.headers), body: inv.request.body, callbackUrl: inv.callbackUrl ?? null,
      })
      return { id: inv.id, created: true }
    }, { durable: true })
  }

  async get(id: string): Promise<Invocation | undefined> {
    const r = this.s.get.get(id) as Row | undefined
    return r && toInvocation(r)
  }

  async list(filter: InvocationFilter = {}): Promise<InvocationSummary[]> {
    const where: string[] = []
    const args: unknown[] = []
    if (filter.function !== undefined) { where.push('function = ?'); args.push(filter.function) }
    if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status) }
    if (filter.source !== undefined) { where.push('source = ?'); args.push(filter.source) }
    const limit = filter.limit ?? 100
    const sql = `SELECT id, function, status, attempts, source, created_at, finished_at FROM invocations ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, rowid DESC`
    let rows: Row[]
    if (filter.namespaces === undefined && filter.name === undefined) rows = this.state.db.prepare(`${sql} LIMIT ?`).all(...args, limit) as Row[]
    else {
      // Namespace and name are parts of the ref: checked row by row, newest first, until the limit.
      rows = []
      for (const r of this.state.db.prepare(sql).iterate(...args) as IterableIterator<Row>) {
        if (!functionMatches(r.function, filter)) continue
        rows.push(r)
        if (rows.length >= limit) break
      }
    }
    return rows.map((r) => ({
      id: r.id, function: r.function, status: r.status, attempts: r.attempts, source: r.source, createdAt: r.created_at,
      ...(r.finished_at !== null ? { finishedAt: r.finished_at } : {}),
    }))
  }

  async dueFunctions(now: number): Promise<string[]> {
    return this.s.due.all(now) as string[]
  }

  claim(fn: string, n: number, owner: string, now: number, leaseUntil: number): Promise<Invocation[]> {
    if (n <= 0) return Promise.resolve([])
    return this.state.write(() => (this.s.claim.all({ fn, n, owner, now, leaseUntil }) as Row[]).map(toInvocation).sort((a, b) => a.due - b.due || a.createdAt - b.createdAt))
  }

  renew(owner: string, ids: string[], leaseUntil: number): Promise<void> {
    if (ids.length === 0) return Promise.resolve()
    return this.state.write(() => { for (const id of ids) this.s.renew.run(leaseUntil, id, owner) })
  }

  recover(now: number, opts: { owner?: string; keep?: string[]; all?: boolean } = {}): Promise<number> {
    return this.state.write(() => {
      if (opts.all) return this.s.recoverAll.run({ now }).changes
      if (opts.owner !== undefined) return this.s.recoverOwner.run({ now, owner: opts.owner, keep: JSON.stringify(opts.keep ?? []) }).changes
      return this.s.recoverExpired.run({ now }).changes
    })
  }

  finish(id: string, owner: string, o: AttemptOutcome): Promise<boolean> {
    return this.state.write(() => {
      const h = this.s.holder.get(id) as { status: string; owner: string | null } | undefined
      if (!h || h.status !== 'running' || h.owner !== owner) return false
      const common = { id, result: resultMeta(o.result), resultBody: o.result?.body ?? null, error: json(o.error) }
      if (o.status === 'queued') this.s.requeue.run({ ...common, due: o.due })
      else this.s.end.run({ ...common, status: o.status, now: o.now })
      return true
    })
  }

  redrive(id: string, now: number): Promise<Invocation | undefined> {
    return this.state.write(() => {
      this.s.redrive.run({ id, now })
      const r = this.s.get.get(id) as Row | undefined
      return r && toInvocation(r)
    })
  }

  cancel(id: string, error: InvocationError, now: number): Promise<boolean> {
    return this.state.write(() => this.s.cancel.run({ id, now, error: JSON.stringify(error) }).changes > 0)
  }

  claimCallbacks(n: number, now: number, leaseUntil: number): Promise<Invocation[]> {
    return this.state.write(() => (this.s.claimCallbacks.all({ n, now, leaseUntil }) as Row[]).map(toInvocation))
  }

  finishCallback(id: string, o: CallbackOutcome): Promise<void> {
    return this.state.write(() => {
      if (o.state === 'pending') this.s.callbackRetry.run(o.due, o.error, id)
      else this.s.callbackEnd.run(o.state, o.error ?? null, o.now, id)
    })
  }

  prune(before: number, now: number): Promise<number> {
    return this.state.write(() => {
      this.s.pruneKeys.run(now)
      return this.s.pruneInvocations.run(before).changes
    })
  }

  async close(): Promise<void> {}
}
