// The durable state of workflow executions: one interface, two implementations (memory-store.ts,
// redis-store.ts) run against one test suite.
import type { Execution, ExecutionEvent, ExecutionStatus, ExecutionSummary } from './execution.js'

export interface ExecutionFilter {
  workflow?: string
  status?: ExecutionStatus
  /** default 100 */
  limit?: number
}

export interface ExecutionStore {
  /**
   * Appends one event atomically (the event, the summary and the unfinished index change together).
   * The first event of an id must be `execution.created` (a second one throws KILN_ERR_CONFLICT);
   * any other event for an unknown id throws KILN_ERR_EXECUTION_NOT_FOUND, and after the execution
   * finished throws KILN_ERR_CONFLICT.
   */
  append(executionId: string, event: ExecutionEvent): Promise<void>
  /** The record folded from its events; undefined for an unknown id. */
  get(executionId: string): Promise<Execution | undefined>
  /** The events in order ([] for an unknown id). */
  events(executionId: string): Promise<ExecutionEvent[]>
  /** Summaries, newest first. */
  list(filter?: ExecutionFilter): Promise<ExecutionSummary[]>
  /** Ids of executions not finished (what a restarted engine resumes), oldest first. */
  unfinished(): Promise<string[]>
  close(): Promise<void>
}
