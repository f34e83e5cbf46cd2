// The workflow engine's errors. Their codes are declared once, in the platform's catalogue
// (core/errors.ts), with every other Kiln error; a WorkflowError is a KilnError, so the controller,
// router and CLI map it by code like any other failure.
import { KilnError, type ErrorCode } from '../core/errors.js'

/** An error with a catalogue code (its status comes from the catalogue). */
export class WorkflowError extends KilnError {
  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(code, message, details)
    this.name = 'WorkflowError'
  }
}

export interface ValidationIssue {
  /** dotted path of the bad field, e.g. `tasks.price.requires` */
  field: string
  message: string
}

/** Thrown by parseWorkflow/validateWorkflow; the message lists every issue as `field: message`. */
export class WorkflowValidationError extends WorkflowError {
  readonly issues: ValidationIssue[]
  constructor(issues: ValidationIssue[]) {
    super('KILN_ERR_VALIDATION', issues.map((i) => `${i.field}: ${i.message}`).join('; '), { issues })
    this.name = 'WorkflowValidationError'
    this.issues = issues
  }
}

/** The JSON shape of an error as it is persisted in an execution record. */
export interface ErrorInfo {
  code: string
  message: string
  status?: number
  /** the task path where the error happened (set on the execution's error) */
  task?: string
  /** the child execution that failed (for `workflow:` tasks) */
  executionId?: string
}

export function toErrorInfo(err: unknown): ErrorInfo {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; status?: unknown; executionId?: unknown; task?: unknown }
    const info: ErrorInfo = {
      code: typeof e.code === 'string' ? e.code : 'KILN_ERR_TASK_FAILED',
      message: typeof e.message === 'string' ? e.message : String(err),
    }
    if (typeof e.status === 'number') info.status = e.status
    if (typeof e.executionId === 'string') info.executionId = e.executionId
    if (typeof e.task === 'string') info.task = e.task
    return info
  }
  return { code: 'KILN_ERR_TASK_FAILED', message: String(err) }
}

/** An ErrorInfo rethrown as an Error (so a failed step can carry its persisted error upward). */
export class TaskFailure extends Error {
  readonly code: string
  readonly status?: number
  readonly task?: string
  readonly executionId?: string
  constructor(info: ErrorInfo) {
    super(info.message)
    this.name = 'TaskFailure'
    this.code = info.code
    if (info.status !== undefined) this.status = info.status
    if (info.task !== undefined) this.task = info.task
    if (info.executionId !== undefined) this.executionId = info.executionId
  }
}
