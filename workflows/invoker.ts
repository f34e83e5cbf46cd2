// The seam between the engine and the platform: how a task calls a function.
// The platform passes an Invoker that goes through its executor/router path, exactly like HTTP clients;
// tests pass an in-process double.

export interface InvokeOptions {
  /** aborted when the task times out, the execution fails elsewhere, or the engine closes */
  signal: AbortSignal
  /** the task's per-attempt timeout, when it has one; the engine also enforces it */
  timeoutMs?: number
  executionId: string
  /** the task path, e.g. `price`, `notify[3]`, `route.then[0]` */
  task: string
  /** the request as Fission Workflows tasks shape it; without it: POST, JSON body */
  request?: InvokeRequest
}

/** How a Fission Workflows task calls a function (their httpconv.FormatRequest): method, headers, query, body type. */
export interface InvokeRequest {
  method: string
  headers: Record<string, string>
  query: Record<string, string>
  /** the body's media type: JSON bodies are sent as JSON, any other as text */
  contentType: string
}

export interface Invoker {
  invoke(fn: string, input: unknown, opts: InvokeOptions): Promise<unknown>
}

/** Thrown by an Invoker for a non-2xx answer; `code` e.g. KILN_ERR_FUNCTION_ERROR, KILN_ERR_FUNCTION_TIMEOUT. */
export class InvokeError extends Error {
  readonly status: number
  readonly code: string
  /** the function's response body, when it sent one */
  readonly body?: unknown
  constructor(status: number, code: string, message?: string, body?: unknown) {
    super(message ?? `function answered ${status} (${code})`)
    this.name = 'InvokeError'
    this.status = status
    this.code = code
    if (body !== undefined) this.body = body
  }
}
