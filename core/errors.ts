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
  // Workflow bounds, the expression sandbox, and requests made on a workflow author's behalf.
  KILN_ERR_WORKFLOW_TOO_LARGE: { status: 400, message: 'the workflow is over the bounds of a spec', hint: 'use fewer tasks or less nesting; split it into workflows that start each other' },
  KILN_ERR_EXPRESSION_LIMIT: { status: 422, message: 'a workflow expression exceeded its time or memory limit', hint: 'make the expression cheaper, or move the work into a function' },
  KILN_ERR_HOST_NOT_ALLOWED: { status: 403, message: 'the host is not in the callback allowlist', hint: 'ask the operator to add it to callbackHosts in kiln.yaml (or KILN_CALLBACK_HOSTS)' },
  KILN_ERR_TASK_INPUT: { status: 422, message: "a task's input is missing or of the wrong type", hint: 'see which input the message names, and the documented inputs of that function' },
  KILN_ERR_HTTP_REQUEST_FAILED: { status: 502, message: 'an outgoing HTTP request of a workflow failed', hint: 'see the status and body in the message; check the URL and the remote service' },
  // Identity and access (docs/security.md).
  KILN_ERR_UNAUTHENTICATED: { status: 401, message: 'a valid token is required', hint: 'pass a token: --token, KILN_TOKEN, or `kiln login --server URL --token T`; on the machine that runs `kiln up`, the CLI reads its data dir\'s admin.token' },
  KILN_ERR_FORBIDDEN: { status: 403, message: 'the token may not do this', hint: 'ask an admin for a token with the role and namespace named' },
  KILN_ERR_NAMESPACE_NOT_FOUND: { status: 404, message: 'no such namespace', hint: 'list namespaces with `kiln ns list`; an admin creates one with `kiln ns create NAME`' },
  KILN_ERR_SECRET_NOT_FOUND: { status: 404, message: 'no such secret', hint: 'list secrets with `kiln secret list`' },
  KILN_ERR_TOKEN_NOT_FOUND: { status: 404, message: 'no such token', hint: 'list tokens with `kiln token list`' },
  // Releases: versions, aliases, splits and canaries (docs/releases.md).
  KILN_ERR_VERSION_NOT_FOUND: { status: 404, message: 'no such function version', hint: 'list versions with `kiln fn versions NAME`' },
  KILN_ERR_ALIAS_NOT_FOUND: { status: 404, message: 'no such alias', hint: 'list aliases with `kiln alias list NAME`' },
  KILN_ERR_CANARY_NOT_FOUND: { status: 404, message: 'no canary is running for the function', hint: 'start one with `kiln fn canary NAME --to N`' },
  KILN_ERR_CANARY_RUNNING: { status: 409, message: 'a canary is moving the function\'s traffic', hint: 'see `kiln fn canary status NAME`; stop it with `kiln fn canary abort NAME`' },
  // State and the cluster underneath.
  KILN_ERR_STATE_CORRUPT: { status: 500, message: 'stored state is damaged', hint: 'kiln writes its state whole (temp file, fsync, rename) and checks packages against their sha256, so the named file or package was changed outside kiln: restore it from a backup, or move it away to start without it' },
  KILN_ERR_CLUSTER_FORBIDDEN: { status: 403, message: "Kiln's Kubernetes service account lacks a permission", hint: "grant the named verb on the named resource in the component's Role (deploy/rbac), or ask the component that holds it (the controller writes Function specs)" },
  KILN_ERR_DEPLOY_TIMEOUT: { status: 504, message: 'the function is stored, but no executor loaded it in time', hint: 'check that the kiln-executor pods run (`kubectl -n kiln get pods`); the function serves once one has loaded it' },
  // Async invocations and cron triggers (triggers/async, triggers/cron).
  KILN_ERR_INVOCATION_NOT_FOUND: { status: 404, message: 'no such invocation', hint: 'list invocations with `kiln inv list`' },
  KILN_ERR_CRON_NOT_FOUND: { status: 404, message: 'no such cron trigger', hint: 'list cron triggers with `kiln cron list`' },
  KILN_ERR_STATE_UNAVAILABLE: { status: 503, message: 'the state store is unreachable', hint: 'work already accepted is kept and resumes when it is back; retry after the Retry-After delay' },
  // Declarative use and settings that would be silently ignored (core/function-settings.ts, docs/declarative.md).
  KILN_ERR_INEFFECTIVE_SETTING: { status: 400, message: 'a setting has no effect with the chosen strategy or reuse policy', hint: 'choose the strategy or policy it belongs to, or remove the setting' },
  // Kubernetes mode.
  KILN_ERR_KUBE_VERSION: { status: 500, message: 'the Kubernetes cluster is older than Kiln supports', hint: 'upgrade the cluster to the version named in the message or newer (docs/kubernetes.md, Requirements)' },
  // Queue triggers.
  KILN_ERR_MQ_TRIGGER_NOT_FOUND: { status: 404, message: 'no such queue trigger', hint: 'list queue triggers with `kiln mq list`' },
  KILN_ERR_CONSOLE_NOT_BUILT: { status: 503, message: 'the console is not built', hint: 'build Kiln (`npm run build`), then start it again' },
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
