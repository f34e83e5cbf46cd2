// Every Kiln error is declared once here, with its HTTP status and what the user should do next.
// The controller, router and CLI map from the code, so the same failure reads the same everywhere.

export interface ErrorDef {
  readonly status: number
  readonly message: string
  readonly hint?: string
}

export const ERRORS = {
  KILN_ERR_VALIDATION: { status: 400, message: 'invalid spec', hint: 'fix the named field and retry' },
  KILN_ERR_BAD_REQUEST: { status: 400, message: 'bad request' },
  KILN_ERR_BAD_PACKAGE: { status: 400, message: 'the code package is not a valid archive', hint: 'rebuild it with `kiln fn deploy`' },
  KILN_ERR_BUILD_FAILED: { status: 400, message: 'the function did not build', hint: 'fix the error at the file:line shown and deploy again' },
  KILN_ERR_NOT_FOUND: { status: 404, message: 'not found' },
  KILN_ERR_FUNCTION_NOT_FOUND: { status: 404, message: 'no such function', hint: 'list functions with `kiln fn list`' },
  KILN_ERR_RUNTIME_NOT_FOUND: { status: 404, message: 'no such runtime', hint: 'list runtimes with `kiln runtime list`' },
  KILN_ERR_TRIGGER_NOT_FOUND: { status: 404, message: 'no such route', hint: 'list routes with `kiln route list`' },
  KILN_ERR_PACKAGE_NOT_FOUND: { status: 404, message: 'no such code package', hint: 'upload it first (`kiln fn deploy` does)' },
  KILN_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'no function or route matches this path' },
  KILN_ERR_WORKFLOW_NOT_FOUND: { status: 404, message: 'no such workflow', hint: 'list workflows with `kiln wf list`' },
  KILN_ERR_EXECUTION_NOT_FOUND: { status: 404, message: 'no such workflow execution' },
  KILN_ERR_ALREADY_EXISTS: { status: 409, message: 'already exists', hint: 'use a different name, or update it instead' },
  KILN_ERR_IN_USE: { status: 409, message: 'still in use', hint: 'delete what refers to it first' },
  KILN_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body is over the limit' },
  KILN_ERR_INTERNAL: { status: 500, message: 'internal error' },
  KILN_ERR_FUNCTION_ERROR: { status: 500, message: 'the function threw an error' },
  KILN_ERR_FUNCTION_CRASHED: { status: 502, message: 'the function instance crashed', hint: 'see `kiln fn logs`' },
  KILN_ERR_OUT_OF_MEMORY: { status: 502, message: 'the function instance ran out of memory and was killed', hint: 'raise --memory or fix the allocation' },
  KILN_ERR_SPECIALIZE_FAILED: { status: 502, message: 'the function code could not be loaded', hint: 'see the loader error; fix the code and deploy again' },
  KILN_ERR_NO_CAPACITY: { status: 503, message: 'no instance could be started for the function', hint: 'raise the instance budget or free capacity' },
  KILN_ERR_QUEUE_FULL: { status: 503, message: 'the function queue is full', hint: 'retry after the Retry-After delay' },
  KILN_ERR_SHUTTING_DOWN: { status: 503, message: 'the platform is shutting down' },
  KILN_ERR_FUNCTION_TIMEOUT: { status: 504, message: 'the function did not answer within its timeout', hint: 'raise --timeout or make the function faster' },
  // Workflows (workflows/errors.ts reuses these entries).
  KILN_ERR_WORKFLOW_INPUT: { status: 400, message: 'workflow input does not match its schema', hint: "send an input that matches the workflow's input schema" },
  KILN_ERR_CONFLICT: { status: 409, message: 'execution state conflict', hint: 'the execution already exists or already finished' },
  KILN_ERR_EXPRESSION: { status: 422, message: 'a workflow expression failed', hint: 'check the expression named in the message against the data it reads' },
  KILN_ERR_CANCELLED: { status: 499, message: 'cancelled', hint: "another task of the execution failed first, or it was cancelled; see the execution's error" },
  KILN_ERR_TASK_FAILED: { status: 502, message: 'a workflow task failed', hint: "see the task's error with `kiln wf get EXECUTION_ID`" },
  KILN_ERR_ENGINE_CLOSED: { status: 503, message: 'the workflow engine is stopping', hint: 'the execution stays unfinished and is resumed when kiln starts again' },
  KILN_ERR_TASK_TIMEOUT: { status: 504, message: 'a workflow task timed out', hint: "raise the task's timeout or make the function faster" },
  KILN_ERR_WORKFLOW_DEPTH: { status: 508, message: 'nested workflows too deep', hint: 'a workflow probably starts itself; break the recursion' },
  // Queue triggers.
  KILN_ERR_MQ_TRIGGER_NOT_FOUND: { status: 404, message: 'no such queue trigger', hint: 'list queue triggers with `kiln mq list`' },
} as const satisfies Record<string, ErrorDef>

export type ErrorCode = keyof typeof ERRORS

export class KilnError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly hint?: string
  readonly details?: Record<string, unknown>

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    const def: ErrorDef = ERRORS[code]
    super(message ?? def.message)
    this.name = 'KilnError'
    this.code = code
    this.status = def.status
    this.hint = def.hint
    this.details = details
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}), ...this.details }
  }
}

export function errorBody(code: ErrorCode, message?: string, details?: Record<string, unknown>): string {
  return JSON.stringify(new KilnError(code, message, details).toJSON())
}
