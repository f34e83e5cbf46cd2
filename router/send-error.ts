// JSON error answers written straight to the raw response (the proxy path has left fastify).
import type { ServerResponse } from 'node:http'
import { KilnError, type ErrorCode } from '../core/errors.js'

export function sendError(res: ServerResponse, err: KilnError, requestId?: string): void {
  if (res.headersSent) {
    res.destroy(err)
    return
  }
  const body = JSON.stringify(err.toJSON())
  const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }
  if (requestId) headers['x-request-id'] = requestId
  if (err.status === 401) headers['www-authenticate'] = 'Bearer realm="kiln"'
  const retry = err.details?.retryAfter
  if (retry !== undefined) headers['retry-after'] = String(retry)
  res.writeHead(err.status, headers)
  res.end(body)
}

export function errorOf(e: unknown, fallback: ErrorCode = 'KILN_ERR_INTERNAL'): KilnError {
  return e instanceof KilnError ? e : new KilnError(fallback, (e as Error)?.message)
}
