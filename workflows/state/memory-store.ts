// ExecutionStore in memory: the embedded default. Events are copied as JSON on the way in and out, so
// the engine sees exactly what the Redis store would give back.
import { WorkflowError } from '../errors.js'
import { applyEvent, summarize, type Execution, type ExecutionEvent, type ExecutionSummary } from './execution.js'
import type { ExecutionFilter, ExecutionStore } from './store.js'

const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

export class MemoryExecutionStore implements ExecutionStore {
  private readonly records = new Map<string, { exec: Execution; events: ExecutionEvent[] }>()

  async append(executionId: string, event: ExecutionEvent): Promise<void> {
    const e = copy(event)
    const rec = this.records.get(executionId)
    if (e.type === 'execution.created') {
      if (rec) throw new WorkflowError('KILN_ERR_CONFLICT', `execution ${executionId} already exists`)
      if (e.execution.id !== executionId) throw new WorkflowError('KILN_ERR_CONFLICT', 'execution.created carries another id')
      this.records.set(executionId, { exec: applyEvent(undefined, e), events: [e] })
      return
    }
    if (!rec) throw new WorkflowError('KILN_ERR_EXECUTION_NOT_FOUND', `execution ${executionId} not found`)
    if (rec.exec.status !== 'running') throw new WorkflowError('KILN_ERR_CONFLICT', `execution ${executionId} already ${rec.exec.status}`)
    applyEvent(rec.exec, e)
    rec.events.push(e)
  }

  async get(executionId: string): Promise<Execution | undefined> {
    const rec = this.records.get(executionId)
    return rec && copy(rec.exec)
  }

  async events(executionId: string): Promise<ExecutionEvent[]> {
    return copy(this.records.get(executionId)?.events ?? [])
  }

  async list(filter: ExecutionFilter = {}): Promise<ExecutionSummary[]> {
    const limit = filter.limit ?? 100
    const out: ExecutionSummary[] = []
    const all = [...this.records.values()].reverse() // insertion order is creation order
    for (const { exec } of all) {
      if (out.length >= limit) break
      if (filter.workflow !== undefined && exec.workflow !== filter.workflow) continue
      if (filter.status !== undefined && exec.status !== filter.status) continue
      out.push(summarize(exec))
    }
    return out
  }

  async unfinished(): Promise<string[]> {
    return [...this.records.values()].filter((r) => r.exec.status === 'running').map((r) => r.exec.id)
  }

  async close(): Promise<void> {}
}
