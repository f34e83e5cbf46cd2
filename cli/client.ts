// The CLI's HTTP client for the control API. Maps every failure to an exit code:
// 0 ok, 1 user error (the message says what to fix), 2 server unreachable. Every `/v1` request carries
// the connection's token and namespace (contexts.ts); a data-plane request carries no token unless asked.
import { request } from 'undici'
import type { Connection } from './contexts.js'

export const EXIT = { OK: 0, USER: 1, UNREACHABLE: 2 } as const

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number, readonly hint?: string, readonly code?: string) {
    super(message)
  }
}

export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** `/v1...` with the connection's namespace (`namespace=*` for -A lists) added to the query. */
export function withNamespace(conn: Connection, path: string, method = 'GET'): string {
  const ns = conn.all && method === 'GET' ? '*' : conn.namespace
  if (ns === undefined || /[?&]namespace=/.test(path)) return path
  return `${path}${path.includes('?') ? '&' : '?'}namespace=${encodeURIComponent(ns)}`
}

/**
 * One request. `/v1` paths get the connection's token; other paths (the data plane) only with
 * `withToken` — a public function must never receive a caller's platform token.
 */
export async function send(conn: Connection, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}, withToken = path.startsWith('/v1')): Promise<RawResponse> {
  let res
  const h = withToken && conn.token ? { ...headers, authorization: `Bearer ${conn.token}` } : headers
  try {
    res = await request(`${conn.url}${path}`, { method: method as 'GET', body, headers: h, headersTimeout: 0, bodyTimeout: 0, reset: true })
  } catch (e) {
    const err = e as Error & { code?: string }
    throw new CliError(`cannot reach the Kiln server at ${conn.url} (${err.code ?? err.message})`, EXIT.UNREACHABLE,
      'start it with `kiln up`, or point the CLI at it with --server URL or KILN_URL')
  }
  const buf = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, headers: res.headers, body: buf }
}

/** Turns a non-2xx answer into a CliError carrying the server's catalogue code, message and hint. */
export function failure(res: RawResponse): CliError {
  try {
    const j = JSON.parse(res.body.toString('utf8')) as { error?: string; message?: string; hint?: string }
    if (j.message) return new CliError(j.message, EXIT.USER, j.hint, j.error)
  } catch { /* not JSON */ }
  return new CliError(`server answered ${res.status}: ${res.body.toString('utf8').slice(0, 500)}`, EXIT.USER)
}

export async function api<T>(conn: Connection, method: string, path: string, json?: unknown): Promise<T> {
  const res = await send(conn, method, withNamespace(conn, `/v1${path}`, method), json === undefined ? undefined : JSON.stringify(json),
    json === undefined ? {} : { 'content-type': 'application/json' })
  if (res.status >= 400) throw failure(res)
  return JSON.parse(res.body.toString('utf8')) as T
}

/**
 * A GET under `/v1` whose answer is streamed (`kiln fn logs -f`): each chunk goes to `onChunk` as it
 * arrives, until the server ends the answer. A non-2xx answer is read whole and thrown as failure() does.
 */
export async function apiStream(conn: Connection, path: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  let res
  const headers: Record<string, string> = conn.token ? { authorization: `Bearer ${conn.token}` } : {}
  try {
    res = await request(`${conn.url}${withNamespace(conn, `/v1${path}`)}`, { method: 'GET', headers, headersTimeout: 0, bodyTimeout: 0 })
  } catch (e) {
    const err = e as Error & { code?: string }
    throw new CliError(`cannot reach the Kiln server at ${conn.url} (${err.code ?? err.message})`, EXIT.UNREACHABLE,
      'start it with `kiln up`, or point the CLI at it with --server URL or KILN_URL')
  }
  if (res.statusCode >= 400) throw failure({ status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) })
  for await (const chunk of res.body) onChunk(chunk as Buffer)
}
