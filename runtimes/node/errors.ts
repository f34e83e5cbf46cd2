// The runtime's error catalogue: every error the runtime answers with, declared once with its status.
// Codes match core/errors.ts by name (the runtime never imports platform code, so they are repeated here).
import type { ServerResponse } from 'node:http'

export const ERRORS = {
  KILN_ERR_NOT_SPECIALIZED: 503,
  KILN_ERR_ALREADY_SPECIALIZED: 409,
  KILN_ERR_LOAD_FAILED: 422,
  KILN_ERR_BAD_SPECIALIZE: 400,
  KILN_ERR_BAD_REQUEST_BODY: 400,
  KILN_ERR_BODY_TOO_LARGE: 413,
  KILN_ERR_FUNCTION_ERROR: 500,
  KILN_ERR_FUNCTION_TIMEOUT: 504,
  KILN_ERR_NOT_FOUND: 404,
  KILN_ERR_METHOD_NOT_ALLOWED: 405,
  KILN_ERR_UPGRADE_NOT_SUPPORTED: 501,
} as const

export type ErrorCode = keyof typeof ERRORS

/** Writes `{"error": code, ...extra}` with the code's status, unless the response already started. */
export function sendError(res: ServerResponse, code: ErrorCode, message?: string, fn?: string, close = false): void {
  if (res.headersSent) {
    // Too late for a status: cut the connection so the client sees a truncated body, not a good one.
    res.destroy()
    return
  }
  const body: Record<string, string> = { error: code }
  if (fn !== undefined) body.function = fn
  if (message !== undefined) body.message = message
  sendJson(res, ERRORS[code], body, close)
}

export function sendJson(res: ServerResponse, status: number, value: unknown, close = false): void {
  const text = JSON.stringify(value)
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  }
  if (close) headers.connection = 'close'
  res.writeHead(status, headers)
  res.end(text)
}

/** The message of anything thrown, never throwing itself. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message
  try {
    return typeof err === 'string' ? err : JSON.stringify(err) ?? String(err)
  } catch {
    return String(err)
  }
}
