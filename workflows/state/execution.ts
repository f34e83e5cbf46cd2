// The execution record and the events that change it. Stores persist events; the record is the fold
// of its events (applyEvent), so both stores and the engine read state the same way.
import type { ErrorInfo } from '../errors.js'
import type { WorkflowSpec } from '../spec.js'

export type ExecutionStatus = 'running' | 'succeeded' | 'failed'
/**
 * running: an attempt is in flight (re-run on resume). retrying: an attempt failed, the next is due at
 * nextAttemptAt. catching: the task failed for good and its catch step runs. cancelled: stopped because
 * the execution failed elsewhere or its timeout fired above it.
 */
export type TaskStatus = 'running' | 'retrying' | 'catching' | 'succeeded' | 'failed' | 'cancelled'

export interface TaskState {
  status: TaskStatus
  /** first start (ISO 8601) */
  startedAt: string
  finishedAt?: string
  /** attempts started; an attempt interrupted by an engine restart is re-run under the same number */
  attempts: number
  output?: unknown
  /** the last attempt's error (kept while retrying and catching) */
  error?: ErrorInfo
  /** retrying: when the next attempt is due */
  nextAttemptAt?: string
  /** sleep: when it ends (a resumed sleep waits only what is left) */
  wakeAt?: string
  /** switch: index of the case taken (-1: none matched) */
  branch?: number
  /** workflow: the child execution */
  childExecutionId?: string
  /** foreach: number of items */
  items?: number
  /** succeeded through its catch step: the error it caught */
  caught?: ErrorInfo
  /** a Fission Workflows task: its inputs as resolved (what `$.Tasks.ID.Inputs` and input('ID') read) */
  inputs?: Record<string, unknown>
}

export interface Execution {
  id: string
  workflow: string
  status: ExecutionStatus
  input: unknown
  output?: unknown
  error?: ErrorInfo
  createdAt: string
  finishedAt?: string
  /** set on executions started by a `workflow:` task */
  parentId?: string
  parentTask?: string
  /** nesting depth: 0 for executions started from outside */
  depth: number
  /** the workflow as it was when the execution started; a resumed execution keeps running this version */
  spec: WorkflowSpec
  /**
   * Task state by path: top-level tasks by name; nested steps below them:
   * `notify[3]` (foreach item), `route.then[0]` / `route.else` (switch branch), `price.catch` (fallback).
   */
  tasks: Record<string, TaskState>
}

export interface ExecutionSummary {
  id: string
  workflow: string
  status: ExecutionStatus
  createdAt: string
  finishedAt?: string
  parentId?: string
}

export type TaskEventType = 'task.started' | 'task.progress' | 'task.retrying' | 'task.catching' | 'task.succeeded' | 'task.failed' | 'task.cancelled'

export type ExecutionEvent =
  | {
      type: 'execution.created'
      at: string
      execution: Pick<Execution, 'id' | 'workflow' | 'input' | 'spec' | 'depth' | 'parentId' | 'parentTask'>
    }
  | { type: TaskEventType; at: string; task: string; state: TaskState }
  | { type: 'execution.succeeded'; at: string; output: unknown }
  | { type: 'execution.failed'; at: string; error: ErrorInfo }

/** Folds one event into the record (mutates and returns it; creates it for execution.created). */
export function applyEvent(exec: Execution | undefined, event: ExecutionEvent): Execution {
  if (event.type === 'execution.created') {
    const e = event.execution
    const created: Execution = { id: e.id, workflow: e.workflow, status: 'running', input: e.input, createdAt: event.at, depth: e.depth, spec: e.spec, tasks: {} }
    if (e.parentId !== undefined) created.parentId = e.parentId
    if (e.parentTask !== undefined) created.parentTask = e.parentTask
    return created
  }
  if (!exec) throw new Error(`event ${event.type} before execution.created`)
  switch (event.type) {
    case 'execution.succeeded':
      exec.status = 'succeeded'
      exec.output = event.output
      exec.finishedAt = event.at
      break
    case 'execution.failed':
      exec.status = 'failed'
      exec.error = event.error
      exec.finishedAt = event.at
      break
    default:
      exec.tasks[event.task] = event.state
  }
  return exec
}

export function replay(events: ExecutionEvent[]): Execution | undefined {
  let exec: Execution | undefined
  for (const e of events) exec = applyEvent(exec, e)
  return exec
}

export function summarize(exec: Execution): ExecutionSummary {
  const s: ExecutionSummary = { id: exec.id, workflow: exec.workflow, status: exec.status, createdAt: exec.createdAt }
  if (exec.finishedAt !== undefined) s.finishedAt = exec.finishedAt
  if (exec.parentId !== undefined) s.parentId = exec.parentId
  return s
}
