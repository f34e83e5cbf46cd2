// The one way platform code calls a function: workflows now, async invocations, cron and queue
// triggers next. A leaf module (types only): workflows/ and every trigger import it, and platform/
// hands them an implementation (triggers/platform-invoker.ts).
//
// Platform failures (no such function, queue full, crash, timeout, shutting down) come back as
// responses with the catalogue status and JSON error body (core/errors.ts), exactly as an HTTP client
// of `/fn/NAME` sees them. `invoke` rejects only when the call could not even be tried (the invoker is
// closed) or when the caller's `signal` aborts it (with the signal's reason, as fetch does).

export interface InvocationRequest {
  method: string                       // 'POST', 'GET', ...
  path: string                         // what the function sees after /fn/NAME, with query: '/', '/orders?id=1'
  headers: Record<string, string>
  body?: Buffer
  timeoutMs?: number                   // overrides the function's own timeout when shorter
  signal?: AbortSignal
}

export interface InvocationResponse { status: number; headers: Record<string, string | string[]>; body: Buffer }

export interface Invoker { invoke(fn: string, req: InvocationRequest): Promise<InvocationResponse> }
