// The workflow engine's errors, declared once with their HTTP status and what the user should do next.
// These codes belong in the platform's catalogue (core/errors.ts) once it exists; they are declared here
// in the same shape so the controller, router and CLI can map them by code.

export interface ErrorEntry {
  status: number
  message: string
  hint: string
}

export const WORKFLOW_ERRORS = {
  KILN_ERR_VALIDATION: { status: 400, message: 'invalid workflow', hint: 'fix the field named in the message and deploy again' },
  KILN_ERR_WORKFLOW_NOT_FOUND: { status: 404, message: 'workflow not found', hint: 'deploy the workflow first (kiln wf list shows what exists)' },
  KILN_ERR_EXECUTION_NOT_FOUND: { status: 404, message: 'execution not found', hint: 'check the execution id' },
  KILN_ERR_WORKFLOW_INPUT: { status: 400, message: 'workflow input does not match its schema', hint: 'send an input that matches the workflow\'s input schema' },
  KILN_ERR_EXPRESSION: { status: 422, message: 'expression failed', hint: 'check the expression named in the message against the data it reads' },
  KILN_ERR_TASK_TIMEOUT: { status: 504, message: 'task timed out', hint: 'raise the task\'s timeout or make the function faster' },
  KILN_ERR_WORKFLOW_DEPTH: { status: 508, message: 'nested workflows too deep', hint: 'a workflow probably starts itself; break the recursion' },
  KILN_ERR_CANCELLED: { status: 499, message: 'cancelled', hint: 'another task of the execution failed first; see the execution\'s error' },
  KILN_ERR_ENGINE_CLOSED: { status: 503, message: 'workflow engine closed', hint: 'the execution stays unfinished and is resumed when the engine starts again' },
  KILN_ERR_CONFLICT: { status: 409, message: 'execution state conflict', hint: 'the execution already exists or already finished' },
  KILN_ERR_TASK_FAILED: { status: 502, message: 'task failed', hint: 'see the task\'s error in the execution record' },
} as const satisfies Record<string, ErrorEntry>

export type WorkflowErrorCode = keyof typeof WORKFLOW_ERRORS

/** An error with a catalogue code and an HTTP status. `field` names the spec field for validation errors. */
export class WorkflowError extends Error {
  readonly code: string
  readonly status: number
  constructor(code: WorkflowErrorCode, message?: string, extra?: { status?: number; cause?: unknown }) {
    super(message ?? WORKFLOW_ERRORS[code].message, extra?.cause === undefined ? undefined : { cause: extra.cause })
    this.name = 'WorkflowError'
    this.code = code
    this.status = extra?.status ?? WORKFLOW_ERRORS[code].status
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
    super('KILN_ERR_VALIDATION', issues.map((i) => `${i.field}: ${i.message}`).join('; '))
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
