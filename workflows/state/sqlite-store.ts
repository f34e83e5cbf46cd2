// ExecutionStore in SQLite: the embedded default (`<data>/state.db`, shared with the other state of
// the platform). A summary row per execution and its events in order; each append is one transaction
// in the database's group commit, so the event, the summary and the unfinished index change together
// and are on disk before the engine takes its next step: a SIGKILLed `kiln up` resumes its executions.
import type { SqliteState } from '../../core/state/sqlite.js'
import { WorkflowError } from '../errors.js'
import { replay, type Execution, type ExecutionEvent, type ExecutionSummary } from './execution.js'
import type { ExecutionFilter, ExecutionStore } from './store.js'

const SCHEMA = [
  `CREATE TABLE wf_executions (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    finished_at TEXT,
    parent_id TEXT,
    events INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX wf_executions_created ON wf_executions (created_ms);
  CREATE INDEX wf_executions_workflow ON wf_executions (workflow, created_ms);
  CREATE INDEX wf_executions_running ON wf_executions (created_ms) WHERE status = 'running';
  CREATE TABLE wf_events (
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
  ) WITHOUT ROWID;`,
]

interface SummaryRow { id: string; workflow: string; status: ExecutionSummary['status']; created_at: string; finished_at: string | null; parent_id: string | null; events: number }

function summary(r: SummaryRow): ExecutionSummary {
  const s: ExecutionSummary = { id: r.id, workflow: r.workflow, status: r.status, createdAt: r.created_at }
  if (r.finished_at !== null) s.finishedAt = r.finished_at
  if (r.parent_id !== null) s.parentId = r.parent_id
  return s
}

export class SqliteExecutionStore implements ExecutionStore {
  private readonly s

  constructor(private readonly state: SqliteState) {
    state.migrate('workflow-executions', SCHEMA)
    const db = state.db
    this.s = {
      row: db.prepare<[string]>('SELECT * FROM wf_executions WHERE id = ?'),
      create: db.prepare('INSERT INTO wf_executions (id, workflow, status, created_at, created_ms, parent_id, events) VALUES (?, ?, \'running\', ?, ?, ?, 1)'),
      bump: db.prepare('UPDATE wf_executions SET events = events + 1 WHERE id = ?'),
      end: db.prepare('UPDATE wf_executions SET status = ?, finished_at = ?, events = events + 1 WHERE id = ?'),
      event: db.prepare('INSERT INTO wf_events (execution_id, seq, event) VALUES (?, ?, ?)'),
      events: db.prepare<[string]>('SELECT event FROM wf_events WHERE execution_id = ? ORDER BY seq').pluck(),
      unfinished: db.prepare("SELECT id FROM wf_executions WHERE status = 'running' ORDER BY created_ms, rowid").pluck(),
    }
  }

  append(executionId: string, event: ExecutionEvent): Promise<void> {
    const text = JSON.stringify(event)
    return this.state.write(() => {
      const row = this.s.row.get(executionId) as SummaryRow | undefined
      if (event.type === 'execution.created') {
        if (row) throw new WorkflowError('KILN_ERR_CONFLICT', `execution ${executionId} already exists`)
        if (event.execution.id !== executionId) throw new WorkflowError('KILN_ERR_CONFLICT', 'execution.created carries another id')
        this.s.create.run(executionId, event.execution.workflow, event.at, Date.parse(event.at) || Date.now(), event.execution.parentId ?? null)
        this.s.event.run(executionId, 0, text)
        return
      }
      if (!row) throw new WorkflowError('KILN_ERR_EXECUTION_NOT_FOUND', `execution ${executionId} not found`)
      if (row.status !== 'running') throw new WorkflowError('KILN_ERR_CONFLICT', `execution ${executionId} already ${row.status}`)
      if (event.type === 'execution.succeeded' || event.type === 'execution.failed') {
        this.s.end.run(event.type === 'execution.succeeded' ? 'succeeded' : 'failed', event.at, executionId)
      } else {
        this.s.bump.run(executionId)
      }
      this.s.event.run(executionId, row.events, text)
    })
  }

  async events(executionId: string): Promise<ExecutionEvent[]> {
    return (this.s.events.all(executionId) as string[]).map((e) => JSON.parse(e) as ExecutionEvent)
  }

  async get(executionId: string): Promise<Execution | undefined> {
    return replay(await this.events(executionId))
  }

  async list(filter: ExecutionFilter = {}): Promise<ExecutionSummary[]> {
    const where: string[] = []
    const args: unknown[] = []
    if (filter.workflow !== undefined) { where.push('workflow = ?'); args.push(filter.workflow) }
    if (filter.status !== undefined) { where.push('status = ?'); args.push(filter.status) }
    const sql = `SELECT * FROM wf_executions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_ms DESC, rowid DESC LIMIT ?`
    return (this.state.db.prepare(sql).all(...args, filter.limit ?? 100) as SummaryRow[]).map(summary)
  }

  async unfinished(): Promise<string[]> {
    return this.s.unfinished.all() as string[]
  }

  async close(): Promise<void> {}
}
