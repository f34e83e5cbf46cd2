// The CLI's HTTP client for the control API. Maps every failure to an exit code:
// 0 ok, 1 user error (the message says what to fix), 2 server unreachable.
import { request } from 'undici'

export const EXIT = { OK: 0, USER: 1, UNREACHABLE: 2 } as const

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number, readonly hint?: string, readonly code?: string) {
    super(message)
  }
}

export interface ClientOptions { server: string }

export function serverUrl(flag?: string): string {
  return (flag ?? process.env.KILN_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '')
}

export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

export async function send(server: string, method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  let res
  try {
    res = await request(`${server}${path}`, { method: method as 'GET', body, headers, headersTimeout: 0, bodyTimeout: 0, reset: true })
  } catch (e) {
    const err = e as Error & { code?: string }
    throw new CliError(`cannot reach the Kiln server at ${server} (${err.code ?? err.message})`, EXIT.UNREACHABLE,
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

export async function api<T>(server: string, method: string, path: string, json?: unknown): Promise<T> {
  const res = await send(server, method, `/v1${path}`, json === undefined ? undefined : JSON.stringify(json),
    json === undefined ? {} : { 'content-type': 'application/json' })
  if (res.status >= 400) throw failure(res)
  return JSON.parse(res.body.toString('utf8')) as T
}

/**
 * A GET under `/v1` whose answer is streamed (`kiln fn logs -f`): each chunk goes to `onChunk` as it
 * arrives, until the server ends the answer. A non-2xx answer is read whole and thrown as failure() does.
 */
export async function apiStream(server: string, path: string, onChunk: (chunk: Buffer) => void, headers: Record<string, string> = {}): Promise<void> {
  let res
  try {
    res = await request(`${server}/v1${path}`, { method: 'GET', headers, headersTimeout: 0, bodyTimeout: 0 })
  } catch (e) {
    const err = e as Error & { code?: string }
    throw new CliError(`cannot reach the Kiln server at ${server} (${err.code ?? err.message})`, EXIT.UNREACHABLE,
      'start it with `kiln up`, or point the CLI at it with --server URL or KILN_URL')
  }
  if (res.statusCode >= 400) throw failure({ status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) })
  for await (const chunk of res.body) onChunk(chunk as Buffer)
}
